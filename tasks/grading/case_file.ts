/**
 * A file of grading cases (`deno task grade --cases`): one JSON object a line, a maths case ({"pred", "gold",
 * "grading"?: "single" | "list" | "parts", graded as the bench grades a problem so graded}) or a code case
 * ({"pred", "problem": a LiveCodeBench row}); each graded, its line returned with the verdict's fields added,
 * and a summary of the verdicts.
 */
import { check, InputError } from "../../engine/errors.ts";
import { brokenAnswer, type RawRecord, readRecords, textField } from "../records.ts";
import { gradeCodeAnswer } from "../code/grade.ts";
import { lcbProblem, loadLcbTexts } from "../code/lcb.ts";
import type { CodeGrade, CodeSpec } from "../code/problem.ts";
import type { CodeRunner } from "../code/runner.ts";
import type { GradeJob, GradePool } from "./pool.ts";
import { readPartsGold } from "./parts.ts";

type MathsGrading = GradeJob["grading"];
const GRADINGS: readonly MathsGrading[] = ["single", "list", "parts"];

/** A maths line's "grading", as a bench record's: "single" when absent. */
function gradingOf(r: RawRecord, golds: readonly string[]): MathsGrading {
  const g = r.value.grading ?? "single", where = `${r.file}:${r.line}`;
  check(
    GRADINGS.includes(g as MathsGrading),
    `${where}: "grading": expected "single", "list" or "parts", got ${JSON.stringify(g)}`,
  );
  if (g === "parts") {
    // a gold the parts grader cannot read would make every verdict a grader error
    try {
      golds.forEach(readPartsGold);
    } catch (e) {
      throw new InputError(`${where}: "gold": ${(e as Error).message}`);
    }
  }
  return g as MathsGrading;
}

/** A line's golds as written (a number's text as the file wrote it: 9007199254740993 is no double). */
function golds(r: RawRecord): string[] {
  const v = r.value.gold, where = `${r.file}:${r.line}`;
  check(v !== "", `${where}: "gold" is empty`);
  let out: string[];
  if (typeof v === "string" || typeof v === "number") out = [textField(r, ["gold"])];
  else {
    check(
      Array.isArray(v) && v.length > 0 && v.every((g) => typeof g === "string" && g !== ""),
      `${where}: "gold" must be a string or a list of strings, none empty`,
    );
    out = v as string[];
  }
  for (const g of out) {
    const broken = brokenAnswer(g);
    check(!broken, `${where}: "gold": ${broken} (a broken escape: \\theta written with one backslash?)`);
  }
  return out;
}

/** One line of a case file: a maths case (its golds) or a code case (its problem's tests). */
export type Case = {
  v: Record<string, unknown>;
  n: number;
  golds: string[];
  grading: MathsGrading;
  code?: undefined;
} | {
  v: Record<string, unknown>;
  n: number;
  code: CodeSpec;
};

/**
 * A case file: one JSON object a line with "pred" and "gold", or "pred" and "problem"; read as data sets are
 * (tasks/records.ts: UTF-8, numbers as written, broken escapes refused), but for "pred": model output, not a data
 * set's text, its control characters (a form feed in a program) its own.
 */
export async function readCases(file: string): Promise<Case[]> {
  const { records } = await readRecords([file], { jsonl: true, modelText: ["pred"] });
  let texts: ReturnType<typeof loadLcbTexts> | undefined;
  return records.map((r) => {
    const v = r.value, n = r.line;
    check(
      typeof v.pred === "string",
      `${file}:${n}: expected {"pred": text, "gold": …} or {"pred": text, "problem": …}`,
    );
    // A "problem" that is text is a maths line's own field (MATH and AIME name their question so), kept as is.
    const code = v.task === "lcb" || ("problem" in v && typeof v.problem !== "string");
    if (!code) {
      const g = golds(r);
      // the out line shows the gold graded: a number JSON would print otherwise goes as its text
      return {
        v: typeof v.gold === "number" && String(v.gold) !== g[0] ? { ...v, gold: g[0] } : v,
        n,
        golds: g,
        grading: gradingOf(r, g),
      };
    }
    const row = v.problem;
    check(
      row && typeof row === "object" && !Array.isArray(row),
      `${file}:${n}: "problem" must be a LiveCodeBench code_generation_lite row (a JSON object)`,
    );
    check(
      v.grading === undefined || v.grading === "code",
      `${file}:${n}: "grading": a code line's program is run on its tests ("code"), got ${JSON.stringify(v.grading)}`,
    );
    check(
      v.expected === undefined || typeof v.expected === "boolean",
      `${file}:${n}: "expected" must be true or false`,
    );
    const p = lcbProblem(
      { file, line: n, index: n - 1, value: row as Record<string, unknown> },
      texts ??= loadLcbTexts(),
    );
    return { v, n, code: p.code! };
  });
}

type MathsGrade = Awaited<ReturnType<GradePool["grade"]>>;

/**
 * Grades every case (maths in `pool`, code by `runner`, which code cases need): each case's line with the
 * verdict's fields added, and one summary line per kind of case.
 */
export async function gradeCases(
  cases: Case[],
  pool: GradePool,
  runner?: CodeRunner,
): Promise<{ lines: string[]; summary: string[] }> {
  const results = await Promise.all(
    cases.map((c) =>
      c.code
        ? gradeCodeAnswer(c.code, c.v.pred as string, runner!)
        : pool.grade({ generated: c.v.pred as string, golds: c.golds, grading: c.grading })
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
    const r = results[i] as MathsGrade;
    return JSON.stringify({
      ...c.v,
      extracted: r.extracted,
      // the lenient verdict's answer too, as --pred prints it: a lenient verdict is audited from its line
      extracted_lenient: r.extracted_lenient,
      equal_strict: r.equal_strict,
      equal_lenient: r.equal_lenient,
      // "list" and "parts" score the fraction of answers right, as the bench's records do
      ...(c.grading !== "single" ? { score_strict: r.score_strict, score_lenient: r.score_lenient } : {}),
      ms: +r.ms.toFixed(2),
      ...(r.timed_out ? { timed_out: true } : {}),
      ...(r.error ? { grader_error: r.error } : {}),
    });
  });
  const summary: string[] = [];
  const maths = results.filter((_, i) => !cases[i].code) as MathsGrade[];
  if (maths.length) {
    const sum = (k: "score_strict" | "score_lenient") => +maths.reduce((a, r) => a + r[k], 0).toFixed(4);
    const scores = cases.some((c) => !c.code && c.grading !== "single")
      ? `; scores ${sum("score_strict")} of ${maths.length} (strict), ${sum("score_lenient")} (lenient)`
      : "";
    summary.push(
      `${maths.length} graded: ${maths.filter((r) => r.equal_strict).length} equal (strict), ${
        maths.filter((r) => r.equal_lenient).length
      } (lenient), ${maths.filter((r) => r.timed_out).length} timed out${scores}`,
    );
  }
  const code = cases.filter((c) => c.code);
  if (code.length) summary.push(codeSummary(code, results.filter((_, i) => cases[i].code) as CodeGrade[]));
  return { lines, summary };
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
