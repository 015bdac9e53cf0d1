// hogwild-replay: loads a model and replays recorded forward passes with no JavaScript involved
// (the GPU machines have no node). A recording (engine/record.ts writes it) holds the model spec, the
// cache geometry, and every pass's plan with the logits to compare against (none for timing-only passes).
//
//   hogwild-replay FILE [--device cpu|cuda] [--cuda OPTIONS] [--tol A] [--rtol R] [--repeat N] [--check-sampling]
//                       [--path-prefix OLD=NEW] [--only PASS]
//   hogwild-replay FILE --check-attn-plans
//   hogwild-replay FILE --sequence N [--device cpu|cuda]
//
// Per pass: the worst |difference| to the recorded logits and the relative L2 error ‖got−want‖/‖want‖; a pass
// fails when both exceed their tolerances (on a GPU, so does the replay when the first pass, flagged key_rotation,
// is not refused: the GPU has no such path). --repeat N times every pass (median of N after 2 warm-ups) and
// prints its floor: the bytes it must read (weights + the KV of every distinct block, once) over the
// measured copy bandwidth. --check-sampling samples every logits row on the device and checks the ids
// against the host's rule on the same logits, and most rows' top-k log-probabilities (k 1..20) against the
// host's (|diff| ≤ 1e-4, the same top ids); on a GPU also 480 crafted rows (ties, far-apart and broken logits), and
// that a row of 65 suppressed ids and one with every token suppressed are refused as the host refuses them.
// --only runs that one pass (for profilers).
// --cuda gemm=mma,pdl=1,... sets the CUDA backend's options (hogwild.h, DeviceOptions: gemm, attention, graphs,
// pdl, profile). --check-attn-plans loads no model: it builds every pass's CUDA attention metadata (attn_meta.cc) for
// several grid targets and group sizes, and checks what the kernels rely on (below). --sequence N times the
// passes in their recorded order, N rounds after one warm-up (a real run's passes change shape from one to
// the next, which is what CUDA graphs must cope with). Every CUDA load prints "GEMM: cuBLAS loaded" (or why not)
// first: tools/device-check.sh reads it. Exits 1 on any failure, 2 on bad input.
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "attn_meta.h"
#include "hogwild.h"
#include "weights.h"

namespace {

struct In {
  std::vector<uint8_t> d;
  size_t at = 0;
  template <class T> T get() {
    if (at + sizeof(T) > d.size()) throw hogwild::Error("recording: truncated");
    T v;
    std::memcpy(&v, d.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  template <class T> std::vector<T> array(size_t n) {
    if (at + n * sizeof(T) > d.size()) throw hogwild::Error("recording: truncated");
    std::vector<T> v(n);
    std::memcpy(v.data(), d.data() + at, n * sizeof(T));
    at += n * sizeof(T);
    return v;
  }
};

// |a - b| as a check folds it into its worst: 0 where equal (the same infinity too), infinite where either is NaN
// (std::max(worst, NaN) is worst: a NaN difference vanished, and a pass of NaN logits passed every tolerance).
double gap(double a, double b) { return a == b ? 0 : std::isnan(a - b) ? INFINITY : std::fabs(a - b); }

// The model, and on a GPU at once whether cuBLAS loaded: without it every product ran on the own kernels, which
// the device check must not read as a check of the cuBLAS products that real runs take.
std::unique_ptr<hogwild::Model> load(const hogwild::ModelSpec& spec, const std::string& device,
                                     const hogwild::DeviceOptions& options) {
  auto model = hogwild::load_model(spec, device, options);
  if (!model->gemm_library().empty()) std::printf("GEMM: %s\n", model->gemm_library().c_str());
  return model;
}

// The GPU has no key-rotation path: a plan asking for it must be refused (before it writes anything), never answered
// with the fast path's logits. Says so on stdout where it was not; returns whether it was.
bool refuses_key_rotation(hogwild::Model& model, hogwild::Cache& cache, hogwild::Plan p, float* logits) {
  p.key_rotation = true;
  try {
    model.forward(cache, p, logits);
  } catch (const hogwild::Error& e) {
    if (std::strstr(e.what(), "key_rotation (the slow reference path) runs on the CPU only")) return true;
    std::printf("error: a key_rotation plan on %s: refused with \"%s\"\n", model.device().c_str(), e.what());
    return false;
  }
  std::printf("error: a key_rotation plan on %s was run, not refused (the fast path's logits)\n", model.device().c_str());
  return false;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The fewest bytes a pass must read: every weight once (the embedding table only as the LM head, when
// tied: its bytes as this device stores it, stored_bytes) and the keys and values of every distinct block of the
// plan once.
double floor_bytes(const hogwild::Model& m, const hogwild::Plan& p, size_t kv_elem_bytes) {
  const auto& s = m.spec();
  double bytes = double(m.weight_bytes());
  for (const auto& t : hogwild::expected_tensors(s))
    if (t.name == "embed" && !s.tied_embeddings) bytes -= double(hogwild::stored_bytes(s, t, m.device() == "cuda"));
  for (int b = 0; b < p.B; b++) bytes += double(p.block_len[b]) * s.layers * 2 * s.kv_heads * s.head_dim * kv_elem_bytes;
  return bytes;
}

// Matrix-product FLOPs of a pass: 2 per weight per token.
double matmul_flops(const hogwild::ModelSpec& s, const hogwild::Plan& p) {
  const double q = double(s.heads) * s.head_dim, kv = double(s.kv_heads) * s.head_dim;
  const double per_token = s.layers * (s.hidden * (2 * q + 2 * kv) + 3.0 * s.hidden * s.intermediate);
  return 2 * (p.T * per_token + double(p.L) * s.vocab * s.hidden);
}

// The GPU's one check of sampling specs, through the entry point this device samples with (on the CPU the check
// itself): a row suppressing more ids than the GPU's sampler holds is refused, not run past its shared memory.
bool refuses_long_suppress(const std::string& device) {
  const int vocab = 128, n = hogwild::kMaxDeviceSuppress + 1;
  std::vector<int32_t> suppress(n);
  for (int i = 0; i < n; i++) suppress[i] = i;
  const std::vector<float> logits(vocab, 0.f);
  hogwild::SampleSpec spec;
  spec.suppress_count = n;
  int32_t id = 0;
  const std::string want = "at most " + std::to_string(hogwild::kMaxDeviceSuppress) + " per row on a GPU";
  try {
    if (device == "cuda") hogwild::device_sample_rows(logits.data(), 1, vocab, &spec, suppress.data(), n, &id);
    else hogwild::check_device_specs(&spec, 1, vocab, suppress.data(), n, {});
  } catch (const hogwild::Error& e) {
    if (std::string(e.what()).find(want) == std::string::npos) {
      std::printf("error: a row of %d suppressed ids on %s: refused with \"%s\"\n", n, device.c_str(), e.what());
      return false;
    }
    std::printf("refused on %s: a row of %d suppressed ids (at most %d on a GPU)\n", device.c_str(), n,
                hogwild::kMaxDeviceSuppress);
    return true;
  }
  std::printf("error: a row of %d suppressed ids on %s was not refused (the GPU's sampler holds %d)\n", n,
              device.c_str(), hogwild::kMaxDeviceSuppress);
  return false;
}

// A row whose every token is suppressed, greedy and sampled: the device's entry point must throw the host rule's
// error (the GPU answered `vocab` greedy, out of range, and -1 sampled, read as NaN logits). On the CPU: the rule
// itself, and the GPU's host side on the id its sampler writes (kEverySuppressed).
bool refuses_every_suppressed(const std::string& device) {
  const int vocab = hogwild::kMaxDeviceSuppress;  // every one suppressed, within the GPU's bound
  std::vector<int32_t> suppress(vocab);
  for (int i = 0; i < vocab; i++) suppress[i] = i;
  const std::vector<float> logits(vocab, 1.f);
  std::string said;
  int refused = 0, tries = 0;
  auto expect = [&](const char* what, auto&& sample) {
    tries++;
    try {
      sample();
      std::printf("error: every token suppressed on %s (%s): not refused\n", device.c_str(), what);
    } catch (const hogwild::Error& e) {
      if (said.empty()) said = e.what();
      if (e.what() == said) refused++;
      else std::printf("error: every token suppressed on %s (%s): \"%s\", not \"%s\"\n", device.c_str(), what, e.what(), said.c_str());
    }
  };
  for (const float t : {0.f, 0.6f}) {
    hogwild::SampleSpec spec;
    spec.temperature = t, spec.suppress_count = vocab;
    int32_t id = 0;
    expect(t == 0 ? "greedy" : "sampled", [&] {
      if (device == "cuda") hogwild::device_sample_rows(logits.data(), 1, vocab, &spec, suppress.data(), vocab, &id);
      else hogwild::sample_rows(logits.data(), 1, vocab, &spec, suppress.data(), &id, {});
    });
  }
  if (device != "cuda") {
    const int32_t ids[2] = {3, hogwild::kEverySuppressed};
    expect("the GPU's id for it", [&] { hogwild::check_sampled_ids(ids, 2); });
  }
  if (refused == tries) std::printf("refused on %s: every token suppressed, greedy and sampled: \"%s\"\n", device.c_str(), said.c_str());
  return refused == tries;
}

// Rows no model makes, sampled by the device and by the host's rule: ties at every cut, logits far apart
// (−1e30, ±FLT_MAX), ±0, all tied, close values, NaN and ±Inf in one place. A row must agree exactly where the
// rule leaves one choice (greedy, a single kept token, broken logits: −1); elsewhere float sums against the host's
// double ones may part at a boundary, allowed in 2% of rows as for the passes. Returns whether it held. On the
// CPU the host's rule samples them (the reference against itself: the check's own bookkeeping is what runs).
bool crafted_sampling_check(const std::string& device) {
  const int V = 64, rows = 480;
  constexpr int kSuppress = 8;
  const int32_t suppress[kSuppress] = {0, 1, 5, 7, 63, 9, 33, 17};
  int total = 0;
  uint32_t x = 12345;
  auto rnd = [&] { return x ^= x << 13, x ^= x >> 17, x ^= x << 5; };
  std::vector<float> logits(size_t(rows) * V);
  std::vector<hogwild::SampleSpec> specs(rows);
  const float temperatures[] = {0.f, 0.6f, 1.f, 1e-3f}, top_p[] = {1.f, 0.5f, 0.9f, 0.01f};
  const int top_k[] = {0, 1, 2, 5, 64, 100};
  for (int r = 0; r < rows; r++) {
    float* l = &logits[size_t(r) * V];
    for (int i = 0; i < V; i++) {
      const uint32_t v = rnd();
      switch (r % 8) {
        case 0: l[i] = float(v % 4) * 0.5f; break;
        case 1: l[i] = v % 7 == 0 ? -1e30f : float(v % 100) / 10; break;
        case 2: l[i] = v % 5 == 0 ? -FLT_MAX : v % 11 == 0 ? FLT_MAX : float(v % 9); break;
        case 3: l[i] = v % 2 ? 0.f : -0.f; break;
        case 5: l[i] = 3.f; break;
        case 7: l[i] = float(v % 50) * 1e-3f; break;
        default: l[i] = float(v % 1000) / 100; break;
      }
    }
    if (r % 8 == 6) l[rnd() % V] = (r / 8) % 3 == 0 ? NAN : (r / 8) % 3 == 1 ? INFINITY : -INFINITY;
    hogwild::SampleSpec& s = specs[r];
    s.temperature = temperatures[rnd() % 4], s.top_p = top_p[rnd() % 4], s.top_k = top_k[rnd() % 6];
    s.min_p = rnd() % 3 ? 0.f : 0.1f, s.u = float(rnd() % 1000) / 1000.f;
    // a range of the pass's list anywhere in it (rows of one pass suppress different ids)
    s.suppress_start = int(rnd() % 7), s.suppress_count = int(rnd() % (kSuppress + 1 - s.suppress_start));
    // log-probabilities of every third row: ties among the top ids are common here (lower id first)
    s.logprobs = r % 3 == 0 ? 1 + int(rnd() % hogwild::kMaxLogprobs) : 0;
    s.logprobs_start = total;
    total += s.logprobs;
  }
  std::vector<int32_t> ids(rows), top(total), want_top(total);
  std::vector<float> lp(rows + total), want_lp(rows + total);
  const hogwild::Logprobs out{lp.data(), top.data(), lp.data() + rows, total},
      want{want_lp.data(), want_top.data(), want_lp.data() + rows, total};
  hogwild::check_spec_ranges(specs.data(), rows, V, suppress, kSuppress, out);
  if (device == "cuda") hogwild::device_sample_rows(logits.data(), rows, V, specs.data(), suppress, kSuppress, ids.data(), out);
  else hogwild::sample_rows(logits.data(), rows, V, specs.data(), suppress, ids.data(), out);
  int exact = 0, loose = 0, logprob_rows = 0, logprob_bad = 0;
  // equal, both the same infinity, or within 1e-4 (float sums against the reference's double ones)
  auto near = [](float a, float b) { return gap(a, b) <= 1e-4; };
  for (int r = 0; r < rows; r++) {
    const float* l = &logits[size_t(r) * V];
    hogwild::SampleSpec lo = specs[r], hi = specs[r];
    lo.u = 0.f, hi.u = 0.999f;
    const bool one = hogwild::sample_reference(l, V, lo, suppress) == hogwild::sample_reference(l, V, hi, suppress);
    if (ids[r] != hogwild::sample_reference(l, V, specs[r], suppress)) (one || specs[r].temperature == 0 ? exact : loose)++;
    if (!specs[r].logprobs || ids[r] < 0) continue;
    // Against the reference at the device's own id: the top ids exactly (ties broken by id), the values close.
    hogwild::logprobs_reference(l, V, specs[r], r, ids[r], want);
    logprob_rows++;
    bool ok = near(lp[r], want_lp[r]);
    for (int k = specs[r].logprobs_start; k < specs[r].logprobs_start + specs[r].logprobs; k++)
      ok = ok && top[k] == want_top[k] && near(out.logprobs[k], want.logprobs[k]);
    logprob_bad += !ok;
  }
  std::printf("crafted sampling rows on %s: %d rows, mismatches where the rule leaves one choice %d, elsewhere %d; "
              "log-probabilities of %d rows, %d not the reference's (ids in order, values within 1e-4)\n",
              device.c_str(), rows, exact, loose, logprob_rows, logprob_bad);
  const bool refused = refuses_long_suppress(device) & refuses_every_suppressed(device);
  return exact == 0 && loose * 50 <= rows && logprob_bad == 0 && logprob_rows > 100 && refused;
}

// The attention's FLOPs (Q·Kᵀ and P·V: 4 per visible key, head dimension and query head), counted as
// FlashAttention counts them, so that a prefill's rate covers all of its matrix work.
double attention_flops(const hogwild::ModelSpec& s, const hogwild::Plan& p) {
  double keys = 0;
  for (int r = 0; r < p.R; r++)
    for (int t = p.row_token_start[r]; t < p.row_token_start[r + 1]; t++) {
      const int64_t pos = int64_t(p.row_query_start[r]) + (t - p.row_token_start[r]);
      for (int e = p.row_view_start[r]; e < p.row_view_start[r + 1]; e++)
        keys += double(p.visible(e, pos));
    }
  return 4 * keys * s.head_dim * s.heads * s.layers;
}

// What the attention kernels rely on: every token has segments, contiguous in token order; slots numbered
// segment by segment (so a token's slots are one range, as the merge reads them); each segment's visible
// keys are those of its block at its position and its chunks cover them; every (segment, chunk) slot is
// written by exactly one work item of the segment's block; no item serves more than seg_per_item segments;
// and the items fit the grid target whenever one item per block group would.
std::string check_attn_meta(const hogwild::Plan& p, const hogwild::AttnMeta& m, int64_t items_target, int seg_per_item) {
  auto fail = [](const std::string& what) { return what; };
  const int32_t *tss = m.at(m.tok_seg_start), *seg_token = m.at(m.seg_token), *seg_slot = m.at(m.seg_slot),
                *seg_chunks = m.at(m.seg_chunks), *seg_n = m.at(m.seg_n), *seg_rel = m.at(m.seg_rel);
  if (tss[0] != 0 || tss[m.T] != m.S) return fail("tok_seg_start does not span the segments");
  for (int t = 0; t < m.T; t++) {
    if (tss[t + 1] <= tss[t]) return fail("token " + std::to_string(t) + " has no segment");
    for (int s = tss[t]; s < tss[t + 1]; s++)
      if (seg_token[s] != t) return fail("segment " + std::to_string(s) + " is not token " + std::to_string(t) + "'s");
  }
  for (int s = 0; s < m.S; s++) {
    const int next = s + 1 < m.S ? seg_slot[s + 1] : m.slots;
    if ((s == 0 && seg_slot[0] != 0) || next != seg_slot[s] + seg_chunks[s])
      return fail("slots are not numbered segment by segment at segment " + std::to_string(s));
    if (seg_n[s] < 1 || int64_t(seg_chunks[s]) * m.chunk < seg_n[s])
      return fail("segment " + std::to_string(s) + ": its chunks do not cover its keys");
  }
  std::vector<int> written(m.slots, 0), block_of(m.S, -1);
  for (int it = 0; it < m.items; it++) {
    const int b = m.at(m.item_block)[it], c = m.at(m.item_chunk)[it], start = m.at(m.item_seg_start)[it];
    const int count = m.at(m.item_seg_count)[it];
    if (count < 1 || count > seg_per_item) return fail("item " + std::to_string(it) + " serves " + std::to_string(count) + " segments");
    for (int k = 0; k < count; k++) {
      const int s = m.at(m.item_segs)[start + k];
      if (block_of[s] >= 0 && block_of[s] != b) return fail("segment " + std::to_string(s) + " is in items of two blocks");
      block_of[s] = b;
      if (c >= seg_chunks[s]) return fail("item " + std::to_string(it) + ": chunk past segment " + std::to_string(s) + "'s");
      written[seg_slot[s] + c]++;
    }
  }
  for (int i = 0; i < m.slots; i++)
    if (written[i] != 1) return fail("slot " + std::to_string(i) + " is written " + std::to_string(written[i]) + " times");
  // One wave where it can be: if one item per (block, group of segments) fits the target, all items do.
  std::vector<std::pair<int, int>> groups;
  for (int it = 0; it < m.items; it++) groups.emplace_back(m.at(m.item_block)[it], m.at(m.item_seg_start)[it]);
  std::sort(groups.begin(), groups.end());
  const int64_t least = std::unique(groups.begin(), groups.end()) - groups.begin();
  if (least <= items_target && m.items > items_target)
    return fail(std::to_string(m.items) + " items for a target of " + std::to_string(items_target) + " (" + std::to_string(least) + " would do)");
  // Each token visits, in its row's view's order, each block it sees keys of, once: that block, at the token's
  // position relative to the block's offset, its visible keys (Plan::visible).
  for (int r = 0; r < p.R; r++)
    for (int t = p.row_token_start[r]; t < p.row_token_start[r + 1]; t++) {
      const int64_t pos = int64_t(p.row_query_start[r]) + (t - p.row_token_start[r]);
      int s = tss[t];
      for (int e = p.row_view_start[r]; e < p.row_view_start[r + 1]; e++) {
        const int64_t n = p.visible(e, pos);
        if (n <= 0) continue;
        if (s == tss[t + 1]) return fail("token " + std::to_string(t) + " has fewer segments than its view's blocks with keys");
        if (block_of[s] != p.view_block[e] || seg_rel[s] != pos - p.view_offset[e] || seg_n[s] != n)
          return fail("segment " + std::to_string(s) + ": not view entry " + std::to_string(e) + "'s block, position and visible keys");
        s++;
      }
      if (s != tss[t + 1]) return fail("token " + std::to_string(t) + " has more segments than its view's blocks with keys");
    }
  return "";
}

}  // namespace

// The usage, as --help prints it (the flags are explained in the comment at the top).
constexpr const char* kUsage =
    "usage: hogwild-replay FILE [--device cpu|cuda] [--cuda gemm=mma,pdl=1,...] [--tol A] [--rtol R] [--repeat N]\n"
    "                      [--check-sampling] [--path-prefix OLD=NEW] [--only PASS]\n"
    "       hogwild-replay FILE --check-attn-plans\n"
    "       hogwild-replay FILE --sequence N [--device cpu|cuda] [--cuda OPTIONS]\n"
    "Replays a recording's forward passes (engine/record.ts; tools/make-recordings.ts) with no JavaScript: each\n"
    "pass's worst |difference| and relative L2 error to the recorded logits (a pass fails when both exceed --tol\n"
    "and --rtol; defaults 1e-4 and 0), or its time (--repeat N: the median of N after 2 warm-ups, against the\n"
    "bandwidth floor). --check-sampling checks the device's sampling and log-probabilities against the host's\n"
    "rule; --only PASS runs one pass (for profilers); --path-prefix OLD=NEW maps the recorded tensor paths;\n"
    "--check-attn-plans checks every pass's CUDA attention metadata without a model; --sequence N times the\n"
    "passes in recorded order, N rounds after a warm-up. --cuda: the CUDA backend's options (gemm, attention,\n"
    "graphs, pdl, profile).\n"
    "Exits 1 on a failed pass, 2 on bad input.\n";

int main(int argc, char** argv) {
  // --help anywhere: the usage and nothing else (the project's convention: engine/errors.ts parseFlags).
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  const auto refuse = [](const std::string& why) {
    const std::string usage = kUsage;
    std::fprintf(stderr, "error: %s; %s (--help for more)\n", why.c_str(), usage.substr(0, usage.find('\n')).c_str());
    return 2;
  };
  std::string file, device = "cpu", prefix_old, prefix_new;
  hogwild::DeviceOptions options;
  double tol = 1e-4, rtol = 0;
  int repeat = 0, only = -1, sequence = 0;
  bool check_sampling = false, check_plans = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw hogwild::Error("flag " + a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--device") device = value();
      else if (a == "--cuda") options = hogwild::parse_device_options(value());
      else if (a == "--tol") tol = std::stod(value());
      else if (a == "--rtol") rtol = std::stod(value());
      else if (a == "--repeat") repeat = std::stoi(value());
      else if (a == "--check-sampling") check_sampling = true;
      else if (a == "--check-attn-plans") check_plans = true;
      else if (a == "--only") only = std::stoi(value());
      else if (a == "--sequence") sequence = std::stoi(value());
      else if (a == "--path-prefix") {
        const std::string v = value();
        const size_t eq = v.find('=');
        if (eq == std::string::npos) throw hogwild::Error("--path-prefix expects OLD=NEW");
        prefix_old = v.substr(0, eq), prefix_new = v.substr(eq + 1);
      } else if (a.size() > 1 && a[0] == '-') return refuse("unknown flag " + a);
      else if (file.empty()) file = a;
      else return refuse("unexpected argument \"" + a + "\" (one FILE)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
  }
  if (file.empty()) return refuse("no recording FILE");
  try {
    std::ifstream f(file, std::ios::binary);
    if (!f) throw hogwild::Error(file + ": cannot open");
    In in{std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {})};
    if (in.get<uint32_t>() != 0x43525748) throw hogwild::Error(file + ": not a Hogwild! recording");
    if (in.get<uint32_t>() != 1) throw hogwild::Error(file + ": unknown recording version");
    const auto spec_bytes = in.array<uint8_t>(in.get<uint32_t>());
    hogwild::ModelSpec spec = hogwild::decode_spec(spec_bytes.data(), spec_bytes.size());
    if (!prefix_old.empty())
      for (auto& t : spec.tensors)
        if (t.path.compare(0, prefix_old.size(), prefix_old) == 0) t.path = prefix_new + t.path.substr(prefix_old.size());
    const int pages = in.get<int32_t>(), page_size = in.get<int32_t>();
    if (sequence > 0) {
      auto model = load(spec, device, options);
      auto cache = model->new_cache(pages, page_size);
      const uint32_t passes = in.get<uint32_t>();
      std::vector<std::vector<int32_t>> ints(passes);
      std::vector<hogwild::Plan> plans;
      size_t logit_rows = 0, rows = 0;
      for (uint32_t i = 0; i < passes; i++) {
        ints[i] = in.array<int32_t>(in.get<uint32_t>());
        in.array<float>(in.get<uint32_t>());
        plans.push_back(hogwild::decode_plan(ints[i].data(), ints[i].size(), spec.vocab, pages, page_size));
        logit_rows = std::max<size_t>(logit_rows, plans.back().L);
        rows += plans.back().T;
      }
      // As in a run: greedy ids come back, not logits.
      const std::vector<hogwild::SampleSpec> specs(std::max<size_t>(1, logit_rows));
      std::vector<int32_t> ids(specs.size());
      const int32_t no_suppress[1] = {0};
      std::vector<double> rounds;
      for (int r = 0; r <= sequence; r++) {  // round 0 warms up (and captures graphs the first time)
        const double t0 = now_ms();
        for (const auto& p : plans) model->forward_sample(*cache, p, specs.data(), no_suppress, 0, ids.data());
        if (r > 0) rounds.push_back((now_ms() - t0) / passes);
      }
      std::sort(rounds.begin(), rounds.end());
      std::printf("sequence of %u passes (%.1f new tokens a pass) on %s: %.2f ms a pass (median of %d rounds; fastest %.2f)\n",
                  passes, double(rows) / passes, device.c_str(), rounds[rounds.size() / 2], sequence, rounds[0]);
      return 0;
    }
    if (check_plans) {
      const uint32_t passes = in.get<uint32_t>();
      const std::pair<int64_t, int> settings[] = {{33, 12}, {66, 12}, {1, 1}, {7, 3}, {1000, 64}, {33, 2}};  // the first: QwQ-32B on 132 SMs
      hogwild::AttnMetaBuilder builder;
      for (uint32_t i = 0; i < passes; i++) {
        const auto plan_ints = in.array<int32_t>(in.get<uint32_t>());
        in.array<float>(in.get<uint32_t>());
        const hogwild::Plan p = hogwild::decode_plan(plan_ints.data(), plan_ints.size(), spec.vocab, pages, page_size);
        for (const auto& [target, per_item] : settings) {
          const std::string bad = check_attn_meta(p, builder.build(p, page_size, target, per_item), target, per_item);
          if (!bad.empty()) {
            std::printf("attention plan of pass %u (items target %lld, %d segments an item): %s\n", i, (long long)target, per_item, bad.c_str());
            return 1;
          }
        }
      }
      std::printf("attention plans: %u passes × %zu settings: every invariant holds\n", passes, std::size(settings));
      return 0;
    }
    const double t_load = now_ms();
    auto model = load(spec, device, options);
    const double load_s = (now_ms() - t_load) / 1e3;
    auto cache = model->new_cache(pages, page_size);
    const uint32_t passes = in.get<uint32_t>();
    double bandwidth = 0;
    if (repeat > 0) {
      bandwidth = device == "cuda" ? hogwild::device_copy_bandwidth(size_t(1) << 30, 9)
                                   : hogwild::copy_bandwidth(size_t(512) << 20, 7);
      std::printf("model loaded in %.1f s: %.2f GB of weights on %s; copy bandwidth %.0f GB/s (read + write)\n", load_s,
                  model->weight_bytes() / 1e9, device.c_str(), bandwidth / 1e9);
      std::printf("| pass | rows | tokens | ms/pass (median of %d) | GB read | floor ms | ratio | achieved GB/s | matmul TFLOP/s "
                  "| matmul + attention TFLOP/s |\n", repeat);
      std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    double worst = 0, worst_rel = 0;
    int failed = 0, sampled = 0, sample_mismatch = 0, greedy_mismatch = 0, logprob_rows = 0, logprob_id_mismatch = 0;
    double logprob_worst = 0;
    bool key_rotation_ok = true, key_rotation_tried = false;
    const size_t kv_elem = device == "cuda" ? 2 : 4;
    for (uint32_t i = 0; i < passes; i++) {
      const auto plan_ints = in.array<int32_t>(in.get<uint32_t>());
      const auto want = in.array<float>(in.get<uint32_t>());
      const hogwild::Plan p = hogwild::decode_plan(plan_ints.data(), plan_ints.size(), spec.vocab, pages, page_size);
      if (only >= 0 && int(i) != only) continue;
      std::vector<float> got(size_t(p.L) * spec.vocab);
      if (device == "cuda" && !key_rotation_tried)  // once, on the first pass run (the refusal writes nothing)
        key_rotation_tried = true, key_rotation_ok = refuses_key_rotation(*model, *cache, p, got.data());
      const double t0 = now_ms();
      model->forward(*cache, p, got.data());
      const double once = now_ms() - t0;
      if (repeat > 0) {
        std::vector<double> ms;
        for (int r = 0; r < repeat + 2; r++) {
          const double a = now_ms();
          model->forward(*cache, p, got.data());
          if (r >= 2) ms.push_back(now_ms() - a);
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2], bytes = floor_bytes(*model, p, kv_elem), fl = bytes / bandwidth * 1e3;
        const double mm = matmul_flops(spec, p), all = mm + attention_flops(spec, p);
        std::printf("| %u | %d | %d | %.2f | %.2f | %.2f | %.3f | %.0f | %.1f | %.1f |\n", i, p.R, p.T, med, bytes / 1e9, fl,
                    med / fl, bytes / (med / 1e3) / 1e9, mm / (med / 1e3) / 1e12, all / (med / 1e3) / 1e12);
      }
      if (!want.empty()) {
        if (want.size() != got.size()) throw hogwild::Error("recording: pass " + std::to_string(i) + " logits size");
        double err = 0, num = 0, den = 0;
        for (size_t k = 0; k < got.size(); k++) {
          const double d = gap(got[k], want[k]);
          err = std::max(err, d);
          num += d * d;
          den += double(want[k]) * want[k];
        }
        double rel = num == 0 ? 0 : std::sqrt(num / std::max(den, 1e-30));
        if (std::isnan(rel)) rel = INFINITY;  // an infinite or NaN expected logit
        const bool ok = err <= tol || (rtol > 0 && rel <= rtol);
        failed += !ok;
        worst = std::max(worst, err);
        worst_rel = std::max(worst_rel, rel);
        if (repeat == 0)
          std::printf("pass %u rows %d tokens %d logits %d max_abs_diff %.3g rel_l2 %.3g ms %.2f %s\n", i, p.R, p.T, p.L,
                      err, rel, once, ok ? "ok" : "FAIL");
      }
      if (check_sampling && p.L > 0) {
        // Same pass again (it rewrites the same slots with the same values), sampling on the device.
        std::vector<hogwild::SampleSpec> specs(p.L);
        const int32_t suppress[2] = {0, 1};
        int logprobs_total = 0;
        for (int r = 0; r < p.L; r++) {
          specs[r].u = float((r * 7919 + i * 104729) % 1000) / 1000.f;
          specs[r].temperature = r % 4 == 0 ? 0.f : 0.6f + 0.2f * (r % 3);
          specs[r].top_p = r % 2 ? 0.95f : 1.f;
          specs[r].top_k = r % 3 == 1 ? 20 : 0;
          specs[r].min_p = r % 5 == 2 ? 0.05f : 0.f;
          specs[r].suppress_count = r % 3 == 2 ? 0 : 2;  // rows with and without suppressed ids
          specs[r].logprobs = std::min(r % 4 == 3 ? 0 : r % 4 == 0 ? hogwild::kMaxLogprobs : 1 + r % 7, spec.vocab);
          specs[r].logprobs_start = logprobs_total;
          logprobs_total += specs[r].logprobs;
        }
        std::vector<int32_t> ids(p.L), top_ids(logprobs_total), want_ids(logprobs_total);
        std::vector<float> lp(p.L + logprobs_total), want_lp(p.L + logprobs_total);
        const hogwild::Logprobs out{lp.data(), top_ids.data(), lp.data() + p.L, logprobs_total},
            want{want_lp.data(), want_ids.data(), want_lp.data() + p.L, logprobs_total};
        model->forward_sample(*cache, p, specs.data(), suppress, 2, ids.data(), out);
        for (int r = 0; r < p.L; r++) {
          const float* l = got.data() + size_t(r) * spec.vocab;
          const int want_id = hogwild::sample_reference(l, spec.vocab, specs[r], suppress);
          sampled++;
          if (ids[r] != want_id) (specs[r].temperature == 0 ? greedy_mismatch : sample_mismatch)++;
          if (!specs[r].logprobs || ids[r] < 0) continue;
          // Against the reference on the device's own logits: the same values, up to float sums; an id may
          // differ only between near-equal logits (a pass that does not repeat its logits bit for bit).
          hogwild::logprobs_reference(l, spec.vocab, specs[r], r, ids[r], want);
          logprob_rows++;
          logprob_worst = std::max(logprob_worst, gap(lp[r], want_lp[r]));
          for (int k = specs[r].logprobs_start; k < specs[r].logprobs_start + specs[r].logprobs; k++) {
            logprob_worst = std::max(logprob_worst, gap(out.logprobs[k], want.logprobs[k]));
            if (top_ids[k] != want_ids[k] && gap(l[top_ids[k]], l[want_ids[k]]) > 1e-4) logprob_id_mismatch++;
          }
        }
      }
    }
    if (check_sampling)
      std::printf("sampling on %s: %d rows, greedy mismatches %d, sampled mismatches %d (boundary rounding); "
                  "logprobs of %d rows: worst abs diff %.3g, top-id mismatches %d\n",
                  device.c_str(), sampled, greedy_mismatch, sample_mismatch, logprob_rows, logprob_worst,
                  logprob_id_mismatch);
    const bool sampling_ok = greedy_mismatch == 0 && sample_mismatch * 50 <= sampled && logprob_worst <= 1e-4 &&
                             logprob_id_mismatch == 0 && (!check_sampling || crafted_sampling_check(device));
    const bool ok = failed == 0 && sampling_ok && key_rotation_ok;
    std::printf("replayed %u passes on %s: worst max_abs_diff %.3g (tol %.3g), worst rel_l2 %.3g (rtol %.3g): %s\n", passes,
                device.c_str(), worst, tol, worst_rel, rtol, ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
