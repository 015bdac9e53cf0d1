/**
 * deno task grade: the grader from the command line.
 *
 *   grade --pred TEXT --gold TEXT [--mode strict|lenient]      one verdict as JSON
 *   grade --cases FILE.jsonl [--out FILE] [--timeout-ms N]      each line {"pred", "gold", …} gets
 *         [--unsafe-exec]                                       {"extracted", "equal_strict", "equal_lenient", "ms"};
 *                                                               each code line {"problem": a LiveCodeBench row,
 *                                                               "pred", …} gets {"pass", "verdict", "tests",
 *                                                               "failed", "ms"} (its program run in the sandbox)
 * gold may be a string or a list of accepted strings; other fields pass through. A code line's "expected"
 * (true|false) is compared with its "pass", and the agreement reported at the end.
 */
import { replaceFile } from "../engine/files.ts";
import { readFileSync } from "node:fs";
import { check, InputError, oneLine, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { GradePool } from "../tasks/grading/pool.ts";
import { gradeCodeAnswer } from "../tasks/code/grade.ts";
import { lcbProblem, loadLcbTexts } from "../tasks/code/lcb.ts";
import type { CodeGrade, CodeSpec } from "../tasks/code/problem.ts";
import { CodeRunner } from "../tasks/code/runner.ts";

const USAGE = `usage: deno task grade --pred TEXT --gold TEXT [--mode strict|lenient]
       deno task grade --cases FILE.jsonl [--out FILE] [--timeout-ms 10000] [--unsafe-exec]

--cases: one JSON object a line, either maths {"pred": text, "gold": text or [texts], …}, or code
  {"problem": a LiveCodeBench code_generation_lite row, "pred": the model's text, "expected"?: true|false, …}
  (or with "task": "lcb"): the program in pred's last \`\`\` block runs in the sandbox on the row's tests;
  a "problem" that is text is a maths line's own field
--unsafe-exec: code cases run WITHOUT the sandbox (bubblewrap); only for code you trust`;

function golds(v: unknown, where: string): string[] {
  if (typeof v === "string" || typeof v === "number") return [String(v)];
  check(
    Array.isArray(v) && v.length > 0 && v.every((g) => typeof g === "string"),
    `${where}: "gold" must be a string or a list of strings`,
  );
  return v as string[];
}

/** One line of a case file: a maths case (its golds) or a code case (its problem's tests). */
type Case = { v: Record<string, unknown>; n: number; golds: string[]; code?: undefined } | {
  v: Record<string, unknown>;
  n: number;
  code: CodeSpec;
};

/** A case file: one JSON object a line with "pred" and "gold", or "pred" and "problem". */
function readCases(file: string): Case[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  let texts: ReturnType<typeof loadLcbTexts> | undefined;
  return text.split("\n").map((line, i) => ({ line, n: i + 1 })).filter((c) => c.line.trim() !== "").map(
    ({ line, n }) => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new InputError(`${file}:${n}: not valid JSON (${oneLine((e as Error).message)})`);
      }
      check(
        v && typeof v === "object" && typeof v.pred === "string",
        `${file}:${n}: expected {"pred": text, "gold": …} or {"pred": text, "problem": …}`,
      );
      // A "problem" that is text is a maths line's own field (MATH and AIME name their question so), kept as is.
      const code = v.task === "lcb" || ("problem" in v && typeof v.problem !== "string");
      if (!code) return { v, n, golds: golds(v.gold, `${file}:${n}`) };
      const row = v.problem;
      check(
        row && typeof row === "object" && !Array.isArray(row),
        `${file}:${n}: "problem" must be a LiveCodeBench code_generation_lite row (a JSON object)`,
      );
      check(
        v.expected === undefined || typeof v.expected === "boolean",
        `${file}:${n}: "expected" must be true or false`,
      );
      const p = lcbProblem({ file, line: n, value: row as Record<string, unknown> }, texts ??= loadLcbTexts());
      return { v, n, code: p.code! };
    },
  );
}

async function main() {
  const { values: f } = parseFlags({
    pred: { type: "string" },
    gold: { type: "string" },
    mode: { type: "string" },
    cases: { type: "string" },
    out: { type: "string" },
    "timeout-ms": { type: "string", default: "10000" },
    "unsafe-exec": { type: "boolean", default: false },
  }, USAGE);
  const timeoutMs = parseInteger(f["timeout-ms"], "--timeout-ms", 1);
  check(
    f.mode === undefined || f.mode === "strict" || f.mode === "lenient",
    `--mode: expected strict or lenient, got "${f.mode}"`,
  );
  check(f.cases !== undefined || !f["unsafe-exec"], "--unsafe-exec goes with --cases (code cases)");
  const pool = new GradePool({ workers: 2, timeoutMs });
  let runner: CodeRunner | undefined;
  try {
    if (f.cases !== undefined) {
      check(
        f.pred === undefined && f.gold === undefined,
        "give either --cases or --pred and --gold (--help for the usage)",
      );
      const cases = readCases(f.cases);
      const code = cases.filter((c) => c.code);
      check(code.length || !f["unsafe-exec"], `${f.cases}: --unsafe-exec goes with code cases, and the file has none`);
      if (code.length) {
        check(
          Deno.permissions.querySync({ name: "run" }).state === "granted",
          `${f.cases}: code cases run programs, which needs deno's --allow-run`,
        );
        runner = await CodeRunner.open({ unsafe: f["unsafe-exec"] });
      }
      const results = await Promise.all(
        cases.map((c) =>
          c.code
            ? gradeCodeAnswer(c.code, c.v.pred as string, runner!)
            : pool.grade({ generated: c.v.pred as string, golds: c.golds, grading: "single" })
        ),
      );
      const lines = cases.map((c, i) => {
        if (c.code) {
          const g = results[i] as CodeGrade;
          return JSON.stringify({
            ...c.v,
            pass: g.pass,
            verdict: g.verdict,
            tests: g.tests,
            failed: g.failed,
            ms: +g.ms.toFixed(2),
            ...(g.detail ? { detail: g.detail } : {}),
          });
        }
        const r = results[i] as Awaited<ReturnType<GradePool["grade"]>>;
        return JSON.stringify({
          ...c.v,
          extracted: r.extracted,
          equal_strict: r.equal_strict,
          equal_lenient: r.equal_lenient,
          ms: +r.ms.toFixed(2),
          ...(r.timed_out ? { timed_out: true } : {}),
          ...(r.error ? { grader_error: r.error } : {}),
        });
      });
      if (f.out) replaceFile(f.out, lines.join("\n") + "\n");
      else console.log(lines.join("\n"));
      const maths = results.filter((_, i) => !cases[i].code) as Awaited<ReturnType<GradePool["grade"]>>[];
      if (maths.length) {
        console.error(
          `${maths.length} graded: ${maths.filter((r) => r.equal_strict).length} equal (strict), ${
            maths.filter((r) => r.equal_lenient).length
          } (lenient), ${maths.filter((r) => r.timed_out).length} timed out`,
        );
      }
      if (code.length) console.error(codeSummary(code, results.filter((_, i) => cases[i].code) as CodeGrade[]));
    } else {
      check(
        f.pred !== undefined && f.gold !== undefined,
        "give --pred and --gold (or --cases FILE; --help for the usage)",
      );
      const r = await pool.grade({ generated: f.pred, golds: [f.gold], grading: "single" });
      const out = {
        extracted: r.extracted,
        extracted_lenient: r.extracted_lenient,
        equal_strict: r.equal_strict,
        equal_lenient: r.equal_lenient,
        ms: +r.ms.toFixed(2),
        grader: r.grader,
        ...(r.error ? { grader_error: r.error } : {}),
      };
      console.log(
        JSON.stringify(f.mode ? { ...out, equal: f.mode === "strict" ? r.equal_strict : r.equal_lenient } : out),
      );
    }
  } finally {
    pool.close();
    await runner?.close();
  }
}

/** The code cases' verdicts, and how many agree with their "expected" (the lines that do not, by number). */
function codeSummary(cases: Case[], grades: CodeGrade[]): string {
  const counts = new Map<string, number>();
  for (const g of grades) counts.set(g.verdict, (counts.get(g.verdict) ?? 0) + 1);
  const verdicts = [...counts].map(([v, k]) => `${v} ${k}`).join(", ");
  const judged = cases.map((c, i) => [c, grades[i]] as const).filter(([c]) => c.v.expected !== undefined);
  const off = judged.filter(([c, g]) => c.v.expected !== g.pass).map(([c]) => c.n);
  const agreement = judged.length
    ? `; ${judged.length - off.length} of ${judged.length} agree with "expected"${
      off.length ? ` (not lines ${off.join(", ")})` : ""
    }`
    : "";
  return `${grades.length} programs graded: ${grades.filter((g) => g.pass).length} passed (${verdicts})${agreement}`;
}

if (import.meta.main) runMain(main);
