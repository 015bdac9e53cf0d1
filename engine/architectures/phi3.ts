/**
 * Phi-3 (Phi3ForCausalLM: Phi-4, Phi-4-reasoning(-plus)): Llama's maths, its projections stored fused
 * (`qkv_proj` rows q, k, v; `gate_up_proj` rows gate, up), RoPE on part of each head where
 * partial_rotary_factor says so, unscaled RoPE only, and `sliding_window` read whatever use_sliding_window says.
 */
import { type Architecture, DEFAULT_ROPE } from "./architecture.ts";

export const PHI3: Architecture = {
  name: "phi3",
  modelTypes: { phi3: "Phi-4, Phi-4-reasoning(-plus)" },
  // Phi3Config
  defaults: { rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false, max_position_embeddings: 4096 },
  // Phi3Config refuses every scaling but longrope (Phi-3.5, Phi-4-mini), which the engine does not implement
  ropeTypes: ["default"],
  partialRotary: true,
  fused: {
    "self_attn.qkv_proj": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
    "mlp.gate_up_proj": ["mlp.gate_proj", "mlp.up_proj"],
  },
  // transformers' Phi-3 attention applies sliding_window (default none) to every layer, use_sliding_window or not
  slidingWindow: { window: null, gated: false },
  shapes: {
    // Phi-4 (14B) and Phi-4-reasoning(-plus), the paper's Phi-4-R+: head_dim 5120 / 40 = 128, the whole head
    // rotated (partial_rotary_factor 1), untied lm_head; rope_theta 5e5 as Phi-4-reasoning's 32k-context config
    // has it (phi-4 itself: 2.5e5). Random weights are made per canonical tensor, so the fused storage makes
    // no difference here.
    "phi-4": {
      hidden: 5120,
      intermediate: 17920,
      layers: 40,
      heads: 40,
      kvHeads: 10,
      headDim: 128,
      vocab: 100352,
      tiedEmbeddings: false,
      // Phi-4-reasoning's (phi-4 itself: 16384)
      maxPositions: 32768,
      rmsEps: 1e-5,
      rope: { ...DEFAULT_ROPE, theta: 5e5 },
    },
  },
};
