/**
 * How well the cost model's solo times (the plots' time axis) predict the time a run really takes alone: the
 * checkpoints of a shared bench run against the same runs with `--concurrency 1` (deno task solo-check).
 */
import { type BenchRecord, recordKey } from "../bench/rundir.ts";
import { quantile } from "../bench/cost.ts";
import { versionChanges } from "../bench/run_key.ts";

export interface SoloComparison {
  key: string;
  budget: number;
  /** the cost model's prediction in the shared run */
  predicted_ms: number;
  /** the same run's wall time alone */
  alone_ms: number;
  /** (predicted - alone) / alone */
  error: number;
}

/** What may differ between the two folders' run keys: which runs each made (ALONE may make fewer). */
const SUBSET = new Set(["methods", "budgets", "seeds", "tasks", "synthetic", "data", "methods_version"]);

/**
 * The first setting of the two run keys (run.json's `spec`) that differs outside SUBSET, as "key: a vs b", or
 * undefined: another model, sampling, prompt or grader would make other runs, and their times no check of the
 * cost model. A setting only one key has differs too (a default is left out of a key), except the texts of a
 * method family only one folder ran; a family both ran must be of one version.
 */
export function specDifference(shared: Record<string, unknown>, alone: Record<string, unknown>): string | undefined {
  for (const k of [...new Set([...Object.keys(shared), ...Object.keys(alone)])].sort()) {
    if (SUBSET.has(k) || (k.startsWith("prompt ") && !(k in shared && k in alone))) continue;
    const [a, b] = [JSON.stringify(shared[k]), JSON.stringify(alone[k])];
    if (a !== b) return `${k}: ${a ?? "absent"} vs ${b ?? "absent"}`;
  }
  const [changed] = versionChanges(shared, alone);
  return changed && `methods_version of ${changed[0]}: ${changed[1]} vs ${changed[2]}`;
}

/**
 * Every (record, checkpoint budget) in both lists, compared; the median and p90 of |error|, and the median
 * signed error (below 0: solo times too short, the axis flatters every method by about as much). A run that ended
 * before its last budgets repeats its last checkpoint at each of them: that one time counts once.
 */
export function soloCheck(
  shared: readonly BenchRecord[],
  alone: readonly BenchRecord[],
): { rows: SoloComparison[]; median: number; p90: number; signed: number } {
  const byKey = new Map(alone.map((r) => [recordKey(r), r]));
  const rows: SoloComparison[] = [];
  for (const s of shared) {
    const a = byKey.get(recordKey(s));
    if (!a) continue;
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
        budget: c.budget,
        predicted_ms: c.solo_ms,
        alone_ms: m.shared_ms,
        error: (c.solo_ms - m.shared_ms) / m.shared_ms,
      });
    }
  }
  const e = rows.map((r) => Math.abs(r.error)).sort((a, b) => a - b);
  const signed = rows.map((r) => r.error).sort((a, b) => a - b);
  return { rows, median: quantile(e, 0.5), p90: quantile(e, 0.9), signed: quantile(signed, 0.5) };
}
