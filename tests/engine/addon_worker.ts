/** A worker for async_test.ts: loads the engine in its own JavaScript environment and posts one pass's ids. */
import { Engine } from "../../engine/model.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import { shapeConfig } from "../../engine/shapes.ts";

const engine = await Engine.fromSpec({ config: shapeConfig("qwen3-demo"), randomSeed: 5, tensors: [] });
const cache = engine.newCache({ tokens: 64 }), block = cache.newBlock();
const ids = await engine.forwardSample(cache, [{
  block,
  view: [block],
  tokens: [3, 1, 4, 1, 5],
  sampler: new Sampler(GREEDY),
}]);
(self as unknown as Worker).postMessage(ids);
