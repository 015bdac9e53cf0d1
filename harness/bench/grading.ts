/**
 * A run's checkpoints graded: each answer, a self-consistency vote and independent paths' own answers, against the problem's golds, in the
 * grading pool; a code problem's program against its tests, in the sandbox. The one place a verdict becomes
 * record fields: the bench grades as runs end, rescore grades a folder's records again with the grader of today.
 */
import { GRADE_TIMEOUT_MS, type GradePool } from "../../tasks/grading/pool.ts";
import type { CodeSpec } from "../../tasks/code/problem.ts";
import type { Grading } from "../../tasks/problem.ts";
import type { RecordCheckpoint } from "./rundir.ts";
import type { Checkpoint } from "../generation/solver.ts";
import { recountedVote } from "../generation/methods.ts";

type Verdict = Pick<RecordCheckpoint, "equal_strict" | "equal_lenient" | "score_strict" | "score_lenient"> & {
  extra: Partial<RecordCheckpoint>;
};

export async function gradeCheckpoints(
  checkpoints: readonly Checkpoint[],
  problem: { golds: readonly string[]; grading: Grading; code?: CodeSpec },
  pool: GradePool,
): Promise<RecordCheckpoint[]> {
  // An answer that stands for several checkpoints (an early stop, a vote that did not change) is graded once:
  // a program is run on its tests once.
  const seen = new Map<string, Promise<Verdict>>();
  const verdict = (answer: string | null | undefined): Promise<Verdict> => {
    const key = answer ?? "";
    let v = seen.get(key);
    if (!v) seen.set(key, v = problem.grading === "code" ? codeVerdict(problem, answer, pool) : mathVerdict(answer));
    return v;
  };
  const mathVerdict = async (answer: string | null | undefined): Promise<Verdict> => {
    const job = {
      generated: answer ? `\\boxed{${answer}}` : "",
      golds: problem.golds,
      grading: problem.grading as "single" | "list" | "parts",
    };
    // the limit is wall-clock: a time-out may be a busy machine's (a bench generating beside it), so it is tried
    // once more before it counts as wrong
    let g = await pool.grade(job);
    if (g.timed_out) g = await pool.grade(job);
    return {
      equal_strict: g.equal_strict,
      equal_lenient: g.equal_lenient,
      score_strict: g.score_strict,
      score_lenient: g.score_lenient,
      extra: { ...(g.timed_out ? { timed_out: true } : {}), ...(g.error ? { grader_error: g.error } : {}) },
    };
  };
  const out: RecordCheckpoint[] = [];
  for (const c of checkpoints) {
    const { extra, ...v } = await verdict(c.answer);
    const cp: RecordCheckpoint = { ...ungraded(c), ...v, ...extra };
    if (c.vote !== undefined) {
      const w = await verdict(c.vote);
      cp.vote_equal_strict = w.equal_strict, cp.vote_score_strict = w.score_strict;
    }
    if (c.paths !== undefined && c.paths.length > 0) {
      const each = await Promise.all(c.paths.map(verdict));
      cp.paths_equal_strict = each.map((w) => w.equal_strict);
      cp.paths_score_strict = each.reduce((a, w) => a + w.score_strict, 0) / each.length;
      // a path the grader failed on counts as wrong, as the answer does; said, not hidden
      const failed = each.filter((w) => w.extra.timed_out || w.extra.grader_error).length;
      if (failed) cp.paths_grader_errors = failed;
    }
    out.push(cp);
  }
  return out;
}

/** Checkpoints whose answer the grader did not grade (timed out twice, or failed), and paths' answers so: each counted wrong. */
export interface GraderFailures {
  timedOut: number;
  failed: number;
  paths: number;
}

export function graderFailures(records: readonly { checkpoints: readonly RecordCheckpoint[] }[]): GraderFailures {
  const cps = records.flatMap((r) => r.checkpoints);
  return {
    timedOut: cps.filter((c) => c.timed_out).length,
    failed: cps.filter((c) => c.grader_error !== undefined).length,
    paths: cps.reduce((a, c) => a + (c.paths_grader_errors ?? 0), 0),
  };
}

/** The failures in words: "3 checkpoints' answers timed out in the grader (…), 1 …", for summary.md and rescore. */
export function graderFailuresText(f: GraderFailures): string {
  return `${graderFailuresCounts(f)}: each counted wrong`;
}

/** The failures counted in words, without what they count as (graderFailuresText; compare's line). */
export function graderFailuresCounts(f: GraderFailures): string {
  return `${f.timedOut} checkpoints' answers timed out in the grader (${GRADE_TIMEOUT_MS / 1000} s, wall-clock, ` +
    `tried twice), ${f.failed} the grader failed on, and ${f.paths} paths' answers either way`;
}

/** The failures in a few words, for a chart's note ("2 answers", "1 answer, 3 paths' answers"); undefined: none. */
export function graderFailuresBrief(f: GraderFailures): string | undefined {
  const n = f.timedOut + f.failed;
  const parts = [
    ...(n ? [`${n} ${n === 1 ? "answer" : "answers"}`] : []),
    ...(f.paths ? [`${f.paths} ${f.paths === 1 ? "path's answer" : "paths' answers"}`] : []),
  ];
  return parts.length ? parts.join(", ") : undefined;
}

/** A program's verdict: it passes when every test passes (strict and lenient alike). */
async function codeVerdict(
  problem: { code?: CodeSpec },
  answer: string | null | undefined,
  pool: GradePool,
): Promise<Verdict> {
  if (!problem.code) throw new Error('a code problem without its tests (grading "code" needs `code`)');
  const g = await pool.gradeCode(problem.code, answer ?? undefined);
  return {
    equal_strict: g.pass,
    equal_lenient: g.pass,
    score_strict: +g.pass,
    score_lenient: +g.pass,
    extra: { verdict: g.verdict, tests_failed: g.failed, ...(g.detail ? { verdict_detail: g.detail } : {}) },
  };
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
    paths_equal_strict: _pe,
    paths_score_strict: _ps,
    paths_grader_errors: _pg,
    verdict: _v,
    tests_failed: _tf,
    verdict_detail: _vd,
    ...run
  } = c as RecordCheckpoint;
  return run;
}

/**
 * Each vote counted again from its checkpoint's paths under today's grouping (voteKey of the record's grading: the
 * grader's normalisation, a program's text),
 * where its method's vote rests on the paths alone (a plain majority); `kept`: the methods whose votes rest on
 * what the records do not keep (weighted votes' confidences; a majority answer with no vote of its own breaks
 * ties by when each path answered), left as their run counted them.
 */
export function recountVotes<
  R extends { method: string; grading: Grading; checkpoints: readonly RecordCheckpoint[] },
>(
  records: readonly R[],
): { recounted: R[]; kept: string[] } {
  const kept = new Set<string>();
  const recounted = records.map((r) => ({
    ...r,
    checkpoints: r.checkpoints.map((c) => {
      if (c.paths === undefined) return c;
      if (c.vote === undefined) {
        // an answer that is its paths' majority (source generated) without a vote field
        if (c.source === "generated") kept.add(r.method);
        return c;
      }
      const vote = recountedVote(r.method, c.paths, r.grading);
      if (vote === undefined) kept.add(r.method);
      return vote === undefined ? c : { ...c, vote };
    }),
  }));
  return { recounted, kept: [...kept].sort() };
}
