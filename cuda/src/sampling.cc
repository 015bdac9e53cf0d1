// The sampling rule and the log-probabilities on the host (the device's in sampling.cu compute the same rule
// block-wide), and the default Model::forward_sample: logits, then these per row.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "float_rank.h"
#include "hogwild.h"

namespace hogwild {

// The one error for a row with nothing left to draw, whichever sampler found it.
constexpr const char* kEverySuppressedError = "sampling: every token is suppressed";

int sample_reference(const float* l, int vocab, const SampleSpec& p, const int32_t* suppress) {
  // Scratch kept per thread: a row's buffers, fresh each time, cost more in page faults than the rule itself.
  thread_local std::vector<char> ok;
  thread_local std::vector<int32_t> kept, doubt;  // kept: the allowed ids in id order, then those each cut keeps
  thread_local std::vector<double> w;             // the kept tokens' weights, by id
  ok.assign(vocab, 1);
  kept.clear();
  for (int k = 0; k < p.suppress_count; k++) {
    const int id = suppress[p.suppress_start + k];
    if (id >= 0 && id < vocab) ok[id] = 0;
  }
  // broken logits (NaN, or an overflow's ±Inf: no token has a probability): the host says so, none is made up
  for (int i = 0; i < vocab; i++)
    if (!std::isfinite(l[i])) return -1;
  int best = -1;
  float mx = -FLT_MAX;
  for (int i = 0; i < vocab; i++)
    if (ok[i]) {
      if (best < 0 || l[i] > mx) mx = l[i], best = i;
      kept.push_back(i);
    }
  if (best < 0) throw Error(kEverySuppressedError);
  if (p.temperature <= 0) return best;
  const float inv_t = 1.f / p.temperature;
  if (w.size() < size_t(vocab)) w.resize(vocab);
  auto keep_from = [&](float tau) {
    kept.erase(std::remove_if(kept.begin(), kept.end(), [&](int32_t i) { return l[i] < tau; }), kept.end());
  };
  // The largest tau at which the kept tokens with logit >= tau weigh at least target (a count, or the sum of their
  // weights): a bisection over float ranks from the lowest kept logit to just above mx, so tau is the boundary
  // token's logit exactly (its ties kept with it). Tokens at or above the bracket's top always count and those
  // below its bottom never: each step sets them aside, so a step reads only the tokens still in doubt.
  auto cut = [&](double target, bool count) {
    doubt.assign(kept.begin(), kept.end());
    float lo = mx;
    for (int32_t i : kept) lo = l[i] < lo ? l[i] : lo;
    int64_t a = float_rank(lo), b = int64_t(float_rank(mx)) + 1;
    double above = 0;
    while (b - a > 1) {
      const int64_t mid = a + (b - a) / 2;
      const float m = rank_float(int32_t(mid));
      double s = above;
      for (int32_t i : doubt)
        if (l[i] >= m) s += count ? 1.0 : w[i];
      const bool holds = s >= target;
      if (holds) a = mid; else b = mid;
      doubt.erase(std::remove_if(doubt.begin(), doubt.end(), [&](int32_t i) {
                    if (holds) return l[i] < m;             // below the new bottom: never counts again
                    if (l[i] >= m) above += count ? 1.0 : w[i];  // at or above the new top: always counts
                    return l[i] >= m;
                  }),
                  doubt.end());
    }
    keep_from(rank_float(int32_t(a)));
  };
  auto mass = [&] {  // in id order
    double z = 0;
    for (int32_t i : kept) z += w[i];
    return z;
  };
  if (p.top_k > 0 && size_t(p.top_k) < kept.size()) cut(p.top_k, true);
  for (int32_t i : kept) w[i] = std::exp(double(l[i] - mx) * inv_t);  // the kept tokens' only: top-k first
  if (p.top_p < 1.f) cut(p.top_p * mass(), false);
  if (p.min_p > 0.f) keep_from(mx + p.temperature * std::log(p.min_p));
  const double target = p.u * mass();
  double run = 0;
  int last = best;
  for (int32_t i : kept) {
    run += w[i];
    if (w[i] > 0) last = i;  // rounding may leave the target past the end: the last kept token that can be drawn
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
  thread_local std::vector<int32_t> order;  // kept: a fresh row's buffer costs page faults
  order.resize(vocab);
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

void check_spec_ranges(const SampleSpec* specs, int rows, int vocab, const int32_t* suppress, int suppress_total,
                       const Logprobs& out) {
  auto row = [](int r) { return "sampling: row " + std::to_string(r) + "'s "; };
  auto num = [](float v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", double(v));
    return std::string(b);
  };
  for (int r = 0; r < rows; r++) {
    const SampleSpec& p = specs[r];
    // The rule's parameters, refused here for every sampler alike (host and GPU): a NaN or a value out of range
    // would otherwise be read differently by each (the GPU's NaN temperature came back as a NaN-logits row).
    if (!(p.temperature == 0 || (p.temperature >= kMinTemperature && std::isfinite(p.temperature))))
      throw Error(row(r) + "temperature is " + num(p.temperature) + ", expected 0 (greedy) or a finite value ≥ " +
                  num(kMinTemperature));
    if (!(p.top_p > 0 && p.top_p <= 1)) throw Error(row(r) + "top_p is " + num(p.top_p) + ", expected (0, 1]");
    if (!(p.min_p >= 0 && p.min_p < 1)) throw Error(row(r) + "min_p is " + num(p.min_p) + ", expected [0, 1)");
    // [0, 1]: the host's draw in [0, 1) may round up to 1 as a float
    if (!(p.u >= 0 && p.u <= 1)) throw Error(row(r) + "u is " + num(p.u) + ", expected [0, 1]");
    if (p.top_k < 0) throw Error(row(r) + "top_k is " + std::to_string(p.top_k) + ", expected ≥ 0");
    if (p.suppress_start < 0 || p.suppress_count < 0 ||
        int64_t(p.suppress_start) + p.suppress_count > suppress_total)
      throw Error(row(r) + "suppressed ids (suppress_start " + std::to_string(p.suppress_start) + ", suppress_count " +
                  std::to_string(p.suppress_count) + ") lie outside the list of " + std::to_string(suppress_total));
    for (int k = 0; k < p.suppress_count; k++) {
      const int32_t id = suppress[p.suppress_start + k];
      if (id < 0 || id >= vocab)
        throw Error(row(r) + "suppress list holds " + std::to_string(id) + ", outside the vocabulary [0, " +
                    std::to_string(vocab) + ")");
    }
    if (p.logprobs < 0 || p.logprobs > std::min(kMaxLogprobs, vocab))
      throw Error(row(r) + "logprobs is " + std::to_string(p.logprobs) + ", expected 0.." +
                  std::to_string(std::min(kMaxLogprobs, vocab)) + " (at most the vocabulary)");
    if (p.logprobs && (!out.sampled || p.logprobs_start < 0 || int64_t(p.logprobs_start) + p.logprobs > out.total))
      throw Error(row(r) + "log-probabilities (logprobs_start " + std::to_string(p.logprobs_start) +
                  ") lie outside the lists");
  }
}

void check_sampled_ids(const int32_t* ids, int rows) {
  for (int r = 0; r < rows; r++)
    if (ids[r] == kEverySuppressed) throw Error(kEverySuppressedError);
}

void check_device_specs(const SampleSpec* specs, int rows, int vocab, const int32_t* suppress, int suppress_total,
                        const Logprobs& out) {
  check_spec_ranges(specs, rows, vocab, suppress, suppress_total, out);
  for (int r = 0; r < rows; r++)
    if (specs[r].suppress_count > kMaxDeviceSuppress)
      throw Error("sampling: row " + std::to_string(r) + " suppresses " + std::to_string(specs[r].suppress_count) +
                  " ids, at most " + std::to_string(kMaxDeviceSuppress) + " per row on a GPU");
}

void Model::forward_sample(Cache& cache, const Plan& plan, const SampleSpec* specs, const int32_t* suppress,
                           int suppress_total, int32_t* ids, const Logprobs& logprobs) {
  const int V = spec().vocab;
  check_spec_ranges(specs, plan.L, V, suppress, suppress_total, logprobs);
  std::vector<float> logits(size_t(plan.L) * V);
  forward(cache, plan, logits.data());
  sample_rows(logits.data(), plan.L, V, specs, suppress, ids, logprobs);
}

}  // namespace hogwild
