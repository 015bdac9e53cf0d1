import { GREEDY, Rng, sampleLogits, Sampler } from "../engine/sampler.ts";
const rng = new Rng(1);
const V = 151936;
const logits = new Float32Array(V).map(() => rng.next() ** 8 * 60 - 20);
for (
  const o of [GREEDY, { temperature: 0.6, topK: 20, topP: 0.95, minP: 0, suppress: [] }, {
    temperature: 0.6,
    topK: 0,
    topP: 0.95,
    minP: 0,
    suppress: [],
  }, { temperature: 1, topK: 0, topP: 1, minP: 0, suppress: [] }]
) {
  const s = new Sampler(o, 1);
  for (let i = 0; i < 5; i++) sampleLogits(logits, s);
  const t0 = performance.now();
  const n = 50;
  for (let i = 0; i < n; i++) sampleLogits(logits, s);
  console.log(JSON.stringify(o), ((performance.now() - t0) / n).toFixed(2), "ms a row");
}
