/** Llama 3.x and DeepSeek-R1-Distill-Llama: the plain decoder the others differ from. */
import { type Architecture, DEFAULT_ROPE } from "./architecture.ts";

const rope = (factor: number) => ({ ...DEFAULT_ROPE, theta: 5e5, type: "llama3", factor }) as const;

export const LLAMA: Architecture = {
  name: "llama",
  modelTypes: { llama: "Llama 3.x, DeepSeek-R1-Distill-Llama" },
  // LlamaConfig
  defaults: { rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false, max_position_embeddings: 2048 },
  // LlamaMLP: bias=config.mlp_bias
  mlpBias: true,
  shapes: {
    "llama3.2-1b": {
      hidden: 2048,
      intermediate: 8192,
      layers: 16,
      heads: 32,
      kvHeads: 8,
      headDim: 64,
      vocab: 128256,
      tiedEmbeddings: true,
      maxPositions: 131072,
      // Llama 3.x's config.json (LlamaConfig's default, 1e-6, is a config without the field's)
      rmsEps: 1e-5,
      rope: rope(32),
    },
    "llama3.1-8b": {
      hidden: 4096,
      intermediate: 14336,
      layers: 32,
      heads: 32,
      kvHeads: 8,
      headDim: 128,
      vocab: 128256,
      tiedEmbeddings: false,
      maxPositions: 131072,
      rmsEps: 1e-5,
      rope: rope(8),
    },
  },
};
