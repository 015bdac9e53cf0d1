/**
 * A code problem as the harness carries it: how its program is run, and its tests. Expected outputs stay on
 * the host: the sandbox is given the program and the inputs, never what the outputs should be.
 */

/** One test: the input (stdin text, or one JSON argument a line) and the expected output. */
export interface CodeTest {
  input: string;
  output: string;
}

export interface CodeSpec {
  /** "stdin": a program that reads stdin and writes stdout; "functional": Solution().<funcName>(*args) */
  mode: "stdin" | "functional";
  /** the method to call (functional) */
  funcName?: string;
  /** the signature the program must fill in ("" for stdin problems) */
  starter: string;
  /** public tests first, then private ones */
  tests: CodeTest[];
  /** how many of `tests` are public */
  publicTests: number;
}

/** How a program fared on a problem's tests (the first that fails decides; "passed": every test passed). */
export type CodeVerdict =
  | "passed"
  | "wrong_answer"
  | "timeout"
  | "runtime_error"
  | "memory"
  | "output_limit"
  | "no_code"
  | "syntax_error";

export const CODE_VERDICTS: readonly CodeVerdict[] = [
  "passed",
  "wrong_answer",
  "timeout",
  "runtime_error",
  "memory",
  "output_limit",
  "no_code",
  "syntax_error",
];

export interface CodeGrade {
  pass: boolean;
  verdict: CodeVerdict;
  /** the problem's tests */
  tests: number;
  /** tests not passed: the first that failed and every one after it (not run, as LiveCodeBench stops there) */
  failed: number;
  /** wall time of the grading, ms */
  ms: number;
  /** why it failed, briefly (which test, the error's last line), for the records */
  detail?: string;
}
