/**
 * OlympiadBench physics, graded as its official judge decides (OpenBMB/OlympiadBench, inference/code/math_judger.py
 * with inference/judge.py): the gold carries the problem's own tolerance (`error`) and unit, since a record's golds
 * are all a regrade reads; the comparison then follows the judge case by case:
 *  - several answers: split at top-level commas, `\pm` read as both signs, the counts equal, matched in any order,
 *    each gold answer with its own tolerance (`error` "a,b" gives one per answer, one value gives all of them, the
 *    two answers of a `\pm` their source's);
 *  - numbers (plain, scientific `3.0 \times 10^{8}`, or any constant expression): within the `error` given,
 *    absolutely (|a - b| <= 1.01 error, as the judge), in a tuple or an interval element by element; a percent
 *    sign in the answer is /100 (never also as written: 0.5% is not 0.5), in the gold it lets x100 match, the
 *    answer read on the gold's scale, whose `error` it is; the problem's unit % makes the gold a percentage;
 *  - expressions and equations: the project's symbolic equivalence (labels such as `v =` read away, equations up
 *    to a constant factor);
 *  - units: the judge asks for the unit outside the box and never converts one: strictly, a number that carries a
 *    unit is not a number (the judge reads its letters as unknowns); leniently, the problem's unit after the
 *    answer is dropped first, and no other word (5 cm against metres is not 5). Nothing is ever converted (300 cm
 *    is not 3 m). An `answer_type` of Tuple carries no `error` (the judge compares tuples without one).
 * Departures, on purpose, each a case of tests/tasks/grading/physics_cases.jsonl with its reason and listed in
 * docs/tasks-and-grading.md. Stricter than the judge: without an `error`, numbers are compared relatively
 * (|a - b| <= 1.01e-8 |gold|), where the judge's absolute 1e-8 makes any two numbers below 1e-8 equal (the same rule
 * is looser above 1: 1200.00001 is 1200 here, not for the judge; documented); x100 and /100
 * only the way a percent sign was written (the judge tries both on every number: 60 matched a gold 0.6); only a name
 * (a symbol, `v_0`, `F_{x}`, `\theta`, `T'`) on the left of `=` is a label (the judge took 1 for the equation
 * x^2+y^2=1, x y = 1 or 2 x = 1), and labels on both sides name the same thing. Otherwise: each gold answer keeps its
 * own `error` (the judge gives the errors to the model's answers in the model's order). More lenient, right on the
 * merits: equations equal up to any constant factor (the judge wants an integer), and where the judge's parsing
 * fails: `\%` a percent sign (the judge drops the `%` alone and reads nothing of `60\`), Python's `3.0e8`, `m(...)`
 * a product, degrees braced `^{\circ}` in the gold, `\,` ending the box, pi grouped otherwise, `\sqrt{L}/\sqrt{g}`
 * as `\sqrt{L/g}`, `\exp(x)` as `e^{x}`, `\sqrt 2` without braces.
 */
import { constantValue, equivalent, labelName, type Mode, normalize, sameName, splitTop } from "./equivalence.ts";

/** The judge's data for one problem, as the gold text carries it. */
export interface PhysicsGold {
  answer: string;
  /** OlympiadBench's `error`: one absolute tolerance, or one per answer ("1e-1", "0.1,2") */
  error?: string;
  /** OlympiadBench's `unit`, as the data set writes it (`\mathrm{~m} / \mathrm{s}`) */
  unit?: string;
}

const OPEN = "⟦olympiadbench-physics ", CLOSE = "⟧";

/** The gold text: the answer, then the judge's data in a bracket no answer is written with. */
export function physicsGold(g: PhysicsGold): string {
  const data = { ...(g.error ? { error: g.error } : {}), ...(g.unit ? { unit: g.unit } : {}) };
  return `${g.answer} ${OPEN}${JSON.stringify(data)}${CLOSE}`;
}

/** The judge's data back from a gold text; undefined for any other gold. */
export function readPhysicsGold(gold: string): PhysicsGold | undefined {
  const at = gold.lastIndexOf(OPEN);
  if (at < 0 || !gold.endsWith(CLOSE)) return undefined;
  try {
    const data = JSON.parse(gold.slice(at + OPEN.length, -CLOSE.length));
    return { answer: gold.slice(0, at).trim(), ...data };
  } catch {
    return undefined;
  }
}

/** Default relative tolerance where a problem gives no `error`; the judge's 1.01 slack on every tolerance. */
const RELATIVE = 1e-8, SLACK = 1.01;

/**
 * The judge's clean-up: math delimiters and sizing gone, `\approx` as `=`, the value after `\in`, no end marks;
 * percent signs too unless `keepPercent` (answers() reads them answer by answer first).
 */
function tidy(s: string, keepPercent = false): string {
  let t = s.replace(/\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\$/g, "").replace(
    /\\(?:approx|simeq|sim)(?![a-zA-Z])/g,
    "=",
  );
  const member = /\\in\s/.exec(t);
  if (member) t = t.slice(member.index + member[0].length);
  t = t.replace(keepPercent ? /\^\s*\{?\\circ\}?/g : /\^\s*\{?\\circ\}?|\\%|%/g, "").replace(/\^\s*\{?\\prime\}?/g, "'")
    .replace(
      /\\(?:mathrm|mathbf)\{~?([^{}]*)\}/g,
      "$1",
    );
  // one-character subscripts braced (`\mu_0 I` as `\mu_{0} I`): without spaces `\mu_0I` would read otherwise
  return t.replace(/_([a-zA-Z0-9])/g, "_{$1}").replace(/^[\s,.:;=+!~]+|[\s,.:;=+!~]+$/g, "");
}

/** A unit's letters alone: `\mathrm{~m} / \mathrm{s}`, `m/s` and `\text{ m/s}` are all `m/s`. */
function unitKey(s: string): string {
  return s.replace(/\\(?:mathrm|text|textrm|rm|mbox)\b|[${}~\s]|\\[,;:! ]/g, "");
}

/** The answer without the problem's unit after it, or undefined when it does not end with that unit. */
function withoutUnit(s: string, unit: string | undefined): string | undefined {
  const key = unit ? unitKey(unit) : "";
  if (!key) return undefined;
  for (let i = 1; i < s.length; i++) {
    const head = s.slice(0, i), tail = s.slice(i);
    // a cut between two tokens (`3 m`, `3\,\mathrm{m}`, `\frac{a}{b}m`), never inside a name (`v_s`, `2gh`)
    const apart = /^[\s~\\]/.test(tail) || /[\d})]$/.test(head);
    if (apart && unitKey(tail) === key && unitKey(head) !== "" && balanced(head)) return head.trim();
  }
  return undefined;
}

/** The letters of a text outside its commands (`\\mathrm{kJ}` has k and J). */
const letters = (s: string) => s.replace(/\\[a-zA-Z]+/g, "").replace(/[^a-zA-Z]/g, "");

const balanced = (s: string) => s.split("{").length === s.split("}").length;

// A name on the left of `=`: a symbol (a letter, a Greek letter, an accented one: `\vec{v}`), `\Delta` before it
// or not, with a subscript, a prime or a star (`v`, `v_{0}`, `E_{k}`, `\Delta p`, `I_{\max}`, `T'`), or a function
// of one, which names a quantity asked for (`\cos\theta`, `\sin(\alpha)`, `\ln{x}`): a label. A product, a
// fraction, a root or a number (`x y`, `\frac{x}{y}`, `\sqrt{x}`, `2 x`) is an equation's side.
const GREEK = "alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu|xi|pi|" +
  "varpi|rho|varrho|sigma|varsigma|tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Pi|Sigma|" +
  "Upsilon|Phi|Psi|Omega|ell|hbar";
const SYMBOL = String.raw`(?:[a-zA-Z]|\\(?:${GREEK})(?![a-zA-Z]))`;
const SYMBOL_NAME =
  String.raw`(?:\\Delta\s*)?(?:${SYMBOL}|\\(?:vec|bar|hat|dot|ddot|tilde|overline)\{\s*${SYMBOL}\s*\})` +
  String.raw`(?:\s*_(?:\{(?:[^{}]|\{[^{}]*\})*\}|[a-zA-Z0-9]))?(?:'+|\^\{?\*\}?)?`;
const FUNCTION = String.raw`\\(?:sin|cos|tan|cot|sec|csc|ln|log|exp)`;
const NAME = new RegExp(
  String
    .raw`^\s*(?:${SYMBOL_NAME}|${FUNCTION}\s*(?:${SYMBOL_NAME}|\(\s*${SYMBOL_NAME}\s*\)|\{\s*${SYMBOL_NAME}\s*\}))\s*$`,
);

/** A labelled answer's name and value (`v = \sqrt{2gh}`: v and `\sqrt{2gh}`); undefined where no name labels it. */
function labelled(s: string): { name: string; value: string } | undefined {
  const sides = s.split("=");
  if (sides.length !== 2) return undefined;
  const left = bracedArguments(sides[0]);
  return NAME.test(left) ? { name: labelName(left), value: sides[1].trim() } : undefined;
}

/**
 * A function's argument however it is bracketed, as one brace pair: `\cos\theta`, `\cos(\theta)`,
 * `\cos\left[\theta\right]`, `\cos((\theta))` name one thing.
 */
function bracedArguments(s: string): string {
  let t = s.replace(/\\(?:left|right)(?![a-zA-Z])/g, "");
  for (let was = ""; was !== t;) {
    was = t;
    t = t.replace(/[([]\s*([^()[\]]*?)\s*[)\]]/g, "{$1}").replace(/\{\s*\{([^{}]*)\}\s*\}/g, "{$1}");
  }
  return t;
}

/**
 * A labelled answer's value (`v = \sqrt{2gh}` is `\sqrt{2gh}`). The judge takes the right side of any `=`, so that
 * it read `1` as the equation `x^2+y^2=1`; here only a name on the left is a label.
 */
function unlabel(s: string): string {
  return labelled(s)?.value ?? s;
}

/**
 * Whether both answers carry labels that name other things (`a = 7` against `b = 7`, `F_{x}` against `F_{y}`): then
 * they differ, whatever the values (the judge compares two labelled answers as equations: `a - 7` is not `b - 7`).
 * One name and the same with a subscript or prime it lacks are one name, as the maths grader reads them.
 */
function otherLabels(pred: string, gold: string): boolean {
  const a = labelled(pred)?.name, b = labelled(gold)?.name;
  return a !== undefined && b !== undefined && !sameName(a, b);
}

/** A number as the judge reads one: a constant's value (`3.0 \times 10^{8}`, `\frac{16}{25}`), label read away. */
function numberIn(s: string): number | undefined {
  const u = unlabel(s);
  return u.includes("=") ? undefined : constantValue(u);
}

/** Which side alone is a percentage: "pred" reads the answer also /100, "gold" the answer also x100. */
type Percent = "pred" | "gold" | undefined;

function numbersMatch(gold: number, pred: number, tolerance: number | undefined, percent: Percent): boolean {
  const limit = SLACK * (tolerance ?? (RELATIVE * Math.abs(gold) || RELATIVE));
  // The answer is read on the gold's scale, as the judge scales the model's number: the `error` is the gold's (a
  // gold 35% with error 1 is 34% to 36%, never any fraction within 1 of 0.35). A percent sign in the answer is
  // /100, never the number as written (0.5% is not 0.5); an answer without one against a percentage may be its
  // number (the unit is written after the box) or the fraction.
  const readings = percent === "pred" ? [pred / 100] : percent === "gold" ? [pred, pred * 100] : [pred];
  return readings.some((p) => Math.abs(gold - p) <= limit);
}

/** A tuple or an interval's part: its brackets and its elements. */
interface Bracketed {
  open: string;
  close: string;
  items: string[];
}

/** Brackets that close what they open, never below the top: `1, 2` is, `1) + (2` is not. */
function nested(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    depth += "([{".includes(c) ? 1 : ")]}".includes(c) ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * A tuple or an interval (`(2.0, 3.0)`, `[1.2, 3.4)`), or intervals joined by `\cup`, part by part; undefined for any
 * other answer. The judge compares such answers element by element within the `error`, the brackets alike.
 */
function bracketed(s: string): Bracketed[] | undefined {
  const parts = (splitTop(s, "\\cup") ?? [s]).map((x) => /^([([])(.*)([)\]])$/s.exec(x.trim()));
  if (parts.some((m) => !m || !nested(m[2]))) return undefined;
  const read = parts.map((m) => ({
    open: m![1],
    close: m![3],
    items: (splitTop(m![2]) ?? [m![2]]).map((x) => x.trim()),
  }));
  return read.every((r) => r.items.length >= 2) ? read : undefined;
}

/** One gold answer against one predicted answer, with the gold's tolerance. */
function itemEqual(
  pred: string,
  gold: string,
  g: PhysicsGold,
  o: { tolerance: number | undefined; percent: Percent; mode: Mode },
): boolean {
  const { tolerance, percent, mode } = o;
  const p = tidy(pred), q = tidy(gold);
  // alike but for a percent sign the answer alone writes: not alike (5% is not 5)
  if (p !== "" && p === q && percent !== "pred") return true;
  if (otherLabels(mode === "lenient" ? withoutUnit(p, g.unit) ?? p : p, q)) return false;
  // A tuple or an interval with an `error`: element by element, each number within it, the brackets alike.
  const gs = tolerance === undefined ? undefined : bracketed(q), ps = gs && bracketed(p);
  if (gs && ps) {
    return gs.length === ps.length && gs.every((a, i) => {
      const b = ps[i];
      return a.open === b.open && a.close === b.close && a.items.length === b.items.length &&
        a.items.every((x, j) => itemEqual(b.items[j], x, g, o));
    });
  }
  const gv = numberIn(q);
  if (gv !== undefined) {
    // Leniently the problem's own unit goes first; the maths grader's clean-up may help read the number, but
    // never by dropping a word (another unit: 5 cm against metres, 5 kJ against joules, is not 5).
    const bare = mode === "lenient" ? withoutUnit(p, g.unit) ?? p : p;
    const tidied = mode === "lenient" ? normalize(bare) : bare;
    const pv = numberIn(bare) ?? (letters(tidied) === letters(bare) ? numberIn(tidied) : undefined);
    return pv !== undefined && numbersMatch(gv, pv, tolerance, percent);
  }
  // Where the gold itself uses the unit's letters as variables (`2 g m`, `\frac{k m}{2}` with unit m), an answer
  // ending in them may end in the gold's variable: it is compared as written too, in both modes.
  const unitLetters = letters(unitKey(g.unit ?? ""));
  const uses = unitLetters !== "" && [...unitLetters].every((c) => letters(q).includes(c));
  // Strictly, the asked unit inside the box is letters the gold does not have (the judge's verdict: not equal).
  const unitInBox = withoutUnit(p, g.unit) !== undefined && withoutUnit(q, g.unit) === undefined;
  if (mode === "strict" && unitInBox && !uses) return false;
  const bare = mode === "lenient" ? withoutUnit(p, g.unit) ?? p : p;
  return expressionsEqual(bare, q, percent, mode) || (uses && bare !== p && expressionsEqual(p, q, percent, mode));
}

/**
 * An expression or an equation against the gold's: an equation against an equation as such; otherwise a label (a
 * name) on either side is read away, as the judge does, and an equation left on one side only is no value of the
 * other (`x y = 1` is not 1).
 */
function expressionsEqual(p: string, q: string, percent: Percent, mode: Mode): boolean {
  if (p.includes("=") && q.includes("=")) return equivalent(p, q, mode);
  const a = unlabel(p), b = unlabel(q);
  // a percent sign the answer alone writes is /100 here too
  const scaled = percent === "pred" && !a.includes("=") ? `\\frac{${a}}{100}` : a;
  return a.includes("=") === b.includes("=") && equivalent(scaled, b, mode);
}

/** An answer of several: its text (no percent sign), whether it wrote one, and which answer it came from. */
interface Item {
  text: string;
  percent: boolean;
  /** its place among the answers as written, before `\pm` gave two of one (the place its `error` is given for) */
  source: number;
}

/** Top-level answers, each `\pm` read as its two signs (as the judge splits both sides). */
function answers(s: string): Item[] {
  // LaTeX's spacing is spacing: `5\,\mathrm{J}`, `6\,\%` are one answer each (the judge splits at the comma)
  const kept = tidy(s.replace(/\\[,;:! ]/g, " "), true);
  return (splitTop(kept) ?? [kept]).map((x) => x.trim()).flatMap((x, source) => {
    const item = { text: tidy(x), percent: /%/.test(x), source };
    return x.includes("\\pm")
      ? [{ ...item, text: item.text.replaceAll("\\pm", "+") }, { ...item, text: item.text.replaceAll("\\pm", "-") }]
      : [item];
  });
}

/** A gold whose `error` the judge could not read as it means: a grader error, never a silent default. */
export class PhysicsGoldError extends Error {
  override name = "PhysicsGoldError";
}

/** An `error` value: a plain non-negative number (`0.1`, `1e-2`, `5`); not `5%`, `abc`, `inf`, `nan` or `-1`. */
const TOLERANCE = /^\+?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Why a problem's `error` cannot be read for its answer, or undefined where it can: each comma-separated part a
 * non-negative number or empty (none for that answer), one part for all answers or one per answer (as written, or
 * after `\pm` is read, as the judge counts them).
 */
export function physicsErrorProblem(answer: string, error: string | undefined): string | undefined {
  if (error === undefined || error.trim() === "") return undefined;
  const parts = error.split(",").map((x) => x.trim());
  const odd = parts.find((x) => x !== "" && !(TOLERANCE.test(x) && Number.isFinite(Number(x))));
  if (odd !== undefined) return `"${error}": ${JSON.stringify(odd)} is not a number (a non-negative tolerance)`;
  if (parts.every((x) => x === "")) return `"${error}" gives no value`;
  const golds = answers(answer), sources = new Set(golds.map((g) => g.source)).size;
  if (parts.length === 1 || parts.length === sources || parts.length === golds.length) return undefined;
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return `"${error}" gives ${n(parts.length, "value")} for ${n(sources, "answer")}` +
    (golds.length !== sources ? ` (${golds.length} after \\pm is read)` : "");
}

/**
 * The tolerance of each gold answer: `error` split at commas, one value for all, none where a part is empty; one per
 * answer as written, each answer `\pm` gives keeping its source's (or one per answer after `\pm`, where it gives as many).
 */
function tolerances(error: string | undefined, golds: Item[]): (number | undefined)[] {
  const parts = (error ?? "").split(",").map((x) => x.trim() === "" ? undefined : Number(x));
  const sources = new Set(golds.map((g) => g.source)).size;
  return golds.map((g, i) => {
    const t = parts.length === 1 ? parts[0] : parts.length === sources ? parts[g.source] : parts[i];
    return t !== undefined && Number.isFinite(t) ? t : undefined;
  });
}

/** Whether a predicted answer (the box's content) equals a physics gold, as OlympiadBench's judge decides. */
export function physicsEqual(pred: string, g: PhysicsGold, mode: Mode): boolean {
  const problem = physicsErrorProblem(g.answer, g.error);
  if (problem) throw new PhysicsGoldError(`physics gold ${JSON.stringify(g.answer)}: field "error" ${problem}`);
  // the same text, percent signs and all
  if (tidy(pred, true) !== "" && tidy(pred, true) === tidy(g.answer, true)) return true;
  const golds = answers(g.answer), preds = answers(pred);
  if (golds.length !== preds.length) return false;
  const tol = tolerances(g.error, golds);
  // The problem's unit % makes every gold answer a percentage (4.2 with unit % is 4.2%: 420% is wrong).
  const inPercent = /^\\?%$/.test(unitKey(g.unit ?? ""));
  // the x100 reading goes the way the sign was written, answer by answer (0.005% is not 0.5, 5000 is not 50%)
  const percent = (p: Item, q: Item): Percent => {
    const gold = q.percent || inPercent;
    return p.percent === gold ? undefined : p.percent ? "pred" : "gold";
  };
  const used = new Array(preds.length).fill(false);
  // Greedy, gold by gold, as the judge pairs them: the first unused prediction that matches.
  return golds.every((gold, i) => {
    const j = preds.findIndex((p, k) =>
      !used[k] && itemEqual(p.text, gold.text, g, { tolerance: tol[i], percent: percent(p, gold), mode })
    );
    if (j >= 0) used[j] = true;
    return j >= 0;
  });
}
