/**
 * The model spec handed to the native core: dimensions, RoPE, and where every canonical tensor's bytes are.
 * Hugging Face tensor names are mapped to the core's canonical names here, and checked against the config,
 * so that a bad checkpoint is refused with its file and tensor named before any byte is read.
 */
import type { DType, ModelConfig } from "./config.ts";
import { check, InputError } from "./errors.ts";
import type { TensorInfo } from "./safetensors.ts";
import {
  ABI_VERSION,
  DTYPE_CODES,
  type FieldType,
  QUANT_CODES,
  SPEC_FIELDS,
  SPEC_FLAGS,
  SPEC_MAGIC,
  TENSOR_FIELDS,
} from "./formats.ts";
import { ropeInvFreq } from "./rope.ts";

/** The dtypes the core reads: the float ones, AWQ's packed int32 and FP8's e4m3. */
export type SpecDType = DType | "I32" | "F8_E4M3";

export interface SpecTensor {
  /**
   * canonical name: embed, lm_head, norm, L{i}.{attn_norm,q_bias,k_bias,v_bias,q_norm,k_norm,mlp_norm,router},
   * and the linear layers L{i}.{q,k,v,o,gate,up,down} and L{i}.e{expert}.{gate,up,down}; a quantised linear
   * layer X is X.qweight, X.qzeros, X.scales (AWQ) or X, X.scale_inv (FP8)
   */
  name: string;
  file: string;
  offset: number;
  nbytes: number;
  dtype: SpecDType;
  shape: number[];
}

export interface ModelSpec {
  config: ModelConfig;
  /** weights made in memory from this seed (benchmarks), instead of `tensors` */
  randomSeed?: number;
  tensors: SpecTensor[];
}

/** A canonical tensor: its Hugging Face name, shape, and the dtypes it may have (default: the config's). */
export interface ExpectedTensor {
  name: string;
  hf: string;
  shape: number[];
  dtypes?: SpecDType[];
  /**
   * A part of a fused tensor (Phi-3's qkv_proj, gate_up_proj): rows [first, first + shape[0]) of `hf`, which
   * has `of` rows (its other dimensions are shape's). The core is handed that byte range as its own tensor.
   */
  rows?: { first: number; of: number };
}

/** Where a part starts in a fused linear layer, and the fused layer's rows (see ExpectedTensor.rows). */
type Part = { first: number; of: number };

/**
 * The tensors of one linear layer [out, in] (`hf` without ".weight"), as the config's quantisation stores it;
 * with `part`, the layer is rows of a fused one (FP8: its scale rows too, so the part must start and end on a
 * block boundary, or end the fused matrix).
 */
function linear(c: ModelConfig, name: string, hf: string, out: number, inp: number, part?: Part): ExpectedTensor[] {
  const q = c.quant;
  const rows = part ? { rows: part } : {};
  if (!q) return [{ name, hf: hf + ".weight", shape: [out, inp], ...rows }];
  if (q.method === "awq") {
    check(!part, `AWQ: ${hf} is fused, and AWQ packs it by columns (not supported)`);
    const g = q.groupSize;
    check(out % 8 === 0, `AWQ: ${hf} has ${out} outputs, not a multiple of 8 (eight 4-bit values a word)`);
    check(inp % g === 0, `AWQ: group_size ${g} does not divide ${hf}'s ${inp} inputs`);
    return [
      { name: name + ".qweight", hf: hf + ".qweight", shape: [inp, out / 8], dtypes: ["I32"] },
      { name: name + ".qzeros", hf: hf + ".qzeros", shape: [inp / g, out / 8], dtypes: ["I32"] },
      { name: name + ".scales", hf: hf + ".scales", shape: [inp / g, out], dtypes: ["F16"] },
    ];
  }
  const [br, bc] = q.block;
  if (part) {
    check(
      part.first % br === 0 && (out % br === 0 || part.first + out === part.of),
      `FP8: ${hf}'s rows [${part.first}, ${part.first + out}) do not fall on its ${br}-row scale blocks`,
    );
  }
  return [
    { name, hf: hf + ".weight", shape: [out, inp], dtypes: ["F8_E4M3"], ...rows },
    {
      name: name + ".scale_inv",
      hf: hf + ".weight_scale_inv",
      shape: [Math.ceil(out / br), Math.ceil(inp / bc)],
      dtypes: ["F32", "BF16"],
      ...(part ? { rows: { first: part.first / br, of: Math.ceil(part.of / br) } } : {}),
    },
  ];
}

/** The canonical tensors of a model with their Hugging Face names and expected shapes. */
export function expectedTensors(c: ModelConfig): ExpectedTensor[] {
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  const t: ExpectedTensor[] = [
    { name: "embed", hf: "model.embed_tokens.weight", shape: [c.vocab, c.hidden] },
    { name: "norm", hf: "model.norm.weight", shape: [c.hidden] },
  ];
  if (!c.tiedEmbeddings) t.push({ name: "lm_head", hf: "lm_head.weight", shape: [c.vocab, c.hidden] });
  // Phi-3 stores q, k, v as one qkv_proj and gate, up as one gate_up_proj (rows in that order).
  const fused = c.fusedProjections === true;
  const mlp = (L: string, hf: string, width: number) => [
    ...(fused
      ? [
        ...linear(c, L + "gate", hf + "gate_up_proj", width, c.hidden, { first: 0, of: 2 * width }),
        ...linear(c, L + "up", hf + "gate_up_proj", width, c.hidden, { first: width, of: 2 * width }),
      ]
      : [
        ...linear(c, L + "gate", hf + "gate_proj", width, c.hidden),
        ...linear(c, L + "up", hf + "up_proj", width, c.hidden),
      ]),
    ...linear(c, L + "down", hf + "down_proj", c.hidden, width),
  ];
  const qkv = (L: string, hf: string) =>
    fused
      ? [
        ...linear(c, L + "q", hf + "qkv_proj", q, c.hidden, { first: 0, of: q + 2 * kv }),
        ...linear(c, L + "k", hf + "qkv_proj", kv, c.hidden, { first: q, of: q + 2 * kv }),
        ...linear(c, L + "v", hf + "qkv_proj", kv, c.hidden, { first: q + kv, of: q + 2 * kv }),
      ]
      : [
        ...linear(c, L + "q", hf + "q_proj", q, c.hidden),
        ...linear(c, L + "k", hf + "k_proj", kv, c.hidden),
        ...linear(c, L + "v", hf + "v_proj", kv, c.hidden),
      ];
  for (let i = 0; i < c.layers; i++) {
    const L = `L${i}.`, hf = `model.layers.${i}.`;
    t.push(
      { name: L + "attn_norm", hf: hf + "input_layernorm.weight", shape: [c.hidden] },
      ...qkv(L, hf + "self_attn."),
      ...linear(c, L + "o", hf + "self_attn.o_proj", c.hidden, q),
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
    t.push({ name: L + "mlp_norm", hf: hf + "post_attention_layernorm.weight", shape: [c.hidden] });
    if (c.moe?.sparseLayers.includes(i)) {
      t.push({ name: L + "router", hf: hf + "mlp.gate.weight", shape: [c.moe.experts, c.hidden] });
      for (let e = 0; e < c.moe.experts; e++) {
        t.push(...mlp(`${L}e${e}.`, `${hf}mlp.experts.${e}.`, c.moe.intermediate));
      }
    } else {
      t.push(...mlp(L, hf + "mlp.", c.intermediate));
    }
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
  // The list's own refusals (a layer the quantisation cannot pack) name the config they come from.
  let list: ExpectedTensor[];
  try {
    list = expectedTensors(config);
  } catch (e) {
    throw e instanceof InputError ? new InputError(`${dir}/config.json: ${e.message}`) : e;
  }
  const expected = new Set(list.map((t) => t.hf));
  const unused = [...tensors.keys()].filter((n) => !expected.has(n) && !HARMLESS.some((h) => h.test(n)));
  check(
    unused.length === 0,
    `${dir}: the checkpoint holds ${unused.length} tensor${unused.length > 1 ? "s" : ""} the ${config.family} config ` +
      `(${config.layers} layers${config.tiedEmbeddings ? ", tied embeddings" : ""}${
        config.quant ? `, ${config.quant.method.toUpperCase()}` : ""
      }${
        config.moe ? `, ${config.moe.experts} experts in ${config.moe.sparseLayers.length} layers` : ""
      }) does not use, e.g. ${unused.slice(0, 3).join(", ")}: config.json and the weights disagree`,
  );
  const out: SpecTensor[] = [];
  for (const want of list) {
    const t = tensors.get(want.hf);
    check(t, `${dir}: tensor ${want.hf} is missing from the checkpoint (the ${config.family} config needs it)`);
    // a part of a fused tensor: the whole tensor's shape is checked, and the part's rows handed on
    const whole = want.rows ? [want.rows.of, ...want.shape.slice(1)] : want.shape;
    check(
      t.shape.length === whole.length && t.shape.every((d, i) => d === whole[i]),
      `${t.file}: tensor ${want.hf} has shape [${t.shape}], config.json implies [${whole}]`,
    );
    // Matrices in the config's dtype (or their quantised format's); small vectors (norms, biases) may be wider.
    const dtypes: string[] = want.dtypes ?? [config.dtype, ...(want.shape.length === 1 ? ["F32"] : [])];
    check(
      dtypes.includes(t.dtype),
      `${t.file}: tensor ${want.hf} is ${t.dtype}, ${
        want.dtypes ? `its format stores it as ${dtypes.join(" or ")}` : `config.json says ${config.dtype}`
      }`,
    );
    const rowBytes = want.rows ? t.nbytes / want.rows.of : 0;
    out.push({
      name: want.name,
      file: t.file,
      offset: t.offset + (want.rows ? want.rows.first * rowBytes : 0),
      nbytes: want.rows ? want.shape[0] * rowBytes : t.nbytes,
      dtype: t.dtype as SpecDType,
      shape: want.shape,
    });
  }
  return { config, tensors: out };
}

/** The binary message cuda/src/spec.cc decodes: SPEC_FIELDS, then TENSOR_FIELDS per tensor (formats.ts). */
export function encodeSpec(spec: ModelSpec): Uint8Array {
  const c = spec.config;
  const set: Record<(typeof SPEC_FLAGS)[number], boolean> = {
    qkv_bias: c.qkvBias,
    qk_norm: c.qkNorm,
    tied_embeddings: c.tiedEmbeddings,
    random: spec.randomSeed !== undefined,
    norm_topk: c.moe?.normTopk ?? false,
  };
  const flags = SPEC_FLAGS.reduce((f, name, bit) => f | (set[name] ? 1 << bit : 0), 0);
  const q = c.quant;
  const values: Record<(typeof SPEC_FIELDS)[number][0], number | number[]> = {
    magic: SPEC_MAGIC,
    version: ABI_VERSION,
    hidden: c.hidden,
    intermediate: c.intermediate,
    layers: c.layers,
    heads: c.heads,
    kv_heads: c.kvHeads,
    head_dim: c.headDim,
    rotary_dim: c.rotaryDim ?? c.headDim,
    vocab: c.vocab,
    rms_eps: c.rmsEps,
    rope_inv_freq: ropeInvFreq(c),
    flags,
    random_seed: spec.randomSeed ?? 0,
    quant: QUANT_CODES.indexOf(q?.method ?? "none"),
    awq_group: q?.method === "awq" ? q.groupSize : 0,
    fp8_block_rows: q?.method === "fp8" ? q.block[0] : 0,
    fp8_block_cols: q?.method === "fp8" ? q.block[1] : 0,
    experts: c.moe?.experts ?? 0,
    experts_per_tok: c.moe?.topK ?? 0,
    moe_intermediate: c.moe?.intermediate ?? 0,
    sparse_layers: c.moe?.sparseLayers ?? [],
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
      dtype: DTYPE_CODES.indexOf(t.dtype),
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
    } else if (type === "u64[]" || type === "f64[]") {
      const d = v as number[];
      this.put("u32", d.length);
      for (const x of d) this.put(type === "u64[]" ? "u64" : "f64", x);
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
