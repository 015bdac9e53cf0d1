/**
 * The grader: finds the answer in generated text and compares it with the gold answer(s), with two
 * verdicts (strict and lenient) and whether an answer was found at all, apart from whether it is right.
 * Every record carries GRADER_VERSION so that results graded by different rules are never mixed silently.
 */
import { lastBoxed, lenientAnswer } from "./answer.ts";
import { equivalentAny, type Mode } from "./equivalence.ts";
import { splitList } from "./split.ts";
import { gradeParts } from "./parts.ts";
import { physicsEqual, PhysicsGoldError, readPhysicsGold } from "./physics.ts";
import type { Grading } from "../problem.ts";

// 15: leniently an answer set against another with no comma (`The answer is 5 not 6.`) is the first (was "5 not 6");
//    physics: a function's argument in a label however it is bracketed (`\cos((\theta))`, `\cos\left[\theta\right]`
//    were no name, so their values were compared with any other label's).
// 14: leniently an answer set against another (`The answer is 5, not 6.`) is the first (was "5, not 6"); physics
//    (OlympiadBench's judge): labels on both sides name the same thing (`a = 7, b = 2` was `a = 2, b = 7`,
//    `T = 5` was `x = 5`), and only a name is a label (`x y = 1`, `\frac{x}{y} = 2` were 1 and 2, `2 x = 5` a gold 5);
//    the error holds inside tuples and intervals, element by element (`(2.05, 3)` against `(2.0, 3.0)` with 0.1 was
//    wrong); a percent sign in the answer is /100 only (`0.5\%` was 0.5, `5\%` 5); each answer `\pm` gives keeps
//    its source's error (they were indexed after expansion); a malformed error is refused at load and a grader error
//    when graded (it was silently ignored); a unit whose letters the gold uses as variables is also compared as
//    written (`2g m` against `2 g m` with unit m was wrong leniently, `\frac{1}{2} k m` against `\frac{k m}{2}` in both);
// 13: boxes joined as one answer keep their labels (`a = \boxed{3}, b = \boxed{5}` was `3, 5`, equal to `a=5, b=3`;
//    chains' `B = \boxed{14}, A = \boxed{8}` scored 1 against A = 14, B = 8); `A \approx B` is B only where B writes A
//    (rounded at its last digit, an integer exactly: `17 \approx 1` and `\frac{49}{10} \approx 5` were 1 and 5);
//    a computation is its last side only where its sides are equal (`2+2 = 5`, `10 = 2^{10}` were 5 and 1024);
//    leniently e-notation by its mantissa's last digit (`2.5e6` was 2500002), a decimal in an expression within just
//    under a unit of its last digit (10^{3-f} made `1.000001x` x), and no tolerance spans a unit of an integer (a
//    relative 10^-6 above 10^6 did);
//    leniently a phrase's answer is none where it is a hypothesis, a question or refuted after (`Suppose the answer is
//    5. Then we get a contradiction.` was 5), and "nope", "no good", "bad" refute (`Try $5$: nope.` was 5);
//    words that change a number's value are no unit (`5 \text{ below zero}`, `5 tens`, `5 \text{ more}`, `5 \text{ not}` were 5);
//    inequalities in other variables are unequal (`y>5` was `x>5`);
// 12: option marks joined by a union or intersection, or parted by a line break or a spacing command, count
//    (`C. \cup D.`, `(C) \cup D`, `C. \\ D.`, `C. 5 \hspace{1em} D. 6` were C);
// 11: an engine function at numbers is its value (`\Gamma(5)` was a product of a variable Gamma and 5, not 24;
//    `\operatorname{lcm}(4,6)` the letters l, c, m), exactly where whole (Γ(n), n!!, gcd, lcm);
//    a matrix times a number is its entries times it (`\frac{1}{5}M`, `1 \cdot M` were unequal to M written out);
//    a decimal is the exact number it writes (beside i it was a float: 1+D i and 1+D' i differing at the 17th digit were
//    equal), leniently an expression's decimals are as precise as they are long (10^{3-f}, 10^-6 at most, was 10^-6
//    always), and no-exact values are told apart to 90 digits (a difference shrinking 10^25 times was rounding: 75);
//    option marks written bare count (`C. D.`, `C. + D.`, `(C) \lor D`, `C. x = 42, D. x = 43` were C);
//    a list's and named parts' answers parted by the single-answer grader's separators (`;`, "and": 18; 3 was one
//    answer), and each bare comma before three digits in a list read both ways on its own (1,000,540,3 scored 0);
// 10: a letter before a parenthesis multiplies it (`a(b+c)`, `V(1+x)`, `N(N-1)` were functions), and every comparison
//    starts from the engine as loaded (a worker's earlier problems changed later verdicts); physics: a problem whose
//    unit is % has a percentage for its gold (`420\%` against 4.2 % was right), and a percent reading scales the
//    answer, not the gold, so the error is the gold's (0.9 against 35 % with error 1 was right);
// 9: a word after a number dropped only as a unit at the end (`5 \text{ times } 3` was 53, `12\text{k}` 12, `1+2\mathrm{i}` 3);
//    every option mark counts (`(C)/(D)`, `(C) \lor (D)`, `(C) 42, (D) 43` were C);
//    labels on both sides name the same things (`y = 2` was `x = 2`);
//    no tolerance without a decimal written (355/113 was π leniently, 3^{40}π + 1 3^{40}π), a·10^k by its mantissa's
//    last digit, display wrappers read away (`\boxed{\overline{1450001}}` was 1450000 leniently);
//    spacing joins digits only before a thousands group (`3 \quad 4` was 34, `1\,5` 15);
//    leniently the phrase written last counts (`Final answer: 12 … the answer is 13` was 12), refuted or continued
//    math is no answer (`Thus $12$ is not the answer.`, `Answer: $12$ + 1` were 12);
// 8: an escaped dollar (`\$36`) kept in an answer read from free text (7 read "Final answer: \$36" as \36);
// 7: a list's bare commas read both ways (18,100,5 apart or 70,000 whole), the better reading scored;
// 6: "parts" grading (chains); a list with more answers than golds scored out of the answers
export const GRADER_VERSION = "hogwild-grader/15";

export interface Grade {
  /** the strict extraction (last \boxed{…} / \fbox{…}), or null */
  extracted: string | null;
  /** the lenient extraction, or null */
  extracted_lenient: string | null;
  equal_strict: boolean;
  equal_lenient: boolean;
}

/** Grades generated text (never the prompt) against one or several accepted gold answers. */
export function grade(generated: string, golds: string | readonly string[]): Grade {
  const all = typeof golds === "string" ? [golds] : golds;
  const strict = lastBoxed(generated) ?? null;
  const lenient = lenientAnswer(generated) ?? null;
  return {
    extracted: strict,
    extracted_lenient: lenient,
    equal_strict: strict !== null && matches(strict, all, "strict"),
    equal_lenient: lenient !== null && matches(lenient, all, "lenient"),
  };
}

/** Whether an answer equals a gold: a physics gold (tasks/grading/physics.ts) as its judge decides, any other as maths. */
function matches(answer: string, golds: readonly string[], mode: Mode): boolean {
  return golds.some((g) => {
    const physics = readPhysicsGold(g);
    if (!physics) return equivalentAny(answer, [g], mode);
    try {
      return physicsEqual(answer, physics, mode);
    } catch (e) {
      if (e instanceof PhysicsGoldError) throw e; // a gold the judge could not read: the grader's error, not a verdict
      return false; // the symbolic engine gave up: equality is not shown (as equivalentAny decides)
    }
  });
}

/**
 * Several answers in one box, in order ("a1, a2, …" for GSM8K×5): the fraction of positions that match, out of
 * the golds or the answers given, whichever are more (a box short of answers still scores the positions it has;
 * one with more answers than golds cannot score them all). A box its commas let be read several ways scores its
 * best reading (bestReading).
 */
export function gradeList(generated: string, golds: readonly string[], mode: Mode): number {
  const box = mode === "strict" ? lastBoxed(generated) : lenientAnswer(generated);
  if (box === undefined) return 0;
  const seen = new Map<string, boolean>();
  return bestReading(pieces(box), golds.length, (text, j) => {
    const key = `${j}\u0000${text}`;
    let equal = seen.get(key);
    if (equal === undefined) {
      // two integers of different values are unequal without the maths grader: a box of thousands of groups of
      // three would ask it for each group (a gold of another form still asks it: 400 distinct groups take seconds)
      const digits = /^-?\d+(?:,\d{3})*$/.test(text) && /^-?\d+$/.test(golds[j]);
      equal = digits && BigInt(text.replace(/,/g, "")) !== BigInt(golds[j])
        ? false
        : equivalentAny(text, [golds[j]], mode);
      seen.set(key, equal);
    }
    return equal;
  });
}

/** A box's top-level answers as written (splitList), and how each may join the one before as a thousands group. */
interface Piece {
  text: string;
  /** `must` after `,\!` (70,\!000, as the single-answer grader reads it), `may` after a bare comma before three
   * digits (70,000 among five answers, or 18,100,5 written without spaces: nothing in the text says which), `no`
   * after a comma and a space (7, 425) or any other separator */
  join: "must" | "may" | "no";
}

function pieces(box: string): Piece[] {
  const out = splitList(box).map(({ text, sep }, i): Piece => ({
    text,
    join: i === 0 || sep !== ","
      ? "no"
      : /^\\!\s*\d{3}(\D|$)/.test(text)
      ? "must"
      : /^\d{3}(\D|$)/.test(text)
      ? "may"
      : "no",
  }));
  while (out.length > 1 && out[out.length - 1].text.trim() === "") out.pop(); // trailing commas are no answers
  return out;
}

// An answer of more pieces than this (a number past 10^48) is read, and counted, but compared with no gold:
// it bounds the comparisons a box of many groups of three asks for.
const MOST_GROUPS = 16;

/**
 * The best score over every reading of the pieces, each `may` joined or not on its own: right / max(n, answers).
 * By dynamic programming over (pieces read, answers made): best[i][j] is the most of the first j answers right when
 * pieces [0, i) make j answers. Answers past the n-th earn nothing, so the pieces after them make as few answers as
 * they can (the denominator's least). A reading scores only the answers it makes, and counts them all.
 */
function bestReading(ps: Piece[], n: number, right: (text: string, j: number) => boolean): number {
  const last = ps.length;
  if (n === 0) return 0;
  const best = Array.from({ length: last + 1 }, () => new Array<number>(n + 1).fill(-1));
  best[0][0] = 0;
  const starts = (i: number) => i === last || ps[i].join !== "must"; // an answer may begin (or end before) piece i
  // the pieces from runStart on may all join the one before; runMax[j]: the best of best[a][j] for a start a in the run
  const runMax = new Array<number>(n).fill(-1);
  let runStart = 0;
  for (let b = 1; b <= last; b++) {
    if (ps[b - 1].join === "no") {
      runStart = b - 1;
      runMax.fill(-1);
    }
    if (starts(b - 1)) { for (let j = 0; j < n; j++) runMax[j] = Math.max(runMax[j], best[b - 1][j]); }
    if (!starts(b)) continue;
    for (let j = 0; j < n; j++) {
      let v = runMax[j]; // answer j is pieces [a, b), wrong; or right, from a start as good
      for (let a = b - 1; v >= 0 && a >= Math.max(runStart, b - MOST_GROUPS); a--) {
        if (best[a][j] === v && starts(a) && right(ps.slice(a, b).map((p) => p.text).join(",").trim(), j)) {
          v++;
          break;
        }
      }
      best[b][j + 1] = v;
    }
  }
  let score = 0, parted = 0; // parted: the `no` pieces in (i, last)
  for (let i = last; i >= 0; i--) {
    const fewest = i === last ? 0 : 1 + parted;
    if (best[i][n] >= 0) score = Math.max(score, best[i][n] / (n + fewest));
    if (i < last && ps[i].join === "no") parted++;
  }
  for (let j = 0; j < n; j++) score = Math.max(score, best[last][j] / n);
  return score;
}

export interface ProblemGrade extends Grade {
  /** 1 or 0; for "list" and "parts" problems the fraction of answers right */
  score_strict: number;
  score_lenient: number;
  grader: string;
}

/** Grades generated text against a problem graded by its answer (a code problem's program is run: code/grade.ts). */
export function gradeProblem(
  p: { golds: readonly string[]; grading: Grading },
  generated: string,
): ProblemGrade {
  if (p.grading === "code") throw new Error("a code problem is graded by running its program (tasks/code/grade.ts)");
  if (p.grading === "list" || p.grading === "parts") {
    const score = p.grading === "list" ? gradeList : gradeParts;
    const strict = score(generated, p.golds, "strict"), lenient = score(generated, p.golds, "lenient");
    return {
      extracted: lastBoxed(generated) ?? null,
      extracted_lenient: lenientAnswer(generated) ?? null,
      equal_strict: strict === 1,
      equal_lenient: lenient === 1,
      score_strict: strict,
      score_lenient: lenient,
      grader: GRADER_VERSION,
    };
  }
  const g = grade(generated, p.golds);
  return { ...g, score_strict: +g.equal_strict, score_lenient: +g.equal_lenient, grader: GRADER_VERSION };
}
