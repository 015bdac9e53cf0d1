/**
 * The binary formats between the host and the native core, each as a field table with a version word: the
 * same tables as cuda/src/formats.h. The encoders (spec.ts, plan.ts, sampler.ts) walk these tables, and
 * native.ts compares them with the addon's own when it loads it, so the two sides cannot drift unnoticed.
 */

/**
 * Bumped whenever a table here (and in formats.h) or an addon function's signature changes (10: forward returns
 * the first NaN logits row; an addon built before would return nothing, and NaN logits would pass unseen).
 */
export const ABI_VERSION = 10;

export type FieldType = "i32" | "u32" | "u64" | "f64" | "str" | "u64[]" | "f64[]";

/** The model spec message: these fields in order, then `tensors` tensor records (engine/spec.ts). */
export const SPEC_MAGIC = 0x534d5748; // "HWMS"
export const SPEC_FIELDS = [
  ["magic", "u32"],
  ["version", "u32"],
  ["hidden", "i32"],
  ["intermediate", "i32"],
  ["layers", "i32"],
  ["heads", "i32"],
  ["kv_heads", "i32"],
  ["head_dim", "i32"],
  ["rotary_dim", "i32"],
  ["vocab", "i32"],
  ["rms_eps", "f64"],
  ["rope_inv_freq", "f64[]"],
  ["flags", "u32"],
  ["random_seed", "u64"],
  ["quant", "u32"],
  ["awq_group", "i32"],
  ["fp8_block_rows", "i32"],
  ["fp8_block_cols", "i32"],
  ["experts", "i32"],
  ["experts_per_tok", "i32"],
  ["moe_intermediate", "i32"],
  ["sparse_layers", "u64[]"],
  ["tensors", "u32"],
] as const satisfies readonly (readonly [string, FieldType])[];
export const TENSOR_FIELDS = [
  ["name", "str"],
  ["file", "str"],
  ["offset", "u64"],
  ["nbytes", "u64"],
  ["stride", "u64"],
  ["dtype", "u32"],
  ["shape", "u64[]"],
] as const satisfies readonly (readonly [string, FieldType])[];
/** The spec's enums: a name's code is its index (dtype in each tensor record, quant once). */
export const DTYPE_CODES = ["BF16", "F16", "F32", "I32", "F8_E4M3"] as const;
export const QUANT_CODES = ["none", "awq", "fp8"] as const;
/** The spec's flags: a name's bit is 1 << its index. */
export const SPEC_FLAGS = ["qkv_bias", "qk_norm", "tied_embeddings", "random", "norm_topk"] as const;

/** The plan of one pass (engine/plan.ts): an int32 header, then sections of a count's length plus `plus`. */
export const PLAN_MAGIC = 0x4c505748; // "HWPL"
export const PLAN_HEADER = ["magic", "version", "T", "R", "B", "E", "L", "flags", "P"] as const;
export type PlanCount = "T" | "R" | "B" | "E" | "L" | "P";
export const PLAN_SECTIONS: readonly { name: string; count: PlanCount; plus: number }[] = [
  { name: "tokens", count: "T", plus: 0 },
  { name: "row_token_start", count: "R", plus: 1 },
  { name: "row_block", count: "R", plus: 0 },
  { name: "row_write_start", count: "R", plus: 0 },
  { name: "row_query_start", count: "R", plus: 0 },
  { name: "row_view_start", count: "R", plus: 1 },
  { name: "view_block", count: "E", plus: 0 },
  { name: "view_offset", count: "E", plus: 0 },
  { name: "view_full", count: "E", plus: 0 },
  { name: "block_len", count: "B", plus: 0 },
  { name: "block_page_start", count: "B", plus: 1 },
  { name: "block_pages", count: "P", plus: 0 },
  { name: "logit_tokens", count: "L", plus: 0 },
];

/** A sampled row's spec: float32 fields in this order (engine/sampler.ts). */
export const SAMPLE_FIELDS = [
  "temperature",
  "top_p",
  "min_p",
  "u",
  "top_k",
  "suppress_start",
  "suppress_count",
  "logprobs",
  "logprobs_start",
] as const;

/** What the addon's abi() says: the same tables, flattened. */
export interface Abi {
  version: number;
  spec: string[];
  tensor: string[];
  planHeader: string[];
  plan: string[];
  sample: string[];
  dtypes: string[];
  quants: string[];
  flags: string[];
}

/** These tables as the addon's abi() writes them. */
export function hostAbi(): Abi {
  return {
    version: ABI_VERSION,
    spec: SPEC_FIELDS.map(([n, t]) => `${n}:${t}`),
    tensor: TENSOR_FIELDS.map(([n, t]) => `${n}:${t}`),
    planHeader: [...PLAN_HEADER],
    plan: PLAN_SECTIONS.map((s) => `${s.name}:${s.count}${s.plus ? `+${s.plus}` : ""}`),
    sample: [...SAMPLE_FIELDS],
    dtypes: [...DTYPE_CODES],
    quants: [...QUANT_CODES],
    flags: [...SPEC_FLAGS],
  };
}

/** The first difference between the host's tables and the addon's, or undefined. */
export function abiDifference(addon: Abi): string | undefined {
  const host = hostAbi();
  for (const k of Object.keys(host) as (keyof Abi)[]) {
    if (JSON.stringify(host[k]) !== JSON.stringify(addon[k])) {
      return `${k}: the host has ${JSON.stringify(host[k])}, the addon ${JSON.stringify(addon[k])}`;
    }
  }
  return undefined;
}
