/** Qwen3 (dense): Llama's decoder with a per-head RMSNorm of queries and keys before RoPE. */
import type { Architecture, Shape } from "./architecture.ts";

const QWEN3_32B: Shape = {
  hidden: 5120,
  intermediate: 25600,
  layers: 64,
  heads: 64,
  kvHeads: 8,
  headDim: 128,
  vocab: 151936,
  tiedEmbeddings: false,
  maxPositions: 40960,
};

export const QWEN3: Architecture = {
  name: "qwen3",
  modelTypes: { qwen3: "Qwen3" },
  // Qwen3Config: fixed numbers of key/value heads and head dimensions, not derived from the other fields
  defaults: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
    num_key_value_heads: 32,
    head_dim: 128,
  },
  qkNorm: true,
  // Qwen3Config: as Qwen2Config
  slidingWindow: { window: 4096, gated: true, maxWindowLayers: 28 },
  qwenVocabulary: true,
  shapes: {
    // the project's own tiny model: a few layers with the real Qwen3 vocabulary, so that the real tokenizer and
    // chat template drive it
    "qwen3-demo": {
      hidden: 64,
      intermediate: 128,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 32,
      vocab: 151936,
      tiedEmbeddings: true,
      // as the demo model's config
      maxPositions: 2048,
    },
    "qwen3-0.6b": {
      hidden: 1024,
      intermediate: 3072,
      layers: 28,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      vocab: 151936,
      tiedEmbeddings: true,
      maxPositions: 40960,
    },
    "qwen3-1.7b": {
      hidden: 2048,
      intermediate: 6144,
      layers: 28,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      vocab: 151936,
      tiedEmbeddings: true,
      maxPositions: 40960,
    },
    "qwen3-8b": {
      hidden: 4096,
      intermediate: 12288,
      layers: 36,
      heads: 32,
      kvHeads: 8,
      headDim: 128,
      vocab: 151936,
      tiedEmbeddings: false,
      maxPositions: 40960,
    },
    "qwen3-32b": QWEN3_32B,
    // the hub's FP8 release: the same shape, its decoder linear layers in e4m3 with a scale per 128×128 block
    "qwen3-32b-fp8": { ...QWEN3_32B, quant: { method: "fp8", block: [128, 128] } },
  },
};
