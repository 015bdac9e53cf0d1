/**
 * harness/bench/calibrate.ts: the timed shapes stay inside the cache and do not depend on --allow-long-context, and a
 * calibration bounded by its run's planned passes stops in time, with progress, and still fits a model.
 */
import assert from "node:assert/strict";
import { Engine } from "../../../engine/model.ts";
import { MAX_LOGPROBS, type Row } from "../../../engine/plan.ts";
import { calibrate, calibrationRows } from "../../../harness/bench/calibrate.ts";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";

const DEMO = new URL("../../../engine/models/hogwild-demo", import.meta.url).pathname;

Deno.test("calibration times contexts past max_position_embeddings alike with or without --allow-long-context, and leaves the refusal in place", async () => {
  for (const allow of [false, true]) {
    const engine = await Engine.load(DEMO, { allowLongContext: allow, tokenizer: false });
    const cache = engine.newCache({ tokens: 8192 });
    // a pass's time does not depend on its positions: the same shapes either way, past the model's 2048
    const { passes } = await calibrate(engine, cache, { context: 6000, rows: 2, repeats: 0 });
    const longest = Math.max(...passes.map((p) => p.shape.attention / p.shape.tokens));
    assert.ok(passes.length > 10, `${passes.length} shapes timed`);
    assert.ok(longest > 2048, `allowed ${allow}: the longest context ${longest} goes past 2048`);
    assert.equal(engine.allowLongContext, allow, "the engine's own setting restored");
    assert.equal(cache.freePages, engine.newCache({ tokens: 8192 }).freePages, "every page given back");
  }
});

Deno.test("a bounded calibration stops near its bound after the shapes that span the model, saying how far it got", async () => {
  const engine = await Engine.load(DEMO, { tokenizer: false });
  const cache = engine.newCache({ tokens: 8192 });
  // a slow engine: every pass 50 ms more, so that the six spanning shapes alone (seven passes) outlast a bound of 200 ms
  const slow = Object.create(engine) as Engine;
  let calls = 0;
  slow.forwardSample = (c, rows) => {
    calls++;
    const until = performance.now() + 50;
    while (performance.now() < until);
    return engine.forwardSample(c, rows);
  };
  const all = (await calibrate(engine, cache, { context: 1024, rows: 8, repeats: 0 })).passes.length;
  const seen: number[] = [];
  const { passes, model } = await calibrate(slow, cache, {
    context: 1024,
    rows: 8,
    plannedPasses: 10,
    leastMs: 200,
    onProgress: (done, total, _s, bound) => {
      assert.equal(total, all);
      assert.equal(bound, 0.2);
      seen.push(done);
    },
  });
  assert.equal(passes.length, 6, `${passes.length} of ${all} shapes timed: the 6 that span the terms`);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.equal(calls, 2 + 5, "one warm-up, then one timed pass a shape: the repeats cut to fit the bound");
  assert.ok(model.coef.some((c) => c > 0), "a model was fitted");
  assert.ok(all > 20, `${all} shapes unbounded`);
});

Deno.test("calibration samples with the run's settings, and times rows that take log-probabilities", async () => {
  const engine = await Engine.load(DEMO, { tokenizer: false });
  const cache = engine.newCache({ tokens: 8192 });
  const spy = Object.create(engine) as Engine;
  const rows: Row[] = [];
  spy.forwardSample = (c, r) => (rows.push(...r), engine.forwardSample(c, r));
  const sampling = { temperature: 0.6, topK: 20, topP: 0.95, minP: 0, suppress: [] };
  const { passes } = await calibrate(spy, cache, { context: 1024, rows: 4, repeats: 0, sampling });
  const sampled = rows.filter((r) => r.sampler);
  assert.ok(sampled.length > 0 && sampled.every((r) => r.sampler!.options === sampling));
  assert.ok(rows.some((r) => r.logprobs === MAX_LOGPROBS), "rows that take log-probabilities");
  // among the spanning shapes, so that a bounded calibration fits the term too
  assert.ok(passes.slice(0, 6).some((p) => p.shape.logprobs > 0));
});

Deno.test("the calibration's largest row count is the rows a pass of the experiment's methods holds (the registry's passRows): Skeleton-of-Thought's threads, not its one worker", () => {
  const dir = Deno.makeTempDirSync(), texts = `${dir}/sot.json`;
  const sot = JSON.parse(
    Deno.readTextFileSync(new URL("../../../harness/generation/prompts/sot.json", import.meta.url)),
  );
  Deno.writeTextFileSync(texts, JSON.stringify({ ...sot, maxPoints: 5 }));
  const rows = (...args: string[]) =>
    calibrationRows(parseBenchSpec([...(args.includes("--concurrency") ? [] : ["--concurrency", "2"]), ...args])!);
  assert.equal(sot.maxPoints, 10);
  // each run's sampling rows at most, and one more, times the runs sharing a pass (at most 64)
  assert.equal(rows("--methods", "sequential"), 2 * (1 + 1));
  assert.equal(rows("--methods", "hogwild:4,sequential"), 2 * (4 + 1));
  assert.equal(rows("--methods", "sot,sequential"), 2 * (10 + 1), "every point of the plan at once");
  assert.equal(rows("--methods", "sot:3"), 2 * (3 + 1));
  assert.equal(rows("--methods", "sot", "--texts", `sot=${texts}`), 2 * (5 + 1), "the texts' maxPoints");
  assert.equal(rows("--methods", "sot", "--concurrency", "8"), 64);
});
