import { KVCache } from "../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../engine/plan.ts";
import type { Sampler } from "../engine/sampler.ts";
import { TextTokenizer } from "../engine/tokenizer.ts";
import { parseMethod, runSpec } from "../harness/methods.ts";
import { Run } from "../harness/run.ts";
const tok = TextTokenizer.qwen3();
const queues = new Map(Object.entries({ Alice: "I add: 2+2 is 4.\n\nLet me also write it down. So the answer is \\boxed{4}.\n\nextra extra extra", Bob: "I will check Alice's sum once more here now.\n\nIt holds.\n\nmore more more more more more more more", finisher: "4}4}4}4}" }).map(([k, v]) => [k, tok.encode(v)]));
const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
const spec = runSpec(parseMethod("hogwild:2"), "What is 2+2?", 0, { tokenizer: tok, generation: { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 }, budgets: [4, 12, 60, 200], finisherTokens: 8 });
const run = new Run(cache, spec);
let n = 0;
while (!run.done && n++ < 100) {
  const { rows, samplers } = run.plan();
  encodePlan(cache, rows); commitPlan(rows);
  const ids = rows.map((r, i) => samplers[i] ? queues.get(r.block.label.split(".")[0])!.shift()! : -1);
  console.log(n, run.phase, rows.map((r, i) => `${r.block.label}:${JSON.stringify(tok.decode(r.tokens)).slice(0, 30)}${samplers[i] ? "->" + JSON.stringify(tok.decode([ids[i]])) : ""}`).join(" | "));
  run.accept(ids.filter((_, i) => samplers[i]), 1);
}
console.log(run.checkpoints.map(c => [c.budget, c.answer, c.source, c.passes]));
