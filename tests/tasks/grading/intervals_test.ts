/** Sets of reals written as inequalities or intervals (tasks/grading/intervals.ts), through the grader. */
import assert from "node:assert/strict";
import { grade } from "../../../tasks/grading/grader.ts";
import { randInt, Rng } from "../../helpers.ts";

Deno.test("inequalities in another variable than the gold's are another answer; an interval names none (generated)", () => {
  const rng = new Rng(3);
  const NAMES = ["x", "y", "t", "n", "a", "z", "x_1", "x_2"];
  const FORMS = [
    (v: string, a: number, _b: number) => [`${v} > ${a}`, `(${a}, \\infty)`],
    (v: string, _a: number, b: number) => [`${v} \\le ${b}`, `(-\\infty, ${b}]`],
    (v: string, a: number, b: number) => [`${a} < ${v} \\leq ${b}`, `(${a}, ${b}]`],
    (
      v: string,
      a: number,
      b: number,
    ) => [`${v} < ${a} \\text{ or } ${v} > ${b}`, `(-\\infty, ${a}) \\cup (${b}, \\infty)`],
    (v: string, a: number, b: number) => [`-${b} \\le -${v} < -${a}`, `(${a}, ${b}]`],
  ];
  const wrong: string[] = [];
  const want = (pred: string, gold: string, equal: boolean) => {
    const g = grade(`\\boxed{${pred}}`, gold);
    if (g.equal_strict !== equal || g.equal_lenient !== equal) wrong.push(`${pred} against ${gold}: want ${equal}`);
  };
  for (let trial = 0; trial < 80; trial++) {
    const form = FORMS[randInt(rng, 0, FORMS.length - 1)], a = randInt(rng, 1, 9), b = a + randInt(rng, 1, 9);
    const [v, w] = [NAMES[randInt(rng, 0, NAMES.length - 1)], NAMES[randInt(rng, 0, NAMES.length - 1)]];
    if (v === w) continue;
    want(form(v, a, b)[0], form(v.replace(/_(\d)$/, "_{$1}"), a, b)[0], true); // x_1 is x_{1}
    const [mine, interval] = form(v, a, b), [theirs] = form(w, a, b);
    want(mine, theirs, false); // the same set, of another variable
    want(mine, form(v, a, b)[0], true);
    want(mine, interval, true);
    want(interval, mine, true);
  }
  want("y>5", "x>5", false);
  want("|x| > 5", "|t| > 5", false);
  want("f(x) > 5", "(5, \\infty)", true);
  assert.deepEqual(wrong, []);
});
