// Decoding of the two binary messages the host sends (model spec, plan).
#include <cstring>
#include <iterator>
#include <string>

#include "formats.h"
#include "hogwild.h"

namespace hogwild {
namespace {

using formats::Field;
using formats::kSpecFields;
using formats::kTensorFields;

template <class T> constexpr const char* type_name();
template <> constexpr const char* type_name<int32_t>() { return "i32"; }
template <> constexpr const char* type_name<uint32_t>() { return "u32"; }
template <> constexpr const char* type_name<uint64_t>() { return "u64"; }
template <> constexpr const char* type_name<double>() { return "f64"; }

// Reads the spec message field by field, in step with its table (formats.h): a decoder that asks for a field
// the table does not have next is a bug, reported as one.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T> T field(const Field* table, size_t size, size_t& next, const char* name) {
    in_step(table, size, next, name, type_name<T>());
    return get<T>();
  }
  template <class T> T spec(const char* name) { return field<T>(kSpecFields, std::size(kSpecFields), spec_at_, name); }
  template <class T> T tensor(const char* name) {
    return field<T>(kTensorFields, std::size(kTensorFields), tensor_at_, name);
  }
  std::string str(const char* name) {
    in_step(kTensorFields, std::size(kTensorFields), tensor_at_, name, "str");
    uint32_t len = get<uint32_t>();
    need(len);
    std::string s(reinterpret_cast<const char*>(p_ + at_), len);
    at_ += len;
    return s;
  }
  std::vector<int64_t> dims(const char* name) {
    in_step(kTensorFields, std::size(kTensorFields), tensor_at_, name, "u64[]");
    tensor_at_ = 0;  // the next tensor record
    return list();
  }
  std::vector<int64_t> spec_list(const char* name) {
    in_step(kSpecFields, std::size(kSpecFields), spec_at_, name, "u64[]");
    return list();
  }
  std::vector<double> spec_reals(const char* name) {
    in_step(kSpecFields, std::size(kSpecFields), spec_at_, name, "f64[]");
    uint32_t n = get<uint32_t>();
    need(size_t(n) * 8);
    std::vector<double> d;
    for (uint32_t i = 0; i < n; i++) d.push_back(get<double>());
    return d;
  }
  bool done() const { return at_ == n_ && spec_at_ == std::size(kSpecFields); }

 private:
  // The table's next field must be the one the decoder asks for, of the type it reads.
  static void in_step(const Field* table, size_t size, size_t& next, const char* name, const char* type) {
    if (next >= size || std::strcmp(table[next].name, name) || std::strcmp(table[next].type, type))
      throw Error(std::string("model spec: the decoder is out of step with its field table at ") + name);
    next++;
  }
  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::vector<int64_t> list() {
    uint32_t n = get<uint32_t>();
    need(size_t(n) * 8);
    std::vector<int64_t> d;
    for (uint32_t i = 0; i < n; i++) d.push_back(int64_t(get<uint64_t>()));
    return d;
  }
  void need(size_t k) {
    if (at_ + k > n_) throw Error("model spec: truncated message (" + std::to_string(n_) + " bytes)");
  }
  const uint8_t* p_;
  size_t n_, at_ = 0, spec_at_ = 0, tensor_at_ = 0;
};

void positive(int v, const char* field) {
  if (v <= 0) throw Error(std::string("model spec: ") + field + " must be positive, got " + std::to_string(v));
}

// A count the core builds a list of (a tensor per layer, per expert) before it reads a byte: bounded, so that a
// spec's 2^31 - 1 is an error naming it, not memory exhausted building the list.
void bounded(int v, const char* field, int max) {
  if (v < 1 || v > max)
    throw Error(std::string("model spec: ") + field + " must be in [1, " + std::to_string(max) + "], got " +
                std::to_string(v));
}

}  // namespace

ModelSpec decode_spec(const uint8_t* data, size_t size) {
  Reader r(data, size);
  if (r.spec<uint32_t>("magic") != formats::kSpecMagic) throw Error("model spec: bad magic (not a Hogwild! model spec)");
  uint32_t version = r.spec<uint32_t>("version");
  if (version != formats::kAbiVersion)
    throw Error("model spec: version " + std::to_string(version) + ", this build reads version " +
                std::to_string(formats::kAbiVersion) + " (rebuild the native library: deno task build)");
  ModelSpec s;
  s.hidden = r.spec<int32_t>("hidden");
  s.intermediate = r.spec<int32_t>("intermediate");
  s.layers = r.spec<int32_t>("layers");
  s.heads = r.spec<int32_t>("heads");
  s.kv_heads = r.spec<int32_t>("kv_heads");
  s.head_dim = r.spec<int32_t>("head_dim");
  s.rotary_dim = r.spec<int32_t>("rotary_dim");
  s.vocab = r.spec<int32_t>("vocab");
  s.rms_eps = r.spec<double>("rms_eps");
  s.rope_inv_freq = r.spec_reals("rope_inv_freq");
  uint32_t flags = r.spec<uint32_t>("flags");
  s.qkv_bias = flags & formats::kQkvBias;
  s.qk_norm = flags & formats::kQkNorm;
  s.tied_embeddings = flags & formats::kTiedEmbeddings;
  s.random = flags & formats::kRandom;
  s.random_seed = r.spec<uint64_t>("random_seed");
  s.quant = static_cast<Quant>(r.spec<uint32_t>("quant"));
  s.awq_group = r.spec<int32_t>("awq_group");
  s.fp8_block_rows = r.spec<int32_t>("fp8_block_rows");
  s.fp8_block_cols = r.spec<int32_t>("fp8_block_cols");
  s.experts = r.spec<int32_t>("experts");
  s.experts_per_tok = r.spec<int32_t>("experts_per_tok");
  s.moe_intermediate = r.spec<int32_t>("moe_intermediate");
  s.norm_topk = flags & formats::kNormTopk;
  for (int64_t l : r.spec_list("sparse_layers")) s.sparse_layers.push_back(int(l));
  uint32_t n = r.spec<uint32_t>("tensors");
  for (uint32_t i = 0; i < n; i++) {
    TensorSource t;
    t.name = r.str("name");
    t.path = r.str("file");
    t.offset = r.tensor<uint64_t>("offset");
    t.nbytes = r.tensor<uint64_t>("nbytes");
    t.stride = r.tensor<uint64_t>("stride");
    t.dtype = static_cast<DType>(r.tensor<uint32_t>("dtype"));
    if (static_cast<uint32_t>(t.dtype) >= std::size(formats::kDTypeCodes)) throw Error("model spec: tensor " + t.name + ": unknown dtype code");
    t.shape = r.dims("shape");
    if (t.stride && (t.shape.empty() || t.shape[0] <= 0 || t.nbytes % uint64_t(t.shape[0]) ||
                     t.stride < t.nbytes / uint64_t(t.shape[0])))
      throw Error("model spec: tensor " + t.name + ": stride " + std::to_string(t.stride) +
                  " does not hold its rows (shape[0] rows of nbytes / shape[0] bytes, each at most stride)");
    s.tensors.push_back(std::move(t));
  }
  if (!r.done()) throw Error("model spec: trailing bytes after the tensor table");
  positive(s.hidden, "hidden");
  positive(s.intermediate, "intermediate");
  bounded(s.layers, "layers", kMaxLayers);
  positive(s.heads, "heads");
  positive(s.kv_heads, "kv_heads");
  positive(s.head_dim, "head_dim");
  positive(s.vocab, "vocab");
  if (s.heads % s.kv_heads) throw Error("model spec: heads must be a multiple of kv_heads");
  if (s.head_dim % 2) throw Error("model spec: head_dim must be even for RoPE");
  if (s.rotary_dim <= 0 || s.rotary_dim > s.head_dim || s.rotary_dim % 2)
    throw Error("model spec: rotary_dim must be even and in [2, head_dim]");
  if (s.rope_inv_freq.size() != size_t(s.head_dim / 2))
    throw Error("model spec: rope_inv_freq must hold head_dim/2 values, got " + std::to_string(s.rope_inv_freq.size()));
  for (double f : s.rope_inv_freq)
    if (!(f >= 0 && f < 1e300)) throw Error("model spec: rope_inv_freq must be finite and non-negative");
  if (static_cast<uint32_t>(s.quant) >= std::size(formats::kQuantCodes)) throw Error("model spec: unknown quantisation code");
  if (s.quant == Quant::Awq) positive(s.awq_group, "awq_group");
  if (s.quant == Quant::Fp8) positive(s.fp8_block_rows, "fp8_block_rows"), positive(s.fp8_block_cols, "fp8_block_cols");
  if (!s.sparse_layers.empty() || s.experts) {
    bounded(s.experts, "experts", kMaxExperts);
    positive(s.experts_per_tok, "experts_per_tok");
    positive(s.moe_intermediate, "moe_intermediate");
    if (s.experts_per_tok > s.experts) throw Error("model spec: experts_per_tok exceeds experts");
  }
  for (size_t i = 0; i < s.sparse_layers.size(); i++)
    if (s.sparse_layers[i] < 0 || s.sparse_layers[i] >= s.layers || (i && s.sparse_layers[i] <= s.sparse_layers[i - 1]))
      throw Error("model spec: sparse_layers must be ascending layer numbers below layers");
  return s;
}

namespace {
[[noreturn]] void bad(const std::string& what) { throw Error("plan: " + what); }
}  // namespace

Plan decode_plan(const int32_t* d, size_t count, int vocab, int pages, int page_size) {
  using formats::kPlanHeaderWords;
  if (count < size_t(kPlanHeaderWords) || d[0] != formats::kPlanMagic) bad("bad header (not a Hogwild! plan)");
  if (uint32_t(d[1]) != formats::kAbiVersion)
    bad("version " + std::to_string(d[1]) + ", this build reads version " + std::to_string(formats::kAbiVersion));
  Plan p;
  p.T = d[2];
  p.R = d[3];
  p.B = d[4];
  p.E = d[5];
  p.L = d[6];
  if (d[7] != 0 && d[7] != 1) bad("flags is " + std::to_string(d[7]) + ", expected 0 or 1 (key_rotation)");
  p.key_rotation = d[7] == 1;
  p.P = d[8];
  if (p.T <= 0 || p.R <= 0 || p.B <= 0 || p.E <= 0 || p.L < 0 || p.P < 0) bad("empty or negative counts");
  auto length = [&](const formats::PlanSection& s) {
    const int n = s.count == 'T' ? p.T : s.count == 'R' ? p.R : s.count == 'B' ? p.B : s.count == 'E' ? p.E
                : s.count == 'L' ? p.L : p.P;
    return size_t(n) + s.plus;
  };
  size_t want = kPlanHeaderWords;
  for (const auto& s : formats::kPlanSections) want += length(s);
  if (count != want) bad("size " + std::to_string(count) + " does not match its counts (" + std::to_string(want) + ")");
  const int32_t* c = d + kPlanHeaderWords;
  for (const auto& s : formats::kPlanSections) {
    p.*s.member = c;
    c += length(s);
  }

  for (int t = 0; t < p.T; t++)
    if (p.tokens[t] < 0 || p.tokens[t] >= vocab)
      bad("token id " + std::to_string(p.tokens[t]) + " is out of range [0, " + std::to_string(vocab) + ")");
  // Every sum and difference of plan words in int64: a 32-bit one wraps, and a wrapped bound passes its check.
  if (p.block_page_start[0] != 0 || p.block_page_start[p.B] != p.P)
    bad("block_page_start does not span the pages (block_page_start[0] must be 0 and block_page_start[B] P)");
  for (int b = 0; b < p.B; b++) {
    const int64_t s0 = p.block_page_start[b], s1 = p.block_page_start[b + 1];
    if (s1 < s0 || s1 < 0 || s1 > p.P)
      bad("block_page_start[" + std::to_string(b + 1) + "] is " + std::to_string(s1) +
          ", expected ascending values in [0, P] (P = " + std::to_string(p.P) + ")");
    const int64_t n = s1 - s0;
    if (p.block_len[b] < 0 || int64_t(p.block_len[b]) > n * page_size)
      bad("block_len[" + std::to_string(b) + "]: block " + std::to_string(b) + " holds " + std::to_string(p.block_len[b]) +
          " tokens in " + std::to_string(n) + " pages of " + std::to_string(page_size));
  }
  for (int i = 0; i < p.P; i++)
    if (p.block_pages[i] < 0 || p.block_pages[i] >= pages)
      bad("block_pages: page " + std::to_string(p.block_pages[i]) + " is outside the pool of " + std::to_string(pages));
  if (p.row_token_start[0] != 0 || p.row_token_start[p.R] != p.T) bad("row_token_start does not span the tokens");
  if (p.row_view_start[0] != 0 || p.row_view_start[p.R] != p.E) bad("row_view_start does not span the view entries");
  for (int e = 0; e < p.E; e++) {
    if (p.view_block[e] < 0 || p.view_block[e] >= p.B) bad("view entry " + std::to_string(e) + ": view_block out of range");
    if (p.view_offset[e] < 0) bad("view entry " + std::to_string(e) + ": negative view_offset");
    if (int64_t(p.view_offset[e]) + p.block_len[p.view_block[e]] > kMaxPosition)
      bad("view entry " + std::to_string(e) + ": positions past " + std::to_string(kMaxPosition) +
          " (the RoPE tables' bound)");
    if (p.view_full[e] != 0 && p.view_full[e] != 1) bad("view entry " + std::to_string(e) + ": view_full is not 0 or 1");
  }
  for (int r = 0; r < p.R; r++) {
    const int64_t n = int64_t(p.row_token_start[r + 1]) - p.row_token_start[r];
    const int b = p.row_block[r];
    if (n <= 0) bad("row " + std::to_string(r) + " has no new tokens (row_token_start must ascend)");
    if (b < 0 || b >= p.B) bad("row " + std::to_string(r) + ": row_block out of range");
    if (p.row_write_start[r] < 0 || int64_t(p.row_write_start[r]) + n > p.block_len[b])
      bad("row " + std::to_string(r) + ": row_write_start " + std::to_string(p.row_write_start[r]) + " with " +
          std::to_string(n) + " new tokens writes past the end of its block (block_len " + std::to_string(p.block_len[b]) + ")");
    if (p.row_query_start[r] < 0) bad("row " + std::to_string(r) + ": negative row_query_start");
    const int e0 = p.row_view_start[r], e1 = p.row_view_start[r + 1];
    if (e1 <= e0) bad("row " + std::to_string(r) + " has an empty view (row_view_start must ascend)");
    // Blocks may sit with gaps between them, never inside the block before: a position holds one key.
    for (int e = e0 + 1; e < e1; e++)
      if (int64_t(p.view_offset[e]) < int64_t(p.view_offset[e - 1]) + p.block_len[p.view_block[e - 1]])
        bad("row " + std::to_string(r) + ": view entry " + std::to_string(e - e0) + " (block " +
            std::to_string(p.view_block[e]) + ") at offset " + std::to_string(p.view_offset[e]) +
            " overlaps block " + std::to_string(p.view_block[e - 1]) + ", which ends at " +
            std::to_string(int64_t(p.view_offset[e - 1]) + p.block_len[p.view_block[e - 1]]));
    // The row's own block must sit in its view where its queries are: that offset is the causal bound.
    // Never read in full (a query must not read its row's later tokens), wherever the view holds it.
    bool own = false;
    for (int e = e0; e < e1; e++) {
      if (p.view_block[e] != b) continue;
      if (p.view_full[e]) bad("row " + std::to_string(r) + ": view entry " + std::to_string(e - e0) + " reads its own block in full");
      own |= int64_t(p.view_offset[e]) + p.row_write_start[r] == p.row_query_start[r];
    }
    if (!own)
      bad("row " + std::to_string(r) + ": its own block is not in its view at its query position (row_query_start)");
  }
  for (int i = 0; i < p.L; i++)
    if (p.logit_tokens[i] < 0 || p.logit_tokens[i] >= p.T) bad("logit_tokens[" + std::to_string(i) + "] is out of range [0, T)");
  return p;
}

}  // namespace hogwild
