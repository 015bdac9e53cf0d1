/** The grader on a table of (prediction, gold, expected) cases written from how reasoning models answer. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { grade, gradeProblem, GRADER_VERSION } from "../../../tasks/grading/grader.ts";
import { equivalentAny } from "../../../tasks/grading/equivalence.ts";
import { lastBoxed } from "../../../tasks/grading/answer.ts";
import { randInt, Rng } from "../../helpers.ts";

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

Deno.test("each bare comma before three digits is read either way on its own: right lists score 1, near misses what they earn (generated)", () => {
  // the reviewer's boxes: a thousands separator beside answers of three digits, none spaced (0, 0.4, 0.4 before)
  for (
    const [box, golds] of [
      ["1,000,540,3,4,5", ["1000", "540", "3", "4", "5"]],
      ["18,3,70,000,540,20", ["18", "3", "70000", "540", "20"]],
      ["70,3,3,528,101,2", ["70", "3", "3528", "101", "2"]],
    ] as const
  ) assert.equal(gradeProblem({ golds: [...golds], grading: "list" }, `\\boxed{${box}}`).score_strict, 1, box);
  // Golds of 1-2, 3 and 4-7 digits, written with thousands commas (or `,\!`, or none), the answers parted by a
  // bare comma or a comma and a space. The box says the answers meant: the score is those right out of the golds or
  // the answers, whichever are more, never more (a wrong answer gains nothing from another reading).
  const rng = new Rng(5);
  const value = () => {
    const r = rng.next();
    return String(
      r < 0.3
        ? randInt(rng, 1, 99)
        : r < 0.6
        ? randInt(rng, 100, 999)
        : r < 0.8
        ? randInt(rng, 1000, 9_999_999)
        : randInt(rng, 1, 99) * 1000,
    );
  };
  const written = (v: string) => {
    const r = rng.next(), grouped = v.replace(/\B(?=(\d{3})+$)/g, r < 0.1 ? ",\\!" : ",");
    return r < 0.85 ? grouped : v;
  };
  for (let trial = 0; trial < 300; trial++) {
    const n = randInt(rng, 2, 6), golds = Array.from({ length: n }, value);
    const style = rng.next(); // every gap bare, every gap spaced, or each its own
    const gap = () => (style < 0.5 || (style >= 0.8 && rng.next() < 0.5) ? "," : ", ");
    const box = (answers: string[]) => answers.map((a, i) => (i ? gap() : "") + written(a)).join("");
    const off = randInt(rng, 0, n - 1), lastDigit = (v: string) => v.slice(0, -1) + (Number(v.at(-1)) + 1) % 10;
    const cases: [string[], number][] = [
      [golds, 1],
      [golds.map((g, i) => (i === off ? lastDigit(g) : g)), (n - 1) / n], // one value off
      [golds.slice(0, -1), (n - 1) / n], // the last answer missing
      [[...golds, value()], n / (n + 1)], // one answer too many
    ];
    for (const [answers, want] of cases) {
      const text = `\\boxed{${box(answers)}}`, g = gradeProblem({ golds, grading: "list" }, text);
      assert.deepEqual([g.score_strict, g.score_lenient], [want, want], `${text} against ${golds}`);
    }
  }
});

Deno.test("a list scores the best of all its readings, each bare comma before three digits either way (brute force, generated)", () => {
  // every reading enumerated: a bare comma before three digits joins or parts, `,\!` joins, `, ` and `; ` part
  const rng = new Rng(9);
  const seen = new Map<string, boolean>();
  const equal = (a: string, g: string) => {
    const key = `${a}\u0000${g}`;
    if (!seen.has(key)) seen.set(key, equivalentAny(a, [g], "strict"));
    return seen.get(key)!;
  };
  for (let trial = 0; trial < 150; trial++) {
    const k = randInt(rng, 1, 9);
    const pieces = Array.from(
      { length: k },
      () => rng.next() < 0.5 ? String(randInt(rng, 1, 99)) : String(randInt(rng, 0, 999)).padStart(3, "0"),
    );
    const seps = pieces.map((_, i) => i === 0 ? "" : [",", ",", ",", ", ", ",\\!", "; "][randInt(rng, 0, 5)]);
    const join = pieces.map((p, i) => i > 0 && p.length === 3 && (seps[i] === "," || seps[i] === ",\\!"));
    const free = join.flatMap((j, i) => j && seps[i] === "," ? [i] : []);
    const readings: string[][] = [];
    for (let mask = 0; mask < 1 << free.length; mask++) {
      const out: string[] = [];
      pieces.forEach((p, i) => {
        const joined = join[i] && (seps[i] !== "," || (mask >> free.indexOf(i) & 1) === 1);
        if (joined) out[out.length - 1] += seps[i] + p;
        else out.push(p);
      });
      readings.push(out);
    }
    // golds: one reading's answers, some changed, some dropped or added
    const golds = readings[randInt(rng, 0, readings.length - 1)].map((a) => a.replace(/,(\\!)?/g, ""))
      .map((g) => rng.next() < 0.2 ? String(Number(g) + 1) : String(Number(g)));
    if (rng.next() < 0.3) golds.pop();
    if (rng.next() < 0.3) golds.push(String(randInt(rng, 1, 999)));
    if (!golds.length) continue;
    const want = Math.max(
      ...readings.map((r) =>
        golds.filter((g, i) => r[i] !== undefined && equal(r[i], g)).length / Math.max(golds.length, r.length)
      ),
    );
    const box = pieces.map((p, i) => seps[i] + p).join("");
    assert.equal(
      gradeProblem({ golds, grading: "list" }, `\\boxed{${box}}`).score_strict,
      want,
      `${box} against ${golds}`,
    );
  }
});

Deno.test("a box of thousands of groups of three is graded well inside the time limit", () => {
  // integer golds (gsm8k-x5's) are compared as integers first; another gold asks the maths grader (slower)
  const groups = (k: number) => Array.from({ length: k }, (_, i) => String(100 + i % 900)).join(",");
  for (
    const [box, golds] of [
      [groups(3000), ["5", "100", "101"]],
      [`5,${groups(3000)}`, ["5", "100", "101"]],
      [Array(3000).fill("000").join(","), ["5", "100", "101"]],
      [groups(150), ["\\frac{1}{2}", "100", "x"]],
    ] as const
  ) {
    const t = performance.now();
    gradeProblem({ golds: [...golds], grading: "list" }, `\\boxed{${box}}`);
    assert.ok(performance.now() - t < 5000, `${box.slice(0, 20)}…: ${performance.now() - t} ms`);
  }
});

Deno.test("one rule parts a list's answers for the single-answer, list and parts graders (generated over separators)", () => {
  // a comma, `;`, a bare "and", ", and", and \text{and} or \text{,} part two answers in all three; `\;` is LaTeX's
  // spacing, not `;`; "or" parts none in a list or parts (a hedge: one answer, wrong)
  const SEPARATORS = [", ", ",", "; ", ";", " and ", ", and ", " \\text{and} ", "\\text{ and }", "\\text{, }", ",\\; "];
  const rng = new Rng(11);
  for (let trial = 0; trial < 150; trial++) {
    const n = randInt(rng, 2, 5), names = "ABCDE".slice(0, n).split("");
    const values = names.map(() => String(randInt(rng, 1, 98)));
    const oxford = rng.next() < 0.3 ? randInt(rng, 4, 5) : -1; // commas, then "and" before the last answer
    const gap = (i: number) =>
      i === n - 2 && oxford >= 0 ? SEPARATORS[oxford] : oxford >= 0 ? ", " : SEPARATORS[randInt(rng, 0, 9)];
    const join = (xs: string[]) => xs.map((x, i) => i < n - 1 ? x + gap(i) : x).join("");
    const off = randInt(rng, 0, n - 1), near = values.map((v, i) => i === off ? String(Number(v) + 1) : v);
    const list = { golds: values, grading: "list" as const };
    const parts = { golds: names.map((x, i) => `${x} = ${values[i]}`), grading: "parts" as const };
    for (const [answers, want] of [[values, 1], [near, (n - 1) / n]] as const) {
      const listed = join([...answers]), named = join(answers.map((v, i) => `${names[i]} = ${v}`));
      assert.equal(gradeProblem(list, `\\boxed{${listed}}`).score_strict, want, `list: ${listed}`);
      assert.equal(gradeProblem(parts, `\\boxed{${named}}`).score_strict, want, `parts: ${named}`);
      assert.equal(grade(`\\boxed{${listed}}`, values.join(", ")).equal_strict, want === 1, `single: ${listed}`);
    }
  }
  // the reviewer's cases: 0.8, 0.6, 0 and (chains) 0.75 before
  const x5 = { golds: ["18", "3", "70000", "540", "20"], grading: "list" as const };
  for (const box of ["18, 3, 70000, 540, and 20", "18, 3, 70000, 540 and 20", "18; 3; 70000; 540; 20"]) {
    assert.equal(gradeProblem(x5, `\\boxed{${box}}`).score_strict, 1, box);
  }
  const chains = { golds: ["A = 11", "B = 9", "C = 3", "D = 4"], grading: "parts" as const };
  assert.equal(gradeProblem(chains, "\\boxed{A = 11, B = 9, C = 3, and D = 4}").score_strict, 1);
  const hedge = { golds: ["1", "2", "3"], grading: "list" as const };
  assert.equal(gradeProblem(hedge, "\\boxed{1, 2 or 5, 3}").score_strict, 2 / 3);
  assert.equal(gradeProblem(hedge, "\\boxed{1, 2 \\text{or} 5, 3}").score_strict, 2 / 3);
});
