/**
 * A trace's confidence from the top-k log-probabilities of its sampled tokens, and the vote weighted by it
 * (Fu et al., "Deep Think with Confidence", arXiv 2508.15260, sections 2–3; docs/methods.md). Shared by the
 * confidence-weighted vote of self-consistency and by the method family that filters and stops traces on it.
 */
import type { TokenLogprobs } from "../../engine/sampler.ts";

/** How a trace's token confidences become one number (the paper's trace-level measures). */
export const MEASURES = ["lowest", "bottom10", "tail", "mean"] as const;
export type Measure = typeof MEASURES[number];

/** The paper's settings: top-20 log-probabilities, groups (and the tail) of 2048 tokens, the lowest group. */
export const PAPER_TOP_K = 20;
export const PAPER_WINDOW = 2048;

/**
 * A token's confidence: the negative mean of its top-k log-probabilities (higher: a more peaked distribution),
 * on a grid of 2^-24. On the grid every sum of a trace's confidences is exact (below 2^29 in magnitude), so a
 * window's mean is the same number however it is summed: a running sum and a fresh one gave windows of the same
 * tokens values one unit apart in the last digit, and an online trace equal to the threshold's warm-up trace was
 * stopped as below it.
 */
export function tokenConfidence(lp: TokenLogprobs): number {
  let sum = 0;
  for (const x of lp.logprobs) sum += x;
  return Math.round((-sum / lp.logprobs.length) * GRID) / GRID;
}
const GRID = 2 ** 24;

/**
 * The group confidences: the mean over each window of `window` consecutive tokens, sliding by one; a trace
 * shorter than a window is one group of all its tokens (none for no tokens).
 */
export function groupConfidences(c: readonly number[], window: number): number[] {
  if (c.length === 0) return [];
  if (c.length < window) return [mean(c)];
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < c.length; i++) {
    sum += c[i] - (i >= window ? c[i - window] : 0);
    if (i >= window - 1) out.push(sum / window);
  }
  return out;
}

/** The group confidence of the newest full window, once `window` tokens are written (what an online stop reads). */
export function newestGroup(c: readonly number[], window: number): number | undefined {
  return c.length < window ? undefined : mean(c.slice(c.length - window));
}

/** The lowest group confidence over full windows so far (undefined before `window` tokens): every stop a trace would have met. */
export function lowestGroup(c: readonly number[], window: number): number | undefined {
  return c.length < window ? undefined : groupConfidences(c, window).reduce((a, b) => Math.min(a, b));
}

/**
 * A trace's confidence by `measure`: its lowest group; the mean of its lowest 10% of groups (at least one);
 * the mean of its last `window` tokens (tail); the mean of all its tokens. 0 for a trace without tokens.
 */
export function traceConfidence(c: readonly number[], measure: Measure, window: number): number {
  if (c.length === 0) return 0;
  if (measure === "mean") return mean(c);
  if (measure === "tail") return mean(c.slice(-window));
  const groups = groupConfidences(c, window).sort((a, b) => a - b);
  return measure === "lowest" ? groups[0] : mean(groups.slice(0, Math.max(1, Math.floor(groups.length / 10))));
}

/** The `p`-th percentile (0..100) of `values`, interpolated linearly between the nearest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile of no values");
  const s = [...values].sort((a, b) => a - b), rank = (p / 100) * (s.length - 1), lo = Math.floor(rank);
  return lo + 1 < s.length ? s[lo] + (rank - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/** The paper's filter: which of `weights` are in their top `percent`% (at or above the 100−percent percentile). */
export function keepTop(weights: readonly number[], percent: number): boolean[] {
  const floor = percentile(weights, 100 - percent);
  return weights.map((w) => w >= floor);
}

/** One trace's say in a vote. */
export interface Ballot {
  answer: string;
  weight: number;
}

/**
 * The answer with the most weight (weights 1: the plain majority; ties: the first one cast) and its share of all
 * the weight (the paper's consensus); undefined without ballots. Answers vote together when their `key` is one
 * (the answer format's voteKey: `x = 4` with `4`; a program with itself alone), as maj@k groups them; the group
 * answers with its first ballot's text.
 */
export function weightedVote(
  ballots: readonly Ballot[],
  key: (answer: string) => string,
): { answer: string; share: number } | undefined {
  const sums = new Map<string, { answer: string; weight: number }>();
  let total = 0;
  for (const b of ballots) {
    const k = key(b.answer), g = sums.get(k);
    if (g) g.weight += b.weight;
    else sums.set(k, { answer: b.answer, weight: b.weight });
    total += b.weight;
  }
  let best: string | undefined, most = -Infinity;
  for (const g of sums.values()) if (g.weight > most) (best = g.answer, most = g.weight);
  return best === undefined ? undefined : { answer: best, share: total > 0 ? most / total : 1 };
}

/**
 * The vote over paths' answers (null or empty: no answer yet, no say), grouped by `key` (weightedVote), each
 * weighing `weight(i)` (1: the plain majority); null when none answered. Self-consistency's run votes so, and
 * rescore recounts a plain majority so.
 */
export function pathsVote(
  paths: readonly (string | null)[],
  key: (answer: string) => string,
  weight: (i: number) => number = () => 1,
): string | null {
  return weightedVote(paths.flatMap((answer, i) => answer ? [{ answer, weight: weight(i) }] : []), key)?.answer ??
    null;
}

function mean(c: readonly number[]): number {
  let sum = 0;
  for (const x of c) sum += x;
  return sum / c.length;
}
