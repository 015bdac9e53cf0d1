/**
 * Every set in the shared data loads with its expected record count, and every record's gold answer, given
 * back as a boxed prediction, grades as correct (the rate is printed per set).
 */
import assert from "node:assert/strict";
import { gradeProblem } from "../../tasks/grader.ts";
import { loadTask } from "../../tasks/registry.ts";
import { DATA_DIR, dataTest } from "../helpers.ts";

const SETS: [string, number][] = [
  ["gsm8k", 1319],
  ["gsm8k-x5", 128],
  ["math500", 500],
  ["aime24", 30],
  ["aime25", 30],
  ["amc23", 40],
  ["olympiadbench", 675],
];

for (const [id, count] of SETS) {
  dataTest(`${id}: ${count} problems from the shared data; every gold, boxed, grades as correct`, async () => {
    const { problems, skipped } = await loadTask(id, { dataDir: DATA_DIR });
    assert.equal(problems.length, count);
    assert.equal(skipped.length, 0);
    let strict = 0, lenient = 0, rewritten = 0;
    const misses: string[] = [];
    for (const p of problems) {
      const gold = p.grading === "list" ? p.golds.join(", ") : p.golds[0];
      const g = gradeProblem(p, `So the final answer is \\boxed{${gold}}.`);
      strict += g.score_strict;
      lenient += g.score_lenient;
      // The same answer as a model may write it: in math mode, with \dfrac for \frac.
      const r = gradeProblem(p, `So the final answer is $\\boxed{${gold.replace(/\\frac/g, "\\dfrac")}}$.`);
      rewritten += r.score_strict;
      if (g.score_strict < 1 || r.score_strict < 1) misses.push(`${p.id}: ${p.golds.join(" | ")}`);
    }
    const pct = (x: number) => (100 * x / problems.length).toFixed(1) + "%";
    console.log(
      `${id}: ${problems.length} problems, gold-as-prediction graded correct: strict ${pct(strict)}, lenient ${
        pct(lenient)
      }; rewritten (\\dfrac, $…$) strict ${pct(rewritten)}`,
    );
    assert.deepEqual(misses, []);
  });
}

dataTest("problems carry text, golds and unique ids", async () => {
  for (const [id] of SETS) {
    const { problems } = await loadTask(id, { dataDir: DATA_DIR });
    for (const p of problems) {
      assert.ok(p.text.length > 10 && p.golds.length > 0 && p.golds.every((g) => g.trim() !== ""), `${id} ${p.id}`);
      assert.equal(p.task, id);
    }
  }
});

dataTest("gsm8k-x5: seeds that a float product made equal group differently now", async () => {
  const texts = async (seed: number) =>
    (await loadTask("gsm8k-x5", { dataDir: DATA_DIR, seed })).problems.map((p) => p.text).join("\n");
  assert.notEqual(await texts(4000000003), await texts(4000364792));
  assert.equal(await texts(4000000003), await texts(4000000003));
});
