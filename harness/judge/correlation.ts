/**
 * Pearson's correlation with its two-sided p-value (Student's t with n − 2 degrees of freedom), as the paper
 * reports the agreement of its judge with human scores. The p-value through the regularized incomplete beta
 * function, which also takes degrees of freedom that are not whole.
 */
import { mean } from "../report/stats.ts";

/** ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: about 15 digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** The continued fraction of the incomplete beta function (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 500; m++) {
    for (
      const num of [
        m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
        -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
      ]
    ) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return f;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? front * betaFraction(a, b, x) / a : 1 - front * betaFraction(b, a, 1 - x) / b;
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom. */
export function twoSidedP(t: number, df: number): number {
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * `xs` standardised for summing: divided by their largest magnitude, centred, and the deviations divided by their
 * largest (r does not change with either scale); all zero where they do not vary. On any scale (1e-300, near the
 * largest double) no square or sum overflows or underflows.
 */
function deviations(xs: readonly number[]): number[] {
  const most = xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  if (most === 0) return xs.map(() => 0);
  const unit = xs.map((x) => x / most), m = mean(unit);
  const d = unit.map((x) => x - m), spread = d.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
  return spread === 0 ? d.map(() => 0) : d.map((x) => x / spread);
}

/** Pearson's r of paired values and its two-sided p-value; NaN where a side does not vary (or n < 3). */
export function pearson(xs: readonly number[], ys: readonly number[]): { r: number; p: number; n: number } {
  const n = xs.length;
  if (n !== ys.length) throw new RangeError(`pearson: ${n} values against ${ys.length}`);
  if (n < 3) return { r: NaN, p: NaN, n };
  const dx = deviations(xs), dy = deviations(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += dx[i] * dy[i];
    sxx += dx[i] ** 2;
    syy += dy[i] ** 2;
  }
  if (sxx === 0 || syy === 0) return { r: NaN, p: NaN, n };
  const r = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  const p = Math.abs(r) === 1 ? 0 : twoSidedP(r * Math.sqrt((n - 2) / (1 - r * r)), n - 2);
  return { r, p, n };
}
