/**
 * tasks/code/compare.ts against Python itself: every expectation in the tables was computed by Python
 * (tests/fixtures/lcb/make.py, its version in the table) with LiveCodeBench's rules: grade_stdio's line and
 * Decimal comparison, and grade_call_based's `value == json.loads(expected)`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resultMatches, stdoutMatches } from "../../../tasks/code/compare.ts";

const table = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/lcb/${name}`, import.meta.url), "utf8"));

Deno.test("stdoutMatches: Python's verdict on every pair (lines, whitespace, Decimal's syntax and limits)", () => {
  const t = table("compare_stdout.json");
  assert.ok(t.cases.length > 100, "the table loaded");
  const wrong = t.cases.filter((c: { got: string; expected: string; equal: boolean | "raises" }) =>
    // a signalling NaN makes Python's comparison raise (LiveCodeBench: a runtime error): here it does not match
    stdoutMatches(c.got, c.expected) !== (c.equal === true)
  );
  assert.deepEqual(wrong, [], `disagreements with Python ${t.python}`);
  assert.ok(t.cases.some((c: { equal: unknown }) => c.equal === "raises"));
});

Deno.test("resultMatches: Python's == on every pair (1 == 1.0 == True, big ints, floats, dicts, tuples)", () => {
  const t = table("compare_result.json");
  assert.ok(t.cases.length > 60, "the table loaded");
  const wrong = t.cases.filter((c: { got: string; expected: string; equal: boolean }) =>
    resultMatches(c.got, c.expected) !== c.equal
  );
  assert.deepEqual(wrong, [], `disagreements with Python ${t.python}`);
});

Deno.test("resultMatches: what is not the driver's JSON never matches; a malformed tag matches nothing", () => {
  assert.equal(resultMatches("", "1"), false);
  assert.equal(resultMatches("1", "not json"), false);
  assert.equal(resultMatches('{"int": "x1"}', "1"), false);
  assert.equal(resultMatches('{"a": 1}', '{"a": 1}'), false); // a plain object is no encoding of a dict
  assert.equal(resultMatches('{"dict": [["a", 1], ["a", 1]]}', '{"a": 1, "b": 1}'), false);
  assert.equal(resultMatches('{"repr": "Fraction"}', "1"), false);
});

Deno.test("stdoutMatches: a long output is compared in linear time", () => {
  const n = 200_000, got = "1 ".repeat(n) + "\n" + " ".repeat(n) + "x", expected = "1.0 ".repeat(n) + "\nx";
  const t0 = performance.now();
  assert.equal(stdoutMatches(got, expected), true);
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
});

Deno.test("huge numbers are compared by their digits' text: right, and without a bigint of them", () => {
  // (the reviewer's outputs: 1e followed by 60 million nines, {"int": 130 million nines}; a bigint of either
  // stalled the host's thread for 14 and 36 s)
  for (const n of [30, 401, 5000, 1_000_000]) {
    const nines = "9".repeat(n), zeros = "0".repeat(n);
    const stdout: [string, string, boolean][] = [
      [`1e${nines}`, "0", false], // past Decimal's exponent: not a number, and not the text "0"
      [`1e-${nines}`, "0", false],
      [`0e${nines}`, "0", n <= 18], // Decimal refuses an exponent past its limits, whatever the coefficient
      [`1e${"0".repeat(n)}5`, "100000", true], // leading zeros of an exponent count for nothing
      [nines, nines, true],
      [`${zeros}${nines}`, `${nines}.${zeros}`, true],
      [`5${zeros}`, `5e${n}`, true],
      [`5${zeros}`, `5e${n + 1}`, false],
      [`0.${zeros}1`, `1e-${n + 1}`, true],
      [`1${zeros}1`, `1${zeros}10e-1`, true], // zeros inside the digits are digits
      [`1${zeros}1`, `1${zeros}2`, false],
      ["٣".repeat(n), "3".repeat(n), true], // Arabic-Indic digits, one by one
      ["٣".repeat(n) + "x", "3".repeat(n), false],
    ];
    for (const [got, expected, equal] of stdout) {
      assert.equal(stdoutMatches(got, expected), equal, `${n}: ${got.slice(0, 40)} vs ${expected.slice(0, 40)}`);
    }
    const big = JSON.stringify("9".repeat(n));
    const functional: [string, string, boolean][] = [
      [`{"int": ${big}}`, "0", false],
      [`{"int": ${big}}`, nines, true], // an expected integer of the same digits
      [`{"int": ${big}}`, `1${nines.slice(1)}`, false],
      [`{"int": "-${nines}"}`, `-${nines}`, true],
      [`{"int": "000${nines}"}`, nines, true], // a forged line's leading zeros: the same integer
      [`{"int": ${big}}`, "1e308", false],
      [`{"ratio": [${big}, "1"]}`, nines, true], // a whole ratio is its integer
      [`{"ratio": ["1", "1${zeros}"]}`, "0", false],
      [`{"ratio": [${big}, "2"]}`, nines, false],
    ];
    for (const [got, expected, equal] of functional) {
      assert.equal(resultMatches(got, expected), equal, `${n}: ${got.slice(0, 40)} vs ${expected.slice(0, 40)}`);
    }
  }
  // within a float's size the ratio still compares by exact value
  assert.equal(resultMatches('{"ratio": ["1", "4"]}', "0.25"), true);
  assert.equal(resultMatches(`{"int": "${BigInt(1e300)}"}`, "1e300"), true);
  assert.equal(resultMatches(`{"int": "${BigInt(1e300) + 1n}"}`, "1e300"), false);
});
