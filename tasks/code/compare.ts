/**
 * Whether a program's output is right, decided as LiveCodeBench's runner decides it (testing_util.py):
 * `stdoutMatches` as grade_stdio compares captured stdout, `resultMatches` as grade_call_based compares a
 * returned value (`prediction == json.loads(expected)`, with Python's `==`). Both are exact: no floats are
 * involved anywhere, so no tolerance creeps in that LiveCodeBench does not have.
 */

// ---- stdin problems ----

/** Python's str.isspace() characters: what str.strip() and str.split() remove (not JS's \s: \x1c, \x85, \ufeff). */
const PY_SPACE = new Set(
  [
    0x09,
    0x0a,
    0x0b,
    0x0c,
    0x0d,
    0x1c,
    0x1d,
    0x1e,
    0x1f,
    0x20,
    0x85,
    0xa0,
    0x1680,
    0x2028,
    0x2029,
    0x202f,
    0x205f,
    0x3000,
  ]
    .concat(Array.from({ length: 11 }, (_, i) => 0x2000 + i)),
);

function pyStrip(s: string): string {
  let a = 0, b = s.length;
  while (a < b && PY_SPACE.has(s.charCodeAt(a))) a++;
  while (b > a && PY_SPACE.has(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

function pySplit(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const space = i === s.length || PY_SPACE.has(s.charCodeAt(i));
    if (space && start >= 0) out.push(s.slice(start, i)), start = -1;
    else if (!space && start < 0) start = i;
  }
  return out;
}

/** The output's lines as LiveCodeBench reads them: the whole text stripped, split at "\n", each line stripped. */
function lines(text: string): string[] {
  return pyStrip(text).split("\n").map(pyStrip);
}

/**
 * Captured stdout against the expected output: the same number of lines, and each line equal as text, or else
 * both lines read as lists of decimal numbers (whitespace-separated) that are equal number by number, as
 * Python's Decimal compares them (exactly: 1.0 = 1 = 1e0, 0.1 ≠ 0.10000000000000001, NaN equal to nothing).
 * One departure: LiveCodeBench's comparison raises on a signalling NaN it reaches (reported there as a runtime
 * error); here that line simply does not match.
 */
export function stdoutMatches(got: string, expected: string): boolean {
  const a = lines(got), b = lines(expected);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const x = decimals(a[i]);
    if (!x) return false;
    const y = decimals(b[i]);
    if (!y || x.length !== y.length || x.some((d, j) => !sameDecimal(d, y[j]))) return false;
  }
  return true;
}

type Decimal =
  | { kind: "finite"; neg: boolean; /** no leading or trailing zeros; "" for zero */ digits: string; exp: bigint }
  | { kind: "inf"; neg: boolean }
  | { kind: "nan" };

/** A line as Python's `[Decimal(t) for t in line.split()]`, or undefined where Decimal refuses a token. */
function decimals(line: string): Decimal[] | undefined {
  const out: Decimal[] = [];
  for (const t of pySplit(line)) {
    const d = decimal(t);
    if (!d) return undefined;
    out.push(d);
  }
  return out;
}

// libmpdec's limits (64-bit), within which Decimal(text) is exact; past them it refuses the text.
const EMAX = 999_999_999_999_999_999n, ETINY = -1_999_999_999_999_999_997n;
const NUMBER = /^([+-]?)(?:(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?|(inf|infinity)|(s?nan)\d*)$/i;

/**
 * Decimal(token) as CPython's C decimal reads it: underscores anywhere are dropped, any Unicode decimal digit
 * counts as its ASCII digit, then sign, digits with an optional point (".5", "5." too), an optional exponent;
 * "inf"/"infinity" and "nan"/"snan" (with digits after) in any case. Linear in the token's length (a program's
 * output may be 64 MiB of one): the digits stay strings, only the exponent (within libmpdec's limits, else the
 * token is refused as Decimal refuses it) becomes a bigint.
 */
function decimal(token: string): Decimal | undefined {
  const m = NUMBER.exec(asciiDigits(token.replaceAll("_", "")) ?? "");
  if (!m) return undefined;
  const neg = m[1] === "-";
  if (m[5]) return { kind: "inf", neg };
  if (m[6]) return { kind: "nan" };
  const whole = m[2] ?? "", frac = m[3] ?? "";
  if (whole === "" && frac === "") return undefined;
  const all = whole + frac;
  let first = 0, end = all.length;
  while (first < end && all.charCodeAt(first) === 48) first++;
  const coefficient = all.slice(first);
  const written = exponent(m[4] ?? "0");
  if (written === undefined) return undefined;
  const exp = written - BigInt(frac.length);
  if (exp < ETINY || exp + BigInt(Math.max(coefficient.length, 1)) - 1n > EMAX) return undefined;
  while (end > first && all.charCodeAt(end - 1) === 48) end--;
  const digits = all.slice(first, end);
  return { kind: "finite", neg, digits, exp: exp + BigInt(coefficient.length - digits.length) };
}

/** An exponent's text as a bigint; undefined past 19 significant digits, beyond any exponent libmpdec takes. */
function exponent(text: string): bigint | undefined {
  let at = text[0] === "+" || text[0] === "-" ? 1 : 0;
  while (at < text.length - 1 && text.charCodeAt(at) === 48) at++;
  if (text.length - at > 19) return undefined;
  return BigInt((text[0] === "-" ? "-" : "") + text.slice(at));
}

function sameDecimal(a: Decimal, b: Decimal): boolean {
  if (a.kind === "nan" || b.kind === "nan") return false;
  if (a.kind === "inf" || b.kind === "inf") return a.kind === b.kind && a.neg === b.neg;
  if (b.kind !== "finite") return false;
  if (a.digits === "" || b.digits === "") return a.digits === b.digits; // zero, whatever its sign and exponent
  return a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;
}

const ND = /\p{Nd}/u;
/** Each non-ASCII decimal digit met so far, by code point: its value (-1: not a decimal digit). */
const DIGIT_VALUES = new Map<number, number>();

function digitValue(cp: number): number {
  let v = DIGIT_VALUES.get(cp);
  if (v === undefined) {
    // Unicode lays each script's digits 0-9 out in a run of ten: the value is the offset from the run's start.
    let first = cp;
    if (ND.test(String.fromCodePoint(cp))) { while (ND.test(String.fromCodePoint(first - 1))) first--; }
    v = ND.test(String.fromCodePoint(cp)) ? (cp - first) % 10 : -1;
    DIGIT_VALUES.set(cp, v);
  }
  return v;
}

/** ASCII digits for the other Unicode decimal digits; undefined when any other non-ASCII character is left. */
function asciiDigits(t: string): string | undefined {
  // deno-lint-ignore no-control-regex -- the plain-ASCII fast path
  if (/^[\x00-\x7f]*$/.test(t)) return t;
  // every character left is ASCII: one byte each, read back in one go
  const out = new Uint8Array(t.length);
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    let cp = t.charCodeAt(i);
    if (cp >= 0x80) {
      cp = t.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const v = digitValue(cp);
      if (v < 0) return undefined;
      cp = 48 + v;
    }
    out[n++] = cp;
  }
  return new TextDecoder().decode(out.subarray(0, n));
}

// ---- functional problems ----

/**
 * A returned value (the driver's JSON encoding of it, tasks/code/driver.py) against the expected output's
 * JSON text, with Python's `==`: 1 == 1.0 == True, integers of any size exactly (also against floats, by the
 * float's exact value), a Fraction or Decimal by its exact value (Fraction(1, 4) == 0.25, Decimal("0.1") != 0.1),
 * NaN equal to nothing, lists by element, dicts by their keys and values in any order; a value the driver could
 * only name by its type (a nested tuple, a set, an object) equals no JSON value.
 */
export function resultMatches(got: string, expected: string): boolean {
  let p: unknown, e: unknown;
  try {
    p = JSON.parse(got);
    e = expectedValue(expected);
  } catch {
    return false; // an output that is not the driver's JSON (or an expected output that is not JSON) never matches
  }
  return pyEqual(p, e);
}

/** JSON text as Python's json.loads reads it, integers past 2^53 kept exact (as bigint). */
function expectedValue(text: string): unknown {
  try {
    return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
      const src = context?.source;
      return typeof value === "number" && !Number.isSafeInteger(value) && src && /^-?\d+$/.test(src)
        ? BigInt(src)
        : value;
    });
  } catch (err) {
    // A reviver recurses: nesting past the stack is read without it (exact integers that deep are not expected).
    if (err instanceof RangeError) return JSON.parse(text);
    throw err;
  }
}

type Num = number | bigint;

/** A Python number's value (bool counts as 0/1), or undefined for anything else. */
function number(v: unknown): Num | undefined {
  if (typeof v === "boolean") return v ? 1 : 0;
  return typeof v === "number" || typeof v === "bigint" ? v : undefined;
}

function sameNumber(a: Num, b: Num): boolean {
  if (typeof a === typeof b) return a === b; // NaN !== NaN, 0 === -0: as Python
  const [n, big] = (typeof a === "number" ? [a, b] : [b, a]) as [number, bigint];
  return Number.isInteger(n) && BigInt(n) === big;
}

/** A reduced fraction n/d (d > 0) against a number, exactly as Python compares a Fraction or Decimal with one. */
function sameRatio([n, d]: [bigint, bigint], m: Num): boolean {
  if (typeof m === "bigint") return n === m * d;
  if (!Number.isFinite(m)) return false;
  // m = x / 2^k with x an integer: doubling a float with a fraction is exact until it is whole
  let x = m, k = 0n;
  while (!Number.isInteger(x)) x *= 2, k++;
  return n * 2n ** k === BigInt(x) * d;
}

/**
 * Past this many digits an integer equals no float (the largest has 309) and no ratio's part is a float's: such
 * an integer is compared as its digits' text (linear), never made a bigint (quadratic in a forged 64 MiB one).
 */
const BIG_DIGITS = 400;

/** An integer's text, /^-?\d+$/, without leading zeros ("-0" as "0"). */
function canonical(text: string): string {
  const neg = text[0] === "-";
  let at = neg ? 1 : 0;
  while (at < text.length - 1 && text.charCodeAt(at) === 48) at++;
  const digits = text.slice(at);
  return neg && digits !== "0" ? "-" + digits : digits;
}

/** A driver's integer: a bigint within BIG_DIGITS digits, its canonical text past them. */
function integer(text: string): bigint | { digits: string } {
  const c = canonical(text);
  return c.length <= BIG_DIGITS + 1 ? BigInt(c) : { digits: c };
}

/**
 * The driver's tagged values: {"int": digits}, {"float": "nan"|"inf"|"-inf"}, {"ratio": [n, d]}, {"dict": [[k,
 * v], …]}, {"repr": …}.
 */
function tagged(
  p: object,
): { num?: Num; huge?: string; ratio?: [bigint, bigint]; dict?: unknown[][]; none?: true } | undefined {
  const keys = Object.keys(p), v = (p as Record<string, unknown>)[keys[0]];
  if (keys.length !== 1) return undefined;
  if (keys[0] === "int" && typeof v === "string" && /^-?\d+$/.test(v)) {
    const n = integer(v);
    return typeof n === "bigint" ? { num: n } : { huge: n.digits };
  }
  if (
    keys[0] === "ratio" && Array.isArray(v) && v.length === 2 && /^-?\d+$/.test(String(v[0])) &&
    /^[1-9]\d*$/.test(String(v[1]))
  ) {
    const n = integer(String(v[0])), d = integer(String(v[1]));
    if (d === 1n) return typeof n === "bigint" ? { num: n } : { huge: n.digits }; // a whole ratio is its integer
    // reduced, with d > 1: it equals no integer, and a float only with parts of a float's size
    if (typeof n !== "bigint" || typeof d !== "bigint") return { none: true };
    return { ratio: [n, d] };
  }
  if (keys[0] === "float" && (v === "nan" || v === "inf" || v === "-inf")) {
    return { num: v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity };
  }
  if (keys[0] === "dict" && Array.isArray(v) && v.every((kv) => Array.isArray(kv) && kv.length === 2)) {
    return { dict: v };
  }
  return undefined; // {"repr": …} and anything malformed: equal to nothing
}

/** `p == e` in Python, `p` the driver's encoding of the program's value, `e` the expected value. */
function pyEqual(p: unknown, e: unknown): boolean {
  if (p === null || typeof p === "string") return p === e;
  if (Array.isArray(p)) return Array.isArray(e) && p.length === e.length && p.every((x, i) => pyEqual(x, e[i]));
  let n = number(p);
  if (n === undefined && typeof p === "object") {
    const t = tagged(p);
    if (t?.dict) {
      if (e === null || typeof e !== "object" || Array.isArray(e)) return false;
      const exp = e as Record<string, unknown>;
      // Expected keys are strings; a key of another type (1, True, a tuple) equals none of them.
      const keys = new Set(t.dict.map(([k]) => k));
      return keys.size === t.dict.length && t.dict.length === Object.keys(exp).length &&
        t.dict.every(([k, v]) => typeof k === "string" && Object.hasOwn(exp, k) && pyEqual(v, exp[k]));
    }
    if (t?.ratio) {
      const m = number(e);
      return m !== undefined && sameRatio(t.ratio, m);
    }
    // an integer past BIG_DIGITS digits equals only an expected integer of the same digits
    if (t?.huge !== undefined) return typeof e === "bigint" && e.toString() === t.huge;
    n = t?.num;
  }
  const m = number(e);
  return n !== undefined && m !== undefined && sameNumber(n, m);
}
