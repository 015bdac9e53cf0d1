// The CUDA implementation of the plan API: weights (bf16, or AWQ / FP8 as their checkpoints pack them) and
// bf16 KV pages in device memory, one stream. Per pass the host turns the plan into flat metadata (token
// write slots; attention segments and work items), uploads it in one copy, and launches per layer:
// RMSNorm+residual, the q/k/v projection (one fused product for bf16), its epilogue (norms, RoPE of new keys,
// writes into pages), the Hogwild! attention, the output projection, then the MLP (gate/up, SwiGLU, down; or
// a mixture of experts, routed on the device); then the LM head on the rows that want logits.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <type_traits>

#include "attn_meta.h"
#include "cuda_kernels.h"
#include "weights.h"

namespace hogwild {
namespace {

using cuda::bf16;

// A device buffer that grows (never inside a running pass: sizes are known before the first launch).
template <class T>
class DevBuf {
 public:
  DevBuf() = default;
  DevBuf(const DevBuf&) = delete;
  ~DevBuf() {
    if (p_) cudaFree(p_);
  }
  // A failed allocation leaves it empty (the next get allocates again), never holding the freed pointer.
  T* get(size_t n) {
    if (n > cap_) {
      const size_t cap = std::max(n, cap_ + cap_ / 2);
      if (p_) cudaFree(p_);
      p_ = nullptr, cap_ = 0;
      T* p = nullptr;
      HW_CUDA(cudaMalloc(&p, cap * sizeof(T)));
      p_ = p, cap_ = cap;
    }
    return p_;
  }
  T* ptr() const { return p_; }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

template <class T>
T* dev_alloc(size_t n, size_t& total) {
  T* p;
  HW_CUDA(cudaMalloc(&p, n * sizeof(T)));
  total += n * sizeof(T);
  return p;
}

class CudaCache : public Cache {
 public:
  CudaCache(const ModelSpec& s, int pages, int page_size) : Cache(s), pages_(pages), page_size_(page_size), layers_(s.layers) {
    if (pages <= 0 || page_size <= 0) throw Error("cache: pages and page_size must be positive");
    per_layer_ = size_t(pages) * page_size * s.kv_heads * s.head_dim;
    // A cache too large for the card fails here and is asked for again smaller (the bench halves it): what
    // was taken is given back, since the destructor of an object never made does not run.
    try {
      HW_CUDA(cudaMalloc(&k_, per_layer_ * s.layers * sizeof(bf16)));
      HW_CUDA(cudaMalloc(&v_, per_layer_ * s.layers * sizeof(bf16)));
      // Zeroed: a page read before it is written (benchmarks claim blocks without prefilling) holds no NaN.
      HW_CUDA(cudaMemset(k_, 0, per_layer_ * s.layers * sizeof(bf16)));
      HW_CUDA(cudaMemset(v_, 0, per_layer_ * s.layers * sizeof(bf16)));
      HW_CUDA(cudaDeviceSynchronize());  // the model's stream does not wait for the legacy stream
    } catch (...) {
      cudaFree(k_);
      cudaFree(v_);
      throw;
    }
  }
  ~CudaCache() override {
    cudaFree(k_);
    cudaFree(v_);
  }
  int pages() const override { return pages_; }
  int page_size() const override { return page_size_; }
  size_t bytes() const override { return 2 * per_layer_ * layers_ * sizeof(bf16); }
  bf16* k(int layer) { return k_ + per_layer_ * layer; }
  size_t layer_stride() const { return per_layer_; }
  bf16* v(int layer) { return v_ + per_layer_ * layer; }

 private:
  int pages_, page_size_, layers_;
  size_t per_layer_;
  bf16 *k_ = nullptr, *v_ = nullptr;
};

// One product of the pass, whatever the checkpoint's format: y[T, N] = x[T, K] · Wᵀ. In bf16, W is one matrix
// (q/k/v, gate/up stacked) and one GEMM; quantised, W is its parts as the checkpoint packs them (q, k, v), each
// product writing its columns of y.
struct Linear {
  int N = 0, K = 0;
  const bf16* w = nullptr;               // bf16 [N][K]
  std::vector<cuda::QuantLinear> parts;  // quantised: rows of W in order, their N adding up to N
};

struct DevLayer {
  float *attn_norm, *mlp_norm, *qkv_bias = nullptr, *q_norm = nullptr, *k_norm = nullptr;
  Linear qkv, o, gate_up, down;  // gate_up: gate's columns, then up's
  bool sparse = false;
  cuda::MoeLayer moe{};
};

// What a pass's kernels read that is fixed at load: dimensions, weights, the stream, the GEMM.
struct Fixed {
  const ModelSpec* spec;
  cuda::AttnGeometry geom;  // page_size comes with each pass
  cuda::Stream stream;
  cuda::Gemm* gemm;
  bf16 *embed, *lm_head;
  float* final_norm;
  const DevLayer* layers;
  float* quant_partial;  // the AWQ kernel's split-K sums
  bf16* quant_scratch;   // a quantised matrix dequantised for a prefill-sized product
  int sms;
};

// Everything else a pass's kernels read: sizes, the cache, the plan's metadata, every buffer. A captured
// graph bakes all of it in, so this struct, compared byte for byte, is the graph's key; and launch_pass can
// read nothing else per pass (it is a free function: no member is in reach), so no buffer can be missed.
struct PassArgs {
  int32_t T, L, page_size, slots;
  cuda::AttnPlan ap;
  bf16 *k, *v;  // layer 0's K and V pages; layer l's are layer_stride further
  size_t layer_stride;
  const float2* rope;
  const int32_t *tokens, *tok_page, *tok_slot, *tok_local, *logit_rows;
  float *x, *tmp, *qkv, *q, *partial, *logits;
  bf16 *h, *hl;
  cuda::MoeBuffers moe;  // sparse layers only
};
static_assert(std::has_unique_object_representations_v<PassArgs>, "compared byte for byte: no padding allowed");

void launch_pass(const Fixed& f, const PassArgs& a, const std::function<void(const char*)>& mark) {
  const ModelSpec& s = *f.spec;
  const int T = a.T, H = s.hidden, I = s.intermediate;
  cuda::AttnGeometry g = f.geom;
  g.page_size = a.page_size;
  // y = x · Wᵀ (+ bias): one GEMM in bf16, or each quantised part into its columns of y (rows N apart)
  auto apply = [&](const Linear& w, const bf16* x, const float* bias, float* y) {
    if (w.w) return f.gemm->run(f.stream, x, T, w.K, w.w, w.N, bias, y);
    int col = 0;
    for (const cuda::QuantLinear& p : w.parts) {
      cuda::quant_gemm(f.stream, *f.gemm, x, T, p, bias ? bias + col : nullptr, y + col, w.N, f.quant_partial,
                       f.quant_scratch, f.sms);
      col += p.N;
    }
  };
  mark("embed");
  cuda::embed(f.stream, f.embed, a.tokens, T, H, a.x);
  for (int l = 0; l < s.layers; l++) {
    const DevLayer& L = f.layers[l];
    bf16 *kc = a.k + a.layer_stride * l, *vc = a.v + a.layer_stride * l;
    mark("rmsnorm");
    cuda::add_rmsnorm(f.stream, a.x, l ? a.tmp : nullptr, L.attn_norm, T, H, s.rms_eps, a.h);
    mark("gemm qkv");
    apply(L.qkv, a.h, L.qkv_bias, a.qkv);
    mark("qkv epilogue");
    cuda::qkv_post(f.stream, g, a.qkv, T, L.q_norm, L.k_norm, s.rms_eps, a.tok_page, a.tok_slot, a.tok_local, a.rope,
                   a.q, kc, vc);
    mark("attention");
    cuda::attention(f.stream, g, a.ap, a.q, kc, vc, a.rope, a.partial, a.h);
    mark("gemm o");
    apply(L.o, a.h, nullptr, a.tmp);
    mark("rmsnorm");
    cuda::add_rmsnorm(f.stream, a.x, a.tmp, L.mlp_norm, T, H, s.rms_eps, a.h);
    if (L.sparse) {
      cuda::moe_mlp(f.stream, *f.gemm, L.moe, a.moe, a.h, T, H, a.tmp, mark);
      continue;
    }
    mark("gemm gate/up");
    apply(L.gate_up, a.h, nullptr, a.qkv);
    mark("swiglu");
    cuda::swiglu(f.stream, a.qkv, T, I, a.h);
    mark("gemm down");
    apply(L.down, a.h, nullptr, a.tmp);
  }
  if (a.L > 0) {
    mark("rmsnorm");
    cuda::add_rmsnorm(f.stream, a.x, a.tmp, f.final_norm, T, H, s.rms_eps, a.h);
    cuda::gather_rows(f.stream, a.h, a.logit_rows, a.L, H, a.hl);
    mark("gemm lm_head");
    f.gemm->run(f.stream, a.hl, a.L, H, f.lm_head, s.vocab, nullptr, a.logits);
  }
  mark(nullptr);
}

// Decode passes (a few rows) replay a captured CUDA graph: one launch instead of ~10 per layer. The graph bakes
// in everything of PassArgs, so PassArgs is its key. Capturing a pass and updating the executable graph leaves
// the GPU idle for longer than a replay saves (measured on an H200: ~2.6 ms against ~0.7 ms), and in a real run
// the key changes every few passes (a view gains a block, a chunk grows, a run joins), so a shape is captured
// only once it has held for `after` passes in a row (DeviceOptions.graphs); until then, and in runs whose shapes
// keep changing, passes are launched as they are. One executable graph is kept, updated in place when it can be.
class GraphCache {
 public:
  explicit GraphCache(int after) : after_(after) {}
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;
  ~GraphCache() { drop(); }

  // Issues the pass that `launch` launches with arguments `a` on `stream`: replayed, captured, or launched.
  void run(cudaStream_t stream, const PassArgs& a, const std::function<void()>& launch) {
    constexpr int kMaxRows = 32;  // decode-shaped passes (many runs' workers); prefills gain nothing
    if (after_ == 0 || a.T > kMaxRows || a.L > kMaxRows) return launch();
    streak_ = std::memcmp(&a, &last_, sizeof a) == 0 ? streak_ + 1 : 1;
    last_ = a;
    const bool replay = exec_ && std::memcmp(&a, &key_, sizeof a) == 0;
    if (!replay && streak_ < after_) return launch();
    if (!replay && !capture(stream, a, launch)) {
      after_ = 0;  // e.g. a library that cannot be captured: plain launches from now on
      return launch();
    }
    HW_CUDA(cudaGraphLaunch(exec_, stream));
  }

 private:
  // Captures the pass into the executable graph (updated in place, or instantiated anew); false if it cannot.
  bool capture(cudaStream_t stream, const PassArgs& a, const std::function<void()>& launch) {
    cudaGraph_t g = nullptr;
    HW_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    bool captured = true;
    try {
      launch();
    } catch (const std::exception& e) {
      captured = false;
      std::fprintf(stderr, "hogwild: CUDA graph capture failed (%s); running without graphs\n", e.what());
    }
    captured = cudaStreamEndCapture(stream, &g) == cudaSuccess && captured;
    bool ready = false;
    if (captured && exec_) {
      cudaGraphExecUpdateResultInfo info;
      ready = cudaGraphExecUpdate(exec_, g, &info) == cudaSuccess;
      if (!ready) cudaGetLastError();  // another topology: instantiate below
    }
    if (!ready) drop();
    if (!ready && captured) ready = cudaGraphInstantiate(&exec_, g, 0) == cudaSuccess;
    if (ready) key_ = a;
    else drop();
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    return ready;
  }
  void drop() {
    if (exec_) cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
  }

  int after_;  // 0: never
  PassArgs key_{}, last_{};
  int streak_ = 0;  // passes in a row with last_
  cudaGraphExec_t exec_ = nullptr;
};

class CudaModel : public Model {
 public:
  CudaModel(const ModelSpec& spec, const DeviceOptions& o)
      : s_(spec), options_(o), graphs_(o.graphs), profile_(o.profile) {
    HW_CUDA(cudaSetDevice(0));
    HW_CUDA(cudaStreamCreateWithFlags(&stream_.s, cudaStreamNonBlocking));
    stream_.pdl = o.pdl;
    gemm_.set_policy(o.gemm);
    cudaDeviceProp prop;
    HW_CUDA(cudaGetDeviceProperties(&prop, 0));
    sms_ = prop.multiProcessorCount;
    if (s_.hidden > cuda::kMaxHidden)
      throw Error("CUDA: hidden size " + std::to_string(s_.hidden) + " (at most " + std::to_string(cuda::kMaxHidden) + ")");
    // tensor cores load query dimensions two at a time: partial rotary needs an even rotary_dim/2 there
    geom_ = {s_.heads, s_.kv_heads, s_.head_dim, 0, o.attention != "simple" && s_.rotary_dim / 2 % 2 == 0,
             s_.rotary_dim};
    seg_per_item_ = cuda::attention_max_segments_per_item(geom_);
    cuda::attention_prepare(geom_);
    load_weights();
    fixed_ = Fixed{&s_, geom_, stream_, &gemm_, embed_, lm_head_, final_norm_, layers_.data(), quant_partial_.ptr(),
                   quant_scratch_.ptr(), sms_};
    const std::vector<double>& inv = s_.rope_inv_freq;
    HW_CUDA(cudaMalloc(&inv_freq_, inv.size() * sizeof(double)));
    HW_CUDA(cudaMemcpy(inv_freq_, inv.data(), inv.size() * sizeof(double), cudaMemcpyHostToDevice));
    HW_CUDA(cudaDeviceSynchronize());
  }
  ~CudaModel() override {
    for (auto& [tokens, pr] : profiles_) {
      double total = 0;
      for (auto& kv : pr.ms) total += kv.second;
      std::fprintf(stderr, "profile: %d tokens, %d passes, %.3f ms per pass:", tokens, pr.passes, total / pr.passes);
      for (auto& kv : pr.ms) std::fprintf(stderr, " | %s %.3f", kv.first.c_str(), kv.second / pr.passes);
      std::fprintf(stderr, "\n");
    }
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
    for (void* p : owned_) cudaFree(p);
    cudaFree(inv_freq_);
    cudaStreamDestroy(stream_);
  }

  const ModelSpec& spec() const override { return s_; }
  std::string device() const override { return "cuda"; }
  DeviceOptions options() const override { return options_; }
  std::string gemm_library() const override {
    return gemm_.has_cublas() ? "cuBLAS loaded"
                              : "cuBLAS not loaded (no libcublas.so.13): own kernels for every product, gemm=cublas too";
  }
  size_t weight_bytes() const override { return weight_bytes_; }
  std::unique_ptr<Cache> new_cache(int pages, int page_size) override {
    return std::make_unique<CudaCache>(s_, pages, page_size);
  }

  void forward(Cache& cache, const Plan& p, float* logits) override {
    run(cache, p);
    if (p.L)
      HW_CUDA(cudaMemcpyAsync(logits, logits_.ptr(), size_t(p.L) * s_.vocab * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    HW_CUDA(cudaStreamSynchronize(stream_));
    collect_profile(p.T);
  }

  void forward_sample(Cache& cache, const Plan& p, const SampleSpec* specs, const int32_t* suppress, int n_suppress,
                      int32_t* ids, const Logprobs& out) override {
    check_device_specs(specs, p.L, s_.vocab, suppress, n_suppress, out);
    run(cache, p);
    if (p.L == 0) return HW_CUDA(cudaStreamSynchronize(stream_));
    SampleSpec* dspecs = specs_.get(p.L);
    int32_t* dsup = suppress_.get(std::max(1, n_suppress));
    int32_t* dids = ids_.get(p.L);
    HW_CUDA(cudaMemcpyAsync(dspecs, specs, sizeof(SampleSpec) * p.L, cudaMemcpyHostToDevice, stream_));
    if (n_suppress) HW_CUDA(cudaMemcpyAsync(dsup, suppress, sizeof(int32_t) * n_suppress, cudaMemcpyHostToDevice, stream_));
    cuda::sample(stream_, logits_.ptr(), p.L, s_.vocab, dspecs, dsup, dids);
    HW_CUDA(cudaMemcpyAsync(ids, dids, sizeof(int32_t) * p.L, cudaMemcpyDeviceToHost, stream_));
    if (out.total) {  // only the rows' few floats and ids come back, never their logits
      float* dsampled = logprobs_.get(size_t(p.L) + out.total);
      float* dtop = dsampled + p.L;
      int32_t* dtop_ids = top_ids_.get(out.total);
      cuda::logprobs(stream_, logits_.ptr(), p.L, s_.vocab, dspecs, dids, dsampled, dtop_ids, dtop);
      HW_CUDA(cudaMemcpyAsync(out.sampled, dsampled, sizeof(float) * p.L, cudaMemcpyDeviceToHost, stream_));
      HW_CUDA(cudaMemcpyAsync(out.logprobs, dtop, sizeof(float) * out.total, cudaMemcpyDeviceToHost, stream_));
      HW_CUDA(cudaMemcpyAsync(out.ids, dtop_ids, sizeof(int32_t) * out.total, cudaMemcpyDeviceToHost, stream_));
    }
    HW_CUDA(cudaStreamSynchronize(stream_));
    collect_profile(p.T);
    check_sampled_ids(ids, p.L);
  }

 private:
  template <class T>
  T* alloc(size_t n) {
    T* p = dev_alloc<T>(n, weight_bytes_);
    owned_.push_back(p);
    return p;
  }

  // Places canonical tensor `name` (shape checked against the spec) at dst, as bf16 or float32.
  void place(const TensorShape& t, bf16* dst_bf16, float* dst_f32) {
    const size_t n = element_count(t.shape);
    if (s_.random) {
      bf16* target = dst_bf16 ? dst_bf16 : staging_.get(n);
      cuda::random_bf16(stream_, tensor_seed(s_.random_seed, t.name), is_norm_tensor(t.name), is_bias_tensor(t.name), n, target);
      if (dst_f32) cuda::bf16_to_f32(stream_, target, n, dst_f32);
      HW_CUDA(cudaStreamSynchronize(stream_));
      return;
    }
    const TensorSource& src = find_tensor(s_, t);
    if (dst_bf16) {
      const std::vector<uint16_t> v = read_as_bf16(src);
      HW_CUDA(cudaMemcpy(dst_bf16, v.data(), n * 2, cudaMemcpyHostToDevice));
    } else {
      const std::vector<float> v = read_as_float(src);
      HW_CUDA(cudaMemcpy(dst_f32, v.data(), n * 4, cudaMemcpyHostToDevice));
    }
  }

  void load_weights() {
    const int64_t H = s_.hidden, I = s_.intermediate, Q = int64_t(s_.heads) * s_.head_dim,
                  KV = int64_t(s_.kv_heads) * s_.head_dim;
    // Names and shapes come from the one list (weights.cc); this only says where each tensor goes.
    std::map<std::string, TensorShape> list;
    for (auto& t : expected_tensors(s_)) list.emplace(t.name, t);
    auto shape = [&](const std::string& n) {
      auto it = list.find(n);
      if (it == list.end()) throw Error("CUDA model: tensor " + n + " is not in the model's tensor list");
      return it->second;
    };
    embed_ = alloc<bf16>(size_t(s_.vocab) * H);
    place(shape("embed"), embed_, nullptr);
    lm_head_ = embed_;
    if (!s_.tied_embeddings) {
      lm_head_ = alloc<bf16>(size_t(s_.vocab) * H);
      place(shape("lm_head"), lm_head_, nullptr);
    }
    final_norm_ = alloc<float>(H);
    place(shape("norm"), nullptr, final_norm_);
    for (int i = 0; i < s_.layers; i++) {
      const std::string L = "L" + std::to_string(i) + ".";
      DevLayer d;
      d.attn_norm = alloc<float>(H);
      place(shape(L + "attn_norm"), nullptr, d.attn_norm);
      d.mlp_norm = alloc<float>(H);
      place(shape(L + "mlp_norm"), nullptr, d.mlp_norm);
      // q, k and v stacked along the output dimension: one product for all three.
      d.qkv = linear(shape, {{L + "q", Q}, {L + "k", KV}, {L + "v", KV}}, H);
      d.o = linear(shape, {{L + "o", H}}, Q);
      if (s_.qkv_bias) {
        d.qkv_bias = alloc<float>(Q + 2 * KV);
        place(shape(L + "q_bias"), nullptr, d.qkv_bias);
        place(shape(L + "k_bias"), nullptr, d.qkv_bias + Q);
        place(shape(L + "v_bias"), nullptr, d.qkv_bias + Q + KV);
      }
      if (s_.qk_norm) {
        d.q_norm = alloc<float>(s_.head_dim);
        d.k_norm = alloc<float>(s_.head_dim);
        place(shape(L + "q_norm"), nullptr, d.q_norm);
        place(shape(L + "k_norm"), nullptr, d.k_norm);
      }
      if (is_sparse_layer(s_, i)) {
        const int64_t E = s_.experts, X = s_.moe_intermediate;
        cuda::check_moe(int(E), s_.experts_per_tok, int(X), int(H));
        bf16* router = alloc<bf16>(size_t(E) * H);
        bf16* gate_up = alloc<bf16>(size_t(E) * 2 * X * H);  // per expert: gate rows, then up rows
        bf16* down = alloc<bf16>(size_t(E) * H * X);
        place(shape(L + "router"), router, nullptr);
        for (int64_t e = 0; e < E; e++) {
          const std::string P = L + "e" + std::to_string(e) + ".";
          place(shape(P + "gate"), gate_up + size_t(e) * 2 * X * H, nullptr);
          place(shape(P + "up"), gate_up + size_t(2 * e + 1) * X * H, nullptr);
          place(shape(P + "down"), down + size_t(e) * H * X, nullptr);
        }
        d.sparse = true;
        d.moe = cuda::MoeLayer{int(E), s_.experts_per_tok, int(X), s_.norm_topk, router, gate_up, down};
      } else {
        d.gate_up = linear(shape, {{L + "gate", I}, {L + "up", I}}, H);
        d.down = linear(shape, {{L + "down", H}}, I);
      }
      layers_.push_back(d);
    }
    // What the quantised products need beside their weights, sized for the largest (not counted as weights).
    size_t partial = 1, scratch = 1;
    for (const DevLayer& d : layers_)
      for (const Linear* l : {&d.qkv, &d.o, &d.gate_up, &d.down})
        for (const cuda::QuantLinear& w : l->parts) {
          partial = std::max(partial, cuda::quant_partial_floats(w, sms_));
          scratch = std::max(scratch, size_t(w.N) * w.K);
        }
    quant_partial_.get(partial);
    quant_scratch_.get(scratch);
    // perf's floors count the weights with stored_bytes: a slip there is said at every load (tools/device-check.sh
    // fails the check whose log holds it), not thrown, so that the card's other checks still run
    if (const std::string why = weight_bytes_mismatch(s_, true, weight_bytes_); !why.empty())
      std::fprintf(stderr, "warning: %s\n", why.c_str());
  }

  // A linear layer [sum of the parts' N, K] from its parts (canonical name, rows): bf16 parts stacked into one
  // matrix, quantised ones kept apart as the checkpoint packs them. `shape` finds a tensor in the model's list.
  template <class ShapeOf>
  Linear linear(const ShapeOf& shape, const std::vector<std::pair<std::string, int64_t>>& parts, int64_t K) {
    Linear w;
    w.K = int(K);
    for (const auto& [name, n] : parts) w.N += int(n);
    if (s_.quant != Quant::None) {
      for (const auto& [name, n] : parts) w.parts.push_back(place_quant(shape, name, n, K));
      return w;
    }
    bf16* m = alloc<bf16>(size_t(w.N) * K);
    w.w = m;
    for (const auto& [name, n] : parts) place(shape(name), m, nullptr), m += size_t(n) * K;
    return w;
  }

  // A quantised linear layer [N, K], uploaded as its checkpoint packs it (random: seeded bytes in its format);
  // `shape` finds a tensor in the model's list.
  template <class ShapeOf>
  cuda::QuantLinear place_quant(const ShapeOf& shape, const std::string& base, int64_t N, int64_t K) {
    auto upload = [&](const std::string& name) {
      const RawTensor r = quant_tensor(s_, shape(name));
      uint8_t* d = alloc<uint8_t>(r.bytes.size());
      HW_CUDA(cudaMemcpy(d, r.bytes.data(), r.bytes.size(), cudaMemcpyHostToDevice));
      return d;
    };
    cuda::QuantLinear w;
    w.quant = s_.quant;
    w.N = int(N);
    w.K = int(K);
    if (s_.quant == Quant::Awq) {
      w.group = s_.awq_group;
      w.qweight = reinterpret_cast<const uint32_t*>(upload(base + ".qweight"));
      w.qzeros = reinterpret_cast<const uint32_t*>(upload(base + ".qzeros"));
      w.scales = reinterpret_cast<const __half*>(upload(base + ".scales"));  // F16, as AWQ stores them
    } else {
      w.br = s_.fp8_block_rows;
      w.bc = s_.fp8_block_cols;
      w.f8 = upload(base);
      const std::vector<float> sc = quant_tensor(s_, shape(base + ".scale_inv")).as_float();  // F32 or BF16
      float* d = alloc<float>(sc.size());
      HW_CUDA(cudaMemcpy(d, sc.data(), sc.size() * sizeof(float), cudaMemcpyHostToDevice));
      w.scale_inv = d;
    }
    cuda::check_quant_linear(w, base);
    return w;
  }

  // The plan as the kernels want it (attn_meta.cc), uploaded in one copy; returns the largest RoPE position.
  int64_t build_meta(const Plan& p, int page_size) {
    const AttnMeta& m = meta_.build(p, page_size, std::max(1, 2 * sms_ / s_.kv_heads), seg_per_item_);
    int32_t* d = dmeta_.get(m.buf.size());
    HW_CUDA(cudaMemcpyAsync(d, m.buf.data(), m.buf.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    d_tokens_ = d + m.tokens;
    d_tok_page_ = d + m.tok_page;
    d_tok_slot_ = d + m.tok_slot;
    d_tok_local_ = d + m.tok_local;
    d_logit_rows_ = d + m.logit_rows;
    ap_ = cuda::AttnPlan{m.T, m.S, m.items, m.chunk, d + m.seg_token, d + m.seg_rel, d + m.seg_n, d + m.seg_slot,
                         d + m.tok_seg_start, d + m.seg_chunks, d + m.item_block, d + m.item_chunk, d + m.item_seg_start,
                         d + m.item_seg_count, d + m.item_segs, d + m.block_page_start, d + m.block_pages};
    slots_ = m.slots;
    return m.max_pos;
  }

  void ensure_rope(int64_t max_pos) {
    const int half = s_.head_dim / 2;
    if (max_pos < rope_positions_) return;
    const int64_t cap = std::max<int64_t>(max_pos + 1, std::min(rope_positions_ * 2, kMaxPosition + 1));
    HW_CUDA(cudaStreamSynchronize(stream_));
    rope_positions_ = 0;  // until the new table is written (a failed allocation leaves none)
    float2* table = rope_.get(size_t(cap) * half);
    cuda::rope_table(stream_, inv_freq_, half, 0, cap, table);
    rope_positions_ = cap;
  }

  void run(Cache& base, const Plan& p) {
    // No kernel turns keys by their block's offset: the fast path's logits must not pass for the reference's.
    if (p.key_rotation) throw Error("key_rotation (the slow reference path) runs on the CPU only");
    auto* cache = dynamic_cast<CudaCache*>(&base);
    if (!cache) throw Error("forward: the cache was not made by a CUDA model");
    check_cache(s_, *cache);
    HW_CUDA(cudaStreamSynchronize(stream_));  // buffers may grow below
    ensure_rope(build_meta(p, cache->page_size()));
    const PassArgs a = pass_args(*cache, p);
    if (profile_) return launch_pass(fixed_, a, marker());  // events between launches: no graphs
    graphs_.run(stream_, a, [&] { launch_pass(fixed_, a, marker()); });
  }

  // The one place a pass's arguments are gathered: sizes, the cache, the metadata and every buffer, grown to
  // this pass's size.
  PassArgs pass_args(CudaCache& cache, const Plan& p) {
    const int T = p.T, H = s_.hidden, I = s_.intermediate, Q = s_.heads * s_.head_dim;
    const int W = Q + 2 * s_.kv_heads * s_.head_dim;
    PassArgs a{};
    a.T = T;
    a.L = p.L;
    a.page_size = cache.page_size();
    a.slots = slots_;
    a.k = cache.k(0);
    a.v = cache.v(0);
    a.layer_stride = cache.layer_stride();
    a.ap = ap_;
    a.rope = rope_.ptr();
    a.tokens = d_tokens_;
    a.tok_page = d_tok_page_;
    a.tok_slot = d_tok_slot_;
    a.tok_local = d_tok_local_;
    a.logit_rows = d_logit_rows_;
    a.x = x_.get(size_t(T) * H);
    a.tmp = tmp_.get(size_t(T) * H);
    a.h = h_.get(size_t(T) * std::max(H, std::max(I, Q)));
    a.qkv = qkv_.get(size_t(T) * std::max(W, 2 * I));
    a.q = q_.get(size_t(T) * Q);
    a.partial = partial_.get(std::max<size_t>(1, cuda::attention_partial_floats(geom_, slots_)));
    a.hl = hl_.get(size_t(std::max(1, p.L)) * H);
    a.logits = logits_.get(size_t(std::max(1, p.L)) * s_.vocab);
    if (!s_.sparse_layers.empty()) {
      const int E = s_.experts, K = s_.experts_per_tok, X = s_.moe_intermediate;
      const size_t P = size_t(T) * K;
      a.moe = cuda::MoeBuffers{route_.get(size_t(T) * E), sel_.get(P), wt_.get(P), groups_.get(cuda::moe_group_ints(T, E, K)),
                               moe_gu_.get(P * 2 * X), moe_act_.get(P * X), moe_y_.get(P * H)};
    }
    return a;
  }

  std::function<void(const char*)> marker() {
    return [this](const char* stage) { mark(stage); };
  }

  // The profile option: device time per stage (events between launches; no graphs), summed over passes and
  // printed when the model goes away.
  void mark(const char* stage) {
    if (!profile_) return;
    if (marks_ == events_.size()) {
      cudaEvent_t e;
      HW_CUDA(cudaEventCreate(&e));
      events_.push_back(e);
      stages_.emplace_back();
    }
    HW_CUDA(cudaEventRecord(events_[marks_], stream_));
    stages_[marks_++] = stage ? stage : "";
  }

  // Per-stage times are kept per number of new tokens in the pass (decode and prefill apart).
  void collect_profile(int tokens) {
    if (!profile_ || marks_ == 0) return;
    HW_CUDA(cudaEventSynchronize(events_[marks_ - 1]));
    Profile& pr = profiles_[tokens];
    for (size_t i = 0; i + 1 < marks_; i++) {
      float ms;
      HW_CUDA(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]));
      auto it = std::find_if(pr.ms.begin(), pr.ms.end(), [&](auto& kv) { return kv.first == stages_[i]; });
      if (it == pr.ms.end()) pr.ms.push_back({stages_[i], ms}); else it->second += ms;
    }
    marks_ = 0;
    pr.passes++;
  }

  ModelSpec s_;
  DeviceOptions options_;
  cuda::Stream stream_;
  int sms_ = 0, seg_per_item_ = 1, slots_ = 0;
  cuda::Gemm gemm_;
  cuda::AttnGeometry geom_;
  size_t weight_bytes_ = 0;
  std::vector<void*> owned_;
  bf16 *embed_ = nullptr, *lm_head_ = nullptr;
  float* final_norm_ = nullptr;
  std::vector<DevLayer> layers_;
  double* inv_freq_ = nullptr;
  int64_t rope_positions_ = 0;
  DevBuf<float2> rope_;
  DevBuf<bf16> staging_, h_, hl_, quant_scratch_, moe_act_;
  DevBuf<float> x_, tmp_, qkv_, q_, partial_, logits_, quant_partial_, route_, wt_, moe_gu_, moe_y_, logprobs_;
  DevBuf<int32_t> dmeta_, suppress_, ids_, sel_, groups_, top_ids_;
  DevBuf<SampleSpec> specs_;
  AttnMetaBuilder meta_;  // host-side plan translation, reused across passes
  int32_t *d_tokens_ = nullptr, *d_tok_page_ = nullptr, *d_tok_slot_ = nullptr, *d_tok_local_ = nullptr,
          *d_logit_rows_ = nullptr;
  cuda::AttnPlan ap_{};
  GraphCache graphs_;
  Fixed fixed_{};
  bool profile_ = false;
  size_t marks_ = 0;
  struct Profile {
    int passes = 0;
    std::vector<std::pair<std::string, double>> ms;
  };
  std::map<int, Profile> profiles_;
  std::vector<cudaEvent_t> events_;
  std::vector<std::string> stages_;
};

}  // namespace

std::unique_ptr<Model> make_cuda_model(const ModelSpec& spec, const DeviceOptions& options) {
  return std::make_unique<CudaModel>(spec, options);
}

}  // namespace hogwild
