/**
 * deno task plot RUN_DIR… [--out DIR] [--reference] [--time solo|shared]: curves of several runs on one chart (two models, two
 * settings), with the paper's reference points (harness/reference/paper.json, each with its source).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { curves } from "./curves.ts";
import { type ReferencePoint, writePlots } from "./plots.ts";
import { readRecords, readRunJson } from "./rundir.ts";

export function paperPoints(tasks: ReadonlySet<string>): ReferencePoint[] {
  const data = JSON.parse(readFileSync(new URL("./reference/paper.json", import.meta.url), "utf8")) as {
    points: ReferencePoint[];
  };
  return data.points.filter((p) => tasks.has(p.task));
}

const USAGE = "usage: deno task plot RUN_DIR… [--out DIR] [--reference] [--time solo|shared]";

/** The machine a run folder's times come from: its GPU, else its CPU (unknown for records without a run.json). */
function machineName(dir: string): string {
  if (!existsSync(join(dir, "run.json"))) return "unknown machine";
  const m = (readRunJson(dir).machine ?? {}) as { gpu?: string | null; cpu?: string };
  return m.gpu || m.cpu || "unknown machine";
}

async function main() {
  const { values: f, positionals: dirs } = parseFlags({
    out: { type: "string", default: "results/plot" },
    reference: { type: "boolean" },
    time: { type: "string", default: "solo" },
  }, USAGE);
  check(dirs.length >= 1, "plot: name at least one run folder");
  check(f.time === "solo" || f.time === "shared", `--time: expected solo or shared, got "${f.time}"`);
  // Solo times are each run's own machine's: runs from different machines stand side by side, named so.
  const machines = dirs.map(machineName);
  const named = new Set(machines).size > 1;
  const points = dirs.flatMap((d, i) =>
    curves(readRecords(d)).map((p) => ({
      ...p,
      method: dirs.length > 1 ? `${basename(d)}${named ? ` (${machines[i]})` : ""}: ${p.method}` : p.method,
    }))
  );
  const refs = f.reference ? paperPoints(new Set(points.map((p) => p.task))) : [];
  if (f.reference && refs.length === 0) console.error("plot: the paper has no reference points for these tasks");
  mkdirSync(f.out, { recursive: true });
  const files = await writePlots(f.out, points, dirs.map((d) => basename(d)).join(" vs "), refs, "", f.time);
  console.error(`plot: wrote ${files.join(", ")}`);
}

if (import.meta.main) runMain(main);
