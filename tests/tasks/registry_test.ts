/** tasks/registry.ts: --seed is taken by the tasks whose problems it shapes, and refused by the others. */
import assert from "node:assert/strict";
import { InputError } from "../../engine/errors.ts";
import { checkSeedFlag, loadTask, TASKS } from "../../tasks/registry.ts";

Deno.test("--seed: refused for a task whose problems it does not shape (a data set's, read as they are), naming it; taken by the generated tasks and gsm8k-x5", async () => {
  const taken: string[] = [];
  for (const t of Object.values(TASKS)) {
    try {
      checkSeedFlag(t.id);
      taken.push(t.id);
    } catch (e) {
      assert.ok(e instanceof InputError && e.message.startsWith(`--seed: task ${t.id} `), String(e));
    }
  }
  assert.deepEqual(taken.sort(), ["chains", "gsm8k-x5", "synthetic"]);
  // where it is taken it shapes the problems (gsm8k-x5's grouping needs GSM8K's data: tests/tasks/datasets_test.ts)
  for (const id of ["chains", "synthetic"]) {
    const problems = async (seed: number) => JSON.stringify((await loadTask(id, { seed })).problems);
    assert.notEqual(await problems(1), await problems(2), id);
  }
});
