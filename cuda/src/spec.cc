// Decoding of the two binary messages the host sends (model spec, plan), and RoPE frequencies.
#include <cmath>
#include <cstring>
#include <string>

#include "hogwild.h"

namespace hogwild {
namespace {

constexpr uint32_t kSpecMagic = 0x534d5748;  // "HWMS"
constexpr uint32_t kSpecVersion = 1;
constexpr int32_t kPlanMagic = 0x4c505748;   // "HWPL"
constexpr int kPlanHeader = 8;

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string str() {
    uint32_t len = get<uint32_t>();
    need(len);
    std::string s(reinterpret_cast<const char*>(p_ + at_), len);
    at_ += len;
    return s;
  }
  bool done() const { return at_ == n_; }

 private:
  void need(size_t k) {
    if (at_ + k > n_) throw Error("model spec: truncated message (" + std::to_string(n_) + " bytes)");
  }
  const uint8_t* p_;
  size_t n_, at_ = 0;
};

void positive(int v, const char* field) {
  if (v <= 0) throw Error(std::string("model spec: ") + field + " must be positive, got " + std::to_string(v));
}

}  // namespace

ModelSpec decode_spec(const uint8_t* data, size_t size) {
  Reader r(data, size);
  if (r.get<uint32_t>() != kSpecMagic) throw Error("model spec: bad magic (not a Hogwild! model spec)");
  uint32_t version = r.get<uint32_t>();
  if (version != kSpecVersion)
    throw Error("model spec: version " + std::to_string(version) + ", this build reads version " +
                std::to_string(kSpecVersion));
  ModelSpec s;
  s.hidden = r.get<int32_t>();
  s.intermediate = r.get<int32_t>();
  s.layers = r.get<int32_t>();
  s.heads = r.get<int32_t>();
  s.kv_heads = r.get<int32_t>();
  s.head_dim = r.get<int32_t>();
  s.vocab = r.get<int32_t>();
  s.rms_eps = r.get<double>();
  s.rope_theta = r.get<double>();
  s.rope_type = static_cast<RopeType>(r.get<uint32_t>());
  s.rope_factor = r.get<double>();
  s.rope_low_freq = r.get<double>();
  s.rope_high_freq = r.get<double>();
  s.rope_original_max = r.get<double>();
  uint32_t flags = r.get<uint32_t>();
  s.qkv_bias = flags & 1;
  s.qk_norm = flags & 2;
  s.tied_embeddings = flags & 4;
  s.random = flags & 8;
  s.random_seed = r.get<uint64_t>();
  uint32_t n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n; i++) {
    TensorSource t;
    t.name = r.str();
    t.path = r.str();
    t.offset = r.get<uint64_t>();
    t.nbytes = r.get<uint64_t>();
    t.dtype = static_cast<DType>(r.get<uint32_t>());
    if (static_cast<uint32_t>(t.dtype) > 2) throw Error("model spec: tensor " + t.name + ": unknown dtype code");
    uint32_t nd = r.get<uint32_t>();
    for (uint32_t d = 0; d < nd; d++) t.shape.push_back(r.get<int64_t>());
    s.tensors.push_back(std::move(t));
  }
  if (!r.done()) throw Error("model spec: trailing bytes after the tensor table");
  positive(s.hidden, "hidden");
  positive(s.intermediate, "intermediate");
  positive(s.layers, "layers");
  positive(s.heads, "heads");
  positive(s.kv_heads, "kv_heads");
  positive(s.head_dim, "head_dim");
  positive(s.vocab, "vocab");
  if (s.heads % s.kv_heads) throw Error("model spec: heads must be a multiple of kv_heads");
  if (s.head_dim % 2) throw Error("model spec: head_dim must be even for RoPE");
  if (static_cast<uint32_t>(s.rope_type) > 2) throw Error("model spec: unknown rope type code");
  return s;
}

std::vector<double> rope_inv_freq(const ModelSpec& s) {
  const int half = s.head_dim / 2;
  std::vector<double> f(half);
  for (int i = 0; i < half; i++) f[i] = 1.0 / std::pow(s.rope_theta, (2.0 * i) / s.head_dim);
  if (s.rope_type == RopeType::Linear) {
    for (auto& x : f) x /= s.rope_factor;
  } else if (s.rope_type == RopeType::Llama3) {
    // Llama 3.1 scaling: long wavelengths slowed by `factor`, short ones kept, a smooth blend between.
    const double low_wavelen = s.rope_original_max / s.rope_low_freq;
    const double high_wavelen = s.rope_original_max / s.rope_high_freq;
    for (auto& x : f) {
      const double wavelen = 2 * M_PI / x;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        x /= s.rope_factor;
      } else {
        const double smooth =
            (s.rope_original_max / wavelen - s.rope_low_freq) / (s.rope_high_freq - s.rope_low_freq);
        x = (1 - smooth) * x / s.rope_factor + smooth * x;
      }
    }
  }
  return f;
}

namespace {
[[noreturn]] void bad(const std::string& what) { throw Error("plan: " + what); }
}  // namespace

Plan decode_plan(const int32_t* d, size_t count, int vocab, int pages, int page_size) {
  if (count < kPlanHeader || d[0] != kPlanMagic) bad("bad header (not a Hogwild! plan)");
  Plan p;
  p.T = d[1];
  p.R = d[2];
  p.B = d[3];
  p.E = d[4];
  p.L = d[5];
  p.key_rotation = d[6] & 1;
  p.P = d[7];
  if (p.T <= 0 || p.R <= 0 || p.B <= 0 || p.E <= 0 || p.L < 0 || p.P < 0) bad("empty or negative counts");
  const size_t want = kPlanHeader + size_t(p.T) * 1 + (p.R + 1) + 3 * size_t(p.R) + (p.R + 1) + 2 * size_t(p.E) +
                      p.B + (p.B + 1) + p.P + p.L;
  if (count != want) bad("size " + std::to_string(count) + " does not match its counts (" + std::to_string(want) + ")");
  const int32_t* c = d + kPlanHeader;
  auto take = [&](size_t k) { const int32_t* r = c; c += k; return r; };
  p.tokens = take(p.T);
  p.row_token_start = take(p.R + 1);
  p.row_block = take(p.R);
  p.row_write_start = take(p.R);
  p.row_query_start = take(p.R);
  p.row_view_start = take(p.R + 1);
  p.view_block = take(p.E);
  p.view_offset = take(p.E);
  p.block_len = take(p.B);
  p.block_page_start = take(p.B + 1);
  p.block_pages = take(p.P);
  p.logit_tokens = take(p.L);

  for (int t = 0; t < p.T; t++)
    if (p.tokens[t] < 0 || p.tokens[t] >= vocab)
      bad("token id " + std::to_string(p.tokens[t]) + " is out of range [0, " + std::to_string(vocab) + ")");
  if (p.block_page_start[0] != 0 || p.block_page_start[p.B] != p.P) bad("block_page_start does not span the pages");
  for (int b = 0; b < p.B; b++) {
    const int n = p.block_page_start[b + 1] - p.block_page_start[b];
    if (n < 0) bad("block_page_start is not ascending");
    if (p.block_len[b] < 0 || int64_t(p.block_len[b]) > int64_t(n) * page_size)
      bad("block " + std::to_string(b) + " holds " + std::to_string(p.block_len[b]) + " tokens in " +
          std::to_string(n) + " pages of " + std::to_string(page_size));
  }
  for (int i = 0; i < p.P; i++)
    if (p.block_pages[i] < 0 || p.block_pages[i] >= pages)
      bad("page " + std::to_string(p.block_pages[i]) + " is outside the pool of " + std::to_string(pages));
  if (p.row_token_start[0] != 0 || p.row_token_start[p.R] != p.T) bad("row_token_start does not span the tokens");
  if (p.row_view_start[0] != 0 || p.row_view_start[p.R] != p.E) bad("row_view_start does not span the view entries");
  for (int e = 0; e < p.E; e++) {
    if (p.view_block[e] < 0 || p.view_block[e] >= p.B) bad("view entry " + std::to_string(e) + ": block out of range");
    if (p.view_offset[e] < 0) bad("view entry " + std::to_string(e) + ": negative offset");
  }
  for (int r = 0; r < p.R; r++) {
    const int n = p.row_token_start[r + 1] - p.row_token_start[r];
    const int b = p.row_block[r];
    if (n <= 0) bad("row " + std::to_string(r) + " has no new tokens");
    if (b < 0 || b >= p.B) bad("row " + std::to_string(r) + ": block out of range");
    if (p.row_write_start[r] < 0 || p.row_write_start[r] + n > p.block_len[b])
      bad("row " + std::to_string(r) + " writes past the end of its block");
    const int e0 = p.row_view_start[r], e1 = p.row_view_start[r + 1];
    if (e1 <= e0) bad("row " + std::to_string(r) + " has an empty view");
    // The row's own block must sit in its view where its queries are: that offset is the causal bound.
    bool own = false;
    for (int e = e0; e < e1; e++)
      own |= p.view_block[e] == b && p.view_offset[e] + p.row_write_start[r] == p.row_query_start[r];
    if (!own) bad("row " + std::to_string(r) + ": its own block is not in its view at its query position");
  }
  for (int i = 0; i < p.L; i++)
    if (p.logit_tokens[i] < 0 || p.logit_tokens[i] >= p.T) bad("logit token index out of range");
  return p;
}

}  // namespace hogwild
