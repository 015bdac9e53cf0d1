/**
 * tasks/code/lcb.ts and the lcb task: the fixture's records (tests/fixtures/lcb/problems.jsonl, made by make.py)
 * as code problems: both encodings of the private tests, starter code and func_name, the date window (the
 * paper's by default, its bounds inclusive as midnight), the text the model reads, and bad fields as one line.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { InputError } from "../../../engine/errors.ts";
import { lcbProblem, lcbProblems, loadLcbTexts, PAPER_DATES, parseLcbDates } from "../../../tasks/code/lcb.ts";
import { loadTask, TASKS } from "../../../tasks/registry.ts";
import { everyRecord, type RawRecord } from "../../../tasks/records.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/lcb/problems.jsonl", import.meta.url));
const ROWS: Record<string, unknown>[] = readFileSync(FIXTURE, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const records = (rows = ROWS): RawRecord[] =>
  rows.map((value, i) => ({ file: "p.jsonl", line: i + 1, index: i, value }));

/** What `fn` prints on stderr (the loader says how many problems it took). */
function stderrOf<T>(fn: () => T): { value: T; printed: string[] } {
  const printed: string[] = [], error = console.error;
  console.error = (...a: unknown[]) => void printed.push(a.join(" "));
  try {
    return { value: fn(), printed };
  } finally {
    console.error = error;
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "hogwild-lcb-"));
}

Deno.test("lcb: the paper's window by default, bounds inclusive at midnight; the count printed", () => {
  assert.deepEqual(PAPER_DATES, { from: "2024-08-01", to: "2025-02-01" });
  const { value, printed } = stderrOf(() => lcbProblems(records()));
  // 2024-08-01T00:00:00 and 2025-02-01T00:00:00 are in; 2024-07-31T23:59:59 and 2025-02-01T19:30:00 are not
  assert.deepEqual(value.map((p) => p.id), ["lcbx1_a", "lcbx2_b", "9001", "9002", "lcbx6_c"]);
  assert.deepEqual(printed, ["lcb: 5 of 7 problems, contest dates 2024-08-01..2025-02-01"]);
  const quiet = <T>(fn: () => T) => stderrOf(fn).value;
  assert.equal(quiet(() => lcbProblems(records(), {})).length, 7);
  assert.deepEqual(quiet(() => lcbProblems(records(), { from: "2024-08-02" })).map((p) => p.id), [
    "lcbx2_b",
    "9001",
    "9002",
    "lcbx6_c",
    "9004",
  ]);
  assert.deepEqual(quiet(() => lcbProblems(records(), { to: "2024-08-01" })).map((p) => p.id), ["lcbx1_a", "9003"]);
  assert.throws(
    () => lcbProblems(records(), { from: "2026-01-01" }),
    /lcb: none of the 7 problems has a contest date in 2026-01-01\.\.the last \(--lcb-dates FROM:TO; ":" for all\)/,
  );
});

Deno.test("lcb: tests from JSON and from base64(zlib(pickle)) in every protocol; mode, starter, func_name", () => {
  const all = stderrOf(() => lcbProblems(records(), {})).value;
  const by = Object.fromEntries(all.map((p) => [p.id, p]));
  for (const p of all) {
    assert.equal(p.grading, "code");
    assert.deepEqual(p.golds, []);
  }
  // plain JSON private tests, multi-line input and output
  assert.deepEqual(by.lcbx1_a.code, {
    mode: "stdin",
    starter: "",
    publicTests: 1,
    tests: [
      { input: "3\n1 2\n3 4\n-5 5\n", output: "3\n7\n0\n" },
      { input: "1\n1000000000 1000000000\n", output: "2000000000\n" },
      { input: "4\n0 0\n1 -1\n2 3\n10 20\n", output: "0\n0\n5\n30\n" },
    ],
  });
  // protocol 0, non-ASCII and backslashes in the pickled text
  assert.deepEqual(by.lcbx6_c.code!.tests.slice(1, 2), [{
    input: "café naïve 😀 \\ end\n",
    output: "end \\ 😀 naïve café\n",
  }]);
  // protocols 1 to 5
  assert.deepEqual(by.lcbx2_b.code!.tests.map((t) => t.output), ["2.500000\n4\n", "-1.250000\n-1\n", "7.000000\n7\n"]);
  assert.deepEqual(by["9003"].code!.tests.map((t) => t.output).slice(1), [
    "717897987691852588770249",
    "-9223372036854775808",
    "1",
  ]);
  assert.deepEqual(by["9004"].code!.tests.map((t) => t.input), ["1\n4", "1\n3", "10\n4", "6\n3"]);
  assert.equal(by["9001"].code!.tests.length, 4);
  assert.equal(by["9002"].code!.tests.length, 3);
  assert.deepEqual({ ...by["9001"].code, tests: undefined }, {
    mode: "functional",
    funcName: "countPairs",
    starter: "class Solution:\n    def countPairs(self, nums: List[int], k: int) -> int:\n        ",
    publicTests: 1,
    tests: undefined,
  });
});

Deno.test("lcb: the text the model reads, for a stdin problem and for starter code", () => {
  const texts = loadLcbTexts();
  const [stdin, starter] = [ROWS[0], ROWS[2]].map((r, i) =>
    lcbProblem({ file: "p.jsonl", line: i + 1, index: i, value: r })
  );
  assert.equal(
    stdin.text,
    `### Question:\n${ROWS[0].question_content}\n\n### Format: ${texts.stdin}\n` +
      "```python\n# YOUR CODE HERE\n```\n\n### Answer: (use the provided format with backticks)\n\n",
  );
  assert.equal(
    starter.text,
    `### Question:\n${ROWS[2].question_content}\n\n### Format: ${texts.starter}\n` +
      "```python\nclass Solution:\n    def countPairs(self, nums: List[int], k: int) -> int:\n        \n```\n\n" +
      "### Answer: (use the provided format with backticks)\n\n",
  );
  assert.match(texts.stdin, /standard input/);
  assert.match(texts.starter, /starter code/);
});

Deno.test("lcb: a user's texts file replaces the project's; a bad one is one line naming file and field", () => {
  const dir = tmp(), file = join(dir, "texts.json");
  const lcbWords = {
    question: "### Question:\n{{content}}\n\n### Format: {{instruction}}\n```python\n{{code}}\n```\n\n" +
      "### Answer: (use the provided format with backticks)\n\n",
    stdin: "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the " +
      "sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, " +
      "it reads the inputs, runs the algorithm and writes output to STDOUT.",
    starter: "You will use the following starter code to write the solution to the problem and enclose your code " +
      "within delimiters.",
    placeholder: "# YOUR CODE HERE",
  };
  writeFileSync(file, JSON.stringify(lcbWords));
  const texts = loadLcbTexts(file);
  assert.deepEqual(texts, lcbWords);
  const p = lcbProblem({ file: "p.jsonl", line: 1, index: 0, value: ROWS[0] }, texts);
  assert.ok(p.text.includes(`### Format: ${lcbWords.stdin}\n`));
  const viaTask = stderrOf(() => TASKS.lcb.problems(records(), { lcbTexts: texts }, everyRecord)).value;
  assert.equal(viaTask[0].text, p.text);
  for (
    const [texts, pattern] of [
      [
        { ...lcbWords, question: "{{content}} {{code}}" },
        /texts\.json: field "question" must hold \{\{instruction\}\}/,
      ],
      [{ ...lcbWords, starter: 3 }, /texts\.json: field "starter" must be a string/],
      [{ ...lcbWords, placeholder: undefined }, /texts\.json: field "placeholder" must be a string/],
    ] as const
  ) {
    writeFileSync(file, JSON.stringify(texts));
    assert.throws(() => loadLcbTexts(file), (e: Error) => e instanceof InputError && pattern.test(e.message));
  }
});

Deno.test("--lcb-dates FROM:TO: either side may be empty; a bad value names the flag", () => {
  assert.deepEqual(parseLcbDates("2024-08-01:2025-02-01", "--lcb-dates"), { from: "2024-08-01", to: "2025-02-01" });
  assert.deepEqual(parseLcbDates("2024-08-01:", "--lcb-dates"), { from: "2024-08-01" });
  assert.deepEqual(parseLcbDates(":2025-02-01", "--lcb-dates"), { to: "2025-02-01" });
  assert.deepEqual(parseLcbDates(":", "--lcb-dates"), {});
  for (
    const [v, pattern] of [
      ["2024-08-01", /--lcb-dates: expected FROM:TO with dates YYYY-MM-DD \(either may be empty\), got "2024-08-01"/],
      ["2024-8-1:", /--lcb-dates: "2024-8-1" is not a date YYYY-MM-DD/],
      ["2024-02-30:", /"2024-02-30" is not a date/],
      [":2025-13-01", /"2025-13-01" is not a date/],
      ["2025-02-01:2024-08-01", /--lcb-dates: 2025-02-01 is after 2024-08-01/],
      ["a:b:c", /expected FROM:TO/],
    ] as const
  ) {
    assert.throws(
      () => parseLcbDates(v, "--lcb-dates"),
      (e: Error) => e instanceof InputError && pattern.test(e.message),
    );
  }
});

Deno.test("lcb: a bad field is one line naming the file, line and field", () => {
  const bad = (change: Record<string, unknown>, at = 0) => ROWS.map((r, i) => i === at ? { ...r, ...change } : r);
  const publicTests = (t: unknown) => JSON.stringify(t);
  for (
    const [rows, pattern] of [
      [bad({ metadata: "{oops" }), /^p\.jsonl:1: field "metadata" is not valid JSON$/],
      [bad({ metadata: "[]" }), /^p\.jsonl:1: field "metadata" must hold a JSON object$/],
      [bad({ metadata: '{"func_name": "two words"}' }), /field "metadata": func_name must be a Python name/],
      [
        bad({ private_test_cases: "!!!!" }),
        /^p\.jsonl:1: field "private_test_cases" is neither JSON nor base64 of zlib/,
      ],
      [bad({ private_test_cases: "{}" }), /^p\.jsonl:1: field "private_test_cases" must hold a list of tests$/],
      [bad({ public_test_cases: 7 }), /^p\.jsonl:1: field "public_test_cases" must be JSON text, got 7$/],
      [
        bad({ public_test_cases: publicTests([{ input: "1", output: 2, testtype: "stdin" }]) }),
        /^p\.jsonl:1: field "public_test_cases", test 1: expected \{"input": text, "output": text/,
      ],
      [
        bad({ public_test_cases: publicTests([{ input: "1", output: "2", testtype: "functional" }]) }),
        /"public_test_cases", test 1: testtype "functional", but the problem is stdin \(metadata has no func_name\)/,
      ],
      [
        bad({ public_test_cases: publicTests([{ input: "[1,\n2", output: "2", testtype: "functional" }]) }, 2),
        /^p\.jsonl:3: field "public_test_cases", test 1: input line 1 is not valid JSON$/,
      ],
      [
        bad({ public_test_cases: publicTests([{ input: "1", output: "NaN", testtype: "functional" }]) }, 2),
        /^p\.jsonl:3: field "public_test_cases", test 1: output is not valid JSON$/,
      ],
      [bad({ contest_date: "2024-08-01T00:00:00+00:00" }), /^p\.jsonl:1: field "contest_date" must be an ISO date/],
      [bad({ contest_date: "2024-02-30" }), /^p\.jsonl:1: field "contest_date" must be an ISO date/],
      [bad({ platform: "kattis" }), /^p\.jsonl:1: field "platform" must be one of leetcode, codeforces, atcoder/],
      [bad({ difficulty: null }), /field "difficulty" must be one of easy, medium, hard, got null/],
      [bad({ starter_code: null }), /^p\.jsonl:1: field "starter_code" must be text/],
      [bad({ question_id: undefined }), /^p\.jsonl:1: missing field "question_id"/],
      [bad({ question_content: "" }), /^p\.jsonl:1: field "question_content" is empty/],
      [bad({ public_test_cases: "[]", private_test_cases: "[]" }), /^p\.jsonl:1: the problem has no tests$/],
    ] as [Record<string, unknown>[], RegExp][]
  ) {
    assert.throws(
      () => stderrOf(() => lcbProblems(records(rows), {})),
      (e: Error) => e instanceof InputError && pattern.test(e.message) && !e.message.includes("\n"),
      String(pattern),
    );
  }
  // private tests that decompress past the cap: said as such (a zlib bomb is zlib data)
  const bomb = deflateSync(Buffer.alloc(513 << 20)).toString("base64");
  assert.throws(
    () => stderrOf(() => lcbProblems(records(bad({ private_test_cases: bomb })), {})),
    (e: Error) =>
      e instanceof InputError &&
      /^p\.jsonl:1: field "private_test_cases": its zlib data decompresses past 512 MiB, the most read$/.test(
        e.message,
      ),
  );
  // no private tests: loaded (the samples are tests) and said, with a count
  const { value, printed } = stderrOf(() => lcbProblems(records(bad({ private_test_cases: "[]" })), {}));
  assert.equal(value.length, 7);
  assert.match(
    printed[1],
    /^note: lcb: 1 of 7 problems have no private tests \(graded on their public tests alone: lcbx1_a\)/,
  );
  // func_name null is no func_name (LiveCodeBench's metadata.get), so a stdin problem
  assert.equal(
    stderrOf(() => lcbProblems(records(bad({ metadata: '{"func_name": null}' })))).value[0].code!.mode,
    "stdin",
  );
  // outside the window only the date is read: a bad field there does not stop a run of the window
  assert.equal(stderrOf(() => lcbProblems(records(bad({ metadata: "{oops" }, 4)))).value.length, 5);
});

Deno.test("--task lcb: --data FILE, the --data-dir layout, the hub's five files; 880 records a release", async () => {
  const quietly = async <T>(p: () => Promise<T>) => {
    const error = console.error;
    console.error = () => {};
    try {
      return await p();
    } finally {
      console.error = error;
    }
  };
  const spec = TASKS.lcb;
  assert.equal(spec.finisherTokens, 1024);
  assert.equal(spec.expected, 880);
  const files = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl"];
  assert.deepEqual(spec.dataDir, { folder: "lcb", files });
  assert.deepEqual([spec.hub!.file, ...spec.hub!.rest!], files);
  const local = await quietly(() => loadTask("lcb", { data: FIXTURE }));
  assert.deepEqual(local.problems.map((p) => [p.id, p.task]).slice(0, 2), [["lcbx1_a", "lcb"], ["lcbx2_b", "lcb"]]);
  assert.equal(local.problems.length, 5);
  assert.equal((await quietly(() => loadTask("lcb", { data: FIXTURE, lcbDates: {} }))).problems.length, 7);
  // the hub's cache holding the five files: all read, in order, and the release's count checked
  const cache = tmp(), sha = "0123456789abcdef0123456789abcdef01234567";
  const root = join(cache, "datasets--livecodebench--code_generation_lite");
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(join(root, "snapshots", sha), { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha);
  const text = readFileSync(FIXTURE, "utf8").trim().split("\n");
  files.forEach((f, i) => {
    // each file its own problems (ids made unique), as the release's files hold different problems
    const lines = text.map((l) =>
      JSON.stringify({ ...JSON.parse(l), question_id: `${JSON.parse(l).question_id}-${i}` })
    );
    writeFileSync(join(root, "snapshots", sha, f), lines.join("\n") + "\n");
  });
  const hubOptions = { cacheDir: cache, offline: true };
  await assert.rejects(quietly(() => loadTask("lcb", { hubOptions })), /35 records, task lcb has 880/);
  const named = await quietly(() => loadTask("lcb", { hub: "hf:livecodebench/code_generation_lite", hubOptions }));
  assert.equal(named.files.length, 5);
  assert.equal(named.problems.length, 25);
  assert.equal(named.problems.at(-1)!.id, "lcbx6_c-4");
  const dataDir = tmp();
  mkdirSync(join(dataDir, "lcb"));
  writeFileSync(join(dataDir, "lcb", "test.jsonl"), readFileSync(FIXTURE));
  await assert.rejects(loadTask("lcb", { dataDir }), /lcb\/test2\.jsonl: no such file \(--data-dir /);
});
