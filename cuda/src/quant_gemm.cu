// Quantised projections: AWQ (4-bit, zero points, group scales) and FP8 (e4m3, block scales), read as their
// checkpoints pack them. Decode-shaped products are memory-bound, so each packed byte is read once and
// dequantised in registers; prefill-shaped ones dequantise the matrix into a bf16 scratch and run the bf16
// GEMM (cuBLAS, tensor cores), which costs a write and a read of the bf16 matrix, small next to its products.
#include <cuda_fp8.h>

#include "cuda_kernels.h"

namespace hogwild::cuda {
namespace {

// Four nibble pairs of an AWQ word as half2s holding 1024 + q: the mantissa trick (0x6400 is 1024.0 in half,
// its low 10 bits free), one shift and one mask per pair. Pair j holds nibbles j and j + 4, which AWQ's
// packing order {0,2,4,6,1,3,5,7} puts in columns 2j and 2j + 1 of the word's eight.
__device__ __forceinline__ __half2 nibble_pair(uint32_t w, int j) {
  const uint32_t v = ((w >> (4 * j)) & 0x000f000fu) | 0x64006400u;
  return *reinterpret_cast<const __half2*>(&v);
}

constexpr int kAwqThreads = 128;  // a CTA covers 128 words: 1024 output columns
constexpr int kAwqRows = 4;       // rows per launch: 4 × 8 accumulators, twice (group and total), per thread

// y over a range of K (one split): thread c owns word column c (8 outputs); per 8 k it loads 8 words (one
// 32-byte run per warp per k, coalesced) and each row's 8 activations in one 16-byte load (the same for the
// whole warp: a broadcast). Sums within a group are exact products of x and (q - z) in fp32; the group's
// scale multiplies them once at its end.
// M is 2 or 4 and `rows` (1..M) the rows there are: a one-row product runs as two rows, the second a copy
// of the first (measured on an H200: the one-row build of this kernel ran 1.6x slower than the two-row one,
// its word loads no longer all in flight at once).
template <int M>
__global__ void __launch_bounds__(kAwqThreads)
    awq_kernel(const bf16* __restrict__ x, int rows, int K, const uint32_t* __restrict__ qw,
               const uint32_t* __restrict__ qz, const __half* __restrict__ sc, int N, int group, int k_per_split,
               float* __restrict__ partial) {
  pdl_enter();
  const int NW = N / 8, c = blockIdx.x * kAwqThreads + threadIdx.x;
  if (c >= NW) return;
  const int k0 = blockIdx.y * k_per_split, k1 = min(K, k0 + k_per_split);
  float acc[M][8], part[M][8];
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int i = 0; i < 8; i++) acc[m][i] = part[m][i] = 0.f;
  __half2 z[4], s[4];
  auto flush = [&]() {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const float2 sf = __half22float2(s[j]);
#pragma unroll
      for (int m = 0; m < M; m++) {
        acc[m][2 * j] = fmaf(part[m][2 * j], sf.x, acc[m][2 * j]);
        acc[m][2 * j + 1] = fmaf(part[m][2 * j + 1], sf.y, acc[m][2 * j + 1]);
        part[m][2 * j] = part[m][2 * j + 1] = 0.f;
      }
    }
  };
  // The next 8 words load while this 8 are computed on, so that a warp's loads stay in flight through its
  // arithmetic.
  uint32_t w[8], next[8];
#pragma unroll
  for (int u = 0; u < 8; u++) next[u] = k0 < k1 ? __ldg(qw + size_t(k0 + u) * NW + c) : 0u;
  int group_end = k0;  // a split may start inside a group
  for (int k = k0; k < k1; k += 8) {
    if (k == group_end) {  // a new group: its zero points and scales
      if (k != k0) flush();
      const int g = k / group;
      group_end = (g + 1) * group;
      const uint32_t zw = __ldg(qz + size_t(g) * NW + c);
      const uint4 sv = __ldg(reinterpret_cast<const uint4*>(sc + size_t(g) * N + 8 * c));
#pragma unroll
      for (int j = 0; j < 4; j++) z[j] = nibble_pair(zw, j);
      s[0] = *reinterpret_cast<const __half2*>(&sv.x);
      s[1] = *reinterpret_cast<const __half2*>(&sv.y);
      s[2] = *reinterpret_cast<const __half2*>(&sv.z);
      s[3] = *reinterpret_cast<const __half2*>(&sv.w);
    }
#pragma unroll
    for (int u = 0; u < 8; u++) {
      w[u] = next[u];
      if (k + 8 < k1) next[u] = __ldg(qw + size_t(k + 8 + u) * NW + c);
    }
    uint4 xv[M];
#pragma unroll
    for (int m = 0; m < M; m++) xv[m] = __ldg(reinterpret_cast<const uint4*>(x + size_t(min(m, rows - 1)) * K + k));
#pragma unroll
    for (int u = 0; u < 8; u++) {
      float xf[M];
#pragma unroll
      for (int m = 0; m < M; m++) {
        const __nv_bfloat162 pair = reinterpret_cast<const __nv_bfloat162*>(&xv[m])[u / 2];
        xf[m] = u % 2 ? __high2float(pair) : __low2float(pair);
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const float2 d = __half22float2(__hsub2(nibble_pair(w[u], j), z[j]));  // q - z, exact
#pragma unroll
        for (int m = 0; m < M; m++) {
          part[m][2 * j] = fmaf(xf[m], d.x, part[m][2 * j]);
          part[m][2 * j + 1] = fmaf(xf[m], d.y, part[m][2 * j + 1]);
        }
      }
    }
  }
  flush();
#pragma unroll
  for (int m = 0; m < M; m++) {
    if (m >= rows) break;
    float4* out = reinterpret_cast<float4*>(partial + (size_t(blockIdx.y) * rows + m) * N + 8 * c);
    out[0] = make_float4(acc[m][0], acc[m][1], acc[m][2], acc[m][3]);
    out[1] = make_float4(acc[m][4], acc[m][5], acc[m][6], acc[m][7]);
  }
}

// y[m][n] = the splits' sums in order (deterministic) + bias.
__global__ void reduce_splits_kernel(const float* __restrict__ partial, int splits, int M, int N,
                                     const float* __restrict__ bias, float* __restrict__ y, int ldy) {
  pdl_enter();
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= M * N) return;
  const int m = i / N, n = i % N;
  float v = bias ? bias[n] : 0.f;
  for (int sp = 0; sp < splits; sp++) v += partial[(size_t(sp) * M + m) * N + n];
  y[size_t(m) * ldy + n] = v;
}

__device__ __forceinline__ float2 e4m3_pair(uint16_t v) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(v, __NV_E4M3);
  return __half22float2(*reinterpret_cast<const __half2*>(&h));
}

constexpr int kF8Warps = 4, kF8RowsPerWarp = 2;

// Like the bf16 skinny kernel: a warp owns two output rows, its lanes stride over K 16 bytes (16 k) at a
// time; each 16-k chunk lies in one scale block (block columns are multiples of 16), so its dot product is
// scaled once.
template <int M>
__global__ void __launch_bounds__(kF8Warps * 32)
    fp8_kernel(const bf16* __restrict__ x, int K, const uint8_t* __restrict__ w, const float* __restrict__ scale_inv,
               int br, int bc, int N, const float* __restrict__ bias, float* __restrict__ y, int ldy) {
  pdl_enter();
  const int lane = threadIdx.x % 32, n0 = (blockIdx.x * kF8Warps + threadIdx.x / 32) * kF8RowsPerWarp;
  if (n0 >= N) return;
  const int K16 = K / 16, KB = (K + bc - 1) / bc;
  float acc[M][kF8RowsPerWarp];
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int r = 0; r < kF8RowsPerWarp; r++) acc[m][r] = 0.f;
  for (int c = lane; c < K16; c += 32) {
    uint4 xv[M][2];
#pragma unroll
    for (int m = 0; m < M; m++) {
      const uint4* xr = reinterpret_cast<const uint4*>(x + size_t(m) * K + 16 * c);
      xv[m][0] = __ldg(xr);
      xv[m][1] = __ldg(xr + 1);
    }
#pragma unroll
    for (int r = 0; r < kF8RowsPerWarp; r++) {
      const int n = min(n0 + r, N - 1);
      const uint4 wv = __ldg(reinterpret_cast<const uint4*>(w + size_t(n) * K) + c);
      const float sc = __ldg(scale_inv + size_t(n / br) * KB + (16 * c) / bc);
      const uint16_t* wp = reinterpret_cast<const uint16_t*>(&wv);
#pragma unroll
      for (int m = 0; m < M; m++) {
        const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(xv[m]);
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < 8; i++) {
          const float2 wf = e4m3_pair(wp[i]), xf = __bfloat1622float2(xp[i]);
          dot = fmaf(xf.x, wf.x, fmaf(xf.y, wf.y, dot));
        }
        acc[m][r] = fmaf(dot, sc, acc[m][r]);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < M; m++)
#pragma unroll
    for (int r = 0; r < kF8RowsPerWarp; r++) {
      const float v = warp_sum(acc[m][r]);
      if (lane == 0 && n0 + r < N) y[size_t(m) * ldy + n0 + r] = v + (bias ? bias[n0 + r] : 0.f);
    }
}

// bf16 [N][K] from AWQ: one thread per packed word (8 columns of one k).
__global__ void awq_dequant_kernel(const uint32_t* __restrict__ qw, const uint32_t* __restrict__ qz,
                                   const __half* __restrict__ sc, int N, int K, int group, bf16* __restrict__ out) {
  pdl_enter();
  const int NW = N / 8;
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size_t(K) * NW) return;
  const int k = int(i / NW), c = int(i % NW), g = k / group;
  const uint32_t w = qw[i], zw = qz[size_t(g) * NW + c];
#pragma unroll
  for (int j = 0; j < 4; j++) {
    const float2 d = __half22float2(__hsub2(nibble_pair(w, j), nibble_pair(zw, j)));
    const int n = 8 * c + 2 * j;
    out[size_t(n) * K + k] = __float2bfloat16(d.x * __half2float(sc[size_t(g) * N + n]));
    out[size_t(n + 1) * K + k] = __float2bfloat16(d.y * __half2float(sc[size_t(g) * N + n + 1]));
  }
}

__global__ void fp8_dequant_kernel(const uint8_t* __restrict__ w, const float* __restrict__ scale_inv, int br,
                                   int bc, int N, int K, bf16* __restrict__ out) {
  pdl_enter();
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= size_t(N) * K) return;
  const int n = int(i / K), k = int(i % K);
  const __half_raw h = __nv_cvt_fp8_to_halfraw(w[i], __NV_E4M3);
  out[i] = __float2bfloat16(__half2float(__half(h)) * scale_inv[size_t(n / br) * ((K + bc - 1) / bc) + k / bc]);
}

// Splits of K (multiples of 64) for about four CTAs per SM: a CTA's warps keep only 8 loads each in flight,
// so a decode product needs that many to cover the memory latency. The partial sums this costs (a float per
// output and split) stay small next to the packed weights at 4-bit: 4·splits·N bytes against K·N/2.
int awq_splits(const QuantLinear& w, int sms, int* k_per_split) {
  const int ctas = (w.N / 8 + kAwqThreads - 1) / kAwqThreads;
  const int want = std::max(1, (4 * sms + ctas - 1) / ctas);
  const int per = std::max(64, (w.K / want + 63) / 64 * 64);
  *k_per_split = per;
  return (w.K + per - 1) / per;
}

}  // namespace

size_t quant_partial_floats(const QuantLinear& w, int sms) {
  if (w.quant != Quant::Awq) return 0;
  int per;
  return size_t(awq_splits(w, sms, &per)) * kAwqRows * w.N;
}

void check_quant_linear(const QuantLinear& w, const std::string& name) {
  if (w.quant == Quant::Awq && (w.group % 8 || w.N % 8))
    throw Error("CUDA: AWQ layer " + name + ": group size " + std::to_string(w.group) +
                " and output width must be multiples of 8 on the GPU");
  if (w.quant == Quant::Fp8 && (w.K % 16 || w.bc % 16))
    throw Error("CUDA: FP8 layer " + name + ": input width " + std::to_string(w.K) + " and block columns " +
                std::to_string(w.bc) + " must be multiples of 16 on the GPU");
}

void quant_gemm(Stream s, Gemm& gemm, const bf16* x, int M, const QuantLinear& w, const float* bias, float* y, int ldy,
                float* partial, bf16* scratch, int sms) {
  if (M > kQuantOwnRows) {
    const size_t n = size_t(w.N) * w.K;
    if (w.quant == Quant::Awq)
      launch(awq_dequant_kernel, unsigned((n / 8 + 255) / 256), 256, 0, s, w.qweight, w.qzeros, w.scales, w.N, w.K,
             w.group, scratch);
    else
      launch(fp8_dequant_kernel, unsigned((n + 255) / 256), 256, 0, s, w.f8, w.scale_inv, w.br, w.bc, w.N, w.K, scratch);
    return gemm.run(s, x, M, w.K, scratch, w.N, bias, y, ldy);
  }
  if (w.quant == Quant::Fp8) {
    const int blocks = (w.N + kF8Warps * kF8RowsPerWarp - 1) / (kF8Warps * kF8RowsPerWarp);
    for (int m0 = 0; m0 < M; m0 += 8) {
      const bf16* xm = x + size_t(m0) * w.K;
      float* ym = y + size_t(m0) * ldy;
      switch (std::min(8, M - m0)) {
#define HW_CASE(m)                                                                                                  \
  case m:                                                                                                           \
    launch(fp8_kernel<m>, blocks, kF8Warps * 32, 0, s, xm, w.K, w.f8, w.scale_inv, w.br, w.bc, w.N, bias, ym, ldy); \
    break;
        HW_CASE(1) HW_CASE(2) HW_CASE(3) HW_CASE(4) HW_CASE(5) HW_CASE(6) HW_CASE(7) HW_CASE(8)
#undef HW_CASE
      }
    }
    return;
  }
  int per;
  const int splits = awq_splits(w, sms, &per);
  const dim3 grid((w.N / 8 + kAwqThreads - 1) / kAwqThreads, splits);
  for (int m0 = 0; m0 < M; m0 += kAwqRows) {
    const int rows = std::min(kAwqRows, M - m0);
    const bf16* xm = x + size_t(m0) * w.K;
    if (rows <= 2)
      launch(awq_kernel<2>, grid, kAwqThreads, 0, s, xm, rows, w.K, w.qweight, w.qzeros, w.scales, w.N, w.group, per,
             partial);
    else
      launch(awq_kernel<4>, grid, kAwqThreads, 0, s, xm, rows, w.K, w.qweight, w.qzeros, w.scales, w.N, w.group, per,
             partial);
    launch(reduce_splits_kernel, unsigned((rows * w.N + 255) / 256), 256, 0, s, partial, splits, rows, w.N, bias,
           y + size_t(m0) * ldy, ldy);
  }
}

}  // namespace hogwild::cuda
