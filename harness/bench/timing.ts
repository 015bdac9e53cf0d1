/**
 * The benchmark's own timing: every pass it ran (shape, measured time, the cost model's prediction), the
 * throughput of each invocation (run.json keeps one entry per invocation, so a resumed run reports them all),
 * and the text summary.md says about time.
 */
import { COST_TERMS, type CostModel, describeCost, predictMs, relativeErrors, type TimedPass } from "./cost.ts";
import type { PassInfo } from "../generation/schedule.ts";

/** One invocation of the benchmark on a run folder, as run.json records it. */
export interface Invocation {
  started: string;
  seconds: number;
  records: number;
  passes: number;
  passes_per_s: number;
  rows_per_pass: number;
  problems_per_hour: number;
  /** the share of wall time spent outside forward passes (planning, grading, writing) */
  outside_passes: number;
  /** the cost model's relative error on this invocation's passes */
  cost_error: { median: number; p90: number };
  /** the most runs that shared a pass */
  runs_at_once: number;
}

/**
 * A median relative error of the cost model on an invocation's passes above this says its solo times are not to
 * be trusted as they are (calibrated while the machine was busy, or on another machine): summary.md and the bench
 * say so.
 */
export const COST_ERROR_WARNING = 0.25;

/** How many of the cost model's terms are the blocks a pass reads (cost.ts COST_TERMS: segments, blocks). */
const BLOCK_TERMS = 2;

/**
 * The warning an invocation with a cost error past COST_ERROR_WARNING earns, undefined for one within it; `which`
 * names it among a folder's ("invocation 2, of shard s1").
 */
export function costWarning(i: Pick<Invocation, "cost_error" | "passes">, which?: string): string | undefined {
  if (!(i.cost_error.median > COST_ERROR_WARNING)) return undefined;
  return `Warning: on ${i.passes} passes${which ? ` (${which})` : ""} the cost model's predictions were off by ${
    (100 * i.cost_error.median).toFixed(0)
  }% (median) from the measured times, so the solo times (the time axis) are not reliable: the machine was busy ` +
    "with other work when it calibrated or ran, or it is not the machine that calibrated. Run alone (a new --out " +
    "calibrates again) and check them with deno task solo-check.";
}

/**
 * The warning a cost model earns whose calibration cannot vouch for it: its shapes, each predicted by the fit of
 * the others, off by more than COST_ERROR_WARNING (median: the machine was busy), or too few shapes to tell (fewer
 * than twice its terms: a calibration cut short by its bound, each term resting on a pass or two). Every solo time
 * of the folder comes from it, and an invocation's own error can still fall under the bound (the same noise on
 * both sides, or passes that seldom use the ill-fitted term).
 */
export function fitWarning(
  m: Pick<CostModel, "fit"> & { coef?: readonly number[] },
  shard?: string,
): string | undefined {
  // a model stored before the block terms is judged by its own terms, as it was when it was written
  const few = m.fit.shapes !== undefined && m.fit.shapes < 2 * (m.coef?.length ?? COST_TERMS.length);
  // the block terms rest on the views of many blocks: too few of them, or mispredicted, and the whole median can
  // still look fine while the methods that read many blocks are timed wrong against the others
  const f = m.fit.fragmented;
  const fewBlocks = f !== undefined && f.shapes < 2 * BLOCK_TERMS;
  const offBlocks = f !== undefined && f.median_rel_error > COST_ERROR_WARNING;
  if (!few && !(m.fit.median_rel_error > COST_ERROR_WARNING) && !fewBlocks && !offBlocks) return undefined;
  const many = "so the methods whose views hold many blocks (Hogwild!) may be timed wrong against the others";
  const why = few
    ? `was fitted on ${m.fit.shapes} pass shapes only, too few to check it (the calibration was cut short by its ` +
      "time bound: a slow model or a busy machine)"
    : m.fit.median_rel_error > COST_ERROR_WARNING
    ? `predicts its own ${m.fit.passes} calibration passes${
      m.fit.shapes === undefined ? "" : ", each shape from the fit of the others,"
    } only to within ${(100 * m.fit.median_rel_error).toFixed(0)}% (median)`
    : fewBlocks
    ? `was fitted on ${f!.shapes} shapes of views cut into many blocks only, too few to check what a block costs ` +
      `(the calibration was cut short by its time bound: a slow model or a busy machine), ${many}`
    : "predicts its calibration's views cut into many blocks, each shape from the fit of the others, only to " +
      `within ${(100 * f!.median_rel_error).toFixed(0)}% (median of ${f!.shapes} shapes), ${many}`;
  // a merged folder's shards each had their own: the warning names the shard whose records it timed
  return `Warning: the cost model${shard ? ` of shard ${shard}` : ""} ${why}, so the solo times (the time axis) ` +
    `are not reliable. Every record of ${shard ? "that shard" : "this folder"} is timed by it: calibrate again on ` +
    `an idle machine (a new --out), and check them with deno task solo-check.`;
}

export class PassLog {
  readonly #passes: TimedPass[] = [];
  #rows = 0;
  #ms = 0;
  #atOnce = 0;
  readonly #t0 = performance.now();
  readonly #started = new Date().toISOString();

  add(p: PassInfo): void {
    this.#passes.push({ shape: p.shape, ms: p.ms });
    this.#rows += p.shape.rows;
    this.#ms += p.ms;
    this.#atOnce = Math.max(this.#atOnce, p.runs);
  }

  get passes(): number {
    return this.#passes.length;
  }

  invocation(records: number, cost: CostModel): Invocation {
    const seconds = (performance.now() - this.#t0) / 1000, n = this.#passes.length;
    const e = relativeErrors(cost, this.#passes);
    const r4 = (x: number) => (Number.isFinite(x) ? +x.toFixed(4) : 0);
    return {
      started: this.#started,
      seconds: +seconds.toFixed(2),
      records,
      passes: n,
      passes_per_s: +(n / seconds).toFixed(2),
      rows_per_pass: n ? +(this.#rows / n).toFixed(2) : 0,
      problems_per_hour: +(records / seconds * 3600).toFixed(1),
      outside_passes: r4(1 - this.#ms / 1000 / seconds),
      cost_error: { median: r4(e.median), p90: r4(e.p90) },
      runs_at_once: this.#atOnce,
    };
  }
}

/** A run.json's machine as plots and summaries name it: its GPU, else its CPU and how many threads it had. */
export function machineName(m: unknown): string {
  const x = (m ?? {}) as { gpu?: string | null; cpu?: string; cpus?: number };
  if (x.gpu) return x.gpu;
  return x.cpu ? `${x.cpu}${x.cpus ? ` (${x.cpus} threads)` : ""}` : "unknown machine";
}

/** The machine a folder's cost model was calibrated on: its own word, else (older folders) the folder's first. */
export function calibratedOn(meta: Record<string, unknown>): string {
  return (meta.cost_model as CostModel | undefined)?.calibrated_on ?? machineName(meta.machine);
}

/** The machines whose cost models timed a run folder: a merged folder's shards' (once each), else its own. */
export function calibratedMachines(meta: Record<string, unknown>): string[] {
  return Array.isArray(meta.shards)
    ? [...new Set((meta.shards as Record<string, unknown>[]).map((s) => calibratedOn(s)))]
    : [calibratedOn(meta)];
}

/** The machines a run's times come from, by name: a merged run's shards' (once each), else its own. */
export function runMachines(run: Record<string, unknown>): string[] {
  return Array.isArray(run.shards)
    ? [...new Set((run.shards as { machine?: unknown }[]).map((s) => machineName(s.machine)))]
    : [machineName(run.machine)];
}

type Shard = { dir?: string; cost_model?: CostModel; invocations?: Invocation[] };

const shardsOf = (run: Record<string, unknown>) => Array.isArray(run.shards) ? run.shards as Shard[] : undefined;

/** A shard's name in what is said of it: its folder, else its place among the shards. */
const shardName = (s: Shard, i: number) => s.dir ?? `${i}`;

/**
 * A run.json's invocations in the summary's order, each with its shard's name in a merged run (whose shards keep
 * theirs).
 */
function invocationsOf(run: Record<string, unknown>): { invocation: Invocation; shard?: string }[] {
  const own = run.invocations as Invocation[] | undefined, shards = shardsOf(run);
  if (own || !shards) return (own ?? []).map((invocation) => ({ invocation }));
  return shards.flatMap((s, i) => (s.invocations ?? []).map((invocation) => ({ invocation, shard: shardName(s, i) })));
}

/**
 * Every warning a run folder's solo times (its time axis) earn, from its run.json (checked: rundir.ts checkMeta):
 * its cost model's fit and each invocation's error, a merged run's shards' each named. summary.md says them in
 * bold, plot on stderr, and the solo-time charts carry a note: a figure must not show such times unflagged.
 */
export function timeDoubts(run: Record<string, unknown>): string[] {
  const cost = run.cost_model as CostModel | undefined;
  const warnings = [
    cost && fitWarning(cost),
    ...(shardsOf(run) ?? []).map((s, i) => s.cost_model && fitWarning(s.cost_model, shardName(s, i))),
    ...invocationsOf(run).map(({ invocation, shard }, k) =>
      costWarning(invocation, `invocation ${k + 1}${shard ? `, of shard ${shard}` : ""}`)
    ),
  ];
  return warnings.filter((w): w is string => !!w);
}

/**
 * The summary's words on time, from a run.json (the bench's, a rescored or a merged one: a merged run's shards each
 * keep their machine, cost model and invocations); `records`: the folder's, when the invocations may not account
 * for all of them.
 */
export function timingText(run: Record<string, unknown>, records?: number): string {
  const invocations = invocationsOf(run).map((i) => i.invocation);
  const machines = runMachines(run);
  // an invocation killed outright records nothing: then how many runs shared its passes is not known
  const counted = invocations.reduce((n, i) => n + i.records, 0);
  const atOnce = records !== undefined && counted < records
    ? `runs shared passes (how many at most is not known: invocations that wrote ${
      records - counted
    } of the records were killed before they could say)`
    : `up to ${invocations.reduce((n, i) => Math.max(n, i.runs_at_once), 1)} runs shared a pass`;
  const device = machines.length > 1
    ? `its shard's device (the shards ran on ${
      machines.join(", ")
    }; each shard's solo times come from its own machine's cost model)`
    : "this device";
  const lines = [
    `Times: every checkpoint has a solo time, what the run would have taken alone on ${device} (the plots' time ` +
    `axis), and a shared time, the wall time of the passes it took part in, each counted whole (${atOnce}, so ` +
    `shared time is an upper bound of the time alone).`,
  ];
  const cost = run.cost_model as CostModel | undefined;
  if (cost) lines.push(describeCost(cost));
  for (const w of timeDoubts(run)) lines.push(`**${w}**`);
  for (const [k, i] of invocations.entries()) {
    lines.push(
      `Invocation ${k + 1} (${i.started}): ${i.records} records in ${i.seconds.toFixed(1)} s, ` +
        `${i.problems_per_hour} problems per hour, ${i.passes_per_s} forward passes per second, ` +
        `${i.rows_per_pass} rows per pass, ${(100 * i.outside_passes).toFixed(1)}% of wall time outside passes; ` +
        `on its ${i.passes} passes the cost model was off by ${(100 * i.cost_error.median).toFixed(1)}% (median) and ` +
        `${(100 * i.cost_error.p90).toFixed(1)}% (90th percentile) of the measured time.`,
    );
  }
  return lines.join(" ");
}

/** The predicted time of a pass's shape: the cost model as the scheduler takes it. */
export const costOf = (cost: CostModel) => (shape: PassInfo["shape"]) => predictMs(cost, shape);
