/** harness/bench/jobs.ts: every problem × method × seed once, and the problems independent of --seeds' order. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

Deno.test("jobs: what the loader said of the data (a part of a set, records skipped) comes back, led by its task", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-jobs-"));
  const data = join(dir, "limo.jsonl");
  writeFileSync(
    data,
    ['{"question": "1+1?", "answer": "2"}', "{ not json", '{"question": "2+2?", "answer": "4"}'].join("\n") + "\n",
  );
  const { notes, problems } = await jobsOf(["--task", "limo", "--data", data, "--skip-bad"]);
  assert.equal(problems.length, 2);
  assert.deepEqual(notes, [
    `limo: skipped 1 malformed records (${data}:2)`,
    `limo: ${data}: 3 records, task limo has 817: these results are not limo's whole set`,
  ]);
  assert.deepEqual((await jobsOf(["--count", "2"])).notes, []);
});
