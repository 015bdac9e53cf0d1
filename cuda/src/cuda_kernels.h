// The CUDA backend's kernels, as host-side launch functions (one stream, no allocation inside).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>

#include "hogwild.h"

namespace hogwild::cuda {

void check(cudaError_t e, const char* what);
#define HW_CUDA(x) ::hogwild::cuda::check((x), #x)

using bf16 = __nv_bfloat16;

// The model's stream, and whether its kernels go out with programmatic dependent launch (sm_90): with it,
// each kernel may be scheduled while the one before drains its last wave, hiding the gap between kernels.
// Safe because every such kernel starts with pdl_enter(), which waits until the grid before it has finished
// and its writes are visible (a no-op without PDL). Set from the options the host passes at load.
struct Stream {
  cudaStream_t s = nullptr;
  bool pdl = false;
  operator cudaStream_t() const { return s; }
};
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, const Stream& s, Args... args) {
  cudaLaunchAttribute attr;
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cfg.attrs = &attr;
  cfg.numAttrs = s.pdl ? 1 : 0;
  HW_CUDA(cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(args)...));
}
__device__ __forceinline__ void pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// The sum of v over the warp's 32 lanes, in every lane.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}
// acc + the dot product of 8 bf16 pairs packed in 16 bytes each, in a fixed order (pair by pair).
__device__ __forceinline__ float dot_bf16x8(const uint4& x, const uint4& w, float acc) {
  const __nv_bfloat162 *xp = reinterpret_cast<const __nv_bfloat162*>(&x), *wp = reinterpret_cast<const __nv_bfloat162*>(&w);
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const float2 a = __bfloat1622float2(xp[i]), b = __bfloat1622float2(wp[i]);
    acc = fmaf(a.x, b.x, fmaf(a.y, b.y, acc));
  }
  return acc;
}

// ---- GEMM: y[M][N] (fp32) = x[M][K] (bf16) · W[N][K]ᵀ (bf16) (+ bias[N]) ----
class Gemm {
 public:
  Gemm();  // loads libcublas.so.13 at run time when present (absent: own kernels only)
  ~Gemm();
  // y's rows are ldy apart (0: N), so that a product can fill some columns of a wider output.
  void run(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy = 0);
  bool has_cublas() const { return handle_ != nullptr; }
  // "auto" (own kernel for M <= kOwnAutoRows, cuBLAS above), "own" (own kernel up to 8 rows), "cublas",
  // "mma" (own tensor-core kernel up to kMmaGemmMaxRows rows, cuBLAS above).
  void set_policy(const std::string& p) {
    if (p != "auto" && p != "own" && p != "cublas" && p != "mma")
      throw Error("cuda gemm: expected auto, own, cublas or mma, got \"" + p + "\"");
    policy_ = p;
  }

 private:
  void* lib_ = nullptr;
  void* handle_ = nullptr;
  void* workspace_ = nullptr;
  static constexpr size_t kWorkspace = size_t(32) << 20;
  std::string policy_ = "auto";
  int (*gemm_ex_)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                  const void*, void*, int, int, int, int) = nullptr;
  int (*set_stream_)(void*, cudaStream_t) = nullptr;
  int (*destroy_)(void*) = nullptr;
};
constexpr int kOwnGemmMaxRows = 8, kOwnAutoRows = 2, kMmaGemmMaxRows = 32;

// ---- quantised projections (quant_gemm.cu): y[M][ldy] (fp32, columns 0..N) = x[M][K] (bf16) · Wᵀ (+ bias) ----
// W stays as its checkpoint packs it. Up to kQuantOwnRows rows the own kernels read it once per 4 (AWQ) or
// 8 (FP8) rows and dequantise in registers; more rows (prefill) dequantise it into `scratch` (bf16 [N][K])
// and run the bf16 GEMM on tensor cores.
struct QuantLinear {
  Quant quant = Quant::None;
  int N = 0, K = 0;
  const uint32_t* qweight = nullptr;  // AWQ: [K][N/8], nibble i of a word is column 8c + {0,2,4,6,1,3,5,7}[i]
  const uint32_t* qzeros = nullptr;   // AWQ: [K/group][N/8], packed alike
  const __half* scales = nullptr;     // AWQ: [K/group][N]
  int group = 0;
  const uint8_t* f8 = nullptr;        // FP8: e4m3 [N][K]
  const float* scale_inv = nullptr;   // FP8: [ceil(N/br)][ceil(K/bc)]
  int br = 0, bc = 0;
};
constexpr int kQuantOwnRows = 16;
// The split-K partial sums the AWQ kernel needs for `w` (floats); the caller's buffer must hold as many.
size_t quant_partial_floats(const QuantLinear& w, int sms);
// Refuses, naming the layer, what the kernels cannot read (FP8: K and block columns multiples of 16; AWQ:
// groups a multiple of 8).
void check_quant_linear(const QuantLinear& w, const std::string& name);
void quant_gemm(Stream s, Gemm& gemm, const bf16* x, int M, const QuantLinear& w, const float* bias, float* y, int ldy,
                float* partial, bf16* scratch, int sms);
void gemm_skinny(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy);
void gemm_skinny_mma(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y, int ldy);
void add_bias(Stream s, float* y, const float* bias, int M, int N, int ldy);

// ---- mixture of experts (moe.cu) ----
struct MoeLayer {
  int experts, top_k, width;
  bool norm_topk;
  const bf16* router;   // [E][H]
  const bf16* gate_up;  // [E][2·width][H]: each expert's gate rows, then its up rows
  const bf16* down;     // [E][H][width]
};
// A pass's scratch for a sparse layer (T tokens, P = T·top_k pairs).
struct MoeBuffers {
  float* route;    // [T][E] router logits
  int32_t* sel;    // [P] expert of pair t·k + j (a token's in expert order)
  float* wt;       // [P] its weight
  int32_t* groups; // moe_group_ints: per-expert offsets, routed experts, pairs grouped by expert
  float* gate_up;  // [P][2·width]
  bf16* act;       // [P][width]
  float* y;        // [P][H]
};
size_t moe_group_ints(int T, int E, int K);
void check_moe(int E, int K, int width, int hidden);
// out[T][H] = Σ over each token's top-k experts of weight × SwiGLU_e(x).
// `mark` names each stage for the profile option.
void moe_mlp(Stream s, Gemm& gemm, const MoeLayer& L, const MoeBuffers& b, const bf16* x, int T, int H, float* out,
             const std::function<void(const char*)>& mark);

// ---- element-wise and per-row kernels ----
void embed(Stream s, const bf16* table, const int32_t* tokens, int T, int H, float* x);
// RMSNorm fused with the residual: x += delta (if given); out = bf16(rmsnorm(x) * w). One row per CTA in
// registers: hidden sizes up to kMaxHidden.
constexpr int kMaxHidden = 16384;
void add_rmsnorm(Stream s, float* x, const float* delta, const float* w, int T, int H, double eps, bf16* out);
void swiglu(Stream s, const float* gate_up, int T, int I, bf16* out);
void random_bf16(Stream s, uint64_t base, bool norm, bool bias, size_t n, bf16* dst);
void gather_rows(Stream s, const bf16* src, const int32_t* rows, int n, int width, bf16* dst);
void bf16_to_f32(Stream s, const bf16* src, size_t n, float* dst);

// RoPE table: cos/sin of pos * inv_freq[i] for pos < positions, computed in double.
void rope_table(Stream s, const double* inv_freq, int half, int64_t from, int64_t to, float2* table);

// ---- attention (the Hogwild! shared cache) ----
struct AttnGeometry {
  int heads, kv_heads, head_dim, page_size;
  bool tensor_cores;  // head_dim 64 and 128 on tensor cores; false: the CUDA-core kernel (the reference)
  // RoPE turns the first rotary_dim dimensions, pairs (i, i + rotary_dim/2); the rest pass unchanged (their
  // frequencies in the table are 0). A rotation pair index d < head_dim/2 covers dimensions rope_lo/rope_hi.
  int rotary_dim;
};
__host__ __device__ inline int rope_lo(int d, int rot_half) { return d < rot_half ? d : d + rot_half; }
__host__ __device__ inline int rope_hi(int d, int rot_half, int half) { return d < rot_half ? d + rot_half : d + half; }
// Pair d's (cos, sin) for a turn by rel positions from the table of non-negative ones: a negative rel (a block
// read in full past the query) is the inverse turn, cos even and sin odd.
__device__ inline float2 rope_at(const float2* rope, int rel, int half, int d) {
  const float2 cs = rope[size_t(rel < 0 ? -rel : rel) * half + d];
  return rel < 0 ? make_float2(cs.x, -cs.y) : cs;
}
// Metadata built on the host once per pass (see cuda_model.cu); device pointers.
struct AttnPlan {
  int T, S, items, chunk;                 // tokens, segments, work items, keys per chunk
  const int32_t* seg_token;               // [S]
  const int32_t* seg_rel;                 // [S]   query position - block offset (its rotation; negative: full)
  const int32_t* seg_n;                   // [S]   visible keys
  const int32_t* seg_slot;                // [S]   first partial slot (one per chunk of its block)
  const int32_t* tok_seg_start;           // [T+1] segments of token t (never none: its own block)
  const int32_t* seg_chunks;              // [S]
  const int32_t* item_block;              // [items]
  const int32_t* item_chunk;              // [items]
  const int32_t* item_seg_start;          // [items] range into item_segs
  const int32_t* item_seg_count;          // [items]
  const int32_t* item_segs;               // segment ids grouped per item
  const int32_t* block_page_start;        // [B+1]
  const int32_t* block_pages;             // [P]
};
// q: fp32 [T][heads][hd] unrotated; k_cache/v_cache: bf16 [pages][page_size][kv][hd]; out bf16 [T][heads*hd].
void attention(Stream s, const AttnGeometry& g, const AttnPlan& p, const float* q, const bf16* k_cache,
               const bf16* v_cache, const float2* rope, float* partial, bf16* out);
// Raises the kernels' shared-memory limits (once per model, before any graph capture).
void attention_prepare(const AttnGeometry& g);
size_t attention_partial_floats(const AttnGeometry& g, int slots);
int attention_max_segments_per_item(const AttnGeometry& g);

// After the qkv projection: bias, q/k RMSNorm, RoPE of keys at block-local positions, K/V into pages.
void qkv_post(Stream s, const AttnGeometry& g, float* qkv, int T, const float* q_norm, const float* k_norm,
              double eps, const int32_t* tok_page, const int32_t* tok_slot, const int32_t* tok_local,
              const float2* rope, float* q_out, bf16* k_cache, bf16* v_cache);

// ---- sampling: one token per logits row, by sample_reference's rule ----
// At most kMaxDeviceSuppress suppressed ids per row (check_device_specs, before any launch).
void sample(Stream s, const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
            int32_t* out);
// After sample: for each row whose spec asks (SampleSpec::logprobs), the log-probabilities as
// logprobs_reference gives them, the sampled id's (ids, as sample wrote them) at sampled[row].
void logprobs(Stream s, const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* ids,
              float* sampled, int32_t* top_ids, float* top_logprobs);

}  // namespace hogwild::cuda
