/**
 * Sets of reals written as intervals (`[-2, 7]`, `(-\infty, 1) \cup (2, \infty)`) or as inequalities in one
 * variable or one function's value (`-2 ≤ x ≤ 7`, `x < -1, x > 2` for "or", `1 ≤ |z| ≤ 3/2`, `0 < f(x) < 1`),
 * brought to one form, a sorted list of intervals, so that either way of writing compares equal. Input is
 * normalised text (relations as ≤ ≥ ≠).
 */
import { splitChain, splitTop } from "./split.ts";

/** An endpoint: ±∞, or a number with the text it was written as (compared through `same`). */
interface End {
  inf?: 1 | -1;
  text: string;
  value: number;
}

interface Interval {
  lo: End;
  hi: End;
  loClosed: boolean;
  hiClosed: boolean;
}

export interface Numbers {
  /** the value of a constant expression (NaN when it has none) */
  value(text: string): number;
  /** whether two endpoints are the same number */
  same(a: string, b: string): boolean;
}

const INF = /^(\+?\\infty|∞|\+?\\inf)$/, NEG_INF = /^-(\\infty|∞|\\inf)$/;

function end(text: string, nums: Numbers): End | undefined {
  if (INF.test(text)) return { inf: 1, text, value: Infinity };
  if (NEG_INF.test(text)) return { inf: -1, text, value: -Infinity };
  const value = nums.value(text);
  return Number.isFinite(value) ? { text, value } : undefined;
}

/** `[a, b)`, `(a, \infty)`, …: an interval. */
function interval(s: string, nums: Numbers): Interval | undefined {
  const m = /^([[(])(.*)([\])])$/.exec(s);
  if (!m) return undefined;
  const parts = splitTop(m[2]);
  if (!parts || parts.length !== 2) return undefined;
  const lo = end(parts[0], nums), hi = end(parts[1], nums);
  if (!lo || !hi || lo.value > hi.value) return undefined;
  return { lo, hi, loClosed: m[1] === "[" && !lo.inf, hiClosed: m[3] === "]" && !hi.inf };
}

const REL = /[≤≥<>≠]/;
// the variable: x, x_1, or a function's value, f(x) (0 < f(x) < 1 is the range (0, 1): against an interval only)
const FUNCTION = String.raw`[fgh]\([a-z]\)`;
const NAME = new RegExp(String.raw`^(?:[a-zA-Z](?:_\{?\w+\}?)?|${FUNCTION})$`);
const FUNCTION_VALUE = new RegExp(String.raw`\b${FUNCTION}`);

function flip(op: string): string {
  return ({ "<": ">", ">": "<", "≤": "≥", "≥": "≤", "≠": "≠" } as Record<string, string>)[op];
}

/** One inequality chain in one variable (or its absolute value), as intervals and the variable's name. */
function inequality(s: string, nums: Numbers): { set: Interval[]; name: string } | undefined {
  const bits = splitChain(s, "≤≥<>≠");
  if (!bits || (bits.length !== 3 && bits.length !== 5)) return undefined;
  const terms = bits.filter((_, i) => i % 2 === 0), ops = bits.filter((_, i) => i % 2 === 1);
  // the variable, its absolute value, or its negation (-x > -1 is x < 1)
  const v = terms.findIndex((t) => NAME.test(t.replace(/^-/, "")) || (/^\|.*\|$/.test(t) && NAME.test(t.slice(1, -1))));
  if (v < 0 || terms.some((t, i) => i !== v && (NAME.test(t.replace(/^-/, "")) || t === ""))) return undefined;
  const negated = terms[v].startsWith("-");
  // as constraints "x op c"
  const constraints: { op: string; c: End }[] = [];
  for (let i = 0; i < ops.length; i++) {
    const left = i, right = i + 1;
    if (left !== v && right !== v) return undefined;
    const c = end(terms[left === v ? right : left], nums);
    if (!c || c.inf) return undefined;
    const op = left === v ? ops[i] : flip(ops[i]);
    constraints.push(negated ? { op: flip(op), c: negate(c) } : { op, c });
  }
  let set: Interval[] = [full()];
  for (const { op, c } of constraints) set = intersect(set, op === "≠" ? notEqual(c) : [half(op, c)]);
  const name = terms[v].replace(/^-/, "").replace(/^\|(.*)\|$/, "$1").replace(/[{}]/g, "");
  return { set: terms[v].startsWith("|") ? mirror(set) : set, name };
}

const POS: End = { inf: 1, text: "\\infty", value: Infinity },
  NEG: End = { inf: -1, text: "-\\infty", value: -Infinity };

function full(): Interval {
  return { lo: NEG, hi: POS, loClosed: false, hiClosed: false };
}

function half(op: string, c: End): Interval {
  return op === "<" || op === "≤"
    ? { lo: NEG, hi: c, loClosed: false, hiClosed: op === "≤" }
    : { lo: c, hi: POS, loClosed: op === "≥", hiClosed: false };
}

function notEqual(c: End): Interval[] {
  return [{ lo: NEG, hi: c, loClosed: false, hiClosed: false }, { lo: c, hi: POS, loClosed: false, hiClosed: false }];
}

function intersect(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const [lo, loClosed] = x.lo.value > y.lo.value
        ? [x.lo, x.loClosed]
        : x.lo.value < y.lo.value
        ? [y.lo, y.loClosed]
        : [x.lo, x.loClosed && y.loClosed];
      const [hi, hiClosed] = x.hi.value < y.hi.value
        ? [x.hi, x.hiClosed]
        : x.hi.value > y.hi.value
        ? [y.hi, y.hiClosed]
        : [x.hi, x.hiClosed && y.hiClosed];
      if (lo.value < hi.value || (lo.value === hi.value && loClosed && hiClosed)) {
        out.push({ lo, hi, loClosed, hiClosed });
      }
    }
  }
  return out;
}

const negate = (e: End): End => ({ inf: e.inf && (-e.inf as 1 | -1), text: `-(${e.text})`, value: -e.value });

/** The values of z whose |z| lies in `set`. */
function mirror(set: Interval[]): Interval[] {
  const zero: End = { text: "0", value: 0 };
  const out: Interval[] = [];
  for (const i of intersect(set, [{ lo: zero, hi: POS, loClosed: true, hiClosed: false }])) {
    const neg = { lo: negate(i.hi), hi: negate(i.lo), loClosed: i.hiClosed, hiClosed: i.loClosed };
    if (i.lo.value === 0 && i.loClosed) {
      out.push({ lo: neg.lo, hi: i.hi, loClosed: neg.loClosed, hiClosed: i.hiClosed });
    } else out.push(neg, i);
  }
  return out;
}

/** The set `s` writes, as sorted intervals, and the variables its inequalities name; undefined when it is not one. */
function realSet(s: string, nums: Numbers): { set: Interval[]; names: Set<string> } | undefined {
  if (s === "\\mathbb{R}" || s === "R") return { set: [full()], names: new Set() };
  const union = splitTop(s, "\\cup") ?? [s];
  const out: Interval[] = [], names = new Set<string>();
  for (const piece of union) {
    const ors = REL.test(piece) ? splitTop(piece) ?? [piece] : [piece];
    for (const p of ors) {
      if (REL.test(p)) {
        const got = inequality(p, nums);
        if (!got) return undefined;
        out.push(...got.set);
        names.add(got.name);
      } else {
        const got = interval(p, nums);
        if (!got) return undefined;
        out.push(got);
      }
    }
  }
  return { set: out.sort((a, b) => a.lo.value - b.lo.value || a.hi.value - b.hi.value), names };
}

/**
 * Whether `pred` and `gold` write the same set of reals, where one of them is an inequality. Where both name
 * variables they must name the same (`y > 5` is not `x > 5`: before grader 13 it was); an interval names none.
 */
export function sameRealSet(pred: string, gold: string, nums: Numbers): boolean | undefined {
  if (!REL.test(pred) && !REL.test(gold)) return undefined;
  // a function's value is a range written as an interval; two inequalities must be in the same variable
  if (REL.test(pred) && REL.test(gold) && (FUNCTION_VALUE.test(pred) || FUNCTION_VALUE.test(gold))) return undefined;
  const p = realSet(pred, nums), g = realSet(gold, nums);
  if (!p || !g) return undefined;
  const [a, b] = [p.set, g.set];
  const named = p.names.size > 0 && g.names.size > 0;
  if (named && (p.names.size !== g.names.size || [...p.names].some((n) => !g.names.has(n)))) return false;
  if (a.length !== b.length) return false;
  const eq = (x: End, y: End) => (x.inf || y.inf ? x.inf === y.inf : nums.same(x.text, y.text));
  return a.every((x, i) =>
    eq(x.lo, b[i].lo) && eq(x.hi, b[i].hi) && x.loClosed === b[i].loClosed && x.hiClosed === b[i].hiClosed
  );
}
