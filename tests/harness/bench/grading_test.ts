/**
 * harness/bench/grading.ts: a checkpoint's paths graded one by one (their verdicts and their mean), and a path the
 * grader fails on counted wrong and said so.
 */
import assert from "node:assert/strict";
import { gradeCheckpoints, graderFailures, graderFailuresText, recountVotes } from "../../../harness/bench/grading.ts";
import type { RecordCheckpoint } from "../../../harness/bench/rundir.ts";
import type { Checkpoint } from "../../../harness/generation/solver.ts";
import { GradePool } from "../../../tasks/grading/pool.ts";
import { dyingGradePool } from "../../helpers.ts";

const checkpoint = (paths: (string | null)[]): Checkpoint => ({
  budget: 8,
  passes: 8,
  answer: "4",
  source: "generated",
  tokens: paths.map(() => 8),
  solo_ms: 0,
  shared_ms: 0,
  finisher_passes: 0,
  paths,
});

Deno.test("paths: each path's answer graded (none counts wrong), the mean of their scores, no error field when none failed", async () => {
  const pool = new GradePool({ workers: 1 });
  try {
    const [cp] = await gradeCheckpoints(
      [checkpoint(["4", null, "5", "2+2"])],
      { golds: ["4"], grading: "single" },
      pool,
    );
    assert.deepEqual(cp.paths_equal_strict, [true, false, false, true]);
    assert.equal(cp.paths_score_strict, 0.5);
    assert.equal(cp.paths_grader_errors, undefined);
    const [none] = await gradeCheckpoints([{ ...checkpoint([]), paths: undefined }], {
      golds: ["4"],
      grading: "single",
    }, pool);
    assert.deepEqual([none.paths_equal_strict, none.paths_score_strict], [undefined, undefined]);
  } finally {
    pool.close();
  }
});

Deno.test("paths: a path the grader fails on counts as wrong and is counted in paths_grader_errors", async () => {
  const pool = dyingGradePool();
  try {
    const [cp] = await gradeCheckpoints([checkpoint(["4", "4", null])], { golds: ["4"], grading: "single" }, pool);
    assert.deepEqual([cp.paths_equal_strict, cp.paths_score_strict], [[false, false, false], 0]);
    assert.equal(cp.paths_grader_errors, 3);
    assert.match(cp.grader_error ?? "", /the grading worker died/);
  } finally {
    pool.close();
  }
});

/** A pool of one process that spins (past the limit) on the jobs whose id `spins` names, and grades the rest right. */
function spinningPool(spins: string): GradePool {
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-grade-busy-" });
  Deno.writeTextFileSync(
    `${dir}/worker.ts`,
    `console.log('{"ready":true}');\n` +
      "for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {\n" +
      `  const { id } = JSON.parse(line); if (${spins}) while (true) {}\n` +
      "  console.log(JSON.stringify({ id, result: { equal_strict: true, equal_lenient: true, score_strict: 1, " +
      "score_lenient: 1 } }));\n}\n",
  );
  return new GradePool({ workers: 1, timeoutMs: 1000, worker: new URL(`file://${dir}/worker.ts`).href });
}

Deno.test("a grading that times out (a busy machine) is tried once more; one that times out twice counts wrong, said", async () => {
  const problem = { golds: ["4"], grading: "single" as const };
  const once = spinningPool("id === 0");
  try {
    const [cp] = await gradeCheckpoints([{ ...checkpoint([]), paths: undefined }], problem, once);
    assert.deepEqual([cp.equal_strict, cp.timed_out], [true, undefined]);
  } finally {
    once.close();
  }
  const always = spinningPool("true");
  try {
    const [cp] = await gradeCheckpoints([{ ...checkpoint([]), paths: undefined }], problem, always);
    assert.deepEqual([cp.equal_strict, cp.score_strict, cp.timed_out], [false, 0, true]);
    assert.equal(
      graderFailuresText(graderFailures([{ checkpoints: [cp, cp] }])),
      "2 checkpoints' answers timed out in the grader (10 s, wall-clock, tried twice), 0 the grader failed on, " +
        "and 0 paths' answers either way: each counted wrong",
    );
  } finally {
    always.close();
  }
});

Deno.test("rescore's recount: a plain majority counted again from its paths; a weighted vote and a majority answer without a vote named as kept", () => {
  const cp = (o: Partial<RecordCheckpoint>) =>
    ({ budget: 8, answer: "4", source: "generated", ...o }) as RecordCheckpoint;
  const { recounted, kept } = recountVotes([
    // the old grouping kept "x = 4" apart from "4" and picked "5": today's reads them alike
    { method: "sc:3", grading: "single" as const, checkpoints: [cp({ vote: "5", paths: ["5", "x = 4", "4"] })] },
    { method: "sc:3:conf", grading: "single" as const, checkpoints: [cp({ vote: "5", paths: ["5", "x = 4", "4"] })] },
    // a majority answer with no vote field (its ties go by when each path answered, not in the record)
    { method: "leap:3", grading: "single" as const, checkpoints: [cp({ answer: "5", paths: ["5", "x = 4", "4"] })] },
    {
      method: "leap:3",
      grading: "single" as const,
      checkpoints: [cp({ answer: "7", source: "finisher", paths: [null, null, null] })],
    },
    { method: "sequential", grading: "single" as const, checkpoints: [cp({})] },
  ]);
  assert.match(String(recounted[0].checkpoints[0].vote), /^(x = 4|4)$/);
  assert.equal(recounted[1].checkpoints[0].vote, "5");
  assert.deepEqual(kept, ["leap:3", "sc:3:conf"]);
  // a code task's programs vote by their text: two indented alike beat one dedented, written first
  const programs = ["if x:\n    a()\nb()", "if x:\n    a()\n    b()", "if x:\n    a()\n    b()\r\n"];
  const code = recountVotes([{
    method: "sc:3",
    grading: "code",
    checkpoints: [cp({ vote: programs[0], paths: programs })],
  }]);
  assert.equal(code.recounted[0].checkpoints[0].vote, programs[1]);
});
