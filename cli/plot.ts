/**
 * deno task plot RUN_DIR… [--out DIR] [--reference] [--time solo|shared]: curves of several runs on one chart (two models, two
 * settings), with the paper's reference points (harness/reference/paper.json, each with its source).
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { checkPathFlags, pathExists } from "../engine/files.ts";
import { basename, join } from "node:path";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { curves, specSeeds } from "../harness/report/curves.ts";
import { type ReferencePoint, writePlots } from "../harness/report/plots.ts";
import { timeDoubtNote } from "../harness/report/charts.ts";
import { gridEndNote, largestBudget } from "../harness/report/compare.ts";
import {
  checkFoldersOnce,
  checkMeta,
  checkOneGrader,
  checkOutFolder,
  checkReadFolder,
  readRecords,
  readRunJson,
  runNames,
  unfinishedRecords,
} from "../harness/bench/rundir.ts";
import { runMachines, timeDoubts } from "../harness/bench/timing.ts";
import { graderFailures, graderFailuresBrief, graderFailuresText } from "../harness/bench/grading.ts";

function paperPoints(tasks: ReadonlySet<string>): ReferencePoint[] {
  const data = JSON.parse(readFileSync(new URL("../harness/reference/paper.json", import.meta.url), "utf8")) as {
    points: ReferencePoint[];
  };
  return data.points.filter((p) => tasks.has(p.task));
}

const USAGE = "usage: deno task plot RUN_DIR… [--out DIR] [--reference] [--time solo|shared]\n" +
  "  --out: where the plots go [results/plot; an earlier plot there is replaced, and said so]";

/**
 * The machine a run folder's times come from, by its run.json: its GPU, else its CPU (unknown for records without
 * a run.json); a merged run's, each of its shards' machines.
 */
const runMachine = (meta: Record<string, unknown>) => runMachines(meta).join(" + ");

export const OPTIONS = {
  out: { type: "string", default: "results/plot" },
  reference: { type: "boolean" },
  time: { type: "string", default: "solo" },
} as const;

async function main() {
  const { values: f, positionals: dirs } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { out: "folder" });
  dirs.forEach(checkReadFolder);
  check(dirs.length >= 1, "plot: name at least one run folder");
  check(f.time === "solo" || f.time === "shared", `--time: expected solo or shared, got "${f.time}"`);
  // --out before any work: a file there (a run's records.jsonl) or a run folder is refused, not written into
  checkOutFolder(f.out);
  check(
    !pathExists(join(f.out, "run.json")) && !pathExists(join(f.out, "records.jsonl")),
    `--out ${f.out}: a run folder (its plots are its own run's); give another folder`,
  );
  // each run.json as the bench wrote it (its machines and times are read below), {} for a folder of records alone
  const metas = dirs.map((d): Record<string, unknown> => {
    if (!pathExists(join(d, "run.json"))) return {};
    const meta = readRunJson(d);
    checkMeta(join(d, "run.json"), meta);
    return meta;
  });
  // Solo times are each run's own machine's: runs from different machines stand side by side, named so.
  const machines = metas.map(runMachine);
  const named = new Set(machines).size > 1;
  // Runs are named by their folder's name, or by the shortest end of their path that tells them apart where two
  // folders share a name (as the viewer names them).
  const names = runNames(dirs);
  checkFoldersOnce(dirs, "plot");
  const unfinished: string[] = [];
  const read = dirs.map(readRecords);
  // one grader for every curve on the chart: a folder beside its rescore would show one answer as two accuracies
  checkOneGrader(dirs.map((d, i) => ({ name: d, records: read[i] })));
  const points = dirs.flatMap((d, i) => {
    const records = read[i], meta = metas[i];
    const left = unfinishedRecords(records.length, meta);
    if (left) unfinished.push(dirs.length > 1 ? `${names[i]} (${left})` : left);
    const own = curves(records, specSeeds(meta));
    check(own.length > 0, `plot: ${d} has no records yet (records.jsonl is empty): nothing to draw`);
    return own.map((p) => ({
      ...p,
      method: dirs.length > 1 ? `${names[i]}${named ? ` (${machines[i]})` : ""}: ${p.method}` : p.method,
    }));
  });
  // what each folder's own bench doubted of its solo times, said here and on the chart: a figure must not hide it
  const doubted = dirs.flatMap((d, i) => {
    const doubts = timeDoubts(metas[i]);
    if (doubts.length) console.error(`plot: ${d}: ${doubts.join(" ")}`);
    return doubts.length ? [names[i]] : [];
  });
  // answers the grader did not grade count as wrong: each folder's said here and on the charts, as its summary says
  const ungraded = dirs.flatMap((d, i) => {
    const failures = graderFailures(read[i]), brief = graderFailuresBrief(failures);
    if (!brief) return [];
    console.error(`plot: ${d}: ${graderFailuresText(failures)}`);
    return [dirs.length > 1 ? `${names[i]} (${brief})` : brief];
  });
  // a method whose runs depend on the grid's end (the registry's gridEnd), from folders whose grids end apart: its
  // curves at one budget are other runs in each, said on stderr and under both charts' titles
  const ends = dirs.length > 1
    ? read.map((records, i) => ({
      name: names[i],
      last: largestBudget(records),
      methods: [...new Set(records.map((r) => r.method))],
    }))
    : [];
  const gridEnd = gridEndNote(ends);
  if (gridEnd) console.error(`plot: ${gridEnd}`);
  const refs = f.reference ? paperPoints(new Set(points.map((p) => p.task))) : [];
  if (f.reference && refs.length === 0) console.error("plot: the paper has no reference points for these tasks");
  mkdirSync(f.out, { recursive: true });
  const before = new Set(readdirSync(f.out));
  // solo times counted by other rules (run.json spec.timing: 3 charges the blocks a pass reads, 2 did not) share
  // one axis only with a word: merge and solo-check refuse to pair them, a figure must not hide it
  const timings = metas.map((m) => (m.spec as { timing?: unknown } | undefined)?.timing);
  const timingNote = f.time === "solo" && new Set(timings.filter((t) => t !== undefined)).size > 1
    ? `solo times counted by different rules: ${
      dirs.map((_, i) => `${names[i]} timing ${timings[i] ?? "unknown"}`).join(", ")
    } (see run-files.md, timing)`
    : undefined;
  if (timingNote) console.error(`plot: ${timingNote}`);
  const note = [doubted.length ? timeDoubtNote(doubted) : undefined, timingNote].filter((x) => x).join("; ") ||
    undefined;
  const files = await writePlots(f.out, points, names.join(" vs "), {
    refs,
    timeAxis: f.time,
    unfinished,
    timeDoubt: note,
    ungraded,
    gridEnd: gridEndNote(ends, true),
  });
  console.error(`plot: wrote ${files.join(", ")}`);
  // The default --out is one folder for every plot: say when an earlier plot was replaced.
  const replaced = files.filter((file) => before.has(basename(file)));
  if (replaced.length) {
    console.error(
      `plot: replaced the earlier ${replaced.map((x) => basename(x)).join(", ")} in ${f.out} (--out DIR keeps them)`,
    );
  }
}

if (import.meta.main) runMain(main);
