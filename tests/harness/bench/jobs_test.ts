/** harness/bench/jobs.ts: every problem × method × seed once, and the problems independent of --seeds' order. */
import assert from "node:assert/strict";
import { keyOf, loadJobs } from "../../../harness/bench/jobs.ts";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";

const jobsOf = (args: string[]) => loadJobs(parseBenchSpec(["--methods", "sequential,hogwild:2", ...args])!);

Deno.test("jobs: each problem × method × seed once; the generated problems come from the smallest seed, whatever --seeds' order", async () => {
  const a = await jobsOf(["--count", "5", "--seeds", "1,2,3"]);
  const b = await jobsOf(["--count", "5", "--seeds", "3,1,2"]);
  const c = await jobsOf(["--count", "5", "--seeds", "2,3"]);
  assert.equal(a.jobs.length, 5 * 2 * 3);
  assert.equal(new Set(a.jobs.map(keyOf)).size, a.jobs.length);
  assert.deepEqual(b.problems, a.problems);
  assert.deepEqual(new Set(b.jobs.map(keyOf)), new Set(a.jobs.map(keyOf)));
  // another smallest seed is another draw of problems
  assert.notDeepEqual(c.problems.map((p) => p.text), a.problems.map((p) => p.text));
});
