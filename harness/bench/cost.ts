/**
 * What a forward pass costs on this device: a linear model of its time in its shape (engine/plan.ts,
 * PassShape), fitted by non-negative least squares on passes timed here. A run's solo time, the time it would
 * have taken alone, is the model's prediction summed over the passes it took part in, with only its own rows
 * (docs/benchmark.md, "Time").
 */
import type { PassShape } from "../../engine/plan.ts";

/**
 * The model's terms, in order: a pass, its new tokens, its query-key pairs, its distinct KV tokens, its logit rows
 * (each sampled with the run's settings), its rows that take log-probabilities, its (new token, view block)
 * segments and its distinct blocks read (engine/plan.ts PassShape: what a view cut into many blocks costs the
 * kernels beyond its keys). A model stored before the log-probabilities term has the first five, one stored
 * before the block terms the first six: the terms it lacks cost nothing in it (predictMs), and no bench resumes
 * its folder (run key `timing` 2; run_key.ts).
 */
export const COST_TERMS = ["pass", "tokens", "attention", "kv", "logits", "logprobs", "segments", "blocks"] as const;

/** How many terms the models stored by earlier versions have (checkMeta accepts them, as read-only history). */
export const OLD_TERM_COUNTS = [5, 6] as const;

export interface CostModel {
  /** ms per unit of each term of COST_TERMS */
  coef: number[];
  /**
   * how it was fitted: passes, their distinct shapes (absent in folders made before it was kept), and the relative
   * error of its predictions on them, each shape held out (fitCost; before the shapes were kept, on its own passes)
   */
  fit: {
    passes: number;
    shapes?: number;
    median_rel_error: number;
    p90_rel_error: number;
    /**
     * the same held-out error over the passes whose views hold many blocks (isFragmented) alone, and their
     * shapes: the block terms rest on them, and they are the passes that set Hogwild!'s time against the
     * baselines', a minority the whole median could hide (absent in folders made before the block terms)
     */
    fragmented?: { shapes: number; median_rel_error: number };
  };
  /** the machine that timed them (timing.ts machineName); absent in folders made before it was kept */
  calibrated_on?: string;
  /**
   * the calibration's timed passes (packPass), fitCost of which is this model exactly; absent in folders made
   * before they were kept
   */
  passes?: number[][];
}

export interface TimedPass {
  shape: PassShape;
  ms: number;
}

/**
 * A pass shape's fields in the order run.json's `cost_model.passes` keeps them, each row then its ms. Rows stored
 * before the block terms hold the first six fields (then the ms): their segments and blocks read as 0.
 */
const SHAPE_FIELDS = ["rows", "tokens", "attention", "kv", "logits", "logprobs", "segments", "blocks"] as const;
const OLD_FIELDS = 6;

/**
 * A timed pass as one compact row of `cost_model.passes`: [rows, tokens, attention, kv, logits, logprobs,
 * segments, blocks, ms].
 */
export const packPass = (p: TimedPass): number[] => [...SHAPE_FIELDS.map((k) => p.shape[k]), p.ms];

export const unpackPass = (row: readonly number[]): TimedPass => ({
  shape: Object.fromEntries(SHAPE_FIELDS.map((k, i) => [k, i < row.length - 1 ? row[i] : 0])) as unknown as PassShape,
  ms: row[row.length - 1],
});

/**
 * Whether `row` is a packed pass: its shape's counts (≥ 0) and a time (> 0: fitCost divides by it); `fields`: how
 * many counts it holds (a model's own: the whole shape, or the first six for a model stored before the block terms).
 */
export const isPackedPass = (row: unknown, fields: number = SHAPE_FIELDS.length): boolean =>
  Array.isArray(row) && row.length === fields + 1 &&
  row.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0) && row[fields] > 0;

/** How many shape fields a stored model's packed passes hold, by its number of terms. */
export const packedFields = (terms: number): number => terms < COST_TERMS.length ? OLD_FIELDS : SHAPE_FIELDS.length;

function terms(s: PassShape): number[] {
  return [1, s.tokens, s.attention, s.kv, s.logits, s.logprobs, s.segments ?? 0, s.blocks ?? 0];
}

export function predictMs(m: CostModel, s: PassShape): number {
  return terms(s).reduce((a, x, i) => a + x * (m.coef[i] ?? 0), 0);
}

/** The q-quantile of ascending `sorted` (the element at ⌊q·n⌋), NaN when it is empty. Not the median: median. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

/**
 * The median of ascending `sorted`: its middle element, or the mean of its two middle ones where it has an even
 * count (quantile(·, 0.5) takes the upper one: −0.3 and +0.1 have median −0.1, not +0.1); NaN when it is empty.
 */
export function median(sorted: readonly number[]): number {
  const n = sorted.length, mid = Math.floor(n / 2);
  return n === 0 ? NaN : n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median and 90th percentile of |predicted - measured| / measured. */
export function relativeErrors(m: CostModel, passes: readonly TimedPass[]): { median: number; p90: number } {
  const e = passes.map((p) => Math.abs(predictMs(m, p.shape) - p.ms) / p.ms).sort((a, b) => a - b);
  return { median: median(e), p90: quantile(e, 0.9) };
}

/**
 * Whether a pass's views hold many blocks: more than a context block and the rows' own (the calibration's
 * fragmented shapes; a Hogwild! pass past its first steps).
 */
export const isFragmented = (s: PassShape): boolean => (s.blocks ?? 0) > s.rows + 1;

/**
 * The cost model of `passes`. Its error is held out: each shape's passes predicted by the model fitted on the
 * other shapes' (a fit scored on its own passes is exact on as many shapes as it has terms, as a calibration cut
 * short by its bound is, and could never warn); with one shape, nothing is held out and the error is 100%. The
 * fragmented passes' held-out error is kept apart too (`fit.fragmented`).
 */
export function fitCost(passes: readonly TimedPass[]): CostModel {
  if (passes.length === 0) throw new RangeError("fitCost: no timed passes");
  const shapeOf = passes.map((p) => JSON.stringify(terms(p.shape)));
  const byShape = new Map<string, TimedPass[]>();
  for (const [i, p] of passes.entries()) {
    const group = byShape.get(shapeOf[i]);
    if (group) group.push(p);
    else byShape.set(shapeOf[i], [p]);
  }
  const errors: number[] = [], fragmented: number[] = [];
  let fragmentedShapes = 0;
  for (const [k, own] of byShape) {
    const others = passes.filter((_, i) => shapeOf[i] !== k);
    const held = others.length ? { coef: nnls(others) } : undefined;
    const e = own.map((p) => held ? Math.abs(predictMs(held as CostModel, p.shape) - p.ms) / p.ms : 1);
    errors.push(...e);
    if (isFragmented(own[0].shape)) fragmented.push(...e), fragmentedShapes++;
  }
  errors.sort((a, b) => a - b);
  fragmented.sort((a, b) => a - b);
  // passes stored before the block terms hold no block counts (read as 0): their refit is the model they gave
  const counted = passes.some((p) => (p.shape.blocks ?? 0) > 0);
  return {
    coef: nnls(passes),
    fit: {
      passes: passes.length,
      shapes: byShape.size,
      median_rel_error: +median(errors).toFixed(4),
      p90_rel_error: +quantile(errors, 0.9).toFixed(4),
      // none timed: nothing vouches for the block terms (fitWarning says so)
      ...(counted
        ? {
          fragmented: {
            shapes: fragmentedShapes,
            median_rel_error: fragmentedShapes ? +median(fragmented).toFixed(4) : 1,
          },
        }
        : {}),
    },
  };
}

/**
 * Non-negative least squares on relative errors (each pass weighted by 1/ms, so that short decode passes count
 * as much as long prefills): the unconstrained fit over the active terms, dropping the most negative term until
 * none is negative.
 */
function nnls(passes: readonly TimedPass[]): number[] {
  const X = passes.map((p) => terms(p.shape).map((x) => x / p.ms)), y = passes.map(() => 1);
  const k = COST_TERMS.length;
  // Columns scaled to unit size, for a well-conditioned solve.
  const scale = Array.from({ length: k }, (_, j) => X.reduce((m, r) => Math.max(m, Math.abs(r[j])), 0) || 1);
  const active = new Set(Array.from({ length: k }, (_, j) => j).filter((j) => X.some((r) => r[j] !== 0)));
  for (;;) {
    const cols = [...active];
    const sol = leastSquares(X.map((r) => cols.map((j) => r[j] / scale[j])), y);
    const coef = new Array(k).fill(0);
    cols.forEach((j, i) => (coef[j] = sol[i] / scale[j]));
    let worst = -1;
    for (const j of cols) if (coef[j] < 0 && (worst < 0 || coef[j] * scale[j] < coef[worst] * scale[worst])) worst = j;
    if (worst < 0) return coef;
    active.delete(worst);
  }
}

/** Solves min |A x - y| by the normal equations (a few columns), with partial pivoting. */
function leastSquares(A: number[][], y: number[]): number[] {
  const n = A[0]?.length ?? 0;
  const M = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => A.reduce((a, r) => a + r[i] * r[j], 0)),
    A.reduce((a, r, t) => a + r[i] * y[t], 0),
  ]);
  for (let c = 0; c < n; c++) {
    const p = M.slice(c).reduce((best, r, i) => (Math.abs(r[c]) > Math.abs(M[best][c]) ? c + i : best), c);
    [M[c], M[p]] = [M[p], M[c]];
    if (Math.abs(M[c][c]) < 1e-12) continue; // a term that never varies: left at 0
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let j = c; j <= n; j++) M[r][j] -= f * M[c][j];
    }
  }
  return M.map((r, i) => (Math.abs(r[i]) < 1e-12 ? 0 : r[n] / r[i]));
}

/** The model in two sentences, for summary.md. */
export function describeCost(m: CostModel): string {
  const [pass, tokens, attention, kv, logits, logprobs = 0, segments, blocks] = m.coef;
  const us = (x: number) => `${(x * 1000).toPrecision(3)} µs`;
  // a model stored before the block terms has none: it is described as it predicts, without them
  const perBlock = segments === undefined
    ? ""
    : ` + ${us(segments)} per (new token, view block) pair + ${us(blocks ?? 0)} per distinct block read`;
  return `A forward pass is predicted to take ${pass.toFixed(3)} ms + ${us(tokens)} per new token + ${
    us(attention * 1000)
  } per thousand query-key pairs + ${us(kv * 1000)} per thousand KV tokens read + ${us(logits)} per logit row + ${
    us(logprobs)
  } per row that takes log-probabilities${perBlock}, ` +
    `fitted by non-negative least squares on ${m.fit.passes} passes${
      m.fit.shapes === undefined ? "" : ` of ${m.fit.shapes} shapes`
    } timed on this device at start-up ` +
    `(median relative error ${(100 * m.fit.median_rel_error).toFixed(1)}%${
      m.fit.shapes === undefined ? "" : ", each shape predicted by the fit of the others"
    }). ` +
    `A run's solo time is that prediction summed over the passes it took part in, counting only its own rows.`;
}
