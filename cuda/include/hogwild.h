// Hogwild! native core: the C++ API that the Node-API addon and the standalone replay tool share.
//
// The host (TypeScript, or a C++ program) describes a model once (ModelSpec: dimensions plus where every
// tensor's bytes are in the checkpoint files) and then sends one flat Plan per forward pass. The core knows
// nothing about tokens' text or what blocks mean: it writes new keys/values into pages and attends over views.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hogwild {

// Every error the core reports to its host: bad spec, bad plan, unreadable file, exhausted pool.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType : uint32_t { BF16 = 0, F16 = 1, F32 = 2, I32 = 3, F8_E4M3 = 4 };
// Quantised decoder linear layers: AWQ (4-bit, GEMM packing: X.qweight, X.qzeros, X.scales) or FP8 (e4m3:
// X and X.scale_inv, one scale per block of fp8_block_rows x fp8_block_cols).
enum class Quant : uint32_t { None = 0, Awq = 1, Fp8 = 2 };

struct TensorSource {
  std::string name;  // canonical: "embed", "lm_head", "norm", "L3.q", "L3.q_bias", "L3.q_norm", ...
  std::string path;  // checkpoint file
  uint64_t offset = 0, nbytes = 0;  // absolute byte range in the file
  // 0: the range is contiguous. Otherwise its shape[0] rows of nbytes / shape[0] bytes lie `stride` bytes apart
  // from `offset` (a column range of a wider tensor: AWQ's fused projections are packed by columns).
  uint64_t stride = 0;
  DType dtype = DType::BF16;
  std::vector<int64_t> shape;
};

struct ModelSpec {
  int hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  // RoPE turns the first rotary_dim dimensions of each head, pairs (i, i + rotary_dim/2); the rest pass as
  // they are (Phi-3's partial_rotary_factor). Equal to head_dim for every other model.
  int rotary_dim = 0;
  double rms_eps = 1e-6;
  // RoPE's inverse frequencies, head_dim/2 of them, every scaling applied by the host (engine/rope.ts); 0 past
  // rotary_dim/2 (no rotation: cos 1, sin 0). A new scaling is a host change only.
  std::vector<double> rope_inv_freq;
  bool qkv_bias = false, qk_norm = false, tied_embeddings = false;
  Quant quant = Quant::None;
  int awq_group = 0;                          // AWQ: input rows that share a scale and a zero
  int fp8_block_rows = 0, fp8_block_cols = 0;  // FP8: the block one scale covers
  // Mixture of experts (Qwen3-MoE): the sparse layers have L.router and L.e{k}.{gate,up,down}.
  int experts = 0, experts_per_tok = 0, moe_intermediate = 0;
  bool norm_topk = false;
  std::vector<int> sparse_layers;
  // random=true: weights are made in memory from random_seed (benchmarks); tensors is then empty.
  bool random = false;
  uint64_t random_seed = 0;
  std::vector<TensorSource> tensors;
};

// Binary encodings shared with engine/spec.ts (see there for the layout).
ModelSpec decode_spec(const uint8_t* data, size_t size);


// One forward pass, as flat int32 arrays pointing into the host's buffer (engine/plan.ts writes it).
// T new tokens grouped in R rows; B blocks; E view entries; L tokens that want logits; P block pages.
struct Plan {
  int T = 0, R = 0, B = 0, E = 0, L = 0, P = 0;
  bool key_rotation = false;  // the slow reference path: rotate every key by its block's offset
  const int32_t* tokens = nullptr;           // [T]
  const int32_t* row_token_start = nullptr;  // [R+1]
  const int32_t* row_block = nullptr;        // [R]   block the row's new tokens are written to
  const int32_t* row_write_start = nullptr;  // [R]   block-local position of the row's first new token
  const int32_t* row_query_start = nullptr;  // [R]   view position of the row's first new token
  const int32_t* row_view_start = nullptr;   // [R+1]
  const int32_t* view_block = nullptr;       // [E]
  const int32_t* view_offset = nullptr;      // [E]
  const int32_t* view_full = nullptr;        // [E]   1: the entry's whole block is read, keys past the query too
  const int32_t* block_len = nullptr;        // [B]   length after this pass's writes
  const int32_t* block_page_start = nullptr; // [B+1]
  const int32_t* block_pages = nullptr;      // [P]
  const int32_t* logit_tokens = nullptr;     // [L]   indices into tokens

  // The keys of view entry e that a query at view position pos reads: the first ones of its block, up to pos
  // (causal over positions), or all of them for an entry read in full. Its query turns by pos - view_offset[e],
  // negative for a full block placed past the query.
  int64_t visible(int e, int64_t pos) const {
    const int64_t len = block_len[view_block[e]];
    return view_full[e] ? len : std::max<int64_t>(0, std::min<int64_t>(len, pos - view_offset[e] + 1));
  }
};

// The most layers and experts (per layer) a model spec may have: far above any checkpoint's (hundreds), low
// enough that the tensor list the core builds for them stays small.
constexpr int kMaxLayers = 4096;
constexpr int kMaxExperts = 4096;

// Decodes and validates a plan against the model and the cache geometry; throws Error naming the field.
Plan decode_plan(const int32_t* data, size_t count, int vocab, int pages, int page_size);

// How one logits row becomes a token: greedy (temperature 0), or temperature -> top-k -> top-p -> min-p.
// u is a uniform draw in [0, 1) from the host's seeded generator: the same u gives the same token.
// Suppressed ids are suppress[suppress_start, suppress_start + suppress_count) of the list passed with the specs.
// logprobs > 0 (at most kMaxLogprobs): the row's log-probabilities come back too (Logprobs), its top ids at
// [logprobs_start, logprobs_start + logprobs) of the pass's lists.
struct SampleSpec {
  float temperature = 0, top_p = 1, min_p = 0, u = 0;
  int top_k = 0, suppress_start = 0, suppress_count = 0, logprobs = 0, logprobs_start = 0;
};
constexpr int kMaxLogprobs = 20;
// The smallest temperature that samples (engine/sampler.ts MIN_TEMPERATURE): below it 1/T overflows a float.
constexpr float kMinTemperature = 1e-6f;
// The largest position a plan may reach (a view's block end): every backend's RoPE table stops there.
constexpr int64_t kMaxPosition = int64_t(1) << 24;

// Where a pass's log-probabilities go, from the log-softmax of the raw logits (temperature 1, before
// suppression or any filter): sampled[r] the id sampled for logits row r; ids and logprobs, `total` long,
// the rows' most likely ids (most likely first, ties: lower id first) and theirs. Empty: no row asks.
struct Logprobs {
  float* sampled = nullptr;
  int32_t* ids = nullptr;
  float* logprobs = nullptr;
  int total = 0;
};

// The sampling rule, on the host: the reference that every device sampler must agree with.
int sample_reference(const float* logits, int vocab, const SampleSpec& spec, const int32_t* suppress);

// The log-probabilities of logits row `row` (no NaN), whose sampled id is `id`, on the host (log-sum-exp in double):
// the reference of the device's.
void logprobs_reference(const float* logits, int vocab, const SampleSpec& spec, int row, int id, const Logprobs& out);

// Both, on `rows` logits rows (ids[r] -1 where a row holds NaN: its log-probabilities are not written).
void sample_rows(const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
                 int32_t* ids, const Logprobs& out);

// Throws Error when a spec's suppressed-id range lies outside a list of `suppress_total` ids, or it asks for
// more log-probabilities than kMaxLogprobs or `vocab`, or their range lies outside out's lists (or out has none).
void check_spec_ranges(const SampleSpec* specs, int rows, int vocab, const int32_t* suppress, int suppress_total,
                       const Logprobs& out);
// The most suppressed ids a row may have on a GPU: its sampler holds them in shared memory.
constexpr int kMaxDeviceSuppress = 64;
// check_spec_ranges, and that bound: the one check of both GPU entry points (a pass's forward_sample and
// device_sample_rows), host code in every build.
void check_device_specs(const SampleSpec* specs, int rows, int vocab, const int32_t* suppress, int suppress_total,
                        const Logprobs& out);
// The id a device sampler writes for a row whose every token is suppressed (-1: NaN logits); the host's rule throws.
constexpr int32_t kEverySuppressed = -2;
// Throws the host rule's error where a device sampler wrote kEverySuppressed: both GPU entry points call it.
void check_sampled_ids(const int32_t* ids, int rows);

// How the CUDA backend runs a pass (the CPU ignores them). Passed by the host at load, never read from the
// environment; they change timings (and, for gemm and attention, the last bits of the logits).
struct DeviceOptions {
  std::string gemm = "auto";       // auto | own | cublas | mma (see Gemm::set_policy)
  std::string attention = "auto";  // auto: tensor cores for head_dim 64/128 | simple: the CUDA-core kernel everywhere
  int graphs = 8;                  // decode passes replay a captured CUDA graph once their shape has held this
                                   // many passes in a row (1: every shape is captured; 0: no graphs)
  bool pdl = false;                // programmatic dependent launch between a pass's kernels (sm_90)
  bool profile = false;            // device time per stage, printed to stderr when the model goes away
};
// "gemm=mma,pdl=1,...": the one textual form (the host's options and the replay tool's --cuda); throws Error
// naming an unknown key or a bad value.
DeviceOptions parse_device_options(const std::string& text);
// Every option in that form, defaults included.
std::string format_device_options(const DeviceOptions& options);

// The KV pool: `pages` pages of `page_size` token slots, for every layer.
class Cache {
 public:
  // The shape of the model it is made for: its keys and values are laid out for that one.
  explicit Cache(const ModelSpec& s) : layers_(s.layers), kv_heads_(s.kv_heads), head_dim_(s.head_dim) {}
  virtual ~Cache() = default;
  virtual int pages() const = 0;
  virtual int page_size() const = 0;
  virtual size_t bytes() const = 0;
  int layers() const { return layers_; }
  int kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }

 private:
  int layers_, kv_heads_, head_dim_;
};

// Throws Error unless `cache` was made for a model of spec's shape (layers, KV heads, head_dim): every backend's
// pass checks it before reading or writing a page.
void check_cache(const ModelSpec& spec, const Cache& cache);

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelSpec& spec() const = 0;
  virtual std::string device() const = 0;
  virtual size_t weight_bytes() const = 0;
  // The options it runs with (format_device_options); the CPU has none that matter.
  virtual DeviceOptions options() const { return {}; }
  // Whether the library it loads at run time for large products loaded (empty where it loads none: the CPU):
  // without it they run on the own kernels, slower, whatever the gemm option says.
  virtual std::string gemm_library() const { return ""; }
  virtual std::unique_ptr<Cache> new_cache(int pages, int page_size) = 0;
  // Writes the new tokens' keys/values into `cache`, then fills logits[L * vocab] for plan.logit_tokens.
  virtual void forward(Cache& cache, const Plan& plan, float* logits) = 0;
  // The same pass, sampling one token per logits row (specs[L]) where the logits are: only ids come back,
  // and the log-probabilities the specs ask for.
  virtual void forward_sample(Cache& cache, const Plan& plan, const SampleSpec* specs, const int32_t* suppress,
                              int suppress_total, int32_t* ids, const Logprobs& logprobs = {});
};

// device: "cpu" or "cuda". Reads the checkpoint bytes itself.
std::unique_ptr<Model> load_model(const ModelSpec& spec, const std::string& device, const DeviceOptions& options = {});

// Host memory copy bandwidth in bytes/s (median of `reps` copies of `bytes`, all cores): the CPU floor.
double copy_bandwidth(size_t bytes, int reps);

// Device memory copy bandwidth in bytes/s (read + write) of `bytes`-sized copies, median of `reps`: the GPU floor.
double device_copy_bandwidth(size_t bytes, int reps);

// The device's sampling rule on rows of logits the host gives (a check's, for logits no model makes: ties, far
// apart, ±0, NaN): ids[r] as a pass would sample row r, and the log-probabilities the specs ask for. Throws in a
// build without CUDA.
void device_sample_rows(const float* logits, int rows, int vocab, const SampleSpec* specs, const int32_t* suppress,
                        int suppress_total, int32_t* ids, const Logprobs& out = {});

struct CudaInfo {
  bool compiled = false;
  int device_count = 0;
  std::string error, name;
  int selftest = -1;  // 1: a kernel ran and gave the right answer; 0: wrong, or could not run (error: why); -1: not run
};
CudaInfo cuda_info();

}  // namespace hogwild
