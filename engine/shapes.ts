/**
 * Named shapes of real checkpoints, for `random:NAME` models: the same dimensions with random weights made
 * in memory, so that benchmarks need no download. `qwen3-demo` is the project's own tiny model: a few layers
 * with the real Qwen3 vocabulary, so that the real tokenizer and chat template drive it.
 */
import type { ModelConfig } from "./config.ts";
import { InputError } from "./errors.ts";

const qwen = {
  rmsEps: 1e-6,
  rope: { theta: 1e6, type: "default", factor: 1, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
  dtype: "BF16",
} as const;
const llamaRope = (
  factor: number,
) => ({ theta: 5e5, type: "llama3", factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } as const);

type Shape = Omit<ModelConfig, "rmsEps" | "rope" | "dtype" | "qkvBias" | "qkNorm"> & Partial<ModelConfig>;

function model(s: Shape): ModelConfig {
  return { ...qwen, qkvBias: s.family === "qwen2", qkNorm: s.family === "qwen3", ...s };
}

const QWQ_32B = model({
  family: "qwen2",
  hidden: 5120,
  intermediate: 27648,
  layers: 64,
  heads: 40,
  kvHeads: 8,
  headDim: 128,
  vocab: 152064,
  tiedEmbeddings: false,
});
const QWEN3_32B = model({
  family: "qwen3",
  hidden: 5120,
  intermediate: 25600,
  layers: 64,
  heads: 64,
  kvHeads: 8,
  headDim: 128,
  vocab: 151936,
  tiedEmbeddings: false,
});

export const SHAPES: Record<string, ModelConfig> = {
  "qwen3-demo": model({
    family: "qwen3",
    hidden: 64,
    intermediate: 128,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 32,
    vocab: 151936,
    tiedEmbeddings: true,
  }),
  "qwen2.5-0.5b": model({
    family: "qwen2",
    hidden: 896,
    intermediate: 4864,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    headDim: 64,
    vocab: 151936,
    tiedEmbeddings: true,
  }),
  "qwen2.5-1.5b": model({
    family: "qwen2",
    hidden: 1536,
    intermediate: 8960,
    layers: 28,
    heads: 12,
    kvHeads: 2,
    headDim: 128,
    vocab: 151936,
    tiedEmbeddings: true,
  }),
  "qwen2.5-7b": model({
    family: "qwen2",
    hidden: 3584,
    intermediate: 18944,
    layers: 28,
    heads: 28,
    kvHeads: 4,
    headDim: 128,
    vocab: 152064,
    tiedEmbeddings: false,
  }),
  "qwq-32b": QWQ_32B,
  "qwen3-0.6b": model({
    family: "qwen3",
    hidden: 1024,
    intermediate: 3072,
    layers: 28,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    vocab: 151936,
    tiedEmbeddings: true,
  }),
  "qwen3-1.7b": model({
    family: "qwen3",
    hidden: 2048,
    intermediate: 6144,
    layers: 28,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    vocab: 151936,
    tiedEmbeddings: true,
  }),
  "qwen3-8b": model({
    family: "qwen3",
    hidden: 4096,
    intermediate: 12288,
    layers: 36,
    heads: 32,
    kvHeads: 8,
    headDim: 128,
    vocab: 151936,
    tiedEmbeddings: false,
  }),
  "qwen3-32b": QWEN3_32B,
  "qwen3-30b-a3b": model({
    family: "qwen3",
    hidden: 2048,
    intermediate: 6144,
    layers: 48,
    heads: 32,
    kvHeads: 4,
    headDim: 128,
    vocab: 151936,
    tiedEmbeddings: false,
    moe: {
      experts: 128,
      topK: 8,
      normTopk: true,
      intermediate: 768,
      sparseLayers: Array.from({ length: 48 }, (_, l) => l),
    },
  }),
  // The quantised releases: the same shapes, their decoder linear layers packed as the hub ships them.
  "qwq-32b-awq": { ...QWQ_32B, dtype: "F16", quant: { method: "awq", groupSize: 128 } },
  "qwen3-32b-fp8": { ...QWEN3_32B, quant: { method: "fp8", block: [128, 128] } },
  "llama3.2-1b": model({
    family: "llama",
    hidden: 2048,
    intermediate: 8192,
    layers: 16,
    heads: 32,
    kvHeads: 8,
    headDim: 64,
    vocab: 128256,
    tiedEmbeddings: true,
    rope: llamaRope(32),
  }),
  "llama3.1-8b": model({
    family: "llama",
    hidden: 4096,
    intermediate: 14336,
    layers: 32,
    heads: 32,
    kvHeads: 8,
    headDim: 128,
    vocab: 128256,
    tiedEmbeddings: false,
    rope: llamaRope(8),
  }),
  // Phi-4 (14B) and Phi-4-reasoning(-plus), the paper's Phi-4-R+: Phi3ForCausalLM, head_dim 5120 / 40 = 128,
  // the whole head rotated (partial_rotary_factor 1), untied lm_head; rope_theta 5e5 as Phi-4-reasoning's
  // 32k-context config has it (phi-4 itself: 2.5e5). Random weights are made per canonical tensor, so the
  // checkpoint's fused qkv_proj / gate_up_proj make no difference here.
  "phi-4": model({
    family: "phi3",
    hidden: 5120,
    intermediate: 17920,
    layers: 40,
    heads: 40,
    kvHeads: 10,
    headDim: 128,
    vocab: 100352,
    tiedEmbeddings: false,
    rmsEps: 1e-5,
    rope: { ...qwen.rope, theta: 5e5 },
    fusedProjections: true,
  }),
};

/** The config of `random:NAME`. */
export function shapeConfig(name: string): ModelConfig {
  const c = SHAPES[name];
  if (!c) throw new InputError(`random:${name}: unknown shape; known: ${Object.keys(SHAPES).join(", ")}`);
  return c;
}
