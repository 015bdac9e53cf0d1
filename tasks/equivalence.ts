/**
 * Whether two answers are the same mathematical object. In order: the same text after normalisation; the
 * same exact rational (integers, decimals, fractions, mixed numbers, percent); the same structure (tuples and
 * intervals in order, sets and lists of several answers in any order) with equal parts; else symbolic
 * equality through @cortex-js/compute-engine, checked numerically, and numerically at random points where
 * the library cannot decide. Two modes:
 *  - strict: a percent sign is dropped (50\% = 50); numbers must be equal exactly (decimals as written);
 *  - lenient: also 50\% = 0.5, numbers within 1e-4 relatively, and words compared without their case.
 */
import { ComputeEngine } from "@cortex-js/compute-engine";

export type Mode = "strict" | "lenient";

const ce = new ComputeEngine();

// ---------- normalisation (text) ----------

const DROP = [
  /\\left(?![a-zA-Z])/g,
  /\\right(?![a-zA-Z])/g,
  /\\displaystyle/g,
  /\\[!,;:>]/g,
  /\\q?quad\b/g,
  /~/g,
  /\^\s*\{?\\circ\}?/g,
  /°/g,
  /\\degree\b/g,
  /\\[$]/g,
  /^\$|\$$/g,
];

/** Text-level normalisation shared by both modes. */
export function normalize(answer: string): string {
  let s = answer.trim();
  s = s.replace(/^\\\(|\\\)$/g, "").replace(/^\\\[|\\\]$/g, "").replace(/^\$+|\$+$/g, "");
  for (const re of DROP) s = s.replace(re, "");
  s = s.replace(/\\[dt]frac/g, "\\frac").replace(/\\[dt]binom/g, "\\binom");
  // units after a number: 18 \text{ cm}^2, 32348 dollars, 3 hours
  s = s.replace(/(\d)\s*\\(?:text|mbox|mathrm)\s*\{\s*[a-zA-Z][a-zA-Z\s.]*\}(?:\^\{?\d\}?)?/g, "$1");
  s = s.replace(/^([-+]?\d[\d,]*(?:\.\d+)?)\s+[a-zA-Z]+(?:\s+[a-zA-Z]+)*(?:\^\{?\d\}?)?$/, "$1");
  s = s.replace(/\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}/g, "$1");
  s = s.replace(/\{,\}/g, ",");
  // \frac12 -> \frac{1}{2}, \frac1{2} -> \frac{1}{2}, \sqrt2 -> \sqrt{2}
  s = s.replace(/\\frac\s*(\d)\s*(\d)/g, "\\frac{$1}{$2}").replace(/\\frac\s*(\d)\s*\{/g, "\\frac{$1}{");
  s = s.replace(/\\frac\s*\{([^{}]*)\}\s*(\d)/g, "\\frac{$1}{$2}").replace(/\\sqrt\s*(\d+)/g, "\\sqrt{$1}");
  s = s.replace(/\s+/g, " ").trim();
  // deno-lint-ignore no-control-regex -- NUL stands in for a space that must survive the next replace
  s = s.replace(/(\\[a-zA-Z]+) (?=[a-zA-Z])/g, "$1\u0000").replace(/ /g, "").replace(/\u0000/g, " ");
  s = s.replace(/\.$/, "");
  // "x = 3", "k=3", "x \in [1,2]": the value, when the rest holds no other relation
  const rel = /^(?:[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)(?:=|\\in)(.+)$/.exec(s);
  if (rel && !/=|\\in/.test(rel[1])) s = rel[1];
  // 1,000,000 -> 1000000 (thousands separators, not a list)
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, "");
  // a choice: (C) -> C
  s = s.replace(/^\(([A-E])\)$/, "$1");
  return s;
}

// ---------- exact rationals ----------

interface Rational {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}

function rational(n: bigint, d: bigint): Rational {
  if (d < 0n) (n = -n, d = -d);
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}

function decimal(s: string): Rational | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === "" && !m[3])) return undefined;
  const frac = m[3] ?? "";
  const n = BigInt((m[2] || "0") + frac) * (m[1] === "-" ? -1n : 1n);
  return rational(n, 10n ** BigInt(frac.length));
}

interface Scalar {
  value: Rational;
  percent: boolean;
  /** written with a decimal point (compared with a tolerance in lenient mode) */
  approx: boolean;
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
  } else {
    v = decimal(t);
  }
  if (!v) return undefined;
  return { value: rational(sign * v.n, v.d), percent, approx: t.includes(".") };
}

function ratEq(a: Rational, b: Rational): boolean {
  return a.n === b.n && a.d === b.d;
}

function ratNum(a: Rational): number {
  return Number(a.n) / Number(a.d);
}

function scalarsEqual(p: Scalar, g: Scalar, mode: Mode): boolean {
  const candidates = [p.value];
  if (mode === "lenient" && p.percent !== g.percent) {
    const scaled = p.percent ? rational(p.value.n, p.value.d * 100n) : rational(p.value.n * 100n, p.value.d);
    candidates.push(scaled);
  }
  for (const c of candidates) {
    if (ratEq(c, g.value)) return true;
    if (mode === "lenient" && (p.approx || g.approx)) {
      const a = ratNum(c), b = ratNum(g.value);
      if (Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b))) return true;
    }
  }
  return false;
}

// ---------- structure: tuples, intervals, sets, lists ----------

interface Structure {
  kind: "list" | "tuple" | "set";
  open: string;
  close: string;
  parts: string[];
}

/** Splits at depth-0 commas (or `sep`); undefined when there is no such separator. */
export function splitTop(s: string, sep = ","): string[] | undefined {
  const parts: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
    } else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(s.slice(start));
  return parts;
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

function structure(s: string): Structure | undefined {
  if (s.startsWith("\\{") && s.endsWith("\\}")) {
    const inner = s.slice(2, -2);
    return { kind: "set", open: "{", close: "}", parts: splitTop(inner) ?? [inner] };
  }
  for (const open of ["(", "["]) {
    for (const close of [")", "]"]) {
      if (!enclosed(s, open, close)) continue;
      const parts = splitTop(s.slice(1, -1));
      if (parts) return { kind: "tuple", open, close, parts };
    }
  }
  const parts = splitTop(s);
  return parts ? { kind: "list", open: "", close: "", parts } : undefined;
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

// ---------- symbolic and numeric ----------

function isFiniteNonzero(x: number): boolean {
  return Number.isFinite(x) && Math.abs(x) > 1e-250 && Math.abs(x) < 1e250;
}

function close(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function numeric(expr: ReturnType<typeof ce.parse>): number {
  if (!expr) return Number.NaN;
  const v = expr.N();
  const re = (v as unknown as { re?: number }).re;
  return typeof re === "number" ? re : Number.NaN;
}

/** Deterministic "random" points, so that a verdict never changes between runs. */
const POINTS = [0.6180339887, 1.4142135623, 2.7182818284, 0.3183098861, 1.7320508075];

function symbolicEqual(a: string, b: string, mode: Mode): boolean {
  let A, B;
  try {
    A = ce.parse(a);
    B = ce.parse(b);
  } catch {
    return false;
  }
  const ja = JSON.stringify(A.json), jb = JSON.stringify(B.json);
  if (ja.includes("Error") || jb.includes("Error")) return false;
  if (ja === jb) return true;
  const tol = mode === "strict" ? 1e-9 : 1e-6;
  // Strictly, a decimal is the number written, never an approximation (3.14159 is not π, 10^{-3} is 0.001).
  const dec = [a, b].find((x) => scalar(x)?.approx);
  if (mode === "strict" && dec !== undefined) {
    const other = numeric(dec === a ? B : A), digits = dec.split(".")[1]?.replace(/\D.*$/, "").length ?? 0;
    const scaled = other * 10 ** digits; // an integer (to float precision) when the other side is that decimal
    if (digits > 12 || !(Math.abs(scaled) < 1e12) || Math.abs(scaled - Math.round(scaled)) > 1e-3) return false;
  }
  const free = [...new Set([...A.unknowns, ...B.unknowns])];
  if (free.length === 0) {
    // Both constants: decide by value, but never on an underflow or overflow (1/2004! against 1/2006!).
    const va = numeric(A), vb = numeric(B);
    if (!isFiniteNonzero(va) || !isFiniteNonzero(vb)) return va === 0 && vb === 0 && !/Factorial|Power/.test(ja + jb);
    return close(va, vb, tol);
  }
  const verdict = A.isEqual(B);
  if (verdict === false) return false;
  let agree = 0;
  for (let k = 0; k < POINTS.length; k++) {
    const at: Record<string, number> = {};
    free.forEach((v, i) => (at[v] = POINTS[(k + i) % POINTS.length] + i));
    const va = numeric(A.subs(at)), vb = numeric(B.subs(at));
    if (!Number.isFinite(va) || !Number.isFinite(vb)) continue;
    if (!close(va, vb, tol)) return false;
    agree++;
  }
  return agree >= 3;
}

// ---------- the comparison ----------

function same(pred: string, gold: string, mode: Mode, depth = 0): boolean {
  if (pred === gold) return true;
  if (mode === "lenient" && /^[a-zA-Z ]+$/.test(gold) && pred.toLowerCase() === gold.toLowerCase()) return true;
  const ps = scalar(pred), gs = scalar(gold);
  if (ps && gs) return scalarsEqual(ps, gs, mode);
  if (depth < 4) {
    const pst = structure(pred), gst = structure(gold);
    if (pst || gst) {
      if (!pst || !gst || pst.parts.length !== gst.parts.length) return false;
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
  // Words are not mathematics: "Evelyn", "yes", "12:00".
  if (/^[a-zA-Z]{2,}$/.test(gold) || /:/.test(pred + gold)) return false;
  return symbolicEqual(pred, gold, mode);
}

/** Whether an extracted answer equals the gold answer. */
export function equivalent(pred: string, gold: string, mode: Mode): boolean {
  const p = normalize(pred), g = normalize(gold);
  if (p === "" || g === "") return false;
  return same(p, g, mode);
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
