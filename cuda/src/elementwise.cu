// Per-token kernels of the CUDA forward pass: embedding, RMSNorm fused with the residual, SwiGLU, the
// q/k/v epilogue (bias is added by the GEMM; q/k norms, RoPE of new keys, writes into KV pages), the RoPE
// table, and random weights made on the device with the same generator as the host (weights.cc).
#include "cuda_kernels.h"

namespace hogwild::cuda {
namespace {

__device__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float s = 0;
  for (int i = 0; i < warps; i++) s += scratch[i];
  return s;
}

__global__ void embed_kernel(const bf16* table, const int32_t* tokens, int H, float* x) {
  pdl_enter();
  const int t = blockIdx.x;
  const bf16* row = table + size_t(tokens[t]) * H;
  for (int i = threadIdx.x; i < H; i += blockDim.x) x[size_t(t) * H + i] = __bfloat162float(row[i]);
}

// One CTA per row, each thread holding V elements in registers: every load of x and delta is issued before
// any store (restrict: they cannot alias), so a row costs one memory round trip, not one per loop step.
template <int V>
__global__ void __launch_bounds__(1024)
    add_rmsnorm_kernel(float* __restrict__ x, const float* __restrict__ delta, const float* __restrict__ w, int H,
                       float eps, bf16* __restrict__ out) {
  __shared__ float scratch[32];
  pdl_enter();
  const size_t row = size_t(blockIdx.x) * H;
  float v[V];
  float ss = 0.f;
#pragma unroll
  for (int k = 0; k < V; k++) {
    const int i = threadIdx.x + k * blockDim.x;
    v[k] = i < H ? x[row + i] + (delta ? delta[row + i] : 0.f) : 0.f;
    ss += v[k] * v[k];
  }
  if (delta) {
#pragma unroll
    for (int k = 0; k < V; k++) {
      const int i = threadIdx.x + k * blockDim.x;
      if (i < H) x[row + i] = v[k];
    }
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / H + eps);
#pragma unroll
  for (int k = 0; k < V; k++) {
    const int i = threadIdx.x + k * blockDim.x;
    if (i < H) out[row + i] = __float2bfloat16(w[i] * (v[k] * inv));
  }
}

template <int V>
void launch_add_rmsnorm(Stream s, float* x, const float* delta, const float* w, int T, int H, float eps, bf16* out) {
  const int threads = ((H + V - 1) / V + 31) / 32 * 32;
  launch(add_rmsnorm_kernel<V>, T, threads, 0, s, x, delta, w, H, eps, out);
}

__global__ void swiglu_kernel(const float* gu, int I, bf16* out) {
  pdl_enter();
  const int t = blockIdx.y;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < I; i += gridDim.x * blockDim.x) {
    const float g = gu[size_t(t) * 2 * I + i], u = gu[size_t(t) * 2 * I + I + i];
    out[size_t(t) * I + i] = __float2bfloat16(g / (1.f + __expf(-g)) * u);
  }
}

__device__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Element i of chunk c is the ((i mod 65536) + 1)-th splitmix64 draw from the chunk's state (weights.cc).
__global__ void random_kernel(uint64_t base, bool norm, bool bias, size_t n, bf16* dst) {
  const float center = norm ? 1.f : 0.f, half = (norm ? 0.1f : 0.02f) * sqrtf(3.f), scale = bias ? 0.5f : 1.f;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const uint64_t c = i >> 16, k = (i & 0xffff) + 1;
    const uint64_t state = base + c * 0x632be59bd9b4e019ull + k * 0x9e3779b97f4a7c15ull;
    const float u = float(mix64(state) >> 40) * (1.0f / 16777216.0f);
    dst[i] = __float2bfloat16(center + scale * half * (2 * u - 1));
  }
}

__global__ void gather_kernel(const bf16* src, const int32_t* rows, int width, bf16* dst) {
  pdl_enter();
  for (int i = threadIdx.x; i < width; i += blockDim.x) dst[size_t(blockIdx.x) * width + i] = src[size_t(rows[blockIdx.x]) * width + i];
}

__global__ void bf16_to_f32_kernel(const bf16* src, size_t n, float* dst) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    dst[i] = __bfloat162float(src[i]);
}

__global__ void rope_table_kernel(const double* inv_freq, int half, int64_t from, int64_t to, float2* table) {
  const int64_t n = (to - from) * half;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pos = from + i / half;
    double s, c;
    sincos(double(pos) * inv_freq[i % half], &s, &c);
    table[pos * half + i % half] = make_float2(float(c), float(s));
  }
}

// One block per (token, head), one thread per dimension (rounded up to a warp). Heads [0, H) are queries,
// [H, H + KV) keys, then values.
__global__ void qkv_post_kernel(AttnGeometry g, float* qkv, const float* q_norm, const float* k_norm, float eps,
                                const int32_t* tok_page, const int32_t* tok_slot, const int32_t* tok_local,
                                const float2* rope, float* q_out, bf16* k_cache, bf16* v_cache) {
  __shared__ float scratch[32];
  __shared__ float row[256];
  pdl_enter();
  const int t = blockIdx.x, head = blockIdx.y, d = threadIdx.x, hd = g.head_dim, half = hd / 2;
  const bool active = d < hd;
  const int width = (g.heads + 2 * g.kv_heads) * hd;
  float v = active ? qkv[size_t(t) * width + size_t(head) * hd + d] : 0.f;
  const bool is_q = head < g.heads, is_k = !is_q && head < g.heads + g.kv_heads;
  const float* nw = is_q ? q_norm : is_k ? k_norm : nullptr;
  if (nw) {
    const float inv = rsqrtf(block_sum(v * v, scratch) / hd + eps);
    v = active ? nw[d] * (v * inv) : 0.f;
  }
  if (is_q) {
    if (active) q_out[(size_t(t) * g.heads + head) * hd + d] = v;
    return;
  }
  const size_t slot = (size_t(tok_page[t]) * g.page_size + tok_slot[t]) * g.kv_heads;
  if (!is_k) {
    if (active) v_cache[(slot + (head - g.heads - g.kv_heads)) * hd + d] = __float2bfloat16(v);
    return;
  }
  row[d] = v;
  __syncthreads();
  if (!active) return;
  // pairs (i, i + rh) over the first 2·rh dimensions (all of them but for partial rotary); the rest as they are
  const int rh = g.rotary_dim / 2;
  float r = v;
  if (d < 2 * rh) {
    const float2 cs = rope[size_t(tok_local[t]) * half + (d % rh)];
    r = d < rh ? v * cs.x - row[d + rh] * cs.y : v * cs.x + row[d - rh] * cs.y;
  }
  k_cache[(slot + (head - g.heads)) * hd + d] = __float2bfloat16(r);
}

unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + 255) / 256, 65535)); }

}  // namespace

void embed(Stream s, const bf16* table, const int32_t* tokens, int T, int H, float* x) {
  launch(embed_kernel, T, 256, 0, s, table, tokens, H, x);
}

void add_rmsnorm(Stream s, float* x, const float* delta, const float* w, int T, int H, double eps, bf16* out) {
  // The fewest registers per thread that fit the row in 1024 threads.
  if (H <= 1024) launch_add_rmsnorm<1>(s, x, delta, w, T, H, float(eps), out);
  else if (H <= 2048) launch_add_rmsnorm<2>(s, x, delta, w, T, H, float(eps), out);
  else if (H <= 4096) launch_add_rmsnorm<4>(s, x, delta, w, T, H, float(eps), out);
  else if (H <= 8192) launch_add_rmsnorm<8>(s, x, delta, w, T, H, float(eps), out);
  else if (H <= kMaxHidden) launch_add_rmsnorm<kMaxHidden / 1024>(s, x, delta, w, T, H, float(eps), out);
  else throw Error("CUDA: hidden size above " + std::to_string(kMaxHidden) + " is not supported");
}

void swiglu(Stream s, const float* gate_up, int T, int I, bf16* out) {
  launch(swiglu_kernel, dim3((I + 255) / 256, T), 256, 0, s, gate_up, I, out);
}

void random_bf16(Stream s, uint64_t base, bool norm, bool bias, size_t n, bf16* dst) {
  random_kernel<<<grid_for(n), 256, 0, s>>>(base, norm, bias, n, dst);
  HW_CUDA(cudaGetLastError());
}

void gather_rows(Stream s, const bf16* src, const int32_t* rows, int n, int width, bf16* dst) {
  if (n == 0) return;
  launch(gather_kernel, n, 256, 0, s, src, rows, width, dst);
}

void bf16_to_f32(Stream s, const bf16* src, size_t n, float* dst) {
  bf16_to_f32_kernel<<<grid_for(n), 256, 0, s>>>(src, n, dst);
  HW_CUDA(cudaGetLastError());
}

void rope_table(Stream s, const double* inv_freq, int half, int64_t from, int64_t to, float2* table) {
  if (to <= from) return;
  rope_table_kernel<<<grid_for(size_t(to - from) * half), 256, 0, s>>>(inv_freq, half, from, to, table);
  HW_CUDA(cudaGetLastError());
}

void qkv_post(Stream s, const AttnGeometry& g, float* qkv, int T, const float* q_norm, const float* k_norm,
              double eps, const int32_t* tok_page, const int32_t* tok_slot, const int32_t* tok_local,
              const float2* rope, float* q_out, bf16* k_cache, bf16* v_cache) {
  if (g.head_dim > 256) throw Error("CUDA: head_dim above 256 is not supported");
  launch(qkv_post_kernel, dim3(T, g.heads + 2 * g.kv_heads), (g.head_dim + 31) / 32 * 32, 0, s, g, qkv, q_norm, k_norm,
         float(eps), tok_page, tok_slot, tok_local, rope, q_out, k_cache, v_cache);
}

}  // namespace hogwild::cuda
