/**
 * harness/report/charts.ts: reference points as diamonds, reference levels as dashed lines across, legends whole; the
 * interval band from seeds where a point has several.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chartSpecs, type ReferencePoint } from "../../../harness/report/charts.ts";
import { type CurvePoint, curves } from "../../../harness/report/curves.ts";
import { fakeCheckpoint, fakeRecord } from "../../helpers.ts";

type Layer = { mark: { type: string; strokeDash?: number[] }; encoding: Record<string, unknown> };

const point = (budget: number, accuracy: number): CurvePoint =>
  ({ task: "limo-512", method: "hogwild:2", budget, n: 4, accuracy, mean_solo_s: budget / 10 }) as CurvePoint;

Deno.test("a reference level is a dashed rule across the chart (no x: the axis keeps the run's range); points are diamonds", () => {
  const refs: ReferencePoint[] = [
    { task: "limo-512", label: "paper: a point", budget: 2048, accuracy: 0.5 },
    { task: "limo-512", label: "paper: a level", budget: 16384, accuracy: 0.8965, line: true },
  ];
  const steps = chartSpecs([point(8, 0.25), point(16, 0.5)], "t", { refs }).steps as {
    layer: Layer[];
    config: { legend: { labelLimit: number } };
    title: { subtitle: string };
  };
  const rule = steps.layer.find((l) => l.mark.type === "rule")!;
  assert.ok(rule, "a rule layer");
  assert.ok(rule.mark.strokeDash, "dashed");
  assert.equal(rule.encoding.x, undefined, "spans the chart");
  assert.ok(steps.layer.some((l) => l.mark.type === "point"), "the point as a diamond");
  assert.match(steps.title.subtitle, /diamonds: reference points; dashed: reference levels/);
  assert.equal(steps.config.legend.labelLimit, 0, "legend labels are not cut");
  const onlyPoints = chartSpecs([point(8, 0.25)], "t", { refs: refs.slice(0, 1) }).steps as { layer: Layer[] };
  assert.ok(!onlyPoints.layer.some((l) => l.mark.type === "rule"));
});

Deno.test("the paper's single-thread LIMO reference is a level", () => {
  const paper = JSON.parse(
    readFileSync(new URL("../../../harness/reference/paper.json", import.meta.url), "utf8"),
  );
  const single = paper.points.filter((p: ReferencePoint) => /single thread/.test(p.label));
  assert.ok(single.length >= 1 && single.every((p: ReferencePoint) => p.line === true));
});

Deno.test("a point of several seeds draws avg@k and its interval over seeds and problems; one seed, Wilson's", () => {
  const seeded = {
    ...point(8, 0.5),
    ci_low: 0.3,
    ci_high: 0.7,
    seeds: 4,
    run_seeds: 4,
    avg_at_k: 0.45,
    avg_ci_low: 0.2,
    avg_ci_high: 0.8,
  } as CurvePoint;
  const single = { ...point(16, 0.5), ci_low: 0.3, ci_high: 0.7, seeds: 1, run_seeds: 1, avg_at_k: 0.5 } as CurvePoint;
  type Spec = {
    data: { values: { accuracy: number; lo: number; hi: number; seeds: number }[] };
    title: { subtitle: string };
  };
  const several = chartSpecs([seeded], "t").steps as Spec;
  assert.deepEqual(several.data.values.map((r) => [r.accuracy, r.lo, r.hi, r.seeds]), [[45, 20, 80, 4]]);
  assert.match(several.title.subtitle, /avg@k, .* 95% t interval clustered by problem/);
  const one = chartSpecs([single], "t").steps as Spec;
  assert.deepEqual(one.data.values.map((r) => [r.accuracy, r.lo, r.hi]), [[50, 30, 70]]);
  assert.match(one.title.subtitle, /Wilson's/);
  assert.doesNotMatch(one.title.subtitle, /avg@k/);
});

Deno.test("against time, a line joins its budgets in order (a later budget may take less time) and intervals are bars", () => {
  // budget 16 answered by an early stop took less time than budget 8 with its finisher
  const points = [{ ...point(8, 0.4), mean_solo_s: 0.09 }, { ...point(16, 0.6), mean_solo_s: 0.07 }];
  type Spec = { layer: Layer[]; data: { values: { x: number; budget: number }[] }; title: { subtitle: string } };
  const time = chartSpecs(points, "t").time as Spec;
  const line = time.layer.find((l) => l.mark.type === "line")!;
  assert.deepEqual(line.encoding.order, { field: "budget", type: "quantitative" });
  assert.deepEqual(time.data.values.map((r) => [r.budget, r.x]), [[8, 0.09], [16, 0.07]]);
  assert.equal(time.layer[0].mark.type, "rule", "an interval band needs x in order: bars instead");
  assert.match(time.title.subtitle, /bars: .*each line joins its budgets in order/);
  const steps = chartSpecs(points, "t").steps as Spec;
  assert.equal(steps.layer[0].mark.type, "area");
});

Deno.test("a run of several seeds draws avg@k where a point's problems have fewer (unfinished), as its summary shows", () => {
  // p1 right under both seeds, p2 wrong under seed 1 only: k is 1, pooled 2/3, avg@k 1/2
  const records = [["p1", 1, true], ["p1", 2, true], ["p2", 1, false]].map(([problem_id, seed, right]) =>
    fakeRecord({ method: "sequential", problem_id: problem_id as string, seed: seed as number }, [
      fakeCheckpoint(8, right as boolean),
    ])
  );
  type Spec = { data: { values: { accuracy: number }[] }; title: { subtitle: string } };
  const [p] = curves(records, [1, 2]);
  assert.equal(p.seeds, 1);
  const steps = chartSpecs([p], "t", { unfinished: ["3 of 4 planned records"] }).steps as Spec;
  assert.deepEqual(steps.data.values.map((r) => r.accuracy), [50]);
  assert.match(steps.title.subtitle, /^Lines: avg@k.*; unfinished: 3 of 4 planned records \(its methods may stand/);
  // a run of one seed: the accuracy over problems, with no word of an unfinished run where it is not
  const one = chartSpecs(curves(records.slice(0, 1), [1]), "t").steps as Spec;
  assert.doesNotMatch(one.title.subtitle, /avg@k|unfinished/);
});
