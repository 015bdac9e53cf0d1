/**
 * A run folder's report, from every record it holds: curves.csv, the plots and summary.md. Written by the bench
 * after its runs and by merge for the merged folder.
 */
import { basename, join } from "node:path";
import { removeStrayTemps, replaceFile } from "../../engine/files.ts";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";
import { type BenchSpec, DEMO_MODEL } from "../bench/spec.ts";
import { comparisonText } from "./compare.ts";
import {
  curves,
  curvesCsv,
  forkAgreement,
  forkAgreementText,
  passesToTable,
  summaryBudgets,
  summaryTable,
} from "./curves.ts";
import { writePlots } from "./plots.ts";
import { runChartOptions } from "./charts.ts";
import { graderFailures, graderFailuresText } from "../bench/grading.ts";
import { type BenchRecord, runModel } from "../bench/rundir.ts";
import { timingText } from "../bench/timing.ts";
import { verdictsText } from "./verdicts.ts";
import { alikeWhenGreedy } from "../generation/methods.ts";
import type { SamplingOptions } from "../../engine/sampler.ts";
import { unappliedText } from "../../engine/config.ts";

/**
 * The writers' sampling as run.json records it (resolved with the model's generation_config.json), and the
 * generation_config's settings transformers would have applied that the writers did not (unappliedSettings; absent
 * in folders made before it was kept).
 */
export type RunSampling = Omit<SamplingOptions, "suppress"> & { unapplied?: Record<string, unknown> };

/**
 * Methods whose paths are one text N times because the writers decode greedily (methods.ts alikeWhenGreedy): a
 * sentence for summary.md and the bench's start, or "" where there are none.
 */
export function greedyNote(methods: readonly string[]): string {
  const alike = alikeWhenGreedy(methods);
  if (!alike.length) return "";
  return `${alike.join(", ")} ${alike.length > 1 ? "run" : "runs"} with greedy decoding: ${
    alike.length > 1 ? "each one's" : "its"
  } paths start from one prompt and differ only by their draws, so they are one text N times (a vote of one ` +
    "path's answer at N times its cost); their papers sample: give --temperature (and --seeds)";
}

/**
 * Answers the grader did not grade (the bench's or a rescore's), said before any figure: each counts as wrong, so
 * a machine too busy for the grader's limit lowers the accuracies without a wrong answer (nothing where none).
 */
/**
 * The grader versions that graded `records` (its code records, or the others), as the records say: a merged or
 * rescored folder's are not always today's (shards run before an update), and its summary names theirs.
 */
function gradersOf(records: readonly BenchRecord[], code: boolean): string {
  return [...new Set(records.filter((r) => (r.grading === "code") === code).map((r) => r.grader))].join(", ");
}

function failuresText(records: readonly BenchRecord[]): string[] {
  const f = graderFailures(records);
  if (!f.timedOut && !f.failed && !f.paths) return [];
  return [
    `**Not graded: ${graderFailuresText(f)}.** records.jsonl marks them (\`timed_out\`, \`grader_error\`, ` +
    "`paths_grader_errors`); `deno task rescore` grades them again.",
    "",
  ];
}

/**
 * What the loader said of the data (run.json `data_notes`: records skipped, a file that is a part of its set), under
 * the heading: a reader of the folder alone must not take a part for the whole set (nothing where none).
 */
function dataNotesText(notes: unknown): string[] {
  if (!Array.isArray(notes) || !notes.length) return [];
  return ["**What the loader said of the data:**", "", ...notes.map((n) => `- ${n}`), ""];
}

/**
 * A merged folder's shards that ran at different commits of the project or Deno versions (run.json `shards[].versions`;
 * "unknown" where a shard has none), each named, under the heading: the key checks the versions of what makes a
 * record (grader, method families, token and timing rules), not every change between two commits, so a reader must
 * know the shards' records come from two builds (nothing where they share one, or the folder is no merge).
 */
function shardVersionsText(shards: unknown): string[] {
  if (!Array.isArray(shards) || shards.length < 2) return [];
  const of = shards as { dir?: string; versions?: { project?: string; deno?: string } }[];
  return ([["project", "commits of the project"], ["deno", "Deno versions"]] as const).flatMap(([field, what]) => {
    const each = of.map((s) => s.versions?.[field] ?? "unknown");
    if (new Set(each).size < 2) return [];
    const named = of.map((s, i) => `shard ${s.dir ?? i} at ${each[i]}`).join(", ");
    return [
      `**Its shards ran at different ${what}: ${named}.** The key holds the versions of what makes a record (the ` +
      "grader, the method families, the token and timing rules), not every change between them: the shards' " +
      "records come from different builds.",
      "",
    ];
  });
}

/** How the writers chose their tokens, for summary.md (folders made before run.json kept it: nothing). */
function samplingText(sampling: RunSampling | undefined, methods: readonly string[]): string[] {
  if (!sampling) return [];
  const how = sampling.temperature === 0
    ? "The writers decode greedily (temperature 0)."
    : `The writers sample at temperature ${sampling.temperature}, top-k ${
      sampling.topK || "off"
    }, top-p ${sampling.topP}, ` +
      `min-p ${sampling.minP} (the flags given, the rest the model's generation_config.json).`;
  const note = sampling.temperature === 0 ? greedyNote(methods) : "";
  const unapplied = unappliedText(sampling.unapplied);
  return [
    how + (note ? ` **${note}.**` : "") +
    (unapplied ? ` **The model's generation_config.json also sets ${unapplied}.**` : ""),
    "",
  ];
}

/**
 * curves.csv, the plots and summary.md, from every record of the folder and its run.json `meta` as written (the
 * bench's, rescore's or merge's: what the summary says of sampling, data and time is read from it alone, so the
 * three cannot differ); returns the names of the files the folder holds.
 */
export async function report(
  out: string,
  spec: BenchSpec,
  records: BenchRecord[],
  meta: Record<string, unknown> = {},
): Promise<string[]> {
  const points = curves(records, spec.seeds);
  replaceFile(join(out, "curves.csv"), curvesCsv(points));
  // the spec is run.json's spec_full: its model named as the viewer names it
  const model = runModel({ spec_full: spec }) ?? spec.model;
  const title = `${model} on ${spec.tasks.join(", ")}`;
  const charts = runChartOptions(records, meta), unfinished = charts.unfinished?.[0];
  const files = points.length ? await writePlots(out, points, title, charts) : [];
  const budgets = summaryBudgets(spec.budgets);
  const summary = [
    `# ${title}`,
    "",
    ...dataNotesText(meta.data_notes),
    ...shardVersionsText(meta.shards),
    ...(unfinished
      ? [
        `**An unfinished run: ${unfinished}.** Its methods may stand on ` +
        "different problems and seeds, so their cells and the passes-to table are not comparable side by side " +
        "(the paired comparisons use the pairs both have); the same command finishes it.",
        "",
      ]
      : []),
    `${records.length} records (problem × method × seed) of ${
      spec.tasks.join(", ")
    } with ${model} on ${spec.device}: methods ${spec.methods.join(", ")}; ` +
    `budgets ${spec.budgets[0]}–${
      spec.budgets[spec.budgets.length - 1]
    } forward passes (${spec.budgets.length} checkpoints); seeds ${spec.seeds.join(", ")}` +
    `${spec.shard ? `; shard ${spec.shard.index} of ${spec.shard.count}` : ""}. Accuracy is the strict verdict of ${
      gradersOf(records, false) || GRADER_VERSION
    } (lenient in curves.csv)${
      records.some((r) => r.grading === "code")
        ? `; on code tasks, pass@1 by ${gradersOf(records, true)}: every public and private test passes`
        : ""
    }, ` +
    `at each checkpoint the answer read by the finisher (${
      spec.finisherInput === "text"
        ? "its transcript decoded and encoded again as text, --finisher-input text"
        : "its transcript the writers' ids"
    }; or written, or the early stop's). ` +
    timingText(meta, records.length),
    "",
    ...failuresText(records),
    ...samplingText(meta.sampling as RunSampling | undefined, spec.methods),
    ...(spec.model === DEMO_MODEL
      ? [
        "The model is the project's demo model (engine/models/hogwild-demo/README.md): 0.9M parameters trained " +
        "on the chains task to split a problem's parts between workers through the shared cache. It is a model " +
        "organism for Hogwild! research, not a reasoning model: it knows this task's format and the protocol " +
        "and nothing else, so its curves measure whether the harness delivers each worker the others' steps, " +
        "not how a reasoning model collaborates.",
        "",
      ]
      : []),
    summaryTable(points, budgets),
    comparisonText(records, budgets),
    passesToTable(points),
    forkAgreementText(forkAgreement(records)),
    verdictsText(records),
  ].join("\n");
  replaceFile(join(out, "summary.md"), summary + "\n");
  const written = ["curves.csv", "summary.md", ...files.map((f) => basename(f))];
  // the folder is its writer's alone (the bench's lock, rescore's own): what a report killed mid-write left goes
  for (const f of written) removeStrayTemps(join(out, f));
  return ["records.jsonl", "traces.jsonl", ...written];
}
