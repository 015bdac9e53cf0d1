// The Hogwild! attention on tensor cores (mma.sync m16n8k16, bf16 in, fp32 accumulate), for head_dim 64 and
// 128: same work items, partial states and merge as attention.cu's CUDA-core kernel (the reference path).
// Four warps own 16 query rows each (queries = segments × query heads of the KV head); K/V tiles of 64 keys
// stream through shared memory with cp.async, double-buffered, and are read once for all those queries.
#pragma once
#include "cuda_kernels.h"
#include "ptx.cuh"

namespace hogwild::cuda::mma {

constexpr int kTile = 64, kWarps = 4, kRows = 16 * kWarps;

template <int HD>
constexpr size_t smem_bytes() {
  return size_t(kRows) * HD * 2 + 2 * 2 * size_t(kTile) * HD * 2 + kRows * 4;  // Q, 2 stages of K and V, qn
}

// Byte offset of (row, 16-byte chunk) in a [rows][HD] bf16 tile, XOR-swizzled so that ldmatrix's eight rows
// of one chunk fall in eight different bank groups.
template <int HD>
__device__ __forceinline__ uint32_t swz(int row, int chunk) {
  constexpr int kChunks = HD / 8;
  return uint32_t(row * HD * 2 + ((chunk ^ (row & 7)) % kChunks) * 16);
}

template <int HD>
__global__ void __launch_bounds__(kWarps * 32)
    attn_partial_mma(AttnGeometry g, AttnPlan p, float scale_log2, const float* __restrict__ q,
                     const bf16* __restrict__ kc, const bf16* __restrict__ vc, const float2* __restrict__ rope,
                     float* __restrict__ partial) {
  constexpr int kChunks = HD / 8, kTileBytes = kTile * HD * 2;
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char* qs = smem;                                 // [kRows][HD] bf16, swizzled
  unsigned char* kvs = smem + kRows * HD * 2;               // stage s: K at s*2*kTileBytes, V after it
  int* qn = reinterpret_cast<int*>(kvs + 4 * kTileBytes);  // [kRows] visible keys
  const uint32_t qs_a = uint32_t(__cvta_generic_to_shared(qs)), kvs_a = uint32_t(__cvta_generic_to_shared(kvs));
  pdl_enter();

  const int item = blockIdx.x, kvh = blockIdx.y, G = g.heads / g.kv_heads, half = HD / 2;
  const int b = p.item_block[item], c = p.item_chunk[item];
  const int32_t* segs = p.item_segs + p.item_seg_start[item];
  const int nq = p.item_seg_count[item] * G;
  const int j0 = c * p.chunk;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, gid = lane / 4, tid = lane % 4;

  // Queries, rotated per (row, block) and scaled, as bf16 rows; rows past nq are zero. Pair d turns dimensions
  // (lo, hi) (attention.cu); rotary_dim/2 is even here (cuda_model.cu), so lo and lo + 1 are one bf16 pair.
  const int rh = g.rotary_dim / 2;
  for (int i = threadIdx.x; i < kRows * half / 2; i += blockDim.x) {
    const int row = i / (half / 2), d = (i % (half / 2)) * 2;  // two rotation pairs (d, d+1) per step
    const int lo = rope_lo(d, rh), hi = rope_hi(d, rh, half);
    float lo0 = 0, lo1 = 0, hi0 = 0, hi1 = 0;
    if (row < nq) {
      const int seg = segs[row / G], h = kvh * G + row % G;
      const float* qv = q + (size_t(p.seg_token[seg]) * g.heads + h) * HD;
      const float2 c0 = rope_at(rope, p.seg_rel[seg], half, d), c1 = rope_at(rope, p.seg_rel[seg], half, d + 1);
      lo0 = (qv[lo] * c0.x - qv[hi] * c0.y) * scale_log2;
      hi0 = (qv[hi] * c0.x + qv[lo] * c0.y) * scale_log2;
      lo1 = (qv[lo + 1] * c1.x - qv[hi + 1] * c1.y) * scale_log2;
      hi1 = (qv[hi + 1] * c1.x + qv[lo + 1] * c1.y) * scale_log2;
    }
    *reinterpret_cast<uint32_t*>(qs + swz<HD>(row, lo / 8) + (lo % 8) * 2) = pack_bf16(lo0, lo1);
    *reinterpret_cast<uint32_t*>(qs + swz<HD>(row, hi / 8) + (hi % 8) * 2) = pack_bf16(hi0, hi1);
  }
  for (int i = threadIdx.x; i < kRows; i += blockDim.x) qn[i] = i < nq ? p.seg_n[segs[i / G]] : 0;
  __syncthreads();
  int jmax = 0;
  for (int i = 0; i < nq; i += G) jmax = max(jmax, qn[i]);
  const int j1 = min(j0 + p.chunk, jmax);
  const int ntiles = j1 > j0 ? (j1 - j0 + kTile - 1) / kTile : 0;
  const int32_t* pages = p.block_pages + p.block_page_start[b];

  auto load_tile = [&](int t, int stage) {
    const int t0 = j0 + t * kTile;
    for (int i = threadIdx.x; i < kTile * kChunks; i += blockDim.x) {
      const int r = i / kChunks, ch = i % kChunks, j = t0 + r;
      const bool valid = j < j1;
      const size_t row = valid ? (size_t(pages[j / g.page_size]) * g.page_size + j % g.page_size) * g.kv_heads + kvh : 0;
      const uint32_t off = swz<HD>(r, ch);
      cp_async16(kvs_a + stage * 2 * kTileBytes + off, kc + row * HD + ch * 8, valid);
      cp_async16(kvs_a + stage * 2 * kTileBytes + kTileBytes + off, vc + row * HD + ch * 8, valid);
    }
    asm volatile("cp.async.commit_group;\n");
  };

  float o[HD / 8][4];
#pragma unroll
  for (int n = 0; n < HD / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m[2] = {-1e30f, -1e30f}, l[2] = {0.f, 0.f};
  const int row0 = warp * 16 + gid, row1 = row0 + 8;
  const bool active = warp * 16 < nq;
  const int lim0 = min(qn[row0], j1), lim1 = min(qn[row1], j1);

  if (ntiles > 0) load_tile(0, 0);
  for (int t = 0; t < ntiles; t++) {
    if (t + 1 < ntiles) {
      load_tile(t + 1, (t + 1) % 2);
      asm volatile("cp.async.wait_group 1;\n");
    } else {
      asm volatile("cp.async.wait_group 0;\n");
    }
    __syncthreads();
    if (active) {
      const uint32_t ks_a = kvs_a + (t % 2) * 2 * kTileBytes, vs_a = ks_a + kTileBytes;
      const int t0 = j0 + t * kTile;
      // S = Q Kᵀ for this warp's 16 rows and the tile's 64 keys: 8 n-tiles of 8 keys.
      float s[8][4];
#pragma unroll
      for (int n = 0; n < 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < HD / 16; kk++) {
        uint32_t a0, a1, a2, a3;
        const int mi = lane / 8;
        ldsm_x4(qs_a + swz<HD>(warp * 16 + (mi % 2) * 8 + lane % 8, kk * 2 + mi / 2), a0, a1, a2, a3);
#pragma unroll
        for (int n = 0; n < 8; n += 2) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4(ks_a + swz<HD>(n * 8 + (mi / 2) * 8 + lane % 8, kk * 2 + mi % 2), b0, b1, b2, b3);
          mma16816(s[n], a0, a1, a2, a3, b0, b1);
          mma16816(s[n + 1], a0, a1, a2, a3, b2, b3);
        }
      }
      // Causal bound per row, then the online softmax (each row lives in one quad of lanes).
      float mx0 = -1e30f, mx1 = -1e30f;
#pragma unroll
      for (int n = 0; n < 8; n++) {
        const int j = t0 + n * 8 + tid * 2;
        if (j >= lim0) s[n][0] = -1e30f;
        if (j + 1 >= lim0) s[n][1] = -1e30f;
        if (j >= lim1) s[n][2] = -1e30f;
        if (j + 1 >= lim1) s[n][3] = -1e30f;
        mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
        mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
      }
#pragma unroll
      for (int o2 = 1; o2 < 4; o2 *= 2) {
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffff, mx0, o2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffff, mx1, o2));
      }
      const float mn0 = fmaxf(m[0], mx0), mn1 = fmaxf(m[1], mx1);
      float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
      for (int n = 0; n < 8; n++) {
        s[n][0] = s[n][0] > -1e29f ? exp2f(s[n][0] - mn0) : 0.f;
        s[n][1] = s[n][1] > -1e29f ? exp2f(s[n][1] - mn0) : 0.f;
        s[n][2] = s[n][2] > -1e29f ? exp2f(s[n][2] - mn1) : 0.f;
        s[n][3] = s[n][3] > -1e29f ? exp2f(s[n][3] - mn1) : 0.f;
        sum0 += s[n][0] + s[n][1];
        sum1 += s[n][2] + s[n][3];
      }
#pragma unroll
      for (int o2 = 1; o2 < 4; o2 *= 2) {
        sum0 += __shfl_xor_sync(0xffffffff, sum0, o2);
        sum1 += __shfl_xor_sync(0xffffffff, sum1, o2);
      }
      const float c0 = exp2f(m[0] - mn0), c1 = exp2f(m[1] - mn1);
      l[0] = l[0] * c0 + sum0;
      l[1] = l[1] * c1 + sum1;
      m[0] = mn0;
      m[1] = mn1;
#pragma unroll
      for (int n = 0; n < HD / 8; n++) {
        o[n][0] *= c0;
        o[n][1] *= c0;
        o[n][2] *= c1;
        o[n][3] *= c1;
      }
      // O += P V: P's accumulators become A fragments as they are (two n-tiles = one k-step of 16 keys).
#pragma unroll
      for (int kk = 0; kk < 4; kk++) {
        const uint32_t a0 = pack_bf16(s[2 * kk][0], s[2 * kk][1]), a1 = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
        const uint32_t a2 = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]), a3 = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        const int mi = lane / 8;
#pragma unroll
        for (int n = 0; n < HD / 8; n += 2) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4_t(vs_a + swz<HD>(kk * 16 + (mi % 2) * 8 + lane % 8, n + mi / 2), b0, b1, b2, b3);
          mma16816(o[n], a0, a1, a2, a3, b0, b1);
          mma16816(o[n + 1], a0, a1, a2, a3, b2, b3);
        }
      }
    }
    __syncthreads();  // this stage is loaded again two tiles on
  }
  if (!active) return;
#pragma unroll
  for (int half_row = 0; half_row < 2; half_row++) {
    const int row = half_row ? row1 : row0;
    if (row >= nq) continue;
    const int seg = segs[row / G], h = kvh * G + row % G;
    float* out = partial + (size_t(p.seg_slot[seg] + c) * g.heads + h) * (HD + 2);
#pragma unroll
    for (int n = 0; n < HD / 8; n++)
      *reinterpret_cast<float2*>(out + n * 8 + tid * 2) = make_float2(o[n][half_row * 2], o[n][half_row * 2 + 1]);
    if (tid == 0) {
      out[HD] = m[half_row];
      out[HD + 1] = l[half_row];
    }
  }
}

}  // namespace hogwild::cuda::mma
