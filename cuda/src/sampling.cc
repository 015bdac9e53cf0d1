// The sampling rule on the host (the device sampler in sampling.cu follows it step by step), and the
// default Model::forward_sample: logits, then this rule per row.
#include <cfloat>
#include <cmath>
#include <vector>

#include "hogwild.h"

namespace hogwild {

int sample_reference(const float* l, int vocab, const SampleSpec& p, const int32_t* suppress) {
  std::vector<char> ok(vocab, 1);
  for (int k = 0; k < p.suppress_count; k++) {
    const int id = suppress[p.suppress_start + k];
    if (id >= 0 && id < vocab) ok[id] = 0;
  }
  for (int i = 0; i < vocab; i++)
    if (std::isnan(l[i])) return -1;  // broken logits: the host says so, no token is made up
  int best = -1;
  float mx = -FLT_MAX, mn = FLT_MAX;
  for (int i = 0; i < vocab; i++)
    if (ok[i]) {
      if (best < 0 || l[i] > mx) mx = l[i], best = i;
      mn = std::fmin(mn, l[i]);
    }
  if (best < 0) throw Error("sampling: every token is suppressed");
  if (p.temperature <= 0) return best;
  const float inv_t = 1.f / p.temperature;
  auto total = [&](float tau, bool count) {
    double s = 0;
    for (int i = 0; i < vocab; i++)
      if (ok[i] && l[i] >= tau) s += count ? 1.0 : std::exp(double(l[i] - mx) * inv_t);
    return s;
  };
  auto bisect = [&](float lo, float hi, double target, bool count) {
    for (int it = 0; it < 48; it++) {
      const float mid = 0.5f * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (total(mid, count) >= target) lo = mid; else hi = mid;
    }
    return lo;
  };
  float tau = mn;
  if (p.top_k > 0) tau = bisect(mn, mx + 1.f, p.top_k, true);
  if (p.top_p < 1.f) tau = bisect(tau, mx + 1.f, p.top_p * total(tau, false), false);
  if (p.min_p > 0.f) tau = std::fmax(tau, mx + p.temperature * std::log(p.min_p));
  const double target = p.u * total(tau, false);
  double run = 0;
  int last = best;
  for (int i = 0; i < vocab; i++) {
    if (!ok[i] || l[i] < tau) continue;
    run += std::exp(double(l[i] - mx) * inv_t);
    last = i;
    if (run > target) return i;
  }
  return last;
}

void check_suppress_ranges(const SampleSpec* specs, int rows, int suppress_total) {
  for (int r = 0; r < rows; r++)
    if (specs[r].suppress_start < 0 || specs[r].suppress_count < 0 ||
        specs[r].suppress_start + specs[r].suppress_count > suppress_total)
      throw Error("sampling: row " + std::to_string(r) + "'s suppressed ids lie outside the list");
}

void Model::forward_sample(Cache& cache, const Plan& plan, const SampleSpec* specs, const int32_t* suppress,
                           int suppress_total, int32_t* ids) {
  check_suppress_ranges(specs, plan.L, suppress_total);
  const int V = spec().vocab;
  std::vector<float> logits(size_t(plan.L) * V);
  forward(cache, plan, logits.data());
  for (int r = 0; r < plan.L; r++) ids[r] = sample_reference(logits.data() + size_t(r) * V, V, specs[r], suppress);
}

}  // namespace hogwild
