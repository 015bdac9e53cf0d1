/**
 * deno task solo-check SHARED_DIR ALONE_DIR: how well the cost model's solo times (the plots' time axis)
 * predict the time a run really takes alone. SHARED_DIR is a bench run with many runs in flight; ALONE_DIR the
 * same problems, methods and seeds again with `--concurrency 1` (every invocation, a resume's too), where a
 * run's shared time is its own wall time. Every checkpoint both folders hold of the same problem is compared:
 * the relative error of SHARED's predicted solo time against ALONE's measured time, with its median and 90th
 * percentile, pooled and for each method (its median signed error over its runs, with a 95% interval): methods
 * whose errors differ beyond those intervals are named, the time axis moving them against each other.
 */
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { join } from "node:path";
import { checkMeta, checkReadFolder, readRecords, readRunJson } from "../harness/bench/rundir.ts";
import { calibratedMachines } from "../harness/bench/timing.ts";
import { disagreeing, notAlone, soloCheck, specDifference } from "../harness/report/solo_check.ts";
import { problemTexts } from "../harness/report/same_problem.ts";

const USAGE = "usage: deno task solo-check SHARED_DIR ALONE_DIR   (ALONE_DIR: the same runs with --concurrency 1)";

export const OPTIONS = {} as const;

function main() {
  const { positionals } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  positionals.forEach(checkReadFolder);
  check(positionals.length === 2, `solo-check: expected two run folders; ${USAGE}`);
  const [sharedDir, aloneDir] = positionals;
  const aloneMeta = readRunJson(aloneDir), aloneRecords = readRecords(aloneDir);
  checkMeta(join(aloneDir, "run.json"), aloneMeta);
  const shared = notAlone(aloneMeta, aloneRecords.length);
  check(!shared, `${aloneDir}: ${shared}; run it again with --concurrency 1 and a new --out`);
  const spec = (dir: string) => (readRunJson(dir).spec ?? {}) as Record<string, unknown>;
  const differs = specDifference(spec(sharedDir), spec(aloneDir), [
    readRunJson(sharedDir).sampling,
    aloneMeta.sampling,
  ]);
  check(!differs, `solo-check: ${sharedDir} and ${aloneDir} are not the same runs (${differs})`);
  // a merged folder's shards each timed on their own machine: all of both folders' must be one
  const [a, b] = [sharedDir, aloneDir].map((d) => calibratedMachines(readRunJson(d)).join(" and "));
  check(
    a === b && !a.includes(" and "),
    `solo-check: ${sharedDir} ran on ${a} and ${aloneDir} on ${b}: a cost model predicts its own machine's times`,
  );
  const texts = problemTexts(sharedDir, aloneDir);
  const { rows, median, p90, signed, methods } = soloCheck(
    { ...texts.a, records: readRecords(sharedDir) },
    { ...texts.b, records: aloneRecords },
    texts.sameData,
  );
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
    }%; median signed error ${pct(signed)} (below 0: solo times too short)`,
  );
  console.log(
    "\n| method | runs | checkpoints | median signed error (its runs') | 95% interval | median \\|error\\| | p90 \\|error\\| |\n" +
      "|---|---:|---:|---:|---|---:|---:|",
  );
  for (const m of methods) {
    const interval = m.interval ? `${pct(m.interval[0])} to ${pct(m.interval[1])}` : "none (under 6 runs)";
    console.log(
      `| ${m.method} | ${m.runs} | ${m.checkpoints} | ${pct(m.signed)} | ${interval} | ${
        (100 * m.median).toFixed(1)
      }% | ${(100 * m.p90).toFixed(1)}% |`,
    );
  }
  const apart = disagreeing(methods);
  for (const [a, b] of apart) {
    console.log(
      `\n${a.method}'s solo times are shorter against its time alone than ${b.method}'s (${pct(a.signed)} against ${
        pct(b.signed)
      }, the 95% intervals apart): the time axis favours ${a.method} over ${b.method} by about ${
        (100 * (b.signed - a.signed)).toFixed(1)
      } points of their times`,
    );
  }
  if (!apart.length && methods.length > 1) {
    console.log(
      `\nNo two methods' errors differ beyond their 95% intervals${
        methods.some((m) => !m.interval) ? " (a method of under 6 runs has none: it is not compared)" : ""
      }.`,
    );
  }
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}%`;

if (import.meta.main) runMain(main);
