// Built instead of cuda_info.cu when nvcc is absent or CUDA is switched off.
#include "hogwild.h"

namespace hogwild {
CudaInfo cuda_info() { return CudaInfo{}; }
double device_copy_bandwidth(size_t, int) { throw Error("device_copy_bandwidth: this build has no CUDA"); }
void device_sample_rows(const float*, int, int, const SampleSpec*, const int32_t*, int, int32_t*, const Logprobs&) {
  throw Error("device_sample_rows: this build has no CUDA");
}
}  // namespace hogwild
