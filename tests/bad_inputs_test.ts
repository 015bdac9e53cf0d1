/**
 * Bad inputs as data (tests/bad_inputs.json): flags of every command, model folders, safetensors, configs,
 * tokenizers, scripts, data files, run folders, shards and grader inputs. Each must end in exit code 2 with
 * one line on stderr that names the culprit (the case's `expect`), never a stack trace, and nothing written to
 * the run folder it names.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runCli } from "./helpers.ts";

interface Case {
  name: string;
  cmd: string;
  args: string[];
  /** what the error line must name (a regular expression) */
  expect: string;
  /** files to write under the case's folder ($DIR): text, or {hex} bytes */
  files?: Record<string, string | { hex: string }>;
  /** files to copy there from the repository */
  copy?: Record<string, string>;
  /** the $UNREADABLE paths to try, where not all (no /dev/null for a path read only after the inputs are) */
  unreadable?: string[];
}

const FILES: Record<string, string> = {
  bench: "cli/bench.ts",
  engine: "cli/engine.ts",
  tasks: "cli/tasks.ts",
  grade: "cli/grade.ts",
  plot: "cli/plot.ts",
  merge: "cli/merge.ts",
  perf: "cli/perf.ts",
  trace: "cli/trace.ts",
  view: "cli/view.ts",
  judge: "cli/judge.ts",
  rescore: "cli/rescore.ts",
  compare: "cli/compare.ts",
  solo_check: "cli/solo_check.ts",
};

/**
 * Paths Deno will not stat under a task's permissions (runCli's: each command as users run it), where its calls
 * throw, existsSync too, and /dev/null, a device where a file or folder is wanted: a case whose args hold
 * $UNREADABLE is run with each. The error names the flag (the path too will do, but "" names nothing).
 */
const UNREADABLE = ["", "/dev/null", "/proc/self/status", "/sys/kernel"];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const cases = (JSON.parse(readFileSync(new URL("./bad_inputs.json", import.meta.url), "utf8")) as Case[])
  .flatMap((c) =>
    c.args.some((a) => a.includes("$UNREADABLE"))
      ? (c.unreadable ?? UNREADABLE).map((p) => ({
        ...c,
        name: c.name.replace("$UNREADABLE", JSON.stringify(p)),
        args: c.args.map((a) => a.replaceAll("$UNREADABLE", p)),
        expect: p ? `${c.expect}|${escape(p)}` : c.expect,
      }))
      : [c]
  );

/** existsSync, false where Deno refuses to look (an $UNREADABLE --out under the test task's permissions) */
function exists(path: string): boolean {
  try {
    return existsSync(path);
  } catch {
    return false;
  }
}

async function check(c: Case): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-badinput-"));
  const at = (p: string) => {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    return join(dir, p);
  };
  for (const [p, v] of Object.entries(c.files ?? {})) {
    writeFileSync(at(p), typeof v === "string" ? v : Uint8Array.from(v.hex.match(/../g)!.map((h) => parseInt(h, 16))));
  }
  for (const [p, from] of Object.entries(c.copy ?? {})) copyFileSync(from, at(p));
  // Nothing half-written: a refused run leaves no run.json or records where there were none.
  const out = c.args.includes("--out") ? c.args[c.args.indexOf("--out") + 1].replaceAll("$DIR", dir) : undefined;
  const existed = out ? ["run.json", "records.jsonl"].filter((f) => exists(join(out, f))) : [];
  const args = c.args.map((a) => a.replaceAll("$DIR", dir));
  const result = await runCli(FILES[c.cmd], args, { NO_COLOR: "1", HF_HUB_OFFLINE: "1" });
  const stderr = result.stderr.replace(/^Download .*\n/gm, "");
  const written = out ? ["run.json", "records.jsonl"].filter((f) => exists(join(out, f)) && !existed.includes(f)) : [];
  Deno.removeSync(dir, { recursive: true });
  if (result.code !== 2) return `${c.name}: exit ${result.code}, stderr ${JSON.stringify(stderr.slice(0, 400))}`;
  if (written.length) return `${c.name}: refused, but wrote ${written.join(", ")}`;
  if (!/^error: [^\n]*\n$/.test(stderr)) {
    return `${c.name}: not one error line: ${JSON.stringify(stderr.slice(0, 400))}`;
  }
  if (!new RegExp(c.expect).test(stderr)) return `${c.name}: does not name /${c.expect}/: ${stderr.trim()}`;
  return undefined;
}

Deno.test(`${cases.length} bad inputs: exit 2, one line naming the culprit`, async () => {
  assert.ok(cases.length >= 250, `${cases.length} cases`);
  const failures: string[] = [];
  // A few at a time: each case is a fresh Deno process.
  for (let i = 0; i < cases.length; i += 4) {
    const got = await Promise.all(cases.slice(i, i + 4).map(check));
    failures.push(...got.filter((x): x is string => x !== undefined));
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed:\n${failures.join("\n")}`);
});
