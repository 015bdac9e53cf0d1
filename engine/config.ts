/**
 * Reading a Hugging Face model folder's config.json and generation_config.json into the engine's terms.
 * Both config layouts are accepted: the older one (`rope_theta`, `rope_scaling`, `torch_dtype`) that QwQ-32B
 * and Llama 3.2 ship, and the newer one (`rope_parameters`, `dtype`).
 */
import { readFileSync } from "node:fs";
import { pathInfo } from "./files.ts";
import { join } from "node:path";
import { check, InputError, intField, numberField, oneLine, parseDecimal, parseInteger } from "./errors.ts";
import { type SamplingOptions, samplingRange, type SamplingSetting } from "./sampler.ts";
import { architectureFor, ARCHITECTURES, SUPPORTED_MODEL_TYPES } from "./architectures/registry.ts";
import type { Architecture } from "./architectures/architecture.ts";
import { shapeConfig } from "./shapes.ts";

export type RopeType = "default" | "llama3" | "linear";
export type DType = "BF16" | "F16" | "F32";

/**
 * Quantised decoder weights, as the hub's releases ship them: AWQ (4-bit, GEMM packing, zero points, groups
 * of `groupSize` input rows; QwQ-32B-AWQ) or FP8 (e4m3 weights with a scale per `block` of [rows, cols];
 * Qwen3-*-FP8). Embeddings, norms, biases, routers and lm_head stay unquantised.
 */
export type Quantization =
  & ({ method: "awq"; groupSize: number } | { method: "fp8"; block: readonly [number, number] })
  & {
    /**
     * modules_to_not_convert, where not empty: what transformers leaves unquantised besides its defaults; the
     * tensor list refuses an entry that names a layer the engine reads quantised (engine/spec.ts)
     */
    notConverted?: readonly string[];
  };

/** A mixture of experts (Qwen3-MoE): which layers are sparse, and how tokens are routed. */
export interface MoeConfig {
  experts: number;
  /** experts each token is routed to */
  topK: number;
  /** the chosen experts' weights renormalised to sum to 1 */
  normTopk: boolean;
  /** each expert's MLP width */
  intermediate: number;
  /** the layers whose MLP is sparse (the others are dense, of width `intermediate_size`) */
  sparseLayers: number[];
}

export interface RopeConfig {
  theta: number;
  type: RopeType;
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface ModelConfig {
  /** its architecture's name (engine/architectures/) */
  family: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  rmsEps: number;
  rope: RopeConfig;
  /** q/k/v projections carry biases (Qwen2 family). */
  qkvBias: boolean;
  /** per-head RMSNorm of queries and keys before RoPE (Qwen3). */
  qkNorm: boolean;
  /** RoPE turns the first `rotaryDim` dimensions of each head (partial_rotary_factor; default head_dim). */
  rotaryDim?: number;
  tiedEmbeddings: boolean;
  /**
   * The checkpoint's weight dtype: as config.json states it (`dtype`, `torch_dtype`); where it states none, left
   * out here and decided from the checkpoint's tensors (engine/spec.ts specFromCheckpoint).
   */
  dtype?: DType;
  /**
   * max_position_embeddings (its class's default where config.json leaves it out or null): the positions the model
   * was trained for (a pass past them is refused unless allowed)
   */
  maxPositions?: number;
  quant?: Quantization;
  moe?: MoeConfig;
}

export interface GenerationConfig {
  /** the generation_config.json read; absent where the model has none (transformers' defaults) */
  file?: string;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** the file's settings that transformers would act on and this engine does not apply (none: absent) */
  unapplied?: readonly UnappliedSetting[];
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
}

/** transformers' defaults for a model without generation_config.json: greedy, no stop token known. */
export const DEFAULT_GENERATION: GenerationConfig = {
  eosTokenIds: [],
  doSample: false,
  temperature: 1,
  topK: 50,
  topP: 1,
  minP: 0,
};

/** Sampling settings a user named (a command's flags); each one left out is the model's. */
export type SamplingFlags = Partial<Omit<SamplingOptions, "suppress">>;

/**
 * A command's sampling flags (`--temperature`, `--top-k`, `--top-p`, `--min-p`), each checked, only those given;
 * undefined when none is: the one reader for the bench and trace.
 */
export function parseSamplingFlags(
  f: { temperature?: string; "top-k"?: string; "top-p"?: string; "min-p"?: string },
): SamplingFlags | undefined {
  const dec = (k: "temperature" | "top-p" | "min-p") => f[k] === undefined ? undefined : parseDecimal(f[k], `--${k}`);
  const temperature = dec("temperature"), topP = dec("top-p"), minP = dec("min-p");
  const topK = f["top-k"] === undefined ? undefined : parseInteger(f["top-k"], "--top-k");
  // each in its range as the sampler reads it (samplingRange, the one check), named by its flag
  const named: [SamplingSetting, keyof typeof f, number | undefined][] = [
    ["temperature", "temperature", temperature],
    ["topP", "top-p", topP],
    ["minP", "min-p", minP],
  ];
  for (const [s, flag, v] of named) {
    const bad = v === undefined ? undefined : samplingRange(s, v);
    check(!bad, `--${flag}: expected ${bad?.expected}, got "${f[flag]}"${bad?.note}`);
  }
  // greedy decoding takes the most likely token whatever the cuts: given with it, they would be dropped unsaid
  const cuts = (["top-k", "top-p", "min-p"] as const).filter((k) => f[k] !== undefined).map((k) => `--${k}`);
  check(
    temperature !== 0 || cuts.length === 0,
    `--temperature 0 decodes greedily: ${
      cuts.length > 1 ? `${cuts.slice(0, -1).join(", ")} and ${cuts.at(-1)}` : cuts[0]
    } ` +
      `would change nothing; leave ${cuts.length > 1 ? "them" : "it"} out, or sample (--temperature above 0)`,
  );
  const given = Object.entries({ temperature, topK, topP, minP }).filter(([, v]) => v !== undefined);
  return given.length ? Object.fromEntries(given) : undefined;
}

/**
 * The sampling a run uses: each setting not named is the model's generation_config's (transformers' default
 * where that has none: top-k 50), as transformers' `generate(temperature=…)` resolves it for a model that
 * samples; with any setting named it samples even where the generation_config does not (transformers would
 * stay greedy there, and warn); with none named (and `sample` not asked), the generation_config decides.
 */
export function resolveSampling(
  g: GenerationConfig,
  flags: SamplingFlags = {},
  sample = Object.values(flags).some((v) => v !== undefined),
): Omit<SamplingOptions, "suppress"> {
  if (!sample && !g.doSample) return { temperature: 0, topK: 0, topP: 1, minP: 0 };
  return {
    temperature: flags.temperature ?? g.temperature,
    topK: flags.topK ?? g.topK,
    topP: flags.topP ?? g.topP,
    minP: flags.minP ?? g.minP,
  };
}

/** hidden_act's names of SiLU, the engine's activation: transformers' ACT2FN maps both to it */
const SILU = ["silu", "swish"];

/** far above any released model's (256 at most), far below what would make a spec slow to build */
const MAX_HEAD_DIM = 65536;

/** config.json's dtype names, and the dtypes they name: the weights' dtypes the engine reads. */
export const DTYPES: Readonly<Record<string, DType>> = { bfloat16: "BF16", float16: "F16", float32: "F32" };

/**
 * A text file the project is given (configs, prompts): read whole and decoded strictly, so that bytes that are
 * not UTF-8 are an error naming the file, never replacement characters a model would be given.
 */
export function readText(file: string, o: { keepBOM?: boolean } = {}): string {
  let bytes: Uint8Array;
  // stat first: opening a named pipe would wait for a writer forever
  check(pathInfo(file)?.isFile !== false, `${file}: not a file`);
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: o.keepBOM ?? false }).decode(bytes);
  } catch {
    throw new InputError(`${file}: not valid UTF-8 (save it as UTF-8)`);
  }
}

export function readJson(file: string): Record<string, unknown> {
  const text = readText(file);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
  }
  check(v !== null && typeof v === "object" && !Array.isArray(v), `${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * The RoPE dict transformers 5 reads: `rope_scaling` where the file gives one (its `self.rope_parameters =
 * rope_scaling or self.rope_parameters`: an empty one is none to Python), else `rope_parameters`.
 */
interface RopeDict {
  dict: Record<string, unknown> | null;
  where: "rope_scaling" | "rope_parameters";
}

function ropeDictOf(c: Record<string, unknown>): RopeDict {
  const scaling = c.rope_scaling as Record<string, unknown> | null | undefined;
  const params = c.rope_parameters as Record<string, unknown> | null | undefined;
  if (scaling != null && (Object.keys(scaling).length > 0 || params == null)) {
    return { dict: scaling, where: "rope_scaling" };
  }
  return params != null ? { dict: params, where: "rope_parameters" } : { dict: null, where: "rope_scaling" };
}

/** The fields both the top level and the RoPE dict may hold. */
type SharedRopeField = "rope_theta" | "partial_rotary_factor";

/**
 * rope_theta or partial_rotary_factor (undefined where neither place gives it): transformers 4 reads it at the top
 * level only, transformers 5 in the RoPE dict, filling it from the top level only where the dict lacks it
 * (setdefault). Where both give it and differ, the two versions run two different models from one file: it is
 * refused, naming both, rather than one of them read in silence.
 */
function sharedRopeField(
  c: Record<string, unknown>,
  rope: RopeDict,
  key: SharedRopeField,
  file: string,
): unknown {
  const top = c[key] ?? undefined, inner = rope.dict?.[key];
  // transformers 5 keeps a null one (setdefault fills only a missing key), and fails on it
  check(inner !== null, `${file}: ${rope.where}.${key} is null; give a number or leave it out`);
  if (inner === undefined) return top;
  check(
    top === undefined || top === inner,
    `${file}: ${key} ${JSON.stringify(top)} and ${rope.where}.${key} ${
      JSON.stringify(inner)
    } disagree (transformers 4 reads the top-level one, transformers 5 the one in ${rope.where}); keep one`,
  );
  return inner;
}

/** RoPE as `arch`'s transformers class reads it: the scaling, and partial_rotary_factor (1 where none is given). */
interface RopeReading {
  rope: RopeConfig;
  partialRotaryFactor: unknown;
}

/**
 * RoPE as `arch` reads it: the RoPE dict transformers 5 reads (ropeDictOf), with rope_theta and
 * partial_rotary_factor from it or the top level, where those agree (sharedRopeField).
 */
function parseRope(c: Record<string, unknown>, file: string, arch: Architecture): RopeReading {
  const t5 = ropeDictOf(c);
  const reading = parseRopeDict(c, t5, file, arch, true);
  // Both layouts in one file: transformers 5 reads rope_scaling, transformers 4 knows no rope_parameters, and
  // a reader of the newer layout would take rope_parameters: each, filled from the top level where it is
  // silent, must say the same (one of them would be dropped in silence, and the logits with it).
  if (c.rope_parameters != null && c.rope_scaling != null) {
    const other: RopeDict = t5.where === "rope_scaling"
      ? { dict: c.rope_parameters as Record<string, unknown>, where: "rope_parameters" }
      : { dict: c.rope_scaling as Record<string, unknown>, where: "rope_scaling" };
    const second = parseRopeDict(c, other, file, arch, false);
    const [older, newer] = t5.where === "rope_scaling" ? [reading, second] : [second, reading];
    check(
      JSON.stringify(older) === JSON.stringify(newer),
      `${file}: rope_theta/rope_scaling (${JSON.stringify(older)}) and rope_parameters (${
        JSON.stringify(newer)
      }) disagree; keep one`,
    );
  }
  return reading;
}

const ROPE_TYPES: readonly RopeType[] = ["default", "llama3", "linear"];

/**
 * One RoPE dict read as `arch` reads it; `agree`: its rope_theta and partial_rotary_factor must agree with the
 * top level's (sharedRopeField), else the dict's own value is taken where it has one (the layout transformers 5
 * does not read, compared with the one it does).
 */
function parseRopeDict(
  c: Record<string, unknown>,
  r: RopeDict,
  file: string,
  arch: Architecture,
  agree: boolean,
): RopeReading {
  const { dict: scaling, where } = r;
  const shared = (key: SharedRopeField) =>
    agree ? sharedRopeField(c, r, key, file) : scaling?.[key] ?? c[key] ?? undefined;
  const partialRotaryFactor = shared("partial_rotary_factor") ?? 1;
  // no rope_theta in either place: transformers 5 fills the class's default (setdefault)
  const theta = numberField({ rope_theta: shared("rope_theta") }, "rope_theta", file, arch.defaults.rope_theta);
  const types = arch.ropeTypes ?? ROPE_TYPES;
  // The type as transformers reads it: rope_type where the key is there (null too: its setdefault keeps it), else
  // type, else "default"; a null one is no type (transformers fails on it), not the default.
  const key = ["rope_type", "type"].find((k) => scaling !== null && Object.hasOwn(scaling, k));
  const named = key === undefined ? undefined : scaling![key];
  check(
    key === undefined || typeof named === "string",
    `${file}: ${where}.${key} ${JSON.stringify(named)} is not a RoPE type; supported: ${types.join(", ")}`,
  );
  // settings of a scaling without its type ({"factor": 4}) would be read as no scaling at all
  const settings = Object.keys(scaling ?? {}).filter((k) =>
    !["rope_type", "type", "rope_theta", "partial_rotary_factor"].includes(k)
  );
  check(
    key !== undefined || settings.length === 0,
    `${file}: ${where} has ${settings.join(", ")} but no "rope_type"; name the scaling (transformers refuses it too)`,
  );
  const type = (named as string | undefined) ?? "default";
  check(
    (types as readonly string[]).includes(type),
    `${file}: ${where}.rope_type "${type}" is not supported${arch.ropeTypes ? ` for ${arch.name}` : ""}; supported: ${
      types.join(", ")
    }`,
  );
  const rope: RopeConfig = {
    theta,
    type: "default",
    factor: 1,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositions: 8192,
  };
  if (type === "default") return { rope, partialRotaryFactor };
  const s = scaling as Record<string, unknown>;
  const f = `${file} (${where})`;
  if (type === "linear") return { rope: { ...rope, type, factor: numberField(s, "factor", f) }, partialRotaryFactor };
  return {
    rope: {
      ...rope,
      type: "llama3",
      factor: numberField(s, "factor", f),
      lowFreqFactor: numberField(s, "low_freq_factor", f),
      highFreqFactor: numberField(s, "high_freq_factor", f),
      originalMaxPositions: numberField(s, "original_max_position_embeddings", f),
    },
    partialRotaryFactor,
  };
}

/**
 * partial_rotary_factor `f` (as parseRope reads it, from the top level or the RoPE dict): RoPE turns the first
 * int(head_dim · factor) dimensions of each head, with frequencies over that many; where the architecture's
 * attention does not implement it (Architecture.partialRotary), it must be 1.
 */
function parseRotaryDim(f: unknown, file: string, headDim: number, partial: boolean): number {
  check(
    typeof f === "number" && f > 0 && f <= 1,
    `${file}: field "partial_rotary_factor" must be a number in (0, 1], got ${JSON.stringify(f)}`,
  );
  if (f === 1) return headDim;
  const partialTypes = ARCHITECTURES.filter((a) => a.partialRotary).flatMap((a) => Object.keys(a.modelTypes));
  check(
    partial,
    `${file}: partial_rotary_factor ${f} is not supported for this model_type (${partialTypes.join(", ")} only)`,
  );
  const dim = Math.floor(headDim * f); // Python's int() of a positive float
  check(
    dim >= 2 && dim % 2 === 0,
    `${file}: partial_rotary_factor ${f} turns ${dim} of head_dim ${headDim} dimensions; supported: an even number ≥ 2`,
  );
  return dim;
}

const NO_VIEW = "every token attends to its whole view";
const NO_WINDOW = `sliding windows are not supported (${NO_VIEW})`;

/**
 * Refuses a config where a layer would attend through a sliding window, which the engine has not, reading it as
 * `arch`'s transformers class reads it (Architecture.slidingWindow); `layer_types`, where given, must say
 * "full_attention" for every layer, as a "sliding_attention" layer either slides or, with no window in effect,
 * is refused by transformers (Qwen2, Qwen3) or contradicts the class. `use_sliding_window` alone is no refusal:
 * with sliding_window null, or max_window_layers past the last layer, no layer slides in transformers either.
 */
function checkFullAttention(c: Record<string, unknown>, file: string, arch: Architecture, layers: number): void {
  const s = arch.slidingWindow;
  // a class without a window: asking for one is refused by name rather than run without
  check(s || !c.use_sliding_window, `${file}: use_sliding_window is not supported for ${arch.name} (${NO_VIEW})`);
  // why no window is in effect, if none is (use_sliding_window: any true value, as Python reads it, 1 too)
  const noWindow = !s
    ? `${arch.name} has none`
    : s.gated && !c.use_sliding_window
    ? "use_sliding_window is not set"
    : (c.sliding_window === undefined ? s.window : c.sliding_window) == null
    ? "sliding_window is null"
    : undefined;
  const types = c.layer_types;
  if (types !== undefined && types !== null) {
    check(
      Array.isArray(types),
      `${file}: field "layer_types" must be a list of attention kinds, one per layer, got ${JSON.stringify(types)}`,
    );
    check(
      types.length === layers,
      `${file}: layer_types lists ${types.length} layers, num_hidden_layers says ${layers} (one attention kind per layer)`,
    );
    for (const [i, kind] of types.entries()) {
      check(
        kind === "full_attention" || kind === "sliding_attention",
        `${file}: layer_types[${i}] ${JSON.stringify(kind)} is not supported; supported: "full_attention"`,
      );
      check(
        kind === "full_attention",
        `${file}: layer_types[${i}] is "sliding_attention"${
          noWindow ? `, with no sliding window in effect (${noWindow})` : ""
        }; ${NO_WINDOW}`,
      );
    }
  }
  if (!s || noWindow) return;
  // the window is in effect: the layers it applies to
  let first = 0;
  if (s.maxWindowLayers !== undefined) {
    if (types !== undefined && types !== null) return; // every layer "full_attention", checked above
    const m = c.max_window_layers ?? s.maxWindowLayers;
    check(
      Number.isInteger(m) && (m as number) >= 0,
      `${file}: field "max_window_layers" must be an integer ≥ 0, got ${JSON.stringify(m)}`,
    );
    first = m as number;
  }
  const window = c.sliding_window === undefined
    ? `${s.window} (${arch.name}'s default)`
    : JSON.stringify(c.sliding_window);
  const from = s.maxWindowLayers === undefined
    ? ""
    : `, from max_window_layers ${first}${c.max_window_layers == null ? ` (${arch.name}'s default)` : ""} on`;
  check(
    first >= layers,
    `${file}: sliding_window ${window} is not supported (${NO_VIEW}); transformers applies it to layers ` +
      `${first}..${layers - 1} (${s.gated ? "use_sliding_window is set" : "whatever use_sliding_window says"}${from})`,
  );
}

const QUANT_SUPPORTED = 'awq (4-bit, version "gemm", zero points) and fp8 (e4m3, weight_block_size)';

/** quantization_config, or undefined for a plain checkpoint; anything else is refused by name. */
function parseQuantization(c: Record<string, unknown>, file: string): Quantization | undefined {
  const q = c.quantization_config;
  if (q === undefined || q === null) return undefined;
  const f = `${file} (quantization_config)`;
  check(typeof q === "object" && !Array.isArray(q), `${f}: expected an object`);
  const o = q as Record<string, unknown>;
  const method = o.quant_method;
  if (method === "awq") {
    check(
      o.bits === 4,
      `${f}: AWQ with bits ${JSON.stringify(o.bits)} is not supported; supported: ${QUANT_SUPPORTED}`,
    );
    check(
      o.version === undefined || typeof o.version === "string",
      `${f}: AWQ version ${JSON.stringify(o.version)} is not a name; supported: ${QUANT_SUPPORTED}`,
    );
    const version = String(o.version ?? "gemm").toLowerCase();
    check(version === "gemm", `${f}: AWQ version "${version}" is not supported; supported: ${QUANT_SUPPORTED}`);
    check(
      o.zero_point === undefined || o.zero_point === true,
      `${f}: AWQ without zero points (zero_point ${
        JSON.stringify(o.zero_point)
      }) is not supported; supported: ${QUANT_SUPPORTED}`,
    );
    return { method: "awq", groupSize: intField(o, "group_size", f), ...notConverted(o, f) };
  }
  if (method === "fp8") {
    check(
      (o.fmt ?? "e4m3") === "e4m3",
      `${f}: fp8 format ${JSON.stringify(o.fmt)} is not supported; supported: ${QUANT_SUPPORTED}`,
    );
    check(
      (o.activation_scheme ?? "dynamic") === "dynamic",
      `${f}: fp8 activation_scheme ${JSON.stringify(o.activation_scheme)} is not supported (dynamic)`,
    );
    const b = o.weight_block_size;
    check(
      Array.isArray(b) && b.length === 2 && b.every((x) => Number.isInteger(x) && x > 0 && x < 2 ** 31),
      `${f}: weight_block_size must be two positive integers below 2^31, got ${
        JSON.stringify(b)
      } (per-tensor FP8 is not supported)`,
    );
    return { method: "fp8", block: [b[0], b[1]], ...notConverted(o, f) };
  }
  throw new InputError(
    `${f}: quant_method ${JSON.stringify(method)} is not supported; supported: ${QUANT_SUPPORTED}`,
  );
}

/**
 * modules_to_not_convert (absent, null or [] for none): module names. transformers 5 reads each as a regex;
 * real checkpoints list plain names (lm_head, routers), so anything else is refused rather than half-matched.
 */
function notConverted(o: Record<string, unknown>, f: string): { notConverted?: string[] } {
  const list: unknown = o.modules_to_not_convert ?? [];
  check(
    Array.isArray(list) && list.every((x): x is string => typeof x === "string"),
    `${f}: modules_to_not_convert must be a list of module names, got ${JSON.stringify(list)}`,
  );
  for (const name of list) {
    check(
      /^[\w.]*$/.test(name),
      `${f}: modules_to_not_convert entry ${
        JSON.stringify(name)
      } is not a module name (letters, digits, "_" and "."); patterns are not supported`,
    );
  }
  return list.length ? { notConverted: list } : {};
}

/** The config of a model folder or a `random:SHAPE`, read without its weights. */
export function localConfig(source: string): ModelConfig {
  if (source.startsWith("random:")) return shapeConfig(source.slice("random:".length));
  if (!pathInfo(source, "--model")?.isDirectory) throw new InputError(`--model ${source}: no such folder`);
  return readModelConfig(source);
}

/**
 * config.json's `architectures`, the transformers classes the weights were saved from: the engine runs a causal
 * LM (its lm_head over the vocabulary), so a classifier's or reward model's head (its score weights, a handful of
 * outputs) or a bare model is refused, not run as one. Absent (or empty) it says nothing.
 */
function causalLm(architectures: unknown, file: string): void {
  if (architectures === undefined || architectures === null) return;
  check(
    Array.isArray(architectures) && architectures.every((a) => typeof a === "string"),
    `${file}: architectures must be a list of class names, got ${JSON.stringify(architectures)}`,
  );
  const other = architectures.find((a) => !/(ForCausalLM|LMHeadModel)$/.test(a));
  check(
    other === undefined,
    `${file}: architectures names ${JSON.stringify(other)}, not a causal language model (…ForCausalLM): the ` +
      "engine runs a causal LM's head, and would run this checkpoint as one; give the causal LM's checkpoint",
  );
}

/** Parses config.json (already read as `c`); `file` names it in errors. */
export function parseConfig(c: Record<string, unknown>, file: string): ModelConfig {
  causalLm(c.architectures, file);
  const type = c.model_type;
  check(typeof type === "string", `${file}: missing field "model_type"; supported: ${SUPPORTED_MODEL_TYPES}`);
  const arch = architectureFor(type);
  check(arch, `${file}: model_type "${type}" is not supported; supported: ${SUPPORTED_MODEL_TYPES}`);
  const hidden = intField(c, "hidden_size", file);
  const heads = intField(c, "num_attention_heads", file);
  const d = arch.defaults;
  // Where the file leaves a field out, its transformers class's default, named in errors about it. An explicit
  // null num_key_value_heads is num_attention_heads in every class (their __post_init__), whatever the default.
  const kvDefault = c.num_key_value_heads === null ? undefined : d.num_key_value_heads;
  const kvHeads = intField(c, "num_key_value_heads", file, kvDefault ?? heads);
  const kvNote = c.num_key_value_heads == null && kvDefault !== undefined ? `, ${type}'s default` : "";
  check(
    heads % kvHeads === 0,
    `${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads}${kvNote})`,
  );
  const headDim = intField(c, "head_dim", file, d.head_dim ?? Math.floor(hidden / heads));
  const derived = c.head_dim !== undefined && c.head_dim !== null
    ? ""
    : d.head_dim === undefined
    ? " (hidden_size / num_attention_heads)"
    : ` (${type}'s default)`;
  check(headDim % 2 === 0, `${file}: head_dim${derived} must be even, got ${headDim}`);
  // The bound keeps the spec small (RoPE's frequencies are head_dim / 2 numbers) before any tensor is checked.
  check(headDim <= MAX_HEAD_DIM, `${file}: head_dim${derived} ${headDim} is more than ${MAX_HEAD_DIM}`);
  // No dtype stated: transformers 5 loads the weights in their own dtype ("auto"), which the checkpoint decides.
  const dtypeName = c.dtype ?? c.torch_dtype;
  const dtype = typeof dtypeName === "string" && Object.hasOwn(DTYPES, dtypeName) ? DTYPES[dtypeName] : undefined;
  check(
    dtypeName == null || dtype,
    `${file}: dtype ${JSON.stringify(dtypeName)} is not supported; supported: ${Object.keys(DTYPES).join(", ")}`,
  );
  // only a class that reads mlp_bias gives its MLPs biases (Qwen2/Qwen3/Qwen3-MoE/Phi-3 build them without)
  check(
    !arch.mlpBias || !c.mlp_bias,
    `${file}: mlp_bias is not supported for ${type} (the engine's MLPs have no biases)`,
  );
  // Settings the engine does not implement must not be ignored silently.
  check(
    c.hidden_act === undefined || SILU.includes(c.hidden_act as string),
    `${file}: hidden_act ${JSON.stringify(c.hidden_act)} is not supported (${SILU.join(", ")})`,
  );
  for (const k of ["rope_scaling", "rope_parameters"]) {
    const v = c[k];
    check(
      v === undefined || v === null || (typeof v === "object" && !Array.isArray(v)),
      `${file}: field "${k}" must be an object or null, got ${JSON.stringify(v)}`,
    );
  }
  if (!arch.qkvBias) check(!c.attention_bias, `${file}: attention_bias is not supported for ${type}`);
  const rope = parseRope(c, file, arch);
  const rotaryDim = parseRotaryDim(rope.partialRotaryFactor, file, headDim, arch.partialRotary === true);
  const eps = numberField(c, "rms_norm_eps", file, d.rms_norm_eps);
  const layers = intField(c, "num_hidden_layers", file);
  checkFullAttention(c, file, arch, layers);
  const quant = parseQuantization(c, file);
  check(
    c.tie_word_embeddings === undefined || typeof c.tie_word_embeddings === "boolean",
    `${file}: field "tie_word_embeddings" must be true or false, got ${JSON.stringify(c.tie_word_embeddings)}`,
  );
  const config: ModelConfig = {
    family: arch.name,
    hidden,
    intermediate: intField(c, "intermediate_size", file),
    layers,
    heads,
    kvHeads,
    headDim,
    vocab: intField(c, "vocab_size", file),
    rmsEps: eps,
    rope: rope.rope,
    qkvBias: arch.qkvBias === true,
    qkNorm: arch.qkNorm === true,
    ...(rotaryDim === headDim ? {} : { rotaryDim }),
    tiedEmbeddings: typeof c.tie_word_embeddings === "boolean" ? c.tie_word_embeddings : d.tie_word_embeddings,
    ...(dtype ? { dtype } : {}),
    // left out (or null), the class's default, as transformers reads it: not no limit at all
    maxPositions: intField(c, "max_position_embeddings", file, d.max_position_embeddings),
    ...(quant ? { quant } : {}),
  };
  return arch.read ? arch.read(c, file, config) : config;
}

/**
 * The fields of config.json `c` that the file leaves out and parseConfig fills from its architecture's defaults,
 * with the values filled in: what the reading adds to the file. The run key holds them, so that a resumed folder
 * never mixes records of two readings of one file (a default corrected in the project: Phi-3's rms_norm_eps).
 */
export function defaultsUsed(c: Record<string, unknown>): Record<string, unknown> {
  const arch = typeof c.model_type === "string" ? architectureFor(c.model_type) : undefined;
  if (!arch) return {};
  const used: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(arch.defaults)) {
    // the RoPE dict may carry its own theta; an explicit null num_key_value_heads is the heads, not the default
    if (k === "rope_theta" && ropeDictOf(c).dict?.rope_theta != null) continue;
    if (c[k] === undefined || (c[k] === null && k !== "num_key_value_heads")) used[k] = v;
  }
  return used;
}

export function readModelConfig(dir: string): ModelConfig {
  const file = join(dir, "config.json");
  return parseConfig(readJson(file), file);
}

/** Token ids from a config field: an id or a list of them, each an integer in [0, vocab). */
function ids(v: unknown, where: string, vocab: unknown): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const limit = typeof vocab === "number" && Number.isInteger(vocab) && vocab > 0 ? vocab : Number.MAX_SAFE_INTEGER;
  for (const x of list) {
    check(
      typeof x === "number" && Number.isInteger(x) && x >= 0 && x < limit,
      `${where}: expected token ids (integers${
        limit < Number.MAX_SAFE_INTEGER ? ` below the vocabulary's ${limit}` : " ≥ 0"
      }), got ${JSON.stringify(x)}`,
    );
  }
  return list as number[];
}

/**
 * A generation_config.json setting that transformers' generate acts on, at the value the file gives it, and this
 * engine does not apply: the decoding departs from transformers' there, and says so (never silently).
 */
export interface UnappliedSetting {
  /** the field, as the file names it */
  key: string;
  /** its value there */
  value: unknown;
  /**
   * the decodings transformers acts on it in: every one (a logits processor, another decoding mode), sampling
   * only (a warper, which greedy decoding skips) or greedy only (contrastive search)
   */
  when: "always" | "sampling" | "greedy";
}

type Acts = (v: unknown, g: Record<string, unknown>, eos: readonly number[]) => boolean;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** acts at any value but these (null and absent never act) */
const unless = (...neutral: unknown[]): Acts => (v) => !neutral.some((n) => same(v, n));
/** acts above `n` (a value that is no number too: transformers would act on it or fail, either way not this) */
const above = (n: number): Acts => (v) => typeof v !== "number" || v > n;
const every: Acts = () => true;

/**
 * The generation_config.json fields transformers turns into behaviour (GenerationMixin._get_logits_processor, its
 * stopping criteria and GenerationConfig.get_generation_mode, v4.5x–v5) that this engine does not implement, each
 * with the values at which transformers acts: null, absent and the neutral values (repetition_penalty 1,
 * suppress_tokens [], min_length 0, …) never do. Each one that acts is a departure: `unapplied`, said where a run
 * is decoded and recorded with it (unappliedSettings). The engine's own are temperature, top_k, top_p, min_p,
 * do_sample and the stop tokens. Left out, as changing no token: max_length, max_new_tokens and max_time (the
 * command's own budget decides how long a run writes); renormalize_logits (a log-softmax of the processed logits:
 * the same draw); num_beam_groups, diversity_penalty, length_penalty, early_stopping (beam search's: num_beams says
 * it); num_return_sequences; assisted decoding's (use_mtp, prompt_lookup_num_tokens, assistant_early_exit,
 * num_assistant_tokens…: a draft the model verifies, the same tokens greedy, the same distribution sampled);
 * the caches', compilation's and outputs' settings; pad, bos and decoder-start ids (bos_token_id is read).
 */
const UNAPPLIED: Readonly<Record<string, { when: UnappliedSetting["when"]; acts: Acts }>> = {
  // logits processors: greedy decoding and sampling alike
  guidance_scale: { when: "always", acts: unless(1) },
  sequence_bias: { when: "always", acts: unless([], {}) },
  encoder_repetition_penalty: { when: "always", acts: unless(1) },
  repetition_penalty: { when: "always", acts: unless(1) },
  no_repeat_ngram_size: { when: "always", acts: above(0) },
  encoder_no_repeat_ngram_size: { when: "always", acts: above(0) },
  bad_words_ids: { when: "always", acts: unless([]) },
  // these hold a stop token back: nothing to hold back without one
  min_length: { when: "always", acts: (v, g, eos) => eos.length > 0 && above(0)(v, g, eos) },
  min_new_tokens: { when: "always", acts: (v, g, eos) => eos.length > 0 && above(0)(v, g, eos) },
  exponential_decay_length_penalty: { when: "always", acts: every },
  forced_bos_token_id: { when: "always", acts: every },
  forced_eos_token_id: { when: "always", acts: every },
  remove_invalid_values: { when: "always", acts: unless(false) },
  suppress_tokens: { when: "always", acts: unless([]) },
  begin_suppress_tokens: { when: "always", acts: unless([]) },
  watermarking_config: { when: "always", acts: every },
  // the prompt's last token re-tokenized before generating (generate's heal_tokens)
  token_healing: { when: "always", acts: unless(false) },
  // a stopping criterion: generation ends where the text appears
  stop_strings: { when: "always", acts: unless([], "") },
  // decoding modes other than greedy decoding and sampling
  num_beams: { when: "always", acts: above(1) },
  constraints: { when: "always", acts: every },
  force_words_ids: { when: "always", acts: every },
  dola_layers: { when: "always", acts: every },
  // contrastive search: transformers' greedy decoding with top_k > 1 (its default 50)
  penalty_alpha: { when: "greedy", acts: (v, g, eos) => above(0)(v, g, eos) && Number(g.top_k ?? 50) > 1 },
  // lossy verification of the drafts of a proposer the generation_config itself names (MTP heads, early exit)
  assistant_ensemble_weight: {
    when: "always",
    acts: (v, g) => unless(1)(v, g, []) && (g.use_mtp === true || (g.assistant_early_exit ?? null) !== null),
  },
  // warpers: sampling only
  top_h: { when: "sampling", acts: every },
  typical_p: { when: "sampling", acts: (v) => typeof v !== "number" || v < 1 },
  epsilon_cutoff: { when: "sampling", acts: (v) => typeof v !== "number" || (v > 0 && v < 1) },
  eta_cutoff: { when: "sampling", acts: (v) => typeof v !== "number" || (v > 0 && v < 1) },
};

/**
 * The generation_config's settings that transformers would apply to a decoding at `temperature` (0: greedy) and
 * this engine does not, by field: what a run records of them (run.json's `sampling.unapplied`), {} where none.
 */
export function unappliedSettings(g: GenerationConfig, temperature: number): Record<string, unknown> {
  const when = temperature > 0 ? "sampling" : "greedy";
  return Object.fromEntries(
    (g.unapplied ?? []).filter((u) => u.when === "always" || u.when === when).map((u) => [u.key, u.value]),
  );
}

/**
 * unappliedSettings said in words, undefined where there are none: "repetition_penalty 1.05 and suppress_tokens
 * [5,6,7], which transformers applies and this engine does not (decoded without them)"; a long value is cut (the
 * run's record keeps it whole).
 */
export function unappliedText(unapplied: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const items = Object.entries(unapplied ?? {}).map(([k, v]) => {
    const s = JSON.stringify(v) ?? String(v);
    return `${k} ${s.length > 60 ? `${s.slice(0, 50)}… (${s.length} characters)` : s}`;
  });
  if (!items.length) return undefined;
  const list = items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : items[0];
  return `${list}, which transformers applies and this engine does not (decoded without ${
    items.length > 1 ? "them" : "it"
  })`;
}

/** The warning line a command decoding with generation config `g` prints on stderr where it departs (else none). */
export function unappliedWarning(
  g: GenerationConfig,
  unapplied: Readonly<Record<string, unknown>>,
): string | undefined {
  const text = unappliedText(unapplied);
  return text && `warning: ${g.file ?? "the model's generation_config.json"} sets ${text}`;
}

/** generation_config.json: sampling defaults and stop tokens. Absent file = greedy, stop on config's eos. */
export function readGenerationConfig(dir: string, modelJson?: Record<string, unknown>): GenerationConfig {
  const file = join(dir, "generation_config.json");
  let g: Record<string, unknown> = {}, found = false;
  try {
    Deno.statSync(file);
    g = readJson(file);
    found = true;
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
  // Each sampling field in its range as the sampler reads it (samplingRange, the one check), named with its file:
  // a value the sampler would refuse later (after a run folder was written) or silently misread.
  const number = (key: string, s: SamplingSetting, fallback: number) => {
    const v = g[key] ?? fallback, bad = samplingRange(s, v);
    check(!bad, `${file}: field "${key}" must be ${bad?.expected}, got ${JSON.stringify(v)}${bad?.note}`);
    return v as number;
  };
  check(
    g.do_sample === undefined || typeof g.do_sample === "boolean",
    `${file}: field "do_sample" must be true or false, got ${JSON.stringify(g.do_sample)}`,
  );
  const vocab = modelJson?.vocab_size;
  const from = (key: string) =>
    g[key] !== undefined && g[key] !== null ? `${file}: field "${key}"` : `${join(dir, "config.json")}: field "${key}"`;
  const eos = ids(g.eos_token_id ?? modelJson?.eos_token_id, from("eos_token_id"), vocab);
  const bos = ids(g.bos_token_id ?? modelJson?.bos_token_id, from("bos_token_id"), vocab)[0];
  // Settings transformers would act on that this engine does not apply: kept, and said by each command that
  // decodes with them (unappliedSettings), never dropped silently.
  const unapplied = Object.entries(UNAPPLIED).flatMap(([key, u]) =>
    g[key] !== undefined && g[key] !== null && u.acts(g[key], g, eos) ? [{ key, value: g[key], when: u.when }] : []
  );
  return {
    ...(found ? { file } : {}),
    bosTokenId: bos,
    eosTokenIds: eos,
    ...(unapplied.length ? { unapplied } : {}),
    doSample: g.do_sample === true,
    temperature: number("temperature", "temperature", 1),
    // transformers' default when the file has none
    topK: number("top_k", "topK", 50),
    topP: number("top_p", "topP", 1),
    minP: number("min_p", "minP", 0),
  };
}
