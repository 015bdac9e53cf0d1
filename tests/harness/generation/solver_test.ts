/** Seeds: each problem draws its own stream under one seed, the same for every method (common random numbers). */
import assert from "node:assert/strict";
import { KVCache } from "../../../engine/cache.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { problemSeed } from "../../../harness/generation/solver.ts";
import { RowModel } from "../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };

/** The first text each of `problems` writes under `method` at `seed` (RowModel: a token is its row's draw). */
async function firstTexts(method: string, problems: string[], seed: number): Promise<string[][]> {
  const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
  const runs = problems.map((p) =>
    newSolver(cache, parseMethod(method), p, seed, { tokenizer: tok, generation, budgets: [3], finisherTokens: 2 })
  );
  await runAll(new RowModel(tok, 50), cache, runs);
  return runs.map((r) => r.texts());
}

Deno.test("one seed: every problem draws its own stream, and every method the same stream for a problem", async () => {
  const problems = Array.from({ length: 24 }, (_, i) => `Problem ${i}: what is ${i} + ${i}?`);
  const seq = await firstTexts("sequential", problems, 1);
  // the same token draws in every problem would write one text 24 times (problems move together)
  assert.ok(new Set(seq.map((t) => t[0])).size >= 20, `${new Set(seq.map((t) => t[0])).size} texts of 24`);
  // common random numbers: sc's first path is sequential's run; another seed differs
  const sc = await firstTexts("sc:2", problems, 1);
  assert.deepEqual(sc.map((t) => t[0]), seq.map((t) => t[0]));
  const other = await firstTexts("sequential", problems, 2);
  assert.ok(other.filter((t, i) => t[0] !== seq[i][0]).length >= 20);
});

Deno.test("problemSeed: a function of the seed and the problem's text only", () => {
  assert.equal(problemSeed(7, "x"), problemSeed(7, "x"));
  const seen = new Set<number>();
  for (let s = 0; s < 50; s++) {
    for (const p of ["", "a", "b", "ab", "ba", "é", "What is 2+2?"]) seen.add(problemSeed(s, p));
  }
  assert.equal(seen.size, 350);
  for (const s of [0, 1, 2 ** 32 - 1]) assert.ok(Number.isInteger(problemSeed(s, "q")) && problemSeed(s, "q") >= 0);
});
