/**
 * The model spec handed to the native core: dimensions, RoPE, and where every canonical tensor's bytes are.
 * Hugging Face tensor names are mapped to the core's canonical names here, and checked against the config,
 * so that a bad checkpoint is refused with its file and tensor named before any byte is read.
 */
import { type DType, DTYPES, type ModelConfig } from "./config.ts";
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
import { loadNative } from "./native.ts";
import { MODULES } from "./architectures/architecture.ts";
import { architectureOf } from "./architectures/registry.ts";

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
  /** absent: `nbytes` contiguous bytes; else shape[0] rows of nbytes / shape[0] bytes, `stride` bytes apart */
  stride?: number;
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
   * A part of a fused tensor (Phi-3's qkv_proj, gate_up_proj): indices [first, first + shape[axis]) of `hf`'s
   * dimension `axis`, which has `of` (its other dimensions are shape's). Along axis 0 (a weight's rows) the
   * core is handed one byte range; along the last axis (AWQ's tensors, packed by output columns) a range of
   * each row.
   */
  part?: { axis: number; first: number; of: number };
}

/** A canonical name's parts: `L{layer}.` and `e{expert}.` where it has them, the part, a quantised layer's suffix. */
const CANONICAL = /^(?:L(\d+)\.(?:e(\d+)\.)?)?([a-z_]+?)(\.qweight|\.qzeros|\.scales|\.scale_inv)?$/;
const TOP: Record<string, string> = {
  embed: "model.embed_tokens.weight",
  norm: "model.norm.weight",
  lm_head: "lm_head.weight",
};

/** A layer's module as checkpoints name it: `model.layers.{layer}.` and, for an expert's, `mlp.experts.{e}.`. */
function layerModule(layer: string, expert: string | undefined, module: string): string {
  return `model.layers.${layer}.${expert === undefined ? module : module.replace(/^mlp\./, `mlp.experts.${expert}.`)}`;
}

/**
 * The bytes each canonical tensor ("embed", "L3.e7.gate", "L0.q.qweight", …) takes as `device` stores the model of
 * `spec` (its checkpoint's tensors, or random weights), from the spec alone: before a load, what it will take; after
 * it, what it took (the loaded model's weightBytes is their sum: the CPU's load refuses to differ). The core's one
 * rule (cuda/src/weights.cc stored_bytes): random weights are bf16 on the CPU whatever the config's dtype, a
 * checkpoint's F16 and F32 tensors float32 there; a GPU stores dense matrices in bf16.
 */
export function storedBytes(spec: ModelSpec, device: "cpu" | "cuda"): Map<string, number> {
  return new Map(loadNative().expectedTensors(encodeSpec(spec), device).map((t) => [t.name, t.bytes]));
}

/**
 * The canonical tensors of a model with their checkpoint names: the core's list (names, shapes, dtypes;
 * cuda/src/weights.cc, the one list) named as the config's architecture stores them (engine/architectures/),
 * fused projections as row ranges of their fused tensor. A config the list refuses (a layer the quantisation
 * cannot pack) is an InputError, its message led by `where` (the config's file) when given.
 */
export function expectedTensors(c: ModelConfig, where?: string): ExpectedTensor[] {
  const native = loadNative(); // its own errors (not built, another version) are not the config's
  const at = where ? `${where}: ` : "";
  const spec = encodeSpec({ config: c, randomSeed: 0, tensors: [] });
  const arch = architectureOf(c);
  const fusedOf = new Map(
    Object.entries(arch.fused ?? {}).flatMap(([whole, parts]) => parts.map((p) => [p, { whole, parts }] as const)),
  );
  let core: { name: string; shape: number[]; dtypes: number[] }[];
  try {
    core = native.expectedTensors(spec);
  } catch (e) {
    // the core's refusal of this config, its tensors named as the checkpoint names them (a fused one's part too)
    const message = (e as Error).message.replace(/\bL(\d+)\.(?:e(\d+)\.)?([a-z_]+)\b/g, (all, layer, expert, part) => {
      if (!Object.hasOwn(MODULES, part)) return all;
      const module = MODULES[part], fused = fusedOf.get(module);
      return fused
        ? `${layerModule(layer, expert, fused.whole)}'s ${module.split(".").pop()} part`
        : layerModule(layer, expert, module);
    });
    throw new InputError(at + message);
  }
  const list: ExpectedTensor[] = [];
  const groups = new Map<string, { at: number; index: number }[]>(); // a fused tensor's parts, by its name
  for (const t of core) {
    const dtypes = t.dtypes.length ? t.dtypes.map((d) => DTYPE_CODES[d]) : undefined;
    const entry: ExpectedTensor = {
      name: t.name,
      hf: TOP[t.name] ?? "",
      shape: t.shape,
      ...(dtypes ? { dtypes } : {}),
    };
    if (!entry.hf) {
      const m = CANONICAL.exec(t.name);
      const module = m && m[1] !== undefined && Object.hasOwn(MODULES, m[3]) ? MODULES[m[3]] : undefined;
      if (!m || !module) throw new Error(`the core's tensor ${t.name} has no checkpoint name (engine/architectures)`);
      const suffix = m[4] === ".scale_inv"
        ? ".weight_scale_inv"
        : m[4] ?? (m[3].endsWith("_bias") ? ".bias" : ".weight");
      const fused = fusedOf.get(module);
      entry.hf = layerModule(m[1], m[2], fused?.whole ?? module) + suffix;
      if (fused) {
        groups.set(entry.hf, [...groups.get(entry.hf) ?? [], { at: list.length, index: fused.parts.indexOf(module) }]);
      }
    }
    list.push(entry);
  }
  for (const [hf, members] of groups) {
    fuse(c, hf, members.sort((x, y) => x.index - y.index).map((m) => list[m.at]), at);
  }
  checkNotConverted(c, list, at);
  return list;
}

/**
 * quantization_config.modules_to_not_convert: transformers leaves each module an entry matches unquantised,
 * in the checkpoint's dtype. The engine reads every decoder linear layer quantised (embeddings, norms, routers
 * and lm_head are not, listed or not), so an entry matching one of those layers is refused. Matched as
 * transformers matches: 4.x (AutoAWQ too) a substring of the module's name, 5.x a regex from its start (a dot
 * any character) or its end (a substring too); the checkpoint may come from either, so either match refuses
 * ("mlp.gate" is a router's end but inside every dense gate_proj's name). `at` leads the message.
 */
function checkNotConverted(c: ModelConfig, list: ExpectedTensor[], at: string): void {
  const entries = c.quant?.notConverted ?? [];
  if (!entries.length) return;
  const quantised = [...new Set(list.flatMap((t) => t.hf.match(/^(.*)\.(qweight|weight_scale_inv)$/)?.[1] ?? []))];
  for (const entry of entries) {
    const start = new RegExp(`^${entry.replace(/[^\w.]/g, "\\$&")}`); // config.ts lets only [\w.] through
    const layer = quantised.find((m) => m.includes(entry) || start.test(m));
    check(
      layer === undefined,
      `${at}quantization_config.modules_to_not_convert entry ${JSON.stringify(entry)} leaves ${layer} ` +
        "unquantised, which this engine does not support (it reads every decoder linear layer quantised)",
    );
  }
}

/**
 * Gives each part of fused tensor `hf` its range (in part order): rows, or for AWQ (whose tensors are [in, out]
 * and pack eight output columns an int32 in an interleaved order) columns, which fall on whole int32s because
 * each part's width is a whole number of them; FP8 parts must end on the scale blocks. `at` leads the
 * refusals' messages.
 */
function fuse(c: ModelConfig, hf: string, parts: ExpectedTensor[], at: string): void {
  const layer = hf.replace(/\.(weight|qweight|qzeros|scales|weight_scale_inv)$/, "");
  const axis = c.quant?.method === "awq" ? parts[0].shape.length - 1 : 0;
  const of = parts.reduce((n, p) => n + p.shape[axis], 0);
  // the weight's rows must fall on the scale blocks (the scales' own rows are those blocks)
  const br = c.quant?.method === "fp8" && !hf.endsWith("_scale_inv") ? c.quant.block[0] : 1;
  let first = 0;
  for (const [i, p] of parts.entries()) {
    check(
      p.shape[axis] % br === 0 || i === parts.length - 1,
      `${at}FP8: ${layer}'s rows [${first}, ${first + p.shape[axis]}) do not fall on its ${br}-row scale blocks`,
    );
    p.part = { axis, first, of };
    first += p.shape[axis];
  }
}

/** Tensors a checkpoint may hold that no architecture here reads: computed buffers, never weights. */
const HARMLESS = [/\.rotary_emb\.inv_freq$/];

/**
 * Maps a checkpoint's tensors onto the config; `dir` names the checkpoint in errors. A tensor the config's
 * architecture does not use is an error: it means the config and the weights disagree (a layer count too
 * small, another model_type), which would otherwise run with part of the model ignored.
 */
export function specFromCheckpoint(config: ModelConfig, tensors: Map<string, TensorInfo>, dir: string): ModelSpec {
  // How many of a numbered module the checkpoint holds: one past the highest number `pattern` captures (a loop:
  // spread into Math.max, a checkpoint's names overflow the stack past about 100k tensors).
  const held = (pattern: RegExp) => {
    let top = -1;
    for (const n of tensors.keys()) top = Math.max(top, Number(pattern.exec(n)?.[1] ?? -1));
    return top + 1;
  };
  // The layer count first: a wrong one (say 10^9) must not build a tensor list that long.
  const layers = held(/^model\.layers\.(\d+)\./);
  check(
    config.layers === layers,
    `${dir}: config.json says num_hidden_layers ${config.layers}, the checkpoint holds ${layers} layers`,
  );
  // The experts' count likewise (where a layer is sparse), before a list of that many is built.
  if (config.moe?.sparseLayers.length) {
    const experts = held(/\.experts\.(\d+)\./);
    check(
      config.moe.experts === experts,
      `${dir}: config.json says num_experts ${config.moe.experts}, the checkpoint holds ${experts} experts`,
    );
  }
  const list = expectedTensors(config, `${dir}/config.json`);
  const expected = new Set(list.map((t) => t.hf));
  // Tied embeddings with an lm_head.weight saved too (a writer that saved both): transformers ties the head to
  // the embedding and ignores the saved one (as does vLLM), whatever its bytes; so here, said once
  const tiedHead = config.tiedEmbeddings && !expected.has("lm_head.weight") && tensors.has("lm_head.weight");
  if (tiedHead) {
    console.error(
      `${dir}: config.json says tie_word_embeddings, and the checkpoint holds lm_head.weight too: the output layer ` +
        "is model.embed_tokens.weight, as transformers ties it; lm_head.weight is ignored",
    );
  }
  const unused = [...tensors.keys()].filter((n) =>
    !expected.has(n) && !HARMLESS.some((h) => h.test(n)) && !(tiedHead && n === "lm_head.weight")
  );
  check(
    unused.length === 0,
    `${dir}: the checkpoint holds ${unused.length} tensor${unused.length > 1 ? "s" : ""} the ${config.family} config ` +
      `(${config.layers} layers${config.tiedEmbeddings ? ", tied embeddings" : ""}${
        config.quant ? `, ${config.quant.method.toUpperCase()}` : ""
      }${
        config.moe ? `, ${config.moe.experts} experts in ${config.moe.sparseLayers.length} layers` : ""
      }) does not use, e.g. ${unused.slice(0, 3).join(", ")}: config.json and the weights disagree`,
  );
  const missing = (hf: string) =>
    `${dir}: tensor ${hf} is missing from the checkpoint (the ${config.family} config needs it)`;
  const { dtype, said } = weightsDType(config, tensors, missing);
  const out: SpecTensor[] = [];
  for (const want of list) {
    const t = tensors.get(want.hf);
    check(t, missing(want.hf));
    // a part of a fused tensor: the whole tensor's shape is checked, and the part's range handed on
    const whole = want.part ? want.shape.map((d, i) => i === want.part!.axis ? want.part!.of : d) : want.shape;
    check(
      t.shape.length === whole.length && t.shape.every((d, i) => d === whole[i]),
      `${t.file}: tensor ${want.hf} has shape [${t.shape}], config.json implies [${whole}]`,
    );
    // Matrices in the config's dtype (or their quantised format's); small vectors (norms, biases) may be wider.
    const dtypes: string[] = want.dtypes ?? [dtype, ...(want.shape.length === 1 ? ["F32"] : [])];
    check(
      dtypes.includes(t.dtype),
      `${t.file}: tensor ${want.hf} is ${t.dtype}, ${
        want.dtypes ? `its format stores it as ${dtypes.join(" or ")}` : said
      }`,
    );
    out.push({ name: want.name, file: t.file, ...partBytes(t, want), dtype: t.dtype as SpecDType, shape: want.shape });
  }
  return { config: { ...config, dtype }, tensors: out };
}

/**
 * The checkpoint's weight dtype, decided here alone: config.json's, or where it states none the embedding's, as
 * transformers 5 loads such a checkpoint (dtype "auto": the weights' own; the embedding is one of its float
 * matrices in every format). `said`: where it comes from, for the refusal of a tensor in another.
 */
function weightsDType(
  config: ModelConfig,
  tensors: Map<string, TensorInfo>,
  missing: (hf: string) => string,
): { dtype: DType; said: string } {
  if (config.dtype) return { dtype: config.dtype, said: `config.json says ${config.dtype}` };
  const t = tensors.get(TOP.embed);
  check(t, missing(TOP.embed));
  const floats: string[] = Object.values(DTYPES);
  check(
    floats.includes(t.dtype),
    `${t.file}: tensor ${TOP.embed} is ${t.dtype}; config.json states no dtype, and the weights' must be ${
      floats.join(", ")
    }`,
  );
  return { dtype: t.dtype as DType, said: `config.json states no dtype, and ${TOP.embed} is ${t.dtype}` };
}

/** Where a canonical tensor's bytes are in checkpoint tensor `t`: all of it, or its part's rows or columns. */
function partBytes(t: TensorInfo, want: ExpectedTensor): { offset: number; nbytes: number; stride?: number } {
  const p = want.part;
  if (!p) return { offset: t.offset, nbytes: t.nbytes };
  // bytes per index of the split axis (times the dimensions after it)
  const unit = t.nbytes / t.shape.slice(0, p.axis).reduce((a, b) => a * b, 1) / p.of;
  const width = want.shape[p.axis] * unit;
  if (p.axis === 0) return { offset: t.offset + p.first * unit, nbytes: width };
  if (p.axis !== 1 || want.shape.length !== 2) throw new Error(`spec: ${want.hf} is split along axis ${p.axis}`);
  return { offset: t.offset + p.first * unit, nbytes: want.shape[0] * width, stride: p.of * unit };
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
      stride: t.stride ?? 0,
      dtype: DTYPE_CODES.indexOf(t.dtype),
      shape: t.shape,
    };
    for (const [name, type] of TENSOR_FIELDS) w.put(type, fields[name]);
  }
  return w.bytes();
}

/** The values each integer field type holds. */
const INT_RANGES = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1],
  u64: [0, Number.MAX_SAFE_INTEGER],
} as const;

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
      // a value the field cannot hold is a bug upstream (configs are bounded where they are read): never wrapped
      const range = INT_RANGES[type as keyof typeof INT_RANGES];
      if (range && !(Number.isInteger(n) && n >= range[0] && n <= range[1])) {
        throw new Error(`spec: ${n} does not fit a ${type} field`);
      }
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
