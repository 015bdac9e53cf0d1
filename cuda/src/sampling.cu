// Sampling on the device, one CTA per logits row, so that only token ids (and the few log-probabilities a row
// asks for) cross to the host. The choice rule is sample_reference's (sampling.cc): thresholds in logit space
// found by bisection (top-k, then top-p over the top-k set, then min-p), then inverse-CDF over the kept tokens
// in index order with the host's u; the log-probabilities are logprobs_reference's.
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cfloat>

#include "cuda_kernels.h"
#include "float_rank.h"

namespace hogwild::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kMaxSuppress = kMaxDeviceSuppress;

struct ArgMax {
  float v;
  int i;
};
struct MinOp {
  __device__ float operator()(float a, float b) const { return fminf(a, b); }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct ArgMaxOp {
  __device__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
    return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
  }
};

__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* logits, int vocab, const SampleSpec* params, const int32_t* suppress, int32_t* out) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  using ReduceArg = cub::BlockReduce<ArgMax, kThreads>;
  using Scan = cub::BlockScan<float, kThreads>;
  __shared__ union {
    typename Reduce::TempStorage r;
    typename ReduceArg::TempStorage a;
    typename Scan::TempStorage s;
  } tmp;
  __shared__ int sup[kMaxSuppress];
  pdl_enter();
  __shared__ float bcast;
  __shared__ int pick;
  const float* l = logits + size_t(blockIdx.x) * vocab;
  const SampleSpec& P = params[blockIdx.x];  // read where used: a copy of all its fields spills registers
  const int n_suppress = P.suppress_count;
  for (int i = threadIdx.x; i < n_suppress; i += kThreads) sup[i] = suppress[P.suppress_start + i];
  __syncthreads();
  auto allowed = [&](int i) {
    for (int k = 0; k < n_suppress; k++)
      if (sup[k] == i) return false;
    return true;
  };

  ArgMax best{-FLT_MAX, vocab}, mn{FLT_MAX, 0};
  int nan = 0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    nan |= !isfinite(l[i]);
    if (allowed(i)) {
      best = ArgMaxOp()(best, ArgMax{l[i], i});
      mn.v = fminf(mn.v, l[i]);
    }
  }
  if (__syncthreads_or(nan)) {  // broken logits (NaN, ±Inf): -1, as the host reference gives, and the host says so
    if (threadIdx.x == 0) out[blockIdx.x] = -1;
    return;
  }
  const ArgMax top = ReduceArg(tmp.a).Reduce(best, ArgMaxOp());
  if (threadIdx.x == 0) pick = top.i, bcast = top.v;
  __syncthreads();
  if (pick == vocab) {  // no allowed token (any allowed one wins over the start's id vocab): the host says so
    if (threadIdx.x == 0) out[blockIdx.x] = kEverySuppressed;
    return;
  }
  const float mx = bcast;
  if (P.temperature <= 0.f) {
    if (threadIdx.x == 0) out[blockIdx.x] = pick;
    return;
  }
  __syncthreads();
  const float lo_all = Reduce(tmp.r).Reduce(mn.v, MinOp());
  if (threadIdx.x == 0) bcast = lo_all;
  __syncthreads();
  const float lmin = bcast;
  const float inv_t = 1.f / P.temperature;

  // Sum over allowed tokens with logit >= tau of f(logit): a block-wide reduction.
  auto total = [&](float tau, bool count) {
    float acc = 0.f;
    for (int i = threadIdx.x; i < vocab; i += kThreads)
      if (l[i] >= tau && allowed(i)) acc += count ? 1.f : __expf((l[i] - mx) * inv_t);
    __syncthreads();
    const float s = Reduce(tmp.r).Sum(acc);
    if (threadIdx.x == 0) bcast = s;
    __syncthreads();
    return bcast;
  };
  // The largest tau with f(tau) >= target, given f(lo) >= target (f decreasing in tau): over float ranks, as
  // the host's (every thread takes the same steps: total's result is the block's).
  auto bisect = [&](float lo, float target, bool count) {
    int64_t a = float_rank(lo), b = int64_t(float_rank(mx)) + 1;
    while (b - a > 1) {
      const int64_t mid = a + (b - a) / 2;
      if (total(rank_float(int32_t(mid)), count) >= target) a = mid; else b = mid;
    }
    return rank_float(int32_t(a));
  };
  float tau = lmin;
  if (P.top_k > 0) tau = bisect(lmin, float(P.top_k), true);
  if (P.top_p < 1.f) tau = bisect(tau, P.top_p * total(tau, false), false);
  if (P.min_p > 0.f) tau = fmaxf(tau, mx + P.temperature * logf(P.min_p));
  const float target = P.u * total(tau, false);

  // Inverse CDF in index order: chunk by chunk, a block-wide inclusive scan of the kept weights; the pick is the
  // first kept token whose running sum passes the target (the lowest such index, so exactly one, however the
  // scan's sums round: a test on each token's own interval could leave every token out at a boundary).
  float run = 0.f;
  if (threadIdx.x == 0) pick = vocab;  // none yet (every thread reads it only after the loop's barriers)
  for (int base = 0; base < vocab; base += kThreads) {
    const int i = base + threadIdx.x;
    const float w = (i < vocab && l[i] >= tau && allowed(i)) ? __expf((l[i] - mx) * inv_t) : 0.f;
    float incl, chunk;
    __syncthreads();
    Scan(tmp.s).InclusiveSum(w, incl, chunk);
    if (w > 0.f && run + incl > target) atomicMin(&pick, i);
    __syncthreads();
    if (pick < vocab) break;
    run += chunk;
  }
  if (threadIdx.x == 0) {
    int id = pick < vocab ? pick : -1;
    if (id < 0) {  // rounding left the target past the end: take the last kept token that can be drawn
      for (int i = vocab - 1; i >= 0; i--)
        if (l[i] >= tau && allowed(i) && __expf((l[i] - mx) * inv_t) > 0.f) { id = i; break; }
    }
    out[blockIdx.x] = id;
  }
}

// One CTA per logits row: the log-sum-exp (max, then the sum of exponentials), then the top ids one by one,
// each the ArgMaxOp winner among the ids ranked after the last (lower, or equal with a larger id). k ≤ 20
// scans of a row that stays in L2.
__global__ void __launch_bounds__(kThreads)
    logprobs_kernel(const float* logits, int vocab, const SampleSpec* params, const int32_t* ids, float* sampled,
                    int32_t* top_ids, float* top_logprobs) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  using ReduceArg = cub::BlockReduce<ArgMax, kThreads>;
  __shared__ union {
    typename Reduce::TempStorage r;
    typename ReduceArg::TempStorage a;
  } tmp;
  __shared__ float bcast;
  __shared__ ArgMax last;
  pdl_enter();
  const SampleSpec P = params[blockIdx.x];
  const int id = ids[blockIdx.x];
  if (P.logprobs == 0 || id < 0) return;  // none asked, or NaN logits (the host refuses the pass)
  const float* l = logits + size_t(blockIdx.x) * vocab;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < vocab; i += kThreads) m = fmaxf(m, l[i]);
  const float mx_all = Reduce(tmp.r).Reduce(m, MaxOp());
  if (threadIdx.x == 0) bcast = mx_all;
  __syncthreads();
  const float mx = bcast;
  float acc = 0.f;
  for (int i = threadIdx.x; i < vocab; i += kThreads) acc += expf(l[i] - mx);
  __syncthreads();
  const float sum = Reduce(tmp.r).Sum(acc);
  if (threadIdx.x == 0) bcast = mx + logf(sum), last = ArgMax{INFINITY, -1};
  __syncthreads();
  const float lse = bcast;
  if (threadIdx.x == 0) sampled[blockIdx.x] = l[id] - lse;
  for (int k = 0; k < P.logprobs; k++) {
    const ArgMax after = last;
    ArgMax best{-INFINITY, vocab};
    for (int i = threadIdx.x; i < vocab; i += kThreads)
      if (l[i] < after.v || (l[i] == after.v && i > after.i)) best = ArgMaxOp()(best, ArgMax{l[i], i});
    __syncthreads();
    const ArgMax top = ReduceArg(tmp.a).Reduce(best, ArgMaxOp());
    if (threadIdx.x == 0) {
      last = top;
      top_ids[P.logprobs_start + k] = top.i;
      top_logprobs[P.logprobs_start + k] = top.v - lse;
    }
    __syncthreads();
  }
}

}  // namespace

void sample(Stream s, const float* logits, int rows, int vocab, const SampleSpec* params,
            const int32_t* suppress, int32_t* out) {
  if (rows == 0) return;
  launch(sample_kernel, rows, kThreads, 0, s, logits, vocab, params, suppress, out);
}

void logprobs(Stream s, const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* ids,
              float* sampled, int32_t* top_ids, float* top_logprobs) {
  if (rows == 0) return;
  launch(logprobs_kernel, rows, kThreads, 0, s, logits, vocab, specs, ids, sampled, top_ids, top_logprobs);
}

}  // namespace hogwild::cuda

namespace hogwild {

void device_sample_rows(const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
                        int suppress_total, int32_t* ids, const Logprobs& out) {
  check_device_specs(specs, rows, vocab, suppress, suppress_total, out);
  float *dl = nullptr, *dsampled = nullptr, *dlp = nullptr;
  SampleSpec* ds = nullptr;
  int32_t *dsup = nullptr, *dids = nullptr, *dtop = nullptr;
  const size_t n = size_t(rows) * vocab, k = std::max(1, out.total);
  cudaError_t e = cudaMalloc(&dl, n * sizeof(float));
  if (!e) e = cudaMalloc(&ds, rows * sizeof(SampleSpec));
  if (!e) e = cudaMalloc(&dsup, std::max(1, suppress_total) * sizeof(int32_t));
  if (!e) e = cudaMalloc(&dids, rows * sizeof(int32_t));
  if (!e) e = cudaMalloc(&dsampled, rows * sizeof(float));
  if (!e) e = cudaMalloc(&dtop, k * sizeof(int32_t));
  if (!e) e = cudaMalloc(&dlp, k * sizeof(float));
  if (!e) e = cudaMemcpy(dl, logits, n * sizeof(float), cudaMemcpyHostToDevice);
  if (!e) e = cudaMemcpy(ds, specs, rows * sizeof(SampleSpec), cudaMemcpyHostToDevice);
  if (!e && suppress_total) e = cudaMemcpy(dsup, suppress, suppress_total * sizeof(int32_t), cudaMemcpyHostToDevice);
  if (!e) cuda::sample(cuda::Stream{}, dl, rows, vocab, ds, dsup, dids);
  if (!e && out.total) cuda::logprobs(cuda::Stream{}, dl, rows, vocab, ds, dids, dsampled, dtop, dlp);
  if (!e) e = cudaGetLastError();
  if (!e) e = cudaMemcpy(ids, dids, rows * sizeof(int32_t), cudaMemcpyDeviceToHost);
  if (!e && out.total) e = cudaMemcpy(out.sampled, dsampled, rows * sizeof(float), cudaMemcpyDeviceToHost);
  if (!e && out.total) e = cudaMemcpy(out.ids, dtop, out.total * sizeof(int32_t), cudaMemcpyDeviceToHost);
  if (!e && out.total) e = cudaMemcpy(out.logprobs, dlp, out.total * sizeof(float), cudaMemcpyDeviceToHost);
  for (void* p : {static_cast<void*>(dl), static_cast<void*>(ds), static_cast<void*>(dsup), static_cast<void*>(dids),
                  static_cast<void*>(dsampled), static_cast<void*>(dtop), static_cast<void*>(dlp)})
    cudaFree(p);
  if (e) throw Error(std::string("device_sample_rows: ") + cudaGetErrorString(e));
  check_sampled_ids(ids, rows);
}

}  // namespace hogwild
