// A float's rank among all floats, order-preserving onto int32 (−0 just below +0): the samplers' bisections run
// over ranks, so a threshold is found exactly in at most 32 steps whatever the logits' range (halving values
// stalls when they span −1e30..30: 48 halvings leave steps of 1e16).
#pragma once
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define HOGWILD_HD __host__ __device__
#else
#define HOGWILD_HD
#endif

namespace hogwild {

HOGWILD_HD inline int32_t float_rank(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i >= 0 ? i : i ^ 0x7fffffff;
}

HOGWILD_HD inline float rank_float(int32_t r) {
  const int32_t i = r >= 0 ? r : r ^ 0x7fffffff;
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

}  // namespace hogwild
