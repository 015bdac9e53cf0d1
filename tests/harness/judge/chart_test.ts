/**
 * The judge's chart (Fig. 7): an unfinished run is said in the subtitle as the bench's plots say it, and the
 * panels of several run folders stand in the order the folders were given, as the table's rows do.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bar, scoreChartSpec, writeScoreChart } from "../../../harness/judge/chart.ts";

const bar = (run: string, setting: string, mean: number): Bar => ({
  run,
  setting,
  method: setting,
  n: 3,
  problems: 3,
  mean,
  lo: mean - 1,
  hi: mean + 1,
  unscored: 0,
  incomplete: 0,
  runsUnscored: 0,
});

type Spec = { title: { subtitle: string }; facet?: { column: { sort?: unknown } } };

Deno.test("judge chart: an unfinished run is said in the subtitle, as the bench's plots say it", () => {
  const bars = [bar("qwq", "token-wise", 4), bar("qwq", "no-sync", 2)];
  const done = scoreChartSpec(bars, "t") as Spec;
  assert.doesNotMatch(done.title.subtitle, /unfinished/);
  const left = scoreChartSpec(bars, "t", ["2 of 6 planned records"]) as Spec;
  assert.match(
    left.title.subtitle,
    /; unfinished: 2 of 6 planned records \(its methods may stand on different problems and seeds\)$/,
  );
});

Deno.test("judge chart: several run folders' panels stand in the order given, not sorted by name", () => {
  const runs = ["zeta", "alpha", "mid"];
  for (const order of [runs, [...runs].reverse(), [runs[1], runs[2], runs[0]]]) {
    const bars = order.flatMap((r) => [bar(r, "token-wise", 4), bar(r, "no-sync", 2)]);
    assert.deepEqual((scoreChartSpec(bars, "t") as Spec).facet!.column.sort, order);
  }
});

Deno.test("judge chart: each setting's mean is written on its bar, a floor mean of 1.00 too; a setting with no traces or no score is marked so, never an empty slot", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-judge-chart-"));
  try {
    const bars: Bar[] = [
      { ...bar("qwq", "token-wise", 3.5) },
      // every trace scored 1: a bar of no height, which read as a setting with no traces
      { ...bar("qwq", "step-wise", 1), lo: 1, hi: 1.4 },
      { ...bar("qwq", "no-sync", NaN), n: 0, problems: 0, lo: undefined, hi: undefined },
      { ...bar("qwq", "other", NaN), n: 0, problems: 0, lo: undefined, hi: undefined, unscored: 2 },
    ];
    const [svg] = await writeScoreChart(join(dir, "c.svg"), bars, "t");
    const texts = [...readFileSync(svg, "utf8").matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const label of ["3.50", "1.00", "no traces", "no score"]) {
      assert.ok(texts.includes(label), `${label} in ${JSON.stringify(texts)}`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
