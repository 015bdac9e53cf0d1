/** tasks/grading/equivalence.ts's normalisation as a table of named passes: each pass does what its example says. */
import assert from "node:assert/strict";
import { normalize, NORMALIZE_PASSES, voteKey } from "../../../tasks/grading/equivalence.ts";

Deno.test("every normalisation pass, alone, turns its example's input into its output", () => {
  assert.equal(new Set(NORMALIZE_PASSES.map((p) => p.name)).size, NORMALIZE_PASSES.length, "names are unique");
  for (const { name, example: [input, output], apply } of NORMALIZE_PASSES) {
    assert.notEqual(input, output, `${name}: the example shows no change`);
    assert.equal(apply(input, { keepLabels: false, listed: false }), output, name);
  }
});

Deno.test("the state passes share: labels kept on request, and a list noted before its spaces go", () => {
  assert.equal(normalize("x = 3"), "3");
  assert.equal(normalize("x = 3", true), "x=3");
  assert.equal(normalize("32,349"), "32349"); // one number
  assert.equal(normalize("32, 349"), "32,349"); // two
  assert.equal(normalize("1,000,000 dollars"), "1000000");
});

Deno.test("voteKey: the normalised form, values named one by one keeping their names in any order", () => {
  assert.equal(voteKey("x = 4"), voteKey("4"));
  assert.equal(voteKey("A = 7, B = 9"), voteKey("B=9,A=7"));
  assert.notEqual(voteKey("A = 7, B = 9"), voteKey("B = 7, A = 9"));
  assert.notEqual(voteKey("A = 7, B = 9"), voteKey("7, 9"));
  assert.equal(voteKey("A = 7,\\ B = 9,"), voteKey("A = 7, B = 9"), "typeset as the grader reads it");
  assert.notEqual(voteKey("A = 9,\\ B = 7"), voteKey("A = 7, B = 9"));
  assert.equal(voteKey("(1, 2)"), normalize("(1, 2)"));
});
