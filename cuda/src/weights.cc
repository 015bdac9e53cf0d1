#include "weights.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace hogwild {

namespace {
// The tensors of one linear layer [out, in], as the spec's quantisation stores it (the host names them as the
// checkpoint does: engine/spec.ts expectedTensors).
void linear(const ModelSpec& s, std::vector<TensorShape>& t, const std::string& name, int64_t out, int64_t in) {
  if (s.quant == Quant::Awq) {
    const int64_t g = s.awq_group;
    if (out % 8)
      throw Error("AWQ: " + name + " has " + std::to_string(out) + " outputs, not a multiple of 8 (eight 4-bit values a word)");
    if (in % g)
      throw Error("AWQ: group_size " + std::to_string(g) + " does not divide " + name + "'s " + std::to_string(in) + " inputs");
    t.push_back({name + ".qweight", {in, out / 8}, {DType::I32}});
    t.push_back({name + ".qzeros", {in / g, out / 8}, {DType::I32}});
    t.push_back({name + ".scales", {in / g, out}, {DType::F16}});
  } else if (s.quant == Quant::Fp8) {
    const int64_t br = s.fp8_block_rows, bc = s.fp8_block_cols;
    t.push_back({name, {out, in}, {DType::F8_E4M3}});
    t.push_back({name + ".scale_inv", {(out + br - 1) / br, (in + bc - 1) / bc}, {DType::F32, DType::BF16}});
  } else {
    t.push_back({name, {out, in}});
  }
}
}  // namespace

std::vector<TensorShape> expected_tensors(const ModelSpec& s) {
  const int64_t q = int64_t(s.heads) * s.head_dim, kv = int64_t(s.kv_heads) * s.head_dim;
  std::vector<TensorShape> t = {{"embed", {s.vocab, s.hidden}}, {"norm", {s.hidden}}};
  if (!s.tied_embeddings) t.push_back({"lm_head", {s.vocab, s.hidden}});
  auto mlp = [&](const std::string& L, int64_t width) {
    linear(s, t, L + "gate", width, s.hidden);
    linear(s, t, L + "up", width, s.hidden);
    linear(s, t, L + "down", s.hidden, width);
  };
  for (int i = 0; i < s.layers; i++) {
    const std::string L = "L" + std::to_string(i) + ".";
    t.push_back({L + "attn_norm", {s.hidden}});
    linear(s, t, L + "q", q, s.hidden);
    linear(s, t, L + "k", kv, s.hidden);
    linear(s, t, L + "v", kv, s.hidden);
    linear(s, t, L + "o", s.hidden, q);
    if (s.qkv_bias) {
      t.push_back({L + "q_bias", {q}});
      t.push_back({L + "k_bias", {kv}});
      t.push_back({L + "v_bias", {kv}});
    }
    if (s.qk_norm) {
      t.push_back({L + "q_norm", {s.head_dim}});
      t.push_back({L + "k_norm", {s.head_dim}});
    }
    t.push_back({L + "mlp_norm", {s.hidden}});
    if (is_sparse_layer(s, i)) {
      t.push_back({L + "router", {s.experts, s.hidden}});
      for (int e = 0; e < s.experts; e++) mlp(L + "e" + std::to_string(e) + ".", s.moe_intermediate);
    } else {
      mlp(L, s.intermediate);
    }
  }
  return t;
}

bool is_sparse_layer(const ModelSpec& s, int layer) {
  for (int l : s.sparse_layers)
    if (l == layer) return true;
  return false;
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
    case DType::I32: return 4;
    case DType::F8_E4M3: return 1;
    default: return 2;
  }
}

size_t element_count(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (auto d : shape) n *= size_t(d);
  return n;
}

uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;  // NaN
  u += 0x7fff + ((u >> 16) & 1);                        // round to nearest even
  return uint16_t(u >> 16);
}

const TensorSource& find_tensor(const ModelSpec& spec, const TensorShape& want) {
  for (const auto& t : spec.tensors) {
    if (t.name != want.name) continue;
    if (t.shape != want.shape) {
      std::string got, exp;
      for (auto d : t.shape) got += (got.empty() ? "" : ",") + std::to_string(d);
      for (auto d : want.shape) exp += (exp.empty() ? "" : ",") + std::to_string(d);
      throw Error("tensor " + want.name + " in " + t.path + ": shape [" + got + "], expected [" + exp + "]");
    }
    const std::vector<DType> floats = {DType::BF16, DType::F16, DType::F32};
    const auto& allowed = want.dtypes.empty() ? floats : want.dtypes;
    if (std::find(allowed.begin(), allowed.end(), t.dtype) == allowed.end())
      throw Error("tensor " + want.name + " in " + t.path + ": dtype code " + std::to_string(int(t.dtype)) +
                  " is not one its format uses");
    if (t.nbytes != element_count(t.shape) * dtype_size(t.dtype))
      throw Error("tensor " + want.name + " in " + t.path + ": byte size does not match its shape and dtype");
    return t;
  }
  throw Error("tensor " + want.name + " is missing from the model spec");
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) { man <<= 1; exp--; }
      u = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000 | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float e4m3_to_float(uint8_t b) {
  const int exp = (b >> 3) & 0xf, man = b & 7;
  const float sign = (b & 0x80) ? -1.0f : 1.0f;
  if (exp == 15 && man == 7) return NAN;
  if (exp == 0) return sign * std::ldexp(float(man), -9);  // subnormal: man/8 * 2^-6
  return sign * std::ldexp(float(8 + man), exp - 10);      // (1 + man/8) * 2^(exp-7)
}

std::vector<float> read_as_float(const TensorSource& t) {
  const size_t n = element_count(t.shape);
  std::vector<float> out(n);
  if (t.dtype == DType::F32) {
    read_tensor(t, out.data());
    return out;
  }
  std::vector<uint16_t> raw(n);
  read_tensor(t, raw.data());
  for (size_t i = 0; i < n; i++) out[i] = t.dtype == DType::BF16 ? bf16_to_float(raw[i]) : half_to_float(raw[i]);
  return out;
}

std::vector<uint16_t> read_as_bf16(const TensorSource& t) {
  const size_t n = element_count(t.shape);
  std::vector<uint16_t> out(n);
  if (t.dtype == DType::BF16) {
    read_tensor(t, out.data());
    return out;
  }
  const std::vector<float> f = read_as_float(t);
  for (size_t i = 0; i < n; i++) out[i] = float_to_bf16(f[i]);
  return out;
}

void read_tensor(const TensorSource& t, void* dst) {
  int fd = ::open(t.path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(t.path + ": cannot open (" + std::strerror(errno) + ")");
  auto* out = static_cast<char*>(dst);
  // A strided tensor is its rows, each read from its own place; a contiguous one is one row.
  const uint64_t rows = t.stride ? uint64_t(t.shape.at(0)) : 1, row_bytes = t.nbytes / rows;
  for (uint64_t row = 0; row < rows; row++) {
    const uint64_t from = t.offset + row * t.stride;
    char* to = out + row * row_bytes;
    uint64_t done = 0;
    while (done < row_bytes) {
      const size_t chunk = size_t(std::min<uint64_t>(row_bytes - done, uint64_t(1) << 30));
      ssize_t n = ::pread(fd, to + done, chunk, off_t(from + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        throw Error(t.path + ": tensor " + t.name + " is truncated (read " + std::to_string(row * row_bytes + done) +
                    " of " + std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) + ")");
      }
      done += uint64_t(n);
    }
  }
  ::close(fd);
}

namespace {
uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
}  // namespace

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

uint64_t tensor_seed(uint64_t seed, const std::string& name) { return seed ^ hash_name(name); }
bool is_norm_tensor(const std::string& name) { return ends_with(name, "norm"); }
bool is_bias_tensor(const std::string& name) { return ends_with(name, "_bias"); }

void random_tensor(uint64_t seed, const TensorShape& t, uint16_t* dst) {
  const size_t n = element_count(t.shape);
  const bool norm = is_norm_tensor(t.name);
  const bool bias = is_bias_tensor(t.name);
  const float center = norm ? 1.0f : 0.0f;
  // Uniform with the standard deviation of a typical initialisation (0.02), a little more for norms.
  const float half = (norm ? 0.1f : 0.02f) * std::sqrt(3.0f);
  const uint64_t base = tensor_seed(seed, t.name);
  constexpr size_t kChunk = 1 << 16;
  const int64_t chunks = int64_t((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    uint64_t state = base + uint64_t(c) * 0x632be59bd9b4e019ull;
    const size_t end = std::min(n, size_t(c + 1) * kChunk);
    for (size_t i = size_t(c) * kChunk; i < end; i++) {
      const float u = float(splitmix(state) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
      dst[i] = float_to_bf16(center + (bias ? 0.5f : 1.0f) * half * (2 * u - 1));
    }
  }
}

size_t stored_bytes(const ModelSpec& s, const TensorShape& t, bool cuda) {
  const size_t n = element_count(t.shape);
  const bool fp8 = s.quant == Quant::Fp8 && !t.dtypes.empty() && t.dtypes[0] == DType::F8_E4M3;
  const bool awq = ends_with(t.name, ".qweight") || ends_with(t.name, ".qzeros") || ends_with(t.name, ".scales");
  if (ends_with(t.name, ".scale_inv")) return n * 4;  // FP8's block scales: floats on both
  if (fp8 || awq) {
    // the GPU keeps the checkpoint's packing (quant_tensor's bytes); the CPU repacks AWQ by output row: two
    // nibbles a byte (8 a word: n words, 4n bytes), a byte a zero (8 a word), a float a scale; FP8 a byte a weight
    if (cuda) return n * dtype_size(s.random ? t.dtypes.at(0) : find_tensor(s, t).dtype);
    if (fp8) return n;
    return ends_with(t.name, ".qzeros") ? n * 8 : n * 4;
  }
  if (cuda) return n * (t.shape.size() == 1 ? 4 : 2);  // vectors float32, matrices bf16
  if (s.random) return n * 2;                          // made as bf16 (random_tensor)
  return n * (find_tensor(s, t).dtype == DType::BF16 ? 2 : 4);
}

std::string weight_bytes_mismatch(const ModelSpec& s, bool cuda, size_t allocated) {
  size_t want = 0;
  for (const TensorShape& t : expected_tensors(s)) want += stored_bytes(s, t, cuda);
  if (want == allocated) return "";
  return std::string(cuda ? "CUDA" : "CPU") + " model: its weights took " + std::to_string(allocated) +
         " bytes where stored_bytes counts " + std::to_string(want) + " (a loader and the count perf's floors take disagree)";
}

RawTensor quant_tensor(const ModelSpec& spec, const TensorShape& t) {
  RawTensor r;
  if (!spec.random) {
    const TensorSource& src = find_tensor(spec, t);
    r.dtype = src.dtype;
    r.bytes.resize(src.nbytes);
    read_tensor(src, r.bytes.data());
    return r;
  }
  r.dtype = t.dtypes.at(0);
  const size_t n = element_count(t.shape) * dtype_size(r.dtype), words = (n + 7) / 8;
  r.bytes.resize(words * 8);
  const uint64_t base = tensor_seed(spec.random_seed, t.name);
  constexpr size_t kChunk = 1 << 16;
  const int64_t chunks = int64_t((words + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    uint64_t state = base + uint64_t(c) * 0x632be59bd9b4e019ull;
    for (size_t i = size_t(c) * kChunk; i < std::min(words, size_t(c + 1) * kChunk); i++) {
      uint64_t w = splitmix(state);
      if (r.dtype == DType::F8_E4M3) w &= 0xbfbfbfbfbfbfbfbfull;  // exponent field <= 7: |value| < 2, never NaN
      if (r.dtype == DType::F16) w = (w & 0x03ff03ff03ff03ffull) | 0x1000100010001000ull;  // halves in [2^-11, 2^-10)
      if (r.dtype == DType::F32) w = (w & 0x007fffff007fffffull) | 0x3c8000003c800000ull;  // floats in [2^-6, 2^-5)
      std::memcpy(&r.bytes[i * 8], &w, 8);
    }
  }
  r.bytes.resize(n);
  return r;
}

std::vector<float> RawTensor::as_float() const {
  const size_t n = bytes.size() / dtype_size(dtype);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; i++) {
    if (dtype == DType::F32) {
      std::memcpy(&out[i], &bytes[4 * i], 4);
    } else {
      uint16_t h;
      std::memcpy(&h, &bytes[2 * i], 2);
      out[i] = dtype == DType::BF16 ? bf16_to_float(h) : half_to_float(h);
    }
  }
  return out;
}

}  // namespace hogwild
