// The sampling rule and the log-probabilities on the host (the device's in sampling.cu follow them step by
// step), and the default Model::forward_sample: logits, then these per row.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <vector>

#include "float_rank.h"
#include "hogwild.h"

namespace hogwild {

int sample_reference(const float* l, int vocab, const SampleSpec& p, const int32_t* suppress) {
  std::vector<char> ok(vocab, 1);
  for (int k = 0; k < p.suppress_count; k++) {
    const int id = suppress[p.suppress_start + k];
    if (id >= 0 && id < vocab) ok[id] = 0;
  }
  // broken logits (NaN, or an overflow's ±Inf: no token has a probability): the host says so, none is made up
  for (int i = 0; i < vocab; i++)
    if (!std::isfinite(l[i])) return -1;
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
  // The largest tau with total(tau) >= target, given total(lo) >= target (nothing lies above mx): over float
  // ranks, so it is the boundary token's logit exactly (tokens tied with it are kept with it).
  auto bisect = [&](float lo, double target, bool count) {
    int64_t a = float_rank(lo), b = int64_t(float_rank(mx)) + 1;
    while (b - a > 1) {
      const int64_t mid = a + (b - a) / 2;
      if (total(rank_float(int32_t(mid)), count) >= target) a = mid; else b = mid;
    }
    return rank_float(int32_t(a));
  };
  float tau = mn;
  if (p.top_k > 0) tau = bisect(mn, p.top_k, true);
  if (p.top_p < 1.f) tau = bisect(tau, p.top_p * total(tau, false), false);
  if (p.min_p > 0.f) tau = std::fmax(tau, mx + p.temperature * std::log(p.min_p));
  const double target = p.u * total(tau, false);
  double run = 0;
  int last = best;
  for (int i = 0; i < vocab; i++) {
    if (!ok[i] || l[i] < tau) continue;
    const double w = std::exp(double(l[i] - mx) * inv_t);
    run += w;
    if (w > 0) last = i;  // rounding may leave the target past the end: the last kept token that can be drawn
    if (run > target) return i;
  }
  return last;
}

void logprobs_reference(const float* l, int vocab, const SampleSpec& p, int row, int id, const Logprobs& out) {
  double mx = -INFINITY, sum = 0;
  for (int i = 0; i < vocab; i++) mx = std::fmax(mx, l[i]);
  for (int i = 0; i < vocab; i++) sum += std::exp(double(l[i]) - mx);
  const double lse = mx + std::log(sum);
  out.sampled[row] = float(l[id] - lse);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + p.logprobs, order.end(),
                    [&](int a, int b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  for (int k = 0; k < p.logprobs; k++) {
    out.ids[p.logprobs_start + k] = order[k];
    out.logprobs[p.logprobs_start + k] = float(l[order[k]] - lse);
  }
}

void sample_rows(const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
                 int32_t* ids, const Logprobs& out) {
  for (int r = 0; r < rows; r++) {
    const float* l = logits + size_t(r) * vocab;
    ids[r] = sample_reference(l, vocab, specs[r], suppress);
    if (specs[r].logprobs && ids[r] >= 0) logprobs_reference(l, vocab, specs[r], r, ids[r], out);
  }
}

void check_spec_ranges(const SampleSpec* specs, int rows, int vocab, int suppress_total, const Logprobs& out) {
  for (int r = 0; r < rows; r++) {
    const SampleSpec& p = specs[r];
    if (p.suppress_start < 0 || p.suppress_count < 0 || p.suppress_start + p.suppress_count > suppress_total)
      throw Error("sampling: row " + std::to_string(r) + "'s suppressed ids lie outside the list");
    if (p.logprobs < 0 || p.logprobs > std::min(kMaxLogprobs, vocab))
      throw Error("sampling: row " + std::to_string(r) + "'s logprobs is " + std::to_string(p.logprobs) +
                  ", expected 0.." + std::to_string(std::min(kMaxLogprobs, vocab)) + " (at most the vocabulary)");
    if (p.logprobs && (!out.sampled || p.logprobs_start < 0 || p.logprobs_start + p.logprobs > out.total))
      throw Error("sampling: row " + std::to_string(r) + "'s log-probabilities lie outside the lists");
  }
}

void Model::forward_sample(Cache& cache, const Plan& plan, const SampleSpec* specs, const int32_t* suppress,
                           int suppress_total, int32_t* ids, const Logprobs& logprobs) {
  const int V = spec().vocab;
  check_spec_ranges(specs, plan.L, V, suppress_total, logprobs);
  std::vector<float> logits(size_t(plan.L) * V);
  forward(cache, plan, logits.data());
  sample_rows(logits.data(), plan.L, V, specs, suppress, ids, logprobs);
}

}  // namespace hogwild
