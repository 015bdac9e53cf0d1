/**
 * tasks/code/grade.ts: the verdict table through the real runner and sandbox (tasks/code/runner.ts), on the
 * fixture's problems (tests/fixtures/lcb/): right, wrong, right on the public tests only, whitespace, several
 * lines, two code blocks, no code, a syntax error, an exception, an endless loop, 8 GB, endless output,
 * functional answers with and without imports, a tuple, big integers and floats. Skipped, with one line saying
 * why, only where CodeRunner.open says the sandbox cannot run here.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openOrSkip } from "../../helpers.ts";
import { CODE_GRADER_VERSION, gradeCodeAnswer, gradeProgram } from "../../../tasks/code/grade.ts";
import { lcbProblem } from "../../../tasks/code/lcb.ts";
import type { CodeSpec } from "../../../tasks/code/problem.ts";
import { CodeRunner, type RunResult } from "../../../tasks/code/runner.ts";

const FIXTURES = new URL("../../fixtures/lcb/", import.meta.url);
const ROWS: Record<string, unknown>[] = readFileSync(new URL("problems.jsonl", FIXTURES), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l));
const SOLUTIONS: Record<string, Record<string, string>> = JSON.parse(
  readFileSync(new URL("solutions.json", FIXTURES), "utf8"),
);
const SPECS: Record<string, CodeSpec> = Object.fromEntries(ROWS.map((r, i) => {
  const p = lcbProblem({ file: "problems.jsonl", line: i + 1, index: i, value: r });
  return [p.id, p.code!];
}));
const LIMITS = { testSeconds: 1 };

// where the sandbox cannot run (CI excepted) the verdict table is skipped, the reason said once
const sandbox = await openOrSkip("grade_test's verdict table", () => CodeRunner.open({ limits: LIMITS }));
await sandbox?.close();

const fenced = (code: string) => "Let me think.\n\n```python\n" + code + "```\n";

/** [what, problem, answer text, verdict, tests failed, a pattern the detail matches] */
const TABLE: [string, string, string, string, number, RegExp?][] = [
  ["right", "lcbx1_a", fenced(SOLUTIONS.lcbx1_a.right), "passed", 0],
  [
    "wrong",
    "lcbx1_a",
    fenced(SOLUTIONS.lcbx1_a.wrong),
    "wrong_answer",
    3,
    /^test 1 of 3 \(public\): expected "3\\n7\\n0\\n", got "-1\\n-1\\n-10\\n"$/,
  ],
  [
    "right on the public tests only",
    "lcbx1_a",
    fenced(SOLUTIONS.lcbx1_a.public_only),
    "wrong_answer",
    1,
    /^test 3 of 3 \(private\)/,
  ],
  ["extra whitespace", "lcbx1_a", fenced(SOLUTIONS.lcbx1_a.spaced), "passed", 0],
  ["several lines, decimals compared as numbers", "lcbx2_b", fenced(SOLUTIONS.lcbx2_b.right), "passed", 0],
  ["several lines, a number rounded", "lcbx2_b", fenced(SOLUTIONS.lcbx2_b.rounded), "wrong_answer", 3, /test 1 of 3/],
  [
    "two code blocks: the last counts",
    "lcbx1_a",
    fenced(SOLUTIONS.lcbx1_a.wrong) + "\nNo, that subtracts.\n" + fenced(SOLUTIONS.lcbx1_a.right),
    "passed",
    0,
  ],
  [
    "two code blocks: a wrong last one fails",
    "lcbx1_a",
    fenced(SOLUTIONS.lcbx1_a.right) + fenced(SOLUTIONS.lcbx1_a.wrong),
    "wrong_answer",
    3,
  ],
  ["no code", "lcbx1_a", "The answer is to add the numbers.", "no_code", 3, /no code block/],
  ["syntax error", "lcbx1_a", fenced("print(1\n"), "syntax_error", 3, /^syntax error before the tests: /],
  [
    "exception",
    "lcbx1_a",
    fenced("n = int(input())\nraise ValueError('boom')\n"),
    "runtime_error",
    3,
    /^test 1 of 3 \(public\): runtime error: .*ValueError: boom/,
  ],
  ["endless loop", "lcbx1_a", fenced("while True:\n    pass\n"), "timeout", 3, /test 1 of 3/],
  ["8 GB", "lcbx1_a", fenced("x = bytearray(8 << 30)\nprint(len(x))\n"), "memory", 3],
  [
    "100 GB of output",
    "lcbx1_a",
    fenced("s = 'x' * (1 << 20)\nfor _ in range(100 << 10):\n    print(s)\n"),
    "output_limit",
    3,
  ],
  ["functional, no imports (List, defaultdict from the prelude)", "9001", fenced(SOLUTIONS["9001"].right), "passed", 0],
  ["functional, its own imports", "9001", fenced(SOLUTIONS["9001"].own_imports), "passed", 0],
  ["a tuple returned equals a list", "9002", fenced(SOLUTIONS["9002"].tuple), "passed", 0],
  [
    "a nested tuple does not",
    "9002",
    fenced(SOLUTIONS["9002"].nested_tuple),
    "wrong_answer",
    3,
    /got "\[\{\\"repr\\": \\"tuple\\"\}\]"/,
  ],
  ["big integers", "9003", fenced(SOLUTIONS["9003"].right), "passed", 0],
  [
    "a float where big integers are expected (2**100 is exact, 3**50 is not)",
    "9003",
    fenced(SOLUTIONS["9003"].float),
    "wrong_answer",
    3,
    /^test 2 of 4 \(private\)/,
  ],
  ["floats (2.0 == 2)", "9004", fenced(SOLUTIONS["9004"].right), "passed", 0],
  ["integer division", "9004", fenced(SOLUTIONS["9004"].int_division), "wrong_answer", 4],
  ["if __name__ == '__main__', readline", "lcbx6_c", fenced(SOLUTIONS.lcbx6_c.main), "passed", 0],
];

Deno.test({
  name: "gradeCodeAnswer: the verdict table through the sandbox",
  ignore: sandbox === undefined,
  fn: async () => {
    const runner = await CodeRunner.open({ workers: 2, limits: LIMITS });
    try {
      const grades = await Promise.all(TABLE.map(([, id, text]) => gradeCodeAnswer(SPECS[id], text, runner)));
      const wrong = TABLE.flatMap(([what, id, , verdict, failed, detail], i) => {
        const g = grades[i];
        const ok = g.verdict === verdict && g.failed === failed && g.tests === SPECS[id].tests.length &&
          g.pass === (verdict === "passed") && (detail ? detail.test(g.detail ?? "") : true) &&
          (g.detail ?? "").length <= 200;
        return ok ? [] : [`${what}: got ${JSON.stringify(g)}`];
      });
      assert.deepEqual(wrong, []);
    } finally {
      await runner.close();
    }
  },
});

/** A runner that returns what it is given (and counts its runs). */
function fakeRunner(result: Omit<RunResult, "ms">) {
  const calls: string[][] = [];
  const runner = {
    run: (_p: unknown, inputs: string[], judge: (i: number, o: RunResult["outcomes"][number]) => boolean) => {
      calls.push(inputs);
      for (const [i, o] of result.outcomes.entries()) if (o.status === "ok" && !judge(i, o)) break;
      return Promise.resolve({ ...result, ms: 1 });
    },
  } as unknown as CodeRunner;
  return { runner, calls };
}

Deno.test("gradeProgram: no code runs nothing; compile errors, the overall cap, a short run: verdicts", async () => {
  const spec = SPECS.lcbx1_a;
  const none = fakeRunner({ outcomes: [] });
  const g = await gradeProgram(spec, undefined, none.runner);
  assert.deepEqual({ ...g, ms: 0 }, {
    pass: false,
    verdict: "no_code",
    tests: 3,
    failed: 3,
    ms: 0,
    detail: "no code block in the answer",
  });
  assert.equal(none.calls.length, 0);
  const ok = (out: string) => ({ status: "ok" as const, out, ms: 1 });
  for (
    const [result, verdict, failed] of [
      [
        { compile: { status: "runtime_error", error: "NameError: name 'x' is not defined" }, outcomes: [] },
        "runtime_error",
        3,
      ],
      [{ compile: { status: "syntax_error", error: "SyntaxError: invalid syntax" }, outcomes: [] }, "syntax_error", 3],
      [
        { compile: { status: "timeout", error: "TestTimeout: time limit exceeded while loading" }, outcomes: [] },
        "timeout",
        3,
      ],
      [{ outcomes: [ok("3\n7\n0\n")], capped: true }, "timeout", 2],
      [{ outcomes: [ok("3\n7\n0\n")] }, "runtime_error", 2],
      [{ outcomes: [ok("3\n7\n0"), ok("2000000000"), ok("0\n0\n5\n30")] }, "passed", 0],
      [{ outcomes: [ok("3\n7\n0"), { status: "memory", out: "", ms: 1, error: "MemoryError" }] }, "memory", 2],
    ] as [Omit<RunResult, "ms">, string, number][]
  ) {
    const g = await gradeProgram(spec, "print()", fakeRunner(result).runner);
    assert.deepEqual([g.verdict, g.failed, g.tests], [verdict, failed, 3], JSON.stringify(result));
  }
  assert.equal(CODE_GRADER_VERSION, "lcb-runner-compatible/8");
});
