// Projections. Decode-shaped products (a few rows) are memory-bound: the own kernels stream each weight
// once with 16-byte loads, on CUDA cores (several output rows per warp so that one activation load serves
// them all) or on tensor cores (which keep the arithmetic off the critical path for up to 32 rows).
// Larger products go to cuBLAS (tensor cores), loaded at run time: the build never needs it.
#include <dlfcn.h>

#include "cuda_kernels.h"
#include "ptx.cuh"

namespace hogwild::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  // Read and cleared: a failed allocation (not sticky) would otherwise be what the next kernel launch's
  // check finds, long after the caller has handled it (a cache asked for again smaller).
  cudaGetLastError();
  throw Error(std::string("CUDA error ") + cudaGetErrorString(e) + " in " + what);
}

namespace {

// Small CTAs (4 warps × 2 rows): even N = 5120 makes 640 CTAs, several per SM, so no SM idles in a last
// partial wave (with 8 warps × 4 rows, 160 CTAs on 132 SMs left o_proj and down_proj at 60-77% of the floor).
constexpr int kRowsPerWarp = 2;
constexpr int kWarps = 4;
constexpr int kUnroll = 4;  // 16-byte chunks per row per step: kUnroll × kRowsPerWarp loads in flight per lane

template <int M>
__global__ void __launch_bounds__(kWarps * 32)
    skinny_kernel(const bf16* __restrict__ x, int K, const bf16* __restrict__ w, int N, const float* __restrict__ bias,
                  float* __restrict__ y, int ldy) {
  pdl_enter();
  const int lane = threadIdx.x % 32;
  const int warp = blockIdx.x * kWarps + threadIdx.x / 32;
  const int n0 = warp * kRowsPerWarp;
  if (n0 >= N) return;
  const int K8 = K / 8;  // 16-byte chunks per row
  float acc[M][kRowsPerWarp];
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) acc[m][r] = 0.f;
  const uint4* wv[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; r++)
    wv[r] = reinterpret_cast<const uint4*>(w + size_t(min(n0 + r, N - 1)) * K);
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int c0 = lane; c0 < K8; c0 += 32 * kUnroll) {
    uint4 wp[kUnroll][kRowsPerWarp];
#pragma unroll
    for (int u = 0; u < kUnroll; u++)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; r++)
        wp[u][r] = c0 + 32 * u < K8 ? __ldg(wv[r] + c0 + 32 * u) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int c = c0 + 32 * u;
      if (c >= K8) break;
#pragma unroll
      for (int m = 0; m < M; m++) {
        const uint4 xm = __ldg(xv + size_t(m) * K8 + c);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) acc[m][r] = dot_bf16x8(xm, wp[u][r], acc[m][r]);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) acc[m][r] = warp_sum(acc[m][r]);
  if (lane < M * kRowsPerWarp) {  // lane (m, r) writes one output
    const int m = lane / kRowsPerWarp, r = lane % kRowsPerWarp, n = n0 + r;
    float v = 0;
#pragma unroll
    for (int mm = 0; mm < M; mm++)
#pragma unroll
      for (int rr = 0; rr < kRowsPerWarp; rr++)
        if (mm == m && rr == r) v = acc[mm][rr];
    if (n < N) y[size_t(m) * ldy + n] = v + (bias ? bias[n] : 0.f);
  }
}

// The same product on tensor cores, for up to 8·MT rows: mma.sync m16n8k16 with the weights as A (16 output
// features × 16 k) and the activations as B (16 k × 8 rows), so that neither needs a transpose or shared
// memory. A thread loads 16 bytes of one weight row and 16 of one activation row per 32 k; k is permuted
// alike in A and B (lane quad t's 8 contiguous k serve fragment columns 2t, 2t+1, 8+2t, 9+2t of two k-steps),
// which a dot product does not see. A CTA owns 16 output features; its warps split K and add up in shared
// memory, so that even N = 5120 gives 320 CTAs of 8 warps each, loads of 8 steps in flight per warp.
constexpr int kMmaWarps = 8, kMmaUnroll = 4;

template <int MT>
__global__ void __launch_bounds__(kMmaWarps * 32)
    skinny_mma_kernel(const bf16* __restrict__ x, int M, int K, const bf16* __restrict__ w, int N,
                      const float* __restrict__ bias, float* __restrict__ y, int ldy) {
  __shared__ float red[kMmaWarps][MT * 4][32];
  pdl_enter();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const int n0 = blockIdx.x * 16;
  const int K8 = K / 8, steps = (K8 + 3) / 4;  // a step: 32 k, 16 bytes of a row per lane of a quad
  const uint4* wlo = reinterpret_cast<const uint4*>(w + size_t(min(n0 + g, N - 1)) * K);
  const uint4* whi = reinterpret_cast<const uint4*>(w + size_t(min(n0 + g + 8, N - 1)) * K);
  const uint4* xr[MT];
  bool xok[MT];
#pragma unroll
  for (int j = 0; j < MT; j++) {
    xok[j] = j * 8 + g < M;
    xr[j] = reinterpret_cast<const uint4*>(x + size_t(min(j * 8 + g, M - 1)) * K);
  }
  float acc[MT][4];
#pragma unroll
  for (int j = 0; j < MT; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
  const uint4 zero = make_uint4(0, 0, 0, 0);
  for (int s0 = warp; s0 < steps; s0 += kMmaWarps * kMmaUnroll) {
    uint4 lo[kMmaUnroll], hi[kMmaUnroll], xv[kMmaUnroll][MT];
#pragma unroll
    for (int u = 0; u < kMmaUnroll; u++) {
      const int c = 4 * (s0 + u * kMmaWarps) + t;
      const bool ok = c < K8;
      lo[u] = ok ? __ldg(wlo + c) : zero;
      hi[u] = ok ? __ldg(whi + c) : zero;
#pragma unroll
      for (int j = 0; j < MT; j++) xv[u][j] = ok && xok[j] ? __ldg(xr[j] + c) : zero;
    }
#pragma unroll
    for (int u = 0; u < kMmaUnroll; u++)
#pragma unroll
      for (int j = 0; j < MT; j++) {
        mma16816(acc[j], lo[u].x, hi[u].x, lo[u].y, hi[u].y, xv[u][j].x, xv[u][j].y);
        mma16816(acc[j], lo[u].z, hi[u].z, lo[u].w, hi[u].w, xv[u][j].z, xv[u][j].w);
      }
  }
  // acc[j][i]: output feature n0 + g (+8 for i >= 2), row j*8 + 2t + (i & 1).
#pragma unroll
  for (int j = 0; j < MT; j++)
#pragma unroll
    for (int i = 0; i < 4; i++) red[warp][j * 4 + i][lane] = acc[j][i];
  __syncthreads();
  for (int e = threadIdx.x; e < MT * 4 * 32; e += blockDim.x) {
    const int ji = e / 32, l = e % 32, j = ji / 4, i = ji % 4;
    const int n = n0 + l / 4 + (i >= 2 ? 8 : 0), m = j * 8 + 2 * (l % 4) + (i & 1);
    if (n >= N || m >= M) continue;
    float v = 0.f;
#pragma unroll
    for (int wi = 0; wi < kMmaWarps; wi++) v += red[wi][ji][l];
    y[size_t(m) * ldy + n] = v + (bias ? bias[n] : 0.f);
  }
}

__global__ void add_bias_kernel(float* y, const float* bias, int M, int N, int ldy) {
  pdl_enter();
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < size_t(M) * N) y[i / N * ldy + i % N] += bias[i % N];
}

}  // namespace

void gemm_skinny(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy) {
  if (K % 8) throw Error("gemm: K must be a multiple of 8, got " + std::to_string(K));
  const int blocks = (N + kWarps * kRowsPerWarp - 1) / (kWarps * kRowsPerWarp);
  switch (M) {
#define HW_CASE(m) \
  case m: launch(skinny_kernel<m>, blocks, kWarps * 32, 0, s, x, K, w, N, bias, y, ldy); break;
    HW_CASE(1) HW_CASE(2) HW_CASE(3) HW_CASE(4) HW_CASE(5) HW_CASE(6) HW_CASE(7) HW_CASE(8)
#undef HW_CASE
    default: throw Error("gemm_skinny: M must be 1..8");
  }
}

void gemm_skinny_mma(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy) {
  if (K % 8) throw Error("gemm: K must be a multiple of 8, got " + std::to_string(K));
  const int blocks = (N + 15) / 16;
  if (M <= 8) launch(skinny_mma_kernel<1>, blocks, kMmaWarps * 32, 0, s, x, M, K, w, N, bias, y, ldy);
  else if (M <= 16) launch(skinny_mma_kernel<2>, blocks, kMmaWarps * 32, 0, s, x, M, K, w, N, bias, y, ldy);
  else if (M <= kMmaGemmMaxRows) launch(skinny_mma_kernel<kMmaGemmMaxRows / 8>, blocks, kMmaWarps * 32, 0, s, x, M, K, w, N, bias, y, ldy);
  else throw Error("gemm_skinny_mma: M must be 1.." + std::to_string(kMmaGemmMaxRows));
}

void add_bias(Stream s, float* y, const float* bias, int M, int N, int ldy) {
  const size_t n = size_t(M) * N;
  launch(add_bias_kernel, unsigned((n + 255) / 256), 256, 0, s, y, bias, M, N, ldy);
}

Gemm::Gemm() {
  lib_ = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
  if (!lib_) lib_ = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib_) return;
  auto create = reinterpret_cast<int (*)(void**)>(dlsym(lib_, "cublasCreate_v2"));
  gemm_ex_ = reinterpret_cast<decltype(gemm_ex_)>(dlsym(lib_, "cublasGemmEx"));
  set_stream_ = reinterpret_cast<decltype(set_stream_)>(dlsym(lib_, "cublasSetStream_v2"));
  destroy_ = reinterpret_cast<decltype(destroy_)>(dlsym(lib_, "cublasDestroy_v2"));
  auto set_workspace = reinterpret_cast<int (*)(void*, void*, size_t)>(dlsym(lib_, "cublasSetWorkspace_v2"));
  if (!create || !gemm_ex_ || !set_stream_ || !destroy_ || create(&handle_) != 0) {
    handle_ = nullptr;
    return;
  }
  // A workspace of our own: cuBLAS then allocates nothing while a CUDA graph is being captured.
  if (set_workspace && cudaMalloc(&workspace_, kWorkspace) == cudaSuccess) set_workspace(handle_, workspace_, kWorkspace);
}

Gemm::~Gemm() {
  if (handle_) destroy_(handle_);
  if (workspace_) cudaFree(workspace_);
  if (lib_) dlclose(lib_);
}

void Gemm::run(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy) {
  if (ldy == 0) ldy = N;
  if (policy_ == "mma" && M <= kMmaGemmMaxRows) return gemm_skinny_mma(s, x, M, K, w, N, bias, y, ldy);
  // Measured on an H200 (cuda/NOTES.md): the own kernel wins at 1-2 rows, cuBLAS from 4.
  const int own_rows = policy_ == "own" ? kOwnGemmMaxRows : policy_ == "cublas" || policy_ == "mma" ? 0 : kOwnAutoRows;
  const bool own = (M <= own_rows) || (!handle_ && M <= kOwnGemmMaxRows);
  if (own) return gemm_skinny(s, x, M, K, w, N, bias, y, ldy);
  if (!handle_) {
    // Without cuBLAS, larger products run as groups of up to 8 rows (correct, slower).
    for (int m0 = 0; m0 < M; m0 += kOwnGemmMaxRows)
      gemm_skinny(s, x + size_t(m0) * K, std::min(kOwnGemmMaxRows, M - m0), K, w, N, bias, y + size_t(m0) * ldy, ldy);
    return;
  }
  // Row-major y[M][N] = x[M][K]·Wᵀ is, column-major, yᵀ(N×M) = op_T(W: K×N) · xᵀ(K×M).
  constexpr int kOpN = 0, kOpT = 1, kBF16 = 14, kF32 = 0, kCompute32F = 68, kDefaultAlgo = -1;
  const float one = 1.f, zero = 0.f;
  if (set_stream_(handle_, s) != 0) throw Error("cuBLAS: cublasSetStream failed");
  const int st = gemm_ex_(handle_, kOpT, kOpN, N, M, K, &one, w, kBF16, K, x, kBF16, K, &zero, y, kF32, ldy,
                          kCompute32F, kDefaultAlgo);
  if (st != 0) throw Error("cuBLAS: cublasGemmEx failed with status " + std::to_string(st));
  if (bias) add_bias(s, y, bias, M, N, ldy);
}

}  // namespace hogwild::cuda
