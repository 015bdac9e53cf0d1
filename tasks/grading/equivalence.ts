/**
 * Whether two answers are the same mathematical object. In order: the same text after normalisation (which
 * also reads matrices as tuples, solutions as labelled values as tuples (`p=5,q=2;p=7,q=2`), "or"/"and"/";" as
 * lists, labels such as `(p,q) =` or `AB =` away, and a chain `5+5+1 = 11` as its last side); the same
 * multiple-choice letter; the same exact rational (integers, decimals, fractions, mixed numbers, percent); the
 * same set of reals (inequalities, of a variable or a function's value, against intervals); the same structure
 * (tuples in order, sets and lists in any order, a set's repeats once) with equal parts; the same equation up to a
 * constant factor; else equality of expressions: exactly (tasks/grading/exact.ts: big integers, rationals, and
 * polynomials at rational points), else by values to many digits (tasks/grading/precise.ts), with a tolerance
 * only leniently where a decimal is written. Two modes:
 *  - strict: a percent sign is dropped (50\% = 50); numbers must be equal exactly (decimals as written);
 *  - lenient: also 50\% = 0.5, a decimal (a·10^k and aek by their mantissa) equal to the other number rounded or
 *    cut at its last digit and written to enough figures (`nearAsWritten`), and words compared without their case.
 * `A \approx B` counts as A, and as B where B writes A (rounded or cut at its last digit; an integer exactly).
 */
import { ComputeEngine } from "@cortex-js/compute-engine";
import { decimal, exactPairs, PIECEWISE, ratEq, type Rational, rational, WIDE_POINTS } from "./exact.ts";
import { sameRealSet } from "./intervals.ts";
import { listSeparator, splitTop } from "./split.ts";
import { namedEntries } from "./parts.ts";
import { preciseAgree } from "./precise.ts";

export { splitTop };

export type Mode = "strict" | "lenient";

const ce = new ComputeEngine();
type Big = ReturnType<typeof ce.bignum>;

/**
 * `f` run from the engine as loaded: what its parses declare or infer (a symbol's type, a function) lands in a
 * scope dropped after it. The engine keeps such declarations, so without this a verdict depended on what the
 * process had graded before (a grading worker grades many problems; a rescore grades them in another order).
 */
function isolated<T>(f: () => T): T {
  const depth = ce.contextStack.length;
  ce.pushScope();
  try {
    return f();
  } finally {
    // and any scope the engine left open where it gave up (a tower of powers)
    while (ce.contextStack.length > depth) ce.popScope();
  }
}

// ---------- normalisation (text) ----------

const DROP = [
  /\\left(?![a-zA-Z])/g,
  /\\right(?![a-zA-Z])/g,
  /\\(?:display|text)style/g,
  /\\[!,;:> ]/g,
  /\\q?quad\b/g,
  /[~\u00a0\u2009\u202f\u2008\u200a\u2006]/g,
  /\^\s*\{?\\circ\}?/g,
  /°/g,
  /\\degree\b/g,
  /\\[$]/g,
  /^\$|\$$/g,
];

// Spacing between two digits. Only a thousands group (exactly three digits after it) joins them, and only after a
// space, a thin space, `\,` or `\!`; any other spacing parts two answers (`3 \quad 4`, `1\,5`: never 34 or 15).
// Digits after `_`, `^` or a letter (`\log_2 8`, `\sqrt2 x`) are no number's.
const DIGIT_SPACING =
  /(?<![_^a-zA-Z]\d*)(\d)((?:\s|\\[!,;:> ]|\\q?quad(?![a-zA-Z])|[~\u00a0\u2009\u202f\u2008\u200a\u2006])+)(?=(\d+)(\/)?)/g;
const JOINS_DIGITS = /^(?:[ \u00a0\u2009\u202f]|\\[,! ])+$/;

/** The text with spacing between digits read (DIGIT_SPACING): joined, kept for a mixed number (1 1/2), or a comma. */
function digitSpacing(s: string): string {
  return s.replace(DIGIT_SPACING, (_, digit: string, space: string, next: string, slash?: string) => {
    if (next.length === 3 && JOINS_DIGITS.test(space)) return digit;
    return slash && /^\s+$/.test(space) ? digit + " " : digit + ", ";
  });
}

const RELATIONS: [RegExp, string][] = [
  [/\\(?:leqslant|leq|le)(?![a-zA-Z])|<=|\\lt(?![a-zA-Z])(?=\s*=)/g, "≤"],
  [/\\(?:geqslant|geq|ge)(?![a-zA-Z])|>=/g, "≥"],
  [/\\(?:neq|ne)(?![a-zA-Z])|!=/g, "≠"],
  [/\\lt(?![a-zA-Z])/g, "<"],
  [/\\gt(?![a-zA-Z])/g, ">"],
];

// (an \operatorname before a parenthesis stays: it names the function applied, \operatorname{lcm}(4,6))
const TEXT =
  /\\(?:text|textbf|textit|textnormal|textsf|texttt|textup|textrm|mathrm|mathbf|mathit|mathsf|mbox|boldsymbol|bm)\s*\{([^{}]*)\}|\\operatorname\s*\{([^{}]*)\}(?!\s*(?:\(|\\left\s*\())/g;
// A word after a number is a unit (dropped) only at the answer's end or before a list's comma or closing bracket
// (never between two numbers: `5 \text{ times } 3` is not 53), and only when it cannot change the value: a
// one- or two-letter word must be a unit symbol (never e, i, k, K, M: 12k is not 12, 1+2\mathrm{i} is 1+2i),
// a longer one (cm, dollars, apples) anything but a magnitude, a fraction word, a power, an operation, a
// comparison, a sign or a negation, in any case (2 Million is not 2, 3 quarters not 3, 12 squared not 12, 5 below
// zero, 5 more, 5 tens, 5 not: before 13 these were 5).
const UNIT_SYMBOL = /^(?:cm|mm|km|m|kg|g|mg|s|ms|h|hr|L|mL|ml|ft|yd|mi|oz|lb|lbs|sq|qt|Hz|kW|W|J|N|V|Pa)$/;
const VALUE_WORD = new RegExp(
  String.raw`^(?:pi|hundreds?|thousands?|millions?|billions?|trillions?|quadrillions?|mil|bil|thou|dozens?|lakhs?|` +
    String.raw`lacs?|crores?|grand|gross|half|halves|thirds?|quarters?|fourths?|fifths?|sixths?|sevenths?|eighths?|` +
    String.raw`ninths?|tenths?|elevenths?|twelfths?|[a-z]+teenths?|[a-z]+ieths?|hundredths?|thousandths?|millionths?|` +
    String.raw`billionths?|squared|cubed|factorial|plus|minus|over|divided|multiplied|percent|tens?|zero|below|under|` +
    String.raw`more|less|fewer|than|negative|not|none|nothing|neither)$`,
  "i",
);
/** Whether a word or words after a number are a unit that may be dropped (`cm`, `square units`, `m/s`). */
function isUnit(words: string): boolean {
  const ws = words.trim().split(/[\s./]+/).filter((w) => w !== "");
  return ws.length > 0 && ws.every((w) => UNIT_SYMBOL.test(w) || (w.length >= 3 && !VALUE_WORD.test(w)));
}
// Where a unit may end: the answer's end, a list's comma, a closing bracket.
const UNIT_END = String.raw`(?:\^\{?\d\}?)?(?=\s*(?:$|,|\)|\]|\\\}))`;
const UNIT_TEXT = new RegExp(
  String.raw`([\d}])\s*\\(?:text|textnormal|textrm|mbox|mathrm)\s*\{\s*([a-zA-Z][a-zA-Z\s./]*)\}${UNIT_END}`,
  "g",
);
const UNIT_BARE = new RegExp(
  String.raw`(\d)\s*(?:cm|mm|km|kg|meters?|metres?|miles?|feet|ft|inches|hours?|hrs?|minutes?|mins?|seconds?|secs?|` +
    String.raw`days?|weeks?|months?|years?|dollars?|cents?|units?|degrees?|grams?|liters?|litres?|mph|km/h|m/s)\b` +
    UNIT_END,
  "g",
);
// Two-letter units no formula writes as a product, only after a space and at the answer's end (12 oz; never mg
// or mL: 2mg is m times g).
const SHORT_UNIT = /(\d)\s+(?:oz|lbs?|qt|Hz|kW)$/;
// Plain words after a plain number, at the end (`5 apples`; `3 n`, `2 ab` and `6 xy^2` are products of variables).
const PLAIN_WORDS = /^([-+]?\d[\d,]*(?:\.\d+)?)\s+([a-zA-Z]{3,}(?:\s+[a-zA-Z]+)*)$/;

// A matrix or vector environment (\left( \begin{array}…\end{array} \right) is the matrix itself).
const MATRIX =
  /(?:\\left\s*[([]\s*)?\\begin\{(pmatrix|bmatrix|Bmatrix|matrix|smallmatrix|array)\}(?:\{[^{}]*\})?([^]*?)\\end\{\1\}(?:\s*\\right\s*[)\]])?/g;

/**
 * A matrix or vector environment as a tuple: a column or a row as (a, b), a grid as ((a, b), (c, d)). A whole
 * answer that is one matrix times a number (`\frac{1}{5}\begin{pmatrix}9&12\\12&16\end{pmatrix}`, `-M`, `M \cdot 2`)
 * is the tuple of its entries times it, each entry then compared by value.
 */
function matrices(s: string): string {
  const found = [...s.matchAll(MATRIX)];
  const scale = found.length === 1 ? scalarFactor(s, found[0]) : undefined;
  if (scale === undefined) return s.replace(MATRIX, (_, _env, inner: string) => matrixTuple(inner, (x) => x));
  return matrixTuple(found[0][2], (x) => x === "" ? x : scale === "-" ? `-(${x})` : `(${scale})\\cdot(${x})`);
}

/** A matrix environment's body (`1 & 2 \\ 3 & 4`) as a tuple, each entry as `entry` writes it. */
function matrixTuple(inner: string, entry: (x: string) => string): string {
  const rows = inner.split(/\\\\/).map((r) => r.trim()).filter((r) => r !== "").map((r) =>
    r.split("&").map((c) => entry(c.trim()))
  );
  if (rows.length === 0) return "()";
  const vector = rows.length === 1 ? rows[0] : rows.every((r) => r.length === 1) ? rows.map((r) => r[0]) : undefined;
  const tuple = (xs: string[]) => `(${xs.join(",")})`;
  return vector ? tuple(vector) : tuple(rows.map(tuple));
}

/**
 * The number a whole answer multiplies its one matrix by, written before it (`2`, `-`, `\frac{1}{\sqrt{5}}`, with
 * or without `\cdot`) or after it with `\cdot` or `\times`; undefined where the rest is no number (`\det M`,
 * `M^T`, `A = M`, words).
 */
function scalarFactor(s: string, m: RegExpMatchArray): string | undefined {
  const before = s.slice(0, m.index).trim(), after = s.slice(m.index! + m[0].length).trim();
  const factor = after === ""
    ? before.replace(/\s*\\(?:cdot|times)$/, "").trim()
    : before === "" && /^\\(?:cdot|times)(?![a-zA-Z])/.test(after)
    ? after.replace(/^\\(?:cdot|times)/, "").trim()
    : "";
  if (factor === "" || factor === "+") return undefined;
  // digits, one-letter names, fractions, roots and π; never a word or another command (\det, \text, \mathbf)
  const bare = factor.replace(/\\(?:[dt]?frac|sqrt|pi)(?![a-zA-Z])/g, "");
  return /^[-+]?[\w{}()^./\s+-]*$/.test(bare) && !/[a-zA-Z]{2,}|_/.test(bare) ? factor : undefined;
}

// A display wrapper whose last argument is the answer itself: a box inside the box, a colour, an underline.
const WRAPPER = /\\(?:boxed|fbox|underline)\s*\{|\\(?:textcolor|colorbox|color)\s*\{[^{}]*\}\s*\{/;

/** The text without display wrappers (`\boxed{\boxed{7}}`, `\textcolor{red}{7}`, `{\color{red} 7}`, `\overline{7}`). */
function unwrapped(s: string): string {
  let t = s, m;
  while ((m = WRAPPER.exec(t))) {
    let depth = 1, i = m.index + m[0].length;
    for (; i < t.length && depth > 0; i++) {
      if (t[i] === "\\") i++;
      else if (t[i] === "{") depth++;
      else if (t[i] === "}") depth--;
    }
    if (depth > 0) break; // unbalanced: left as written
    t = t.slice(0, m.index) + t.slice(m.index + m[0].length, i - 1) + t.slice(i);
  }
  // a colour switch, an overline on a whole number (never 0.\overline{3}, a repeating decimal, nor \overline{z})
  t = t.replace(/\\color\s*\{[^{}]*\}/g, "").replace(/(?<![\d.])\\overline\s*\{\s*(\d+)\s*\}/g, "$1").trim();
  // braces around the whole answer, left by a switch: {\color{red} 7}
  while (/^\{[^]*\}$/.test(t) && balancedInside(t.slice(1, -1))) {
    t = t.slice(1, -1).trim();
  }
  return t;
}

/** Whether every brace of s closes one it opened (unescaped braces only). */
function balancedInside(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth < 0) return false;
  }
  return depth === 0;
}

/** What a pass may read besides the text: the caller's choice, and what an earlier pass noted. */
interface PassState {
  keepLabels: boolean;
  /** "32, 349" lists two numbers (noted before spaces go; 32,349 and 32,\! 349 are one number) */
  listed: boolean;
}

/** One pass of the text normalisation: its name, an example of what it does alone, and the rewrite. */
export interface NormalizePass {
  name: string;
  example: [string, string];
  apply(s: string, state: PassState): string;
}

/** The normalisation, pass by pass, in order (each pass's example is a test: tests/tasks/grading/equivalence_test.ts). */
export const NORMALIZE_PASSES: readonly NormalizePass[] = [
  {
    name: "math delimiters",
    example: ["\\(x^2\\)", "x^2"],
    apply: (s) => s.replace(/^\\\(|\\\)$/g, "").replace(/^\\\[|\\\]$/g, "").replace(/(?<!\\)\$/g, ""),
  },
  {
    name: "display wrappers",
    example: ["\\textcolor{red}{\\overline{7}}", "7"],
    apply: unwrapped,
  },
  {
    name: "matrices and angle brackets as tuples",
    example: ["\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1,2)"],
    apply: (s) => matrices(s).replace(/\\langle/g, "(").replace(/\\rangle/g, ")"),
  },
  { name: "thousands spacing ,\\!", example: ["11,\\! 111", "11,111"], apply: (s) => s.replace(/,\\!\s*/g, ",") },
  {
    name: "layout and degree marks dropped",
    example: ["\\left( 90^\\circ \\right)", "( 90 )"],
    apply: (s) => DROP.reduce((t, re) => t.replace(re, ""), digitSpacing(s)),
  },
  {
    name: "relations as symbols",
    example: ["x \\leq 3", "x ≤ 3"],
    apply: (s) => RELATIONS.reduce((t, [re, to]) => t.replace(re, to), s),
  },
  {
    name: "absolute value bars",
    example: ["\\lvert x \\rvert", "| x |"],
    apply: (s) => s.replace(/\\[lr]?vert\b|\\[lr]Vert\b/g, "|"),
  },
  {
    name: "display and text fractions",
    example: ["\\dfrac{1}{2}", "\\frac{1}{2}"],
    apply: (s) => s.replace(/\\[dt]frac/g, "\\frac").replace(/\\[dt]binom/g, "\\binom"),
  },
  {
    name: "empty set",
    example: ["\\varnothing", "∅"],
    apply: (s) => s.replace(/\\(?:varnothing|emptyset)\b|^\\\{\s*\\\}$/g, "∅"),
  },
  {
    name: "percent written out",
    example: ["50 \\text{ percent}", "50%"],
    apply: (s) => s.replace(/\s*(?:\\%|%|\\text\s*\{\s*(?:\\%|%|percent)\s*\}|\bpercent\b)\s*$/, "%"),
  },
  {
    name: "labelled solutions as tuples",
    example: ["p=5,q=2;p=7,q=2", "(5,2);(7,2)"],
    apply: labelledTuples,
  },
  {
    name: "several answers as a list",
    example: ["1 or 2; 3", "1,2, 3"],
    apply: (s) => s.replace(listSeparator("and|or"), ","),
  },
  {
    name: "units after a number",
    example: ["18 \\text{ cm}^2", "18"],
    apply: (s) =>
      s.replace(UNIT_TEXT, (all, before: string, words: string) => isUnit(words) ? before : all)
        .replace(UNIT_BARE, "$1").replace(SHORT_UNIT, "$1")
        .replace(PLAIN_WORDS, (all, n: string, words: string) => isUnit(words) ? n : all),
  },
  {
    name: "text commands unwrapped",
    example: ["\\textbf{\\text{yes}}", "yes"],
    apply: (s) => s.replace(TEXT, "$1$2").replace(TEXT, "$1$2").replace(/\{,\}/g, ","),
  },
  {
    name: "braces of one-digit fractions and roots",
    example: ["\\frac12+\\sqrt2", "\\frac{1}{2}+\\sqrt{2}"],
    apply: (s) =>
      s.replace(/\\frac\s*(\d)\s*(\d)/g, "\\frac{$1}{$2}").replace(/\\frac\s*(\d)\s*\{/g, "\\frac{$1}{")
        .replace(/\\frac\s*\{([^{}]*)\}\s*(\d)/g, "\\frac{$1}{$2}").replace(/\\sqrt\s*(\d+)/g, "\\sqrt{$1}"),
  },
  {
    // before spaces go: "1 1/2" would become 11/2
    name: "a mixed number written with a space",
    example: ["1 1/2", "1\\frac{1}{2}"],
    apply: (s) => s.replace(/^([-+]?\d+)\s+(\d+)\s*\/\s*(\d+)$/, "$1\\frac{$2}{$3}"),
  },
  {
    name: "spaces collapsed, a list noted",
    example: ["  32,   349 ", "32, 349"],
    apply: (s, state) => {
      const t = s.replace(/\s+/g, " ").trim();
      state.listed = /,\s/.test(t);
      return t;
    },
  },
  {
    name: "spaces removed (one kept after a command before a letter)",
    example: ["\\pi r ^ 2", "\\pi r^2"],
    // deno-lint-ignore no-control-regex -- NUL stands in for a space that must survive the next replace
    apply: (s) => s.replace(/(\\[a-zA-Z]+) (?=[a-zA-Z])/g, "$1\u0000").replace(/ /g, "").replace(/\u0000/g, " "),
  },
  {
    name: "a final period and stray commas",
    example: [",1,,2.", "1,2"],
    apply: (s) => s.replace(/\.$/, "").replace(/,+/g, ",").replace(/^,|,$/g, ""),
  },
  { name: "labels read away", example: ["x=3", "3"], apply: (s, state) => state.keepLabels ? s : unlabel(s) },
  {
    name: "thousands separators",
    example: ["1,000,000", "1000000"],
    apply: (s, state) => !state.listed && /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s) ? s.replace(/,/g, "") : s,
  },
  { name: "a choice's parentheses", example: ["(C)", "C"], apply: (s) => s.replace(/^\(([A-E])\)$/, "$1") },
];

// Between two solutions: `;`, "or", "and" (bare or in \text{}).
const SOLUTIONS = /\s*;\s*|\s*\\text\s*\{\s*(?:and|or)\s*\}\s*|\s+(?:and|or)\s+/;
const LABELLED = /^\s*([a-zA-Z](?:_\{?\w+\}?)?)\s*=\s*([^=]+?)\s*$/;

/**
 * Two or more solutions, each the same labels with their values (`p=5,q=2;p=7,q=2`, `x = 1, y = 2 or x = 3,
 * y = 4`), as one tuple each, its values in the labels' alphabetical order (`b=1, a=2` is `(2,1)`, as a gold's
 * `(a,b)` reads it): `(5,2);(7,2)`. One solution alone stays a list of labelled values (`x = 4, y = 9`
 * against `4, 9`).
 */
function labelledTuples(s: string): string {
  const groups = s.split(SOLUTIONS);
  if (groups.length < 2) return s;
  const read = groups.map((g) => (splitTop(g) ?? [g]).map((item) => LABELLED.exec(item)));
  const labels = (i: number) => read[i].map((m) => m?.[1]).join(",");
  if (read[0].length < 2 || read.some((r, i) => r.some((m) => !m) || labels(i) !== labels(0))) return s;
  const order = read[0].map((m, k) => ({ label: m![1], k })).sort((a, b) => a.label.localeCompare(b.label));
  const tuples = read.map((r) => `(${order.map(({ k }) => r[k]![2]).join(",")})`);
  const seps = [...s.matchAll(new RegExp(SOLUTIONS, "g"))].map((m) => m[0]);
  return tuples.map((t, i) => (i ? seps[i - 1] : "") + t).join("");
}

/** Text-level normalisation shared by both modes (NORMALIZE_PASSES in order); labels read away unless `keepLabels`. */
export function normalize(answer: string, keepLabels = false): string {
  const state: PassState = { keepLabels, listed: false };
  return NORMALIZE_PASSES.reduce((s, p) => p.apply(s, state), answer.trim());
}

/**
 * The group a maths answer votes with (self-consistency's and DeepConf's votes, maj@k; answer_format.ts voteKey
 * chooses it by the problem's grading): the grader's text normalisation (not its full equivalence), except that
 * values named one by one (`A = 7, B = 9`) keep their names, in any order: `B = 7, A = 9` is another answer, as
 * the grader reads it.
 */
export function mathsVoteKey(answer: string): string {
  const named = namedEntries(answer);
  if (!named || named.length < 2) return normalize(answer);
  return named.map((e) => `${e.name}=${normalize(e.value)}`).sort().join(",");
}

// A name that labels a value: x, x_1, AB, f(x), (p,q), V_1:V_2, \angle ABC.
const LABEL = String.raw`(?:\\angle ?|m\\angle ?|\\overline\{|\|)?[a-zA-Z]{1,3}(?:_(?:\{\\?\w+\}|\\?\w+)|')*` +
  String.raw`(?:\([a-z]\))?\}?\|?`;
const LABELS = new RegExp(String.raw`^(?:${LABEL}|\((?:${LABEL},)+${LABEL}\)|${LABEL}(?::${LABEL})+)$`);

/** "x=3" -> "3", "AB=4,CD=5" -> "4,5", "x=5+5+1=11" -> "11"; an equation between expressions stays. */
function unlabel(s: string): string {
  const parts = splitTop(s) ?? [s];
  const out = parts.map((part) => {
    const sides = splitTop(part, "=");
    if (!sides || sides.some((x) => x === "") || /[≤≥<>≠]|\\in/.test(part.replace(/\\in(?=[[(])/, ""))) {
      const member = /^(.+?)\\in(.+)$/.exec(part);
      return member && LABELS.test(member[1]) && !/[≤≥<>≠=]/.test(member[2]) ? member[2] : part;
    }
    // a chain (x = 5+5+1 = 11) or a computation (2^{10} = 1024): its last side, where each constant side equals
    // it (2+2 = 5, 6 = 5 and 10 = 2^{10} are false, no value: before 13 they were 5, 5 and 1024)
    const constant = (x: string) => !/[a-zA-Z]/.test(x.replace(/\\[a-zA-Z]+/g, ""));
    if (sides.length > 2 || (constant(sides[0]) && constant(sides[1]))) {
      const last = sides[sides.length - 1];
      const holds = !constant(last) || sides.slice(0, -1).every((x) => !constant(x) || equalConstants(x, last));
      return holds ? last : part;
    }
    return LABELS.test(sides[0]) ? sides[1] : part;
  });
  return out.join(",");
}

/** Whether two constant sides of an equation are equal (leniently: `\frac{1}{3} = 0.3333`); not where the engine gives up. */
function equalConstants(a: string, b: string): boolean {
  try {
    return isolated(() => same(a, b, "lenient"));
  } catch {
    return false;
  }
}

// ---------- exact rationals ----------

interface Scalar {
  value: Rational;
  percent: boolean;
  /** written with a decimal point (compared with a tolerance in lenient mode) */
  approx: boolean;
  /** its digits after the point */
  places: number;
  /** its significant figures as written */
  figures: number;
}

/** An exact number written plainly: 3, -2.5, 3/4, \frac{3}{4}, -\frac{3}{4}, 2\frac{1}{2}, 50%, 27.0. */
function scalar(s: string): Scalar | undefined {
  let t = s, percent = false;
  if (/\\?%$/.test(t)) (percent = true, t = t.replace(/\\?%$/, ""));
  let sign = 1n;
  if (t.startsWith("-")) (sign = -1n, t = t.slice(1));
  else if (t.startsWith("+")) t = t.slice(1);
  let m;
  let v: Rational | undefined;
  if ((m = /^(\d+)?\\frac\{(\d+)\}\{(\d+)\}$/.exec(t)) && m[3] !== "0") {
    v = rational(BigInt(m[2]), BigInt(m[3]));
    if (m[1]) v = rational(BigInt(m[1]) * v.d + v.n, v.d); // a mixed number
  } else if ((m = /^(\d+)\/(\d+)$/.exec(t)) && m[2] !== "0") {
    v = rational(BigInt(m[1]), BigInt(m[2]));
  } else if (/^\d*\.?\d*$/.test(t)) {
    v = decimal(t);
  } else if ((m = /^(\d*\.?\d+)(?:(?:\\times|\\cdot)10\^(?:\{([-+]?\d{1,3})\}|(\d))|[eE]([-+]?\d{1,3}))$/.exec(t))) {
    // a·10^k or aek (spaces are gone here): its mantissa's digits, moved k places (1.450001·10^6 is cut at the
    // units; 2.5e6 has two figures, as 2.5·10^6: before 13 it was within 10^{-6} of 2500002)
    const k = Number(m[2] ?? m[3] ?? m[4]), mantissa = decimal(m[1])!, places = (m[1].split(".")[1]?.length ?? 0) - k;
    const scale = rational(10n ** BigInt(Math.abs(k)));
    v = k >= 0 ? rational(mantissa.n * scale.n, mantissa.d) : rational(mantissa.n, mantissa.d * scale.n);
    return { value: rational(sign * v.n, v.d), percent, approx: m[1].includes("."), places, figures: figuresOf(m[1]) };
  }
  if (!v) return undefined;
  return {
    value: rational(sign * v.n, v.d),
    percent,
    approx: t.includes("."),
    places: t.split(".")[1]?.length ?? 0,
    figures: figuresOf(t),
  };
}

/**
 * Leniently, a decimal written with `places` digits after its point, `figures` of them significant, against
 * another number: equal when it is that number rounded or cut at its last digit (|a - b| < one unit of that digit:
 * 70006.0 is not 70000, nor 0.0000673 0.0000672) and written to enough figures (`enoughFigures`: 0.1667 is a
 * sixth, 0.0667 a fifteenth; 0.0 and 0.0001 are not 0.0000672, nor 0.33 or 3.14 a third or π). Values here are
 * floats (a constant such as π); `scalarsEqual` decides the last-digit bound exactly.
 */
function nearAsWritten(a: number, b: number, places: number, figures: number): boolean {
  return Math.abs(a - b) < 10 ** -places * (1 - 1e-9) && enoughFigures(figures, places);
}

// A decimal with more significant figures than this is compared in big decimals, not floats.
const FLOAT_FIGURES = 12;

/** Four significant figures, or three with four places after the point (0.0667: a fifteenth). */
const enoughFigures = (figures: number, places: number) => figures >= 4 || (places >= 4 && figures >= 3);

/** The significant figures of a decimal as written (0.0667: 3; 100.0: 4; 0.0: 0). */
const figuresOf = (t: string) => t.replace(/^[-+]/, "").replace(".", "").replace(/^0+/, "").replace(/\D.*$/, "").length;

/** |a − b| below one unit of the `places`-th digit after the point (negative: before it), exactly. */
function withinLastDigit(a: Rational, b: Rational, places: number): boolean {
  const num = a.n * b.d - b.n * a.d, den = a.d * b.d, abs = num < 0n ? -num : num;
  return places >= 0 ? abs * 10n ** BigInt(places) < den : abs < den * 10n ** BigInt(-places);
}

function scalarsEqual(p: Scalar, g: Scalar, mode: Mode): boolean {
  const candidates = [{ value: p.value, places: p.places }];
  // the coarser decimal written is the rounded one: its figures must be enough
  const coarse = [p, g].filter((x) => x.approx).sort((x, y) => x.places - y.places)[0];
  if (mode === "lenient" && p.percent !== g.percent) {
    // 50% against 0.5 (its digits move two places), 0.5 against 50%
    candidates.push(
      p.percent
        ? { value: rational(p.value.n, p.value.d * 100n), places: p.places + 2 }
        : { value: rational(p.value.n * 100n, p.value.d), places: p.places - 2 },
    );
  }
  for (const c of candidates) {
    if (ratEq(c.value, g.value)) return true;
    if (mode === "lenient" && (p.approx || g.approx)) {
      // the coarser of the decimals written sets the digit (an exact side has every digit)
      const places = Math.min(p.approx ? c.places : Infinity, g.approx ? g.places : Infinity);
      if (withinLastDigit(c.value, g.value, places) && enoughFigures(coarse.figures, coarse.places)) return true;
    }
  }
  return false;
}

// ---------- structure: tuples, sets, lists ----------

interface Structure {
  kind: "list" | "tuple" | "set";
  open: string;
  close: string;
  parts: string[];
}

/** Whether the brackets at both ends of s enclose all of it. */
function enclosed(s: string, open: string, close: string): boolean {
  if (!s.startsWith(open) || !s.endsWith(close)) return false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if ("([{".includes(s[i])) depth++;
    else if (")]}".includes(s[i])) depth--;
    if (depth === 0 && i < s.length - 1) return false;
  }
  return true;
}

const PM = /\\(pm|mp)(?![a-zA-Z]) ?/g;

/**
 * `a \pm b` stands for both of its values, a + b and a - b (a `\mp` in the same part takes the other sign), so
 * `1 \pm \sqrt{19}` is the list `1+\sqrt{19}, 1-\sqrt{19}`; a part without one is itself. Two or more `\pm` in
 * one part could be read together or apart: that part stays as written and is compared as text only.
 */
function plusMinus(s: string): string[] {
  if (s.startsWith("\\{") && s.endsWith("\\}")) return [s]; // a set: its parts are expanded inside it
  const count = (op: string) => [...s.matchAll(PM)].filter((m) => m[1] === op).length;
  const pm = count("pm"), mp = count("mp");
  if (pm + mp === 0 || pm > 1 || (pm === 0 && mp > 1)) return [s];
  const signed = (plus: boolean) =>
    s.replace(/(^|[([{,=])\\(pm|mp)(?![a-zA-Z]) ?/g, (_, before, op) => before + ((op === "pm") === plus ? "" : "-"))
      .replace(PM, (_, op) => ((op === "pm") === plus ? "+" : "-"));
  return [signed(true), signed(false)];
}

/** Whether `s` still holds a `\pm` or `\mp` (which the compute engine reads as a measurement, `a` alone). */
const hasPlusMinus = (s: string) => /\\(?:pm|mp)(?![a-zA-Z])/.test(s);

function structure(s: string): Structure | undefined {
  if (s.startsWith("\\{") && s.endsWith("\\}")) {
    const inner = s.slice(2, -2);
    return { kind: "set", open: "{", close: "}", parts: (splitTop(inner) ?? [inner]).flatMap(plusMinus) };
  }
  const list = splitTop(s);
  if (!list) {
    const both = plusMinus(s);
    if (both.length > 1) return { kind: "list", open: "", close: "", parts: both };
  }
  for (const open of ["(", "["]) {
    for (const close of [")", "]"]) {
      if (!enclosed(s, open, close)) continue;
      const parts = splitTop(s.slice(1, -1));
      if (parts) return { kind: "tuple", open, close, parts };
    }
  }
  return list ? { kind: "list", open: "", close: "", parts: list.flatMap(plusMinus) } : undefined;
}

function unorderedEqual(p: string[], g: string[], mode: Mode, depth: number): boolean {
  if (p.length !== g.length) return false;
  const used = new Array(g.length).fill(false);
  for (const x of p) {
    const j = g.findIndex((y, k) => !used[k] && same(x, y, mode, depth + 1));
    if (j < 0) return false;
    used[j] = true;
  }
  return true;
}

/** The parts without repeats (a part equal to an earlier one is dropped). */
function distinct(parts: string[], mode: Mode, depth: number): string[] {
  return parts.filter((x, i) => !parts.slice(0, i).some((y) => same(x, y, mode, depth + 1)));
}

// ---------- symbolic and numeric ----------

function isFiniteNonzero(x: number): boolean {
  return Number.isFinite(x) && Math.abs(x) > 1e-250 && Math.abs(x) < 1e250;
}

function close(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

/** The value as a complex number, [re, im]; NaN where there is none. */
function complexValue(expr: ReturnType<typeof ce.parse> | null): [number, number] {
  if (!expr) return [Number.NaN, Number.NaN];
  const v = expr.N() as unknown as { re?: number; im?: number };
  return typeof v.re === "number" ? [v.re, typeof v.im === "number" ? v.im : 0] : [Number.NaN, Number.NaN];
}

/** The real value; NaN where there is none, or where it is not real (6+9i). */
function numeric(expr: ReturnType<typeof ce.parse> | null): number {
  const [re, im] = complexValue(expr);
  return Math.abs(im) <= 1e-12 * Math.max(1, Math.abs(re)) ? re : Number.NaN;
}

/** Two complex values close in both parts (a real part alone would make 6+10i equal 6+9i). */
function closeComplex(a: [number, number], b: [number, number], tol: number): boolean {
  return close(a[0], b[0], tol) && close(a[1], b[1], tol);
}

const finiteComplex = (z: [number, number]) => Number.isFinite(z[0]) && Number.isFinite(z[1]);

/** Deterministic "random" points, so that a verdict never changes between runs (exact, for any precision). */
const POINTS = [0.6180339887, 1.4142135623, 2.7182818284, 0.3183098861, 1.7320508075].map((x) => decimal(String(x))!);

/** The variables at the k-th point: the i-th variable at points[k + i] + i, as exact numbers. */
function pointAt(free: string[], points: readonly Rational[], k: number) {
  return Object.fromEntries(free.map((v, i) => {
    const p = points[(k + i) % points.length];
    return [v, ce.number([p.n + BigInt(i) * p.d, p.d])];
  }));
}

/** At how many of WIDE_POINTS two piecewise functions must agree (where both are defined) to be equal. */
const PIECEWISE_AGREE = 12;

/**
 * An answer as the engine's expression (canonical, or as parsed), with a parenthesis after a variable read as a
 * product (`products`) and each decimal as the exact number it writes (`exactDecimals`); undefined where the
 * engine finds an error.
 */
function parse(s: string, canonical = true) {
  try {
    const json = exactDecimals(products(ce.parse(s, { form: "raw" }).json)) as Parameters<typeof ce.box>[0];
    const e = ce.box(json, { form: canonical ? "canonical" : "raw" });
    return JSON.stringify(e.json).includes("Error") ? undefined : e;
  } catch {
    return undefined;
  }
}

type Json = unknown;

/**
 * Each decimal as the fraction it writes (1.25 as 5/4): the engine keeps a decimal beside i as a machine float, so
 * `1 + 1.23…i` was compared to 16 digits whatever was written (two values differing at the 17th were equal).
 */
function exactDecimals(e: Json): Json {
  if (Array.isArray(e)) return e.map(exactDecimals);
  const text = typeof e === "number" ? String(e) : (e as { num?: unknown } | null)?.num;
  if (typeof text !== "string" || !/[.e]/i.test(text) || !Number.isFinite(Number(text))) return e;
  const v = decimal(text);
  return v && v.d !== 1n ? ["Rational", { num: v.n.toString() }, { num: v.d.toString() }] : e;
}

/**
 * Whether a name before a parenthesis is a variable, multiplied by it: a letter (`m`, `T_0`, `N`) always, a
 * longer name (`\omega`) unless the engine names a function so (`\Gamma(5)`, `\zeta(2)`; `\sin`, `\max` and
 * the like are parsed as functions before this).
 */
function isVariable(name: Json): boolean {
  if (typeof name !== "string" || !/^[a-zA-Z]+(?:_.*)?$/.test(name)) return false;
  return !isFunction(name);
}

/** A name of more than one letter that the engine defines as a function (`Gamma`, `Zeta`); never a letter. */
function isFunction(name: Json): boolean {
  if (typeof name !== "string" || !/^[a-zA-Z]{2,}$/.test(name)) return false;
  const def = ce.lookupDefinition(name);
  return !!def && "operator" in def;
}

// The letters the engine names functions (N: numeric value, D: derivative), found before any answer is read:
// in an answer they are variables (`\pi N` has the unknown N), so they are read under another name.
const LETTER_FUNCTIONS = new Set(
  [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"].filter((l) => {
    const def = ce.lookupDefinition(l);
    return def && "operator" in def;
  }),
);
const asVariable = (x: Json) => typeof x === "string" && LETTER_FUNCTIONS.has(x) ? `${x}_variable` : x;

/**
 * The parser's expression with a parenthesis after a variable read as multiplying it, as an answer means it:
 * `m(g+a)`, `T_0\left(1-\frac{a}{b}\right)`, `N(N-1)`, `f(x)` (f times x). The parser reads a capital letter
 * before one as a function's argument, and the engine, left alone, any undeclared letter, declaring it a
 * function: `a(b+c)` was then unequal to `ab+ac`, and after it so was `a` in every later answer.
 */
function products(e: Json): Json {
  if (!Array.isArray(e)) return asVariable(e);
  const [head, ...rest] = e, args = rest.map(products);
  // a letter applied to one argument: N(N-1) as the parser reads it
  if (args.length === 1 && typeof head === "string" && /^[a-zA-Z](?:_.*)?$/.test(head)) {
    return ["InvisibleOperator", asVariable(head), args[0]];
  }
  if (head !== "InvisibleOperator") return [Array.isArray(head) ? products(head) : head, ...args];
  // x(y+1): the parenthesis after a variable is a factor (a tuple after one, x(1,2), stays as the engine reads it)
  const factors = applied(args).map((a, k, all) => {
    const inner = Array.isArray(a) && a[0] === "Delimiter" && a.length === 2 ? a[1] : undefined;
    const tuple = Array.isArray(inner) && inner[0] === "Sequence";
    return inner !== undefined && !tuple && k > 0 && isVariable(all[k - 1]) ? inner : a;
  });
  return factors.length === 1 ? factors[0] : [head, ...factors];
}

/** The arguments a parenthesis holds: `(5)` one, `(4, 6)` two; undefined for any other bracket. */
function delimited(e: Json): Json[] | undefined {
  if (!Array.isArray(e) || e[0] !== "Delimiter" || e.length < 2 || (e.length === 3 && e[2] !== "'(,)'")) {
    return undefined;
  }
  return Array.isArray(e[1]) && e[1][0] === "Sequence" ? e[1].slice(1) : [e[1]];
}

/**
 * Factors with each engine function applied to the parenthesis after it, as the engine reads `\sin(x)`:
 * `\Gamma(5)` is Γ at 5 (the parser leaves it a name beside a parenthesis, which the exact arithmetic read as a
 * product of a variable Gamma, so Γ(5) was not 24), `\Gamma(5)^2` is Γ(5) squared, `2\Gamma(3)\Gamma(4)` a
 * product of two values.
 */
function applied(args: Json[]): Json[] {
  const out: Json[] = [];
  for (let k = 0; k < args.length; k++) {
    const name = args[k], next = args[k + 1];
    const power = Array.isArray(next) && next[0] === "Power" && next.length === 3 ? next : undefined;
    const inner = delimited(power ? power[1] : next);
    if (!isFunction(name) || !inner) {
      out.push(name);
      continue;
    }
    out.push(power ? ["Power", [name, ...inner], power[2]] : [name, ...inner]);
    k++;
  }
  return out;
}

const hasDecimal = (s: string) => /\d\.\d|(^|[^\d])\.\d/.test(s);

// Leniently, where a decimal is written in an expression (0.5\pi), values within this relative tolerance are equal,
// or within what its digits claim where they claim more (`lenientTolerance`).
const LENIENT_TOL = 1e-6;

/**
 * Leniently, how far apart, relative to the values, two sides holding decimals may be: each side is as precise
 * as its longest decimal, an exact side (no decimal) exactly so, and the coarser side decides: just under a unit
 * of its decimal's last digit, relative to that decimal, LENIENT_TOL at most (`0.3333\pi` is π/3 to 10^{-4}: not
 * equal). Before grader 11 always LENIENT_TOL: two expressions with decimals of 70 digits were equal when they
 * differed at the 17th; before 13, 10^{3-f} for f significant figures, so a decimal one unit of its last digit
 * from another number was still it (`1.000001x` was x).
 */
function lenientTolerance(a: string, b: string): number {
  const precise = [a, b].flatMap((x) => {
    const decimals = [...x.matchAll(/\d*\.\d+/g)].map((m) => m[0]).filter((d) => figuresOf(d) > 0);
    if (decimals.length === 0) return [];
    const d = decimals.reduce((p, q) => (figuresOf(q) > figuresOf(p) ? q : p));
    return [{ figures: figuresOf(d), unit: 10 ** -d.split(".")[1].length / Number(d) }];
  });
  const coarse = precise.reduce((p, q) => (q.figures < p.figures ? q : p));
  return Math.min(LENIENT_TOL, coarse.unit * (1 - 1e-9));
}

/** A relative tolerance as preciseAgree's bound; none where it is LENIENT_TOL's, which floats decide already. */
const relative = (tol: number) => tol < LENIENT_TOL ? (scale: Big) => scale.mul(ce.bignum(tol)) : undefined;

function symbolicEqual(a: string, b: string, mode: Mode): boolean {
  // Exactly, where both sides have exact values (big integers and rationals, polynomials at rational points):
  // a tolerance never makes 2^{30} equal 2^{30}+1. Leniently, a decimal on either side may still be close.
  // A \pm left over (two in one part) is no single value: the text decided already.
  if (hasPlusMinus(a) || hasPlusMinus(b)) return false;
  const ra = parse(a, false), rb = parse(b, false);
  if (!ra || !rb) return false;
  // A piecewise function (floor, mod, |x|) is compared at many points, small and large, and at enough of them.
  const piecewise = PIECEWISE.test(JSON.stringify(ra.json) + JSON.stringify(rb.json));
  const pairs = exactPairs(ra.json, rb.json, piecewise ? WIDE_POINTS : undefined);
  if (pairs) {
    if (pairs.every(([x, y]) => ratEq(x, y))) {
      // (one pair: two constants)
      if (!piecewise || pairs.length === 1 || pairs.length >= PIECEWISE_AGREE) return true;
    } else if (mode === "strict" || !(hasDecimal(a) || hasDecimal(b))) return false;
    // two constants, one an integer: no tolerance spans a unit of it (above 10^6 a relative 10^{-6} did, so that
    // `0.5 \cdot 5000008` was 2500002)
    else if (pairs.length === 1 && pairs[0].some((x) => x.d === 1n) && !withinLastDigit(...pairs[0], 0)) return false;
  }
  const A = parse(a), B = parse(b);
  if (!A || !B) return false;
  const ja = JSON.stringify(A.json), jb = JSON.stringify(B.json);
  if (ja === jb) return true;
  // A tolerance only leniently and only where a decimal is written; else values agree to many digits or not at
  // all (precise.ts: 355/113 is not π, 3^{40}π + 1 not 3^{40}π), and a decimal strictly is the number written.
  const approx = mode === "lenient" && (hasDecimal(a) || hasDecimal(b));
  const tol = approx ? lenientTolerance(a, b) : 0;
  // (a tolerance the floats below decide, or the exact comparison, in precise.ts)
  const agree = (pairs: [typeof A, typeof B][]) => tol === LENIENT_TOL || preciseAgree(ce, pairs, relative(tol));
  const dec = [a, b].find((x) => scalar(x)?.approx);
  const free = [...new Set([...A.unknowns, ...B.unknowns])];
  if (free.length === 0) {
    // Both constants (complex ones in both parts): decide by value, but never on an underflow or overflow
    // (1/2004! against 1/2006!).
    const va = complexValue(A), vb = complexValue(B), size = (z: [number, number]) => Math.hypot(z[0], z[1]);
    if (!isFiniteNonzero(size(va)) || !isFiniteNonzero(size(vb))) {
      return size(va) === 0 && size(vb) === 0 && !/Factorial|Power/.test(ja + jb);
    }
    // Leniently a decimal side is a constant rounded or cut at its last digit (1.4142 is √2), as for numbers.
    if (approx && dec !== undefined && va[1] === 0 && vb[1] === 0) {
      const d = scalar(dec)!;
      if (d.figures <= FLOAT_FIGURES) return nearAsWritten(va[0], vb[0], d.places, d.figures);
      // more digits than a float holds: their last digit in big decimals
      const unit = ce.bignum(`1e${-d.places}`).mul(1 - 1e-9);
      return enoughFigures(d.figures, d.places) && closeComplex(va, vb, LENIENT_TOL) &&
        preciseAgree(ce, [[A, B]], () => unit);
    }
    return closeComplex(va, vb, LENIENT_TOL) && agree([[A, B]]);
  }
  const verdict = A.isEqual(B);
  if (verdict === false) return false;
  const points = piecewise ? WIDE_POINTS : POINTS;
  const at: [typeof A, typeof B][] = [];
  for (let k = 0; k < points.length; k++) {
    const point = pointAt(free, points, k), sa = A.subs(point), sb = B.subs(point);
    const va = complexValue(sa), vb = complexValue(sb);
    if (!finiteComplex(va) || !finiteComplex(vb)) continue;
    if (!closeComplex(va, vb, LENIENT_TOL)) return false;
    at.push([sa, sb]);
  }
  return at.length >= (piecewise ? PIECEWISE_AGREE : 3) && agree(at);
}

/** Two equations (one `=` each) with the same solutions: L - R proportional, by a nonzero constant. */
function equationsEqual(p: string, g: string, mode: Mode): boolean | undefined {
  const ps = splitTop(p, "="), gs = splitTop(g, "=");
  if (ps?.length !== 2 || gs?.length !== 2) return undefined;
  if (hasPlusMinus(p) || hasPlusMinus(g)) return false;
  const f = parse(`(${ps[0]})-(${ps[1]})`, false), h = parse(`(${gs[0]})-(${gs[1]})`, false);
  if (!f || !h) return false;
  const pairs = exactPairs(f.json, h.json);
  if (pairs) {
    const nonzero = pairs.filter(([x, y]) => x.n !== 0n || y.n !== 0n);
    if (nonzero.some(([x, y]) => x.n === 0n || y.n === 0n) || nonzero.length < 2) return false;
    const [x0, y0] = nonzero[0];
    return nonzero.every(([x, y]) => x.n * y0.n * y.d * x0.d === y.n * x0.n * x.d * y0.d);
  }
  const F = parse(`(${ps[0]})-(${ps[1]})`), H = parse(`(${gs[0]})-(${gs[1]})`);
  if (!F || !H) return false;
  const free = [...new Set([...F.unknowns, ...H.unknowns])];
  let ratio: number | undefined, first: [typeof F, typeof H] | undefined;
  // F(k) H(0) = H(k) F(0) at every point: to many digits (precise.ts), leniently within a decimal's tolerance
  const cross: [typeof F, typeof H][] = [];
  for (let k = 0; k < POINTS.length; k++) {
    const point = pointAt(free, POINTS, k), fk = F.subs(point), hk = H.subs(point);
    const x = numeric(fk), y = numeric(hk);
    if (!Number.isFinite(x) || !Number.isFinite(y) || (Math.abs(x) < 1e-12 && Math.abs(y) < 1e-12)) continue;
    if (Math.abs(y) < 1e-12) return false;
    if (ratio === undefined) (ratio = x / y, first = [fk, hk]);
    else if (!close(x / y, ratio, 1e-9)) return false;
    else cross.push([ce.box(["Multiply", fk, first![1]]), ce.box(["Multiply", hk, first![0]])]);
  }
  const tol = mode === "lenient" && (hasDecimal(p) || hasDecimal(g)) ? lenientTolerance(p, g) : 0;
  return ratio !== undefined && ratio !== 0 && (tol === LENIENT_TOL || preciseAgree(ce, cross, relative(tol)));
}

/** The real value of a constant (no unknowns: `7 \times 10^{35}`, `\frac{\pi}{4}`), or undefined. */
export function constantValue(s: string): number | undefined {
  return isolated(() => {
    const e = parse(s);
    if (!e || e.unknowns.length > 0 || hasPlusMinus(s)) return undefined;
    const v = numeric(e);
    return Number.isFinite(v) ? v : undefined;
  });
}

const NUMBERS = (mode: Mode) => ({
  value: (t: string) => numeric(parse(t) ?? null),
  same: (x: string, y: string) => same(x, y, mode, 3),
});

// ---------- the comparison ----------

function same(pred: string, gold: string, mode: Mode, depth = 0): boolean {
  if (pred === gold) return true;
  if (mode === "lenient" && /^[a-zA-Z ]+$/.test(gold) && pred.toLowerCase() === gold.toLowerCase()) return true;
  // a choice written with its text: "C.x=42", "(C)42" against C; two choices named ((C),(E); C,D) are a hedge
  const choice = /^\(?([A-E])(?:\)|\.|:|$)/.exec(pred);
  if (/^[A-E]$/.test(gold) && choice) return choice[1] === gold && choicesNamed(pred).size <= 1;
  const ps = scalar(pred), gs = scalar(gold);
  if (ps && gs) return scalarsEqual(ps, gs, mode);
  const sets = sameRealSet(pred, gold, NUMBERS(mode));
  if (sets !== undefined) return sets;
  if (depth < 4) {
    const pst = structure(pred), gst = structure(gold);
    if (pst || gst) {
      if (!pst || !gst) return false;
      // against a gold set each element counts once: (1,2),(1,2),(3,4) against \{(1,2),(3,4)\}; repeats are
      // equal texts (no tolerance merges two elements), and a gold list keeps its repeats
      if (pst.parts.length !== gst.parts.length && gst.kind === "set") {
        pst.parts = distinct(pst.parts, "strict", depth);
        gst.parts = distinct(gst.parts, "strict", depth);
      }
      if (pst.parts.length !== gst.parts.length) return false;
      if (gst.kind === "tuple" || pst.kind === "tuple") {
        if (pst.open !== gst.open || pst.close !== gst.close) return false;
        return pst.parts.every((x, i) => same(x, gst.parts[i], mode, depth + 1));
      }
      // sets, and lists of several answers (a list against a set of the same answers, too), in any order
      return unorderedEqual(pst.parts, gst.parts, mode, depth);
    }
    const pu = splitTop(pred, "\\cup"), gu = splitTop(gold, "\\cup");
    if (pu || gu) return !!pu && !!gu && pu.length === gu.length && pu.every((x, i) => same(x, gu[i], mode, depth + 1));
  }
  const equations = equationsEqual(pred, gold, mode);
  if (equations !== undefined) return equations;
  // Words are not mathematics: "Evelyn", "yes", "12:00"; relations left over are not expressions.
  if (/^[a-zA-Z]{2,}$/.test(gold) || /[:=≤≥<>≠]/.test(pred + gold)) return false;
  return symbolicEqual(pred, gold, mode);
}

// A word that joins two options into a hedge (`(C) \text{ possibly } (D)`, `(C) and/or (D)`), not an option's text;
// spaces are gone here, so it ends where a lowercase letter does not follow (`possiblyD`, never `nothing`).
const HEDGE_WORD = String.raw`(?:and|or|nor|either|possibly|maybe|perhaps|probably|likely|also|alternatively|` +
  String.raw`otherwise|else|then|plus|vs|versus|but|if|unless|not|instead)(?![a-z])`;
// An option mark after the first: in parentheses anywhere, or a letter alone after a joining sign, command (a space
// may follow one: `(C) \lor D`) or word.
const LATER_MARK = new RegExp(
  String.raw`\(([A-E])\)|(?<=^|[,;/&|)]|\\(?:lor|vee|land|wedge|cup|cap) ?|${HEDGE_WORD})([A-E])(?![A-Za-z0-9}(])`,
  "g",
);
// A line break or a spacing command that may part two options (`C. \\ D.`, `C. 5 \hspace{1em} D. 6`; a break's or
// `\ `'s backslash left alone before the mark, `C.5\D.6`).
const BREAK = String.raw`(?:\\\\|\\(?:newline|enspace|quad|qquad)(?![a-zA-Z]) ?|\\hspace\*?\{[^{}]*\}|\\(?=[A-E][.:]))`;
// What may stand between option marks written alone (`C. D.`, `C. + D.`, `C. \to D.`, `C. \cup D.`): signs, joining
// commands and breaks.
const BETWEEN = String.raw`(?:[\s.:,;/&|+~-]|\\(?:lor|vee|land|wedge|cup|cap|to)(?![a-zA-Z]) ?|${BREAK})`;
const MARKS_ALONE = new RegExp(String.raw`^(?:${BETWEEN}*[A-E](?![A-Za-z0-9]))+${BETWEEN}*$`);

/**
 * The choices an answer names: its first option mark and every later one (`(C),(E)`, `(C)(D)`, `(C)/(D)`,
 * `(C)\lor(D)`, `(C)42,(D)43`, `C,E`, `(C)possiblyD`, `C.D.`, `C.+D.`, `C.x=42,D.x=43`): two or more are a hedge. An
 * option's own text may name others when it opens with a word (`(D)Both(A),(B)`, `D.f(A)`), never a joining one.
 */
function choicesNamed(s: string): Set<string> {
  const first = /^(?:\(([A-E])\)|([A-E])(?![A-Za-z0-9]))[.:]?/.exec(s);
  if (!first) return new Set();
  const letter = first[1] ?? first[2], after = s.slice(first[0].length);
  // after a bare mark, nothing but other marks (before grader 11 `C. D.` read D as the start of C's text; `(C) A`
  // is C's text), or one written as it is after a comma or a break (`C. x = 42, D. x = 43`, `C. 5 \\ D. 6`)
  if (first[2] && MARKS_ALONE.test(after)) return new Set([letter, ...after.match(/[A-E](?![A-Za-z0-9])/g)!]);
  const listed = first[2] && /[.:]$/.test(first[0])
    ? [...after.matchAll(new RegExp(String.raw`[,;]([A-E])[.:](?!\d)|${BREAK}([A-E])[.:]`, "g"))].map((m) =>
      m[1] ?? m[2]
    )
    : [];
  const rest = after.replace(/^[A-Z]/, (c) => c.toLowerCase());
  if (/^[a-z]/.test(rest) && !new RegExp(`^${HEDGE_WORD}`).test(rest)) return new Set([letter, ...listed]);
  return new Set([letter, ...listed, ...[...rest.matchAll(LATER_MARK)].map((m) => m[1] ?? m[2])]);
}

/**
 * A label as the name it gives: braces, spaces and bars away, `m\angle` as `\angle`, `\overline{AB}` as `AB`, a
 * segment or an angle read either way (`BA` is `AB`, `\angle CBA` is `\angle ABC`).
 */
export function labelName(label: string): string {
  const t = label.replace(/\\overline\{([^{}]*)\}/, "$1").replace(/^m(?=\\angle)/, "").replace(/[{}|\s]/g, "")
    .replace(/_\\/g, "_");
  const m = /^(\\angle)?([A-Z]{2,3})$/.exec(t);
  if (!m) return t;
  const back = [...m[2]].reverse().join("");
  return (m[1] ?? "") + (back < m[2] ? back : m[2]);
}

/** A part `label = value` as names and values: `x=9` one, `(p,q)=(3,2)` two (a tuple label is its names); else undefined. */
function labelledPart(part: string): [string, string][] | undefined {
  const sides = splitTop(part, "=");
  if (sides?.length !== 2 || !LABELS.test(sides[0]) || sides[1] === "") return undefined;
  const names = /^\((.*)\)$/.exec(sides[0]) && splitTop(sides[0].slice(1, -1));
  const values = names && /^\((.*)\)$/.test(sides[1]) ? splitTop(sides[1].slice(1, -1)) : undefined;
  if (names && values?.length === names.length) return names.map((n, i) => [labelName(n), values[i]]);
  return [[labelName(sides[0]), sides[1]]];
}

/**
 * An answer that is only labelled values, each name once (`x=9,y=4`, `f(n)=n,g(n)=1`, `(p,q)=(3,2)`), as name →
 * value; else undefined. Two such answers with the same names are compared name by name (their order is no list's).
 */
function labelledValues(s: string): Map<string, string> | undefined {
  const values = new Map<string, string>();
  for (const part of splitTop(s) ?? [s]) {
    for (const [name, value] of labelledPart(part) ?? [["", ""]]) {
      if (name === "" || values.has(name)) return undefined;
      values.set(name, value);
    }
  }
  return values;
}

/** The names an answer's labels give, where any part is labelled (`x=2, 5`: x; a chain `x=3+4=7`: x). */
function labelNames(s: string): Set<string> {
  const names = new Set<string>();
  for (const part of splitTop(s) ?? [s]) {
    const sides = splitTop(part, "=");
    if (sides && sides.length > 2 && LABELS.test(sides[0])) names.add(labelName(sides[0]));
    else for (const [name] of labelledPart(part) ?? []) names.add(name);
  }
  return names;
}

// A dependent variable: y, or a function's value f(x) (`f(x) = 2x+1` is `y = 2x+1`).
const DEPENDENT = /^(?:y|[a-zA-Z]\([a-z]\))$/;

/** One name, or one with a subscript or prime the other lacks (`m` and `m_{\max}`; never `x_1` and `x_2`). */
export function sameName(a: string, b: string): boolean {
  const base = (x: string) => x.replace(/(?:_.*|'+)$/, "");
  return a === b || (base(a) === base(b) && (a === base(a) || b === base(b)));
}

/**
 * Whether both answers carry labels and the labels name other things (`y = 2` against `x = 2`: another line;
 * `a=1, b=2` against `x=1, y=2`): then they differ, whatever the values. One dependent variable each is one name.
 */
function otherLabels(p: string, g: string): boolean {
  const a = [...labelNames(p)], b = [...labelNames(g)];
  if (a.length === 0 || b.length === 0) return false;
  if (a.length === 1 && b.length === 1 && DEPENDENT.test(a[0]) && DEPENDENT.test(b[0])) return false;
  return !a.every((x) => b.some((y) => sameName(x, y))) || !b.every((y) => a.some((x) => sameName(x, y)));
}

/**
 * The forms an answer stands for: itself, and for `A \approx B` its exact side A, and B only where B writes A
 * (`\sqrt{2} \approx 1.414`, `t \approx 2.5`): else B is no answer of it (`17 \approx 1`, `\frac{49}{10} \approx 5`
 * were right against 1 and 5).
 */
function forms(answer: string): string[] {
  const sides = splitTop(answer, "\\approx");
  if (sides?.length !== 2) return [answer];
  return roundsTo(sides[0], sides[1]) ? [answer, ...sides] : [answer, sides[0]];
}

/**
 * Whether `approx` writes the value of `exact`: `exact` names it (`t`, `x_1`), or is it rounded or cut at its last
 * digit (a decimal; a·10^k by its mantissa's), or equals it (an integer or an expression is exact as written).
 */
function roundsTo(exact: string, approx: string): boolean {
  const e = normalize(exact), a = normalize(approx);
  if (LABELS.test(e)) return true;
  const d = scalar(a);
  if (!d?.approx) return same(e, a, "strict");
  const v = constantValue(e), unit = 10 ** -d.places;
  return v !== undefined && Math.abs(v - Number(d.value.n) / Number(d.value.d)) < unit * (1 - 1e-9);
}

/** Whether an extracted answer equals the gold answer. */
export function equivalent(pred: string, gold: string, mode: Mode): boolean {
  return isolated(() =>
    forms(pred).some((p) =>
      forms(gold).some((g) => {
        const lp = normalize(p, true), lg = normalize(g, true);
        // labels that name other things: equal only as the same equation (z = f(z) against f(z) = z)
        if (otherLabels(lp, lg)) return equationsEqual(lp, lg, mode) === true;
        const vp = labelledValues(lp), vg = labelledValues(lg);
        if (vp && vg && vp.size === vg.size && [...vg.keys()].every((k) => vp.has(k))) {
          return [...vg].every(([k, v]) => same(vp.get(k)!, v, mode));
        }
        const np = normalize(p), ng = normalize(g);
        if (np !== "" && ng !== "" && same(np, ng, mode)) return true;
        // an equation whose label was read away on one side only: y = 2 - x against x + y = 2
        return (lp !== np || lg !== ng) && lp.includes("=") && lg.includes("=") && same(lp, lg, mode);
      })
    )
  );
}

/** Whether `pred` equals any of the golds (a problem may accept several forms). */
export function equivalentAny(pred: string, golds: readonly string[], mode: Mode): boolean {
  return golds.some((g) => {
    try {
      return equivalent(pred, g, mode);
    } catch {
      // The symbolic engine gave up (a tower of powers, a nesting too deep): equality is not shown, so the
      // answer does not count as right; its extraction stands.
      return false;
    }
  });
}
