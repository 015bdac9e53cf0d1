/**
 * deno task plot RUN_DIR… [--out DIR] [--reference]: curves of several runs on one chart (two models, two
 * settings), with the paper's reference points (harness/reference/paper.json, each with its source).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { curves } from "./curves.ts";
import { type ReferencePoint, writePlots } from "./plots.ts";
import { readRecords } from "./rundir.ts";

export function paperPoints(tasks: ReadonlySet<string>): ReferencePoint[] {
  const data = JSON.parse(readFileSync(new URL("./reference/paper.json", import.meta.url), "utf8")) as {
    points: ReferencePoint[];
  };
  return data.points.filter((p) => tasks.has(p.task));
}

async function main() {
  const { values: f, positionals: dirs } = parseFlags({
    out: { type: "string", default: "results/plot" },
    reference: { type: "boolean" },
  }, "usage: deno task plot RUN_DIR… [--out DIR] [--reference]");
  check(dirs.length >= 1, "plot: name at least one run folder");
  const points = dirs.flatMap((d) =>
    curves(readRecords(d)).map((p) => ({ ...p, method: dirs.length > 1 ? `${basename(d)}: ${p.method}` : p.method }))
  );
  const refs = f.reference ? paperPoints(new Set(points.map((p) => p.task))) : [];
  if (f.reference && refs.length === 0) console.error("plot: the paper has no reference points for these tasks");
  mkdirSync(f.out, { recursive: true });
  const files = await writePlots(f.out, points, dirs.map((d) => basename(d)).join(" vs "), refs);
  console.error(`plot: wrote ${files.join(", ")}`);
}

if (import.meta.main) runMain(main);
