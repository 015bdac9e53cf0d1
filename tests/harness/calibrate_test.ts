/** harness/calibrate.ts: the timed shapes stay inside the cache and the model's max_position_embeddings. */
import assert from "node:assert/strict";
import { Engine } from "../../engine/model.ts";
import { calibrate } from "../../harness/calibrate.ts";

const DEMO = new URL("../../engine/models/hogwild-demo", import.meta.url).pathname;

Deno.test("calibration asked for contexts past max_position_embeddings times passes up to it, and past it when allowed", async () => {
  for (const allow of [false, true]) {
    const engine = await Engine.load(DEMO, { allowLongContext: allow, tokenizer: false });
    const cache = engine.newCache({ tokens: 8192 });
    // the engine refuses a pass past 2048 positions unless allowed: calibration would throw if it went past
    const { passes } = calibrate(engine, cache, { context: 6000, rows: 2, repeats: 0 });
    const longest = Math.max(...passes.map((p) => p.shape.attention / p.shape.tokens));
    assert.ok(passes.length > 10, `${passes.length} shapes timed`);
    if (allow) assert.ok(longest > 2048, `allowed: the longest context ${longest} goes past 2048`);
    else assert.ok(longest <= 2048, `the longest context ${longest} stays within 2048`);
    assert.equal(cache.freePages, engine.newCache({ tokens: 8192 }).freePages, "every page given back");
  }
});
