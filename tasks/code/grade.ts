/**
 * A code answer's grade: the program (extracted as LiveCodeBench extracts it) run in the sandbox on the
 * problem's tests, public then private, each output compared on the host as LiveCodeBench compares it; the
 * first test that fails decides the verdict, and the run stops there, as LiveCodeBench's does.
 */
import { resultMatches, stdoutMatches } from "./compare.ts";
import { extractCode } from "./extract.ts";
import type { CodeGrade, CodeSpec, CodeVerdict } from "./problem.ts";
import type { CodeRunner, RunResult, TestOutcome } from "./runner.ts";

/**
 * What code grading is, in every record that holds a code verdict: bump it when a change of extraction,
 * comparison or verdicts can change one.
 */
export const CODE_GRADER_VERSION = "lcb-runner-compatible/8";

/** The longest detail a grade keeps (it is for a person reading the records). */
const DETAIL = 200;

/** The program `code` (undefined: the answer held none) on `spec`'s tests. */
export async function gradeProgram(spec: CodeSpec, code: string | undefined, runner: CodeRunner): Promise<CodeGrade> {
  const t0 = performance.now(), tests = spec.tests.length;
  const grade = (ms: number, [verdict, passed, detail]: Verdict): CodeGrade => ({
    pass: verdict === "passed",
    verdict,
    tests,
    failed: tests - passed,
    ms,
    ...(detail ? { detail: clip(detail) } : {}),
  });
  if (code === undefined) return grade(performance.now() - t0, ["no_code", 0, "no code block in the answer"]);
  const same = spec.mode === "stdin" ? stdoutMatches : resultMatches;
  const judged: boolean[] = [];
  const r = await runner.run(
    { mode: spec.mode, code, funcName: spec.funcName },
    spec.tests.map((t) => t.input),
    (i, o) => (judged[i] = same(o.out, spec.tests[i].output)),
  );
  // the run's own time (the wait for a free sandbox left out), comparisons included
  return grade(r.ms, verdict(spec, r, judged));
}

/** A verdict, how many tests passed before it, and why. */
type Verdict = [CodeVerdict, number, string?];

/** The first test that failed decides; `judged[i]`: whether test i's output was right. */
function verdict(spec: CodeSpec, r: RunResult, judged: boolean[]): Verdict {
  const tests = spec.tests.length;
  if (r.compile) {
    const v = r.compile.status;
    return [v, 0, `${v.replace("_", " ")} before the tests: ${r.compile.error}`];
  }
  const failing = r.outcomes.findIndex((o, i) => o.status !== "ok" || !judged[i]);
  if (failing >= 0) {
    const o = r.outcomes[failing];
    return [
      o.status === "ok" ? "wrong_answer" : o.status,
      failing,
      `${which(spec, failing)}: ${why(spec, failing, o)}`,
    ];
  }
  const ran = r.outcomes.length;
  if (r.capped) return ["timeout", ran, `the problem's overall time ran out after ${ran} tests`];
  if (ran < tests) return ["runtime_error", ran, `the run stopped after ${ran} of ${tests} tests`];
  return ["passed", tests];
}

/** A model's answer text: its program extracted, then graded. */
export function gradeCodeAnswer(spec: CodeSpec, modelText: string, runner: CodeRunner): Promise<CodeGrade> {
  return gradeProgram(spec, extractCode(modelText), runner);
}

/** "test 3 of 12 (private)" */
function which(spec: CodeSpec, i: number): string {
  return `test ${i + 1} of ${spec.tests.length} (${i < spec.publicTests ? "public" : "private"})`;
}

function why(spec: CodeSpec, i: number, o: TestOutcome): string {
  if (o.status === "ok") {
    const half = (s: string) => JSON.stringify(clip(s, DETAIL / 2));
    return `expected ${half(spec.tests[i].output)}, got ${half(o.out)}`;
  }
  const what = o.status.replace("_", " ");
  return o.error ? `${what}: ${o.error}` : what;
}

/** `s`, cut to `most` characters with an ellipsis. */
function clip(s: string, most = DETAIL): string {
  return s.length > most ? `${s.slice(0, most - 1)}…` : s;
}
