/**
 * deno task solo-check SHARED_DIR ALONE_DIR: how well the cost model's solo times (the plots' time axis)
 * predict the time a run really takes alone. SHARED_DIR is a bench run with many runs in flight; ALONE_DIR the
 * same problems, methods and seeds again with `--concurrency 1` (every invocation, a resume's too), where a
 * run's shared time is its own wall time. Every checkpoint both folders hold of the same problem is compared:
 * the relative error of SHARED's predicted solo time against ALONE's measured time, with its median and 90th
 * percentile.
 */
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { join } from "node:path";
import { checkMeta, checkReadFolder, readRecords, readRunJson } from "../harness/bench/rundir.ts";
import { calibratedMachines } from "../harness/bench/timing.ts";
import { notAlone, soloCheck, specDifference } from "../harness/report/solo_check.ts";
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
  const { rows, median, p90, signed } = soloCheck(
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
    }%; median signed error ${signed >= 0 ? "+" : ""}${(100 * signed).toFixed(1)}% (below 0: solo times too short)`,
  );
}

if (import.meta.main) runMain(main);
