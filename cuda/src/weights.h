// Where a model's tensors come from: the checkpoint files (read by the core, never by the host) or a
// seeded random generator (benchmarks). Shared by every device implementation.
#pragma once
#include <string>
#include <vector>

#include "hogwild.h"

namespace hogwild {

struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
  // the dtypes it may come in; empty: any float dtype (BF16, F16, F32)
  std::vector<DType> dtypes = {};
};

// Every canonical tensor the spec's model needs, with its expected shape.
std::vector<TensorShape> expected_tensors(const ModelSpec& spec);
// Whether layer `layer`'s MLP is a mixture of experts.
bool is_sparse_layer(const ModelSpec& spec, int layer);

size_t dtype_size(DType t);
size_t element_count(const std::vector<int64_t>& shape);

inline float bf16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float f);

float half_to_float(uint16_t h);
// An FP8 e4m3 byte (1 sign, 4 exponent bits with bias 7, 3 mantissa bits; no infinities, 0x7f/0xff are NaN).
float e4m3_to_float(uint8_t b);

// A tensor's values converted on the host (checkpoints in any of BF16, F16, F32).
std::vector<float> read_as_float(const TensorSource& tensor);
std::vector<uint16_t> read_as_bf16(const TensorSource& tensor);

// A tensor's bytes, read from its file into `dst` (tensor.nbytes bytes).
void read_tensor(const TensorSource& tensor, void* dst);

// Finds the spec's source for `name` and checks its shape; throws Error naming the tensor.
const TensorSource& find_tensor(const ModelSpec& spec, const TensorShape& want);

// The generator state of tensor `name` (the device generator in elementwise.cu uses the same).
uint64_t tensor_seed(uint64_t seed, const std::string& name);
bool is_norm_tensor(const std::string& name);
bool ends_with(const std::string& s, const char* suffix);
bool is_bias_tensor(const std::string& name);

// Seeded random values for tensor `name` (norm weights near 1, biases and matrices near 0), as bf16.
void random_tensor(uint64_t seed, const TensorShape& t, uint16_t* dst);

// A quantised layer's tensor (AWQ qweight/qzeros/scales, FP8 weight/scale_inv) as its checkpoint stores it,
// in its format's first dtype: read from the file, or for random weights seeded bytes whose values stay
// small and finite (nibbles anywhere in 0..15, scales a few thousandths, e4m3 bytes of magnitude < 2).
struct RawTensor {
  DType dtype;
  std::vector<uint8_t> bytes;
  std::vector<float> as_float() const;  // F32, BF16 or F16 values
};
RawTensor quant_tensor(const ModelSpec& spec, const TensorShape& t);

// The bytes canonical tensor `t` (of expected_tensors) takes as a backend stores it (`cuda`: the GPU's, else the
// CPU's), from the spec alone: before a load, what it will take. Random weights: bf16 on the CPU, whatever the
// spec's dtype; a checkpoint's: bf16 as it is, F16 and F32 as float32 on the CPU; every dense matrix bf16 and every
// vector float32 on the GPU; quantised layers as each backend packs them. What perf's floors count (the embedding
// a pass reads one row of, the experts its tokens do not route to), so one rule for both backends' loads:
// weight_bytes() is the sum of these (the CPU's load refuses to differ, the GPU's says so, check_weight_bytes).
size_t stored_bytes(const ModelSpec& spec, const TensorShape& t, bool cuda);
// "" where `allocated` (a load's weight bytes) is the sum of stored_bytes over the spec's tensors, else why not.
std::string weight_bytes_mismatch(const ModelSpec& spec, bool cuda, size_t allocated);

}  // namespace hogwild
