/**
 * The cost model's start-up calibration: forward passes of the shapes a benchmark makes (one to many rows of
 * one new token over a shared context of growing length, and prefills), timed on the engine itself, then fitted
 * (cost.ts). Keys' values do not change a pass's time, so contexts are claimed, not prefilled.
 */
import { GREEDY, Sampler } from "../engine/sampler.ts";
import type { KVCache } from "../engine/cache.ts";
import type { Engine } from "../engine/model.ts";
import { passShape, type Row } from "../engine/plan.ts";
import { type CostModel, fitCost, type TimedPass } from "./cost.ts";

export interface CalibrationOptions {
  /** the longest shared context to time (tokens) */
  context: number;
  /** the most rows a pass will have */
  rows: number;
  /** timed repeats of each shape, after one warm-up (the median counts; default 5) */
  repeats?: number;
}

interface Shape {
  rows: number;
  /** new tokens per row */
  tokens: number;
  context: number;
  /** whether rows sample (decode) or only write (prefill, commits) */
  sample: boolean;
}

/** The shapes to time, each cut to fit in `capacity` tokens: decode passes over growing contexts, rows of several tokens, prefills. */
function shapes(o: CalibrationOptions, capacity: number, pageSize: number): Shape[] {
  const rows = [...new Set([1, 2, 4, 8, 16, 32, o.rows].filter((r) => r <= o.rows))];
  const out: Shape[] = [];
  const add = (s: Shape) => {
    const rest = s.rows * (16 + s.tokens + 2 * pageSize);
    if (rest < capacity) out.push({ ...s, context: Math.min(s.context, capacity - rest) });
  };
  for (const f of [0, 0.25, 0.5, 1]) {
    for (const r of rows) add({ rows: r, tokens: 1, context: f * o.context, sample: true });
  }
  for (const r of [1, 4]) for (const tokens of [4, 16]) add({ rows: r, tokens, context: o.context / 2, sample: true });
  for (const tokens of [64, 256]) {
    for (const f of [0, 0.5]) add({ rows: 1, tokens, context: f * o.context, sample: false });
  }
  return out.map((s) => ({ ...s, context: Math.round(s.context) }));
}

/**
 * Times every shape on `engine` in `cache` (empty: the benchmark's own, before its runs start; contexts are cut
 * to what it holds, and to the model's max_position_embeddings unless the engine allows past it) and fits the
 * model; also returns the timed passes.
 */
export function calibrate(
  engine: Engine,
  cache: KVCache,
  o: CalibrationOptions,
): { model: CostModel; passes: TimedPass[] } {
  const positions = engine.allowLongContext ? Infinity : engine.config.maxPositions ?? Infinity;
  const list = shapes({ ...o, rows: Math.max(1, o.rows) }, Math.min(cache.capacityTokens, positions), cache.pageSize);
  const passes: TimedPass[] = [];
  const sampler = new Sampler(GREEDY);
  for (const s of list) {
    const context = cache.newBlock("context");
    cache.claimForBenchmark(context, s.context);
    const own = Array.from({ length: s.rows }, (_, i) => {
      const b = cache.newBlock(`row${i}`);
      cache.claimForBenchmark(b, 16);
      return b;
    });
    const rows: Row[] = own.map((b, i) => ({
      block: b,
      view: [context, ...own.filter((x) => x !== b), b],
      tokens: Array.from({ length: s.tokens }, (_, t) => 100 + i + t),
      ...(s.sample ? { logits: "last" as const, sampler } : { logits: "none" as const }),
    }));
    const shape = passShape(rows), times: number[] = [];
    for (let k = 0; k <= (o.repeats ?? 5); k++) {
      const t0 = performance.now();
      engine.forwardSample(cache, rows);
      if (k > 0) times.push(performance.now() - t0); // the first is a warm-up
      for (const b of own) cache.truncate(b, 16);
    }
    times.sort((a, b) => a - b);
    passes.push({ shape, ms: times[Math.floor(times.length / 2)] });
    for (const b of [context, ...own]) cache.free(b);
  }
  return { model: fitCost(passes), passes };
}
