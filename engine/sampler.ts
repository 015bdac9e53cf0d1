/**
 * Next-token choice from one row of logits: greedy, or temperature → top-k → top-p → min-p (the order
 * transformers applies them), with suppressed ids. Seeded: the same seed gives the same tokens.
 */

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

export class Sampler {
  readonly #rng: Rng;
  readonly #suppressed: Set<number>;
  constructor(readonly options: SamplingOptions, seed = 0) {
    const bad = validateSampling(options);
    if (bad) throw new RangeError(bad);
    this.#rng = new Rng(seed);
    this.#suppressed = new Set(options.suppress);
  }

  sample(logits: Float32Array): number {
    const o = this.options;
    if (o.temperature === 0) return this.#argmax(logits);
    const inv = 1 / o.temperature;
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if (!this.#suppressed.has(i) && logits[i] > max) max = logits[i];
    // Candidates: a token below max - 50·T has probability < e^-50 of the top one. The short list is used
    // only where it provably holds every token that can be chosen (the nucleus or the top k lie inside it).
    const take = (floor: number) => {
      const c: number[] = [];
      for (let i = 0; i < logits.length; i++) if (logits[i] >= floor && !this.#suppressed.has(i)) c.push(i);
      return c;
    };
    const weights = (ids: number[]) => ids.map((i) => Math.exp((logits[i] - max) * inv));
    const total = (w: number[]) => w.reduce((a, b) => a + b, 0);
    const all = take(-Infinity);
    let cand = all;
    if (o.topK > 0 || o.topP < 1) {
      const short = take(max - 50 * o.temperature);
      const holdsTopK = o.topK > 0 && short.length >= o.topK;
      const holdsNucleus = o.topP < 1 && total(weights(short)) / total(weights(all)) >= o.topP;
      if (holdsTopK || holdsNucleus) cand = short;
    }
    cand.sort((a, b) => logits[b] - logits[a] || a - b);
    if (o.topK > 0 && cand.length > o.topK) cand.length = o.topK;
    let w = weights(cand);
    if (o.topP < 1) {
      // Keep the smallest prefix whose mass reaches top_p (the top token always stays).
      const sum = total(w);
      let acc = 0, keep = 0;
      while (keep < w.length) {
        acc += w[keep++] / sum;
        if (acc >= o.topP) break;
      }
      cand.length = keep;
      w = w.slice(0, keep);
    }
    if (o.minP > 0) {
      const keep = w.filter((x) => x >= o.minP * w[0]).length;
      cand.length = keep;
      w = w.slice(0, keep);
    }
    let r = this.#rng.next() * total(w);
    for (let i = 0; i < cand.length; i++) {
      r -= w[i];
      if (r < 0) return cand[i];
    }
    return cand[cand.length - 1];
  }

  #argmax(logits: Float32Array): number {
    let best = -1, max = -Infinity;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > max && !this.#suppressed.has(i)) {
        max = logits[i];
        best = i;
      }
    }
    return best;
  }
}
