/** Finding the answer in generated text (tasks/grading/answer.ts), on generated near misses. */
import assert from "node:assert/strict";
import { lastBoxed, lenientAnswer } from "../../../tasks/grading/answer.ts";
import { grade, gradeProblem } from "../../../tasks/grading/grader.ts";
import { BOXED } from "../../../harness/generation/answer_format.ts";
import { randInt, Rng } from "../../helpers.ts";

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[randInt(rng, 0, xs.length - 1)];

Deno.test("boxes joined as one answer keep their labels: values swapped between names are wrong (generated)", () => {
  const rng = new Rng(11);
  const NAMES = [["a", "b"], ["x", "y"], ["A", "B"], ["p", "q", "r"], ["x_1", "x_2"], ["m", "n", "k"]];
  const JOINERS = [", ", ",\\ ", " \\text{ and } ", " and ", "$, $", "$ and $", " \\quad ", "; "];
  for (let trial = 0; trial < 200; trial++) {
    const names = pick(rng, NAMES), values = names.map(() => randInt(rng, 1, 60));
    if (new Set(values).size !== values.length) continue;
    const joiner = pick(rng, JOINERS);
    const text = "So $" + names.map((n, i) => `${n} = \\boxed{${values[i]}}`).join(joiner) + "$.";
    const labelled = names.map((n, i) => `${n} = ${values[i]}`).join(", ");
    // the values rotated by one name: each name holds another's value
    const rotated = names.map((n, i) => `${n}=${values[(i + 1) % names.length]}`).join(", ");
    const right = names.map((n, i) => `${n}=${values[i]}`).toReversed().join(", ");
    assert.equal(lastBoxed(text), labelled, text);
    assert.equal(lenientAnswer(text), labelled, text);
    const miss = grade(text, rotated), hit = grade(text, right);
    assert.deepEqual([miss.equal_strict, miss.equal_lenient], [false, false], `${text} vs ${rotated}`);
    assert.deepEqual([hit.equal_strict, hit.equal_lenient], [true, true], `${text} vs ${right}`);
    // named parts (chains): graded by name, as the box's labels say, and so is the answer the bench's solver
    // reads (BOXED.written) and grades boxed (harness/bench/grading.ts)
    if (/^[A-Z]$/.test(names[0])) {
      const p = { golds: names.map((n, i) => `${n} = ${values[i]}`), grading: "parts" as const };
      const swapped = "$" + names.map((n, i) => `${n} = \\boxed{${values[(i + 1) % names.length]}}`).join(joiner) + "$";
      for (const [t, want] of [[swapped, 0], [text, 1]] as const) {
        assert.equal(gradeProblem(p, t).score_strict, want, t);
        assert.equal(gradeProblem(p, `\\boxed{${BOXED.written(t, false)}}`).score_strict, want, t);
      }
    }
  }
  // one box alone, or boxes without labels, read as before
  assert.equal(lastBoxed("so $x = \\boxed{4}$"), "4");
  assert.equal(lastBoxed("$\\boxed{3}, \\boxed{5}$"), "3, 5");
  assert.equal(lastBoxed("$x = \\boxed{5}$ and $x = \\boxed{5}$"), "x = 5");
});
