/** Sampling: greedy, temperature, top-k, top-p, min-p, suppressed ids; seeded and reproducible (the core's rule). */
import assert from "node:assert/strict";
import { Engine } from "../../engine/model.ts";
import { GREEDY, Rng, sampleLogits, Sampler, type SamplingOptions } from "../../engine/sampler.ts";
import { fixtureDir } from "../helpers.ts";

const opts = (o: Partial<SamplingOptions>): SamplingOptions => ({
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  suppress: [],
  ...o,
});

function counts(s: Sampler, logits: Float32Array, n: number): Map<number, number> {
  const c = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = sampleLogits(logits, s);
    c.set(t, (c.get(t) ?? 0) + 1);
  }
  return c;
}

Deno.test("greedy takes the first maximum and skips suppressed ids", () => {
  const l = new Float32Array([0.5, 2, 2, -1, 1.5]);
  assert.equal(sampleLogits(l, new Sampler(GREEDY)), 1);
  assert.equal(sampleLogits(l, new Sampler({ ...GREEDY, suppress: [1] })), 2);
  assert.equal(sampleLogits(l, new Sampler({ ...GREEDY, suppress: [1, 2] })), 4);
});

Deno.test("temperature sampling follows the softmax", () => {
  const l = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const n = 20000;
  const c = counts(new Sampler(opts({}), 1), l, n);
  for (const [i, p] of [0.5, 0.3, 0.2].entries()) {
    assert.ok(Math.abs(c.get(i)! / n - p) < 0.015, `token ${i}: ${c.get(i)! / n}`);
  }
  // A low temperature sharpens: p ∝ p^(1/T).
  const cold = counts(new Sampler(opts({ temperature: 0.25 }), 2), l, n);
  const z = 0.5 ** 4 + 0.3 ** 4 + 0.2 ** 4;
  assert.ok(Math.abs(cold.get(0)! / n - 0.5 ** 4 / z) < 0.015);
});

Deno.test("top-k, top-p and min-p keep exactly the tokens they should", () => {
  const l = new Float32Array([Math.log(0.1), Math.log(0.4), Math.log(0.2), Math.log(0.3)]);
  const kept = (o: Partial<SamplingOptions>, n = 3000) => [...counts(new Sampler(opts(o), 3), l, n).keys()].sort();
  assert.deepEqual(kept({ topK: 2 }), [1, 3]);
  assert.deepEqual(kept({ topP: 0.65 }), [1, 3]);
  assert.deepEqual(kept({ topP: 0.75 }), [1, 2, 3]);
  assert.deepEqual(kept({ minP: 0.6 }), [1, 3]);
  assert.deepEqual(kept({ topK: 3, suppress: [1] }), [0, 2, 3]);
  assert.deepEqual(kept({ topP: 0.01 }, 500), [1]);
});

/**
 * The rule written plainly: sort everything, temperature → top-k → top-p → min-p (as transformers applies
 * them), each cut keeping the tokens tied with its boundary token (a threshold in logit space: the order ties
 * happen to sort in decides nothing), then the inverse CDF of the kept tokens taken in id order at u.
 */
function reference(l: Float32Array, o: SamplingOptions, u: number): number {
  const ids = Array.from(l.keys()).sort((a, b) => l[b] - l[a] || a - b);
  const max = l[ids[0]];
  const w = (i: number) => Math.exp((l[i] - max) / o.temperature);
  const atLeast = (tau: number) => ids.filter((i) => l[i] >= tau);
  let kept = o.topK > 0 && o.topK < ids.length ? atLeast(l[ids[o.topK - 1]]) : ids;
  if (o.topP < 1) {
    const z = kept.reduce((a, i) => a + w(i), 0);
    let acc = 0, n = 0;
    while (n < kept.length && (acc += w(kept[n++]) / z) < o.topP);
    kept = atLeast(l[kept[n - 1]]).filter((i) => kept.includes(i));
  }
  if (o.minP > 0) kept = kept.filter((i) => w(i) >= o.minP);
  kept.sort((a, b) => a - b);
  let r = u * kept.reduce((a, i) => a + w(i), 0);
  for (const i of kept) if ((r -= w(i)) < 0) return i;
  return kept[kept.length - 1];
}

Deno.test("a full vocabulary samples as the plain reference does, draw for draw", () => {
  const rng = new Rng(11);
  const V = 151936;
  for (
    const o of [
      opts({ temperature: 0.6, topP: 0.95 }),
      opts({ temperature: 0.7, topK: 40 }),
      opts({ temperature: 1.3, topP: 0.9, minP: 0.05 }),
    ]
  ) {
    // Peaked like a language model's logits: a long low tail, a few high ones.
    const logits = new Float32Array(V).map(() => rng.next() ** 8 * 60 - 20);
    const s = new Sampler(o, 42), us = new Rng(42);
    let agree = 0;
    for (let i = 0; i < 30; i++) agree += sampleLogits(logits, s) === reference(logits, o, us.next()) ? 1 : 0;
    assert.equal(agree, 30, `${JSON.stringify(o)}: ${agree}/30 draws agree`);
  }
});

Deno.test("ties at a cut are kept together, whatever order they sort in", () => {
  const kept = (l: number[], o: Partial<SamplingOptions>) =>
    [...counts(new Sampler(opts(o), 5), new Float32Array(l), 400).keys()].sort();
  assert.deepEqual(kept([0, 0], { topP: 0.5 }), [0, 1]);
  assert.deepEqual(kept([1, 2, 2], { topP: 0.3 }), [1, 2]);
  assert.deepEqual(kept([1, 1, 0], { topK: 1 }), [0, 1]);
  // Logits on a few levels (ties everywhere), draw for draw against the reference.
  const rng = new Rng(17);
  for (let c = 0; c < 40; c++) {
    const logits = new Float32Array(50 + (c % 7) * 100).map(() => Math.floor(rng.next() * 6) * 0.5);
    const o = opts({
      temperature: 0.3 + rng.next(),
      topK: c % 3 === 0 ? 0 : 1 + Math.floor(rng.next() * 60),
      topP: c % 2 ? 1 : 0.05 + rng.next() * 0.9,
      minP: c % 5 === 0 ? rng.next() * 0.5 : 0,
    });
    const s = new Sampler(o, c), us = new Rng(c);
    for (let i = 0; i < 20; i++) {
      assert.equal(sampleLogits(logits, s), reference(logits, o, us.next()), `${JSON.stringify(o)}, draw ${i}`);
    }
  }
});

Deno.test("logits far apart keep their cuts exact; NaN or infinite logits give no token", () => {
  const only = (l: number[], o: Partial<SamplingOptions>) =>
    [...counts(new Sampler(opts(o), 6), new Float32Array(l), 300).keys()].sort();
  assert.deepEqual(only([-1e30, 1, 2, 3], { topK: 1 }), [3]);
  assert.deepEqual(only([-3e38, 0, 0, 3], { topP: 0.5 }), [3]);
  assert.deepEqual(only([-3e38, 1, 2, 3], { topK: 3 }), [1, 2, 3]);
  assert.deepEqual(only([3e38, -3e38, 0], { topP: 0.9 }), [0]);
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const o of [GREEDY, opts({}), opts({ topK: 1 })]) {
      assert.equal(sampleLogits(new Float32Array([0, bad, 1]), new Sampler(o)), -1, `${bad}, ${JSON.stringify(o)}`);
    }
  }
});

Deno.test("the same seed gives the same tokens, another seed others", () => {
  const rng = new Rng(3);
  const l = new Float32Array(1000).map(() => rng.next() * 4);
  const draw = (seed: number) => {
    const s = new Sampler(opts({ topP: 0.9 }), seed);
    return Array.from({ length: 50 }, () => sampleLogits(l, s));
  };
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
});

Deno.test("a top-k at or past the vocabulary keeps every token, 2^31 and past too (as transformers' min(top_k, vocab))", async () => {
  const rng = new Rng(5);
  const l = new Float32Array(1000).map(() => rng.next() * 4);
  const draw = (topK: number) => {
    const s = new Sampler(opts({ topK, topP: 0.95 }), 7);
    return Array.from({ length: 50 }, () => sampleLogits(l, s));
  };
  const all = draw(0);
  for (const k of [1000, 5000, 2 ** 24 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    assert.deepEqual(draw(k), all, `top-k ${k}`);
  }
  assert.notDeepEqual(draw(10), all, "a top-k below the vocabulary cuts");
  // through a pass of the engine too (its rows' specs, packed for the core)
  const engine = await Engine.load(fixtureDir("qwen3-tiny"), { tokenizer: false });
  const pass = async (topK: number) => {
    const cache = engine.newCache({ tokens: 64 }), b = cache.newBlock();
    const sampler = new Sampler(opts({ topK }), 3);
    return await engine.forwardSample(cache, [{ block: b, view: [b], tokens: [1, 2, 3], sampler }]);
  };
  assert.deepEqual(await pass(2 ** 31), await pass(0));
});

Deno.test("bad sampling options are refused", () => {
  assert.throws(() => new Sampler(opts({ temperature: -1 })), /temperature must be 0 \(greedy\) or a number ≥/);
  assert.throws(() => new Sampler(opts({ topP: 0 })), /top-p must be a number in \(0, 1\]/);
  assert.throws(() => new Sampler(opts({ topK: 1.5 })), /top-k must be an integer/);
  assert.throws(() => new Sampler(opts({ minP: 1 })), /min-p must be a number in \[0, 1\)/);
  // in range as doubles, out of it as the float32s the core reads: refused by the sampler, not by the core
  assert.throws(() => new Sampler(opts({ minP: 0.9999999999 })), /min-p must be .*float32, in which it is 1\)$/);
  assert.throws(() => new Sampler(opts({ topP: 1e-50 })), /top-p must be .*float32, in which it is 0\)$/);
  assert.throws(() => new Sampler(opts({ temperature: 1e39 })), /temperature must be .*in which it is Infinity\)$/);
  assert.ok(new Sampler(opts({ minP: 0.99999994, topP: 1e-38, temperature: 3e38 })), "the float32s nearest the ends");
});

Deno.test("rows of one pass may suppress different ids", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"));
  const cache = engine.newCache();
  const [a, b] = [cache.newBlock(), cache.newBlock()];
  const tokens = [5, 17, 300];
  const ref = engine.newCache(), r = ref.newBlock();
  const [logits] = engine.forward(ref, [{ block: r, view: [r], tokens }]);
  const best = sampleLogits(logits, new Sampler(GREEDY));
  const second = sampleLogits(logits, new Sampler({ ...GREEDY, suppress: [best] }));
  const ids = await engine.forwardSample(cache, [
    { block: a, view: [a], tokens, sampler: new Sampler({ ...GREEDY, suppress: [best] }) },
    { block: b, view: [b], tokens, sampler: new Sampler(GREEDY) },
  ]);
  assert.deepEqual(ids, [second, best]);
});
