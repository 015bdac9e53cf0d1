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
