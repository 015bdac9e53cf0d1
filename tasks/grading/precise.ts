/**
 * Equality of values that have no exact rational value (π, roots, functions) without a tolerance: both sides are
 * evaluated at two working precisions, and they agree when their difference is zero or shrinks as fast as rounding
 * does as the precision grows, never when it stays (355/113 against π, 3^{40}π + 1 against 3^{40}π, √(10^{20}+1)
 * against 10^{10}). A relative tolerance cannot tell these apart; this can, to RESOLUTION significant digits of
 * the largest value met in computing them: closer than that, two values are equal (3^{200}π + 1 is 3^{200}π).
 */
import type { ComputeEngine } from "@cortex-js/compute-engine";

type Engine = InstanceType<typeof ComputeEngine>;
type Expr = NonNullable<ReturnType<Engine["parse"]>>;
type Big = ReturnType<Engine["bignum"]>;

/** The working precisions, in significant digits. */
export const PRECISIONS = [50, 100] as const;
/**
 * The digits to which values are told apart. Rounding shrinks a difference by 10^{PRECISIONS[1] - PRECISIONS[0]}
 * between the two precisions; one that shrinks less is real. The 10 digits of slack (rounding is noisy) are what
 * the resolution gives up: a real difference d is taken for rounding only where d < 10^{-RESOLUTION} × the values
 * (before grader 11, d < 10^{-75}: it needed to shrink 10^{25} times only).
 */
export const RESOLUTION = PRECISIONS[1] - 10;

/** The value of an expression, evaluated, as [re, im] big decimals, or undefined where it is not a finite number. */
function bigValue(ce: Engine, e: Expr): [Big, Big] | undefined {
  const v = e.N();
  const part = (big: Big | undefined, float: number) => big ?? (Number.isFinite(float) ? ce.bignum(float) : undefined);
  const re = part(v.bignumRe, v.re), im = part(v.bignumIm, v.im);
  return re && im && re.isFinite() && im.isFinite() ? [re, im] : undefined;
}

/**
 * Whether each pair's two sides agree (see the module's comment). `pairs` are evaluated as given (substitute
 * points first); a side with no finite value makes the answer false. `bound`, given the larger of a part's two
 * values, is a difference allowed besides (a lenient decimal's tolerance). The engine's precision is restored
 * after.
 */
export function preciseAgree(ce: Engine, pairs: readonly [Expr, Expr][], bound?: (scale: Big) => Big): boolean {
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
  // a difference d1 of rounding at the lower precision is C·10^{-PRECISIONS[0]}: d2 below C·10^{-RESOLUTION} is too
  const shrink = ce.bignum(`1e-${RESOLUTION - PRECISIONS[0]}`);
  const floor = ce.bignum(`1e-${PRECISIONS[1] - 5}`);
  return pairs.every((_, k) => {
    const [a1, b1] = lo[k], [a2, b2] = hi[k];
    if (!a1 || !b1 || !a2 || !b2) return false;
    return [0, 1].every((part) => {
      const d1 = a1[part].sub(b1[part]).abs(), d2 = a2[part].sub(b2[part]).abs();
      if (d2.isZero() || (!d1.isZero() && d2.lt(d1.mul(shrink)))) return true;
      // within the bound given, or below the higher precision's last digit, relative to the values themselves
      const scale = a2[part].abs().gt(b2[part].abs()) ? a2[part].abs() : b2[part].abs();
      if (bound !== undefined && d2.lte(bound(scale))) return true;
      return d2.lte(scale.mul(floor));
    });
  });
}
