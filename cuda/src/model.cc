// Picks the device implementation for a model.
#include <cstdlib>
#include <set>

#include "hogwild.h"
#include "weights.h"

namespace hogwild {

std::unique_ptr<Model> make_cpu_model(const ModelSpec& spec);
#ifdef HOGWILD_HAVE_CUDA
std::unique_ptr<Model> make_cuda_model(const ModelSpec& spec, const DeviceOptions& options);
#endif

// A tensor the model does not use is a host bug (or a format the core does not know): refuse it by name.
void check_tensor_names(const ModelSpec& spec) {
  std::set<std::string> known;
  for (const auto& t : expected_tensors(spec)) known.insert(t.name);
  for (const auto& t : spec.tensors)
    if (!known.count(t.name)) throw Error("model spec: unknown tensor " + t.name + " (from " + t.path + ")");
}

void check_cache(const ModelSpec& spec, const Cache& c) {
  if (c.layers() != spec.layers || c.kv_heads() != spec.kv_heads || c.head_dim() != spec.head_dim)
    throw Error("cache: made for " + std::to_string(c.layers()) + " layers of " + std::to_string(c.kv_heads()) +
                " KV heads of " + std::to_string(c.head_dim()) + ", this model has " + std::to_string(spec.layers) +
                " layers of " + std::to_string(spec.kv_heads) + " KV heads of " + std::to_string(spec.head_dim) +
                " (a cache from another model's newCache)");
}

DeviceOptions parse_device_options(const std::string& text) {
  DeviceOptions o;
  auto flag = [](const std::string& k, const std::string& v) {
    if (v != "0" && v != "1") throw Error("cuda option " + k + ": expected 0 or 1, got \"" + v + "\"");
    return v == "1";
  };
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at), k = item.substr(0, item.find('='));
    if (item.find('=') == std::string::npos) throw Error("cuda option \"" + item + "\": expected KEY=VALUE");
    const std::string v = item.substr(k.size() + 1);
    if (k == "gemm") {
      if (v != "auto" && v != "own" && v != "cublas" && v != "mma")
        throw Error("cuda option gemm: expected auto, own, cublas or mma, got \"" + v + "\"");
      o.gemm = v;
    } else if (k == "attention") {
      if (v != "auto" && v != "simple") throw Error("cuda option attention: expected auto or simple, got \"" + v + "\"");
      o.attention = v;
    } else if (k == "graphs") {
      char* rest = nullptr;
      const long n = std::strtol(v.c_str(), &rest, 10);
      if (v.empty() || *rest != '\0' || n < 0 || n > 1000000)
        throw Error("cuda option graphs: expected a count of passes ≥ 0 (0: no graphs), got \"" + v + "\"");
      o.graphs = int(n);
    } else if (k == "pdl") {
      o.pdl = flag(k, v);
    } else if (k == "profile") {
      o.profile = flag(k, v);
    } else {
      throw Error("cuda option \"" + k + "\": unknown (known: gemm, attention, graphs, pdl, profile)");
    }
    at = end + 1;
  }
  return o;
}

std::string format_device_options(const DeviceOptions& o) {
  return "gemm=" + o.gemm + ",attention=" + o.attention + ",graphs=" + std::to_string(o.graphs) + ",pdl=" +
         (o.pdl ? "1" : "0") + ",profile=" + (o.profile ? "1" : "0");
}

std::unique_ptr<Model> load_model(const ModelSpec& spec, const std::string& device, const DeviceOptions& options) {
  check_tensor_names(spec);
  if (device == "cpu") return make_cpu_model(spec);
  if (device == "cuda") {
#ifdef HOGWILD_HAVE_CUDA
    const CudaInfo info = cuda_info();
    if (info.device_count == 0) throw Error("device cuda: no usable GPU (" + info.error + ")");
    // A GPU that computes a small product wrongly (or cannot run this build's kernels) would give wrong logits.
    if (info.selftest != 1)
      throw Error("device cuda: " + info.name + " failed the self-test (a bf16 matrix-vector product " +
                  (info.error.empty() ? "gave a wrong answer" : "could not run: " + info.error) +
                  "): its logits could not be trusted (the build's CMAKE_CUDA_ARCHITECTURES? the driver?)");
    // The expert kernels read bf16 weights: a quantised mixture of experts must not run wrong on the card.
    if (spec.quant != Quant::None && !spec.sparse_layers.empty())
      throw Error(std::string("device cuda: quantised (") + (spec.quant == Quant::Awq ? "AWQ" : "FP8") +
                  ") mixture-of-experts checkpoints run on the CPU only so far; use --device cpu");
    return make_cuda_model(spec, options);
#else
    (void)options;
    throw Error("device cuda: this build has no CUDA (nvcc was not found when it was built)");
#endif
  }
  throw Error("device '" + device + "': expected cpu or cuda");
}

}  // namespace hogwild
