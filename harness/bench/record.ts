/**
 * A finished run as its run folder keeps it: the record (every checkpoint graded, off the generation's path)
 * and the trace (what the workers wrote, step by step, and the time of every pass it took part in).
 */
import type { GradePool } from "../../tasks/grading/pool.ts";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";
import { CODE_GRADER_VERSION } from "../../tasks/code/grade.ts";
import { gradeCheckpoints } from "./grading.ts";
import type { Job } from "./jobs.ts";
import type { BenchRecord, TraceLine } from "./rundir.ts";
import type { Solver } from "../generation/solver.ts";

/** Grades every checkpoint off the generation's path; resolves to the record and the trace to append. */
export async function runRecord(job: Job, run: Solver, pool: GradePool): Promise<[BenchRecord, TraceLine]> {
  const p = job.problem;
  const checkpoints = await gradeCheckpoints(run.checkpoints, p, pool);
  const key = { task: p.task, problem_id: p.id, method: job.method, seed: job.seed };
  const last = run.checkpoints[run.checkpoints.length - 1];
  const record: BenchRecord = {
    ...key,
    golds: p.golds,
    grading: p.grading,
    ...(p.code ? { tests: p.code.tests.length } : {}),
    checkpoints,
    steps: run.steps.filter((s) => !s.inserted).length, // the writers' own
    solo_ms: last?.solo_ms ?? 0,
    shared_ms: last?.shared_ms ?? 0,
    grader: p.grading === "code" ? CODE_GRADER_VERSION : GRADER_VERSION,
  };
  const trace: TraceLine = {
    ...key,
    problem: p.text,
    names: run.names(),
    workers: run.texts(),
    steps: run.steps.map((s) => ({
      worker: s.worker,
      step: s.step,
      pass: s.pass,
      text: s.text,
      ...(s.inserted ? { inserted: s.inserted } : {}),
    })),
    pass_ms: run.passMs.map((ms) => +ms.toFixed(3)),
  };
  const ended = run.ended(), audit = run.audit();
  if (ended) trace.ended = ended;
  if (audit) trace.audit = audit;
  return [record, trace];
}
