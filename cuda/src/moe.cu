// Mixture-of-experts layers on the GPU, all on the device (so that decode passes stay one CUDA graph): route
// each token (softmax, top k, ties to the lower expert), group the (token, expert) pairs by expert, run each
// routed expert's SwiGLU once over all its pairs (experts no pair routes to are never read), and add each
// token's k outputs in expert order, as the CPU path does.
#include "cuda_kernels.h"

namespace hogwild::cuda {
namespace {

constexpr int kMaxExperts = 1024, kMaxTopK = 32;

// One warp per token.
__global__ void route_kernel(const float* __restrict__ logits, int E, int K, bool norm_topk, int32_t* __restrict__ sel,
                             float* __restrict__ wt) {
  __shared__ unsigned char taken[kMaxExperts];
  __shared__ int chosen[kMaxTopK];
  __shared__ float prob[kMaxTopK];
  pdl_enter();
  const int t = blockIdx.x, lane = threadIdx.x;
  const float* l = logits + size_t(t) * E;
  float mx = -INFINITY;
  for (int e = lane; e < E; e += 32) {
    mx = fmaxf(mx, l[e]);
    taken[e] = 0;
  }
  for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, o));
  float sum = 0.f;
  for (int e = lane; e < E; e += 32) sum += __expf(l[e] - mx);
  sum = warp_sum(sum);
  __syncwarp();
  for (int j = 0; j < K; j++) {
    float best = -1.f;
    int arg = E;
    for (int e = lane; e < E; e += 32) {
      const float p = __expf(l[e] - mx) / sum;
      if (!taken[e] && (p > best || (p == best && e < arg))) best = p, arg = e;
    }
    for (int o = 16; o > 0; o /= 2) {
      const float ob = __shfl_xor_sync(0xffffffff, best, o);
      const int oa = __shfl_xor_sync(0xffffffff, arg, o);
      if (ob > best || (ob == best && oa < arg)) best = ob, arg = oa;
    }
    if (lane == 0) {
      taken[arg] = 1;
      chosen[j] = arg;
      prob[j] = best;
    }
    __syncwarp();
  }
  if (lane != 0) return;
  float picked = 0.f;
  for (int j = 0; j < K; j++) picked += prob[j];
  for (int j = 1; j < K; j++)  // expert order: the order the outputs are added in
    for (int i = j; i > 0 && chosen[i - 1] > chosen[i]; i--) {
      const int e = chosen[i];
      const float p = prob[i];
      chosen[i] = chosen[i - 1], prob[i] = prob[i - 1];
      chosen[i - 1] = e, prob[i - 1] = p;
    }
  for (int j = 0; j < K; j++) {
    sel[size_t(t) * K + j] = chosen[j];
    wt[size_t(t) * K + j] = norm_topk ? prob[j] / picked : prob[j];
  }
}

// One CTA: pair p = t·K + j goes to expert sel[p]; pairs grouped by expert, in p order within one.
__global__ void group_kernel(const int32_t* __restrict__ sel, int P, int E, int K, int32_t* __restrict__ groups) {
  __shared__ int count[kMaxExperts];
  pdl_enter();
  int32_t *off = groups, *active = groups + E + 1, *n_active = groups + 2 * E + 1, *pair_token = groups + 2 * E + 2,
          *pair_slot = pair_token + P;
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    int n = 0;
    for (int p = 0; p < P; p++) n += sel[p] == e;
    count[e] = n;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int at = 0, a = 0;
    for (int e = 0; e < E; e++) {
      off[e] = at;
      at += count[e];
      if (count[e]) active[a++] = e;
    }
    off[E] = at;
    *n_active = a;
  }
  __syncthreads();
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    if (!count[e]) continue;
    int at = off[e];
    for (int p = 0; p < P; p++)
      if (sel[p] == e) pair_token[at] = p / K, pair_slot[at++] = p;
  }
}

constexpr int kWarps = 4, kRowsPerWarp = 2;

// Rows p0.. of an expert's pairs (M of them): a warp's two output features over all K, as the bf16 skinny kernel.
template <int M>
__device__ void expert_rows(const bf16* __restrict__ x, const int32_t* rows, int p0, int count, const bf16* __restrict__ w,
                            int N, int K, int n0, float* __restrict__ y, const int32_t* out_rows) {
  const int lane = threadIdx.x % 32, K8 = K / 8;
  float acc[M][kRowsPerWarp] = {};
  const uint4* xr[M];
#pragma unroll
  for (int m = 0; m < M; m++) {
    const int p = p0 + min(m, count - 1);
    xr[m] = reinterpret_cast<const uint4*>(x + size_t(rows ? rows[p] : p) * K);
  }
  const uint4* wr[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; r++) wr[r] = reinterpret_cast<const uint4*>(w + size_t(min(n0 + r, N - 1)) * K);
  for (int c = lane; c < K8; c += 32) {
    uint4 wv[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) wv[r] = __ldg(wr[r] + c);
#pragma unroll
    for (int m = 0; m < M; m++) {
      const uint4 xv = __ldg(xr[m] + c);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; r++) acc[m][r] = dot_bf16x8(xv, wv[r], acc[m][r]);
    }
  }
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
      const float v = warp_sum(acc[m][r]);
      const int p = p0 + m;
      if (lane == 0 && m < count && n0 + r < N) y[size_t(out_rows ? out_rows[p] : p) * N + n0 + r] = v;
    }
}

// grid (features / 8, min(E, P)): CTA (f, a) computes 8 output features of the a-th routed expert for all of
// its pairs; CTAs past the number of routed experts leave at once.
__global__ void __launch_bounds__(kWarps * 32)
    expert_gemm_kernel(const bf16* __restrict__ x, const int32_t* __restrict__ groups, int E, int P, bool gather,
                       bool scatter, const bf16* __restrict__ w_all, int N, int K, float* __restrict__ y) {
  pdl_enter();
  const int a = blockIdx.y;
  if (a >= groups[2 * E + 1]) return;
  const int e = groups[E + 1 + a], begin = groups[e], end = groups[e + 1];
  const int32_t* pair_token = groups + 2 * E + 2;
  const int32_t *rows = gather ? pair_token : nullptr, *out_rows = scatter ? pair_token + P : nullptr;
  const int n0 = (blockIdx.x * kWarps + threadIdx.x / 32) * kRowsPerWarp;
  if (n0 >= N) return;
  const bf16* w = w_all + size_t(e) * N * K;
  for (int p0 = begin; p0 < end; p0 += 8) {
    const int count = min(8, end - p0);
    if (count == 1) expert_rows<1>(x, rows, p0, count, w, N, K, n0, y, out_rows);
    else if (count == 2) expert_rows<2>(x, rows, p0, count, w, N, K, n0, y, out_rows);
    else if (count <= 4) expert_rows<4>(x, rows, p0, count, w, N, K, n0, y, out_rows);
    else expert_rows<8>(x, rows, p0, count, w, N, K, n0, y, out_rows);
  }
}

__global__ void combine_kernel(const float* __restrict__ y, const float* __restrict__ wt, int K, int H,
                               float* __restrict__ out) {
  pdl_enter();
  const int t = blockIdx.x;
  for (int h = threadIdx.x; h < H; h += blockDim.x) {
    float v = 0.f;
    for (int j = 0; j < K; j++) v = fmaf(wt[size_t(t) * K + j], y[(size_t(t) * K + j) * H + h], v);
    out[size_t(t) * H + h] = v;
  }
}

}  // namespace

size_t moe_group_ints(int T, int E, int K) { return size_t(2 * E + 2) + 2 * size_t(T) * K; }

void check_moe(int E, int K, int width, int hidden) {
  if (E > kMaxExperts || K > kMaxTopK)
    throw Error("CUDA: mixture of experts with " + std::to_string(E) + " experts, top " + std::to_string(K) +
                " (at most " + std::to_string(kMaxExperts) + " and " + std::to_string(kMaxTopK) + ")");
  if (width % 8 || hidden % 8) throw Error("CUDA: expert widths must be multiples of 8");
}

void moe_mlp(Stream s, Gemm& gemm, const MoeLayer& L, const MoeBuffers& b, const bf16* x, int T, int H, float* out,
             const std::function<void(const char*)>& mark) {
  const int E = L.experts, K = L.top_k, I = L.width, P = T * K;
  mark("moe router");
  // Our own kernels while a decode pass may be captured in a graph: cuBLAS's product for so few outputs (E)
  // came out wrong when replayed from an updated graph (measured on an H200; right without graphs).
  if (T <= kMmaGemmMaxRows) gemm_skinny_mma(s, x, T, H, L.router, E, nullptr, b.route, E);
  else gemm.run(s, x, T, H, L.router, E, nullptr, b.route);
  mark("moe route+group");
  launch(route_kernel, T, 32, 0, s, b.route, E, K, L.norm_topk, b.sel, b.wt);
  launch(group_kernel, 1, 1024, 0, s, b.sel, P, E, K, b.groups);
  const int active = std::min(E, P);
  mark("moe gate/up");
  launch(expert_gemm_kernel, dim3((2 * I + 7) / 8, active), kWarps * 32, 0, s, x, b.groups, E, P, true, false,
         L.gate_up, 2 * I, H, b.gate_up);
  mark("swiglu");
  swiglu(s, b.gate_up, P, I, b.act);
  mark("moe down");
  launch(expert_gemm_kernel, dim3((H + 7) / 8, active), kWarps * 32, 0, s, b.act, b.groups, E, P, false, true, L.down,
         H, I, b.y);
  mark("moe combine");
  launch(combine_kernel, T, 256, 0, s, b.y, b.wt, K, H, out);
}

}  // namespace hogwild::cuda
