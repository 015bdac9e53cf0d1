/**
 * summary.md's code verdicts: for each code task and method, how its programs fared at the last checkpoint
 * (passed, wrong answer, timeout, …; tasks/code/problem.ts), so that a low pass rate says why. A record whose last
 * checkpoint has none of them (its grading failed, it has no checkpoint, or a verdict this version does not name)
 * counts under "no verdict", a column shown where a task has such a record: the columns add up to the records.
 */
import { CODE_VERDICTS } from "../../tasks/code/problem.ts";
import type { BenchRecord } from "../bench/rundir.ts";

export function verdictsText(records: readonly BenchRecord[]): string {
  const code = records.filter((r) => r.grading === "code");
  if (!code.length) return "";
  const tasks = [...new Set(code.map((r) => r.task))].sort((x, y) => x.localeCompare(y));
  const lines: string[] = [];
  const known = new Set<string | undefined>(CODE_VERDICTS);
  const last = (r: BenchRecord) => {
    const v = r.checkpoints[r.checkpoints.length - 1]?.verdict;
    return known.has(v) ? v : undefined;
  };
  for (const task of tasks) {
    const of = code.filter((r) => r.task === task);
    const methods = [...new Set(of.map((r) => r.method))].sort((x, y) => x.localeCompare(y));
    const none = of.some((r) => last(r) === undefined);
    const columns = [...CODE_VERDICTS, ...(none ? ["no verdict"] : [])];
    lines.push(
      "",
      `## Code verdicts: ${task}, at each record's last checkpoint`,
      "",
      `| method | records | ${columns.join(" | ")} |`,
      `|---|---:|${columns.map(() => "---:").join("|")}|`,
    );
    for (const m of methods) {
      const verdicts = of.filter((r) => r.method === m).map(last);
      const counts = CODE_VERDICTS.map((v) => verdicts.filter((x) => x === v).length);
      if (none) counts.push(verdicts.filter((x) => x === undefined).length);
      lines.push(`| ${m} | ${verdicts.length} | ${counts.join(" | ")} |`);
    }
  }
  return lines.join("\n") + "\n";
}
