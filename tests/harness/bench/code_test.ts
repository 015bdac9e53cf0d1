/**
 * deno task bench on a code task end to end: LiveCodeBench-format problems (the project's fixture, stdin and
 * functional, private tests in both encodings) on random weights write records whose every checkpoint has a
 * code verdict, the summary's verdict table and a key that holds the tests, the code texts and the code
 * grader; the same command resumes with nothing to run; a changed problem text is refused by its data; the
 * flags and methods that cannot go with a code task are refused before any work.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchRecord } from "../../../harness/bench/rundir.ts";
import { CODE_VERDICTS } from "../../../tasks/code/problem.ts";
import { CODE_GRADER_VERSION } from "../../../tasks/code/grade.ts";
import { lastFlagWins, runTask } from "../../helpers.ts";

const FIXTURE = "tests/fixtures/lcb/problems.jsonl";
const LCB = [
  "--model",
  "random:qwen3-demo",
  "--task",
  "lcb",
  "--data",
  FIXTURE,
  "--lcb-dates",
  ":",
  "--methods",
  "sequential,hogwild:2",
  "--budgets",
  "4:8:4",
  "--finisher-tokens",
  "8",
];
// With the bench task's own permissions: the sandbox's host side must work without --allow-all.
const runBench = (...args: string[]) => runTask("bench", lastFlagWins(args));
const tmp = () => mkdtempSync(join(tmpdir(), "hogwild-bench-code-"));

Deno.test("a code task end to end: every checkpoint graded by running its program, resumable, keyed by its tests", async () => {
  const out = join(tmp(), "lcb");
  const r = await runBench(...LCB, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /lcb: 7 of 7 problems/);
  const records: BenchRecord[] = readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(records.length, 7 * 2);
  const fixture = readFileSync(FIXTURE, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const rec of records) {
    const row = fixture.find((p) => p.question_id === rec.problem_id);
    assert.ok(row, rec.problem_id);
    assert.equal(rec.grading, "code");
    assert.equal(rec.grader, CODE_GRADER_VERSION);
    assert.deepEqual(rec.golds, []);
    assert.ok(rec.tests! >= JSON.parse(row.public_test_cases).length + 1, `${rec.problem_id}: ${rec.tests} tests`);
    for (const c of rec.checkpoints) {
      assert.ok(CODE_VERDICTS.includes(c.verdict!), `${rec.problem_id}: verdict ${c.verdict}`);
      assert.equal(c.score_strict, c.verdict === "passed" ? 1 : 0);
      assert.equal(c.tests_failed, c.verdict === "passed" ? 0 : c.tests_failed);
      assert.ok(c.tests_failed! >= 0 && c.tests_failed! <= rec.tests!);
    }
  }
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(summary, /## Code verdicts: lcb/);
  assert.match(summary, /\| sequential \| 7 \|/);
  assert.ok(summary.includes(`pass@1 by ${CODE_GRADER_VERSION}`), summary);
  const spec = JSON.parse(readFileSync(join(out, "run.json"), "utf8")).spec;
  assert.equal(spec.code_grader, CODE_GRADER_VERSION);
  assert.match(spec.code_python, /^python 3\.\d+\.\d+, numpy (none|\d+\.\d+\.\d+)$/);
  assert.match(spec["prompt code"], /^[0-9a-f]{64}$/);
  // The same command: nothing to run.
  const again = await runBench(...LCB, "--out", out);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /14 already there, 0 to run/);
  // The texts around each problem are the data's: another file is another experiment.
  const texts = JSON.parse(readFileSync("tasks/code/lcb_prompt.json", "utf8"));
  const mine = join(tmp(), "lcb_prompt.json");
  writeFileSync(mine, JSON.stringify({ ...texts, stdin: texts.stdin + " Please." }));
  const other = await runBench(...LCB, "--lcb-prompt", mine, "--out", out);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /data/);
});

Deno.test("a code task refuses, before any work, what cannot go with it", async () => {
  const dir = tmp();
  const refused: [string[], RegExp][] = [
    [[...LCB, "--methods", "sot"], /method sot: its texts ask for a boxed answer; task lcb/],
    [[...LCB, "--methods", "deepconf:2"], /method deepconf:2: its texts ask for a boxed answer/],
    [["--task", "chains", "--count", "2", "--unsafe-exec"], /--unsafe-exec, --code-workers, .* go with a code task/],
    [["--task", "chains", "--count", "2", "--plain-code-prompt", FIXTURE], /--plain-code-prompt go with a code task/],
    [[...LCB, "--collab-code-prompt", join(dir, "none.txt")], /none\.txt/],
    [
      ["--task", "chains", "--count", "2", "--lcb-dates", "2024-01-01:"],
      /--lcb-dates and --lcb-prompt go with --task lcb/,
    ],
    [[...LCB, "--lcb-dates", "2024-13-01:"], /--lcb-dates/],
    [[...LCB, "--code-workers", "0"], /--code-workers/],
    [[...LCB, "--lcb-dates", "2030-01-01:"], /--lcb-dates/],
  ];
  for (const [args, message] of refused) {
    const out = join(dir, "x");
    const r = await runBench(...args, "--out", out);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
  }
});
