/**
 * Equality of values that have no exact rational value (π, roots, functions) without a tolerance: both sides are
 * evaluated at two working precisions, and they agree when their difference is zero or shrinks as the precision
 * grows (rounding), never when it stays (355/113 against π, 3^{40}π + 1 against 3^{40}π, √(10^{20}+1) against
 * 10^{10}). A relative tolerance cannot tell these apart; this can, to about PRECISIONS[1] significant digits.
 */
import type { ComputeEngine } from "@cortex-js/compute-engine";

type Engine = InstanceType<typeof ComputeEngine>;
type Expr = NonNullable<ReturnType<Engine["parse"]>>;
type Big = ReturnType<Engine["bignum"]>;

/** The working precisions, in significant digits. */
export const PRECISIONS = [50, 100] as const;
// A difference this many times smaller at the higher precision is rounding (a real one stays the same size).
const SHRINK = "1e-25";

/** The value of an expression, evaluated, as [re, im] big decimals, or undefined where it is not a finite number. */
function bigValue(ce: Engine, e: Expr): [Big, Big] | undefined {
  const v = e.N();
  const part = (big: Big | undefined, float: number) => big ?? (Number.isFinite(float) ? ce.bignum(float) : undefined);
  const re = part(v.bignumRe, v.re), im = part(v.bignumIm, v.im);
  return re && im && re.isFinite() && im.isFinite() ? [re, im] : undefined;
}

/**
 * Whether each pair's two sides agree (see the module's comment). `pairs` are evaluated as given (substitute
 * points first); a side with no finite value makes the answer false. The engine's precision is restored after.
 */
export function preciseAgree(ce: Engine, pairs: readonly [Expr, Expr][]): boolean {
  const was = ce.precision;
  let values: ([Big, Big] | undefined)[][][];
  try {
    values = PRECISIONS.map((digits) => {
      ce.precision = digits;
      return pairs.map(([a, b]) => [bigValue(ce, a), bigValue(ce, b)]);
    });
  } catch {
    return false; // the engine could not evaluate a side: equality is not shown
  } finally {
    ce.precision = was;
  }
  const [lo, hi] = values;
  const shrink = ce.bignum(SHRINK), floor = ce.bignum(`1e-${PRECISIONS[1] - 5}`);
  return pairs.every((_, k) => {
    const [a1, b1] = lo[k], [a2, b2] = hi[k];
    if (!a1 || !b1 || !a2 || !b2) return false;
    return [0, 1].every((part) => {
      const d1 = a1[part].sub(b1[part]).abs(), d2 = a2[part].sub(b2[part]).abs();
      if (d2.isZero() || (!d1.isZero() && d2.lt(d1.mul(shrink)))) return true;
      // below the higher precision's last digit, relative to the values themselves
      const scale = a2[part].abs().gt(b2[part].abs()) ? a2[part].abs() : b2[part].abs();
      return d2.lte(scale.mul(floor));
    });
  });
}
