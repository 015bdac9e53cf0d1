// Picks the device implementation for a model.
#include <set>

#include "hogwild.h"
#include "weights.h"

namespace hogwild {

std::unique_ptr<Model> make_cpu_model(const ModelSpec& spec);
#ifdef HOGWILD_HAVE_CUDA
std::unique_ptr<Model> make_cuda_model(const ModelSpec& spec);
#endif

// A tensor the model does not use is a host bug (or a format the core does not know): refuse it by name.
void check_tensor_names(const ModelSpec& spec) {
  std::set<std::string> known;
  for (const auto& t : expected_tensors(spec)) known.insert(t.name);
  for (const auto& t : spec.tensors)
    if (!known.count(t.name)) throw Error("model spec: unknown tensor " + t.name + " (from " + t.path + ")");
}

std::unique_ptr<Model> load_model(const ModelSpec& spec, const std::string& device) {
  check_tensor_names(spec);
  if (device == "cpu") return make_cpu_model(spec);
  if (device == "cuda") {
#ifdef HOGWILD_HAVE_CUDA
    const CudaInfo info = cuda_info();
    if (info.device_count == 0) throw Error("device cuda: no usable GPU (" + info.error + ")");
    return make_cuda_model(spec);
#else
    throw Error("device cuda: this build has no CUDA (nvcc was not found when it was built)");
#endif
  }
  throw Error("device '" + device + "': expected cpu or cuda");
}

}  // namespace hogwild
