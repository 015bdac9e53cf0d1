/**
 * summary.md's code verdicts: for each code task and method, how its programs fared at the last checkpoint
 * (passed, wrong answer, timeout, …; tasks/code/problem.ts), so that a low pass rate says why.
 */
import { CODE_VERDICTS } from "../../tasks/code/problem.ts";
import type { BenchRecord } from "../bench/rundir.ts";

export function verdictsText(records: readonly BenchRecord[]): string {
  const code = records.filter((r) => r.grading === "code");
  if (!code.length) return "";
  const tasks = [...new Set(code.map((r) => r.task))].sort((x, y) => x.localeCompare(y));
  const lines: string[] = [];
  for (const task of tasks) {
    const of = code.filter((r) => r.task === task);
    const methods = [...new Set(of.map((r) => r.method))].sort((x, y) => x.localeCompare(y));
    lines.push(
      "",
      `## Code verdicts: ${task}, at each record's last checkpoint`,
      "",
      `| method | records | ${CODE_VERDICTS.join(" | ")} |`,
      `|---|---:|${CODE_VERDICTS.map(() => "---:").join("|")}|`,
    );
    for (const m of methods) {
      const last = of.filter((r) => r.method === m).map((r) => r.checkpoints[r.checkpoints.length - 1]?.verdict);
      const counts = CODE_VERDICTS.map((v) => last.filter((x) => x === v).length);
      lines.push(`| ${m} | ${last.length} | ${counts.join(" | ")} |`);
    }
  }
  return lines.join("\n") + "\n";
}
