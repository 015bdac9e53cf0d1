/**
 * The bench's runs: the pending jobs through the scheduler, each record graded and written as its run ends,
 * with progress, the live viewer's feed, Ctrl-C (and SIGTERM, SIGHUP: interrupt.ts), and this invocation's
 * throughput in run.json.
 */
import type { KVCache } from "../../engine/cache.ts";
import type { Engine } from "../../engine/model.ts";
import { GradePool } from "../../tasks/grading/pool.ts";
import type { CodeRunner } from "../../tasks/code/runner.ts";
import type { CostModel } from "./cost.ts";
import { type Job, keyOf } from "./jobs.ts";
import { progress } from "./progress.ts";
import { runRecord } from "./record.ts";
import type { RunDir } from "./rundir.ts";
import { type MakeSolver, runJobs } from "../generation/schedule.ts";
import type { Solver } from "../generation/solver.ts";
import { costOf, costWarning, type Invocation, PassLog } from "./timing.ts";
import { oneLine } from "../../engine/errors.ts";
import { exitInterrupted, onInterrupt } from "./interrupt.ts";

/** Who watches runs as they go (the live viewer's tap): each run's start, every pass, each run's end. */
export interface RunWatcher {
  track(key: string, head: { task: string; problem_id: string; method: string; seed: number }, solver: Solver): void;
  tick(): void;
  finish(key: string): void;
}

/** Runs the pending jobs, grading and writing each record as its run ends; run.json gets this invocation. */
export async function execute(o: {
  engine: Engine;
  cache: KVCache;
  dir: RunDir;
  cost: CostModel;
  solver: MakeSolver<Job>;
  concurrency: number;
  jobs: Job[];
  pending: Job[];
  out: string;
  live?: RunWatcher;
  /** where code problems' programs run */
  code?: CodeRunner;
}): Promise<void> {
  const { engine, cache, dir, cost, jobs, pending, out, live } = o;
  const solver: MakeSolver<Job> = live
    ? (c, job) => {
      const s = o.solver(c, job);
      live.track(
        keyOf(job),
        { task: job.problem.task, problem_id: job.problem.id, method: job.method, seed: job.seed },
        s,
      );
      return s;
    }
    : o.solver;
  const pool = new GradePool({ workers: 2, code: o.code });
  let finished = jobs.length - pending.length, written = 0;
  const bar = progress(jobs.length, finished);
  const log = new PassLog(), t0 = performance.now();
  const addInvocation = () => {
    const before = (dir.meta().invocations ?? []) as Invocation[]; // a list: checked by RunDir.open
    const now = log.invocation(written, cost), warning = costWarning(now);
    dir.updateMeta({ invocations: [...before, now] });
    if (warning) console.error(`bench: ${warning}`);
  };
  // Ctrl-C (or a scheduler's SIGTERM): what is written stays (records are whole lines), this invocation's
  // throughput with it; the runs in flight start again on resume.
  const stopListening = onInterrupt((signal) => {
    addInvocation();
    pool.close(); // its processes too: one computing a runaway comparison would not end with this one
    dir.close(); // its lock too: the folder is free for the next command
    exitInterrupted(finished, jobs.length, out, signal);
  });
  const writes: Promise<void>[] = [];
  // A record that cannot be written: kept here, not left a rejected promise (which, caught only in the
  // finally below, is an unhandled rejection while the runs go on).
  let lost: { error: unknown } | undefined, unsaid: { error: unknown } | undefined, failed = false;
  try {
    await runJobs(engine, cache, pending, {
      concurrency: o.concurrency,
      solver,
      cost: costOf(cost),
      name: (j) => `(${j.problem.task} "${j.problem.id}", ${j.method}, seed ${j.seed}) `,
      done: (job, run) => {
        live?.finish(keyOf(job));
        writes.push(
          runRecord(job, run, pool).then(([record, trace]) => {
            dir.append(record, trace);
            finished++, written++;
          }).catch((error) => void (lost ??= { error })),
        );
      },
      onPass: (info) => {
        if (lost) throw lost.error; // a record that cannot be written (a full disk): no more work
        log.add(info);
        live?.tick();
        bar.update(finished, log.passes / ((performance.now() - t0) / 1000));
      },
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // Every record being graded lands (or fails) before the pool closes; the first failure is the run's.
    await Promise.all(writes);
    failed ||= lost !== undefined;
    await stopListening();
    bar.update(finished, log.passes / ((performance.now() - t0) / 1000));
    bar.stop();
    pool.close();
    // The records that did land are this invocation's, a failed write or not (solo-check counts every record's
    // invocation); where run.json cannot be written either (a full disk), the run's own failure is the one said.
    try {
      addInvocation();
    } catch (e) {
      if (!failed) unsaid = { error: e };
      else {console.error(
          `bench: this invocation's numbers could not be added to run.json (${
            oneLine(e instanceof Error ? e.message : String(e))
          })`,
        );}
    }
  }
  if (lost) throw lost.error;
  if (unsaid) throw unsaid.error;
}
