/** The chains task: deterministic per seed, knobs respected, golds the parts' sums by name, graded as named parts. */
import assert from "node:assert/strict";
import { chainProblems } from "../../tasks/chains.ts";
import { gradeProblem } from "../../tasks/grading/grader.ts";
import { loadTask } from "../../tasks/registry.ts";

Deno.test("chains: deterministic, parts and chain lengths as asked, every gold the sum of its part", async () => {
  const a = chainProblems({ count: 50, seed: 4, parts: 4, digits: 3 });
  assert.deepEqual(a, chainProblems({ count: 50, seed: 4, parts: 4, digits: 3 }));
  assert.notDeepEqual(a, chainProblems({ count: 50, seed: 5, parts: 4, digits: 3 }));
  for (const p of a) {
    const parts = /^Let (.*)\. Find A, B, C and D\.$/.exec(p.text)![1].split("; let ");
    assert.equal(parts.length, 4);
    parts.forEach((part, k) => {
      const terms = part.split(" be ")[1].split(" + ").map(Number);
      assert.ok(terms.length >= 2 && terms.length <= 4 && terms.every((t) => t >= 1 && t <= 9), part);
      assert.equal(p.golds[k], `${"ABCD"[k]} = ${terms.reduce((x, y) => x + y, 0)}`);
    });
    assert.equal(gradeProblem(p, `\\boxed{${p.golds.join(", ")}}`).score_strict, 1);
    assert.equal(gradeProblem(p, `\\boxed{${p.golds.toReversed().join(", ")}}`).score_strict, 1);
  }
  const loaded = await loadTask("chains", { synthetic: { parts: 3, digits: 1, count: 5 }, seed: 1 });
  assert.equal(loaded.problems.length, 5);
  assert.equal(loaded.problems[0].grading, "parts");
  // named by the flag that sets the knob (the bench's and tasks load's --parts, --digits, --count)
  await assert.rejects(loadTask("chains", { synthetic: { parts: 9 } }), /--parts: chains takes 1\.\.8 parts, got 9/);
  await assert.rejects(loadTask("chains", { synthetic: { digits: 7 } }), /--digits: chains takes 1\.\.6 digits, got 7/);
  await assert.rejects(
    loadTask("chains", { synthetic: { count: 1_000_000_000 } }),
    /--count: chains makes 1\.\.1000000 problems, got 1000000000/,
  );
});

Deno.test("chains and synthetic: seeds past 2^21 give their own problems (a product past 2^53 rounded many to one)", async () => {
  for (const task of ["chains", "synthetic"]) {
    const texts = async (seed: number) =>
      (await loadTask(task, { synthetic: { count: 5 }, seed })).problems.map((p) => p.text);
    assert.notDeepEqual(await texts(4294000001), await texts(4294639757), task);
    assert.notDeepEqual(await texts(2 ** 32 - 1), await texts(2 ** 32 - 2), task);
  }
});
