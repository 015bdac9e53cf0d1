/**
 * A run folder written as the bench writes one (run.json, records.jsonl, traces.jsonl), of any size and without a
 * model: what `deno task perf --viewer` opens, and the viewer's tests (with strings a page must show as text).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProtocol } from "../generation/prompts.ts";
import type { BenchRecord, TraceLine } from "../bench/rundir.ts";

/** The protocol's redundancy check, as the steps hold it. */
export const CHECK = loadProtocol().redundancyCheck;

const METHODS: [string, string[]][] = [
  ["hogwild:2", ["Alice", "Bob"]],
  ["hogwild:3:contiguous", ["Alice", "Bob", "Carol"]],
  ["sequential", ["Alice"]],
];
const BUDGETS = [8, 16, 24, 32];

/** `problems` problems × the three methods above, in a new temporary folder; problem 0's texts carry `marked`. */
export function writeSampleRun(problems: number, marked = ""): { dir: string; records: number } {
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-view-")), "run");
  mkdirSync(dir);
  const records: string[] = [], traces: string[] = [];
  for (let p = 0; p < problems; p++) {
    const evil = p === 0 ? marked : "";
    for (const [mi, [method, names]] of METHODS.entries()) {
      const key = { task: "synthetic", problem_id: `synthetic-${p}`, method, seed: 1 };
      const right = (p + mi) % 3 === 0;
      const steps: TraceLine["steps"] = [];
      if (names.length > 1) {
        for (let s = 1; s <= 3; s++) {
          names.forEach((name, w) => {
            steps.push({
              worker: w,
              step: s,
              pass: 6 * s + w,
              text: `**${name} [${s}]:** part ${s} of problem ${p}: I take part ${w + 1}. ${CHECK}no. ` +
                `${w === 0 && s === 1 ? evil : ""}\n`,
            });
          });
        }
      }
      const workers = names.map((name, w) =>
        steps.filter((s) => s.worker === w).map((s) => s.text).join("") +
        `**${name} [4]:** still writing; ${names[(w + 1) % names.length]} has part 2. ` +
        (w === 0 ? `\\boxed{${right ? 42 : 41}}` : "")
      );
      const trace: TraceLine = {
        ...key,
        problem: `What is 40 + 2? ${evil}`,
        names,
        workers,
        steps,
        pass_ms: Array.from({ length: 35 }, (_, i) => 5 + (i % 3)), // 32 decode passes, then a finisher's 3
      };
      const record: BenchRecord = {
        ...key,
        golds: ["42"],
        grading: "single",
        checkpoints: BUDGETS.map((b) => ({
          budget: b,
          passes: b,
          answer: b >= 16 ? (right ? "42" : "41") : null,
          source: b >= 16 ? "early-stop" : "none",
          tokens: names.map(() => b),
          solo_ms: 5 * b,
          shared_ms: 6 * b,
          finisher_passes: 0,
          equal_strict: b >= 16 && right,
          equal_lenient: b >= 16 && right,
          score_strict: +(b >= 16 && right),
          score_lenient: +(b >= 16 && right),
        })),
        steps: steps.length,
        solo_ms: 160,
        shared_ms: 192,
        grader: "hogwild-grader/2",
      };
      records.push(JSON.stringify(record));
      traces.push(JSON.stringify(trace));
    }
  }
  const spec = { model: "random:qwen3-demo", device: "cpu", tasks: ["synthetic"], methods: METHODS.map((m) => m[0]) };
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec, spec_full: spec, machine: { gpu: null } }));
  writeFileSync(join(dir, "records.jsonl"), records.join("\n") + "\n");
  writeFileSync(join(dir, "traces.jsonl"), traces.join("\n") + "\n");
  return { dir, records: records.length };
}
