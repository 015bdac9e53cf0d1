/** Named parts ("parts", the chains task): each part's integer by its name; near misses score what they earn. */
import assert from "node:assert/strict";
import { gradeParts } from "../../../tasks/grading/parts.ts";
import { gradeProblem } from "../../../tasks/grading/grader.ts";
import { randInt, Rng } from "../../helpers.ts";

const GOLDS = ["A = 11", "B = 9", "C = 3", "D = 4"];
const both = (box: string) => [gradeParts(box, GOLDS, "strict"), gradeParts(box, GOLDS, "lenient")];

Deno.test("parts: the right answer in any order of names, or unnamed in order; lenient forms only in lenient mode", () => {
  for (
    const box of [
      "A = 11, B = 9, C = 3, D = 4",
      "A=11, B=9,C=3 , D = 4",
      "D = 4, C = 3, B = 9, A = 11",
      "11, 9, 3, 4",
      // typeset: LaTeX's spacing, a name set as text, a trailing comma
      "A = 11,\\ B = 9,\\ C = 3,\\ D = 4",
      "A = 11,\\quad B = 9,\\qquad C = 3,~D = 4",
      "\\text{A} = 11, \\mathrm{B} = 9, C = 3, D = 4",
      "A = 11, B = 9, C = 3, D = 4,",
    ]
  ) assert.deepEqual(both(`so \\boxed{${box}}`), [1, 1], box);
  assert.deepEqual(both("\\boxed{A = $11$, B = 9., C = 3, D = 4}"), [0.5, 1]);
  assert.deepEqual(both("A = 11, B = 9, C = 3, D = 4"), [0, 1], "no box: the lenient answer only");
  assert.equal(
    gradeProblem({ golds: GOLDS, grading: "parts" }, "\\boxed{A = 11, B = 9, C = 3, D = 4}").score_strict,
    1,
  );
});

Deno.test("parts: what solves nothing scores nothing (names swapped, the problem copied, values listed twice)", () => {
  const cases: [string, number][] = [
    ["D = 11, C = 9, B = 3, A = 4", 0], // the right values in order, under the wrong names
    ["A = 5 + 6, B = 1 + 7 + 1, C = 1 + 2, D = 2 + 2", 0], // the problem copied back: no value computed
    ["A = 11, B = 9, C = 3, D = 4, E = 7, F = 7", 4 / 6], // more entries than parts
    ["11, 9, 3, 4, 7, 7", 4 / 6],
    ["A = 11, A = 12, B = 9, C = 3, D = 4", 3 / 5], // a name given twice answers neither
    ["A = 11, 9, 3, 4", 1 / 4], // named entries are read by name; the unnamed ones answer no part
    ["A = 11, B = 9", 2 / 4],
    ["A = ?, B = 9, C = ?, D = ?", 1 / 4],
    ["a = 11, b = 9, c = 3, d = 4", 0], // the problem's names, as written
    ["A = 11.0, B = 9, C = 3, D = 4", 3 / 4],
    ["", 0],
  ];
  for (const [box, want] of cases) assert.deepEqual(both(`\\boxed{${box}}`), [want, want], box);
  assert.throws(() => gradeParts("\\boxed{1}", ["11"], "strict"), /"parts" gold "11": expected NAME = INTEGER/);
});

Deno.test("parts: generated answers score (parts right) / max(parts, entries), whatever their order", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 500; trial++) {
    const n = randInt(rng, 1, 8), names = "ABCDEFGH".slice(0, n).split("");
    const values = names.map(() => randInt(rng, 2, 40));
    const golds = names.map((name, i) => `${name} = ${values[i]}`);
    // each part answered right, wrong (another value), or not at all; then extra names; then shuffled
    const entries: string[] = [];
    let right = 0;
    names.forEach((name, i) => {
      const r = rng.next();
      if (r < 0.6) (entries.push(`${name} = ${values[i]}`), right++);
      else if (r < 0.8) entries.push(`${name} = ${values[i] + randInt(rng, 1, 5)}`);
    });
    for (let k = randInt(rng, 0, 2); k > 0; k--) entries.push(`X${k} = ${randInt(rng, 0, 9)}`);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = randInt(rng, 0, i);
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    const want = entries.length ? right / Math.max(n, entries.length) : 0;
    assert.equal(gradeParts(`\\boxed{${entries.join(", ")}}`, golds, "strict"), want, entries.join(", "));
    // the same values under names rotated by one (two or more parts, all distinct values): none right
    if (n > 1 && new Set(values).size === n) {
      const rotated = names.map((name, i) => `${name} = ${values[(i + 1) % n]}`).join(", ");
      assert.equal(gradeParts(`\\boxed{${rotated}}`, golds, "lenient"), 0, rotated);
    }
  }
});
