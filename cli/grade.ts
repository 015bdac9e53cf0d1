/**
 * deno task grade: the grader from the command line.
 *
 *   grade --pred TEXT --gold TEXT [--mode strict|lenient]      one verdict as JSON
 *   grade --cases FILE.jsonl [--out FILE] [--timeout-ms N]      each line {"pred", "gold", …} gets {"extracted",
 *         [--unsafe-exec]                                       "extracted_lenient", "equal_strict", "equal_lenient",
 *                                                               "ms"};
 *                                                               each code line {"problem": a LiveCodeBench row,
 *                                                               "pred", …} gets {"pass", "verdict", "tests",
 *                                                               "failed", "ms"} (its program run in the sandbox)
 * A maths line's "grading" ("single" when absent, "list", "parts") says what a list gold means, as in the
 * bench's records; "list" and "parts" lines also get {"score_strict", "score_lenient"}. Other fields pass
 * through. A code line's "expected" (true|false) is compared with its "pass", and the agreement reported at
 * the end.
 */
import { checkOutputFiles, checkPathFlags, pathInfo, replaceFile } from "../engine/files.ts";
import { check, MAX_TIMER_MS, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { gradeCases, readCases } from "../tasks/grading/case_file.ts";
import { GradePool } from "../tasks/grading/pool.ts";
import { CodeRunner } from "../tasks/code/runner.ts";

const USAGE = `usage: deno task grade --pred TEXT --gold TEXT [--mode strict|lenient]
       deno task grade --cases FILE.jsonl [--out FILE] [--timeout-ms 10000] [--unsafe-exec]

--cases: one JSON object a line, either maths {"pred": text, "gold": text or [texts], "grading"?: …, …}, or code
  {"problem": a LiveCodeBench code_generation_lite row, "pred": the model's text, "expected"?: true|false, …}
  (or with "task": "lcb"): the program in pred's last \`\`\` block runs in the sandbox on the row's tests;
  a "problem" that is text is a maths line's own field
"grading" (as the bench grades a task's problems; verdicts equal_strict/equal_lenient, "list" and "parts" lines
  also score_strict/score_lenient, the fraction right):
  "single" (the default): the boxed answer equals any one gold (a list gold: the answers accepted)
  "list": the box's comma-separated answers, in order, against the golds (a list gold: one answer a part)
  "parts": the box's NAME = INTEGER entries, read by name (a list gold: "A = 14", "B = 8", … one a part)
--unsafe-exec: code cases run WITHOUT the sandbox (bubblewrap); only for code you trust`;

export const OPTIONS = {
  // an empty answer is one to grade (a model's that wrote nothing)
  pred: { type: "string", empty: true },
  gold: { type: "string" },
  mode: { type: "string" },
  cases: { type: "string" },
  out: { type: "string" },
  "timeout-ms": { type: "string", default: "10000" },
  "unsafe-exec": { type: "boolean", default: false },
} as const;

async function main() {
  const { values: f } = parseFlags(OPTIONS, USAGE);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { cases: "file", out: "file" });
  const timeoutMs = parseInteger(f["timeout-ms"], "--timeout-ms", 1, MAX_TIMER_MS);
  check(
    f.mode === undefined || f.mode === "strict" || f.mode === "lenient",
    `--mode: expected strict or lenient, got "${f.mode}"`,
  );
  check(f.cases !== undefined || !f["unsafe-exec"], "--unsafe-exec goes with --cases (code cases)");
  check(f.cases !== undefined || f.out === undefined, "--out goes with --cases (one verdict goes to stdout)");
  checkOutputFiles({ "--out": f.out }, { "--cases": f.cases });
  check(f.cases === undefined || pathInfo(f.cases, "--cases") !== undefined, `--cases ${f.cases}: no such file`);
  const pool = new GradePool({ workers: 2, timeoutMs });
  let runner: CodeRunner | undefined;
  try {
    if (f.cases !== undefined) {
      check(
        f.pred === undefined && f.gold === undefined,
        "give either --cases or --pred and --gold (--help for the usage)",
      );
      const cases = await readCases(f.cases);
      const code = cases.filter((c) => c.code);
      check(code.length || !f["unsafe-exec"], `${f.cases}: --unsafe-exec goes with code cases, and the file has none`);
      if (code.length) {
        check(
          Deno.permissions.querySync({ name: "run" }).state === "granted",
          `${f.cases}: code cases run programs, which needs deno's --allow-run`,
        );
        runner = await CodeRunner.open({ unsafe: f["unsafe-exec"] });
      }
      const { lines, summary } = await gradeCases(cases, pool, runner);
      if (f.out) replaceFile(f.out, lines.join("\n") + "\n");
      else console.log(lines.join("\n"));
      for (const s of summary) console.error(s);
    } else {
      check(
        f.pred !== undefined && f.gold !== undefined,
        "give --pred and --gold (or --cases FILE; --help for the usage)",
      );
      check(f.gold.trim() !== "", "--gold: expected an answer, got an empty text");
      const r = await pool.grade({ generated: f.pred, golds: [f.gold], grading: "single" });
      const out = {
        extracted: r.extracted,
        extracted_lenient: r.extracted_lenient,
        equal_strict: r.equal_strict,
        equal_lenient: r.equal_lenient,
        ms: +r.ms.toFixed(2),
        grader: r.grader,
        ...(r.error ? { grader_error: r.error } : {}),
        // a comparison stopped at its time limit is not an answer not found: say which
        ...(r.timed_out ? { timed_out: true } : {}),
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

if (import.meta.main) runMain(main);
