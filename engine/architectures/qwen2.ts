/** Qwen2.5, QwQ-32B and DeepSeek-R1-Distill-Qwen: Llama's decoder with biases on the q/k/v projections. */
import type { Architecture, Shape } from "./architecture.ts";

const QWQ_32B: Shape = {
  hidden: 5120,
  intermediate: 27648,
  layers: 64,
  heads: 40,
  kvHeads: 8,
  headDim: 128,
  vocab: 152064,
  tiedEmbeddings: false,
  maxPositions: 40960,
};

export const QWEN2: Architecture = {
  name: "qwen2",
  modelTypes: { qwen2: "Qwen2.5, QwQ-32B, DeepSeek-R1-Distill-Qwen" },
  // Qwen2Config: a fixed 32 key/value heads where the field is missing (num_attention_heads only where it is null)
  defaults: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
    num_key_value_heads: 32,
  },
  qkvBias: true,
  // Qwen2Config: sliding_window 4096 where use_sliding_window is set, from layer max_window_layers (28) on
  slidingWindow: { window: 4096, gated: true, maxWindowLayers: 28 },
  qwenVocabulary: true,
  shapes: {
    "qwen2.5-0.5b": {
      hidden: 896,
      intermediate: 4864,
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      vocab: 151936,
      tiedEmbeddings: true,
      // the -Instruct releases' (a base or R1-distilled checkpoint states its own)
      maxPositions: 32768,
    },
    "qwen2.5-1.5b": {
      hidden: 1536,
      intermediate: 8960,
      layers: 28,
      heads: 12,
      kvHeads: 2,
      headDim: 128,
      vocab: 151936,
      tiedEmbeddings: true,
      maxPositions: 32768,
    },
    "qwen2.5-7b": {
      hidden: 3584,
      intermediate: 18944,
      layers: 28,
      heads: 28,
      kvHeads: 4,
      headDim: 128,
      vocab: 152064,
      tiedEmbeddings: false,
      maxPositions: 32768,
    },
    "qwq-32b": QWQ_32B,
    // the hub's AWQ release: the same shape, its decoder linear layers packed as it ships them
    "qwq-32b-awq": { ...QWQ_32B, dtype: "F16", quant: { method: "awq", groupSize: 128 } },
  },
};
