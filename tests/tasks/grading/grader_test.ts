/** The grader on a table of (prediction, gold, expected) cases written from how reasoning models answer. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { grade, gradeProblem, GRADER_VERSION } from "../../../tasks/grading/grader.ts";
import { lastBoxed } from "../../../tasks/grading/answer.ts";

interface Case {
  pred: string;
  gold: string;
  strict: boolean;
  lenient: boolean;
  note: string;
}

const CASES: Case[] = readFileSync(new URL("./grader_cases.jsonl", import.meta.url), "utf8").trim().split("\n").map((
  l,
) => JSON.parse(l));

Deno.test(`the grader agrees with all ${CASES.length} cases of the table, both verdicts`, () => {
  assert.ok(CASES.length >= 150);
  const wrong: string[] = [];
  let slowest = 0;
  for (const c of CASES) {
    const t = performance.now();
    const g = grade(c.pred, c.gold);
    slowest = Math.max(slowest, performance.now() - t);
    if (g.equal_strict !== c.strict || g.equal_lenient !== c.lenient) {
      wrong.push(
        `${JSON.stringify(c)} -> strict ${g.equal_strict}, lenient ${g.equal_lenient} (extracted ${g.extracted})`,
      );
    }
  }
  const positives = CASES.filter((c) => c.strict).length;
  console.log(
    `${CASES.length} cases (${positives} equal, ${
      CASES.length - positives
    } not, strictly): ${wrong.length} disagree; slowest ${slowest.toFixed(0)} ms`,
  );
  assert.deepEqual(wrong, []);
});

interface FamilyCase extends Case {
  family: string;
}

const FAMILIES: FamilyCase[] = readFileSync(new URL("./grader_families.jsonl", import.meta.url), "utf8").trim().split(
  "\n",
).map((l) => JSON.parse(l));

Deno.test(`the answer forms reasoning models write: ${FAMILIES.length} cases in families, both verdicts`, () => {
  const by = Map.groupBy(FAMILIES, (c) => c.family);
  for (const [family, cases] of by) {
    assert.ok(cases.length >= 15, `${family}: ${cases.length} cases`);
    assert.ok(cases.some((c) => !c.strict && !c.lenient), `${family}: no near miss`);
  }
  const wrong: string[] = [];
  for (const c of FAMILIES) {
    let g;
    try {
      g = grade(c.pred, c.gold);
    } catch (e) {
      wrong.push(`${JSON.stringify(c)} -> threw ${(e as Error).message}`);
      continue;
    }
    if (g.equal_strict !== c.strict || g.equal_lenient !== c.lenient) {
      wrong.push(
        `${JSON.stringify(c)} -> strict ${g.equal_strict}, lenient ${g.equal_lenient} (extracted ${
          JSON.stringify(g.extracted)
        }, ${JSON.stringify(g.extracted_lenient)})`,
      );
    }
  }
  console.log([...by].map(([f, cs]) => `${f} ${cs.length}`).join(", ") + `: ${wrong.length} disagree`);
  assert.deepEqual(wrong, []);
});

Deno.test("the near misses the issue names never match", () => {
  for (
    const [pred, gold] of [
      ["1-\\frac{1}{e}", "1+\\frac{1}{e}"],
      ["\\pm 2021", "2021"],
      ["12:00", "1:00"],
      [
        "\\frac{1}{2004!}",
        "\\frac{1}{2006!}",
      ],
      ["n=2,3,4", "n=1,2,3"],
      ["6+10i", "6+9i"],
      ["1 \\pm \\sqrt{20}", "1 \\pm \\sqrt{19}"],
      ["3", "3 n"],
      [
        "\\lfloor\\frac{2 n-1}{6}\\rfloor",
        "\\lfloor\\frac{2 n-1}{5}\\rfloor",
      ],
    ]
  ) {
    const g = grade(`\\boxed{${pred}}`, gold);
    assert.equal(g.equal_strict || g.equal_lenient, false, `${pred} vs ${gold}`);
  }
});

Deno.test("extraction: last balanced box, generated text only, recorded apart from the verdict", () => {
  assert.equal(lastBoxed("a \\boxed{1} b \\boxed{\\frac{2}{3}} c"), "\\frac{2}{3}");
  assert.equal(lastBoxed("\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");
  assert.equal(lastBoxed("\\boxed{unclosed"), undefined);
  const wrong = grade("\\boxed{5}", "6");
  assert.equal(wrong.extracted, "5");
  assert.equal(wrong.equal_strict, false);
  const none = grade("I could not finish.", "6");
  assert.equal(none.extracted, null);
  assert.equal(none.equal_lenient, false);
});

Deno.test("several answers in one box score the fraction right (GSM8K×5)", () => {
  const p = { golds: ["18", "3", "70000", "540", "20"], grading: "list" as const };
  const all = gradeProblem(p, "\\boxed{18, 3, 70,000, 540, 20}");
  assert.equal(all.score_strict, 1);
  assert.equal(all.equal_strict, true);
  const four = gradeProblem(p, "\\boxed{18, 3, 7000, 540, 20}");
  assert.equal(four.score_strict, 0.8);
  assert.equal(four.equal_strict, false);
  assert.equal(gradeProblem(p, "\\boxed{18, 3}").score_strict, 0.4);
  assert.equal(gradeProblem(p, "no box").score_strict, 0);
  assert.equal(all.grader, GRADER_VERSION);
  // a thousands separator spaced with \! (as the single-answer grader reads it) is one answer, not two
  for (const box of ["18, 3, 70,\\!000, 540, 20", "18, 3, 70,\\! 000, 540, 20", "18, 3, 70{,}000, 540, 20"]) {
    const g = gradeProblem(p, `\\boxed{${box}}`);
    assert.deepEqual([g.score_strict, g.score_lenient], [1, 1], box);
  }
  const big = { golds: ["2880000", "5"], grading: "list" as const };
  assert.equal(gradeProblem(big, "\\boxed{2,\\!880,\\!000, 5}").score_strict, 1);
  // near misses: another number, and a comma and a space (a list: 70 and 000, so every later answer shifts, and
  // six answers for five golds)
  assert.equal(gradeProblem(p, "\\boxed{18, 3, 7,\\!000, 540, 20}").score_strict, 0.8);
  assert.equal(gradeProblem(p, "\\boxed{18, 3, 70, 000, 540, 20}").score_strict, 2 / 6);
  // more answers than golds: out of the answers given (a list of candidates cannot score every position)
  assert.equal(gradeProblem(p, "\\boxed{18, 3, 70000, 540, 20, 7}").score_strict, 5 / 6);
  assert.equal(gradeProblem(p, "\\boxed{18, 3, 70000, 540, 20,}").score_strict, 1, "a trailing comma is no answer");
  assert.equal(gradeProblem(big, "\\boxed{2,\\!880,\\!001, 5}").score_strict, 0.5);
  // answers written without spaces: a comma before three digits may part them (18,100,5,3,2) or be a thousands
  // separator (70,000 among five): the better reading scores
  const three = { golds: ["18", "100", "5", "3", "2"], grading: "list" as const };
  for (const box of ["18,100,5,3,2", "18, 100,5, 3,2", "18,100,5,3,2,"]) {
    assert.deepEqual(
      [gradeProblem(three, `\\boxed{${box}}`).score_strict, gradeProblem(three, `\\boxed{${box}}`).score_lenient],
      [1, 1],
      box,
    );
  }
  assert.equal(gradeProblem(three, "\\boxed{18,100,5,3,7}").score_strict, 0.8);
  assert.equal(gradeProblem(three, "\\boxed{18,100,5,3}").score_strict, 0.8, "four answers read apart");
  assert.equal(gradeProblem(p, "\\boxed{18,3,70,000, 540, 20}").score_strict, 1);
  // either reading may be meant: 1,000 read apart would shift every later answer; 18,100 read together would
  assert.equal(
    gradeProblem({ golds: ["1000", "2", "3", "4", "5"], grading: "list" }, "\\boxed{1,000,2,3,4}").score_strict,
    0.8,
  );
});

Deno.test("compact lists (no spaces, some three-digit answers) score as written, position by position (generated)", () => {
  // 200 lists of five numbers, some of three digits, written compactly: each scores 1 against itself and the
  // score of a list against a shuffled copy is what position-by-position comparison gives
  let seed = 7;
  const next = () => (seed = Math.imul(seed ^ (seed >>> 15), 2246822507) + 1 >>> 0);
  for (let n = 0; n < 200; n++) {
    const golds = Array.from({ length: 5 }, () => String(next() % 3 ? next() % 1000 : 100 + next() % 900));
    const p = { golds, grading: "list" as const };
    assert.equal(gradeProblem(p, `\\boxed{${golds.join(",")}}`).score_strict, 1, golds.join(","));
    const other = [...golds].reverse();
    const want = golds.filter((g, i) => Number(g) === Number(other[i])).length / 5;
    assert.equal(gradeProblem(p, `\\boxed{${other.join(",")}}`).score_strict, want, other.join(","));
  }
});
