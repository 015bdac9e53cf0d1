/**
 * harness/bench/grading.ts: a checkpoint's paths graded one by one (their verdicts and their mean), and a path the
 * grader fails on counted wrong and said so.
 */
import assert from "node:assert/strict";
import { gradeCheckpoints } from "../../../harness/bench/grading.ts";
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
