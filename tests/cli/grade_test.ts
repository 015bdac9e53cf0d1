/** deno task grade: one verdict, a file of cases (maths and code), and bad input as one line with exit code 2. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../../engine/errors.ts";
import { CodeRunner } from "../../tasks/code/runner.ts";
import { gradeProblem } from "../../tasks/grading/grader.ts";
import type { Grading } from "../../tasks/problem.ts";
import { runTask } from "../helpers.ts";

/** deno task grade, with the task's own permissions (code cases run programs: it must work without -A). */
async function grade(...args: string[]) {
  const r = await runTask("grade", args);
  return { ...r, stderr: r.stderr.trim() };
}

/** A case file of one line `line` in `dir`: refused with one line of stderr matching `pattern`, exit 2. */
async function refusedLine(dir: string, line: Record<string, unknown>, pattern: RegExp) {
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, JSON.stringify(line) + "\n");
  const r = await grade("--cases", bad);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split("\n").length, 1, r.stderr);
}

Deno.test("grade --pred --gold gives one JSON verdict", async () => {
  const r = await grade("--pred", "so \\boxed{\\dfrac{1}{2}}", "--gold", "0.5", "--mode", "strict");
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.extracted, "\\dfrac{1}{2}");
  assert.equal(v.equal_strict, true);
  assert.equal(v.equal, true);
  assert.equal(v.grader, "hogwild-grader/15");
});

Deno.test("grade --cases adds the verdict fields to every line and keeps the others", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const cases = join(dir, "cases.jsonl"), out = join(dir, "out.jsonl");
  writeFileSync(
    cases,
    [
      JSON.stringify({ pred: "\\boxed{12:00}", gold: "1:00", id: "a" }),
      JSON.stringify({ pred: "the answer is 7", gold: ["7", "seven"], id: "b" }),
      // a maths data set's question text, as MATH and AIME name it: a field like any other, not a code problem
      JSON.stringify({ problem: "What is 3 + 4?", pred: "\\boxed{7}", gold: "7", id: "c" }),
    ].join("\n") + "\n",
  );
  const r = await grade("--cases", cases, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.id, l.extracted, l.equal_strict, l.equal_lenient]), [
    [
      "a",
      "12:00",
      false,
      false,
    ],
    ["b", null, false, true],
    ["c", "7", true, true],
  ]);
  assert.equal(lines[2].problem, "What is 3 + 4?");
  assert.ok(lines.every((l) => typeof l.ms === "number"));
});

Deno.test('grade --cases grades a line as its "grading" says, as the bench grades its records', async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const cases = join(dir, "cases.jsonl"), out = join(dir, "out.jsonl");
  const lines = [
    { pred: "\\boxed{300, 540, 310, 20, 64}", gold: ["300", "540", "310", "20", "64"], grading: "list" },
    { pred: "\\boxed{A = 14}", gold: ["A = 14", "B = 8", "C = 20", "D = 24"], grading: "parts" },
    { pred: "\\boxed{540}", gold: ["300", "540"], grading: "single" },
    { pred: "\\boxed{540}", gold: ["300", "540"] },
  ];
  writeFileSync(cases, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const r = await grade("--cases", cases, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const got = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  // the verdicts and scores a bench record holds for the same answer (gradeProblem, the bench's grader)
  const bench = lines.map((l) => gradeProblem({ golds: l.gold, grading: (l.grading ?? "single") as Grading }, l.pred));
  assert.deepEqual(got.map((g) => [g.equal_strict, g.score_strict]), [[true, 1], [false, 0.25], [true, undefined], [
    true,
    undefined,
  ]]);
  assert.deepEqual(got.map((g) => g.equal_strict), bench.map((b) => b.equal_strict));
  assert.deepEqual(
    got.slice(0, 2).map((g) => [g.score_strict, g.score_lenient]),
    bench.slice(0, 2).map((b) => [
      b.score_strict,
      b.score_lenient,
    ]),
  );
  assert.equal(
    r.stderr,
    "4 graded: 3 equal (strict), 3 (lenient), 0 timed out; scores 3.25 of 4 (strict), 3.25 (lenient)",
  );
  for (
    const [line, pattern] of [
      [
        { pred: "x", gold: "1", grading: "lists" },
        /bad\.jsonl:1: "grading": expected "single", "list" or "parts", got "lists"/,
      ],
      [
        { pred: "x", gold: "1", grading: "code" },
        /bad\.jsonl:1: "grading": expected "single", "list" or "parts", got "code"/,
      ],
      [
        { pred: "x", gold: ["A = 1", "B"], grading: "parts" },
        /bad\.jsonl:1: "gold": "parts" gold "B": expected NAME = INTEGER/,
      ],
    ] as [Record<string, unknown>, RegExp][]
  ) {
    await refusedLine(dir, line, pattern);
  }
});

Deno.test("grade --cases reads its file as data sets are read: numbers as written, a BOM, bad bytes and empty golds", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const cases = join(dir, "cases.txt"), out = join(dir, "out.jsonl"); // any name: read as JSONL
  // a number past 2^53 is graded as written (JSON.parse alone makes it ...992 and the verdict false)
  writeFileSync(
    cases,
    '\uFEFF{"pred": "\\\\boxed{9007199254740993}", "gold": 9007199254740993}\n{"pred": "\\\\boxed{7}", "gold": 7}\n',
  );
  const r = await grade("--cases", cases, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.gold, l.equal_strict]), [["9007199254740993", true], [7, true]]);
  for (
    const [text, said] of [
      [
        new Uint8Array([
          ...new TextEncoder().encode('{"pred": "\\\\boxed{1}", "gold": "1"}\n{"pred": "'),
          0xff,
          0x22,
          0x7d,
        ]),
        /:2: not valid UTF-8/,
      ],
      ['{"pred": "\\\\boxed{1}", "gold": ""}\n', /:1: "gold" is empty/],
      ['{"pred": "\\\\boxed{1}", "gold": ["1", ""]}\n', /:1: "gold" must be a string or a list of strings, none empty/],
      ['{"pred": "\\\\boxed{\\\\theta}", "gold": "\\theta"}\n', /:1: "gold": holds a "\\t" \("\\theta"\)/],
    ] as [string | Uint8Array, RegExp][]
  ) {
    writeFileSync(cases, text);
    const bad = await grade("--cases", cases);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, said);
  }
});

Deno.test("bad input to grade: one line, exit code 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"pred": "\\\\boxed{1}", "gold": "1"}\n{oops\n');
  for (
    const [args, pattern] of [
      [["--cases", bad], /bad\.jsonl:2: not valid JSON/],
      [["--pred", "x"], /give --pred and --gold/],
      [["--pred", "x", "--gold", "y", "--mode", "loose"], /--mode: expected strict or lenient, got "loose"/],
      [["--cases", join(dir, "none.jsonl")], /^error: --cases .*none\.jsonl: no such file$/],
    ] as [string[], RegExp][]
  ) {
    const r = await grade(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n")[0].startsWith("error: "), true);
  }
});

Deno.test("answers the symbolic engine cannot settle count as wrong, keep their extraction, and print no stack", async () => {
  const sqrt = "\\sqrt{".repeat(1000) + "2" + "}".repeat(1000);
  for (const [pred, gold] of [["\\boxed{10^{10^{10}}}", "10^{10^{10}}+1"], [`\\boxed{${sqrt}}`, "2"]]) {
    const out = await grade("--pred", pred, "--gold", gold, "--mode", "lenient");
    assert.equal(out.code, 0);
    assert.equal(out.stderr, "", "no stack");
    const r = JSON.parse(out.stdout);
    assert.equal(r.extracted, pred.slice("\\boxed{".length, -1));
    assert.equal(r.extracted_lenient, r.extracted);
    assert.equal(r.equal_strict, false);
    assert.equal(r.equal, false);
  }
});

/** The fixture's code cases (tests/fixtures/lcb/cases.jsonl: LiveCodeBench rows, model texts, "expected"). */
const CODE_CASES = fileURLToPath(new URL("../fixtures/lcb/cases.jsonl", import.meta.url));
const sandboxMissing = await CodeRunner.open().then(
  (r) => r.close().then(() => undefined),
  (e) => {
    if (!(e instanceof InputError)) throw e;
    return e.message;
  },
);

Deno.test("grade --cases: code lines, run in the sandbox, gain pass, verdict, tests, failed, ms", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const cases = join(dir, "cases.jsonl"), out = join(dir, "out.jsonl");
  const code = readFileSync(CODE_CASES, "utf8").trim().split("\n");
  // one math line among them, and one code line whose "expected" is wrong
  const flipped = { ...JSON.parse(code[0]), expected: false, id: "flipped" };
  writeFileSync(
    cases,
    [code[0], JSON.stringify({ pred: "\\boxed{7}", gold: "7", id: "m" }), ...code.slice(1), JSON.stringify(flipped)]
      .join("\n") + "\n",
  );
  const r = await grade("--cases", cases, "--out", out);
  if (sandboxMissing) {
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `error: ${sandboxMissing}`);
    console.error(`grade_test: the sandbox cannot run here, so only its error is checked: ${sandboxMissing}`);
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, code.length + 2);
  const [math] = lines.splice(1, 1);
  assert.deepEqual([math.id, math.extracted, math.equal_strict, "verdict" in math], ["m", "7", true, false]);
  for (const l of lines) {
    assert.deepEqual(
      Object.keys(l).filter((k) => ["pass", "verdict", "tests", "failed", "ms"].includes(k)),
      ["pass", "verdict", "tests", "failed", "ms"],
    );
    assert.ok(l.problem && typeof l.pred === "string", "the line's own fields kept");
  }
  assert.deepEqual(lines.map((l) => l.pass), lines.map((l, i) => i === lines.length - 1 ? true : l.expected));
  assert.deepEqual(lines.map((l) => l.verdict).slice(0, 3), ["passed", "wrong_answer", "passed"]);
  assert.equal(lines[6].verdict, "no_code");
  assert.deepEqual([lines[1].tests, lines[1].failed], [3, 1]);
  const summary = r.stderr.split("\n");
  assert.equal(summary[0], "1 graded: 1 equal (strict), 1 (lenient), 0 timed out");
  assert.equal(
    summary[1],
    `9 programs graded: 6 passed (passed 6, wrong_answer 2, no_code 1); 8 of 9 agree with "expected" (not lines ${
      code.length + 2
    })`,
  );
});

Deno.test("grade --cases: a bad code line is one line naming the file, line and field, exit code 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const row = JSON.parse(readFileSync(CODE_CASES, "utf8").split("\n")[0]).problem;
  for (
    const [line, pattern] of [
      [{ task: "lcb", pred: "x" }, /bad\.jsonl:1: "problem" must be a LiveCodeBench code_generation_lite row/],
      [{ problem: [], pred: "x" }, /bad\.jsonl:1: "problem" must be a LiveCodeBench/],
      [{ problem: row }, /bad\.jsonl:1: expected \{"pred": text, "gold": …\} or \{"pred": text, "problem": …\}/],
      [{ problem: { ...row, metadata: "{" }, pred: "x" }, /bad\.jsonl:1: field "metadata" is not valid JSON/],
      [{ problem: row, pred: "x", expected: "yes" }, /bad\.jsonl:1: "expected" must be true or false/],
      [{ problem: row, pred: "x", grading: "list" }, /bad\.jsonl:1: "grading": a code line's program is run/],
    ] as [Record<string, unknown>, RegExp][]
  ) {
    await refusedLine(dir, line, pattern);
  }
  const r = await grade("--pred", "x", "--gold", "y", "--unsafe-exec");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--unsafe-exec goes with --cases/);
  // as the bench refuses it without a code task: a flag that would do nothing is a mistake said at once
  const maths = join(dir, "maths.jsonl");
  writeFileSync(maths, JSON.stringify({ pred: "\\boxed{1}", gold: "1" }) + "\n");
  const none = await grade("--cases", maths, "--unsafe-exec");
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /maths\.jsonl: --unsafe-exec goes with code cases, and the file has none/);
});
