/**
 * The charts of a run's curves as vega-lite specs: accuracy against forward passes and against time (solo by
 * default, or shared). plots.ts renders them to files; the viewer draws the same specs in the browser.
 */
import { type CurvePoint, shown } from "./curves.ts";
import { graderFailures, graderFailuresBrief } from "../bench/grading.ts";
import { type BenchRecord, unfinishedRecords } from "../bench/rundir.ts";
import { timeDoubts } from "../bench/timing.ts";

/** A point to draw beside the curves: another run's, or the paper's (with its source). */
export interface ReferencePoint {
  task: string;
  label: string;
  budget: number;
  accuracy: number;
  source?: string;
  /** a level, not a point: drawn across the chart as a dashed line (the accuracy reached at `budget`) */
  line?: boolean;
}

interface Row {
  task: string;
  series: string;
  x: number;
  accuracy: number;
  /** the 95% interval; null where there is none (fewer than two samples) */
  lo: number | null;
  hi: number | null;
  /** the checkpoint: the lines join a run's points in budget order, whatever their x */
  budget?: number;
  /** problems × seeds behind the point, and the fewest seeds of a problem (k) */
  n?: number;
  seeds?: number;
  /** a reference drawn as a level across the chart */
  line?: boolean;
}

/**
 * x is the budget (monotone in it: the intervals shade an area), or a time, which need not be: a checkpoint an
 * early stop answered took no finisher, so it can come before an earlier budget's. Its intervals are then bars
 * and its lines go in budget order, so that a line never reads as accuracy falling with time when it did not.
 */
function chart(
  rows: Row[],
  refs: Row[],
  xTitle: string,
  title: string,
  runs: { seeded: boolean; unfinished: readonly string[]; ungraded: readonly string[] },
  xIsBudget = false,
  warnings: readonly string[] = [],
) {
  const tasks = new Set([...rows, ...refs].map((r) => r.task));
  const xAxis = xIsBudget ? { axis: { tickMinStep: 1, format: "d" } } : {}; // budgets are whole passes
  const y = { field: "lo", type: "quantitative", title: "Accuracy (%)", scale: { domain: [0, 100] } };
  const color = { field: "series", type: "nominal", title: "Method" };
  const layer = {
    layer: [
      {
        transform: [{ filter: "datum.kind === 'run'" }],
        mark: xIsBudget ? { type: "area", opacity: 0.15 } : { type: "rule", opacity: 0.35, strokeWidth: 3 },
        encoding: { x: { field: "x", type: "quantitative", title: xTitle, ...xAxis }, y, y2: { field: "hi" }, color },
      },
      {
        transform: [{ filter: "datum.kind === 'run'" }],
        mark: { type: "line", point: true, strokeWidth: 2 },
        encoding: {
          x: { field: "x", type: "quantitative" },
          y: { field: "accuracy", type: "quantitative" },
          color,
          order: { field: "budget", type: "quantitative" },
          tooltip: [
            { field: "series", title: "method" },
            { field: "x", title: xTitle, format: ".3~f" },
            { field: "accuracy", title: "accuracy (%)", format: ".1f" },
            { field: "lo", title: "95% low", format: ".1f" },
            { field: "hi", title: "95% high", format: ".1f" },
            { field: "n", title: "n" },
            { field: "seeds", title: "seeds (k)" },
          ],
        },
      },
      ...(refs.some((r) => !r.line)
        ? [{
          transform: [{ filter: "datum.kind === 'reference' && !datum.line" }],
          mark: { type: "point", shape: "diamond", size: 90, filled: true },
          encoding: {
            x: { field: "x", type: "quantitative" },
            y: { field: "accuracy", type: "quantitative" },
            color: { field: "series", type: "nominal" },
          },
        }]
        : []),
      // A level spans the chart without stretching its x axis to where the paper measured it.
      ...(refs.some((r) => r.line)
        ? [{
          transform: [{ filter: "datum.kind === 'reference' && datum.line" }],
          mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 2 },
          encoding: {
            y: { field: "accuracy", type: "quantitative" },
            color: { field: "series", type: "nominal" },
          },
        }]
        : []),
    ],
  };
  // One data set at the top, each layer filtering its kind: a faceted chart reads its data only from there.
  const data = {
    values: [...rows.map((r) => ({ ...r, kind: "run" })), ...refs.map((r) => ({ ...r, kind: "reference" }))],
  };
  const base = tasks.size > 1
    ? {
      data,
      facet: { column: { field: "task", type: "nominal", title: null } },
      spec: { width: 360, height: 260, ...layer },
    }
    : { data, width: 560, height: 340, ...layer };
  // Runs of several seeds show avg@k and its interval from seeds and problems; a single seed's, Wilson's.
  const line = runs.seeded
    ? "Lines: avg@k, per problem the strict score over its k seeds, averaged over problems; shaded: its 95% t interval " +
      "clustered by problem, Wilson's near 0 and 100% (of one seed: Wilson's)"
    : "Lines: accuracy (strict) over problems; shaded: its 95% interval (Wilson's)";
  const order = xIsBudget ? line : line.replace("shaded:", "bars:") + "; each line joins its budgets in order";
  const subtitle = order +
    (refs.some((r) => !r.line) ? "; diamonds: reference points" : "") +
    (refs.some((r) => r.line) ? "; dashed: reference levels" : "") +
    (runs.unfinished.length ? `; ${unfinishedNote(runs.unfinished)}` : "") +
    (runs.ungraded.length ? `; ${ungradedNote(runs.ungraded)}` : "");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    // a warning is the title's second line, in its weight: a figure taken alone still carries it
    title: { text: warnings.length ? [title, ...warnings] : title, subtitle, fontSize: 14 },
    config: { font: "DejaVu Sans", legend: { labelLimit: 0, symbolOpacity: 1, symbolType: "circle" } },
    ...base,
  };
}

/**
 * What a chart over unfinished runs says of them ("3 of 6 planned records" each), as the summary says it: an
 * unfinished run's methods may stand on different problems and seeds. The judge's chart says it too.
 */
export const unfinishedNote = (unfinished: readonly string[]) =>
  `unfinished: ${unfinished.join(", ")} (its methods may stand on different problems and seeds)`;

/**
 * What a chart says over runs holding answers the grader did not grade (timed out, failed: bench/grading.ts
 * graderFailuresBrief of each, "2 answers", named by run where the chart has several), as the summary says it: each
 * counts as wrong, so a curve may be low for the grader's want of time, not the method's answers.
 */
export const ungradedNote = (ungraded: readonly string[]) => `not graded, counted wrong: ${ungraded.join(", ")}`;

/**
 * What a solo-time chart says over runs whose solo times their bench doubted (bench/timing.ts timeDoubts): the
 * runs by name where the chart has several, `[]` for a chart of one.
 */
export const timeDoubtNote = (runs: readonly string[]) =>
  runs.length
    ? `Warning: the solo times of ${runs.join(", ")} are not reliable (their cost models were off: see each summary.md)`
    : "Warning: the solo times are not reliable (the cost model was off: see summary.md)";

/** What the charts draw besides the curves, and what they say of them. */
export interface ChartOptions {
  /** the paper's points and lines, drawn beside the run's */
  refs?: readonly ReferencePoint[];
  /** the time axis: solo time (modelled; the default) or shared time (measured) */
  timeAxis?: "solo" | "shared";
  /** what is unfinished of each run unfinished ("3 of 6 planned records"), said in the subtitle */
  unfinished?: readonly string[];
  /** a timeDoubtNote, said under the solo-time chart's title (shared time is measured, not modelled) */
  timeDoubt?: string;
  /** each run's answers the grader did not grade ("2 answers"; ungradedNote), said in the subtitle */
  ungraded?: readonly string[];
  /** compare.ts gridEndNote's brief line, said under both titles (runs whose grids' ends change them) */
  gridEnd?: string;
}

/**
 * What one run folder's charts say of it, wherever they are drawn (report.ts's files, the viewer's page): an
 * unfinished folder's methods may stand on different problems and seeds; the solo-time chart carries the summary's
 * doubts on its solo times (a figure is taken without the summary); answers the grader did not grade count wrong.
 */
export function runChartOptions(records: readonly BenchRecord[], meta: Record<string, unknown>): ChartOptions {
  const unfinished = unfinishedRecords(records.length, meta), ungraded = graderFailuresBrief(graderFailures(records));
  return {
    unfinished: unfinished ? [unfinished] : [],
    timeDoubt: timeDoubts(meta).length ? timeDoubtNote([]) : undefined,
    ungraded: ungraded ? [ungraded] : [],
  };
}

/** The two charts (vega-lite specs) of a run's curves: accuracy against passes, and against solo or shared time. */
export function chartSpecs(
  points: readonly CurvePoint[],
  title: string,
  { refs = [], timeAxis = "solo", unfinished = [], timeDoubt, ungraded = [], gridEnd }: ChartOptions = {},
): { steps: unknown; time: unknown } {
  const ends = gridEnd ? [gridEnd] : [];
  const pct = (x: number) => 100 * x;
  const runs = { seeded: points.some((p) => p.run_seeds > 1), unfinished, ungraded };
  const rows = (x: (p: CurvePoint) => number): Row[] =>
    points.map((p) => {
      const { accuracy, lo, hi } = shown(p);
      return {
        task: p.task,
        series: p.method,
        x: x(p),
        budget: p.budget,
        accuracy: pct(accuracy),
        lo: lo === undefined ? null : pct(lo),
        hi: hi === undefined ? null : pct(hi),
        n: p.n,
        seeds: p.seeds,
      };
    });
  const refRows = refs.map((r) => ({
    task: r.task,
    series: r.label,
    x: r.budget,
    accuracy: pct(r.accuracy),
    lo: pct(r.accuracy),
    hi: pct(r.accuracy),
    ...(r.line ? { line: true } : {}),
  }));
  return {
    steps: chart(
      rows((p) => p.budget),
      refRows,
      "Budget (forward passes)",
      `${title}: accuracy against forward passes`,
      runs,
      true,
      ends,
    ),
    time: timeAxis === "solo"
      ? chart(
        rows((p) => p.mean_solo_s),
        [],
        "Time per problem alone on its device (s; cost model)",
        `${title}: accuracy against solo time`,
        runs,
        false,
        [...(timeDoubt ? [timeDoubt] : []), ...ends],
      )
      : chart(
        rows((p) => p.mean_shared_s),
        [],
        "Wall time per problem, shared passes counted whole (s)",
        `${title}: accuracy against shared wall time`,
        runs,
        false,
        ends,
      ),
  };
}
