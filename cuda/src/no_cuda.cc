// Built instead of cuda_info.cu when nvcc is absent or CUDA is switched off.
#include "hogwild.h"

namespace hogwild {
CudaInfo cuda_info() { return CudaInfo{}; }
double device_copy_bandwidth(size_t, int) { throw Error("device_copy_bandwidth: this build has no CUDA"); }
}  // namespace hogwild
