/**
 * What makes one model architecture: the config.json `model_type`s it reads, the core's features it switches
 * on, how its checkpoints name the core's tensors, and the shapes of its real checkpoints (`random:NAME`).
 * An architecture whose maths the core already has is one file in this folder and one line in registry.ts.
 */
import type { ModelConfig, RopeType } from "../config.ts";

/** A real checkpoint's dimensions; the features come from its architecture, the rest has Qwen's defaults. */
export type Shape =
  & Omit<ModelConfig, "family" | "rmsEps" | "rope" | "dtype" | "qkvBias" | "qkNorm" | "maxPositions">
  & Partial<Pick<ModelConfig, "rmsEps" | "rope" | "dtype">>
  // its checkpoint's max_position_embeddings: a random model runs only where the real one would
  & Required<Pick<ModelConfig, "maxPositions">>;

/**
 * What transformers' config class for an architecture (its configuration_*.py) takes for a config.json field the
 * file leaves out: a config is read as transformers reads it, never with another architecture's default (Phi-3's
 * norm epsilon is 1e-5, Qwen's 1e-6). num_key_value_heads and head_dim, where not given here, are derived as
 * transformers derives them: num_attention_heads, and hidden_size / num_attention_heads.
 */
export interface ConfigDefaults {
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  /** the positions a pass may reach (ModelConfig.maxPositions) where the file says none */
  max_position_embeddings: number;
  num_key_value_heads?: number;
  head_dim?: number;
}

export interface Architecture {
  /** ModelConfig.family: how records and messages name it */
  name: string;
  /** its transformers config class's defaults for the fields parseConfig reads */
  defaults: ConfigDefaults;
  /** config.json's `model_type` values it reads, each with the checkpoints it covers (error messages list them) */
  modelTypes: Readonly<Record<string, string>>;
  /** q/k/v projections carry biases (Qwen2); `attention_bias` is refused for the others */
  qkvBias?: true;
  /** its transformers class reads `mlp_bias` (Llama), which is then refused; the others ignore it */
  mlpBias?: true;
  /** per-head RMSNorm of queries and keys before RoPE (Qwen3) */
  qkNorm?: true;
  /** the RoPE scalings its transformers model takes, of the engine's (all where absent); the others refused by name */
  ropeTypes?: readonly RopeType[];
  /** partial_rotary_factor below 1 is honoured (Phi-3); the others refuse it */
  partialRotary?: true;
  /**
   * Projections the checkpoint stores fused: the fused module → its parts in row order (module names as
   * `moduleName` writes them). The host hands the core each part as its own tensor, a row range of the file.
   */
  fused?: Readonly<Record<string, readonly string[]>>;
  /**
   * The sliding window of its transformers class, where it has one (the engine has none, so a config where a
   * layer would slide is refused; without one, `use_sliding_window` is): `sliding_window` (`window` where the file
   * leaves it out), in effect only where `use_sliding_window` is set when `gated` (Phi-3 applies it whatever that
   * says), on every layer, or where `maxWindowLayers` is given on those `layer_types` names "sliding_attention",
   * by default the layers from `max_window_layers` (that default) on (Qwen2, Qwen3).
   */
  slidingWindow?: { window: number | null; gated: boolean; maxWindowLayers?: number };
  /** its vocabulary's first ids are Qwen's: `random:` shapes are driven by the Qwen3 tokenizer */
  qwenVocabulary?: true;
  /** Its own config fields: `config` (what every architecture reads) checked and extended, or refused by name. */
  read?(c: Record<string, unknown>, file: string, config: ModelConfig): ModelConfig;
  /** real checkpoints' shapes, for `random:NAME` (benchmarks with random weights) */
  shapes: Readonly<Record<string, Shape>>;
}

/** Unscaled RoPE at Qwen's theta: the default of a shape, and the base of one with another theta. */
export const DEFAULT_ROPE = {
  theta: 1e6,
  type: "default",
  factor: 1,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositions: 8192,
} as const;

/** The defaults a shape does not state: Qwen's norm epsilon and RoPE, bf16 weights. */
const DEFAULTS = { rmsEps: 1e-6, rope: DEFAULT_ROPE, dtype: "BF16" } as const;

/** A shape's whole config: its architecture's features, its dimensions, the defaults it does not override. */
export function shapeOf(a: Architecture, s: Shape): ModelConfig {
  return { ...DEFAULTS, family: a.name, qkvBias: a.qkvBias === true, qkNorm: a.qkNorm === true, ...s };
}

/**
 * The Hugging Face module (without `.weight`/`.bias`) of a canonical tensor's part: the core's names
 * (engine/spec.ts SpecTensor.name, without the layer and expert prefix) as Llama-style checkpoints write them.
 */
export const MODULES: Readonly<Record<string, string>> = {
  attn_norm: "input_layernorm",
  mlp_norm: "post_attention_layernorm",
  q: "self_attn.q_proj",
  k: "self_attn.k_proj",
  v: "self_attn.v_proj",
  o: "self_attn.o_proj",
  q_bias: "self_attn.q_proj",
  k_bias: "self_attn.k_proj",
  v_bias: "self_attn.v_proj",
  q_norm: "self_attn.q_norm",
  k_norm: "self_attn.k_norm",
  gate: "mlp.gate_proj",
  up: "mlp.up_proj",
  down: "mlp.down_proj",
  router: "mlp.gate",
};
