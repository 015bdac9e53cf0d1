// Picks the device implementation for a model.
#include "hogwild.h"

namespace hogwild {

std::unique_ptr<Model> make_cpu_model(const ModelSpec& spec);

std::unique_ptr<Model> load_model(const ModelSpec& spec, const std::string& device) {
  if (device == "cpu") return make_cpu_model(spec);
  if (device == "cuda") {
    const CudaInfo info = cuda_info();
    if (!info.compiled) throw Error("device cuda: this build has no CUDA (nvcc was not found when it was built)");
    throw Error("device cuda: the CUDA forward pass is not part of this build yet; use --device cpu");
  }
  throw Error("device '" + device + "': expected cpu or cuda");
}

}  // namespace hogwild
