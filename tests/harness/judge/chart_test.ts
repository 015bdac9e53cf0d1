/**
 * The judge's chart (Fig. 7): an unfinished run is said in the subtitle as the bench's plots say it, and the
 * panels of several run folders stand in the order the folders were given, as the table's rows do.
 */
import assert from "node:assert/strict";
import { type Bar, scoreChartSpec } from "../../../harness/judge/chart.ts";

const bar = (run: string, setting: string, mean: number): Bar => ({
  run,
  setting,
  n: 3,
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
