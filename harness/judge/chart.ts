/**
 * The paper's Fig. 7 as a chart: the judge's mean collaboration score per setting (bars, in the order given),
 * with its 95% interval, one panel per run folder (a model) when there are several; drawn by plots.ts's renderer.
 */
import { unfinishedNote } from "../report/charts.ts";
import { render } from "../report/plots.ts";
import type { GroupScore } from "./scores.ts";

/** one title for both layers (vega-lite joins different ones) */
const Y_TITLE = "Collaboration score (1–6)";

export interface Bar extends GroupScore {
  /** the run folder's name */
  run: string;
  setting: string;
  /** the method the setting names */
  method: string;
  /** the setting's traces with fewer judge runs recorded than asked for (failed replies, tried again later) */
  incomplete: number;
  /** judge runs whose reply held no score (left out of their trace's mean) */
  runsUnscored: number;
}

/** `unfinished`: what is unfinished of each run unfinished, said in the subtitle as the bench's plots say it. */
export function scoreChartSpec(bars: readonly Bar[], title: string, unfinished: readonly string[] = []): unknown {
  const settings = [...new Set(bars.map((b) => b.setting))];
  const runs = new Set(bars.map((b) => b.run));
  // Every setting has its slot and a word at its foot: the mean (a mean of 1.00, the floor, is a bar of no height),
  // or why there is no bar ("no traces", "no score"): an empty slot would read as either.
  const values = bars.map((b) => ({
    run: b.run,
    setting: b.setting,
    mean: b.n > 0 ? b.mean : null,
    lo: b.lo ?? null,
    hi: b.hi ?? null,
    n: b.n,
    problems: b.problems,
    label: b.n > 0 ? b.mean.toFixed(2) : b.unscored ? "no score" : "no traces",
  }));
  const x = { field: "setting", type: "nominal", title: "Setting", sort: settings, axis: { labelAngle: 0 } };
  const layer = {
    layer: [
      {
        transform: [{ filter: "datum.mean !== null" }],
        mark: { type: "bar", width: { band: 0.7 } },
        encoding: {
          x,
          // bars rise from the rubric's lowest score
          y: { field: "mean", type: "quantitative", title: Y_TITLE, scale: { domain: [1, 6] } },
          y2: { datum: 1 },
          color: { field: "setting", type: "nominal", sort: settings, legend: null },
          tooltip: [
            { field: "setting" },
            { field: "mean", title: "mean score", format: ".2f" },
            { field: "lo", title: "95% low", format: ".2f" },
            { field: "hi", title: "95% high", format: ".2f" },
            { field: "n", title: "traces" },
            { field: "problems", title: "problems" },
          ],
        },
      },
      {
        transform: [{ filter: "datum.lo !== null" }],
        mark: { type: "errorbar", ticks: true },
        encoding: { x, y: { field: "lo", type: "quantitative", title: Y_TITLE }, y2: { field: "hi" } },
      },
      // at the foot of each slot, above the axis, read whether the bar is tall or of no height: a mean beside its
      // interval's line, the word for a slot without a bar in its middle
      ...[["datum.mean !== null", { align: "left", dx: 3 }], ["datum.mean === null", {}]].map(([filter, place]) => ({
        transform: [{ filter }],
        mark: { type: "text", baseline: "bottom", dy: -3, fontSize: 11, ...place as object },
        encoding: { x, y: { datum: 1, type: "quantitative" }, text: { field: "label" } },
      })),
    ],
  };
  const base = runs.size > 1
    ? {
      data: { values },
      // in the order the folders were given, as the table's rows (vega-lite sorts them by name otherwise)
      facet: { column: { field: "run", type: "nominal", title: null, sort: [...runs] } },
      spec: { width: 60 * settings.length + 80, height: 260, ...layer },
    }
    : { data: { values }, width: 80 * settings.length + 120, height: 300, ...layer };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: "Bars: the judge's mean score over traces (each the mean of its judge runs), written at their foot " +
        "('no traces', 'no score': none to draw); lines: 95% intervals over problems" +
        (unfinished.length ? `; ${unfinishedNote(unfinished)}` : ""),
      fontSize: 14,
    },
    config: { font: "DejaVu Sans" },
    ...base,
  };
}

/** The two files the chart named `file` is written to: FILE.svg and FILE.png (a .svg or .png of `file` dropped). */
export function scoreChartFiles(file: string): [svg: string, png: string] {
  const stem = file.replace(/\.(svg|png)$/i, "");
  return [`${stem}.svg`, `${stem}.png`];
}

/** Writes the chart to `file` (.svg) and beside it as .png; returns the two paths. */
export async function writeScoreChart(
  file: string,
  bars: readonly Bar[],
  title: string,
  unfinished: readonly string[] = [],
): Promise<string[]> {
  const files = scoreChartFiles(file);
  await render(scoreChartSpec(bars, title, unfinished), files[0].replace(/\.svg$/, ""));
  return files;
}
