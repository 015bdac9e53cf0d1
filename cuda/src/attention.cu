// The Hogwild! attention: split-K flash decoding over the blocks of every view.
//
// A work item is (block, chunk of its keys, a group of segments), where a segment is one new token's visit to
// one block of its view (the token's position minus the block's offset gives both the query rotation and the
// causal bound). A CTA loads each K/V tile of its chunk once into shared memory and serves every query of
// every segment in its group (all rows whose views hold the block, all query heads of the KV head): the tile
// is read from memory once, not once per worker. Partial softmax states go to a workspace, and a second
// kernel merges each token's states over all its blocks and chunks: one softmax over the whole view.
#include <cfloat>
#include <cstdlib>
#include <cstring>

#include "attention_mma.cuh"
#include "cuda_kernels.h"

namespace hogwild::cuda {
namespace {

template <int HD>
struct Cfg {
  static constexpr int kTile = HD > 128 ? 32 : 64;  // keys per shared-memory tile
  static constexpr int kMaxQueries = HD > 128 ? 32 : 64;
  static constexpr int kWarps = 8;
  static constexpr int kQueriesPerWarp = kMaxQueries / kWarps;
  static constexpr int kPairsPerLane = (HD + 63) / 64;  // output dims owned by a lane, as bf16 pairs
  static constexpr int kKeyStride = HD + 2;             // padded K rows: conflict-free column reads
  static constexpr size_t kSmem = size_t(kMaxQueries) * HD * 4 + size_t(kTile) * kKeyStride * 2 +
                                  size_t(kTile) * HD * 2 + kMaxQueries * 4;
};

constexpr float kNegInf = -1e30f;
constexpr unsigned kFull = 0xffffffffu;

template <int HD>
__global__ void __launch_bounds__(256)
    attn_partial_kernel(AttnGeometry g, AttnPlan p, float scale_log2, const float* __restrict__ q,
                        const bf16* __restrict__ kc, const bf16* __restrict__ vc, const float2* __restrict__ rope,
                        float* __restrict__ partial) {
  using C = Cfg<HD>;
  extern __shared__ __align__(16) unsigned char smem[];
  float* qs = reinterpret_cast<float*>(smem);                 // [kMaxQueries][HD], rotated and scaled
  bf16* ks = reinterpret_cast<bf16*>(qs + C::kMaxQueries * HD);  // [kTile][kKeyStride]
  bf16* vs = ks + C::kTile * C::kKeyStride;                   // [kTile][HD]
  int* qn = reinterpret_cast<int*>(vs + C::kTile * HD);        // [kMaxQueries] visible keys
  pdl_enter();

  const int item = blockIdx.x, kvh = blockIdx.y, G = g.heads / g.kv_heads, half = HD / 2;
  const int b = p.item_block[item], c = p.item_chunk[item];
  const int32_t* segs = p.item_segs + p.item_seg_start[item];
  const int nq = p.item_seg_count[item] * G;
  const int j0 = c * p.chunk;

  // Each query is rotated once per (row, block) by its position relative to the block's offset. Pair d turns
  // dimensions (lo, hi): (d, d + half) unless only part of the head turns (pairs past it have cos 1, sin 0).
  const int rh = g.rotary_dim / 2;
  for (int i = threadIdx.x; i < nq * half; i += blockDim.x) {
    const int qi = i / half, d = i % half, seg = segs[qi / G], h = kvh * G + qi % G;
    const int lo = rope_lo(d, rh), hi = rope_hi(d, rh, half);
    const float* qv = q + (size_t(p.seg_token[seg]) * g.heads + h) * HD;
    const float2 cs = rope_at(rope, p.seg_rel[seg], half, d);
    qs[qi * HD + lo] = (qv[lo] * cs.x - qv[hi] * cs.y) * scale_log2;
    qs[qi * HD + hi] = (qv[hi] * cs.x + qv[lo] * cs.y) * scale_log2;
  }
  for (int i = threadIdx.x; i < nq; i += blockDim.x) qn[i] = p.seg_n[segs[i / G]];
  __syncthreads();
  int jmax = 0;
  for (int i = 0; i < nq; i += G) jmax = max(jmax, qn[i]);
  const int j1 = min(j0 + p.chunk, jmax);

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float m[C::kQueriesPerWarp], l[C::kQueriesPerWarp];
  float2 acc[C::kQueriesPerWarp][C::kPairsPerLane];
#pragma unroll
  for (int k = 0; k < C::kQueriesPerWarp; k++) {
    m[k] = kNegInf;
    l[k] = 0.f;
#pragma unroll
    for (int i = 0; i < C::kPairsPerLane; i++) acc[k][i] = make_float2(0.f, 0.f);
  }
  const int32_t* pages = p.block_pages + p.block_page_start[b];
  constexpr int kChunksPerRow = HD / 8;  // 16-byte pieces of one key row

  for (int t0 = j0; t0 < j1; t0 += C::kTile) {
    const int cnt = min(C::kTile, j1 - t0);
    __syncthreads();
    for (int i = threadIdx.x; i < cnt * kChunksPerRow; i += blockDim.x) {
      const int r = i / kChunksPerRow, piece = i % kChunksPerRow, j = t0 + r;
      const size_t row = (size_t(pages[j / g.page_size]) * g.page_size + j % g.page_size) * g.kv_heads + kvh;
      const uint4 kv = *reinterpret_cast<const uint4*>(kc + row * HD + piece * 8);
      const uint4 vv = *reinterpret_cast<const uint4*>(vc + row * HD + piece * 8);
      uint32_t* kd = reinterpret_cast<uint32_t*>(ks + r * C::kKeyStride + piece * 8);
      kd[0] = kv.x;
      kd[1] = kv.y;
      kd[2] = kv.z;
      kd[3] = kv.w;
      *reinterpret_cast<uint4*>(vs + r * HD + piece * 8) = vv;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < C::kQueriesPerWarp; k++) {
      const int qi = warp + k * C::kWarps;
      if (qi >= nq) break;
      const int lim = min(cnt, qn[qi] - t0);  // causal bound inside this tile
      if (lim <= 0) continue;
      constexpr int kKeysPerLane = C::kTile / 32;
      float s[kKeysPerLane];
      float tmax = kNegInf;
      const float* qrow = qs + qi * HD;
#pragma unroll
      for (int kt = 0; kt < kKeysPerLane; kt++) {
        const int r = lane + 32 * kt;
        float dot = kNegInf;
        if (r < lim) {
          const __nv_bfloat162* krow = reinterpret_cast<const __nv_bfloat162*>(ks + r * C::kKeyStride);
          dot = 0.f;
#pragma unroll 8
          for (int d = 0; d < HD / 2; d++) {
            const float2 kf = __bfloat1622float2(krow[d]);
            const float2 qf = reinterpret_cast<const float2*>(qrow)[d];
            dot = fmaf(qf.x, kf.x, fmaf(qf.y, kf.y, dot));
          }
        }
        s[kt] = dot;
        tmax = fmaxf(tmax, dot);
      }
      for (int o = 16; o > 0; o /= 2) tmax = fmaxf(tmax, __shfl_xor_sync(kFull, tmax, o));
      const float mnew = fmaxf(m[k], tmax);
      float psum = 0.f;
#pragma unroll
      for (int kt = 0; kt < kKeysPerLane; kt++) {
        s[kt] = lane + 32 * kt < lim ? exp2f(s[kt] - mnew) : 0.f;
        psum += s[kt];
      }
      for (int o = 16; o > 0; o /= 2) psum += __shfl_xor_sync(kFull, psum, o);
      const float corr = exp2f(m[k] - mnew);
      l[k] = l[k] * corr + psum;
      m[k] = mnew;
#pragma unroll
      for (int i = 0; i < C::kPairsPerLane; i++) acc[k][i] = make_float2(acc[k][i].x * corr, acc[k][i].y * corr);
      for (int r = 0; r < lim; r++) {
        float own = s[0];
        if constexpr (kKeysPerLane > 1) own = r < 32 ? s[0] : s[1];
        const float pr = __shfl_sync(kFull, own, r & 31);
        const __nv_bfloat162* vrow = reinterpret_cast<const __nv_bfloat162*>(vs + r * HD);
#pragma unroll
        for (int i = 0; i < C::kPairsPerLane; i++) {
          const int pair = lane + 32 * i;
          if (pair < HD / 2) {
            const float2 vf = __bfloat1622float2(vrow[pair]);
            acc[k][i].x = fmaf(pr, vf.x, acc[k][i].x);
            acc[k][i].y = fmaf(pr, vf.y, acc[k][i].y);
          }
        }
      }
    }
  }
#pragma unroll
  for (int k = 0; k < C::kQueriesPerWarp; k++) {
    const int qi = warp + k * C::kWarps;
    if (qi >= nq) break;
    const int seg = segs[qi / G], h = kvh * G + qi % G;
    float* out = partial + (size_t(p.seg_slot[seg] + c) * g.heads + h) * (HD + 2);
#pragma unroll
    for (int i = 0; i < C::kPairsPerLane; i++) {
      const int pair = lane + 32 * i;
      if (pair < HD / 2) reinterpret_cast<float2*>(out)[pair] = acc[k][i];
    }
    if (lane == 0) {
      out[HD] = m[k];
      out[HD + 1] = l[k];
    }
  }
}

// One pass over a token's partial states with a running maximum. A token's slots are contiguous (slots are
// numbered segment by segment, and a token's segments are contiguous), so the pass runs over one flat range
// of slots, eight at a time with their loads in flight together: few round trips even for ~70 slots.
template <int HD>
__global__ void attn_merge_kernel(AttnGeometry g, AttnPlan p, const float* __restrict__ partial, bf16* __restrict__ out) {
  constexpr int kInFlight = 8;
  pdl_enter();
  const int t = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
  float M = kNegInf, L = 0.f, a = 0.f;
  auto fold = [&](float m, float l, float v) {
    if (!(l > 0.f)) return;
    const float mn = fmaxf(M, m), cold = exp2f(M - mn), cnew = exp2f(m - mn);
    L = L * cold + l * cnew;
    a = a * cold + v * cnew;
    M = mn;
  };
  const int s0 = p.tok_seg_start[t], s1 = p.tok_seg_start[t + 1];
  const int first = p.seg_slot[s0], last = p.seg_slot[s1 - 1] + p.seg_chunks[s1 - 1];
  const size_t stride = size_t(g.heads) * (HD + 2);
  const float* base = partial + size_t(h) * (HD + 2);
  int c = first;
  for (; c + kInFlight <= last; c += kInFlight) {
    float m[kInFlight], l[kInFlight], v[kInFlight];
#pragma unroll
    for (int u = 0; u < kInFlight; u++) {
      const float* st = base + (c + u) * stride;
      m[u] = st[HD];
      l[u] = st[HD + 1];
      v[u] = d < HD ? st[d] : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kInFlight; u++) fold(m[u], l[u], v[u]);
  }
  for (; c < last; c++) {
    const float* st = base + c * stride;
    fold(st[HD], st[HD + 1], d < HD ? st[d] : 0.f);
  }
  if (d < HD) out[(size_t(t) * g.heads + h) * HD + d] = __float2bfloat16(a / L);
}

template <int HD>
constexpr bool has_mma() {
  return HD == 64 || HD == 128;
}

template <int HD>
void run(Stream s, const AttnGeometry& g, const AttnPlan& p, const float* q, const bf16* kc, const bf16* vc,
            const float2* rope, float* partial, bf16* out) {
  using C = Cfg<HD>;
  const float scale_log2 = 1.4426950408889634f / sqrtf(float(HD));
  if (p.items > 0) {
    if constexpr (has_mma<HD>()) {
      if (g.tensor_cores) {
        static_assert(mma::kRows == C::kMaxQueries, "work items are grouped for the CUDA-core kernel's query limit");
        launch(mma::attn_partial_mma<HD>, dim3(p.items, g.kv_heads), mma::kWarps * 32, mma::smem_bytes<HD>(), s, g, p,
               scale_log2, q, kc, vc, rope, partial);
      } else {
        launch(attn_partial_kernel<HD>, dim3(p.items, g.kv_heads), C::kWarps * 32, C::kSmem, s, g, p, scale_log2, q,
               kc, vc, rope, partial);
      }
    } else {
      launch(attn_partial_kernel<HD>, dim3(p.items, g.kv_heads), C::kWarps * 32, C::kSmem, s, g, p, scale_log2, q, kc,
             vc, rope, partial);
    }
  }
  launch(attn_merge_kernel<HD>, dim3(p.T, g.heads), (HD + 31) / 32 * 32, 0, s, g, p, partial, out);
}

template <int HD>
void prepare() {
  HW_CUDA(cudaFuncSetAttribute(attn_partial_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Cfg<HD>::kSmem)));
  if constexpr (has_mma<HD>())
    HW_CUDA(cudaFuncSetAttribute(mma::attn_partial_mma<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 int(mma::smem_bytes<HD>())));
}

}  // namespace

void attention_prepare(const AttnGeometry& g) {
  switch (g.head_dim) {
    case 16: return prepare<16>();
    case 32: return prepare<32>();
    case 64: return prepare<64>();
    case 128: return prepare<128>();
    case 256: return prepare<256>();
    default: throw Error("CUDA attention: head_dim " + std::to_string(g.head_dim) + " (supported: 16, 32, 64, 128, 256)");
  }
}

int attention_max_segments_per_item(const AttnGeometry& g) {
  const int max_queries = g.head_dim > 128 ? Cfg<256>::kMaxQueries : Cfg<128>::kMaxQueries;
  const int G = g.heads / g.kv_heads;
  if (G > max_queries) throw Error("CUDA attention: more than " + std::to_string(max_queries) + " query heads per KV head");
  return max_queries / G;
}

size_t attention_partial_floats(const AttnGeometry& g, int slots) {
  return size_t(slots) * g.heads * (g.head_dim + 2);
}

void attention(Stream s, const AttnGeometry& g, const AttnPlan& p, const float* q, const bf16* k_cache,
               const bf16* v_cache, const float2* rope, float* partial, bf16* out) {
  switch (g.head_dim) {
    case 16: return run<16>(s, g, p, q, k_cache, v_cache, rope, partial, out);
    case 32: return run<32>(s, g, p, q, k_cache, v_cache, rope, partial, out);
    case 64: return run<64>(s, g, p, q, k_cache, v_cache, rope, partial, out);
    case 128: return run<128>(s, g, p, q, k_cache, v_cache, rope, partial, out);
    case 256: return run<256>(s, g, p, q, k_cache, v_cache, rope, partial, out);
    default: throw Error("CUDA attention: head_dim " + std::to_string(g.head_dim) + " (supported: 16, 32, 64, 128, 256)");
  }
}

}  // namespace hogwild::cuda
