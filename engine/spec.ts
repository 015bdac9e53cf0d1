/**
 * The model spec handed to the native core: dimensions, RoPE, and where every canonical tensor's bytes are.
 * Hugging Face tensor names are mapped to the core's canonical names here, and checked against the config,
 * so that a bad checkpoint is refused with its file and tensor named before any byte is read.
 */
import type { DType, ModelConfig } from "./config.ts";
import { check } from "./errors.ts";
import type { TensorInfo } from "./safetensors.ts";
import { ABI_VERSION, type FieldType, SPEC_FIELDS, SPEC_FLAGS, SPEC_MAGIC, TENSOR_FIELDS } from "./formats.ts";

export interface SpecTensor {
  /** canonical name: embed, lm_head, norm, L{i}.{attn_norm,q,k,v,o,q_bias,k_bias,v_bias,q_norm,k_norm,mlp_norm,gate,up,down} */
  name: string;
  file: string;
  offset: number;
  nbytes: number;
  dtype: DType;
  shape: number[];
}

export interface ModelSpec {
  config: ModelConfig;
  /** weights made in memory from this seed (benchmarks), instead of `tensors` */
  randomSeed?: number;
  tensors: SpecTensor[];
}

/** The canonical tensors of a model with their Hugging Face names and expected shapes. */
export function expectedTensors(c: ModelConfig): { name: string; hf: string; shape: number[] }[] {
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  const t = [
    { name: "embed", hf: "model.embed_tokens.weight", shape: [c.vocab, c.hidden] },
    { name: "norm", hf: "model.norm.weight", shape: [c.hidden] },
  ];
  if (!c.tiedEmbeddings) t.push({ name: "lm_head", hf: "lm_head.weight", shape: [c.vocab, c.hidden] });
  for (let i = 0; i < c.layers; i++) {
    const L = `L${i}.`, hf = `model.layers.${i}.`;
    t.push(
      { name: L + "attn_norm", hf: hf + "input_layernorm.weight", shape: [c.hidden] },
      { name: L + "q", hf: hf + "self_attn.q_proj.weight", shape: [q, c.hidden] },
      { name: L + "k", hf: hf + "self_attn.k_proj.weight", shape: [kv, c.hidden] },
      { name: L + "v", hf: hf + "self_attn.v_proj.weight", shape: [kv, c.hidden] },
      { name: L + "o", hf: hf + "self_attn.o_proj.weight", shape: [c.hidden, q] },
    );
    if (c.qkvBias) {
      t.push(
        { name: L + "q_bias", hf: hf + "self_attn.q_proj.bias", shape: [q] },
        { name: L + "k_bias", hf: hf + "self_attn.k_proj.bias", shape: [kv] },
        { name: L + "v_bias", hf: hf + "self_attn.v_proj.bias", shape: [kv] },
      );
    }
    if (c.qkNorm) {
      t.push(
        { name: L + "q_norm", hf: hf + "self_attn.q_norm.weight", shape: [c.headDim] },
        { name: L + "k_norm", hf: hf + "self_attn.k_norm.weight", shape: [c.headDim] },
      );
    }
    t.push(
      { name: L + "mlp_norm", hf: hf + "post_attention_layernorm.weight", shape: [c.hidden] },
      { name: L + "gate", hf: hf + "mlp.gate_proj.weight", shape: [c.intermediate, c.hidden] },
      { name: L + "up", hf: hf + "mlp.up_proj.weight", shape: [c.intermediate, c.hidden] },
      { name: L + "down", hf: hf + "mlp.down_proj.weight", shape: [c.hidden, c.intermediate] },
    );
  }
  return t;
}

/** Tensors a checkpoint may hold that no architecture here reads: computed buffers, never weights. */
const HARMLESS = [/\.rotary_emb\.inv_freq$/];

/**
 * Maps a checkpoint's tensors onto the config; `dir` names the checkpoint in errors. A tensor the config's
 * architecture does not use is an error: it means the config and the weights disagree (a layer count too
 * small, another model_type), which would otherwise run with part of the model ignored.
 */
export function specFromCheckpoint(config: ModelConfig, tensors: Map<string, TensorInfo>, dir: string): ModelSpec {
  // The layer count first: a wrong one (say 10^9) must not build a tensor list that long.
  const layers = 1 +
    Math.max(-1, ...[...tensors.keys()].map((n) => Number(/^model\.layers\.(\d+)\./.exec(n)?.[1] ?? -1)));
  check(
    config.layers === layers,
    `${dir}: config.json says num_hidden_layers ${config.layers}, the checkpoint holds ${layers} layers`,
  );
  const expected = new Set(expectedTensors(config).map((t) => t.hf));
  const unused = [...tensors.keys()].filter((n) => !expected.has(n) && !HARMLESS.some((h) => h.test(n)));
  check(
    unused.length === 0,
    `${dir}: the checkpoint holds ${unused.length} tensor${unused.length > 1 ? "s" : ""} the ${config.family} config ` +
      `(${config.layers} layers${config.tiedEmbeddings ? ", tied embeddings" : ""}) does not use, e.g. ${
        unused.slice(0, 3).join(", ")
      }: config.json and the weights disagree`,
  );
  const out: SpecTensor[] = [];
  for (const want of expectedTensors(config)) {
    const t = tensors.get(want.hf);
    check(t, `${dir}: tensor ${want.hf} is missing from the checkpoint (the ${config.family} config needs it)`);
    check(
      t.shape.length === want.shape.length && t.shape.every((d, i) => d === want.shape[i]),
      `${t.file}: tensor ${want.hf} has shape [${t.shape}], config.json implies [${want.shape}]`,
    );
    // Matrices must be in the config's dtype; small vectors (norms, biases) may be kept wider.
    check(
      t.dtype === config.dtype || (want.shape.length === 1 && t.dtype === "F32"),
      `${t.file}: tensor ${want.hf} is ${t.dtype}, config.json says ${config.dtype}`,
    );
    out.push({
      name: want.name,
      file: t.file,
      offset: t.offset,
      nbytes: t.nbytes,
      dtype: t.dtype as DType,
      shape: t.shape,
    });
  }
  return { config, tensors: out };
}

const ROPE_CODES = { default: 0, llama3: 1, linear: 2 } as const;
const DTYPE_CODES = { BF16: 0, F16: 1, F32: 2 } as const;

/** The binary message cuda/src/spec.cc decodes: SPEC_FIELDS, then TENSOR_FIELDS per tensor (formats.ts). */
export function encodeSpec(spec: ModelSpec): Uint8Array {
  const c = spec.config;
  const flags = (c.qkvBias ? SPEC_FLAGS.qkvBias : 0) | (c.qkNorm ? SPEC_FLAGS.qkNorm : 0) |
    (c.tiedEmbeddings ? SPEC_FLAGS.tiedEmbeddings : 0) | (spec.randomSeed !== undefined ? SPEC_FLAGS.random : 0);
  const values: Record<(typeof SPEC_FIELDS)[number][0], number> = {
    magic: SPEC_MAGIC,
    version: ABI_VERSION,
    hidden: c.hidden,
    intermediate: c.intermediate,
    layers: c.layers,
    heads: c.heads,
    kv_heads: c.kvHeads,
    head_dim: c.headDim,
    vocab: c.vocab,
    rms_eps: c.rmsEps,
    rope_theta: c.rope.theta,
    rope_type: ROPE_CODES[c.rope.type],
    rope_factor: c.rope.factor,
    rope_low_freq: c.rope.lowFreqFactor,
    rope_high_freq: c.rope.highFreqFactor,
    rope_original_max: c.rope.originalMaxPositions,
    flags,
    random_seed: spec.randomSeed ?? 0,
    tensors: spec.tensors.length,
  };
  const w = new Writer();
  for (const [name, type] of SPEC_FIELDS) w.put(type, values[name]);
  for (const t of spec.tensors) {
    const fields: Record<(typeof TENSOR_FIELDS)[number][0], string | number | number[]> = {
      name: t.name,
      file: t.file,
      offset: t.offset,
      nbytes: t.nbytes,
      dtype: DTYPE_CODES[t.dtype],
      shape: t.shape,
    };
    for (const [name, type] of TENSOR_FIELDS) w.put(type, fields[name]);
  }
  return w.bytes();
}

/** Little-endian fields into one buffer. */
class Writer {
  #parts: Uint8Array[] = [];
  put(type: FieldType, v: string | number | number[]): void {
    if (type === "str") {
      const b = new TextEncoder().encode(v as string);
      this.put("u32", b.length);
      this.#parts.push(b);
    } else if (type === "u64[]") {
      const d = v as number[];
      this.put("u32", d.length);
      for (const x of d) this.put("u64", x);
    } else {
      const b = new Uint8Array(type === "f64" || type === "u64" ? 8 : 4), dv = new DataView(b.buffer);
      const n = v as number;
      if (type === "i32") dv.setInt32(0, n, true);
      else if (type === "u32") dv.setUint32(0, n, true);
      else if (type === "u64") dv.setBigUint64(0, BigInt(n), true);
      else dv.setFloat64(0, n, true);
      this.#parts.push(b);
    }
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of this.#parts) (out.set(p, o), o += p.length);
    return out;
  }
}
