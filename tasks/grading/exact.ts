/**
 * Exact arithmetic on parsed answers: integers and rationals of any size, so that 2^{30} and 2^{30}+1 are
 * told apart (a float, or a relative tolerance, cannot), and expressions in variables compared exactly at
 * rational points. Anything beyond rational arithmetic (roots that are not exact, π, functions) has no exact
 * value here, and the caller decides numerically.
 */

export interface Rational {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}

export function rational(n: bigint, d: bigint = 1n): Rational {
  if (d < 0n) (n = -n, d = -d);
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}

export function ratEq(a: Rational, b: Rational): boolean {
  return a.n === b.n && a.d === b.d;
}

/** A number as written: 12, -2.5, .5, 1.2e3. */
export function decimal(s: string): Rational | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(s);
  if (!m || (m[2] === "" && !m[3]) || Math.abs(Number(m[4] ?? 0)) > 400) return undefined;
  const frac = m[3] ?? "", exp = Number(m[4] ?? 0) - frac.length;
  const n = BigInt((m[2] || "0") + frac) * (m[1] === "-" ? -1n : 1n);
  return exp >= 0 ? rational(n * 10n ** BigInt(exp)) : rational(n, 10n ** BigInt(-exp));
}

// Beyond these sizes a value is left to the numeric check (10^{10^{10}} must not be computed).
const MAX_BITS = 200_000;
const MAX_FACTORIAL = 3000;

const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);

function bitsOf(a: Rational): number {
  const abs = (x: bigint) => (x < 0n ? -x : x);
  return abs(a.n).toString(2).length + a.d.toString(2).length;
}

function power(base: Rational, e: Rational): Rational | undefined {
  if (e.d !== 1n) {
    // an exact root: 4^{1/2}, 8^{2/3}
    const root = exactRoot(base, e.d);
    return root && power(root, rational(e.n));
  }
  if (base.n === 0n) return e.n < 0n ? undefined : e.n === 0n ? rational(1n) : rational(0n);
  if (base.n * base.n === base.d * base.d) return rational(e.n % 2n === 0n ? 1n : base.n, 1n); // ±1
  const k = e.n < 0n ? -e.n : e.n;
  if (k > BigInt(MAX_BITS) || Number(k) * bitsOf(base) > MAX_BITS) return undefined;
  const r = rational(base.n ** k, base.d ** k);
  return e.n < 0n ? rational(r.d, r.n) : r;
}

function intRoot(x: bigint, k: bigint): bigint | undefined {
  if (x < 0n) {
    if (k % 2n === 0n) return undefined;
    const r = intRoot(-x, k);
    return r === undefined ? undefined : -r;
  }
  let lo = 0n, hi = 1n;
  while (hi ** k <= x) hi *= 2n;
  while (lo < hi - 1n) {
    const mid = (lo + hi) / 2n;
    if (mid ** k <= x) lo = mid;
    else hi = mid;
  }
  return lo ** k === x ? lo : undefined;
}

function exactRoot(a: Rational, k: bigint): Rational | undefined {
  if (k <= 0n || k > 64n) return undefined;
  const n = intRoot(a.n, k), d = intRoot(a.d, k);
  return n === undefined || d === undefined ? undefined : rational(n, d);
}

type Json = unknown;

/**
 * The exact value of a MathJSON expression (as the compute engine parses LaTeX, not canonicalised), with
 * the variables in `at`; undefined where it has none.
 */
export function exactValue(e: Json, at: Record<string, Rational> = {}): Rational | undefined {
  if (typeof e === "number") return Number.isFinite(e) ? decimal(String(e)) : undefined;
  if (typeof e === "string") return at[e];
  if (e && typeof e === "object" && !Array.isArray(e)) {
    const num = (e as { num?: unknown }).num;
    return typeof num === "string" ? decimal(num.replace(/\(\d+\)$/, "")) : undefined;
  }
  if (!Array.isArray(e) || typeof e[0] !== "string") return undefined;
  const [head, ...args] = e as [string, ...Json[]];
  const vals: Rational[] = [];
  for (const a of args) {
    const v = exactValue(a, at);
    if (!v) return undefined;
    vals.push(v);
  }
  switch (head) {
    case "Delimiter":
      return vals.length === 1 ? vals[0] : undefined;
    case "Add":
      return vals.reduce(add, rational(0n));
    case "Subtract":
      return vals.length === 2 ? add(vals[0], rational(-vals[1].n, vals[1].d)) : undefined;
    case "Negate":
      return vals.length === 1 ? rational(-vals[0].n, vals[0].d) : undefined;
    case "Multiply":
      return vals.reduce(mul, rational(1n));
    case "InvisibleOperator":
      // 2\frac{1}{2} is a mixed number to a reader and a product to the parser: not decided here
      return args.every((a) => typeof a !== "number") || args.length !== 2 || !isFraction(args[1])
        ? vals.reduce(mul, rational(1n))
        : undefined;
    case "Divide":
    case "Rational":
      return vals.length === 2 && vals[1].n !== 0n ? mul(vals[0], rational(vals[1].d, vals[1].n)) : undefined;
    case "Power":
      return vals.length === 2 ? power(vals[0], vals[1]) : undefined;
    case "Square":
      return vals.length === 1 ? mul(vals[0], vals[0]) : undefined;
    case "Sqrt":
      return vals.length === 1 ? exactRoot(vals[0], 2n) : undefined;
    case "Root":
      return vals.length === 2 && vals[1].d === 1n ? exactRoot(vals[0], vals[1].n) : undefined;
    case "Factorial":
      return vals.length === 1 ? factorial(vals[0], 1n) : undefined;
    case "Factorial2":
      return vals.length === 1 ? factorial(vals[0], 2n) : undefined;
    case "Gamma":
      // Γ(n) = (n-1)! at a positive integer; elsewhere no rational value (Γ(1/2) = √π)
      return vals.length === 1 && vals[0].n > 0n ? factorial(add(vals[0], rational(-1n)), 1n) : undefined;
    case "GCD":
    case "LCM": {
      if (vals.length < 2 || vals.some((v) => v.d !== 1n)) return undefined;
      const [first, ...more] = vals.map((v) => (v.n < 0n ? -v.n : v.n));
      return rational(
        more.reduce((a, b) => head === "GCD" ? gcd(a, b) : a === 0n || b === 0n ? 0n : a / gcd(a, b) * b, first),
      );
    }
    case "Floor":
      return vals.length === 1 ? rational(floorDiv(vals[0].n, vals[0].d)) : undefined;
    case "Ceil":
      return vals.length === 1 ? rational(-floorDiv(-vals[0].n, vals[0].d)) : undefined;
    case "Mod": {
      // a - b\lfloor a/b \rfloor (the sign of the divisor), the same at every point on both sides
      const [a, b] = vals;
      if (vals.length !== 2 || b.n === 0n) return undefined;
      const q = mul(a, rational(b.d, b.n));
      return add(a, mul(b, rational(-floorDiv(q.n, q.d))));
    }
    case "Abs":
      return vals.length === 1 ? rational(vals[0].n < 0n ? -vals[0].n : vals[0].n, vals[0].d) : undefined;
    case "Sign":
      return vals.length === 1 ? rational(vals[0].n > 0n ? 1n : vals[0].n < 0n ? -1n : 0n) : undefined;
    case "Max":
    case "Min":
      return vals.length ? vals.reduce((x, y) => (cmp(x, y) >= 0) === (head === "Max") ? x : y) : undefined;
    case "Binomial": {
      const [n, k] = vals;
      if (vals.length !== 2 || n.d !== 1n || k.d !== 1n || k.n < 0n || n.n < 0n || n.n > 100_000n) return undefined;
      if (k.n > n.n) return rational(0n);
      let c = 1n;
      for (let i = 0n; i < k.n; i++) c = (c * (n.n - i)) / (i + 1n);
      return rational(c);
    }
    default:
      return undefined;
  }
}

/** n! (step 1) or n!! (step 2) of a whole number up to MAX_FACTORIAL; undefined for any other. */
function factorial(x: Rational, step: bigint): Rational | undefined {
  if (x.d !== 1n || x.n < 0n || x.n > BigInt(MAX_FACTORIAL)) return undefined;
  let f = 1n;
  for (let i = x.n; i > 1n; i -= step) f *= i;
  return rational(f);
}

/** \lfloor n/d \rfloor for d > 0. */
function floorDiv(n: bigint, d: bigint): bigint {
  return n >= 0n ? n / d : -((-n + d - 1n) / d);
}

function cmp(a: Rational, b: Rational): number {
  const x = a.n * b.d, y = b.n * a.d;
  return x < y ? -1 : x > y ? 1 : 0;
}

function isFraction(e: Json): boolean {
  return Array.isArray(e) && (e[0] === "Divide" || e[0] === "Rational") && typeof e[1] === "number";
}

/** The variables of an expression: the symbols that are not the parser's constants. */
export function variables(e: Json, out = new Set<string>()): Set<string> {
  if (typeof e === "string") {
    if (!/^(Pi|ExponentialE|ImaginaryUnit|PositiveInfinity|NegativeInfinity|ComplexInfinity|Nothing|e|i)$/.test(e)) {
      out.add(e);
    }
  } else if (Array.isArray(e)) e.slice(1).forEach((a) => variables(a, out));
  return out;
}

/** Fixed rational points (never random: a verdict must not change between runs). */
const POINTS = [rational(3n, 7n), rational(11n, 5n), rational(-5n, 3n), rational(13n, 17n), rational(7n, 2n)];

/** The heads of functions that are constant or linear piece by piece: a few small points cannot tell them apart. */
export const PIECEWISE =
  /"(?:Floor|Ceil|Ceiling|Round|Truncate|Mod|Remainder|Abs|Sign|Max|Min|FractionalPart|IntegerPart)"/;

/**
 * Points for piecewise functions (\lfloor\frac{2n-1}{5}\rfloor and \lfloor\frac{2n-1}{6}\rfloor agree at every
 * point below 3, |n-10| and 10-n below 10): every integer to 40, larger ones (primes, powers of two and their
 * neighbours), powers of ten to 10^100 on both sides, negatives and fractions.
 */
export const WIDE_POINTS: readonly Rational[] = [
  ...Array.from({ length: 41 }, (_, i) => rational(BigInt(i))),
  ...[47n, 53n, 63n, 64n, 65n, 99n, 100n, 101n, 127n, 128n, 360n, 997n, 1000n, 1001n, 2024n, 4097n, 12345n, 100003n]
    .map((n) => rational(n)),
  ...[-1n, -2n, -3n, -5n, -7n, -10n, -37n, -1000n].map((n) => rational(n)),
  // far past any threshold an answer writes (max(x, 10^{30}) is not 10^{30}), on both sides
  ...[6, 9, 12, 18, 30, 60, 100].flatMap((k) => [10n ** BigInt(k) + 1n, -(10n ** BigInt(k)) - 3n]).map((n) =>
    rational(n)
  ),
  ...POINTS,
  rational(101n, 3n),
  rational(1000n, 7n),
];

/**
 * The values of `a` and `b` at the same rational points (once, without variables), or undefined when either
 * has no exact value there. Points where one side is undefined (a division by zero) are skipped.
 */
export function exactPairs(
  a: Json,
  b: Json,
  points: readonly Rational[] = POINTS,
): [Rational, Rational][] | undefined {
  const vars = [...new Set([...variables(a), ...variables(b)])];
  const pairs: [Rational, Rational][] = [];
  for (let k = 0; k < (vars.length ? points.length : 1); k++) {
    const at: Record<string, Rational> = {};
    vars.forEach((v, i) => (at[v] = add(points[(k + i) % points.length], rational(BigInt(i)))));
    const x = exactValue(a, at), y = exactValue(b, at);
    if (x && y) pairs.push([x, y]);
    else if (!vars.length) return undefined;
  }
  return pairs.length >= Math.min(3, vars.length ? points.length : 1) ? pairs : undefined;
}
