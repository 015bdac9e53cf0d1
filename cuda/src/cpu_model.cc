// The CPU implementation: the reference path (CI, tests) and a usable engine for small models.
// Weights stay in their checkpoint dtype (bf16 stays bf16); everything is computed in float32.
//
// Determinism: every output element is computed by the same instruction sequence whatever the number of
// rows in the pass (matmuls always run four rows at a time, padding with a zero row), so a row's results do
// not depend on what else shares its forward pass.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <new>

#include "parallel.h"
#include "weights.h"

namespace hogwild {
namespace {

// Storage on 64-byte boundaries: a 16-float load that straddles two cache lines costs two (the default
// allocator's 16-byte alignment made passes run 20% slower or not depending on which thread allocated).
template <class T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <class U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const Aligned64&) const { return true; }
  bool operator!=(const Aligned64&) const { return false; }
};
template <class T>
using avector = std::vector<T, Aligned64<T>>;

inline float load_scalar(float v) { return v; }
inline float load_scalar(uint16_t v) { return bf16_to_float(v); }

// A weight matrix [rows, cols]: bf16 (checkpoint dtype), float32 (f32 / f16 checkpoints), or quantised and
// dequantised a row at a time as the matmul reads it (AWQ, FP8): the model stays packed in memory.
struct Matrix {
  int rows = 0, cols = 0;
  avector<uint16_t> bf;
  avector<float> f32;
  // AWQ, repacked by output row: 4-bit values two a byte [rows][cols / 2] (low nibble first), and per row and
  // group of `group` inputs its zero point and scale.
  avector<uint8_t> q4;
  std::vector<uint8_t> zeros;
  std::vector<float> scales;
  int group = 0;
  // FP8: e4m3 bytes [rows][cols], and one scale per block of br x bc ([ceil(rows/br)][ceil(cols/bc)]).
  avector<uint8_t> f8;
  int br = 0, bc = 0;

  bool quantized() const { return !q4.empty() || !f8.empty(); }
  size_t bytes() const {
    return bf.size() * 2 + f32.size() * 4 + q4.size() + zeros.size() + scales.size() * 4 + f8.size();
  }
  void row(int i, float* out) const {
    if (!bf.empty()) {
      const uint16_t* w = bf.data() + size_t(i) * cols;
      for (int k = 0; k < cols; k++) out[k] = bf16_to_float(w[k]);
    } else if (!q4.empty()) {
      const uint8_t* q = q4.data() + size_t(i) * (cols / 2);
      const int groups = cols / group;
      for (int g = 0; g < groups; g++) {
        const float z = zeros[size_t(i) * groups + g], sc = scales[size_t(i) * groups + g];
        for (int k = g * group; k < (g + 1) * group; k++) out[k] = (float((q[k / 2] >> (4 * (k & 1))) & 15) - z) * sc;
      }
    } else if (!f8.empty()) {
      const uint8_t* q = f8.data() + size_t(i) * cols;
      const float* sc = scales.data() + size_t(i / br) * ((cols + bc - 1) / bc);
      for (int k = 0; k < cols; k++) out[k] = e4m3_table()[q[k]] * sc[k / bc];
    } else {
      std::memcpy(out, f32.data() + size_t(i) * cols, sizeof(float) * cols);
    }
  }
  static const float* e4m3_table() {
    static const std::vector<float> t = [] {
      std::vector<float> v(256);
      for (int b = 0; b < 256; b++) v[b] = e4m3_to_float(uint8_t(b));
      return v;
    }();
    return t.data();
  }
};

struct Expert {
  Matrix gate, up, down;
};

struct Layer {
  std::vector<float> attn_norm, mlp_norm, q_bias, k_bias, v_bias, q_norm, k_norm;
  Matrix q, k, v, o, gate, up, down;
  // a mixture of experts (sparse layers only)
  Matrix router;
  std::vector<Expert> experts;
};

// Laid out by KV head, then page, then slot: one head's keys of a page are contiguous (16 tokens of head_dim
// 64 are one 4 KiB page of memory), so attention, which reads one head at a time, streams them; slot-major
// rows made each thread read every other half of the lines, at a third of the bandwidth.
class CpuCache : public Cache {
 public:
  CpuCache(const ModelSpec& s, int pages, int page_size)
      : Cache(s), pages_(pages), page_size_(page_size), hd_(s.head_dim), head_(size_t(pages) * page_size * s.head_dim),
        k_(s.layers), v_(s.layers) {
    if (pages <= 0 || page_size <= 0) throw Error("cache: pages and page_size must be positive");
    for (int l = 0; l < s.layers; l++) {
      k_[l].assign(head_ * s.kv_heads, 0.0f);
      v_[l].assign(head_ * s.kv_heads, 0.0f);
    }
  }
  int pages() const override { return pages_; }
  int page_size() const override { return page_size_; }
  size_t bytes() const override { return k_.size() * 2 * k_[0].size() * sizeof(float); }
  float* key(int layer, int head, int page, int slot) { return k_[layer].data() + at(head, page, slot); }
  float* value(int layer, int head, int page, int slot) { return v_[layer].data() + at(head, page, slot); }

 private:
  size_t at(int head, int page, int slot) const {
    return size_t(head) * head_ + (size_t(page) * page_size_ + slot) * hd_;
  }
  int pages_, page_size_, hd_;
  size_t head_;  // floats per KV head in a layer (all pages)
  std::vector<avector<float>> k_, v_;
};

// 16 floats; GCC's vector extensions map it to one AVX-512 register, or two AVX2 ones.
typedef float v16f __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));
typedef uint32_t v16u __attribute__((vector_size(64)));

inline v16f load16(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v16f load16(const uint16_t* p) {  // bf16 -> f32 is a 16-bit shift
  v16h h;
  std::memcpy(&h, p, sizeof h);
  v16u u = __builtin_convertvector(h, v16u) << 16;
  v16f f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
// The sum of 16 lanes as a tree (lane i + lane i+8, then +4, +2, +1): four dependent additions instead of
// fifteen, and the order reduce16 below keeps, so a score's bits do not depend on which of the two made it.
inline float hsum(v16f v) {
  float h[16];
  std::memcpy(h, &v, sizeof h);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) h[i] += h[i + w];
  return h[0];
}

// The tree sums of 16 vectors at once, lane j of the result = hsum(v[j]): each level adds the two halves of
// every vector's live lanes and packs two vectors' halves into one (8 + 4 + 2 + 1 additions of 16 lanes).
inline v16f reduce16(const v16f* v) {
  typedef int32_t v16i __attribute__((vector_size(64)));
  v16f a[8], b[4], c[2];
  // level 1: lanes 0-7 of a[i] are v[2i]'s 8 partial sums, lanes 8-15 v[2i+1]'s
  const v16i lo1 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}, hi1 = lo1 + 8;
  for (int i = 0; i < 8; i++) a[i] = __builtin_shuffle(v[2 * i], v[2 * i + 1], lo1) + __builtin_shuffle(v[2 * i], v[2 * i + 1], hi1);
  // level 2: 4-lane groups, one per vector, in vector order
  const v16i lo2 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27}, hi2 = lo2 + 4;
  for (int i = 0; i < 4; i++) b[i] = __builtin_shuffle(a[2 * i], a[2 * i + 1], lo2) + __builtin_shuffle(a[2 * i], a[2 * i + 1], hi2);
  // level 3: 2-lane groups
  const v16i lo3 = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29}, hi3 = lo3 + 2;
  for (int i = 0; i < 2; i++) c[i] = __builtin_shuffle(b[2 * i], b[2 * i + 1], lo3) + __builtin_shuffle(b[2 * i], b[2 * i + 1], hi3);
  // level 4: one lane per vector
  const v16i lo4 = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}, hi4 = lo4 + 1;
  return __builtin_shuffle(c[0], c[1], lo4) + __builtin_shuffle(c[0], c[1], hi4);
}

// R rows of x (R <= 4) against weight row n: each sum lane-wise in k order in two chains (even and odd
// 16-blocks, so that one row is not held to the latency of one chain of FMAs), then hsum, so the bits do not
// depend on R (a row computed in a group of four or alone is the same).
template <int R, class W>
inline void matmul_row(const float* const* xs, int K, const W* wr, float* acc) {
  const int K16 = K / 16 * 16, K32 = K / 32 * 32;
  v16f a[R] = {}, b[R] = {};
  for (int k = 0; k < K32; k += 32) {
    const v16f w0 = load16(wr + k), w1 = load16(wr + k + 16);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
      a[i] += load16(xs[i] + k) * w0;
      b[i] += load16(xs[i] + k + 16) * w1;
    }
  }
  if (K32 < K16) {
    const v16f wk = load16(wr + K32);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) a[i] += load16(xs[i] + K32) * wk;
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; i++) acc[i] = hsum(a[i] + b[i]);
  for (int k = K16; k < K; k++) {
    const float wk = load_scalar(wr[k]);
    for (int i = 0; i < R; i++) acc[i] += xs[i][k] * wk;
  }
}

// y[m][n] = sum_k x[m][k] * W[n][k] + bias[n], for m < M. Up to four rows of x share each weight load; a
// group of fewer rows (one worker's decode) does no work for the missing ones.
template <class W>
void matmul_impl(const float* x, int M, int K, const W* w, int N, const float* bias, float* y) {
  constexpr int kNB = 16;
  const int nblocks = (N + kNB - 1) / kNB;
#pragma omp parallel for schedule(static)
  for (int nb = 0; nb < nblocks; nb++) {
    const int n1 = std::min(N, (nb + 1) * kNB);
    for (int m0 = 0; m0 < M; m0 += 4) {
      const int rows = std::min(4, M - m0);
      const float* xs[4];
      for (int i = 0; i < rows; i++) xs[i] = x + size_t(m0 + i) * K;
      for (int n = nb * kNB; n < n1; n++) {
        const W* wr = w + size_t(n) * K;
        float acc[4];
        switch (rows) {
          case 1: matmul_row<1>(xs, K, wr, acc); break;
          case 2: matmul_row<2>(xs, K, wr, acc); break;
          case 3: matmul_row<3>(xs, K, wr, acc); break;
          default: matmul_row<4>(xs, K, wr, acc); break;
        }
        const float b = bias ? bias[n] : 0.0f;
        for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = acc[i] + b;
      }
    }
  }
}

// The same products for a matrix read through Matrix::row (quantised weights): each output row is dequantised
// once into a buffer, then every group of four rows of x is taken against it exactly as above.
void matmul_rows(const float* x, int M, const Matrix& w, const float* bias, float* y) {
  constexpr int kNB = 16;
  const int K = w.cols, N = w.rows, nblocks = (N + kNB - 1) / kNB;
#pragma omp parallel
  {
    avector<float> wr(K);
#pragma omp for schedule(static)
    for (int nb = 0; nb < nblocks; nb++) {
      const int n1 = std::min(N, (nb + 1) * kNB);
      for (int n = nb * kNB; n < n1; n++) {
        w.row(n, wr.data());
        for (int m0 = 0; m0 < M; m0 += 4) {
          const int rows = std::min(4, M - m0);
          const float* xs[4];
          for (int i = 0; i < rows; i++) xs[i] = x + size_t(m0 + i) * K;
          float acc[4];
          switch (rows) {
            case 1: matmul_row<1>(xs, K, wr.data(), acc); break;
            case 2: matmul_row<2>(xs, K, wr.data(), acc); break;
            case 3: matmul_row<3>(xs, K, wr.data(), acc); break;
            default: matmul_row<4>(xs, K, wr.data(), acc); break;
          }
          const float b = bias ? bias[n] : 0.0f;
          for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = acc[i] + b;
        }
      }
    }
  }
}

void rmsnorm(const float* x, const float* w, int n, double eps, float* out) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; i++) out[i] = w[i] * (x[i] * r);
}

// RoPE in the rotate_half pairing (i, i + half) that Qwen, Llama and Phi-3 checkpoints use, over the first
// 2·half dimensions of a head of hd (all of them, unless the model turns only part of each head: Phi-3's
// partial_rotary_factor); the dimensions past them pass unchanged.
// back: the inverse turn (sin is odd), for a query below the keys it reads (a block read in full).
void rotate(const float* x, const float* cos, const float* sin, int half, int hd, float* out, bool back = false) {
  const float sign = back ? -1.0f : 1.0f;
  for (int i = 0; i < half; i++) {
    const float a = x[i], b = x[i + half], s = sign * sin[i];
    out[i] = a * cos[i] - b * s;
    out[i + half] = b * cos[i] + a * s;
  }
  for (int i = 2 * half; i < hd; i++) out[i] = x[i];
}

// Lane-wise sums in a fixed order (not a compiler reduction): the same bits whatever the vector width.
inline v16f dot_lanes(const float* a, const float* b, int n16) {
  v16f acc = {};
  for (int i = 0; i < n16; i += 16) acc += load16(a + i) * load16(b + i);
  return acc;
}
float dot(const float* a, const float* b, int n) {
  const int n16 = n / 16 * 16;
  float s = hsum(dot_lanes(a, b, n16));
  for (int i = n16; i < n; i++) s += a[i] * b[i];
  return s;
}

// e^x for 16 lanes of x ≤ 0 (a softmax's; above 88.3 it overflows early, and +inf gives NaN): x = n·ln2 + r
// with |r| ≤ ln2/2 (ln2 in two parts, so r is exact to a float's precision), e^r by Cephes' polynomial, 2^n
// put in the exponent bits: within 1.01 ulp of e^x on every float in [-87.3, 0] (checked one by one). A lane
// below -87.3 (about where e^x leaves the normal floats) is 0: a softmax weight that small changes no sum.
inline v16f exp16(v16f x) {
  typedef int32_t v16i __attribute__((vector_size(64)));
  const v16i tiny = x < -87.3f;
  x = x < -87.3f ? v16f{} - 87.3f : x;
  const v16f shift = v16f{} + 12582912.0f;  // 1.5·2^23: adding it rounds to an integer in the low bits
  const v16f t = x * 1.44269504f + shift, n = t - shift;
  const v16f r = x - n * 0.693359375f + n * 2.12194440e-4f;
  v16f p = v16f{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const v16i e = (__builtin_convertvector(n, v16i) + 127) << 23;
  v16f two_n;
  std::memcpy(&two_n, &e, sizeof e);
  return tiny ? v16f{} : p * two_n;
}

// s[i] = e^(s[i] - max) / Σ, sixteen lanes at a time and a tail lane by lane through the same exp16, the
// sum in the tree order: the same bits for a row whatever shares its pass.
void softmax(float* s, int64_t n) {
  const int64_t n16 = n / 16 * 16;
  v16f m = v16f{} - INFINITY;
  for (int64_t i = 0; i < n16; i += 16) {
    const v16f v = load16(s + i);
    m = v > m ? v : m;
  }
  float mx = -INFINITY;
  for (int i = 0; i < 16; i++) mx = std::max(mx, m[i]);
  for (int64_t i = n16; i < n; i++) mx = std::max(mx, s[i]);
  v16f acc = {};
  for (int64_t i = 0; i < n16; i += 16) {
    const v16f e = exp16(load16(s + i) - mx);
    std::memcpy(s + i, &e, sizeof e);
    acc += e;
  }
  float sum = hsum(acc);
  for (int64_t i = n16; i < n; i++) sum += (s[i] = exp16(v16f{} + (s[i] - mx))[0]);
  const v16f inv = v16f{} + 1.0f / sum;
  for (int64_t i = 0; i < n16; i += 16) {
    const v16f v = load16(s + i) * inv;
    std::memcpy(s + i, &v, sizeof v);
  }
  for (int64_t i = n16; i < n; i++) s[i] *= inv[0];
}

// out[gi * stride + j] = (q_gi · keys[j]) · scale for the G query heads of one KV head and n keys: sixteen
// keys at a time when the head is whole vectors (their sums reduced together), one at a time otherwise; a
// score is the same bits either way (see reduce16).
void score_keys(const float* q, int G, int hd, const float* const* keys, int n, float scale, float* out, int64_t stride) {
  int j = 0;
  if (hd % 16 == 0)
    for (; j + 16 <= n; j += 16)
      for (int gi = 0; gi < G; gi++) {
        v16f acc[16];
        for (int u = 0; u < 16; u++) acc[u] = dot_lanes(q + size_t(gi) * hd, keys[j + u], hd);
        const v16f s = reduce16(acc) * scale;
        std::memcpy(out + size_t(gi) * stride + j, &s, sizeof s);
      }
  for (; j < n; j++)
    for (int gi = 0; gi < G; gi++) out[size_t(gi) * stride + j] = dot(q + size_t(gi) * hd, keys[j], hd) * scale;
}

// out[gi] += Σ_j w[gi·stride + j] · V[j] for the n keys in order, the same additions in the same order as one
// key at a time; for head_dim 64 and 128 a block of 8 keys is taken per head with its output in registers (V's
// rows stay in L1 across the heads) instead of a load and a store of the output per key.
template <int HD>
void weighted_sum(const float* const* vals, int n, const float* w, int64_t stride, int G, float* out, int hd = HD) {
  if constexpr (HD == 0) {
    for (int j = 0; j < n; j++)
      for (int gi = 0; gi < G; gi++) {
        const float wj = w[size_t(gi) * stride + j];
        float* o = out + size_t(gi) * hd;
#pragma omp simd
        for (int d = 0; d < hd; d++) o[d] += wj * vals[j][d];
      }
  } else {
    constexpr int kBlock = 8, kVec = HD / 16;
    for (int j0 = 0; j0 < n; j0 += kBlock) {
      const int j1 = std::min(n, j0 + kBlock);
      for (int gi = 0; gi < G; gi++) {
        float* o = out + size_t(gi) * HD;
        v16f acc[kVec];
        for (int v = 0; v < kVec; v++) acc[v] = load16(o + 16 * v);
        for (int j = j0; j < j1; j++) {
          const float wj = w[size_t(gi) * stride + j];
          for (int v = 0; v < kVec; v++) acc[v] += wj * load16(vals[j] + 16 * v);
        }
        for (int v = 0; v < kVec; v++) std::memcpy(o + 16 * v, &acc[v], sizeof(v16f));
      }
    }
  }
}

class CpuModel : public Model {
 public:
  explicit CpuModel(const ModelSpec& spec) : s_(spec), inv_freq_(spec.rope_inv_freq), layers_(spec.layers) {
    const std::vector<TensorShape> list = expected_tensors(s_);
    std::map<std::string, const TensorShape*> named;
    for (const auto& t : list) named[t.name] = &t;
    for (auto& L : layers_) L.experts.resize(s_.experts);
    for (const auto& t : list) {
      const std::string& n = t.name;
      if (ends_with(n, ".qzeros") || ends_with(n, ".scales") || ends_with(n, ".scale_inv")) continue;  // with their matrix
      if (ends_with(n, ".qweight")) {
        const std::string base = n.substr(0, n.size() - 8);
        load_awq(base, t, *named.at(base + ".qzeros"), *named.at(base + ".scales"));
      } else if (s_.quant == Quant::Fp8 && !t.dtypes.empty() && t.dtypes[0] == DType::F8_E4M3) {
        load_fp8(t, *named.at(n + ".scale_inv"));
      } else {
        load(t);
      }
    }
    if (const std::string why = weight_bytes_mismatch(s_, false, weight_bytes_); !why.empty()) throw Error(why);
  }

  const ModelSpec& spec() const override { return s_; }
  std::string device() const override { return "cpu"; }
  size_t weight_bytes() const override { return weight_bytes_; }

  std::unique_ptr<Cache> new_cache(int pages, int page_size) override {
    return std::make_unique<CpuCache>(s_, pages, page_size);
  }

  void forward(Cache& base, const Plan& p, float* logits) override {
    auto* cache = dynamic_cast<CpuCache*>(&base);
    if (!cache) throw Error("forward: the cache was not made by a CPU model");
    check_cache(s_, *cache);
    const int T = p.T, H = s_.hidden, hd = s_.head_dim, qdim = s_.heads * hd, kvdim = s_.kv_heads * hd;
    prepare(p);
    x_.resize(size_t(T) * H);
    h_.resize(size_t(T) * H);
    tmp_.resize(size_t(T) * H);
    q_.resize(size_t(T) * qdim);
    k_.resize(size_t(T) * kvdim);
    v_.resize(size_t(T) * kvdim);
    att_.resize(size_t(T) * qdim);

    for (int t = 0; t < T; t++) embed_.row(p.tokens[t], x_.data() + size_t(t) * H);
    for (int l = 0; l < s_.layers; l++) {
      const Layer& L = layers_[l];
      norm_rows(x_.data(), L.attn_norm.data(), T, h_.data());
      matmul(h_.data(), T, L.q, L.q_bias, q_.data());
      matmul(h_.data(), T, L.k, L.k_bias, k_.data());
      matmul(h_.data(), T, L.v, L.v_bias, v_.data());
      if (s_.qk_norm) {
        for (int i = 0; i < T * s_.heads; i++) rmsnorm(&q_[size_t(i) * hd], L.q_norm.data(), hd, s_.rms_eps, &q_[size_t(i) * hd]);
        for (int i = 0; i < T * s_.kv_heads; i++) rmsnorm(&k_[size_t(i) * hd], L.k_norm.data(), hd, s_.rms_eps, &k_[size_t(i) * hd]);
      }
      write_kv(*cache, l, p);
      attention(*cache, l, p);
      matmul(att_.data(), T, L.o, {}, tmp_.data());
      for (size_t i = 0; i < x_.size(); i++) x_[i] += tmp_[i];
      norm_rows(x_.data(), L.mlp_norm.data(), T, h_.data());
      if (L.experts.empty() || L.router.rows == 0) mlp(L.gate, L.up, L.down, h_.data(), T, tmp_.data());
      else experts(L, T);
      for (size_t i = 0; i < x_.size(); i++) x_[i] += tmp_[i];
    }
    if (p.L == 0) return;
    h_.resize(size_t(p.L) * H);
    for (int i = 0; i < p.L; i++)
      rmsnorm(x_.data() + size_t(p.logit_tokens[i]) * H, final_norm_.data(), H, s_.rms_eps, h_.data() + size_t(i) * H);
    matmul(h_.data(), p.L, s_.tied_embeddings ? embed_ : lm_head_, {}, logits);
  }

 private:
  // SwiGLU: down(silu(gate x) * up x), for T rows of x.
  void mlp(const Matrix& gate, const Matrix& up, const Matrix& down, const float* x, int T, float* out) {
    g_.resize(size_t(T) * gate.rows);
    u_.resize(size_t(T) * up.rows);
    matmul(x, T, gate, {}, g_.data());
    matmul(x, T, up, {}, u_.data());
    for (size_t i = 0; i < g_.size(); i++) g_[i] = g_[i] / (1.0f + std::exp(-g_[i])) * u_[i];
    matmul(g_.data(), T, down, {}, out);
  }

  // A sparse layer: each token's router softmax over all experts, its top k (ties to the lower number),
  // renormalised when norm_topk; then each expert runs once over the tokens routed to it, and every token
  // adds its experts' outputs in expert order (so a token's sum does not depend on what shares its pass).
  void experts(const Layer& L, int T) {
    const int H = s_.hidden, E = s_.experts, K = s_.experts_per_tok;
    route_.resize(size_t(T) * E);
    matmul(h_.data(), T, L.router, {}, route_.data());
    std::vector<std::vector<std::pair<int, float>>> chosen(E);  // per expert: (token, weight)
    std::vector<int> order(E);
    for (int t = 0; t < T; t++) {
      float* r = &route_[size_t(t) * E];
      const float mx = *std::max_element(r, r + E);
      double sum = 0;
      for (int e = 0; e < E; e++) sum += (r[e] = std::exp(r[e] - mx));
      for (int e = 0; e < E; e++) r[e] = float(r[e] / sum);
      for (int e = 0; e < E; e++) order[e] = e;
      std::partial_sort(order.begin(), order.begin() + K, order.end(),
                        [&](int a, int b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
      double picked = 0;
      for (int k = 0; k < K; k++) picked += r[order[k]];
      for (int k = 0; k < K; k++) {
        const int e = order[k];
        chosen[e].push_back({t, s_.norm_topk ? float(r[e] / picked) : r[e]});
      }
    }
    std::fill(tmp_.begin(), tmp_.begin() + size_t(T) * H, 0.0f);
    for (int e = 0; e < E; e++) {
      const int n = int(chosen[e].size());
      if (n == 0) continue;
      ex_.resize(size_t(n) * H);
      ey_.resize(size_t(n) * H);
      for (int i = 0; i < n; i++) std::memcpy(&ex_[size_t(i) * H], &h_[size_t(chosen[e][i].first) * H], sizeof(float) * H);
      const Expert& X = L.experts[e];
      mlp(X.gate, X.up, X.down, ex_.data(), n, ey_.data());
      for (int i = 0; i < n; i++) {
        float* out = &tmp_[size_t(chosen[e][i].first) * H];
        const float w = chosen[e][i].second;
        for (int j = 0; j < H; j++) out[j] += w * ey_[size_t(i) * H + j];
      }
    }
  }

  // AWQ's GEMM packing, repacked by output row: qweight [in, out/8] and qzeros [in/g, out/8] hold in nibble i
  // of a word the column 8c + kOrder[i]; scales [in/g, out].
  void load_awq(const std::string& base, const TensorShape& qw, const TensorShape& qz, const TensorShape& sc) {
    static constexpr int kOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    const int in = int(qw.shape[0]), out = int(qw.shape[1]) * 8, g = s_.awq_group, groups = in / g;
    std::vector<int32_t> w(element_count(qw.shape)), z(element_count(qz.shape));
    std::memcpy(w.data(), quant_tensor(s_, qw).bytes.data(), w.size() * 4);
    std::memcpy(z.data(), quant_tensor(s_, qz).bytes.data(), z.size() * 4);
    const std::vector<float> scales = quant_tensor(s_, sc).as_float();
    Matrix m;
    m.rows = out;
    m.cols = in;
    m.group = g;
    m.q4.assign(size_t(out) * in / 2, 0);
    m.zeros.resize(size_t(out) * groups);
    m.scales.resize(size_t(out) * groups);
    auto nibble = [](int32_t word, int i) { return (uint32_t(word) >> (4 * i)) & 15u; };
    for (int k = 0; k < in; k++)
      for (int c = 0; c < out / 8; c++)
        for (int i = 0; i < 8; i++) {
          const int n = 8 * c + kOrder[i];
          m.q4[size_t(n) * (in / 2) + k / 2] |= uint8_t(nibble(w[size_t(k) * (out / 8) + c], i) << (4 * (k & 1)));
        }
    for (int gi = 0; gi < groups; gi++)
      for (int c = 0; c < out / 8; c++)
        for (int i = 0; i < 8; i++) {
          const int n = 8 * c + kOrder[i];
          m.zeros[size_t(n) * groups + gi] = uint8_t(nibble(z[size_t(gi) * (out / 8) + c], i));
          m.scales[size_t(n) * groups + gi] = scales[size_t(gi) * out + n];
        }
    weight_bytes_ += m.bytes();
    matrix_slot(base) = std::move(m);
  }

  // FP8: the e4m3 bytes as they are, and the block scales (float32 or bf16 in the checkpoint) as floats.
  void load_fp8(const TensorShape& t, const TensorShape& scale) {
    Matrix m;
    m.rows = int(t.shape[0]);
    m.cols = int(t.shape[1]);
    m.br = s_.fp8_block_rows;
    m.bc = s_.fp8_block_cols;
    const std::vector<uint8_t> bytes = quant_tensor(s_, t).bytes;
    m.f8.assign(bytes.begin(), bytes.end());
    m.scales = quant_tensor(s_, scale).as_float();
    weight_bytes_ += m.bytes();
    matrix_slot(t.name) = std::move(m);
  }

  void load(const TensorShape& t) {
    Matrix m;
    m.rows = int(t.shape[0]);
    m.cols = t.shape.size() > 1 ? int(t.shape[1]) : 1;
    const size_t n = element_count(t.shape);
    if (s_.random) {
      m.bf.resize(n);
      random_tensor(s_.random_seed, t, m.bf.data());
    } else {
      const TensorSource& src = find_tensor(s_, t);
      if (src.dtype == DType::BF16) {
        m.bf.resize(n);
        read_tensor(src, m.bf.data());
      } else {
        const std::vector<float> f = read_as_float(src);
        m.f32.assign(f.begin(), f.end());
      }
    }
    weight_bytes_ += m.bytes();
    if (t.shape.size() == 1) {  // vectors are used in float32
      std::vector<float> v(n);
      if (!m.bf.empty()) {
        for (size_t i = 0; i < n; i++) v[i] = bf16_to_float(m.bf[i]);
      } else {
        v.assign(m.f32.begin(), m.f32.end());
      }
      vector_slot(t.name) = std::move(v);
    } else {
      matrix_slot(t.name) = std::move(m);
    }
  }

  Matrix& matrix_slot(const std::string& name) {
    if (name == "embed") return embed_;
    if (name == "lm_head") return lm_head_;
    Layer& L = layers_[std::stoi(name.substr(1))];
    std::string f = name.substr(name.find('.') + 1);
    if (f == "router") return L.router;
    if (f[0] == 'e' && f.find('.') != std::string::npos) {  // e{k}.{gate,up,down}
      Expert& X = L.experts.at(std::stoi(f.substr(1)));
      f = f.substr(f.find('.') + 1);
      if (f == "gate") return X.gate;
      if (f == "up") return X.up;
      if (f == "down") return X.down;
      throw Error("CPU model: no place for tensor " + name);
    }
    if (f == "q") return L.q;
    if (f == "k") return L.k;
    if (f == "v") return L.v;
    if (f == "o") return L.o;
    if (f == "gate") return L.gate;
    if (f == "up") return L.up;
    if (f == "down") return L.down;
    throw Error("CPU model: no place for tensor " + name);
  }

  std::vector<float>& vector_slot(const std::string& name) {
    if (name == "norm") return final_norm_;
    Layer& L = layers_[std::stoi(name.substr(1))];
    const std::string f = name.substr(name.find('.') + 1);
    if (f == "attn_norm") return L.attn_norm;
    if (f == "mlp_norm") return L.mlp_norm;
    if (f == "q_bias") return L.q_bias;
    if (f == "k_bias") return L.k_bias;
    if (f == "v_bias") return L.v_bias;
    if (f == "q_norm") return L.q_norm;
    if (f == "k_norm") return L.k_norm;
    throw Error("CPU model: no place for tensor " + name);
  }

  void matmul(const float* x, int M, const Matrix& w, const std::vector<float>& bias, float* y) {
    const float* b = bias.empty() ? nullptr : bias.data();
    if (w.quantized())
      matmul_rows(x, M, w, b, y);
    else if (!w.bf.empty())
      matmul_impl(x, M, w.cols, w.bf.data(), w.rows, b, y);
    else
      matmul_impl(x, M, w.cols, w.f32.data(), w.rows, b, y);
  }

  void norm_rows(const float* x, const float* w, int T, float* out) {
    const int H = s_.hidden;
#pragma omp parallel for schedule(static) if (T > 8)
    for (int t = 0; t < T; t++) rmsnorm(x + size_t(t) * H, w, H, s_.rms_eps, out + size_t(t) * H);
  }

  // Per-token row index, and a RoPE table long enough for every position and offset in the plan.
  void prepare(const Plan& p) {
    tok_row_.resize(p.T);
    int64_t max_pos = 0;
    for (int r = 0; r < p.R; r++) {
      for (int t = p.row_token_start[r]; t < p.row_token_start[r + 1]; t++) tok_row_[t] = r;
      max_pos = std::max<int64_t>(max_pos, int64_t(p.row_query_start[r]) + p.row_token_start[r + 1] - p.row_token_start[r]);
    }
    for (int e = 0; e < p.E; e++) max_pos = std::max<int64_t>(max_pos, int64_t(p.view_offset[e]) + p.block_len[p.view_block[e]]);
    const int half = s_.head_dim / 2;
    const int64_t have = int64_t(cos_.size()) / half;
    if (max_pos + 1 <= have) return;
    cos_.resize(size_t(max_pos + 1) * half);
    sin_.resize(size_t(max_pos + 1) * half);
    for (int64_t pos = have; pos <= max_pos; pos++)
      for (int i = 0; i < half; i++) {
        const double a = double(pos) * inv_freq_[i];
        cos_[size_t(pos) * half + i] = float(std::cos(a));
        sin_[size_t(pos) * half + i] = float(std::sin(a));
      }
  }

  const float* cosp(int64_t pos) const { return cos_.data() + size_t(pos) * (s_.head_dim / 2); }
  const float* sinp(int64_t pos) const { return sin_.data() + size_t(pos) * (s_.head_dim / 2); }

  // Keys are stored rotated at their block-local position; the rule: every row writes before anyone reads.
  void write_kv(CpuCache& c, int l, const Plan& p) {
    const int hd = s_.head_dim, half = s_.rotary_dim / 2, kv = s_.kv_heads, ps = c.page_size();
    for (int t = 0; t < p.T; t++) {
      const int r = tok_row_[t], b = p.row_block[r];
      const int local = p.row_write_start[r] + (t - p.row_token_start[r]);
      const int page = p.block_pages[p.block_page_start[b] + local / ps];
      for (int g = 0; g < kv; g++) {
        rotate(&k_[(size_t(t) * kv + g) * hd], cosp(local), sinp(local), half, hd, c.key(l, g, page, local % ps));
        std::memcpy(c.value(l, g, page, local % ps), &v_[(size_t(t) * kv + g) * hd], sizeof(float) * hd);
      }
    }
  }

  // Each new token attends over its row's view: causal over view positions, one softmax over all its keys.
  // Fast path: the query is rotated by (p - offset) per block. Reference path (key_rotation): every key is
  // rotated by its block's offset and the query by p, as in ordinary attention over a materialised sequence.
  // Work is a group of consecutive tokens (one row's, or workers' rows that share blocks) for one KV head: a
  // block's keys, then its values, are read a chunk at a time (in L1) for every token of the group that sees
  // them, so a context shared by the workers is read once per group instead of once per token. A token's
  // numbers do not depend on its group: a score is one dot product, a softmax is the token's own, and its
  // output is the weighted sum over each view entry's keys (in order), added up in its view's order (the
  // group's block order depends on the pass: blocks are numbered in the order the pass's rows name them).
  void attention(CpuCache& c, int l, const Plan& p) {
    const int hd = s_.head_dim, half = s_.rotary_dim / 2, kv = s_.kv_heads, G = s_.heads / kv, ps = c.page_size();
    const float scale = 1.0f / std::sqrt(float(hd));
    const int chunk = std::max(16, 16384 / int(sizeof(float)) / hd / 16 * 16);  // 16 KiB of key rows
    // enough groups to keep every thread busy, as few as that allows (each group reads the blocks once)
    const int group = std::clamp(p.T * kv / omp_get_max_threads(), 1, 16);
    const int work = (p.T + group - 1) / group * kv;
#pragma omp parallel
    {
      struct Part {  // the n keys of view entry e that token t (at position pos) sees, its scores from `at` in its list
        int t, e, block, n, order;  // order: its place in the group's parts in view order
        int64_t pos, at;
      };
      std::vector<Part> parts;
      std::vector<int> place;  // place[order]: where the part went when sorted by block
      std::vector<int64_t> total, first;  // per token of the group: keys seen; where its scores start
      avector<float> qr, krot, scores, sums;  // per part its G rotated queries and G weighted sums; per token G × total scores
      std::vector<const float*> rows, rotated;
#pragma omp for schedule(dynamic, 1)
      for (int wi = 0; wi < work; wi++) {
        const int t0 = wi / kv * group, t1 = std::min(p.T, t0 + group), g = wi % kv, nt = t1 - t0;
        parts.clear();
        total.assign(nt, 0);
        for (int t = t0; t < t1; t++) {
          const int r = tok_row_[t];
          const int64_t pos = int64_t(p.row_query_start[r]) + (t - p.row_token_start[r]);
          for (int e = p.row_view_start[r]; e < p.row_view_start[r + 1]; e++) {
            const int64_t n = p.visible(e, pos);
            if (n <= 0) continue;
            parts.push_back({t, e, p.view_block[e], int(n), int(parts.size()), pos, total[t - t0]});
            total[t - t0] += n;
          }
        }
        first.resize(nt);
        int64_t size = 0;
        for (int i = 0; i < nt; i++) first[i] = size, size += total[i] * G;
        if (scores.size() < size_t(size)) scores.resize(size);
        // blocks in id order (a token's parts of one block stay in view order)
        std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.block < b.block; });
        place.resize(parts.size());
        for (size_t k = 0; k < parts.size(); k++) place[parts[k].order] = int(k);
        qr.resize(parts.size() * G * hd);
        for (size_t k = 0; k < parts.size(); k++) {
          const Part& P = parts[k];
          const int64_t rel = P.pos - p.view_offset[P.e], turn = p.key_rotation ? P.pos : rel < 0 ? -rel : rel;
          const float* q = &q_[(size_t(P.t) * s_.heads + size_t(g) * G) * hd];
          for (int gi = 0; gi < G; gi++)
            rotate(q + size_t(gi) * hd, cosp(turn), sinp(turn), half, hd, &qr[(k * G + gi) * hd], !p.key_rotation && rel < 0);
        }
        // each block a chunk of key (or value) rows at a time, for every part that reads it, up to its length
        auto sweep = [&](bool values, auto&& use) {
          for (size_t k0 = 0, k1; k0 < parts.size(); k0 = k1) {
            int longest = 0;
            for (k1 = k0; k1 < parts.size() && parts[k1].block == parts[k0].block; k1++) longest = std::max(longest, parts[k1].n);
            const int32_t* pages = p.block_pages + p.block_page_start[parts[k0].block];
            auto row = [&](int j) { return values ? c.value(l, g, pages[j / ps], j % ps) : c.key(l, g, pages[j / ps], j % ps); };
            for (int j0 = 0; j0 < longest; j0 += chunk) {
              const int jn = std::min(longest - j0, chunk);
              rows.resize(jn);
              for (int j = 0; j < jn; j++) rows[j] = row(j0 + j);
              // the next chunk's rows on their way from memory while this one is used (the cache's pages are
              // small: a hardware prefetcher stops at each)
              for (int j = j0 + chunk; j < std::min(longest, j0 + 2 * chunk); j++)
                for (int b = 0; b < hd * int(sizeof(float)); b += 64) __builtin_prefetch(reinterpret_cast<const char*>(row(j)) + b);
              for (size_t k = k0; k < k1; k++)
                if (parts[k].n > j0) use(parts[k], k, j0, std::min(parts[k].n - j0, jn));
            }
          }
        };
        sweep(false, [&](const Part& P, size_t k, int j0, int n) {
          const float* const* keys = rows.data();
          if (p.key_rotation) {
            const int off = p.view_offset[P.e];
            krot.resize(size_t(n) * hd);
            rotated.resize(n);
            for (int j = 0; j < n; j++) {
              rotate(rows[j], cosp(off), sinp(off), half, hd, &krot[size_t(j) * hd]);
              rotated[j] = &krot[size_t(j) * hd];
            }
            keys = rotated.data();
          }
          const int i = P.t - t0;
          score_keys(&qr[k * G * hd], G, hd, keys, n, scale, &scores[first[i] + P.at + j0], total[i]);
        });
        for (int i = 0; i < nt; i++)
          for (int gi = 0; gi < G; gi++) softmax(&scores[first[i] + gi * total[i]], total[i]);
        sums.assign(parts.size() * G * hd, 0.0f);
        sweep(true, [&](const Part& P, size_t k, int j0, int n) {
          const int i = P.t - t0;
          float* out = &sums[k * G * hd];
          const float* w = &scores[first[i] + P.at + j0];
          if (hd == 64) weighted_sum<64>(rows.data(), n, w, total[i], G, out);
          else if (hd == 128) weighted_sum<128>(rows.data(), n, w, total[i], G, out);
          else weighted_sum<0>(rows.data(), n, w, total[i], G, out, hd);
        });
        for (int t = t0; t < t1; t++) {
          float* out = &att_[(size_t(t) * s_.heads + size_t(g) * G) * hd];
          std::fill(out, out + size_t(G) * hd, 0.0f);
        }
        for (size_t o = 0; o < parts.size(); o++) {  // each token's entries in its view's order
          const Part& P = parts[place[o]];
          const float* sum = &sums[size_t(place[o]) * G * hd];
          float* out = &att_[(size_t(P.t) * s_.heads + size_t(g) * G) * hd];
          for (int x = 0; x < G * hd; x++) out[x] += sum[x];
        }
      }
    }
  }

  ModelSpec s_;
  std::vector<double> inv_freq_;
  std::vector<Layer> layers_;
  Matrix embed_, lm_head_;
  std::vector<float> final_norm_;
  size_t weight_bytes_ = 0;
  // Scratch, reused across passes (no allocation in the steady state).
  avector<float> x_, h_, tmp_, q_, k_, v_, att_, g_, u_, cos_, sin_, route_, ex_, ey_;
  std::vector<int> tok_row_;
};

}  // namespace

std::unique_ptr<Model> make_cpu_model(const ModelSpec& spec) { return std::make_unique<CpuModel>(spec); }

double copy_bandwidth(size_t bytes, int reps) {
  if (reps < 1) throw Error("copy_bandwidth: reps must be at least 1, got " + std::to_string(reps));
  const size_t n = bytes / sizeof(float);
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  std::vector<double> secs;
  for (int r = 0; r < reps + 1; r++) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
    {
      const int nt = omp_get_num_threads(), id = omp_get_thread_num();
      const size_t lo = n * id / nt, hi = n * (id + 1) / nt;
      std::memcpy(b.data() + lo, a.data() + lo, (hi - lo) * sizeof(float));
    }
    const auto t1 = std::chrono::steady_clock::now();
    if (r > 0) secs.push_back(std::chrono::duration<double>(t1 - t0).count());  // first copy warms the pages
  }
  std::sort(secs.begin(), secs.end());
  // A copy reads and writes every byte: count both, as the floor's "bytes moved" does.
  return 2.0 * double(n * sizeof(float)) / secs[secs.size() / 2];
}

}  // namespace hogwild
