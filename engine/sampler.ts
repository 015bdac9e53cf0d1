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
  constructor(readonly options: SamplingOptions, seed = 0) {
    const bad = validateSampling(options);
    if (bad) throw new RangeError(bad);
    this.#rng = new Rng(seed);
  }

  sample(logits: Float32Array): number {
    const o = this.options;
    const allowed = this.#allowed(logits.length);
    if (o.temperature === 0) return this.#argmax(logits, allowed);
    const inv = 1 / o.temperature;
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if (allowed[i] && logits[i] > max) max = logits[i];
    // The short list: tokens within 50·T of the top one (the others have probability < e^-50 of it). It is
    // used only where it provably holds every token that can be chosen (the top k, or the nucleus).
    const floor = max - 50 * o.temperature;
    let short: number[] = [], massAll = 0, massShort = 0;
    for (let i = 0; i < logits.length; i++) {
      if (!allowed[i]) continue;
      const w = Math.exp((logits[i] - max) * inv);
      massAll += w;
      if (logits[i] >= floor) (short.push(i), massShort += w);
    }
    const holds = (o.topK > 0 && short.length >= o.topK) || (o.topP < 1 && massShort / massAll >= o.topP);
    if (!holds && short.length < logits.length) {
      short = [];
      for (let i = 0; i < logits.length; i++) if (allowed[i]) short.push(i);
    }
    const cand = short.sort((a, b) => logits[b] - logits[a] || a - b);
    if (o.topK > 0 && cand.length > o.topK) cand.length = o.topK;
    let w = cand.map((i) => Math.exp((logits[i] - max) * inv));
    const total = (x: number[]) => x.reduce((a, b) => a + b, 0);
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

  #mask?: Uint8Array;
  #allowed(vocab: number): Uint8Array {
    if (this.#mask?.length !== vocab) {
      this.#mask = new Uint8Array(vocab).fill(1);
      for (const id of this.options.suppress) if (id >= 0 && id < vocab) this.#mask[id] = 0;
    }
    return this.#mask;
  }

  #argmax(logits: Float32Array, allowed: Uint8Array): number {
    let best = -1, max = -Infinity;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > max && allowed[i]) {
        max = logits[i];
        best = i;
      }
    }
    return best;
  }
}
