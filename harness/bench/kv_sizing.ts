/**
 * How large the bench's KV cache is: --kv-tokens, or room for --concurrency of the largest runs by their
 * bounds (Solver.kvTokens), halved down to one run's bound while it does not fit on the device. Which runs go
 * at once inside it is the scheduler's (runJobs, harness/generation/schedule.ts).
 */
import { KVCache } from "../../engine/cache.ts";
import { InputError } from "../../engine/errors.ts";
import type { Engine } from "../../engine/model.ts";
import type { BenchSpec } from "./spec.ts";
import type { Job } from "./jobs.ts";
import type { MakeSolver } from "../generation/schedule.ts";

/**
 * The KV cache: --kv-tokens, or room for --concurrency of the largest runs (by their bounds); when that does
 * not fit on the device, the largest that does, halving down to one run's bound.
 */
export function benchCache(engine: Engine, spec: BenchSpec, pending: Job[], solver: MakeSolver<Job>): KVCache {
  const pageSize = 16;
  // The bounds depend on the prompt's length and the method, not the seed: one probe each, on a cache with no pages.
  const probe = new KVCache({ bytes: 0, pages: 0, pageSize });
  const bounds = new Map<string, number>();
  for (const j of pending) {
    const key = `${j.problem.task}\t${j.problem.id}\t${j.method}`;
    if (!bounds.has(key)) bounds.set(key, solver(probe, j).kvTokens(pageSize));
  }
  const perRun = [...bounds.values()].reduce((a, b) => Math.max(a, b), pageSize);
  const cache = newBenchCache(engine, spec.kvTokens, Math.min(pending.length || 1, spec.concurrency) * perRun, perRun);
  if (cache.capacityTokens < perRun) {
    console.error(
      `bench: a run may need up to ${perRun} KV tokens, more than the cache's ${cache.capacityTokens}: such runs go alone, and stop with an error if they run out`,
    );
  } else if (cache.capacityTokens < Math.min(spec.concurrency, pending.length) * perRun) {
    console.error(
      `bench: the KV cache holds ${cache.capacityTokens} tokens and a run may need up to ${perRun}: fewer than ${spec.concurrency} runs may go at a time`,
    );
  }
  return cache;
}

/**
 * The KV cache: `given` tokens (--kv-tokens), or `wanted`; when `wanted` does not fit on the device, the
 * largest that does, halving down to one run's `perRun`.
 */
function newBenchCache(engine: Engine, given: number | undefined, wanted: number, perRun: number): KVCache {
  for (let tokens = given ?? wanted;; tokens = Math.max(perRun, Math.floor(tokens / 2))) {
    try {
      const cache = engine.newCache({ tokens });
      if (given === undefined && tokens < wanted) {
        console.error(`bench: a KV cache of ${wanted} tokens does not fit; using ${tokens}`);
      }
      return cache;
    } catch (e) {
      if (given !== undefined || tokens <= perRun) {
        throw new InputError(
          `a KV cache of ${tokens} tokens does not fit (${(e as Error).message}); ${
            given !== undefined ? "give a smaller --kv-tokens" : "one run needs that much: lower the budgets"
          }`,
        );
      }
    }
  }
}
