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

Deno.test("leniently a hypothesis, a question or a refuted value is no answer, in phrases and in the last math (generated)", () => {
  const rng = new Rng(5);
  const PHRASED = [
    (x: string) => `the answer is ${x}`,
    (x: string) => `the final answer is $${x}$`,
    (x: string) => `$${x}$ is the answer`,
  ];
  const HYPOTHESES = [
    (p: string) => `Suppose ${p}. Then we get a contradiction.`,
    (p: string) => `Suppose ${p}.`,
    (p: string) => `Assume ${p}.`,
    (p: string) => `Let us check whether ${p}.`,
    (p: string) => `We wonder if ${p}.`,
    (p: string) => `Is it true that ${p}?`,
    (p: string) => `Maybe ${p}? Let us check.`,
    (p: string) => `Say ${p}. No good.`,
    (p: string) => `Say ${p}. Nope.`,
    (p: string) => `Say ${p}. That is bad.`,
  ];
  const TRIED = [
    "Try $X$: nope.",
    "Try $X$: no good.",
    "Try $X$: bad.",
    "Is it $X$?",
    "Suppose $X$.",
    "If $n = X$, then",
  ];
  for (let trial = 0; trial < 100; trial++) {
    const x = String(randInt(rng, 2, 999)), phrase = pick(rng, PHRASED)(x);
    const text = `${pick(rng, ["", "We work it out. "])}${pick(rng, HYPOTHESES)(phrase)}`;
    assert.equal(grade(text, x).equal_lenient, false, text);
    const tried = pick(rng, TRIED).replace("X", x);
    assert.equal(grade(tried, x).equal_lenient, false, tried);
  }
  // stated plainly, each is the answer; a hypothesis in an earlier sentence, or a clause parted by a comma, is none
  for (const phrase of PHRASED) {
    assert.equal(lenientAnswer(`So ${phrase("12")}.`), "12");
    assert.equal(lenientAnswer(`Suppose n is even. Then ${phrase("12")}.`), "12");
    assert.equal(lenientAnswer(`If we add them up, ${phrase("12")}.`), "12");
  }
  assert.equal(lenientAnswer("We try $12$, which works."), "12");
});
