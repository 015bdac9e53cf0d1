/** Sampling: greedy, temperature, top-k, top-p, min-p, suppressed ids; seeded and reproducible. */
import assert from "node:assert/strict";
import { GREEDY, Rng, Sampler, type SamplingOptions } from "../../engine/sampler.ts";

const opts = (o: Partial<SamplingOptions>): SamplingOptions => ({ temperature: 1, topK: 0, topP: 1, minP: 0, suppress: [], ...o });

function counts(s: Sampler, logits: Float32Array, n: number): Map<number, number> {
  const c = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = s.sample(logits);
    c.set(t, (c.get(t) ?? 0) + 1);
  }
  return c;
}

Deno.test("greedy takes the first maximum and skips suppressed ids", () => {
  const l = new Float32Array([0.5, 2, 2, -1, 1.5]);
  assert.equal(new Sampler(GREEDY).sample(l), 1);
  assert.equal(new Sampler({ ...GREEDY, suppress: [1] }).sample(l), 2);
  assert.equal(new Sampler({ ...GREEDY, suppress: [1, 2] }).sample(l), 4);
});

Deno.test("temperature sampling follows the softmax", () => {
  const l = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const n = 20000;
  const c = counts(new Sampler(opts({}), 1), l, n);
  for (const [i, p] of [0.5, 0.3, 0.2].entries()) assert.ok(Math.abs(c.get(i)! / n - p) < 0.015, `token ${i}: ${c.get(i)! / n}`);
  // A low temperature sharpens: p ∝ p^(1/T).
  const cold = counts(new Sampler(opts({ temperature: 0.25 }), 2), l, n);
  const z = 0.5 ** 4 + 0.3 ** 4 + 0.2 ** 4;
  assert.ok(Math.abs(cold.get(0)! / n - 0.5 ** 4 / z) < 0.015);
});

Deno.test("top-k, top-p and min-p keep exactly the tokens they should", () => {
  const l = new Float32Array([Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)]);
  assert.deepEqual([...counts(new Sampler(opts({ topK: 2 }), 3), l, 3000).keys()].sort(), [0, 1]);
  assert.deepEqual([...counts(new Sampler(opts({ topP: 0.65 }), 4), l, 3000).keys()].sort(), [0, 1]);
  assert.deepEqual([...counts(new Sampler(opts({ topP: 0.75 }), 4), l, 3000).keys()].sort(), [0, 1, 2]);
  assert.deepEqual([...counts(new Sampler(opts({ minP: 0.6 }), 5), l, 3000).keys()].sort(), [0, 1]);
  assert.deepEqual([...counts(new Sampler(opts({ topK: 3, suppress: [0] }), 6), l, 3000).keys()].sort(), [1, 2, 3]);
  assert.deepEqual([...counts(new Sampler(opts({ topP: 0.01 }), 7), l, 500).keys()], [0]);
});

Deno.test("a full vocabulary samples exactly as a plain sort-everything reference", () => {
  const rng = new Rng(11);
  const V = 151936;
  for (const o of [opts({ temperature: 0.6, topP: 0.95 }), opts({ temperature: 0.7, topK: 40 }), opts({ temperature: 1.3, topP: 0.9, minP: 0.05 })]) {
    // Peaked like a language model's logits: a long low tail, a few high ones.
    const logits = new Float32Array(V).map(() => rng.next() ** 8 * 60 - 20);
    const s = new Sampler(o, 42), ref = new Rng(42);
    const sorted = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    for (let i = 0; i < 40; i++) assert.equal(s.sample(logits), reference(logits, sorted, o, ref));
  }
});

/** Sort everything, then temperature → top-k → top-p → min-p, one uniform draw per sample. */
function reference(l: Float32Array, ids: number[], o: SamplingOptions, rng: Rng): number {
  const max = l[ids[0]];
  let cand = o.topK > 0 ? ids.slice(0, o.topK) : ids;
  let w = cand.map((i) => Math.exp((l[i] - max) / o.temperature));
  const sum = w.reduce((a, b) => a + b, 0);
  let acc = 0, keep = 0;
  while (keep < w.length && o.topP < 1) if ((acc += w[keep++] / sum) >= o.topP) break;
  if (o.topP < 1) (cand = cand.slice(0, keep), w = w.slice(0, keep));
  if (o.minP > 0) {
    const k = w.filter((x) => x >= o.minP * w[0]).length;
    (cand = cand.slice(0, k), w = w.slice(0, k));
  }
  let r = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < cand.length; i++) if ((r -= w[i]) < 0) return cand[i];
  return cand[cand.length - 1];
}

Deno.test("the same seed gives the same tokens, another seed others", () => {
  const rng = new Rng(3);
  const l = new Float32Array(1000).map(() => rng.next() * 4);
  const draw = (seed: number) => Array.from({ length: 50 }, ((s) => () => s.sample(l))(new Sampler(opts({ topP: 0.9 }), seed)));
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
});

Deno.test("bad sampling options are refused", () => {
  assert.throws(() => new Sampler(opts({ temperature: -1 })), /temperature must be ≥ 0/);
  assert.throws(() => new Sampler(opts({ topP: 0 })), /top-p must be in \(0, 1\]/);
  assert.throws(() => new Sampler(opts({ topK: 1.5 })), /top-k must be an integer/);
  assert.throws(() => new Sampler(opts({ minP: 1 })), /min-p must be in \[0, 1\)/);
});
