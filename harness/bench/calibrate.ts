/**
 * The cost model's start-up calibration: forward passes of the shapes a benchmark makes (one to many rows of
 * one new token over a shared context of growing length, that context cut into many small blocks as a Hogwild!
 * run's finished steps are, and prefills), timed on the engine itself, then fitted (cost.ts). Keys' values do not
 * change a pass's time, so contexts are claimed, not prefilled. Rows sample with the run's settings (on a CPU a
 * row's top-p cut costs as much as a small model's pass), and some also take the top-k log-probabilities
 * confidence-weighted methods ask for. A run folder keeps its model and the passes it was fitted on (costModel).
 */
import { GREEDY, Rng, Sampler, type SamplingOptions } from "../../engine/sampler.ts";
import type { Block, KVCache } from "../../engine/cache.ts";
import type { Engine } from "../../engine/model.ts";
import { MAX_LOGPROBS, passShape, type Row } from "../../engine/plan.ts";
import type { BenchSpec } from "./spec.ts";
import { COST_TERMS, type CostModel, fitCost, packPass, type TimedPass } from "./cost.ts";
import { parseMethod, passRows } from "../generation/methods.ts";
import type { RunDir } from "./rundir.ts";
import { fitWarning } from "./timing.ts";

export interface CalibrationOptions {
  /** the longest shared context to time (tokens) */
  context: number;
  /** the most rows a pass will have */
  rows: number;
  /** timed repeats of each shape, after one warm-up (the median counts; default 5) */
  repeats?: number;
  /** how the run's rows sample (default: greedy) */
  sampling?: SamplingOptions;
  /**
   * The run's forward passes, as its caller expects them: calibration then takes at most `share` of their time
   * (default 5%, and at least `leastMs`, default 5 s), judged by its first shape's time: fewer repeats, then
   * fewer shapes. None: all.
   */
  plannedPasses?: number;
  share?: number;
  leastMs?: number;
  /** after each shape: shapes timed, shapes planned, seconds so far, the bound in seconds (Infinity: none) */
  onProgress?: (done: number, total: number, seconds: number, bound: number) => void;
}

interface Shape {
  rows: number;
  /** new tokens per row */
  tokens: number;
  context: number;
  /** whether rows sample (decode) or only write (prefill, commits) */
  sample: boolean;
  /** whether sampled rows also take MAX_LOGPROBS log-probabilities */
  logprobs?: boolean;
  /**
   * the context cut into blocks of these lengths in turn (the last one shorter), at most MAX_FRAGMENTS of them,
   * their pages scattered over the cache as a run's finished steps lie (scatter); none: one block
   */
  fragment?: readonly number[];
  /** with `fragment`: each row reads its own share of the blocks (every rows-th), not all of them */
  split?: boolean;
}

/**
 * How many of the first shapes span the cost terms (COST_TERMS): a bounded calibration times these whatever its
 * bound.
 */
const SPANNING = COST_TERMS.length;

/**
 * The most blocks a fragmented context is cut into: a run's views hold about as many (a Hogwild! worker's view at
 * 8192 tokens each for 4 workers, steps of 16 to 64 tokens: 500 to 2000 finished steps), and the pass stays short.
 */
export const MAX_FRAGMENTS = 2048;

/**
 * The lengths fragments take in turn: those of steps (5 to 64 tokens), and short ones (2 to 15: the headers, a
 * step cut at a checkpoint, a method's slot). Whole pages or not, as steps fall: on a CPU a block that ends
 * inside a page costs more than one that fills it, and a run's blocks do not choose.
 */
export const STEPS = [5, 12, 19, 26, 33, 40, 47, 54, 61, 64] as const;
export const SHORT = [2, 9, 5, 15, 3, 11, 7, 13] as const;

/** The context of a shape, as blocks of these lengths (one block, or its fragments). */
export function contextBlocks(context: number, fragment?: readonly number[]): number[] {
  if (!fragment || context <= 0) return [context];
  const out: number[] = [];
  for (let left = context; left > 0 && out.length < MAX_FRAGMENTS; left -= out[out.length - 1]) {
    out.push(Math.min(left, fragment[out.length % fragment.length]));
  }
  return out;
}

/**
 * `context` tokens claimed in `cache` as new blocks, in view order: one block, or (with `fragment`) blocks of those
 * lengths in turn, their pages scattered (scatter). The caller frees them.
 */
export function contextView(cache: KVCache, context: number, fragment?: readonly number[]): Block[] {
  const lengths = contextBlocks(context, fragment);
  const blocks = lengths.map((_, k) => cache.newBlock(`context${k}`));
  if (fragment) scatter(cache, blocks, lengths);
  else cache.claimForBenchmark(blocks[0], lengths[0]);
  return blocks;
}

/**
 * Claims `blocks` to `lengths` a page at a time, the blocks in a shuffled order each round: their pages lie
 * scattered over the cache, none next to the one the view reads before it, as the pages of a run's steps do
 * (written a token at a time by workers that take pages in turn). Blocks claimed in view order would lie end to
 * end, one stream a CPU's prefetcher follows: a cheaper view than any run reads.
 */
function scatter(cache: KVCache, blocks: readonly Block[], lengths: readonly number[]) {
  if (blocks.length === 0) return;
  const rng = new Rng(1), order = blocks.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const page = cache.pageSize;
  for (let at = page; at - page < Math.max(...lengths); at += page) {
    for (const i of order) if (lengths[i] > at - page) cache.claimForBenchmark(blocks[i], Math.min(lengths[i], at));
  }
}

/**
 * The shapes to time, each cut to fit in `capacity` tokens: decode passes over growing contexts, rows of several
 * tokens, prefills. The first few span every term of the cost model (cost.ts), so that a calibration cut short
 * by its bound still fits one.
 */
function shapes(o: CalibrationOptions, capacity: number, pageSize: number): Shape[] {
  const rows = [...new Set([1, 2, 4, 8, 16, 32, o.rows].filter((r) => r <= o.rows))];
  const out: Shape[] = [], plain: Shape[] = [], cut: Shape[] = [];
  const add = (s: Shape, to: Shape[] = s.fragment ? cut : plain) => {
    const rest = s.rows * (16 + s.tokens + 2 * pageSize);
    if (rest >= capacity) return;
    let context = Math.min(s.context, capacity - rest);
    if (s.fragment) {
      // each fragment takes whole pages (at most those of the longest), and no more of them than MAX_FRAGMENTS
      const longest = Math.max(...s.fragment), mean = s.fragment.reduce((a, x) => a + x, 0) / s.fragment.length;
      const pages = Math.ceil(longest / pageSize) * pageSize;
      context = Math.min(context, MAX_FRAGMENTS * mean, Math.floor((capacity - rest) / pages) * mean);
      if (context < 2 * longest) return; // not fragmented
    }
    to.push({ ...s, context });
  };
  const spanning: Shape[] = [
    { rows: o.rows, tokens: 1, context: o.context / 2, sample: true }, // the first: it judges the bound
    { rows: 1, tokens: 1, context: 0, sample: true },
    { rows: 1, tokens: 1, context: o.context, sample: true },
    { rows: o.rows, tokens: 1, context: 0, sample: true },
    { rows: 1, tokens: 256, context: 0, sample: false },
    { rows: o.rows, tokens: 1, context: 0, sample: true, logprobs: true },
    // views cut into many blocks: one row (as many segments as blocks), and every row reading all of them
    { rows: 1, tokens: 1, context: o.context / 2, sample: true, fragment: SHORT },
    { rows: o.rows, tokens: 1, context: o.context / 2, sample: true, fragment: STEPS },
  ];
  for (const s of spanning) add(s, out);
  for (const f of [0, 0.25, 0.5, 1]) {
    for (const r of rows) add({ rows: r, tokens: 1, context: f * o.context, sample: true });
  }
  for (const r of [1, 4]) for (const tokens of [4, 16]) add({ rows: r, tokens, context: o.context / 2, sample: true });
  for (const r of rows) add({ rows: r, tokens: 1, context: o.context / 2, sample: true, logprobs: true });
  for (const tokens of [64, 256]) {
    for (const f of [0, 0.5]) add({ rows: 1, tokens, context: f * o.context, sample: false });
  }
  // Fragmented views (a Hogwild! worker reads every finished step, a block each): blocks of steps' lengths and
  // short ones, one to all rows reading the same blocks, or each row its own share (as many blocks, fewer
  // segments), rows of several tokens (a segment each per block).
  const some = [...new Set([1, 4, o.rows].filter((r) => r <= o.rows))];
  for (const fragment of [STEPS, SHORT]) {
    for (const r of some) {
      for (const f of [0.25, 1]) {
        add({ rows: r, tokens: 1, context: f * o.context, sample: true, fragment });
        if (r > 1) add({ rows: r, tokens: 1, context: f * o.context, sample: true, fragment, split: true });
      }
    }
    for (const r of [1, 4].filter((r) => r <= o.rows)) {
      add({ rows: r, tokens: 16, context: o.context / 2, sample: true, fragment });
    }
  }
  // After the spanning shapes, the fragmented ones spread among the others, each list in its order: a calibration
  // cut short by its bound keeps as large a share of both (fitWarning judges the fragmented ones apart).
  const spread = (list: Shape[]) => list.map((s, i) => ({ s, at: (i + 0.5) / list.length }));
  out.push(...[...spread(plain), ...spread(cut)].sort((a, b) => a.at - b.at).map((x) => x.s));
  const seen = new Set<string>();
  return out.map((s) => ({ ...s, context: Math.round(s.context) })).filter((s) => {
    const k = JSON.stringify(s);
    return !seen.has(k) && seen.add(k);
  });
}

/**
 * Times every shape on `engine` in `cache` (empty: the benchmark's own, before its runs start; contexts are cut
 * to what it holds) and fits the model; also returns the timed passes. A pass's time does not depend on its
 * positions, so the shapes may go past max_position_embeddings: the model is the same with --allow-long-context
 * or without it (a folder resumed with the flag keeps a model that holds for its longer contexts).
 */
export async function calibrate(
  engine: Engine,
  cache: KVCache,
  o: CalibrationOptions,
): Promise<{ model: CostModel; passes: TimedPass[] }> {
  const list = shapes({ ...o, rows: Math.max(1, o.rows) }, cache.capacityTokens, cache.pageSize);
  const allowed = engine.allowLongContext;
  engine.allowLongContext = true;
  try {
    return await timeShapes(engine, cache, o, list);
  } finally {
    engine.allowLongContext = allowed;
  }
}

async function timeShapes(
  engine: Engine,
  cache: KVCache,
  o: CalibrationOptions,
  list: Shape[],
): Promise<{ model: CostModel; passes: TimedPass[] }> {
  const passes: TimedPass[] = [];
  const sampler = new Sampler(o.sampling ?? GREEDY);
  const t0 = performance.now(), spanning = Math.min(list.length, SPANNING);
  let bound = Infinity, repeats = o.repeats ?? 5, warmUp = true;
  for (const [i, s] of list.entries()) {
    if (i >= spanning && performance.now() - t0 > bound) break;
    const context = contextView(cache, s.context, s.fragment);
    const own = Array.from({ length: s.rows }, (_, i) => {
      const b = cache.newBlock(`row${i}`);
      cache.claimForBenchmark(b, 16);
      return b;
    });
    const read = (i: number) => s.split ? context.filter((_, k) => k % s.rows === i) : context;
    const rows: Row[] = own.map((b, i) => ({
      block: b,
      view: [...read(i), ...own.filter((x) => x !== b), b],
      tokens: Array.from({ length: s.tokens }, (_, t) => 100 + i + t),
      ...(s.sample ? { logits: "last" as const, sampler } : { logits: "none" as const }),
      ...(s.logprobs ? { logprobs: MAX_LOGPROBS } : {}),
    }));
    const shape = passShape(rows), times: number[] = [];
    for (let k = warmUp ? 0 : 1; k <= repeats; k++) {
      const t = performance.now();
      await engine.forwardSample(cache, rows);
      if (k > 0) times.push(performance.now() - t); // the first is a warm-up
      for (const b of own) cache.truncate(b, 16);
      if (i === 0 && k === 1 && o.plannedPasses !== undefined) {
        // The first shape is a typical pass of the run: the bound, and repeats that fit in it.
        bound = Math.max(o.leastMs ?? 5000, (o.share ?? 0.05) * o.plannedPasses * times[0]);
        const fit = Math.floor(bound / (times[0] * 2 * list.length));
        // a tight bound: one timed pass a shape, and no more warm-ups (the first shape has warmed the engine)
        repeats = Math.max(1, Math.min(repeats, fit)), warmUp = fit >= 1;
      }
    }
    times.sort((a, b) => a - b);
    // to 0.1 µs, below the clock's resolution: run.json keeps these passes, and a refit of them gives the model
    passes.push({ shape, ms: Math.round(times[Math.floor(times.length / 2)] * 1e4) / 1e4 });
    for (const b of [...context, ...own]) cache.free(b);
    o.onProgress?.(i + 1, list.length, (performance.now() - t0) / 1000, bound / 1000);
  }
  return { model: fitCost(passes), passes };
}

/**
 * The most rows a pass of the benchmark holds, as the calibration times them: `concurrency` runs of the method
 * whose pass samples the most rows (the registry's passRows, not its workers: a method of one worker may run
 * several threads a pass), one row more each, at most 64.
 */
export const calibrationRows = (spec: BenchSpec): number =>
  Math.min(64, spec.concurrency * (Math.max(...spec.methods.map((m) => passRows(parseMethod(m), spec))) + 1));

/**
 * The cost model of this run folder: the one in its run.json (a resumed run keeps its calibration, so all its
 * records' solo times come from one model), else calibrated now on the benchmark's cache and stored.
 */
export async function costModel(
  dir: RunDir,
  engine: Engine,
  cache: KVCache,
  spec: BenchSpec,
  pending: number,
  sampling: SamplingOptions,
  machine: string,
): Promise<CostModel> {
  const stored = dir.meta().cost_model as CostModel | undefined;
  if (stored) { // checked by RunDir.open
    const warning = fitWarning(stored);
    if (warning) console.error(`bench: ${warning}`);
    return stored;
  }
  const workers = Math.max(...spec.methods.map((m) => parseMethod(m).workers));
  const t0 = performance.now();
  let said = t0;
  const { model, passes } = await calibrate(engine, cache, {
    context: Math.min(cache.capacityTokens, 2 * spec.budgets[spec.budgets.length - 1] * workers + 2048),
    rows: calibrationRows(spec),
    sampling,
    // each pending record runs to the largest budget, `concurrency` of them sharing a pass: at most this many
    plannedPasses: Math.ceil(pending / spec.concurrency) * spec.budgets[spec.budgets.length - 1],
    onProgress: (done, total, seconds, bound) => {
      if (performance.now() - said < 5000) return;
      said = performance.now();
      const most = Number.isFinite(bound) ? ` (at most about ${Math.ceil(bound)} s)` : "";
      console.error(`bench: calibrating the cost model: ${done} of ${total} shapes in ${seconds.toFixed(0)} s${most}`);
    },
  });
  console.error(
    `bench: cost model calibrated on ${model.fit.passes} passes in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const warning = fitWarning(model);
  if (warning) console.error(`bench: ${warning}`);
  // the timed passes too, so that the fit can be checked (refitted) from the folder alone
  const timed = { ...model, calibrated_on: machine, passes: passes.map(packPass) };
  dir.updateMeta({ cost_model: timed });
  return timed;
}
