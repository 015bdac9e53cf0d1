/**
 * Statistics over seeds, as papers report them, from per-(problem, seed) scores in [0, 1]: avg@k with its
 * standard error and 95% interval, pass@k (Chen et al. 2021's unbiased estimator), majority@k, and paired
 * differences between two methods on the same problems and seeds. Pure functions; curves.ts and compare.ts
 * read records into samples.
 *
 * The choices, once:
 *  - Standard errors are clustered by problem: each problem's mean over its seeds is one observation, so the
 *    error counts both the problems drawn and the seeds' noise, and seeds of one problem are not taken as
 *    independent. (The error over the k per-seed means, `seedSe`, counts the seeds' noise only.)
 *  - Intervals are Student's t on P − 1 degrees of freedom (P problems), clipped to [0, 1], widened to Wilson's
 *    score interval at the error's effective size where that reaches further. The t interval is right away from
 *    the bounds and fails next to them: all right, it is a point (se 0), a certainty no sample gives, and one
 *    answer short of that it reaches past 100% and is clipped, so that 29 of 30 right came out surer than 30 of
 *    30. Wilson's holds there: a mean m in [0, 1] with clustered error se is as sure as n* = m(1 − m)/se²
 *    right-or-wrong answers (Korn and Graubard's effective size), scaled by (z/t)² for few problems as the t
 *    interval is. Their cap at the N samples holds for right-or-wrong answers only (past it is the seeds' chance
 *    anticorrelation): a fraction or a paired difference varies less than a right-or-wrong answer of its mean, and
 *    capped, a difference of mostly ties (m near 1/2) counted as a coin flip per pair, its interval ~3× the t
 *    interval's, so wide it never excluded 0 where the sign test beside it did. Away from a bound n* is so large
 *    that Wilson's is about the t interval. Where the problems' means do not spread (se 0) the spread is unknown and
 *    n* is N − 1, what one sample away would give (one answer of N wrong gives n* = N − 1 exactly): all right is
 *    never less sure than one answer wrong (as Wilson's over the P problems was, with seeds: 10 × 4 all right
 *    72.2–100%, one wrong 84.3–100%). The hull of the two never has zero width and is never narrower than the t
 *    interval: 3 problems all right under 10 seeds give 61.0–100%, one answer wrong 57.1–100%; 30 of 30 right
 *    87.4–100%, 29 of 30 82.1–100%. With several seeds a clustered error can still shrink as an answer turns wrong
 *    in another problem (the problems' means drawing together), and the interval with it. A paired difference is
 *    rarely near ±1: its interval is about the t interval, whose coverage with few problems and skewed differences
 *    (mostly ties) is below 95% (89% at 10 problems × 4 seeds in simulation); the sign test beside it is exact.
 *    A difference in [−1, 1] is mapped onto [0, 1] and back.
 *  - A fractional score (a list task's fraction of parts right) counts as right for pass@k only when whole
 *    (1: every part right); majority@k scores the winning answer with its own fractional score.
 */
import { check } from "../../engine/errors.ts";
import type { Grading } from "../../tasks/problem.ts";

/** One problem's score under one seed, with the answer read and how its problem is graded (for majority@k). */
export interface Sample {
  problem: string;
  seed: number;
  score: number;
  answer?: string | null;
  /** how the problem's answers vote together (answer_format.ts voteKey: a program by its text); absent: maths */
  grading?: Grading;
}

/** The group an answer of a problem graded as `grading` votes with (curves.ts: answer_format.ts voteKey). */
export type VoteKey = (answer: string, grading: Grading) => string;

/** Majority@k's rule between answers given equally often: the one whose earliest seed is lowest, or the mean. */
export type TieRule = "first" | "mean";

export interface SeedStats {
  /** k: the fewest seeds any problem has (pass@k's k; maj@k votes over each problem's own seeds) */
  seeds: number;
  problems: number;
  /** avg@k: per problem the mean over its seeds, then the mean over problems (every seed at every problem: the seeds' accuracies' mean) */
  avg: number;
  /** the standard error of avg, clustered by problem; absent below two problems */
  se?: number;
  /** avg's 95% interval (t, widened to Wilson's at the error's effective size: the header), within [0, 1]; absent below two problems */
  ci?: [number, number];
  /** the standard error of the k per-seed means; absent below two seeds */
  seedSe?: number;
  passAtK: number;
  majAtK: number;
}

export interface PairedDiff {
  /** (problem, seed) pairs both methods have, and their problems */
  pairs: number;
  problems: number;
  /** each method's mean over the pairs (per problem over its seeds, then over problems), and A − B */
  meanA: number;
  meanB: number;
  diff: number;
  /**
   * diff's standard error clustered by problem and its 95% interval (t, widened to Wilson's at the error's effective
   * size: the header's; within [−1, 1]); absent below 2 problems
   */
  se?: number;
  ci?: [number, number];
  /** problems on which A's mean over the seeds is above B's, and below */
  wins: number;
  losses: number;
  /** the exact two-sided sign test over problems (McNemar's exact test for one seed of right/wrong scores) */
  p: number;
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The standard error of a mean (sample standard deviation over √n); undefined below two values. */
export function standardError(xs: readonly number[]): number | undefined {
  if (xs.length < 2) return undefined;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}

/**
 * P(|T| ≤ t) for Student's t with a whole number `df` of degrees of freedom, in closed form (a finite series in
 * cos θ, θ = atan(t/√df); Abramowitz & Stegun 26.7.3–4).
 */
function tCentral(t: number, df: number): number {
  const theta = Math.atan(t / Math.sqrt(df)), c2 = Math.cos(theta) ** 2, s = Math.sin(theta);
  let term = 1, sum = 1;
  if (df % 2 === 0) {
    for (let j = 1; j <= (df - 2) / 2; j++) sum += term *= c2 * (2 * j - 1) / (2 * j);
    return s * sum;
  }
  for (let j = 1; j <= (df - 3) / 2; j++) sum += term *= c2 * (2 * j) / (2 * j + 1);
  return (2 / Math.PI) * (theta + (df > 1 ? s * Math.cos(theta) * sum : 0));
}

const critical = new Map<string, number>();

/** The t with P(|T| ≤ t) = level for `df` degrees of freedom (12.706 for df 1 at 95%, 1.96 as df grows). */
export function tCritical(df: number, level = 0.95): number {
  check(Number.isInteger(df) && df >= 1, `tCritical: expected whole degrees of freedom ≥ 1, got ${df}`);
  const key = `${df}:${level}`, known = critical.get(key);
  if (known !== undefined) return known;
  let lo = 0, hi = 1;
  while (tCentral(hi, df) < level) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tCentral(mid, df) < level) lo = mid;
    else hi = mid;
  }
  critical.set(key, (lo + hi) / 2);
  return (lo + hi) / 2;
}

/**
 * The 95% interval of a mean of scores in [0, 1], each one observation: Wilson's score interval. For right-or-wrong
 * answers it is the usual one; for fractional scores (GSM8K×5's parts, a problem's mean over its seeds) it is
 * conservative, since no variable in [0, 1] with mean μ has a variance above μ(1 − μ). It never has zero width
 * (n = 4 all right: 51–100%, not 100–100%), and below two scores there is none.
 */
export function wilsonInterval(scores: readonly number[]): [number, number] | undefined {
  return scores.length < 2 ? undefined : wilson(mean(scores), scores.length);
}

const Z = 1.959963984540054;

/** Wilson's 95% score interval of a mean m in [0, 1] as sure as n right-or-wrong answers (n > 0, not whole if need be). */
function wilson(m: number, n: number): [number, number] {
  const z = Z, d = 1 + z * z / n, c = (m + z * z / (2 * n)) / d;
  const h = z * Math.sqrt(m * (1 - m) / n + z * z / (4 * n * n)) / d;
  // at 0 or 1 the bound is the mean itself (c ∓ h there is 0 or 1 but for rounding)
  return [m <= 0 ? 0 : Math.max(0, c - h), m >= 1 ? 1 : Math.min(1, c + h)];
}

/** Below this a clustered error is zero: every problem's mean the same, summed in another order. */
const NO_SPREAD = 1e-12;

/**
 * The 95% interval of a mean over P problems of per-problem values `xs` in [lo, hi], with clustered error `se`, from
 * N `samples` (answers, pairs, judged traces; `binary`: each right or wrong): the hull of the clipped t interval and
 * Wilson's at the effective size (the header's choice), the values mapped onto [0, 1] and back. The report's
 * interval, the paired differences', and the collaboration judge's (its 1–6 scores).
 */
export function problemsInterval(
  xs: readonly number[],
  se: number,
  samples: { n: number; binary: boolean },
  lo: number,
  hi: number,
): [number, number] {
  const t = tCritical(xs.length - 1), w = hi - lo, s = se / w, z = Z / t;
  const m = Math.min(1, Math.max(0, (mean(xs) - lo) / w));
  const spread = s > NO_SPREAD && m > 0 && m < 1;
  // no spread: the size one sample away from it has (one answer of N wrong gives n* = N − 1 exactly); right-or-wrong
  // answers: at most N (Korn and Graubard's cap: more is the seeds' chance anticorrelation)
  const most = samples.binary ? samples.n : Infinity;
  const n = spread ? Math.min(m * (1 - m) / (s * s), most) : Math.max(1, samples.n - 1);
  const [a, b] = wilson(m, z * z * n);
  return [lo + w * Math.max(0, Math.min(a, m - t * s)), lo + w * Math.min(1, Math.max(b, m + t * s))];
}

/**
 * pass@k's unbiased estimator (Chen et al. 2021) for a problem with n samples of which c are right: the chance
 * that k drawn without replacement hold a right one, 1 − C(n−c, k)/C(n, k), as a product (no large binomials).
 */
export function passAtK(n: number, c: number, k: number): number {
  check(
    Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k) && 0 <= c && c <= n && 1 <= k && k <= n,
    `passAtK: expected whole 0 ≤ c ≤ n and 1 ≤ k ≤ n, got n ${n}, c ${c}, k ${k}`,
  );
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/**
 * Majority@k of one problem: its seeds' answers grouped by `key` (voteKey: the grader's normalised form, a program's
 * text), the group
 * given most often wins and scores its earliest seed's score; answers that are missing (null) or empty do not vote, and
 * with none the problem scores 0. Ties: "first", the group whose earliest seed is lowest (as self-consistency's
 * vote takes the first answer seen); "mean", the mean of the tied groups' scores (a fair coin's expectation).
 */
export function majorityScore(
  votes: readonly Sample[],
  key: VoteKey,
  ties: TieRule = "first",
): number {
  const groups = new Map<string, { count: number; seed: number; score: number }>();
  for (const v of [...votes].sort((a, b) => a.seed - b.seed)) {
    // no answer, or an empty one, is no vote (as the votes over paths read them: pathsVote)
    if (!v.answer) continue;
    const k = key(v.answer, v.grading ?? "single"), g = groups.get(k);
    if (g) g.count++;
    else groups.set(k, { count: 1, seed: v.seed, score: v.score });
  }
  const most = Math.max(0, ...[...groups.values()].map((g) => g.count));
  const winners = [...groups.values()].filter((g) => g.count === most);
  if (winners.length === 0) return 0;
  return ties === "mean" ? mean(winners.map((g) => g.score)) : winners[0].score;
}

function byKey<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const x of xs) {
    const list = out.get(key(x));
    if (list) list.push(x);
    else out.set(key(x), [x]);
  }
  return out;
}

/** avg@k, its errors and interval, pass@k and maj@k of one task × method × budget's samples (one per problem × seed). */
export function seedStats(
  samples: readonly Sample[],
  key: VoteKey,
  ties: TieRule = "first",
): SeedStats {
  check(samples.length > 0, "seedStats: no samples");
  const problems = [...byKey(samples, (s) => s.problem).values()];
  const seedMeans = [...byKey(samples, (s) => s.seed).values()].map((xs) => mean(xs.map((s) => s.score)));
  const k = problems.reduce((n, xs) => Math.min(n, xs.length), Infinity);
  // Centred where its error is: per problem the mean over its seeds, then over problems (with every problem at
  // every seed, the mean of the seeds' accuracies; a run cut short must not weigh a problem by its seeds).
  const problemMeans = problems.map((xs) => mean(xs.map((s) => s.score)));
  const avg = mean(problemMeans), se = standardError(problemMeans);
  return {
    seeds: k,
    problems: problems.length,
    avg,
    ...(se === undefined ? {} : {
      se,
      ci: problemsInterval(
        problemMeans,
        se,
        { n: samples.length, binary: samples.every((x) => x.score === 0 || x.score === 1) },
        0,
        1,
      ),
    }),
    // the seeds' accuracies over one set of problems: a problem short of a seed (a run cut short) leaves none
    ...(seedMeans.length < 2 || k < seedMeans.length ? {} : { seedSe: standardError(seedMeans) }),
    passAtK: mean(problems.map((xs) => passAtK(xs.length, xs.filter((s) => s.score === 1).length, k))),
    majAtK: mean(problems.map((xs) => majorityScore(xs, key, ties))),
  };
}

/** The exact two-sided sign test: the chance of a split at least this uneven between `wins` and `losses` at ½. */
export function signTest(wins: number, losses: number): number {
  const n = wins + losses, m = Math.min(wins, losses);
  // C(n, i)/2ⁿ term by term in logarithms: no overflow for thousands of problems
  let log = -n * Math.LN2, tail = 0;
  for (let i = 0; i <= m; i++) {
    tail += Math.exp(log);
    log += Math.log((n - i) / (i + 1));
  }
  return Math.min(1, 2 * tail);
}

/**
 * A distribution-free interval of the median of the population `sorted` (ascending) was drawn from: its k-th
 * smallest and k-th largest values, k the largest for which the chance that fewer than k of n draws fall below the
 * median, twice (both sides), is at most 1 − `level`; it holds the median with at least that chance, whatever the
 * distribution. Undefined where no k does (under 6 values at 95%: even the smallest and largest are not sure
 * enough).
 */
export function medianInterval(sorted: readonly number[], level = 0.95): [number, number] | undefined {
  const n = sorted.length;
  let k = 0;
  // the chance of at most i of n below the median: C(n, 0..i)/2ⁿ, term by term in logarithms
  let log = -n * Math.LN2, tail = 0;
  for (let i = 0; i < n; i++) {
    tail += Math.exp(log);
    if (2 * tail > 1 - level + 1e-12) break;
    k = i + 1;
    log += Math.log((n - i) / (i + 1));
  }
  return k > 0 && k <= n + 1 - k ? [sorted[k - 1], sorted[n - k]] : undefined;
}

/**
 * A − B on the (problem, seed) pairs both have: per problem the mean difference over its shared seeds, then
 * the mean over problems (the mean over pairs where every problem has the same seeds), with its clustered
 * standard error; undefined when they share no pair.
 */
export function pairedDiff(a: readonly Sample[], b: readonly Sample[]): PairedDiff | undefined {
  const pair = (s: Sample) => `${s.problem}\t${s.seed}`;
  const other = new Map(b.map((s) => [pair(s), s.score]));
  const shared = a.filter((s) => other.has(pair(s)));
  if (shared.length === 0) return undefined;
  const problems = [...byKey(shared, (s) => s.problem).values()].map((xs) => ({
    a: mean(xs.map((s) => s.score)),
    b: mean(xs.map((s) => other.get(pair(s))!)),
  }));
  // a difference within rounding of zero is a tie (means of fractions summed in another order)
  const d = problems.map((p) => p.a - p.b), raw = mean(d), diff = Math.abs(raw) < 1e-12 ? 0 : raw;
  const se = standardError(d);
  const wins = d.filter((x) => x > 1e-12).length, losses = d.filter((x) => x < -1e-12).length;
  return {
    pairs: shared.length,
    problems: problems.length,
    meanA: mean(problems.map((p) => p.a)),
    meanB: mean(problems.map((p) => p.b)),
    diff,
    ...(se === undefined ? {} : { se, ci: problemsInterval(d, se, { n: shared.length, binary: false }, -1, 1) }),
    wins,
    losses,
    p: signTest(wins, losses),
  };
}
