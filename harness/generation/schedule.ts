/**
 * Runs share forward passes: each pass packs the rows of every live run (its workers, its transcript chain,
 * its finisher) into one batched plan, so many problems and methods advance together. A run whose rows do not
 * fit in the KV cache's free pages sits the pass out. On the CPU a run's results do not depend on the company
 * it keeps (a row's logits are bit-identical alone or batched); on the GPU they do, in their rounding (the
 * product's kernel is chosen by the pass's row count: cuda/NOTES.md), so a run's tokens may differ with the
 * runs beside it, each text still a sample of its method (docs/benchmark.md, "Records and the company they keep").
 */
import type { KVCache } from "../../engine/cache.ts";
import { check, InputError } from "../../engine/errors.ts";
import { pagesNeeded, type PassShape, passShape, PastContext, type Row } from "../../engine/plan.ts";
import type { TokenLogprobs } from "../../engine/sampler.ts";
import { pageTokens, type PlannedRow, type Solver, TYPICAL_STEP } from "./solver.ts";

/**
 * What the scheduler needs of a model: one sampled pass (Engine has it; tests script it). The engine's pass
 * resolves a Promise, its work off the JavaScript thread; a scripted model may answer at once.
 */
export interface StepModel {
  /** one id per row: sampled by the row's sampler, -1 where it has none */
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] | Promise<number[]>;
  /** forwardSample, and for each row with `logprobs` its TokenLogprobs (undefined for the others) */
  forwardSampleLogprobs?(cache: KVCache, rows: readonly Row[]): Sampled | Promise<Sampled>;
}

type Sampled = { ids: number[]; logprobs?: (TokenLogprobs | undefined)[] };

export interface PassInfo {
  runs: number;
  /** live runs that sat the pass out for want of KV pages */
  waiting: number;
  /** the whole pass's shape, and its measured wall time */
  shape: PassShape;
  ms: number;
  /** the pass ran off the JavaScript thread: the event loop turned meanwhile (timers, the viewer, records) */
  offThread: boolean;
}

/** The predicted time of a pass of this shape on this device (harness/bench/cost.ts), ms. */
export type CostOf = (shape: PassShape) => number;

/** A pass past the model's max_position_embeddings (engine/plan.ts PastContext), with the run that reached past. */
export class RunPastContext extends InputError {
  constructor(message: string, readonly run: Solver) {
    super(message);
  }
}

/** No live run's next pass fits in the KV cache's free pages. */
export class KVShortage extends Error {
  constructor(readonly cache: KVCache, readonly runs: number) {
    super(`the KV cache (${cache.capacityTokens} tokens) has no room for the next pass of any of ${runs} live runs`);
  }
}

/**
 * One forward pass for every live run that fits; undefined when none is left. With `cost`, each run is also
 * charged the predicted time of its own rows alone (its solo time).
 */
export async function step(
  model: StepModel,
  cache: KVCache,
  runs: readonly Solver[],
  cost?: CostOf,
): Promise<PassInfo | undefined> {
  const live = runs.filter((r) => !r.done);
  if (live.length === 0) return undefined;
  const planned = live.map((run) => ({ run, rows: run.plan() }));
  let free = cache.freePages;
  const going: { run: Solver; rows: PlannedRow[] }[] = [];
  for (const p of planned) {
    const need = pagesNeeded(cache, p.rows);
    if (need > free) continue;
    going.push(p);
    free -= need;
  }
  if (going.length === 0) throw new KVShortage(cache, live.length);
  const rows = going.flatMap((p) => p.rows);
  const shape = passShape(rows), solo = going.map((p) => (cost ? cost(passShape(p.rows)) : 0));
  const t0 = performance.now();
  let offThread = false, sampled: Sampled;
  try {
    const pass = sample(model, cache, rows);
    offThread = pass instanceof Promise;
    sampled = await pass;
  } catch (e) {
    if (!(e instanceof PastContext)) throw e;
    // the run whose row reached past the model's positions: the bench names it (runJobs)
    let first = 0;
    throw new RunPastContext(e.message, going.find((p) => (first += p.rows.length) > e.row)!.run);
  }
  const { ids, logprobs } = sampled;
  const ms = performance.now() - t0;
  let at = 0;
  going.forEach(({ run, rows }, i) => {
    const end = at + rows.length;
    run.accept(ids.slice(at, end), ms, solo[i], logprobs?.slice(at, end));
    at = end;
  });
  return { runs: going.length, waiting: live.length - going.length, shape, ms, offThread };
}

/** The pass: with log-probabilities only when a row asks for them (forwardSample stays the fast path). */
function sample(model: StepModel, cache: KVCache, rows: readonly Row[]): Sampled | Promise<Sampled> {
  if (!rows.some((r) => r.logprobs !== undefined)) {
    const ids = model.forwardSample(cache, rows);
    return ids instanceof Promise ? ids.then((ids) => ({ ids })) : { ids };
  }
  const name = (model as { source?: string }).source ?? model.constructor.name;
  check(model.forwardSampleLogprobs, `${name}: a row asks for logprobs, but this model has no forwardSampleLogprobs`);
  return model.forwardSampleLogprobs(cache, rows);
}

/**
 * A pause for the event loop (progress, signals, the viewer, records landing) at most every `ms`, for models
 * whose passes answer at once (scripted ones): the engine's passes run off the JavaScript thread, and the loop
 * turns during each. Not after every pass: a timer's wait is clamped to milliseconds, longer than a small
 * model's whole pass.
 */
function eventLoopPause(ms = 20): () => Promise<void> {
  let last = performance.now();
  return () => {
    if (performance.now() - last < ms) return Promise.resolve();
    return new Promise((resolve) =>
      setTimeout(() => {
        last = performance.now();
        resolve();
      }, 0)
    );
  };
}

/*
 * Two loops over `step`. runAll steps a fixed set of runs to their ends and leaves them, their blocks and a
 * KVShortage to its caller (trace, the demo model's data, tests); runJobs, the bench's, admits runs from a
 * queue by their KV bounds, frees each as it ends and on a shortage puts the newest back. runAll written as
 * runJobs would free its runs, hold their bounds and turn a shortage into a put-back or an InputError: another
 * behaviour, so both stay, side by side.
 */

/** Runs every run to its end, pausing for the event loop now and then. */
export async function runAll(
  model: StepModel,
  cache: KVCache,
  runs: readonly Solver[],
  onPass?: (p: PassInfo) => void,
  cost?: CostOf,
): Promise<void> {
  const pause = eventLoopPause();
  for (let info; (info = await step(model, cache, runs, cost));) {
    onPass?.(info);
    if (!info.offThread) await pause();
  }
}

/**
 * What a run that alone outgrew `cache` is told to give: its bound at the steps it has taken so far (their mean
 * length, where its method's bound counts steps, at most the TYPICAL_STEP its bound assumed), never less than
 * the pass it could not take needs; and its bound at steps of one token, the shortest there are. Not a bound
 * that holds whatever the run writes (its later steps may be shorter still), and not the bound the bench
 * admits runs by: runs of a few tokens a step would have the cache many times what typical steps need.
 */
function outgrown(cache: KVCache, run: Solver): string {
  const pageSize = cache.pageSize, mean = run.stepTokens();
  // what it holds (it is alone in the cache) and what its planned pass asked for on top
  const pass = (cache.native.pages - cache.freePages + pagesNeeded(cache, run.plan())) * pageSize;
  const at = (step?: number) => Math.max(pageTokens(pass, pageSize), run.kvTokens(pageSize, step));
  const advice = (tokens: number) =>
    `give --kv-tokens ${Math.max(MIN_KV_TOKENS, tokens)} or more, or lower the budgets (the records written are kept)`;
  if (mean === undefined) return advice(at());
  const step = Math.max(1, Math.min(TYPICAL_STEP, mean));
  return `${advice(at(step))}. ${at(step)} is its bound at steps of ${+step.toFixed(1)} generated tokens, the ` +
    `mean of its steps so far (the bound assumes ${TYPICAL_STEP}); at steps of one token, the shortest there ` +
    `are, it is ${at(1)}`;
}

/** The least cache `--kv-tokens` takes (harness/bench/spec.ts): advice never names a smaller one. */
export const MIN_KV_TOKENS = 1024;

/** Makes a job's run on the cache (the bench: its solver; tests: scripted ones). */
export type MakeSolver<J> = (cache: KVCache, job: J) => Solver;

export interface RunJobsOptions<J> {
  concurrency: number;
  solver: MakeSolver<J>;
  /** a finished run (its blocks already freed) */
  done: (job: J, run: Solver) => void;
  onPass?: (info: PassInfo) => void;
  /** the cost model's prediction, for the runs' solo times */
  cost?: CostOf;
  /** a job as an error names it, followed by a space */
  name?: (job: J) => string;
}

/**
 * Runs the jobs to their ends, sharing passes. A run is admitted only while the KV its bound says it may need
 * is free; should the cache still run short (steps much shorter than the bound assumes), runs sit passes out,
 * and if none can go on, the newest is put back in the queue to start again later (on the CPU it gives the same
 * record; on the GPU a record of its own, as its passes are shared with others) and nothing new starts until a
 * run ends.
 */
export async function runJobs<J>(model: StepModel, cache: KVCache, jobs: J[], o: RunJobsOptions<J>): Promise<void> {
  const { concurrency, solver, done } = o;
  const queue = jobs.slice(), active: { job: J; run: Solver; kv: number }[] = [];
  let reserved = 0,
    evicted = 0,
    hold = false,
    next: { job: J; run: Solver; kv: number } | undefined,
    info: PassInfo | undefined;
  const pause = eventLoopPause();
  while (queue.length || active.length || next) {
    while (!hold && active.length < concurrency && (next || queue.length)) {
      if (!next) {
        const job = queue.shift()!, run = solver(cache, job);
        next = { job, run, kv: run.kvTokens(cache.pageSize) };
      }
      if (active.length && reserved + next.kv > cache.capacityTokens) break;
      active.push(next);
      reserved += next.kv;
      next = undefined;
    }
    try {
      info = await step(model, cache, active.map((a) => a.run), o.cost);
    } catch (e) {
      if (e instanceof RunPastContext) {
        const job = active.find((a) => a.run === e.run)?.job;
        throw new InputError(`the run ${job === undefined ? "" : o.name?.(job) ?? ""}stopped: ${e.message}`);
      }
      if (!(e instanceof KVShortage)) throw e;
      const a = active.pop()!;
      if (active.length === 0) {
        throw new InputError(
          `${e.message}: the run ${o.name?.(a.job) ?? ""}needs more than the whole cache (its bound: ${a.kv} ` +
            `tokens); ${outgrown(cache, a.run)}`,
        );
      }
      a.run.free();
      reserved -= a.kv;
      queue.unshift(a.job);
      hold = true;
      // said once: a long run that keeps running short would say it on every eviction
      if (evicted++ === 0) {
        console.error(
          `bench: the KV cache ran short of room for ${
            active.length + 1
          } runs at once; one will start again once another ends (said once; a larger --kv-tokens avoids it)`,
        );
      }
      continue;
    }
    for (const a of active.filter((x) => x.run.done)) {
      active.splice(active.indexOf(a), 1);
      reserved -= a.kv;
      hold = false;
      a.run.free();
      done(a.job, a.run);
    }
    if (info) o.onPass?.(info);
    if (!info?.offThread) await pause(); // finished gradings land in records.jsonl
  }
}
