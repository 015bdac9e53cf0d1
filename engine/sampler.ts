/**
 * Next-token choice: greedy, or temperature → top-k → top-p → min-p (the order transformers applies them),
 * with suppressed ids. Seeded: the same seed gives the same tokens.
 */
import { InputError } from "./errors.ts";
import { SAMPLE_FIELDS } from "./formats.ts";
import { loadNative, type LogprobsBuffers } from "./native.ts";

export interface SamplingOptions {
  /** 0 means greedy */
  temperature: number;
  /** 0 disables */
  topK: number;
  /** 1 disables */
  topP: number;
  /** 0 disables */
  minP: number;
  /** ids that are never chosen */
  suppress: readonly number[];
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1, minP: 0, suppress: [] };

/** The smallest temperature that samples: nothing below it can differ from greedy decoding (0). */
export const MIN_TEMPERATURE = 1e-6;

/** The sampling settings a range is checked for, by their names in SamplingOptions. */
export type SamplingSetting = "temperature" | "topK" | "topP" | "minP";

/** Each setting's range, as every refusal of one says it. */
export const SAMPLING_RANGES: Readonly<Record<SamplingSetting, string>> = {
  temperature: `0 (greedy) or a number ≥ ${MIN_TEMPERATURE}`,
  topK: "an integer ≥ 0",
  topP: "a number in (0, 1]",
  minP: "a number in [0, 1)",
};

/**
 * The one range check of a sampling setting, for the flags, generation_config.json and the samplers alike:
 * undefined where `v` is in its range as the core reads it, else what it must be. The core reads each setting as
 * a float32 (Sampler.draw): a number in range as a double but not as that float32 (min-p 0.9999999999 is 1, a
 * top-p of 1e-50 is 0, a temperature of 1e39 is infinite) is refused here too, the rounding said (`note`), never
 * left for the core to refuse after a run folder was written.
 */
export function samplingRange(s: SamplingSetting, v: unknown): { expected: string; note: string } | undefined {
  const fail = (note = "") => ({ expected: SAMPLING_RANGES[s], note });
  if (typeof v !== "number" || Number.isNaN(v)) return fail();
  const f = Math.fround(v);
  // below MIN_TEMPERATURE, 1/T overflows float32 in the samplers (0 × ∞ is NaN) long before it could differ from greedy
  const ok = s === "temperature"
    ? v === 0 || (v >= MIN_TEMPERATURE && Number.isFinite(v))
    : s === "topK"
    ? Number.isInteger(v) && v >= 0
    : s === "topP"
    ? v > 0 && v <= 1
    : v >= 0 && v < 1;
  if (!ok) return fail();
  // top-k is written as a count the core bounds by the vocabulary (Sampler.draw), not as this float
  const okAsFloat = s === "temperature" ? Number.isFinite(f) : s === "topP" ? f > 0 : s === "minP" ? f < 1 : true;
  return okAsFloat ? undefined : fail(` (the sampler reads it as a float32, in which it is ${f})`);
}

export function validateSampling(o: SamplingOptions): string | undefined {
  const names: [SamplingSetting, string][] = [
    ["temperature", "temperature"],
    ["topK", "top-k"],
    ["topP", "top-p"],
    ["minP", "min-p"],
  ];
  for (const [s, name] of names) {
    const bad = samplingRange(s, o[s]);
    if (bad) return `${name} must be ${bad.expected}, got ${o[s]}${bad.note}`;
  }
  // ids as the core reads them (32-bit): 2^32 + 5 must not become 5, NaN 0, or -1 be dropped silently
  if (!Array.isArray(o.suppress)) return `suppress must be a list of token ids, got ${JSON.stringify(o.suppress)}`;
  const bad = o.suppress.find((id) => !(Number.isInteger(id) && id >= 0 && id < 2 ** 31));
  if (bad !== undefined) {
    return `suppress must hold token ids (integers ≥ 0), got ${JSON.stringify(bad) ?? String(bad)}`;
  }
  return undefined;
}

/**
 * A sampled token's log-probability and its row's k most likely tokens', from the log-softmax of the raw logits
 * (temperature 1, before suppression or any filter).
 */
export interface TokenLogprobs {
  /** the sampled id's */
  logprob: number;
  /** the k most likely ids, most likely first (ties: lower id first), and their log-probabilities */
  ids: Int32Array;
  logprobs: Float32Array;
}

/** sfc32: a small, fast, well-studied 32-bit generator; seeded through splitmix32. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.uint32() / 4294967296;
  }
}

/**
 * One row's sampling: its options and a seeded stream of uniform draws. The choice itself is the native
 * core's rule (cuda/src/sampling.cc, and the same rule on the GPU): thresholds in logit space for top-k,
 * then top-p over the top-k set, then min-p, and the inverse CDF of the kept tokens in id order at the
 * drawn u. So a seed gives the same tokens on the CPU and on a GPU (up to their logits' differences).
 */
export class Sampler {
  readonly #rng: Rng;
  constructor(readonly options: SamplingOptions, seed = 0) {
    const bad = validateSampling(options);
    if (bad) throw new InputError(`sampling: ${bad}`);
    this.#rng = new Rng(seed);
  }

  /**
   * Writes the next row's spec at `out[at..]` (one draw, SAMPLE_FIELDS); its suppressed ids sit at `suppressStart`,
   * and its `logprobs` top log-probabilities (0: none) go at `logprobsStart` of the pass's lists. A top-k at or
   * past the `vocab` keeps every token (transformers' min(top_k, vocab)), and is written as 0, none: the core
   * reads counts below 2^31 from float32s, which round a k past 2^24 and refuse one that rounds to 2^31.
   */
  draw(
    out: Float32Array,
    at: number,
    suppressStart: number,
    logprobs = 0,
    logprobsStart = 0,
    vocab = Infinity,
  ): void {
    const o = this.options;
    const v: Record<(typeof SAMPLE_FIELDS)[number], number> = {
      temperature: o.temperature,
      top_p: o.topP,
      min_p: o.minP,
      u: this.#rng.next(),
      top_k: o.topK >= vocab ? 0 : o.topK,
      suppress_start: suppressStart,
      suppress_count: o.suppress.length,
      logprobs,
      logprobs_start: logprobsStart,
    };
    SAMPLE_FIELDS.forEach((k, i) => (out[at + i] = v[k]));
  }
}

/** Floats per row in the specs the core reads. */
export const SPEC_FLOATS = SAMPLE_FIELDS.length;

/**
 * The specs (one draw per sampler) and the concatenated suppressed ids, as the core reads them; with `logprobs`
 * (per sampler, how many top log-probabilities, 0: none), the buffers they come back in (none when none asks).
 * A suppressed id outside the vocabulary [0, vocab) is an InputError naming it.
 */
export function packSamplers(
  samplers: readonly Sampler[],
  logprobs: readonly number[],
  vocab: number,
): { specs: Float32Array; suppress: Int32Array; out?: LogprobsBuffers } {
  for (const s of samplers) {
    const bad = s.options.suppress.find((id) => id >= vocab);
    if (bad !== undefined) {
      throw new InputError(`sampling: suppress holds ${bad}, outside the vocabulary [0, ${vocab})`);
    }
  }
  const specs = new Float32Array(samplers.length * SPEC_FLOATS);
  const suppress: number[] = [];
  let total = 0;
  samplers.forEach((s, i) => {
    const k = logprobs[i] ?? 0;
    s.draw(specs, i * SPEC_FLOATS, suppress.length, k, total, vocab);
    for (const id of s.options.suppress) suppress.push(id);
    total += k;
  });
  const out = total
    ? { sampled: new Float32Array(samplers.length), ids: new Int32Array(total), logprobs: new Float32Array(total) }
    : undefined;
  return { specs, suppress: Int32Array.from(suppress), out };
}

/** Each sampler's TokenLogprobs from the core's buffers (undefined where it asked for none). */
export function unpackLogprobs(
  out: LogprobsBuffers | undefined,
  logprobs: readonly number[],
): (TokenLogprobs | undefined)[] {
  let at = 0;
  return logprobs.map((k, i) => {
    if (!out || !k) return undefined;
    const ids = out.ids.slice(at, at + k), lp = out.logprobs.slice(at, at += k);
    return { logprob: out.sampled[i], ids, logprobs: lp };
  });
}

/** The core's rule on one row of logits (the forward pass usually samples by itself: Engine.forwardSample). */
export function sampleLogits(logits: Float32Array, sampler: Sampler): number {
  return sampleLogitsLogprobs(logits, sampler, 0).id;
}

/** sampleLogits, and with k > 0 the row's TokenLogprobs (the core's reference, on the host). */
export function sampleLogitsLogprobs(
  logits: Float32Array,
  sampler: Sampler,
  k: number,
): { id: number; logprobs?: TokenLogprobs } {
  const { specs, suppress, out } = packSamplers([sampler], [k], logits.length), ids = new Int32Array(1);
  loadNative().sampleLogits(logits, logits.length, specs, suppress, ids, out);
  return { id: ids[0], logprobs: unpackLogprobs(out, [k])[0] };
}
