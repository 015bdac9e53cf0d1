/**
 * Runs share forward passes: each pass packs the rows of every live run (its workers, its transcript chain,
 * its finisher) into one batched plan, so many problems and methods advance together. A run whose rows do not
 * fit in the KV cache's free pages sits the pass out (its results do not depend on the company it keeps).
 */
import type { KVCache } from "../engine/cache.ts";
import { pagesNeeded, type PassShape, passShape, type Row } from "../engine/plan.ts";
import type { PlannedRow, Solver } from "./solver.ts";

/** What the scheduler needs of a model: one sampled pass (Engine has it; tests script it). */
export interface StepModel {
  /** one id per row: sampled by the row's sampler, -1 where it has none */
  forwardSample(cache: KVCache, rows: readonly Row[]): number[];
}

export interface PassInfo {
  runs: number;
  /** live runs that sat the pass out for want of KV pages */
  waiting: number;
  /** the whole pass's shape, and its measured wall time */
  shape: PassShape;
  ms: number;
}

/** The predicted time of a pass of this shape on this device (harness/cost.ts), ms. */
export type CostOf = (shape: PassShape) => number;

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
export function step(model: StepModel, cache: KVCache, runs: readonly Solver[], cost?: CostOf): PassInfo | undefined {
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
  const ids = model.forwardSample(cache, rows);
  const ms = performance.now() - t0;
  let at = 0;
  going.forEach(({ run, rows }, i) => run.accept(ids.slice(at, at += rows.length), ms, solo[i]));
  return { runs: going.length, waiting: live.length - going.length, shape, ms };
}

/**
 * A pause for the event loop (progress, signals, the viewer, records landing) at most every `ms`: not after
 * every pass, since a timer's wait is clamped to milliseconds, longer than a small model's whole pass.
 */
export function eventLoopPause(ms = 20): () => Promise<void> {
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

/** Runs every run to its end, pausing for the event loop now and then. */
export async function runAll(
  model: StepModel,
  cache: KVCache,
  runs: readonly Solver[],
  onPass?: (p: PassInfo) => void,
  cost?: CostOf,
): Promise<void> {
  const pause = eventLoopPause();
  for (let info; (info = step(model, cache, runs, cost));) {
    onPass?.(info);
    await pause();
  }
}
