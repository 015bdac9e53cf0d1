/**
 * A run's checkpoints graded: each answer, and a self-consistency vote, against the problem's golds, in the
 * grading pool. The one place a verdict becomes record fields: the bench grades as runs end, rescore grades a
 * folder's records again with the grader of today.
 */
import type { GradePool } from "../tasks/grade_pool.ts";
import type { RecordCheckpoint } from "./rundir.ts";
import type { Checkpoint } from "./solver.ts";

export async function gradeCheckpoints(
  checkpoints: readonly Checkpoint[],
  problem: { golds: readonly string[]; grading: "single" | "list" },
  pool: GradePool,
): Promise<RecordCheckpoint[]> {
  const verdict = (answer: string | null | undefined) =>
    pool.grade({ generated: answer ? `\\boxed{${answer}}` : "", golds: problem.golds, grading: problem.grading });
  const out: RecordCheckpoint[] = [];
  for (const c of checkpoints) {
    const { equal_strict, equal_lenient, score_strict, score_lenient, timed_out, error } = await verdict(c.answer);
    const cp: RecordCheckpoint = {
      ...ungraded(c),
      equal_strict,
      equal_lenient,
      score_strict,
      score_lenient,
      ...(timed_out ? { timed_out } : {}),
      ...(error ? { grader_error: error } : {}),
    };
    if (c.vote !== undefined) {
      const v = await verdict(c.vote);
      cp.vote_equal_strict = v.equal_strict, cp.vote_score_strict = v.score_strict;
    }
    out.push(cp);
  }
  return out;
}

/** A checkpoint as the run wrote it, without any earlier grade (a regrade keeps nothing of the old verdict). */
function ungraded(c: Checkpoint | RecordCheckpoint): Checkpoint {
  const {
    equal_strict: _es,
    equal_lenient: _el,
    score_strict: _ss,
    score_lenient: _sl,
    timed_out: _t,
    grader_error: _g,
    vote_equal_strict: _ve,
    vote_score_strict: _vs,
    ...run
  } = c as RecordCheckpoint;
  return run;
}
