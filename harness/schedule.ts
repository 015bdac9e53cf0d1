/**
 * Runs share forward passes: each pass packs the rows of every live run (its workers, its transcript chain,
 * its finisher) into one batched plan, so many problems and methods advance together.
 */
import type { KVCache } from "../engine/cache.ts";
import type { Row } from "../engine/plan.ts";
import type { Sampler } from "../engine/sampler.ts";
import type { Checkpoint, StepRecord } from "./run.ts";

/** One problem being solved by one method, as the scheduler and the benchmark see it (run.ts, sot.ts). */
export interface Solver {
  readonly done: boolean;
  readonly checkpoints: readonly Checkpoint[];
  readonly steps: readonly StepRecord[];
  /** wall time of every pass it took part in, ms */
  readonly passMs: readonly number[];
  /** the rows it wants in the next pass, with a sampler for each row whose next token is sampled */
  plan(): { rows: Row[]; samplers: (Sampler | undefined)[] };
  /** the ids sampled for its rows that had samplers, in plan order; `ms`: the pass's wall time */
  accept(ids: readonly number[], ms: number): void;
  /** what each of its writers wrote, in order */
  texts(): string[];
  /** its blocks back to the pool */
  free(): void;
}

/** What the scheduler needs of a model: one sampled pass (Engine has it; tests script it). */
export interface StepModel {
  forwardSample(cache: KVCache, rows: readonly Row[], samplers: readonly (Sampler | undefined)[]): number[];
}

export interface PassInfo {
  runs: number;
  rows: number;
  tokens: number;
  ms: number;
}

/** One forward pass for every live run; false when none is left. */
export function step(model: StepModel, cache: KVCache, runs: readonly Solver[]): PassInfo | undefined {
  const live = runs.filter((r) => !r.done);
  if (live.length === 0) return undefined;
  const parts = live.map((r) => r.plan());
  const rows = parts.flatMap((p) => p.rows), samplers = parts.flatMap((p) => p.samplers);
  const t0 = performance.now();
  const ids = model.forwardSample(cache, rows, samplers);
  const ms = performance.now() - t0;
  let at = 0;
  live.forEach((run, i) => {
    const n = parts[i].rows.length;
    run.accept(ids.slice(at, at + n).filter((_, k) => parts[i].samplers[k] !== undefined), ms);
    at += n;
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
