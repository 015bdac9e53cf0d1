/**
 * How well the cost model's solo times (the plots' time axis) predict the time a run really takes alone: the
 * checkpoints of a shared bench run against the same runs with `--concurrency 1` (deno task solo-check).
 */
import { check } from "../../engine/errors.ts";
import { type BenchRecord, recordKey } from "../bench/rundir.ts";
import { median, quantile } from "../bench/cost.ts";
import { medianInterval } from "./stats.ts";
import { comparedKeys, versionChanges } from "../bench/run_key.ts";
import type { Invocation } from "../bench/timing.ts";
import { problemDifference, type ProblemTexts } from "./same_problem.ts";

export interface SoloComparison {
  key: string;
  method: string;
  budget: number;
  /** the cost model's prediction in the shared run */
  predicted_ms: number;
  /** the same run's wall time alone */
  alone_ms: number;
  /** (predicted - alone) / alone */
  error: number;
}

/**
 * One method's checkpoints in the check: the cost model may err more for one method than another (its passes of
 * other shapes: a view of many blocks, rows of many tokens), so a pooled median says nothing of how it ranks them.
 */
export interface MethodError {
  method: string;
  /** its runs compared, and their checkpoints */
  runs: number;
  checkpoints: number;
  /**
   * the median over its runs of each run's median signed error (below 0: solo times too short); a run, not a
   * checkpoint, is the unit: a run's checkpoints share its passes, so their errors are not independent
   */
  signed: number;
  /**
   * the doubt on `signed`: a 95% interval of the median of such runs' errors (stats.ts medianInterval: order
   * statistics, whatever the distribution); undefined under 6 runs, too few for one
   */
  interval?: [number, number];
  /** median and 90th percentile of |error| over its checkpoints */
  median: number;
  p90: number;
}

/** What may differ between the two folders' run keys: which runs each made (ALONE may make fewer). */
const SUBSET = new Set(["methods", "budgets", "seeds", "tasks", "synthetic", "data", "methods_version"]);

/**
 * The first setting of the two run keys (run.json's `spec`) that differs outside SUBSET, as "key: a vs b", or
 * undefined: another model, sampling, prompt or grader would make other runs, and their times no check of the
 * cost model. A setting only one key has differs too (a default is left out of a key), except the texts of a
 * method family only one folder ran; a family both ran must be of one version.
 */
export function specDifference(
  shared: Record<string, unknown>,
  alone: Record<string, unknown>,
  /** each folder's run.json `sampling` (comparedKeys) */
  resolved?: readonly [unknown, unknown],
): string | undefined {
  [shared, alone] = comparedKeys(shared, alone, resolved);
  for (const k of [...new Set([...Object.keys(shared), ...Object.keys(alone)])].sort()) {
    if (SUBSET.has(k) || (k.startsWith("prompt ") && !(k in shared && k in alone))) continue;
    const [a, b] = [JSON.stringify(shared[k]), JSON.stringify(alone[k])];
    if (a !== b) return `${k}: ${a ?? "absent"} vs ${b ?? "absent"}`;
  }
  const [changed] = versionChanges(shared, alone);
  return changed && `methods_version of ${changed[0]}: ${changed[1]} vs ${changed[2]}`;
}

/**
 * Why ALONE's run.json `meta` does not hold runs made alone, or undefined. Its spec_full's --concurrency is the
 * first invocation's only (a resume keeps it), so each invocation's own word decides: every one that wrote
 * records ran them one at a time, and together they account for all `records` of the folder (one killed
 * outright never said how many runs shared its passes).
 */
export function notAlone(meta: Record<string, unknown>, records: number): string | undefined {
  // a merged folder keeps its shards' invocations with them
  const invocations = (meta.invocations ??
    (meta.shards as { invocations?: Invocation[] }[] | undefined)?.flatMap((s) => s.invocations ?? []) ??
    []) as Invocation[];
  const shared = invocations.findIndex((i) => i.records > 0 && i.runs_at_once > 1);
  if (shared >= 0) {
    const i = invocations[shared];
    return `its invocation ${
      shared + 1
    } (started ${i.started}) wrote ${i.records} records with up to ${i.runs_at_once} ` +
      "runs sharing a pass (resumed without --concurrency 1?): its times are not alone";
  }
  const counted = invocations.reduce((n, i) => n + i.records, 0);
  return counted < records
    ? `invocations that wrote ${records - counted} of its ${records} records were killed before they said how ` +
      "many runs shared a pass (or run.json lists none): cannot tell its times are alone"
    : undefined;
}

/** One folder's side of the check: its records, and the problem texts its traces hold by record key. */
export interface SoloSide extends ProblemTexts {
  records: readonly BenchRecord[];
}

/**
 * Every (record, checkpoint budget) in both folders, compared (each pair the same problem, or refused); the
 * median and p90 of |error|, and the median signed error (below 0: solo times too short), pooled and for each
 * method with its doubt (`methods`, in the order the shared folder's records first name them): a pooled error
 * that is small can hide one method's solo times too short and another's too long, which moves the methods
 * against each other on the time axis. A run that ended before its last budgets repeats its last checkpoint at
 * each of them: that one time counts once.
 */
export function soloCheck(
  shared: SoloSide,
  alone: SoloSide,
  /** both run keys' data hash is one */
  sameData: boolean,
): { rows: SoloComparison[]; median: number; p90: number; signed: number; methods: MethodError[] } {
  const byKey = new Map(alone.records.map((r) => [recordKey(r), r]));
  const rows: SoloComparison[] = [];
  for (const s of shared.records) {
    const a = byKey.get(recordKey(s));
    if (!a) continue;
    const why = problemDifference(shared, s, alone, a, sameData);
    check(
      why === undefined,
      `solo-check: ${shared.dir} and ${alone.dir} pair ${
        recordKey(s).replaceAll("\t", " / ")
      } with another problem (${why}); the same runs need the same data`,
    );
    const aloneAt = new Map(a.checkpoints.map((c) => [c.budget, c]));
    const timed = new Set<string>();
    for (const c of s.checkpoints) {
      const m = aloneAt.get(c.budget);
      if (!m || !(m.shared_ms > 0)) continue;
      // A checkpoint reached by different passes (an early stop in one run only) times different work.
      if (m.passes !== c.passes || m.finisher_passes !== c.finisher_passes) continue;
      const work = `${c.passes}/${c.finisher_passes}`;
      if (timed.has(work)) continue;
      timed.add(work);
      rows.push({
        key: recordKey(s),
        method: s.method,
        budget: c.budget,
        predicted_ms: c.solo_ms,
        alone_ms: m.shared_ms,
        error: (c.solo_ms - m.shared_ms) / m.shared_ms,
      });
    }
  }
  const e = rows.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  const signed = rows.map((r) => r.error).sort((a, b) => a - b);
  return {
    rows,
    median: median(e),
    p90: quantile(e, 0.9),
    signed: median(signed),
    methods: methodErrors(rows),
  };
}

/** Each method's errors (MethodError), its runs' medians the unit of its signed error and interval. */
function methodErrors(rows: readonly SoloComparison[]): MethodError[] {
  const byMethod = new Map<string, Map<string, number[]>>();
  for (const r of rows) {
    const runs = byMethod.get(r.method) ?? byMethod.set(r.method, new Map()).get(r.method)!;
    (runs.get(r.key) ?? runs.set(r.key, []).get(r.key)!).push(r.error);
  }
  return [...byMethod].map(([method, runs]) => {
    const perRun = [...runs.values()].map((xs) => median([...xs].sort((a, b) => a - b))).sort((a, b) => a - b);
    const abs = [...runs.values()].flat().map(Math.abs).sort((a, b) => a - b);
    const interval = medianInterval(perRun);
    return {
      method,
      runs: runs.size,
      checkpoints: abs.length,
      signed: median(perRun),
      ...(interval ? { interval } : {}),
      median: median(abs),
      p90: quantile(abs, 0.9),
    };
  });
}

/**
 * Pairs of methods whose errors differ beyond their doubt (each 95% interval wholly below the other's), as
 * [lower, higher]: the solo times move those methods against each other on the time axis.
 */
export function disagreeing(methods: readonly MethodError[]): [MethodError, MethodError][] {
  const out: [MethodError, MethodError][] = [];
  for (const a of methods) {
    for (const b of methods) {
      if (a.interval && b.interval && a.interval[1] < b.interval[0]) out.push([a, b]);
    }
  }
  return out;
}
