/**
 * The sampled pass runs off the JavaScript thread: the event loop turns while it runs, one pass at a time per
 * model, and what a pass holds cannot be freed under it. dispose() frees models and caches now, and a disposed
 * one is refused by name.
 */
import assert from "node:assert/strict";
import { Engine } from "../../engine/model.ts";
import { InputError } from "../../engine/errors.ts";
import { isStateError } from "../../engine/native.ts";
import { GREEDY, sampleLogits, Sampler } from "../../engine/sampler.ts";
import { shapeConfig } from "../../engine/shapes.ts";
import type { Row } from "../../engine/plan.ts";
import type { KVCache } from "../../engine/cache.ts";

const load = () => Engine.fromSpec({ config: shapeConfig("qwen3-demo"), randomSeed: 5, tensors: [] });
/** A prefill long enough to take milliseconds on any machine. */
const prefill = (cache: KVCache, n = 2048): Row[] => {
  const block = cache.newBlock();
  return [{
    block,
    view: [block],
    tokens: Array.from({ length: n }, (_, i) => 1 + (i * 7) % 500),
    sampler: new Sampler(GREEDY),
  }];
};

Deno.test("forwardSample: timers run while the pass does, and its ids are the blocking pass's", async () => {
  const engine = await load();
  const cache = engine.newCache({ tokens: 4096 });
  const order: string[] = [];
  const pass = engine.forwardSample(cache, prefill(cache)).then((ids) => (order.push("pass"), ids));
  setTimeout(() => order.push("timer"), 0);
  const ids = await pass;
  assert.deepEqual(order, ["timer", "pass"], "the event loop turned during the pass");
  // The same rows through the blocking reference path: the same greedy id.
  const ref = engine.newCache({ tokens: 4096 }), rows = prefill(ref);
  const [logits] = engine.forward(ref, rows.map((r) => ({ ...r, logits: "last" as const })));
  assert.equal(ids[0], sampleLogits(logits, new Sampler(GREEDY)));
});

Deno.test("one pass at a time: a second pass, a blocking one, a new cache or a dispose while it runs are refused", async () => {
  const engine = await load();
  const cache = engine.newCache({ tokens: 8192 });
  const first = engine.forwardSample(cache, prefill(cache));
  await assert.rejects(
    () => engine.forwardSample(cache, prefill(cache, 4)),
    /a forward pass is in flight on this model/,
  );
  assert.throws(() => engine.forward(cache, prefill(cache, 4)), /a forward pass is in flight on this model/);
  assert.throws(() => engine.newCache({ tokens: 64 }), /a forward pass is in flight on this model/);
  // told apart from a size the device cannot hold by its code, not its wording
  assert.throws(() => engine.newCache({ tokens: 64 }), (e) => isStateError(e) && !(e instanceof InputError));
  assert.throws(() => engine.dispose(), /dispose: a forward pass is in flight on this model; await it first/);
  assert.throws(() => cache.dispose(), /dispose: a forward pass is writing this KV cache; await it first/);
  const [id] = await first;
  assert.ok(id >= 0);
  // The refused passes gave their pages back; the first one's block holds its prefill.
  assert.equal(cache.freePages, cache.native.pages - 2048 / cache.pageSize);
  // After it: both work again.
  assert.equal((await engine.forwardSample(cache, prefill(cache, 4))).length, 1);
  // a size the device cannot hold: an input error, not a state refusal
  assert.throws(
    () => engine.newCache({ tokens: 2 ** 34 }),
    (e) => e instanceof InputError && !isStateError(e) && /tokens does not fit on the cpu/.test(e.message),
  );
});

Deno.test("dispose: a model and a cache freed now; any later use is refused by name", async () => {
  const engine = await load();
  {
    using cache = engine.newCache({ tokens: 256 });
    await engine.forwardSample(cache, prefill(cache, 8));
    cache.dispose(); // twice is harmless: `using` disposes it again
  }
  const cache = engine.newCache({ tokens: 256 }), kept = engine.newCache({ tokens: 64 });
  cache.dispose();
  await assert.rejects(() => engine.forwardSample(cache, prefill(cache, 4)), /the KV cache was disposed/);
  engine.dispose();
  assert.throws(() => engine.newCache({ tokens: 64 }), /newCache: the model was disposed/);
  assert.throws(() => engine.newCache({ tokens: 64 }), (e) => isStateError(e) && !(e instanceof InputError));
  // A cache that outlives its model: refused by the model, and freed after it.
  await assert.rejects(() => engine.forwardSample(kept, prefill(kept, 4)), /forwardSample: the model was disposed/);
  kept.dispose();
});

Deno.test("a KV cache works only with the model that made it: another model's pass is refused, not run off its end", async () => {
  const small = await load();
  const big = await Engine.fromSpec({
    config: { ...shapeConfig("qwen3-demo"), layers: 6 },
    randomSeed: 6,
    tensors: [],
  });
  const cache = small.newCache({ tokens: 64 });
  await assert.rejects(
    () => big.forwardSample(cache, prefill(cache, 8)),
    /spec: this KV cache was not made by this model's newCache/,
  );
  assert.throws(() => big.forward(cache, prefill(cache, 8)), /this KV cache was not made by this model's newCache/);
  assert.equal(cache.freePages, cache.native.pages, "the refused passes took no page");
  assert.equal((await small.forwardSample(cache, prefill(cache, 8))).length, 1);
});

Deno.test("the addon in a worker and on the main thread: each environment has its own classes", async () => {
  const engine = await load();
  const worker = new Worker(new URL("./addon_worker.ts", import.meta.url), { type: "module" });
  const there = await new Promise<number[]>((done, fail) => {
    worker.onmessage = (m) => done(m.data);
    worker.onerror = (e) => (e.preventDefault(), fail(new Error(e.message)));
  });
  worker.terminate();
  // The main thread's objects still work after the worker's environment is gone (a process-wide constructor
  // would have been the worker's: a crash of the whole process).
  const cache = engine.newCache({ tokens: 64 }), block = cache.newBlock();
  const here = await engine.forwardSample(cache, [{
    block,
    view: [block],
    tokens: [3, 1, 4, 1, 5],
    sampler: new Sampler(GREEDY),
  }]);
  assert.deepEqual(here, there);
  assert.ok(here[0] >= 0);
});
