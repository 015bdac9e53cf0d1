// hogwild-replay: loads a model and replays recorded forward passes with no JavaScript involved
// (the GPU machines have no node). The recording (engine/record.ts writes it) holds the model spec, the
// cache geometry, and every pass's plan with the logits the recording engine produced.
//
//   hogwild-replay FILE [--device cpu|cuda] [--tol 1e-4]
// Prints one line per pass (worst |difference| to the recorded logits, ms) and exits 1 if any exceeds tol.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hogwild.h"

namespace {

struct In {
  std::vector<uint8_t> d;
  size_t at = 0;
  template <class T> T get() {
    if (at + sizeof(T) > d.size()) throw hogwild::Error("recording: truncated");
    T v;
    std::memcpy(&v, d.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  template <class T> std::vector<T> array(size_t n) {
    if (at + n * sizeof(T) > d.size()) throw hogwild::Error("recording: truncated");
    std::vector<T> v(n);
    std::memcpy(v.data(), d.data() + at, n * sizeof(T));
    at += n * sizeof(T);
    return v;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hogwild-replay FILE [--device cpu|cuda] [--tol 1e-4]\n");
    return 2;
  }
  std::string device = "cpu";
  double tol = 1e-4;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
    else if (!std::strcmp(argv[i], "--tol")) tol = std::atof(argv[i + 1]);
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  try {
    std::ifstream f(argv[1], std::ios::binary);
    if (!f) throw hogwild::Error(std::string(argv[1]) + ": cannot open");
    In in{std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {})};
    if (in.get<uint32_t>() != 0x43525748) throw hogwild::Error(std::string(argv[1]) + ": not a Hogwild! recording");
    if (in.get<uint32_t>() != 1) throw hogwild::Error(std::string(argv[1]) + ": unknown recording version");
    const auto spec_bytes = in.array<uint8_t>(in.get<uint32_t>());
    const hogwild::ModelSpec spec = hogwild::decode_spec(spec_bytes.data(), spec_bytes.size());
    const int pages = in.get<int32_t>(), page_size = in.get<int32_t>();
    auto model = hogwild::load_model(spec, device);
    auto cache = model->new_cache(pages, page_size);
    const uint32_t passes = in.get<uint32_t>();
    double worst = 0;
    for (uint32_t i = 0; i < passes; i++) {
      const auto plan_ints = in.array<int32_t>(in.get<uint32_t>());
      const auto want = in.array<float>(in.get<uint32_t>());
      const hogwild::Plan p = hogwild::decode_plan(plan_ints.data(), plan_ints.size(), spec.vocab, pages, page_size);
      std::vector<float> got(size_t(p.L) * spec.vocab);
      const auto t0 = std::chrono::steady_clock::now();
      model->forward(*cache, p, got.data());
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      double err = 0;
      if (!want.empty()) {
        if (want.size() != got.size()) throw hogwild::Error("recording: pass " + std::to_string(i) + " logits size");
        for (size_t k = 0; k < got.size(); k++) err = std::max(err, double(std::fabs(got[k] - want[k])));
        if (!(err == err)) err = INFINITY;
      }
      worst = std::max(worst, err);
      std::printf("pass %u rows %d tokens %d logits %d max_abs_diff %.3g ms %.3f\n", i, p.R, p.T, p.L, err, ms);
    }
    std::printf("replayed %u passes on %s: worst max_abs_diff %.3g (tol %.3g) %s\n", passes, device.c_str(), worst,
                tol, worst <= tol ? "OK" : "FAIL");
    return worst <= tol ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
