// The CUDA backend's kernels, as host-side launch functions (one stream, no allocation inside).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
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

// ---- GEMM: y[M][N] (fp32) = x[M][K] (bf16) · W[N][K]ᵀ (bf16) (+ bias[N]) ----
class Gemm {
 public:
  Gemm();  // loads libcublas.so.13 at run time when present (absent: own kernels only)
  ~Gemm();
  void run(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y);
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
void gemm_skinny(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y);
void gemm_skinny_mma(Stream s, const bf16* x, int M, int K, const bf16* w, int N, const float* bias, float* y);
void add_bias(Stream s, float* y, const float* bias, int M, int N);

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
};
// Metadata built on the host once per pass (see cuda_model.cu); device pointers.
struct AttnPlan {
  int T, S, items, chunk;                 // tokens, segments, work items, keys per chunk
  const int32_t* seg_token;               // [S]
  const int32_t* seg_rel;                 // [S]   query position - block offset (rotation and causal bound)
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
// At most kMaxSuppressPerRow suppressed ids per row.
constexpr int kMaxSuppressPerRow = 64;
void sample(Stream s, const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
            int32_t* out);

}  // namespace hogwild::cuda
