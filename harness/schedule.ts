/**
 * Runs share forward passes: each pass packs the rows of every live run (its workers, its transcript chain,
 * its finisher) into one batched plan, so many problems and methods advance together.
 */
import type { KVCache } from "../engine/cache.ts";
import type { Row } from "../engine/plan.ts";
import type { Solver } from "./solver.ts";

/** What the scheduler needs of a model: one sampled pass (Engine has it; tests script it). */
export interface StepModel {
  /** one id per row: sampled by the row's sampler, -1 where it has none */
  forwardSample(cache: KVCache, rows: readonly Row[]): number[];
}

export interface PassInfo {
  runs: number;
  rows: number;
  tokens: number;
  ms: number;
}

/** One forward pass for every live run; undefined when none is left. */
export function step(model: StepModel, cache: KVCache, runs: readonly Solver[]): PassInfo | undefined {
  const live = runs.filter((r) => !r.done);
  if (live.length === 0) return undefined;
  const parts = live.map((r) => r.plan());
  const rows = parts.flat();
  const t0 = performance.now();
  const ids = model.forwardSample(cache, rows);
  const ms = performance.now() - t0;
  let at = 0;
  live.forEach((run, i) => {
    run.accept(ids.slice(at, at += parts[i].length), ms);
  });
  return { runs: live.length, rows: rows.length, tokens: rows.reduce((a, r) => a + r.tokens.length, 0), ms };
}

/** Runs every run to its end, yielding to the event loop between passes (progress, signals). */
export async function runAll(model: StepModel, cache: KVCache, runs: readonly Solver[], onPass?: (p: PassInfo) => void): Promise<void> {
  for (let info; (info = step(model, cache, runs));) {
    onPass?.(info);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
