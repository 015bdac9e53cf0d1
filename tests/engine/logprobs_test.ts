/**
 * Top-k log-probabilities with each sampled token (Engine.forwardSampleLogprobs, the core's reference on the
 * CPU): against a float64 log-softmax of Engine.forward's logits for the same plan on an identical cache.
 */
import assert from "node:assert/strict";
import type { KVCache } from "../../engine/cache.ts";
import { Engine } from "../../engine/model.ts";
import type { Row } from "../../engine/plan.ts";
import { GREEDY, Rng, sampleLogitsLogprobs, Sampler, type SamplingOptions } from "../../engine/sampler.ts";
import { shapeConfig } from "../../engine/shapes.ts";

/** A random model of the demo's shape with a vocabulary of `vocab`. */
function randomEngine(vocab: number, seed: number): Promise<Engine> {
  return Engine.fromSpec({ config: { ...shapeConfig("qwen3-demo"), vocab }, randomSeed: seed, tensors: [] });
}

/** The float64 log-softmax of a row of logits. */
function logSoftmax(l: Float32Array): Float64Array {
  let mx = -Infinity, sum = 0;
  for (const x of l) mx = Math.max(mx, x);
  for (const x of l) sum += Math.exp(x - mx);
  const lse = mx + Math.log(sum);
  return Float64Array.from(l, (x) => x - lse);
}

/** The k most likely ids, ties by lower id. */
function topIds(lp: Float64Array, k: number): number[] {
  return [...lp.keys()].sort((a, b) => lp[b] - lp[a] || a - b).slice(0, k);
}

interface RowShape {
  /** tokens already in its block before the pass */
  before: number[];
  tokens: number[];
  sampling?: SamplingOptions;
  seed: number;
  logprobs?: number;
  /** the row also reads the block of the row before it */
  shared: boolean;
}

/** A fresh cache holding the rows' earlier tokens, and the pass's rows over it (new samplers: fresh draws). */
function setUp(engine: Engine, shapes: RowShape[]): { cache: KVCache; rows: Row[] } {
  const cache = engine.newCache({ tokens: 4096 });
  const blocks = shapes.map((_, i) => cache.newBlock(`r${i}`));
  engine.forward(
    cache,
    shapes.map((s, i) => ({ block: blocks[i], view: [blocks[i]], tokens: s.before, logits: "none" })),
  );
  const rows = shapes.map((s, i): Row => ({
    block: blocks[i],
    view: s.shared && i > 0 ? [blocks[i - 1], blocks[i]] : [blocks[i]],
    tokens: s.tokens,
    sampler: s.sampling && new Sampler(s.sampling, s.seed),
    logprobs: s.logprobs,
  }));
  return { cache, rows };
}

function randomShapes(rng: Rng, vocab: number, ks: (number | undefined)[]): RowShape[] {
  const int = (n: number) => Math.floor(rng.next() * n);
  const ids = (n: number) => Array.from({ length: n }, () => int(vocab));
  return ks.map((k) => {
    const sampling: SamplingOptions = {
      temperature: [0, 0.6, 1, 1.7][int(4)],
      topK: [0, 1, 5][int(3)],
      topP: [1, 0.9][int(2)],
      minP: [0, 0.05][int(2)],
      suppress: ids(int(3)),
    };
    const sampled = k !== undefined || rng.next() < 0.7;
    return {
      before: ids(1 + int(20)),
      tokens: ids(1 + int(4)),
      sampling: sampled ? sampling : undefined,
      seed: int(1000),
      logprobs: k,
      shared: rng.next() < 0.5,
    };
  });
}

Deno.test("forwardSampleLogprobs on random models and plans: a float64 log-softmax of forward's logits, the k largest ids, forwardSample's ids", async () => {
  const rng = new Rng(29);
  let checked = 0;
  for (let m = 0; m < 4; m++) {
    const vocab = [40, 97, 1000, 5003][m];
    const engine = await randomEngine(vocab, 100 + m);
    for (let p = 0; p < 3; p++) {
      // k = 1 and k = 20 in every plan; others random, or none.
      const ks = [
        1,
        20,
        ...Array.from(
          { length: Math.floor(rng.next() * 4) },
          () => rng.next() < 0.3 ? undefined : 1 + Math.floor(rng.next() * 20),
        ),
      ];
      const shapes = randomShapes(rng, vocab, ks.sort(() => rng.next() - 0.5));
      const ref = setUp(engine, shapes);
      const logits = engine.forward(ref.cache, ref.rows.map((r) => ({ ...r, logits: "last" as const })));
      const plain = setUp(engine, shapes);
      const ids = await engine.forwardSample(plain.cache, plain.rows);
      const got = setUp(engine, shapes);
      const out = await engine.forwardSampleLogprobs(got.cache, got.rows);
      assert.deepEqual(out.ids, ids, "the same ids as forwardSample, seed for seed");
      assert.equal(out.logprobs.length, shapes.length);
      for (const [i, s] of shapes.entries()) {
        const lp = out.logprobs[i];
        if (s.logprobs === undefined) {
          assert.equal(lp, undefined, `row ${i} asked for none`);
          continue;
        }
        assert.ok(lp, `row ${i} asked for ${s.logprobs}`);
        const want = logSoftmax(logits[i]);
        assert.deepEqual([...lp.ids], topIds(want, s.logprobs), `row ${i}: the top ids`);
        assert.equal(lp.logprobs.length, s.logprobs);
        lp.ids.forEach((id, j) => assert.ok(Math.abs(lp.logprobs[j] - want[id]) < 1e-5, `row ${i} id ${id}`));
        assert.ok(Math.abs(lp.logprob - want[out.ids[i]]) < 1e-5, `row ${i}: the sampled id's`);
        checked++;
      }
      assert.deepEqual(got.rows.map((r) => r.block.length), ref.rows.map((r) => r.block.length), "committed");
    }
  }
  assert.ok(checked >= 24, `${checked} rows checked`);
});

Deno.test("the log-probabilities are temperature 1's, before suppression and filters; ties go to the lower id", () => {
  const rng = new Rng(7);
  const logits = Float32Array.from({ length: 300 }, () => 4 * rng.next());
  const plain = sampleLogitsLogprobs(logits, new Sampler(GREEDY), 5);
  const want = logSoftmax(logits), top = topIds(want, 5);
  assert.equal(plain.id, top[0]);
  assert.deepEqual([...plain.logprobs!.ids], top);
  const filtered = { temperature: 0.3, topK: 3, topP: 0.8, minP: 0.1, suppress: [top[0], top[1]] };
  const other = sampleLogitsLogprobs(logits, new Sampler(filtered, 3), 5);
  assert.ok(!filtered.suppress.includes(other.id), "the sampler still suppresses");
  assert.deepEqual(other.logprobs!.ids, plain.logprobs!.ids, "suppression does not change the top ids");
  assert.deepEqual(other.logprobs!.logprobs, plain.logprobs!.logprobs, "nor their log-probabilities");
  assert.ok(Math.abs(other.logprobs!.logprob - want[other.id]) < 1e-6);
  const tied = sampleLogitsLogprobs(new Float32Array([1, 3, 3, 0, 3, 2]), new Sampler(GREEDY), 4);
  assert.deepEqual([...tied.logprobs!.ids], [1, 2, 4, 5]);
  assert.equal(sampleLogitsLogprobs(logits, new Sampler(GREEDY), 0).logprobs, undefined);
});

Deno.test("logprobs outside 1..20, without a sampler or past the vocabulary are refused, naming the row and field", async () => {
  const engine = await randomEngine(16, 1);
  const cache = engine.newCache({ tokens: 256 });
  const [a, b] = [cache.newBlock("a"), cache.newBlock("b")];
  const row = (logprobs: number, sampled = true): Row[] => [
    { block: a, view: [a], tokens: [1], sampler: new Sampler(GREEDY), logprobs: 2 },
    { block: b, view: [b], tokens: [2], sampler: sampled ? new Sampler(GREEDY) : undefined, logprobs },
  ];
  for (const k of [0, 21, 1.5, -1, NaN]) {
    await assert.rejects(
      () => engine.forwardSampleLogprobs(cache, row(k)),
      /plan: row 1's logprobs is .*: expected an integer in 1\.\.20, with a sampler/,
    );
  }
  await assert.rejects(
    () => engine.forwardSampleLogprobs(cache, row(3, false)),
    /plan: row 1's logprobs is 3: .* with a sampler/,
  );
  await assert.rejects(
    () => engine.forwardSampleLogprobs(cache, row(17)),
    /sampling: row 1's logprobs is 17, expected 0\.\.16 \(at most the vocabulary\)/,
  );
  assert.deepEqual([a.length, b.length, cache.freePages], [0, 0, cache.native.pages], "nothing written");
  const ok = await engine.forwardSampleLogprobs(cache, row(16));
  assert.equal(ok.logprobs[1]!.ids.length, 16);
});
