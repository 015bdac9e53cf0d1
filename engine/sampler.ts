/**
 * Next-token choice: greedy, or temperature → top-k → top-p → min-p (the order transformers applies them),
 * with suppressed ids. Seeded: the same seed gives the same tokens.
 */
import { loadNative } from "./native.ts";

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

export function validateSampling(o: SamplingOptions): string | undefined {
  if (!(o.temperature >= 0 && Number.isFinite(o.temperature))) return `temperature must be ≥ 0, got ${o.temperature}`;
  if (!(Number.isInteger(o.topK) && o.topK >= 0)) return `top-k must be an integer ≥ 0, got ${o.topK}`;
  if (!(o.topP > 0 && o.topP <= 1)) return `top-p must be in (0, 1], got ${o.topP}`;
  if (!(o.minP >= 0 && o.minP < 1)) return `min-p must be in [0, 1), got ${o.minP}`;
  return undefined;
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
    if (bad) throw new RangeError(bad);
    this.#rng = new Rng(seed);
  }

  /** Writes the next row's spec at `out[at..at+5)`: temperature, top_p, min_p, u, top_k (one draw). */
  draw(out: Float32Array, at: number): void {
    const o = this.options;
    out[at] = o.temperature;
    out[at + 1] = o.topP;
    out[at + 2] = o.minP;
    out[at + 3] = this.#rng.next();
    out[at + 4] = o.topK;
  }
}

/** The suppressed ids shared by `samplers` (one list per forward pass). */
export function sharedSuppress(samplers: readonly Sampler[]): Int32Array {
  const first = samplers[0]?.options.suppress ?? [];
  for (const s of samplers) {
    const list = s.options.suppress;
    if (list.length !== first.length || list.some((id, i) => id !== first[i])) {
      throw new RangeError("samplers of one pass must suppress the same ids");
    }
  }
  return Int32Array.from(first);
}

/** The core's rule on one row of logits (the forward pass usually samples by itself: Engine.forwardSample). */
export function sampleLogits(logits: Float32Array, sampler: Sampler): number {
  const specs = new Float32Array(5), ids = new Int32Array(1);
  sampler.draw(specs, 0);
  loadNative().sampleLogits(logits, logits.length, specs, sharedSuppress([sampler]), ids);
  return ids[0];
}
