/**
 * Qwen3-MoE (Qwen3-30B-A3B, Qwen3-235B-A22B): Qwen3's attention, and in its sparse layers a router that sends
 * each token to its top-k of many small MLPs.
 */
import type { ModelConfig, MoeConfig } from "../config.ts";
import { check, intField } from "../errors.ts";
import type { Architecture } from "./architecture.ts";

/** The mixture-of-experts fields of a qwen3_moe config. */
function readMoe(c: Record<string, unknown>, file: string, layers: number): MoeConfig {
  check(
    !c.shared_expert_intermediate_size,
    `${file}: shared experts (shared_expert_intermediate_size) are not supported; supported: Qwen3-MoE routing`,
  );
  // Qwen3MoeConfig's attribute_map makes num_local_experts another name of num_experts (the one it stores, so it
  // wins where both are given): either is read, and two that differ are refused.
  const local = c.num_local_experts ?? undefined;
  check(
    local === undefined || c.num_experts == null || local === c.num_experts,
    `${file}: num_experts (${JSON.stringify(c.num_experts)}) and num_local_experts (${
      JSON.stringify(local)
    }) disagree: they name one setting (Qwen3MoeConfig's attribute_map); keep one`,
  );
  const experts = intField(c, local === undefined ? "num_experts" : "num_local_experts", file);
  const topK = intField(c, "num_experts_per_tok", file);
  check(topK <= experts, `${file}: num_experts_per_tok (${topK}) is more than num_experts (${experts})`);
  const step = intField(c, "decoder_sparse_step", file, 1);
  const only = c.mlp_only_layers ?? [];
  check(
    Array.isArray(only) && only.every((l) => Number.isInteger(l) && l >= 0 && l < layers),
    `${file}: mlp_only_layers must be a list of layer numbers below ${layers}, got ${JSON.stringify(only)}`,
  );
  check(
    c.norm_topk_prob === undefined || typeof c.norm_topk_prob === "boolean",
    `${file}: field "norm_topk_prob" must be true or false`,
  );
  const sparseLayers = Array.from({ length: layers }, (_, l) => l).filter((l) =>
    !(only as number[]).includes(l) && (l + 1) % step === 0
  );
  return {
    experts,
    topK,
    normTopk: c.norm_topk_prob === true,
    intermediate: intField(c, "moe_intermediate_size", file),
    sparseLayers,
  };
}

export const QWEN3_MOE: Architecture = {
  name: "qwen3_moe",
  modelTypes: { qwen3_moe: "Qwen3-MoE: Qwen3-30B-A3B, Qwen3-235B-A22B" },
  // Qwen3MoeConfig: 4 key/value heads; no head_dim of its own (Qwen3MoeAttention derives it)
  defaults: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
    num_key_value_heads: 4,
  },
  qkNorm: true,
  // Qwen3MoeConfig: sliding_window 4096 where use_sliding_window is set, on every layer (no layer_types read)
  slidingWindow: { window: 4096, gated: true },
  qwenVocabulary: true,
  read: (c, file, config): ModelConfig => ({ ...config, moe: readMoe(c, file, config.layers) }),
  shapes: {
    "qwen3-30b-a3b": {
      hidden: 2048,
      intermediate: 6144,
      layers: 48,
      heads: 32,
      kvHeads: 4,
      headDim: 128,
      vocab: 151936,
      tiedEmbeddings: false,
      maxPositions: 40960,
      moe: {
        experts: 128,
        topK: 8,
        normTopk: true,
        intermediate: 768,
        sparseLayers: Array.from({ length: 48 }, (_, l) => l),
      },
    },
  },
};
