/**
 * The grader on free text and on the answer forms issue #28 (part 4) names, as generated families: answers
 * written without a box (Minerva's "Final Answer: … I hope it is correct.", "Answer \( 9 \)", "… is the
 * solution.", the last math of a solution that never boxes: lenient only) and forms the equivalence reads
 * (`\pm a` against a set, `0<f(x)<1` against an interval, solutions as alternatives or as labelled values,
 * boxes joined by "and" against a set, a set written with a repeat), and the wrong answers a review found graded
 * right (words after a number that are no units, a hedge between choices, a value under another label, an exact value against an approximation, digits
 * joined across a space, free text read at an earlier phrase or a refuted value). Each family has its positive cases and near misses that must
 * stay unequal in both modes.
 */
import assert from "node:assert/strict";
import { grade } from "../../../tasks/grading/grader.ts";

interface Case {
  family: string;
  pred: string;
  gold: string;
  strict: boolean;
  lenient: boolean;
  note: string;
}

const CASES: Case[] = [];
/** A case: `equal` is the verdict in both modes, or [strict, lenient]. */
function add(family: string, pred: string, gold: string, equal: boolean | [boolean, boolean], note = "") {
  const [strict, lenient] = typeof equal === "boolean" ? [equal, equal] : equal;
  CASES.push({ family, pred, gold, strict, lenient, note });
}
const FREE: [boolean, boolean] = [false, true]; // no box: right leniently only
const MISS = false;

// ---------- free text: Minerva's final-answer sentence, with thousands separators ----------

for (const n of ["10455", "1234567", "2024", "1000", "987654"]) {
  const grouped = n.replace(/\B(?=(\d{3})+$)/g, ",");
  const minerva = (x: string) => `Final Answer: The final answer is ${x}. I hope it is correct.`;
  add("minerva_final", minerva(`$${grouped}$`), n, FREE, "thousands separator");
  add("minerva_final", minerva(`$${grouped.replace(/,/g, "{,}")}$`), n, FREE, "{,}");
  add("minerva_final", minerva(`$$${grouped.replace(/,/g, ",\\!")}$$`), n, FREE, ",\\! in display math");
  add("minerva_final", minerva(`$${n}$`), n, FREE);
  add("minerva_final", minerva(`$\\boxed{${grouped}}$`), n, true, "a box counts in both modes");
  add("minerva_final", minerva(`$${grouped.slice(0, -1)}$`), n, MISS, "a digit lost: 10,45 is a list");
  if (n.length > 4) add("minerva_final", minerva(`$${n.slice(0, -4)},${n.slice(-4)}$`), n, MISS, "grouped by four");
  add("minerva_final", minerva(`$${(BigInt(n) + 1n).toString().replace(/\B(?=(\d{3})+$)/g, ",")}$`), n, MISS);
}
// An escaped dollar is part of the answer (MATH's money golds: \$36, \$18.90, \$32,\!348), in every phrase
for (const [amount, other] of [["36", "37"], ["18.90", "18.99"], ["32,\\!348", "32,\\!349"], ["1.5", "15"]]) {
  const gold = `\\$${amount}`;
  for (
    const form of [
      (x: string) => `Final Answer: The final answer is $${x}$. I hope it is correct.`,
      (x: string) => `Answer: $${x}$`,
      (x: string) => `Final answer: ${x}`,
      (x: string) => `The final answer is ${x}.`,
      (x: string) => `So the answer is ${x}.\nDone.`,
    ]
  ) {
    add("money", form(`\\$${amount}`), gold, FREE, "an escaped dollar in the answer");
    add("money", form(`\\$${other}`), gold, MISS, "near miss");
  }
}
// "final answer" as a phrase, not a mention: a heading in bold or alone on its line, but never "before the final answer"
add("minerva_final", "**Final Answer**\n12", "12", FREE, "a bold heading, the answer on the next line");
add("minerva_final", "Final Answer\n\n42", "42", FREE, "a heading alone on its line");
add("minerva_final", "The final answer is: $\\frac{1}{2}$", "\\frac{1}{2}", FREE, "is, then a colon");
add(
  "minerva_final",
  "Before I write the final answer, let me verify. So the answer is 13.",
  "13",
  FREE,
  "a mention of the final answer is no phrase of it",
);
add("minerva_final", "Before I write the final answer, let me verify. So the answer is 13.", "12", MISS, "near miss");
add("minerva_final", "Final answer 42", "42", FREE, "the answer right after the phrase");
add(
  "minerva_final",
  "Let me check the final answer 12 against the constraint.\nActually it fails; the answer is $13$.",
  "13",
  FREE,
  "a mention followed by a number is no phrase either",
);
add("minerva_final", "Final Answer\r\n42", "42", FREE, "a heading, Windows line ends");
add(
  "minerva_final",
  "Before I give the final answer, let me check $x=5$. So $y = 7$",
  "7",
  FREE,
  "a mention: the last math",
);

// ---------- free text: "… is the solution." ----------

for (
  const [rel, interval, off] of [
    ["x \\geq 5", "[5, \\infty)", "x > 5"],
    ["x > -3", "(-3, \\infty)", "x \\ge -3"],
    ["y \\le \\frac{2}{3}", "(-\\infty, \\frac{2}{3}]", "y \\le \\frac{3}{2}"],
    ["-1 < t < 4", "(-1, 4)", "-1 < t \\le 4"],
    ["x \\neq 2", "(-\\infty, 2) \\cup (2, \\infty)", "x \\neq -2"],
  ]
) {
  add("is_the_solution", `Therefore $${rel}$ is the solution.`, rel, FREE);
  add("is_the_solution", `Therefore $${rel}$ is the solution.`, interval, FREE, "against the interval");
  add("is_the_solution", `Hence \\(${rel}\\) is the solution set.`, interval, FREE, "\\( \\)");
  add("is_the_solution", `Therefore $${off}$ is the solution.`, interval, MISS);
}
add("is_the_solution", "So $42$ is the answer.", "42", FREE);
add("is_the_solution", "So 42 is the answer.", "42", FREE, "a plain number");
add("is_the_solution", "Thus $x = 3$ is the solution to the equation.", "3", FREE, "to the equation");
add(
  "is_the_solution",
  "First, $x = 2$ is the solution of the first equation, and the second gives $x = 3$.",
  "2",
  MISS,
  "mid-sentence: not an answer; the last math is x = 3",
);

// ---------- free text: "Answer" followed by math ----------

for (
  const [value, gold, off] of [
    ["9", "9", "8"],
    ["\\frac{3}{4}", "0.75", "\\frac{4}{3}"],
    ["-2", "-2", "2"],
    ["2\\sqrt{3}", "\\sqrt{12}", "3\\sqrt{2}"],
  ]
) {
  add("answer_math", `Answer \\( ${value} \\)`, gold, FREE);
  add("answer_math", `Answer $$ ${value} $$`, gold, FREE);
  add("answer_math", `Answer \\[ ${value} \\]`, gold, FREE);
  add("answer_math", `**Answer:** $${value}$`, gold, FREE);
  add("answer_math", `Answer \\( ${off} \\)`, gold, MISS);
}
add("answer_math", "We find $x = 5$.\nAnswer $$ x = 7 $$", "7", FREE, "the answer's math, not the earlier");
add("answer_math", "Answer \\( 9 \\)", "90", MISS);

// ---------- free text: the last math of a solution that never boxes ----------

for (
  const [text, gold, equal, note] of [
    ["Adding the two parts, the total is $$7$$", "7", FREE, "display math at the end"],
    ["We get $$x = 3+4 = 7$$", "7", FREE, "a chain by its last side"],
    ["Reducing, \\[ \\frac{6}{8} = \\frac{3}{4} \\]", "\\frac{3}{4}", FREE, "\\[ \\]"],
    ["So the area is $12$ square units.", "12", FREE, "inline"],
    ["Thus $n = 34$. Let me double-check the case", "34", FREE, "cut by the budget after the result"],
    ["The roots are $x = \\pm 3$", "\\{-3, 3\\}", FREE, "\\pm"],
    ["The sum is \\(10{,}455\\)", "10455", FREE, "thousands"],
    ["We have $a = 2$, $b = 3$ and so $$a + b = 5$$", "5", MISS, "an equation between expressions stays one"],
    ["We get $x = 3$. Now we compute $x^2$", "9", MISS, "the last math is an intermediate"],
    ["First $x = 3$, so $x^2 = 9$ and then", "3", MISS, "an intermediate that was the gold is not the last"],
    ["So \\boxed{5}. A check: $$6$$", "6", MISS, "a box wins over later math"],
    ["The final answer is: hmm, we get $6$", "6", MISS, "a final answer begun: no math fallback"],
    ["We get $6$ and then \\boxed{", "6", MISS, "a box begun: no math fallback"],
    ["He pays $5 and then $6 more", "5", MISS, "prices are not math"],
    ["He pays $5 and then $6 more", "6", MISS, "prices are not math"],
    ["Trying $x = 1$ fails; then $x = 2$", "1", MISS],
    ["We try $n = 34$: too big. The largest n is 33.", "34", MISS, "a number in plain text after the last math"],
    ["Let $x = 5$. Then x + 2 = 7, so the result is 7.", "5", MISS, "a number in plain text after the last math"],
    ["Apples cost $5 each. So $x = 3$.", "3", FREE, "a price opens no math"],
    ["He earns $12 per hour, so in $h = 5$ hours", "5", FREE, "a price opens no math"],
    ["He earns $12 per hour, so in $h = 5$ hours", "12 per hour, so in", MISS, "a price opens no math"],
  ]
) add("last_math", text as string, gold as string, equal as boolean | [boolean, boolean], note as string);

// ---------- \pm against a set ----------

for (
  const [pm, both, one] of [
    ["\\pm 2021", "\\{-2021, 2021\\}", "\\{2021\\}"],
    ["x = \\pm 5", "\\{-5, 5\\}", "\\{5\\}"],
    ["\\pm\\frac{1}{2}", "\\{\\frac{1}{2}, -\\frac{1}{2}\\}", "\\{\\frac{1}{2}\\}"],
    ["\\pm \\sqrt{3}", "\\{-\\sqrt{3}, \\sqrt{3}\\}", "\\{\\sqrt{3}, 0\\}"],
  ]
) {
  add("plus_minus_set", `\\boxed{${pm}}`, both, true);
  add("plus_minus_set", `Answer: $${pm}$`, both, FREE);
  add("plus_minus_set", `\\boxed{${pm}}`, both.replace(/\\\{/, "\\{0, "), MISS, "a third element");
  add("plus_minus_set", `\\boxed{${pm}}`, one, MISS);
}
add("plus_minus_set", "\\boxed{\\pm 2020}", "\\{-2021, 2021\\}", MISS);

// ---------- a function's range against an interval ----------

for (
  const [name, lo, hi] of [["f(x)", "0", "1"], ["g(t)", "-1", "2"], ["h(x)", "\\frac{1}{2}", "3"], ["y", "0", "1"]]
) {
  add("function_range", `\\boxed{${lo}<${name}<${hi}}`, `(${lo},${hi})`, true);
  add("function_range", `\\boxed{${lo} \\le ${name} < ${hi}}`, `[${lo},${hi})`, true);
  add("function_range", `Therefore $${lo} < ${name} \\leq ${hi}$ is the solution.`, `(${lo},${hi}]`, FREE);
  add("function_range", `\\boxed{${lo}<${name}\\le ${hi}}`, `(${lo},${hi})`, MISS, "a closed end");
  add("function_range", `\\boxed{${lo}<${name}<${hi}+1}`, `(${lo},${hi})`, MISS, "another end");
  if (name !== "y") add("function_range", `\\boxed{${lo}<${name}<${hi}}`, `${lo}<x<${hi}`, MISS, "another variable");
}

// ---------- solutions as alternatives ----------

for (const [a, b] of [["11", "7"], ["2", "3"], ["-1", "4"], ["\\frac{1}{2}", "5"]]) {
  const gold = `(${b},${a}),\\ (${a},${b})`;
  add("tuple_alternatives", `\\boxed{(${a},${b}) or (${b},${a})}`, gold, true);
  add("tuple_alternatives", `\\boxed{(${a}, ${b}) \\text{ or } (${b}, ${a})}`, gold, true);
  add("tuple_alternatives", `\\boxed{(${a},${b}) and (${b},${a})}`, gold, true);
  add("tuple_alternatives", `\\boxed{(${a},${b}) or (${b},${a}+1)}`, gold, MISS, "one element changed");
  add("tuple_alternatives", `\\boxed{(${a},${b})}`, gold, MISS, "one solution of two");
}

add("function_range", "\\boxed{2 < a(b) < 5}", "(2,5)", MISS, "a product is not a function's value");
add("function_range", "\\boxed{f(x) < 1}", "x < 1", MISS, "two inequalities in different variables");
add("repeated_set", "\\boxed{\\{1, 1.00001\\}}", "\\{1\\}", MISS, "no tolerance merges two elements");

// ---------- solutions as labelled values ----------

for (
  const [p1, q1, p2, q2] of [["5", "2", "7", "2"], ["1", "3", "3", "5"], ["-2", "0", "2", "0"], ["4", "9", "9", "16"]]
) {
  const gold = `(${p1},${q1}),(${p2},${q2})`;
  add("labelled_solutions", `\\boxed{p=${p1},q=${q1};p=${p2},q=${q2}}`, gold, true);
  add("labelled_solutions", `\\boxed{p = ${p1}, q = ${q1} \\text{ or } p = ${p2}, q = ${q2}}`, gold, true);
  add("labelled_solutions", `Answer: $p=${p1}, q=${q1}$ and $p=${p2}, q=${q2}$`, gold, MISS, "two spans: the first");
  add("labelled_solutions", `\\boxed{p=${p1},q=${q1};p=${p2},q=${q2}+1}`, gold, MISS, "one value changed");
  add("labelled_solutions", `\\boxed{p=${q1},q=${p1};p=${q2},q=${p2}}`, gold, MISS, "values swapped");
  add("labelled_solutions", `\\boxed{q=${q1},p=${p1};q=${q2},p=${p2}}`, gold, true, "labels in another order");
  if (p1 !== q1) {
    add("labelled_solutions", `\\boxed{q=${p1},p=${q1};q=${p2},p=${q2}}`, gold, MISS, "labels swapped, values kept");
  }
}
add("labelled_solutions", "\\boxed{x=4, y=9}", "4, 9", true, "one solution stays a list of values");
add("labelled_solutions", "\\boxed{p=5,q=2}", "(5,2),(7,2)", MISS, "one of two");
add("labelled_solutions", "\\boxed{b=1, a=2 \\text{ or } b=3, a=4}", "(a,b) = (1,2), (3,4)", MISS, "a=2, b=1");

// ---------- boxes joined by "and" against a set ----------

for (const xs of [["3", "5"], ["-1", "2"], ["\\frac{1}{3}", "4"], ["1", "2", "3"], ["0", "\\sqrt{2}"]]) {
  const set = `\\{${xs.join(", ")}\\}`;
  const boxes = xs.map((x) => `\\boxed{${x}}`);
  add("boxes_and", boxes.join(" and "), set, true);
  add("boxes_and", `$${boxes.slice(0, -1).join(", ")} \\text{ and } ${boxes[boxes.length - 1]}$`, set, true);
  add("boxes_and", [...boxes.slice(0, -1), `\\boxed{${xs[xs.length - 1]}+1}`].join(" and "), set, MISS);
  add("boxes_and", boxes.join(" and then, checking again, we get "), set, MISS, "drafts: only the last counts");
}

// ---------- a set written with a repeated element ----------

for (const [a, b] of [["(1,2)", "(3,4)"], ["(0,0)", "(1,-1)"], ["(2,3,5)", "(5,3,2)"], ["7", "8"]]) {
  const set = `\\{${a},${b}\\}`;
  add("repeated_set", `\\boxed{${a},${a},${b}}`, set, true);
  add("repeated_set", `\\boxed{${a}, ${b}, ${b}}`, set, true);
  add("repeated_set", `\\boxed{\\{${a},${b},${a}\\}}`, set, true);
  add("repeated_set", `\\boxed{${a},${a}}`, set, MISS, "one element twice is not two");
  add("repeated_set", `\\boxed{${a},${a},${b}}`, `${a},${b}`, MISS, "a list counts its repeats");
  add("repeated_set", `\\boxed{\\{${a},${b}\\}}`, `${a},${a},${b}`, MISS, "a gold list keeps its repeats");
}

// ---------- words after a number: a unit is dropped, a word that changes the value never ----------

for (const n of ["12", "3", "250"]) {
  for (const unit of ["\\text{ cm}", "\\,\\mathrm{kg}", "\\text{ m}^2", "\\text{ apples}", "\\mbox{ inches}"]) {
    add("not_units", `\\boxed{${n}${unit}}`, n, true, "a unit at the end");
  }
  add("not_units", `\\boxed{(${n} \\text{ cm}, 4 \\text{ cm})}`, `(${n}, 4)`, true, "units in a tuple");
  for (
    const word of ["Million", "million", "k", "K", "M", "bn", "mn", "thousand", "lakh", "crore", "hundred", "dozen"]
  ) add("not_units", `\\boxed{${n}\\text{ ${word}}}`, n, MISS, "a magnitude is no unit");
  for (const word of ["quarters", "tenths", "halves", "thirds", "squared", "cubed", "Squared"]) {
    add("not_units", `\\boxed{${n} \\text{ ${word}}}`, n, MISS, "it changes the value");
    add("not_units", `The answer is ${n} ${word}.`, n, MISS, "a bare word that changes the value");
  }
  add("not_units", `\\boxed{${n}\\text{ times } 3}`, `${n}3`, MISS, "digits never join around a dropped word");
  add("not_units", `\\boxed{${n} \\text{ minus } 1}`, `${n}1`, MISS, "digits never join around a dropped word");
  add("not_units", `\\boxed{${n} \\text{ cm } 5}`, `${n}5`, MISS, "a unit mid-answer: digits never join");
}
for (const [z, same, other] of [["1+2\\mathrm{i}", "1+2i", "3"], ["3-\\mathrm{i}", "3-i", "3"]]) {
  add("not_units", `\\boxed{${z}}`, same, true, "\\mathrm{i} is i");
  add("not_units", `\\boxed{${z}}`, other, MISS, "i is no unit");
}
add("not_units", "\\boxed{4\\mathrm{e}^{-1}}", "\\frac{1}{4}", MISS, "e is no unit");
add("not_units", "\\boxed{4\\mathrm{e}^{-1}}", "\\frac{4}{e}", true, "\\mathrm{e} is e");
add("not_units", "\\boxed{2}", "2\\mathrm{e}", MISS, "e is no unit in the gold either");

// ---------- one multiple-choice letter: every option mark counts, a hedge between two is wrong ----------

for (const [c, d] of [["C", "D"], ["B", "E"], ["A", "C"]]) {
  for (const gold of [c, `\\text{(${c})}`]) {
    for (
      const hedge of [
        `(${c})/(${d})`,
        `(${c}) \\lor (${d})`,
        `(${c}) \\vee (${d})`,
        `\\textbf{(${c}) } 42 \\text{ or } \\textbf{(${d}) } 43`,
        `(${c}) 42, (${d}) 43`,
        `(${c})\\&(${d})`,
        `(${c}) \\text{ and/or } (${d})`,
        `(${c}), \\text{ possibly } (${d})`,
        `(${c}) \\text{ possibly } (${d})`,
        `${c}/${d}`,
        `(${c}) \\text{ possibly } ${d}`,
        `(${c}) \\text{ Or } ${d}`,
        // marks written as a letter and a period, and joining commands before a spaced letter
        `${c}. \\lor ${d}.`,
        `${c}. ${d}.`,
        `${c}.~${d}.`,
        `${c}.\\,${d}.`,
        `${c}. + ${d}.`,
        `${c}. - ${d}.`,
        `${c}. \\to ${d}.`,
        `${c}: ${d}:`,
        `${c}. \\text{or} ${d}.`,
        `(${c}) \\lor ${d}`,
        `(${c}) \\vee ${d}`,
        `${c}. \\cup ${d}.`,
        `${c}. \\cap ${d}.`,
        `(${c}) \\cup ${d}`,
        `${c} \\cup ${d}`,
        // parted by a line break or a spacing command
        `${c}.\\\\${d}.`,
        `${c}.\\newline ${d}.`,
        `${c}.\\enspace ${d}.`,
        `${c}.\\hspace{1em}${d}.`,
        `${c}. 5 \\\\ ${d}. 6`,
        `${c}. x = 5 \\\\ ${d}. x = 6`,
        `${c}. x = 42, ${d}. x = 43`,
      ]
    ) add("choice_hedges", `\\boxed{${hedge}}`, gold, MISS, "two options named: a hedge");
    for (
      const one of [
        `(${c})`,
        `\\textbf{(${c}) } 42`,
        `${c}. x = 42`,
        `\\text{(${c}) Both (A) and (B)}`,
        `(${c}) Neither (${d}) nor (E)`,
        `(${c}) 2A+B`,
        `(${c}) \\text{nothing}`,
        `${c}. \\angle ${d}`,
        `(${c}) ${d}`,
        `(${c}) A \\cup B`,
        `${c}. Dx + 1`,
        `${c}. \\frac{A}{2}`,
        `${c}. \\frac{A}{2} \\\\ 3`,
      ]
    ) add("choice_hedges", `\\boxed{${one}}`, gold, true, "one option, its own text may name others");
    add("choice_hedges", `\\boxed{(${d}) Both (${c}) and (E)}`, gold, MISS, "another option naming this one");
  }
}

// ---------- labels on both sides: compared name by name, different names are different answers ----------

for (const [v, w] of [["2", "3"], ["-1", "\\frac{1}{2}"], ["7", "7"]]) {
  add("different_labels", `\\boxed{y = ${v}}`, `x = ${v}`, MISS, "another line");
  add("different_labels", `\\boxed{x_1 = ${v}}`, `x_2 = ${v}`, MISS, "another name");
  add("different_labels", `\\boxed{AB = ${v}}`, `CD = ${v}`, MISS, "another segment");
  add("different_labels", `\\boxed{a = ${v}, b = ${w}}`, `x = ${v}, y = ${w}`, MISS, "other names");
  add("different_labels", `\\boxed{x = ${v}, ${w}}`, `y = ${v}, ${w}`, MISS, "one part labelled otherwise");
  add("different_labels", `\\boxed{x = ${v}}`, `x = ${v}`, true, "the same name");
  add("different_labels", `\\boxed{y = ${v}}`, v, true, "a label on one side only");
  add("different_labels", `\\boxed{${v}}`, `x = ${v}`, true, "a label on the gold only");
  add("different_labels", `\\boxed{(a,b) = (${v},${w})}`, `a = ${v}, b = ${w}`, true, "a tuple label is its names");
  add("different_labels", `\\boxed{(b,a) = (${w},${v})}`, `(a,b) = (${v},${w})`, true, "the names in another order");
  add("different_labels", `\\boxed{f(x) = ${v}x+${w}}`, `y = ${v}x+${w}`, true, "f(x) and y: one dependent variable");
  add("different_labels", `\\boxed{BA = ${v}}`, `AB = ${v}`, true, "a segment read either way");
  add("different_labels", `\\boxed{m\\angle ABC = ${v}}`, `\\angle CBA = ${v}`, true, "an angle read either way");
  add("different_labels", `\\boxed{(m,b) = (${v},${w})}`, `(${v},${w})`, true, "a tuple label as written");
  add("different_labels", `\\boxed{m = ${v}}`, `m_{\\max} = ${v}`, true, "a subscript on one side only");
  add("different_labels", `\\boxed{m_{max} = ${v}}`, `m_{\\max } = ${v}`, true, "\\max written plainly");
  add("different_labels", `\\boxed{m_{\\min} = ${v}}`, `m_{\\max} = ${v}`, MISS, "another subscript");
  add("different_labels", `\\boxed{z = f(z) + ${v}}`, `f(z) + ${v} = z`, true, "one equation, its sides swapped");
  add("different_labels", `\\boxed{y = ${v}x}`, `x = \\frac{y}{${v}}`, true, "one line, solved for x");
  if (v !== w) {
    add("different_labels", `\\boxed{(b,a) = (${v},${w})}`, `(a,b) = (${v},${w})`, MISS, "b and a swapped");
    add("different_labels", `\\boxed{b = ${v}, a = ${w}}`, `a = ${v}, b = ${w}`, MISS, "values under swapped names");
  }
}

// ---------- exact values: no tolerance without a decimal written; a decimal within its last digit, leniently ----------

for (
  const [pred, gold] of [
    ["\\frac{103993}{33102}", "\\pi"],
    ["\\frac{355}{113}", "\\pi"],
    ["\\frac{22}{7}", "\\pi"],
    ["\\frac{75025}{121393}", "\\frac{\\sqrt5-1}{2}"],
    ["\\frac{577}{408}", "\\sqrt{2}"],
    ["3^{40}\\pi + 1", "3^{40}\\pi"],
    ["3^{40}\\pi x + 1", "3^{40}\\pi x"],
    ["y = 3^{40}\\pi x + 1", "y = 3^{40}\\pi x"],
    ["\\sqrt{10^{20}+1}", "10^{10}"],
    ["e^{\\pi\\sqrt{163}}", "262537412640768744"],
    ["\\frac{1}{2004!}", "\\frac{1}{2006!}"],
    ["2^{100}\\sqrt{2}", "2^{100}\\sqrt{2} + 1"],
  ]
) {
  add("exact_values", `\\boxed{${pred}}`, gold, MISS, "an exact value is not an approximation");
  add("exact_values", `\\boxed{${gold}}`, pred, MISS, "either way round");
}
for (const [n, off] of [["1450000", "1450001"], ["2271380", "2271381"], ["7", "8"]]) {
  for (
    const wrap of [
      (x: string) => `\\overline{${x}}`,
      (x: string) => `\\textcolor{red}{${x}}`,
      (x: string) => `\\color{blue}{${x}}`,
      (x: string) => `{\\color{red} ${x}}`,
      (x: string) => `\\boxed{${x}}`,
      (x: string) => `\\underline{${x}}`,
    ]
  ) {
    add("exact_values", `\\boxed{${wrap(off)}}`, n, MISS, "a display wrapper keeps the number exact");
    add("exact_values", `\\boxed{${wrap(n)}}`, n, true, "a display wrapper is no part of the number");
  }
}
const SCIENTIFIC: [string, string, [boolean, boolean]][] = [
  ["1.450001\\times 10^{6}", "1450000", [false, false]],
  ["2.271381\\times 10^{6}", "2271380", [false, false]],
  ["1.4501 \\cdot 10^{6}", "1450000", [false, false]],
  ["1.450\\times 10^{6}", "1450123", [false, true]],
  ["2.271\\times 10^{6}", "2271380", [false, true]],
  ["1.45\\times 10^{6}", "1450000", [true, true]],
];
for (const [sci, gold, equal] of SCIENTIFIC) {
  add("exact_values", `\\boxed{${sci}}`, gold, equal, "a·10^k: its mantissa's last digit");
}
for (
  const [pred, gold] of [
    ["\\sqrt{2}\\sqrt{8}", "4"],
    ["\\sin^2(1)+\\cos^2(1)", "1"],
    ["\\sin(\\pi)", "0"],
    ["2\\sin(\\frac{\\pi}{6})", "1"],
    ["e^{i\\pi}", "-1"],
    ["0.5\\pi", "\\frac{\\pi}{2}"],
    ["\\ln 8", "3\\ln 2"],
    ["0.\\overline{3}", "\\frac{1}{3}"],
    ["\\frac{\\pi}{4} + \\frac{\\pi}{4}", "\\frac{\\pi}{2}"],
    ["\\sqrt{3}\\,x + \\pi", "\\pi + x\\sqrt{3}"],
  ]
) add("exact_values", `\\boxed{${pred}}`, gold, true, "equal values without a tolerance");
for (const [dec, gold] of [["3.1416", "\\pi"], ["1.4142", "\\sqrt{2}"], ["0.6180", "\\frac{\\sqrt5-1}{2}"]]) {
  add("exact_values", `\\boxed{${dec}}`, gold, [false, true], "a decimal, leniently");
}

// ---------- spacing between digits: a thousands group joins, any other spacing never ----------

for (const [a, b] of [["3", "4"], ["1", "5"], ["12", "34"], ["1", "2345"], ["7", "00"]]) {
  for (const space of [" \\quad ", " \\qquad ", "\\,", "\\;", "\\ ", "~", " ", "\\!"]) {
    add("digit_spacing", `\\boxed{${a}${space}${b}}`, `${a}${b}`, MISS, "no thousands group: the digits never join");
  }
}
for (
  const [n, grouped] of [["10000", "10_000"], ["1000000", "1_000_000"], ["1234.5", "1_234.5"], ["-25000", "-25_000"]]
) {
  for (const space of ["\\,", " ", "\\!", "\u2009", "{,}"]) {
    add("digit_spacing", `\\boxed{${grouped.replaceAll("_", space)}}`, n, true, "a thousands group joins");
  }
  add("digit_spacing", `\\boxed{${grouped.replaceAll("_", " \\quad ")}}`, n, MISS, "a quad is no thousands separator");
}
add("digit_spacing", "\\boxed{1 1/2}", "\\frac{3}{2}", true, "a mixed number keeps its space");
add("digit_spacing", "\\boxed{3 \\quad 4}", "3, 4", true, "a wide space parts two answers, as between boxes");

// ---------- free text: the phrase written last wins, a refuted or continued value is no answer ----------

for (const [a, b] of [["12", "13"], ["45", "2025"], ["-3", "3"]]) {
  for (
    const text of [
      `Final answer: ${a}\n\nWait, let me recheck... the answer is ${b}.`,
      `**Final Answer:** ${a}\n\nHmm, actually I made an error. The answer is $${b}$.`,
      `Final answer: ${a}. Wait, that is wrong. Recomputing, the answer is ${b}.`,
      `The answer is ${a}.\nActually no: Answer: $${b}$`,
    ]
  ) {
    add("phrase_order", text, b, FREE, "the phrase written last");
    add("phrase_order", text, a, MISS, "an earlier phrase taken back");
  }
  for (
    const refuted of [
      `Thus $${a}$ is not the answer.`,
      `So $x = ${a}$ does not work.`,
      `We try $n = ${a}$: it fails. So there is no such n.`,
      `Then $k = ${a}$ gives a contradiction.`,
      `But $${a}$ is impossible here.`,
      `The answer is ${a} squared.`,
      `Answer: $${a}$ + 1`,
      `Answer $${a}$ \\cdot 2`,
      `We get $$${a}$$ + 5`,
    ]
  ) add("phrase_order", refuted, a, MISS, "refuted, or an expression going on");
  add("phrase_order", `Final answer: ${a}\nThis answer is consistent with all the constraints.`, a, FREE, "a mention");
  add("phrase_order", `Thus $${a}$ is the answer.`, a, FREE);
  add("phrase_order", `We get $n = ${a}$, which works.`, a, FREE, "no refutation");
  add("phrase_order", `Answer: $${a}$.`, a, FREE);
  add("phrase_order", `The answer is ${b}. Final answer: ${a}`, a, FREE, "the final answer written last");
}

// ---------- free text: an answer set against another ("5, not 6"): the first is the answer ----------

for (const [a, b] of [["5", "6"], ["12", "21"], ["-3", "3"], ["\\frac{1}{2}", "2"], ["2024", "2025"]]) {
  for (
    const text of [
      `The answer is ${a}, not ${b}.`,
      `So the answer is ${a} and not ${b}.`,
      `The final answer is $${a}$, not $${b}$.`,
      `Final answer: ${a}, but not ${b}.`,
      `The answer is ${a}, Not ${b}.`,
      `The answer is ${a}, but NOT ${b}.`,
      `The answer is ${a} not ${b}.`,
      `The answer is $${a}$ not $${b}$.`,
    ]
  ) {
    add("contrast", text, a, FREE, "the answer, then the value it is not");
    add("contrast", text, b, MISS, "the value it is not");
  }
  add("contrast", `The answer is not ${a}.`, a, MISS, "a value denied");
  add("contrast", `The answer is x not \\in \\{${a}\\}.`, a, MISS, "a relation denied after a space: no contrast");
  add("contrast", `The answer is all x with x not \\in \\{${a}\\}.`, a, MISS, 'a set\'s "not" is no contrast');
  add(
    "contrast",
    `The answer is x \\in \\{${a}\\} and not \\in \\{${b}\\}.`,
    a,
    MISS,
    "a relation denied: no contrast",
  );
  add("contrast", `The answer is ${a}, not the ${b} we found before.`, b, MISS, "the earlier value denied");
  add("contrast", `The answer is ${a}. Not ${b}.`, b, MISS, "a value denied in the next sentence");
}

Deno.test(`the grader on free text and issue #28's forms: ${CASES.length} generated cases, both verdicts`, () => {
  const by = Map.groupBy(CASES, (c) => c.family);
  for (const [family, cases] of by) {
    assert.ok(cases.length >= 15, `${family}: ${cases.length} cases`);
    assert.ok(cases.some((c) => !c.strict && !c.lenient), `${family}: no near miss`);
    assert.ok(cases.some((c) => c.lenient), `${family}: no positive case`);
  }
  const wrong: string[] = [];
  for (const c of CASES) {
    const g = grade(c.pred, c.gold);
    if (g.equal_strict !== c.strict || g.equal_lenient !== c.lenient) {
      wrong.push(
        `${JSON.stringify(c)} -> strict ${g.equal_strict}, lenient ${g.equal_lenient} (extracted ${
          JSON.stringify(g.extracted)
        }, ${JSON.stringify(g.extracted_lenient)})`,
      );
    }
  }
  const misses = CASES.filter((c) => !c.strict && !c.lenient).length;
  console.log(
    [...by].map(([f, cs]) => `${f} ${cs.length}`).join(", ") +
      ` (${misses} near misses): ${wrong.length} disagree`,
  );
  assert.deepEqual(wrong, []);
});
