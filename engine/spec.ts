/**
 * The model spec handed to the native core: dimensions, RoPE, and where every canonical tensor's bytes are.
 * Hugging Face tensor names are mapped to the core's canonical names here, and checked against the config,
 * so that a bad checkpoint is refused with its file and tensor named before any byte is read.
 */
import type { DType, ModelConfig } from "./config.ts";
import { check } from "./errors.ts";
import type { TensorInfo } from "./safetensors.ts";

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

/** Maps a checkpoint's tensors onto the config; `dir` names the checkpoint in errors. */
export function specFromCheckpoint(config: ModelConfig, tensors: Map<string, TensorInfo>, dir: string): ModelSpec {
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

/** The binary message cuda/src/spec.cc decodes (little-endian; strings are u32 length + UTF-8). */
export function encodeSpec(spec: ModelSpec): Uint8Array {
  const c = spec.config;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const buf = new ArrayBuffer(256);
  const dv = new DataView(buf);
  let at = 0;
  const flush = () => {
    parts.push(new Uint8Array(buf.slice(0, at)));
    at = 0;
  };
  const u32 = (v: number) => (dv.setUint32(at, v, true), at += 4);
  const i32 = (v: number) => (dv.setInt32(at, v, true), at += 4);
  const f64 = (v: number) => (dv.setFloat64(at, v, true), at += 8);
  const u64 = (v: number) => (dv.setBigUint64(at, BigInt(v), true), at += 8);
  const str = (s: string) => {
    const b = enc.encode(s);
    u32(b.length);
    flush();
    parts.push(b);
  };
  u32(0x534d5748);
  u32(1);
  for (const v of [c.hidden, c.intermediate, c.layers, c.heads, c.kvHeads, c.headDim, c.vocab]) i32(v);
  f64(c.rmsEps);
  f64(c.rope.theta);
  u32(ROPE_CODES[c.rope.type]);
  f64(c.rope.factor);
  f64(c.rope.lowFreqFactor);
  f64(c.rope.highFreqFactor);
  f64(c.rope.originalMaxPositions);
  const random = spec.randomSeed !== undefined;
  u32((c.qkvBias ? 1 : 0) | (c.qkNorm ? 2 : 0) | (c.tiedEmbeddings ? 4 : 0) | (random ? 8 : 0));
  u64(spec.randomSeed ?? 0);
  u32(spec.tensors.length);
  for (const t of spec.tensors) {
    str(t.name);
    str(t.file);
    u64(t.offset);
    u64(t.nbytes);
    u32(DTYPE_CODES[t.dtype]);
    u32(t.shape.length);
    for (const d of t.shape) u64(d);
  }
  flush();
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}
