/**
 * The Hogwild! decode shape the speed benchmarks time (deno task perf): R workers sharing one context block of
 * C cached tokens, each with its own OWN_TOKENS-token block; a pass is one new token per worker.
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import type { Engine } from "../../engine/model.ts";
import type { Row } from "../../engine/plan.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";

export const OWN_TOKENS = 32;

/**
 * The shape's blocks claimed in `cache`; `sampled` runs one pass as the bench runs it (forwardSample: greedy, off the
 * JavaScript thread; on a GPU only ids come back) and takes its tokens back, `free` ends it. (engine.forward, which
 * copies every logits row back and checks it, is no pass a run makes: nothing times it.)
 */
export function decodeShape(
  engine: Engine,
  cache: KVCache,
  C: number,
  R: number,
  shared?: Block,
): { sampled(): Promise<void>; free(): void } {
  // `shared`: a context block of C tokens that several shapes read (timed in turn); theirs to free
  const context = shared ?? cache.newBlock("context");
  if (!shared) cache.claimForBenchmark(context, C);
  const own = Array.from({ length: R }, (_, i) => {
    const b = cache.newBlock(`row${i}`);
    cache.claimForBenchmark(b, OWN_TOKENS);
    return b;
  });
  const sampler = new Sampler(GREEDY);
  const rows = (): Row[] =>
    own.map((b, i) => ({ block: b, view: [context, ...own.filter((o) => o !== b), b], tokens: [100 + i], sampler }));
  const back = () => {
    for (const b of own) cache.truncate(b, OWN_TOKENS);
  };
  return {
    sampled: async () => (await engine.forwardSample(cache, rows()), back()),
    free: () => {
      for (const b of shared ? own : [context, ...own]) cache.free(b);
    },
  };
}
