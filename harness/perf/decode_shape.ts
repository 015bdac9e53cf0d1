/**
 * The Hogwild! decode shape the speed benchmarks time (deno task perf): R workers sharing one context block of
 * C cached tokens, each with its own OWN_TOKENS-token block; a pass is one new token per worker.
 */
import type { KVCache } from "../../engine/cache.ts";
import type { Engine } from "../../engine/model.ts";
import type { Row } from "../../engine/plan.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";

export const OWN_TOKENS = 32;

/**
 * The shape's blocks claimed in `cache`; `pass` runs one forward pass and takes its tokens back (blocking, as the
 * engine tables time it), `sampled` the same pass as the bench runs it (sampled, off the JavaScript thread),
 * `free` ends it.
 */
export function decodeShape(
  engine: Engine,
  cache: KVCache,
  C: number,
  R: number,
): { pass(): void; sampled(): Promise<void>; free(): void } {
  const context = cache.newBlock("context");
  cache.claimForBenchmark(context, C);
  const own = Array.from({ length: R }, (_, i) => {
    const b = cache.newBlock(`row${i}`);
    cache.claimForBenchmark(b, OWN_TOKENS);
    return b;
  });
  const rows = (sampler?: Sampler): Row[] =>
    own.map((b, i) => ({ block: b, view: [context, ...own.filter((o) => o !== b), b], tokens: [100 + i], sampler }));
  const back = () => {
    for (const b of own) cache.truncate(b, OWN_TOKENS);
  };
  return {
    pass: () => (engine.forward(cache, rows()), back()),
    sampled: async () => (await engine.forwardSample(cache, rows(new Sampler(GREEDY))), back()),
    free: () => {
      for (const b of [context, ...own]) cache.free(b);
    },
  };
}
