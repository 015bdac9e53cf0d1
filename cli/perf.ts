/**
 * deno task perf: the engine's speed, as ratios to the hardware floor.
 *
 * For a model shape (random weights made in memory: no file) and R workers that share one context of C cached
 * tokens, each with its own short block (the Hogwild! decode shape), it times one pass (one new token per row)
 * as runs make it (forwardSample: sampled where the logits are) and prints the median ms, the bytes a pass must
 * read at the least (weights as stored, packed ones included, less the experts its tokens do not route to; + the
 * KV of every distinct block, once), the floor (bytes / the copy bandwidth measured beside each timing), the ratio, the
 * bandwidth achieved (bytes / time) and the time against the first worker count at the same context.
 *
 *   deno task perf [--model random:qwen2.5-0.5b] [--device cpu|cuda] [--cuda gemm=mma,pdl=1] [--workers 1,2,4,8]
 *                  [--context 512,4096]
 *                  [--iterations 8] [--json FILE] [--skip-engine] [--skip-harness]
 *   deno task perf --paper-table [--model …] [--device …]   the paper's Table 1 on this device (paperTable)
 *   deno task perf --views [--model …] [--device …] [--iterations 25]   what a view of many blocks costs, measured
 *                  and predicted by the cost model with and without its block terms (viewsPerf)
 *
 * Then the harness's own cost per forward pass, with a backend that does nothing (plans are built and
 * checked, tokens decoded, steps detected, commits and bookkeeping done) for 1-8 workers and 1-32 problems
 * at once: it must stay a small part of a real pass (under 0.4 ms at 8 workers: 2% of ~20 ms for 32B on an H100).
 *
 * GPU machines have no node: tools/device-check.sh runs this file there with a carried Deno and node_modules.
 */
import { checkOutputFiles, checkPathFlags, replaceFile } from "../engine/files.ts";
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { codeGradingPerf } from "../harness/perf/code.ts";
import { enginePerf } from "../harness/perf/engine.ts";
import { harnessPerf } from "../harness/perf/harness_cost.ts";
import { paperTable } from "../harness/perf/paper_table.ts";
import { parseCudaFlag } from "../harness/bench/spec.ts";
import { viewsPerf } from "../harness/perf/views.ts";

const MAX_WORKERS = 1024;

function list(v: string, flag: string): number[] {
  return v.split(",").map((x) =>
    parseInteger(x, `--${flag}: expected comma-separated positive integers; in "${v}"`, 1)
  );
}

const USAGE = `usage: deno task perf [--model random:qwen2.5-0.5b] [--device cpu|cuda] [--cuda gemm=mma,pdl=1,…]
                      [--workers 1,2,4,8] [--context 512,4096] [--iterations 8] [--json FILE]
                      [--skip-engine] [--skip-harness] [--allow-long-context]
       deno task perf --paper-table [--model …] [--device …] [--iterations 8] [--allow-long-context]
  the engine's time per forward pass against the hardware floor, then the harness's own cost per pass;
  --paper-table: the paper's Table 1 on this device beside the paper's L40S rows;
  --allow-long-context: contexts past the model's max_position_embeddings timed too (a pass's time does not
  depend on its positions: a small shape can stand in at the paper's contexts)
       deno task perf --views [--model …] [--device …] [--iterations 25] [--json FILE]
  8192 KV tokens as one block or blocks of 32, 16 or 8, read by 1 and 4 rows: measured, and predicted by the
  cost model calibrated here with and without its block terms (docs/performance.md)
       deno task perf --code-grading [--model …] [--device …] [--seconds 10]
  programs graded per second (sandboxed and not), and the engine's passes per second with and without grading
       deno task perf --viewer [--records 1000,20000] [--chromium /usr/bin/chromium] [--json FILE]
  how fast the viewer lists a run's records, measures its traces and opens one record, in a headless browser`;

export const OPTIONS = {
  model: { type: "string" },
  device: { type: "string" },
  cuda: { type: "string" },
  workers: { type: "string" },
  context: { type: "string" },
  iterations: { type: "string" },
  json: { type: "string" },
  "skip-engine": { type: "boolean" },
  "skip-harness": { type: "boolean" },
  "paper-table": { type: "boolean" },
  "code-grading": { type: "boolean" },
  "allow-long-context": { type: "boolean" },
  seconds: { type: "string" },
  viewer: { type: "boolean" },
  views: { type: "boolean" },
  records: { type: "string" },
  chromium: { type: "string" },
} as const;

async function main() {
  const { values: given } = parseFlags(OPTIONS, USAGE);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(given, { model: "model folder, hub id or random:SHAPE", json: "file", chromium: "file" });
  // each mode's own flags: one given to another mode is refused rather than ignored (--json with --paper-table
  // would exit 0 and write nothing)
  const modes = (["paper-table", "code-grading", "viewer", "views"] as const).filter((m) => given[m]).map((m) =>
    `--${m}`
  );
  check(modes.length <= 1, `${modes.join(" and ")}: one at a time`);
  const mode = modes[0] ?? "";
  // the model a mode loads, and how: the viewer loads none, nor does the harness timed alone
  const engine = ["model", "device", "cuda", "allow-long-context"];
  const own: Record<string, string[]> = {
    "": ["workers", "context", "iterations", "json", "skip-engine", "skip-harness", ...engine],
    "--paper-table": ["iterations", ...engine],
    "--code-grading": ["seconds", ...engine],
    "--viewer": ["records", "chromium", "json"],
    "--views": ["iterations", "json", ...engine],
  };
  const flags = [
    "workers",
    "context",
    "iterations",
    "json",
    "skip-engine",
    "skip-harness",
    "seconds",
    "records",
    "chromium",
    ...engine,
  ];
  for (const flag of flags) {
    const set = given[flag as keyof typeof given] !== undefined;
    check(
      !set || own[mode].includes(flag),
      `--${flag} does not apply ${
        mode ? `to ${mode}` : `without ${Object.keys(own).filter((m) => own[m].includes(flag)).join(" or ")}`
      }`,
    );
    check(
      !set || !given["skip-engine"] || !engine.includes(flag),
      `--${flag} does not apply with --skip-engine (the harness is timed on a backend that does nothing)`,
    );
  }
  const values = { ...given, model: given.model ?? "random:qwen2.5-0.5b", device: given.device ?? "cpu" };
  // as the bench reads it, before any work: refused on the CPU, a bad option named by the flag
  parseCudaFlag(values.cuda, values.device);
  if (values.viewer) {
    const sizes = list(values.records ?? "1000,20000", "records");
    checkOutputFiles({ "--json": values.json });
    // loaded here alone: the GPU machines' perf runs carry no browser library
    const { viewerPerf } = await import("../harness/perf/viewer.ts");
    const timings = await viewerPerf(sizes, values.chromium ?? "/usr/bin/chromium");
    if (values.json) replaceFile(values.json, JSON.stringify({ viewer: timings }, null, 1));
    return;
  }
  if (values.views) {
    checkOutputFiles({ "--json": values.json });
    const report = await viewsPerf(values, parseInteger(values.iterations ?? "25", "--iterations", 1));
    if (values.json) replaceFile(values.json, JSON.stringify({ views: report }, null, 1));
    return;
  }
  const iterations = parseInteger(values.iterations ?? "8", "--iterations", 1);
  if (values["paper-table"]) return void await paperTable(values, iterations);
  if (values["code-grading"]) {
    return void await codeGradingPerf(values, parseInteger(values.seconds ?? "10", "--seconds", 1, 3600));
  }
  const workers = list(values.workers ?? "1,2,4,8", "workers"),
    contexts = list(values.context ?? "512,4096", "context");
  check(
    !(values["skip-engine"] && values["skip-harness"]),
    "--skip-engine and --skip-harness: nothing left to measure",
  );
  for (const [flag, xs] of [["workers", workers], ["context", contexts]] as const) {
    check(new Set(xs).size === xs.length, `--${flag} ${xs.join(",")}: a value twice`);
  }
  // the decode shape gives each worker a view of every worker's block: R² view entries
  check(Math.max(...workers) <= MAX_WORKERS, `--workers ${values.workers}: at most ${MAX_WORKERS}`);
  // where the report goes, checked before the measurements rather than after them
  checkOutputFiles({ "--json": values.json });
  const report: Record<string, unknown> = {};
  if (!values["skip-engine"]) report.engine = await enginePerf(values, iterations, workers, contexts);
  if (!values["skip-harness"]) report.harness = await harnessPerf(workers);
  if (values.json) replaceFile(values.json, JSON.stringify(report, null, 1));
}

if (import.meta.main) runMain(main);
