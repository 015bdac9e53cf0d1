/**
 * deno task solo-check SHARED_DIR ALONE_DIR: how well the cost model's solo times (the plots' time axis)
 * predict the time a run really takes alone. SHARED_DIR is a bench run with many runs in flight; ALONE_DIR the
 * same problems, methods and seeds again with `--concurrency 1`, where a run's shared time is its own wall
 * time. Every checkpoint both folders hold is compared: the relative error of SHARED's predicted solo time
 * against ALONE's measured time, with its median and 90th percentile.
 */
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { type BenchRecord, readRecords, readRunJson, recordKey } from "./rundir.ts";

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

/** Every (record, checkpoint budget) in both lists, compared; and the median and p90 of |error|. */
export function soloCheck(
  shared: readonly BenchRecord[],
  alone: readonly BenchRecord[],
): { rows: SoloComparison[]; median: number; p90: number } {
  const byKey = new Map(alone.map((r) => [recordKey(r), r]));
  const rows: SoloComparison[] = [];
  for (const s of shared) {
    const a = byKey.get(recordKey(s));
    if (!a) continue;
    const aloneAt = new Map(a.checkpoints.map((c) => [c.budget, c]));
    for (const c of s.checkpoints) {
      const m = aloneAt.get(c.budget);
      if (!m || !(m.shared_ms > 0)) continue;
      // A checkpoint reached by different passes (an early stop in one run only) times different work.
      if (m.passes !== c.passes || m.finisher_passes !== c.finisher_passes) continue;
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
  const at = (q: number) => e.length ? e[Math.min(e.length - 1, Math.floor(q * e.length))] : NaN;
  return { rows, median: at(0.5), p90: at(0.9) };
}

const USAGE = "usage: deno task solo-check SHARED_DIR ALONE_DIR   (ALONE_DIR: the same runs with --concurrency 1)";

function main() {
  const { positionals } = parseFlags({}, USAGE);
  check(positionals.length === 2, `solo-check: expected two run folders; ${USAGE}`);
  const [sharedDir, aloneDir] = positionals;
  const concurrency = ((readRunJson(aloneDir).spec_full ?? {}) as { concurrency?: number }).concurrency;
  check(concurrency === 1, `${aloneDir}: ran with --concurrency ${concurrency ?? "?"}, not 1: its times are not alone`);
  const { rows, median, p90 } = soloCheck(readRecords(sharedDir), readRecords(aloneDir));
  check(rows.length > 0, `solo-check: ${sharedDir} and ${aloneDir} have no checkpoint of the same run in common`);
  console.log("| run | budget | predicted solo ms | alone ms | error |\n|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const run = r.key.split("\t").slice(1).join(" ");
    console.log(
      `| ${run} | ${r.budget} | ${r.predicted_ms.toFixed(0)} | ${r.alone_ms.toFixed(0)} | ${
        (100 * r.error).toFixed(1)
      }% |`,
    );
  }
  console.log(
    `\n${rows.length} checkpoints: median |error| ${(100 * median).toFixed(1)}%, 90th percentile ${
      (100 * p90).toFixed(1)
    }%`,
  );
}

if (import.meta.main) runMain(main);
