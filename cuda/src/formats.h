// The binary formats between the host and the core, each described once, as a field table with a version
// word. engine/formats.ts holds the same tables; the host compares them with the addon's abi() when it loads
// it, and the decoders here walk these tables, so neither side can drift from the other unnoticed.
#pragma once
#include <cstdint>
#include <iterator>

#include "hogwild.h"

namespace hogwild::formats {

// Bumped whenever a table below or an addon function's signature changes (engine/formats.ts says which).
constexpr uint32_t kAbiVersion = 10;

// The model spec message (engine/spec.ts writes it): little-endian fields in this order, then `tensors`
// tensor records. Types: i32, u32, u64, f64; str is a u32 byte length and UTF-8; u64[] a u32 count and u64s.
struct Field {
  const char* name;
  const char* type;
};
constexpr uint32_t kSpecMagic = 0x534d5748;  // "HWMS"
constexpr Field kSpecFields[] = {
    {"magic", "u32"},         {"version", "u32"},     {"hidden", "i32"},           {"intermediate", "i32"},
    {"layers", "i32"},        {"heads", "i32"},       {"kv_heads", "i32"},         {"head_dim", "i32"},
    {"rotary_dim", "i32"},    {"vocab", "i32"},       {"rms_eps", "f64"},          {"rope_inv_freq", "f64[]"},
    {"flags", "u32"},         {"random_seed", "u64"}, {"quant", "u32"},            {"awq_group", "i32"},
    {"fp8_block_rows", "i32"}, {"fp8_block_cols", "i32"}, {"experts", "i32"},      {"experts_per_tok", "i32"},
    {"moe_intermediate", "i32"}, {"sparse_layers", "u64[]"}, {"tensors", "u32"},
};
constexpr Field kTensorFields[] = {
    {"name", "str"}, {"file", "str"}, {"offset", "u64"}, {"nbytes", "u64"}, {"stride", "u64"}, {"dtype", "u32"},
    {"shape", "u64[]"},
};
// The codes of the spec's enums (a name's code is its index) and its flags (a name's bit is 1 << index).
constexpr const char* kDTypeCodes[] = {"BF16", "F16", "F32", "I32", "F8_E4M3"};
constexpr const char* kQuantCodes[] = {"none", "awq", "fp8"};
constexpr const char* kSpecFlags[] = {"qkv_bias", "qk_norm", "tied_embeddings", "random", "norm_topk"};
static_assert(uint32_t(DType::F8_E4M3) == 4 && std::size(kDTypeCodes) == 5, "DType follows kDTypeCodes");
static_assert(uint32_t(Quant::Fp8) == 2 && std::size(kQuantCodes) == 3, "Quant follows kQuantCodes");
constexpr uint32_t kQkvBias = 1, kQkNorm = 2, kTiedEmbeddings = 4, kRandom = 8, kNormTopk = 16;
static_assert(kNormTopk == 1u << (std::size(kSpecFlags) - 1), "the flag bits follow kSpecFlags");

// The plan of one forward pass (engine/plan.ts writes it): an int32 header, then int32 sections, each of a
// count's length (one of the header's T, R, B, E, L, P) plus `plus`.
constexpr int32_t kPlanMagic = 0x4c505748;  // "HWPL"
constexpr const char* kPlanHeader[] = {"magic", "version", "T", "R", "B", "E", "L", "flags", "P"};
constexpr int kPlanHeaderWords = sizeof(kPlanHeader) / sizeof(kPlanHeader[0]);
struct PlanSection {
  const char* name;
  char count;
  int plus;
  const int32_t* Plan::*member;
};
constexpr PlanSection kPlanSections[] = {
    {"tokens", 'T', 0, &Plan::tokens},
    {"row_token_start", 'R', 1, &Plan::row_token_start},
    {"row_block", 'R', 0, &Plan::row_block},
    {"row_write_start", 'R', 0, &Plan::row_write_start},
    {"row_query_start", 'R', 0, &Plan::row_query_start},
    {"row_view_start", 'R', 1, &Plan::row_view_start},
    {"view_block", 'E', 0, &Plan::view_block},
    {"view_offset", 'E', 0, &Plan::view_offset},
    {"view_full", 'E', 0, &Plan::view_full},
    {"block_len", 'B', 0, &Plan::block_len},
    {"block_page_start", 'B', 1, &Plan::block_page_start},
    {"block_pages", 'P', 0, &Plan::block_pages},
    {"logit_tokens", 'L', 0, &Plan::logit_tokens},
};

// A sampled row's spec: float32 fields in this order, one record per logits row (SampleSpec).
constexpr const char* kSampleFields[] = {"temperature",    "top_p",    "min_p",         "u", "top_k", "suppress_start",
                                         "suppress_count", "logprobs", "logprobs_start"};
constexpr int kSampleFloats = sizeof(kSampleFields) / sizeof(kSampleFields[0]);

}  // namespace hogwild::formats
