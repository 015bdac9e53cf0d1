/** Plain generation: one row whose view is its one block. The same plan path as every other pass. */
import type { Engine } from "./model.ts";
import type { Sampler } from "./sampler.ts";

export interface GenerateOptions {
  maxNewTokens: number;
  sampler: Sampler;
  /** generation ends after one of these (it is included in the output) */
  stopIds?: readonly number[];
}

export async function generate(engine: Engine, prompt: readonly number[], opts: GenerateOptions): Promise<number[]> {
  if (prompt.length === 0) throw new RangeError("generate: the prompt is empty");
  using cache = engine.newCache({ tokens: prompt.length + opts.maxNewTokens + 16 });
  const block = cache.newBlock("sequence");
  const stop = new Set(opts.stopIds ?? []);
  const out: number[] = [];
  let next: ArrayLike<number> = prompt;
  while (out.length < opts.maxNewTokens) {
    const [id] = await engine.forwardSample(cache, [{ block, view: [block], tokens: next, sampler: opts.sampler }]);
    out.push(id);
    if (stop.has(id)) break;
    next = [id];
  }
  return out;
}
