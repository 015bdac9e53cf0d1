/**
 * What a view of many blocks costs, measured and predicted (deno task perf --views): rows of one new token over
 * the same KV tokens, as one block, cut end to end into blocks of 32, 16 or 8 (the review's repro), or into
 * blocks of steps' lengths or short ones with their pages scattered as a run's steps lie (calibrate.ts
 * contextView), timed beside the cost model calibrated here (the bench's calibration) and the model without the
 * block terms (segments, blocks: engine/plan.ts PassShape), fitted on the calibration's shapes of one context
 * block, the shapes the calibration timed before those terms. The configurations are timed in turn, N rounds, so that a busy
 * machine's load falls on all of them alike; each calibration shape is timed `calibrationRepeats` times, its
 * fastest kept (the bench keeps the median of 5: the same model, noisier on a busy machine).
 */
import type { Block } from "../../engine/cache.ts";
import type { Engine } from "../../engine/model.ts";
import { loadNative } from "../../engine/native.ts";
import { type PassShape, passShape, type Row } from "../../engine/plan.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import { calibrate, contextBlocks, contextView, SHORT, STEPS } from "../../harness/bench/calibrate.ts";
import { type CostModel, fitCost, isFragmented, predictMs, type TimedPass } from "../../harness/bench/cost.ts";
import { floorBandwidth, loadPerfModel, type PerfModel } from "./engine.ts";

/**
 * The KV tokens every configuration reads, and how they are cut: one block, blocks of these lengths end to end,
 * then blocks of steps' lengths and short ones, scattered.
 */
export const VIEW_KV = 8192;
export const VIEW_SPLITS = [VIEW_KV, 32, 16, 8];
const SCATTERED: Record<string, readonly number[]> = { "steps (5-64)": STEPS, "short (2-15)": SHORT };
export const VIEW_ROWS = [1, 4];

export interface ViewTiming {
  rows: number;
  /** how the KV tokens are cut: "8192", "32", "16", "8" (blocks of that length end to end), or scattered ones */
  blocks: string;
  shape: PassShape;
  fastest_ms: number;
  median_ms: number;
  /** the model without the block terms, and the model with them */
  before_ms: number;
  now_ms: number;
}

export interface ViewsReport {
  device: string;
  model: string;
  /** the two models, as fitted here */
  before: CostModel;
  now: CostModel;
  views: ViewTiming[];
}

/** The cost model without the block terms: `passes` of one context block, their block counts set aside. */
export function modelBefore(passes: readonly TimedPass[]): CostModel {
  return fitCost(
    passes.filter((p) => !isFragmented(p.shape)).map((p) => ({
      ...p,
      shape: { ...p.shape, segments: 0, blocks: 0 },
    })),
  );
}

/** Times the calibration's shapes on `engine`, each its fastest of `repeats`. */
async function calibrateFastest(engine: Engine, repeats: number, rows: number): Promise<TimedPass[]> {
  using cache = engine.newCache({ tokens: 3 * VIEW_KV });
  const timed: TimedPass[] = [];
  const spy = Object.create(engine) as Engine;
  spy.forwardSample = async (c, rs) => {
    const before = rs.map((r) => r.block.length), shape = passShape(rs);
    let best = Infinity, ids: number[] = [];
    for (let k = 0; k < repeats; k++) {
      const t = performance.now();
      ids = await engine.forwardSample(c, rs);
      best = Math.min(best, performance.now() - t);
      if (k + 1 < repeats) rs.forEach((r, i) => c.truncate(r.block, before[i]));
    }
    timed.push({ shape, ms: Math.round(best * 1e4) / 1e4 });
    return ids;
  };
  const { passes } = await calibrate(spy, cache, { context: VIEW_KV, rows, repeats: 0 });
  // the first shape ran twice (its warm-up): calibrate kept the second
  return timed.slice(timed.length - passes.length);
}

export async function viewsPerf(
  values: PerfModel,
  iterations: number,
  calibrationRepeats = 7,
): Promise<ViewsReport> {
  floorBandwidth(values.device); // refuses a missing GPU before loading
  const rows = Math.max(...VIEW_ROWS);
  // every view's blocks at once, each block whole pages (blocks of 8 take twice their tokens), shared by the row
  // counts, and each configuration's own blocks
  const pageSize = 16, pages = (lengths: readonly number[]) => lengths.reduce((n, l) => n + Math.ceil(l / pageSize), 0);
  const kinds = VIEW_SPLITS.length + Object.keys(SCATTERED).length;
  const cacheTokens = pageSize * (
    VIEW_SPLITS.reduce((n, s) => n + pages(new Array(VIEW_KV / s).fill(s)), 0) +
    Object.values(SCATTERED).reduce((n, f) => n + pages(contextBlocks(VIEW_KV, f)), 0) +
    kinds * VIEW_ROWS.reduce((n, r) => n + 2 * r, 0)
  );
  const { engine } = await loadPerfModel(values, {
    contexts: [VIEW_KV],
    most: rows,
    cacheTokens,
    where: "--views: its views' KV",
  });
  const passes = await calibrateFastest(engine, calibrationRepeats, 8);
  const before = modelBefore(passes), now = fitCost(passes);
  using cache = engine.newCache({ tokens: cacheTokens, pageSize });
  const sampler = new Sampler(GREEDY);
  const configs: { rows: number; blocks: string; own: Block[]; plan: Row[]; times: number[] }[] = [];
  const views: [string, Block[]][] = [
    ...VIEW_SPLITS.map((split): [string, Block[]] => [
      `${VIEW_KV / split} of ${split}`,
      Array.from({ length: VIEW_KV / split }, () => {
        const b = cache.newBlock("kv");
        cache.claimForBenchmark(b, split);
        return b;
      }),
    ]),
    ...Object.entries(SCATTERED).map(([name, lengths]): [string, Block[]] => {
      const blocks = contextView(cache, VIEW_KV, lengths);
      return [`${blocks.length} of ${name}, scattered`, blocks];
    }),
  ];
  for (const [name, blocks] of views) {
    for (const R of VIEW_ROWS) {
      const own = Array.from({ length: R }, () => {
        const b = cache.newBlock("row");
        cache.claimForBenchmark(b, 16);
        return b;
      });
      const plan: Row[] = own.map((b, i) => ({
        block: b,
        view: [...blocks, b],
        tokens: [100 + i],
        logits: "last",
        sampler,
      }));
      configs.push({ rows: R, blocks: name, own, plan, times: [] });
    }
  }
  for (let k = 0; k <= iterations; k++) {
    for (const c of configs) {
      const t = performance.now();
      await engine.forwardSample(cache, c.plan);
      if (k > 0) c.times.push(performance.now() - t); // round 0 warms up
      for (const b of c.own) cache.truncate(b, 16);
    }
  }
  const timed = [...configs].sort((a, b) => a.rows - b.rows).map((c): ViewTiming => {
    const shape = passShape(c.plan), t = [...c.times].sort((a, b) => a - b);
    return {
      rows: c.rows,
      blocks: c.blocks,
      shape,
      fastest_ms: t[0],
      median_ms: t[Math.floor(t.length / 2)],
      before_ms: predictMs(before, shape),
      now_ms: predictMs(now, shape),
    };
  });
  const device = engine.native.device === "cuda" ? loadNative().cudaInfo().name : "this CPU";
  printViews(device, values.model, iterations, calibrationRepeats, before, now, timed);
  return { device, model: values.model, before, now, views: timed };
}

function printViews(
  device: string,
  model: string,
  iterations: number,
  repeats: number,
  before: CostModel,
  now: CostModel,
  views: readonly ViewTiming[],
) {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const off = (p: number, m: number) => `${p >= m ? "+" : ""}${pct(p / m - 1)}`;
  console.log(
    `\n# ${VIEW_KV} KV tokens as one block or many, on ${device}, ${model}: measured (fastest and median of ` +
      `${iterations}) and predicted by the cost model calibrated here (each shape its fastest of ${repeats})\n`,
  );
  console.log(
    `the model without the block terms: held-out median error ${pct(before.fit.median_rel_error)} on ` +
      `${before.fit.shapes} shapes; with them: ${pct(now.fit.median_rel_error)} on ${now.fit.shapes}, ` +
      `${pct(now.fit.fragmented?.median_rel_error ?? NaN)} on its ${now.fit.fragmented?.shapes} of many blocks\n`,
  );
  console.log(
    "| rows | blocks | segments | fastest ms | median ms | without the block terms | with them |",
  );
  console.log("|---:|---|---:|---:|---:|---:|---:|");
  for (const v of views) {
    console.log(
      `| ${v.rows} | ${v.blocks} | ${v.shape.segments} | ${v.fastest_ms.toFixed(2)} | ${v.median_ms.toFixed(2)} | ${
        v.before_ms.toFixed(2)
      } (${off(v.before_ms, v.fastest_ms)}) | ${v.now_ms.toFixed(2)} (${off(v.now_ms, v.fastest_ms)}) |`,
    );
  }
}
