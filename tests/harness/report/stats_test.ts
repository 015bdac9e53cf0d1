/**
 * harness/report/stats.ts: pass@k against enumeration of every k-subset, Student's t against the tables, avg@k's
 * errors and interval, majority@k and its ties, and a paired difference, each against values worked by hand.
 */
import assert from "node:assert/strict";
import {
  majorityScore,
  medianInterval,
  pairedDiff,
  passAtK,
  type Sample,
  seedStats,
  signTest,
  standardError,
  tCritical,
} from "../../../harness/report/stats.ts";

const near = (a: number | undefined, b: number, tol = 1e-6) =>
  assert.ok(a !== undefined && Math.abs(a - b) < tol, `${a} vs ${b}`);

/** Wilson's 95% score interval of a mean m as sure as n right-or-wrong answers, written out apart from stats.ts. */
function wilson(m: number, n: number): [number, number] {
  const z = 1.959964, d = 1 + z * z / n, c = (m + z * z / (2 * n)) / d;
  const h = z * Math.sqrt(m * (1 - m) / n + z * z / (4 * n * n)) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/** Every k-subset of 0..n−1. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k), ...subsets(n - 1, k - 1).map((s) => [...s, n - 1])];
}

Deno.test("pass@k equals the share of k-subsets holding a right sample, for random n ≤ 8 (every c and k)", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 40; t++) {
    const n = 1 + Math.floor(rand() * 8), right = Array.from({ length: n }, () => rand() < 0.4);
    const c = right.filter(Boolean).length;
    for (let k = 1; k <= n; k++) {
      const all = subsets(n, k), hit = all.filter((s) => s.some((i) => right[i])).length;
      near(passAtK(n, c, k), hit / all.length, 1e-12);
    }
  }
  assert.equal(passAtK(5, 0, 3), 0);
  assert.equal(passAtK(5, 3, 3), 1, "fewer wrong samples than k: a right one is always drawn");
  near(passAtK(10, 3, 1), 0.3, 1e-12);
  // large n: the product stays finite where C(200, 100) would overflow a double's integers
  near(passAtK(200, 1, 100), 0.5, 1e-12);
  assert.throws(() => passAtK(3, 1, 4), /1 ≤ k ≤ n/);
});

Deno.test("t critical values against the tables; standard error; the exact sign test", () => {
  const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [4, 2.7764], [5, 2.5706], [9, 2.2622], [29, 2.0452]];
  for (const [df, t] of table) near(tCritical(df), t, 1e-4);
  near(tCritical(1000), 1.9623, 1e-4);
  near(tCritical(4, 0.99), 4.6041, 1e-4);
  assert.throws(() => tCritical(0), /degrees of freedom/);
  near(standardError([1, 0.5, 0.5, 0.5, 0, 1]), 0.153659, 1e-6);
  assert.equal(standardError([1]), undefined);
  near(signTest(2, 8), 2 * (1 + 10 + 45) / 1024, 1e-12);
  near(signTest(0, 10), 2 / 1024, 1e-12);
  assert.equal(signTest(5, 5), 1);
  assert.equal(signTest(0, 0), 1);
  near(signTest(1000, 1100), 0.0307, 1e-3); // thousands of problems: no overflow
});

/** `scores[i][j]`: problem i's score under seed j + 1 (null: no record), answered `answers[i][j]`. */
function samples(scores: (number | null)[][], answers?: (string | null)[][]): Sample[] {
  return scores.flatMap((row, i) =>
    row.flatMap((score, j) =>
      score === null ? [] : [{ problem: `p${i + 1}`, seed: j + 1, score, answer: answers?.[i][j] ?? null }]
    )
  );
}

Deno.test("avg@k, its errors and interval, pass@k and maj@k of six problems × two seeds, by hand", () => {
  const s = seedStats(
    samples(
      [[1, 1], [1, 0], [0, 1], [1, 0], [0, 0], [1, 1]],
      [["4", "4"], ["4", "5"], ["5", "4"], ["4", null], [null, null], ["4", "x=4"]],
    ),
    (a) => a.replace(/^x=/, ""),
  );
  assert.equal(s.seeds, 2);
  assert.equal(s.problems, 6);
  near(s.avg, 7 / 12); // seeds' accuracies 4/6 and 3/6
  // clustered by problem: the problems' means 1, .5, .5, .5, 0, 1 (sd .376386 over √6), t on 5 degrees
  near(s.se, 0.153659);
  near(s.ci![0], 0.188340, 1e-5);
  near(s.ci![1], 0.978327, 1e-5);
  near(s.seedSe, 1 / 12, 1e-12); // two seeds' means: half their difference
  near(s.passAtK, 5 / 6, 1e-12);
  // p2 ties 4 against 5 (the lower seed's 4 wins), p3 likewise (5 wins), p4's missing answer does not vote
  near(s.majAtK, 4 / 6, 1e-12);
});

Deno.test("avg@k averages each problem's mean over its seeds when a problem lacks a seed; k is the fewest", () => {
  const s = seedStats(samples([[1, 1], [0, null], [0, 0]]), (a) => a);
  // p1 1, p2 0, p3 0: 1/3, where its error is centred (seeds' accuracies would give 5/12, pooled samples 2/5)
  near(s.avg, 1 / 3, 1e-12);
  assert.ok(s.ci && s.ci[0] < s.avg && s.avg < s.ci[1]);
  // with every problem at every seed, the mean of the seeds' accuracies
  near(seedStats(samples([[1, 0], [0, 0], [1, 1]]), (a) => a).avg, (2 / 3 + 1 / 3) / 2, 1e-12);
  assert.equal(s.seeds, 1);
  near(s.passAtK, 1 / 3, 1e-12); // pass@1 from two samples of p1 and one of p2, p3's two
  // the seeds' accuracies would be over other problems (seed 2's over p1 and p3 alone): no error over seeds
  assert.equal(s.seedSe, undefined, "a problem short of a seed");
  near(seedStats(samples([[1, 1], [0, 1], [0, 0]]), (a) => a).seedSe!, 1 / 6, 1e-12); // every problem at every seed
  const one = seedStats(samples([[1], [0]]), (a) => a);
  assert.equal(one.seedSe, undefined, "one seed: no error over seeds");
  assert.ok(one.se !== undefined && one.ci, "two problems: an error over problems");
  assert.equal(seedStats(samples([[1, 0, 1]]), (a) => a).se, undefined, "one problem: none");
});

Deno.test("pass@k of fractional scores counts only a whole answer; maj@k scores the winner's fraction", () => {
  const s = seedStats(
    samples([[0.5, 1, 0.5], [0.5, 0.5, 0]], [["1, 2", "1, 3", "1, 2"], ["7, 8", "7, 8", "0, 0"]]),
    (a) => a,
  );
  assert.equal(s.seeds, 3);
  near(s.passAtK, 0.5, 1e-12); // p1 has a whole answer (pass@3 = 1), p2 none
  near(s.majAtK, 0.5, 1e-12); // p1: "1, 2" twice (0.5); p2: "7, 8" twice (0.5)
});

Deno.test("majority@k: most votes win; ties by the lowest seed or the mean; missing answers do not vote", () => {
  const v = (seed: number, answer: string | null, score: number): Sample => ({ problem: "p", seed, score, answer });
  const same = (a: string) => a;
  assert.equal(majorityScore([v(1, "5", 0), v(2, "4", 1), v(3, "4", 1)], same), 1, "two 4s beat the first 5");
  const tie = [v(4, "4", 1), v(2, "5", 0), v(3, "4", 1), v(1, "5", 0)]; // given out of seed order
  assert.equal(majorityScore(tie, same), 0, "the tie goes to 5, whose earliest seed (1) is lowest");
  assert.equal(majorityScore(tie, same, "mean"), 0.5);
  assert.equal(majorityScore([v(1, null, 0), v(2, null, 0), v(3, "4", 1)], same), 1, "no answer is no vote");
  assert.equal(majorityScore([v(1, null, 0)], same), 0, "no answer at all: wrong");
  // an empty answer is none either (as the votes over paths read it: pathsVote, answer_format.ts): two "" do not
  // outvote one 4
  assert.equal(majorityScore([v(1, "", 0), v(2, "", 0), v(3, "4", 1)], same), 1, "an empty answer is no vote");
  assert.equal(majorityScore([v(1, "", 0)], same), 0);
  assert.equal(majorityScore([], same), 0);
  // grouped by the key (the grader's normalised text in the curves): x=4 and 4 are one answer
  const keyed = [v(1, "5", 0), v(2, "x=4", 1), v(3, "4", 1)];
  assert.equal(majorityScore(keyed, same), 0, "by raw text three answers tie");
  assert.equal(majorityScore(keyed, (a) => a.replace(/^x=/, "")), 1);
});

Deno.test("paired difference: per problem over its shared seeds, clustered error, sign test over problems; by hand", () => {
  const a = samples([[1, 1], [1, 0], [1, 1], [0, 1], [0, 0], [1, 1]]);
  const b = samples([[0, 0, 1], [0, 0], [1, 0], [1, 0], [1, 0]]); // p1's seed 3 and A's p6 have no pair
  const d = pairedDiff(a, b)!;
  assert.equal(d.pairs, 10);
  assert.equal(d.problems, 5);
  near(d.meanA, 0.6, 1e-12);
  near(d.meanB, 0.3, 1e-12);
  near(d.diff, 0.3, 1e-12); // problems' differences 1, .5, .5, 0, −.5
  near(d.se, 0.254951);
  // the t interval [0.3 − 2.776 × 0.255, 1.008] is clipped at +1; Wilson's at the effective size (the differences
  // mapped onto [0, 1] have mean .65 and error .255/2, as sure as .65 × .35/.1275² = 14 answers, × (z/t)²) does
  // not reach below it: the lower end is the t interval's. Capped at the 10 pairs (Korn and Graubard's cap, for
  // right-or-wrong answers only) Wilson's reached to −47.3: a pair's difference counted as a coin flip.
  near(0.65 * 0.35 / (0.254951 / 2) ** 2, 14, 1e-4);
  const nStar = 0.65 * 0.35 / (0.254951 / 2) ** 2 * (1.959964 / 2.7764451) ** 2;
  assert.ok(2 * wilson(0.65, nStar)[0] - 1 > 0.3 - 2.7764451 * 0.254951);
  near(d.ci![0], 0.3 - 2.7764451 * 0.254951, 1e-5);
  near(2 * wilson(0.65, 10 * (1.959964 / 2.7764451) ** 2)[0] - 1, -0.4734, 1e-4); // the capped one
  assert.equal(d.ci![1], 1, "clipped to the largest difference there can be");
  assert.deepEqual([d.wins, d.losses], [3, 1]);
  near(d.p, 2 * (1 + 4) / 16, 1e-12);
  assert.equal(pairedDiff(a, samples([[], [], [], [], [], [], [1]])), undefined, "no shared pair");
  const reversed = pairedDiff(b, a)!;
  near(reversed.diff, -0.3, 1e-12);
  assert.deepEqual([reversed.wins, reversed.losses], [1, 3]);
});

Deno.test("where every problem's mean is the same the t interval has no width: Wilson's at the size one sample away would have, never a point", () => {
  // at no spread Wilson's as sure as N − 1 answers (one of N wrong gives n* = N − 1 exactly), × (z/t)² as ever
  const zt = (problems: number) => (1.959964 / tCritical(problems - 1)) ** 2;
  // the review's case: A right, B wrong on three problems (one seed): +100 every problem, sign test p 0.25
  const right = samples([[1], [1], [1]]), wrong = samples([[0], [0], [0]]);
  const d = pairedDiff(right, wrong)!;
  assert.deepEqual([d.diff, d.se], [1, 0]);
  near(d.p, 0.25, 1e-12);
  const [lo, hi] = wilson(1, 2 * zt(3)); // Wilson's of (A − B + 1) / 2, mapped back onto [−1, 1]
  near(d.ci![0], 2 * lo - 1, 1e-4);
  near(d.ci![1], 2 * hi - 1, 1e-9);
  assert.ok(d.ci![0] < 0, `${d.ci}: a difference of 0 is not ruled out, as the sign test's p 0.25 says`);
  // ties on every problem: an interval around 0, not the point 0
  const tie = pairedDiff(right, right)!;
  assert.ok(tie.ci![0] < 0 && tie.ci![1] > 0, `${tie.ci}`);
  // avg@k of every problem right under every seed: as sure as all the answers but one
  for (const problems of [3, 30]) {
    const all = seedStats(samples(Array.from({ length: problems }, () => Array(10).fill(1))), (a) => a);
    assert.equal(all.se, 0);
    near(all.ci![0], wilson(1, (10 * problems - 1) * zt(problems))[0], 1e-4);
    assert.equal(all.ci![1], 1);
  }
  // every problem half right: the same (a fractional mean, Wilson's conservative there)
  const half = seedStats(samples([[1, 0], [0, 1], [1, 0], [0, 1]]), (a) => a);
  near(half.ci![0], wilson(0.5, 7 * zt(4))[0], 1e-4);
  near(half.ci![1], wilson(0.5, 7 * zt(4))[1], 1e-4);
  // generated: an interval holds its mean and has width, for any scores of two problems or more
  let seed = 5;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 300; t++) {
    const p = 2 + Math.floor(rand() * 6), k = 1 + Math.floor(rand() * 4), same = rand() < 0.5;
    const grid = Array.from({ length: p }, () => Array.from({ length: k }, () => (same ? 1 : +(rand() < 0.5))));
    const s = seedStats(samples(grid), (a) => a),
      other = pairedDiff(samples(grid), samples(grid.map((r) => r.map(() => +(rand() < 0.5)))))!;
    assert.ok(s.ci![0] <= s.avg && s.avg <= s.ci![1] && s.ci![1] - s.ci![0] > 0.01, `${s.ci} ${JSON.stringify(grid)}`);
    assert.ok(other.ci![0] <= other.diff && other.diff <= other.ci![1] && other.ci![1] - other.ci![0] > 0.01);
  }
});

Deno.test("near a bound the interval is never surer with more right, nor narrower than the t interval", () => {
  for (const problems of [2, 3, 5, 10, 30, 100]) {
    for (const seeds of [1, 4]) {
      let last: [number, number] | undefined;
      for (let right = 0; right <= problems; right++) {
        // `right` problems right under every seed, the rest wrong
        const grid = Array.from({ length: problems }, (_, i) => Array(seeds).fill(+(i < right)));
        const s = seedStats(samples(grid), (a) => a), ci = s.ci!;
        const where = `${right} of ${problems} right, ${seeds} seeds: ${ci} after ${last}`;
        if (last) assert.ok(ci[0] >= last[0] - 1e-12 && ci[1] >= last[1] - 1e-12, where);
        assert.ok(ci[1] - ci[0] > 0, `${where}: never a point`);
        const h = s.se! * tCritical(problems - 1);
        assert.ok(ci[0] <= Math.max(0, s.avg - h) + 1e-12 && ci[1] >= Math.min(1, s.avg + h) - 1e-12, where);
        last = ci;
      }
    }
  }
  // one answer turning wrong never makes it surer, whichever answer and however many seeds: all right under k
  // seeds was Wilson's over the P problems, one wrong n* = Pk − 1 answers (10 × 4: 72.2–100% all right, 84.3–100%
  // one wrong)
  for (const problems of [2, 3, 5, 10, 30, 100]) {
    for (const seeds of [1, 2, 4, 10]) {
      const all = Array.from({ length: problems }, () => Array(seeds).fill(1));
      const one = all.map((r, i) => r.map((x, j) => (i === problems - 1 && j === 0 ? 0 : x)));
      const [a, b] = [all, one].map((g) => seedStats(samples(g), (x) => x).ci!);
      assert.ok(b[0] <= a[0] && b[1] <= a[1], `${problems} × ${seeds}: all right ${a}, one wrong ${b}`);
    }
  }
  // away from the bounds the t interval itself: 5 of 10 right, .5 ± 2.262 × .1667
  const mid = seedStats(samples(Array.from({ length: 10 }, (_, i) => [+(i < 5)])), (a) => a);
  near(mid.ci![0], 0.5 - 2.2621572 * Math.sqrt(0.25 / 9), 1e-6);
});

Deno.test("medianInterval: the widest order statistics that hold the median with 95%, by the binomial; none under 6 values", () => {
  const binom = (n: number, k: number) => {
    let c = 1;
    for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
    return c / 2 ** n;
  };
  for (let n = 1; n <= 60; n++) {
    const xs = Array.from({ length: n }, (_, i) => i);
    // by brute force: the largest k whose two tails of fewer than k below (or above) add up to at most 5%
    let k = 0;
    for (let j = 1; 2 * j <= n + 1; j++) {
      let tail = 0;
      for (let i = 0; i < j; i++) tail += binom(n, i);
      if (2 * tail <= 0.05) k = j;
    }
    const got = medianInterval(xs);
    assert.deepEqual(got, k ? [k - 1, n - k] : undefined, `n ${n}`);
  }
  assert.equal(medianInterval([1, 2, 3, 4, 5]), undefined);
  assert.deepEqual(medianInterval([1, 2, 3, 4, 5, 6]), [1, 6]);
  // at 20 values: the 6th smallest and the 6th largest (P(Bin(20, ½) ≤ 5) = 2.1%)
  assert.deepEqual(medianInterval(Array.from({ length: 20 }, (_, i) => i + 1)), [6, 15]);
});

Deno.test("away from the bounds an interval is about the t interval, whatever the values' spread (fractions, differences of mostly ties): never widened to a coin flip per sample", () => {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const tInterval = (xs: number[], se: number) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length, h = tCritical(xs.length - 1) * se;
    return [m - h, m + h];
  };
  for (let c = 0; c < 200; c++) {
    const problems = 10 + Math.floor(rand() * 190), seeds = 1 + Math.floor(rand() * 4);
    // paired: A right on a problem's seed more often than B; most pairs tie (both right or both wrong)
    const pa = 0.3 + 0.4 * rand(), gap = 0.05 + 0.1 * rand();
    const a: number[][] = [], b: number[][] = [], fractions: number[][] = [];
    for (let i = 0; i < problems; i++) {
      const easy = rand();
      a.push(Array.from({ length: seeds }, () => (rand() < pa + gap ? 1 : 0)));
      b.push(a[i].map((x) => (rand() < 0.8 ? x : rand() < pa ? 1 : 0)));
      // a list task's fraction of five parts right
      fractions.push(Array.from({ length: seeds }, () => Math.round(5 * (0.3 + 0.4 * easy + 0.1 * rand())) / 5));
    }
    const d = pairedDiff(samples(a), samples(b))!, s = seedStats(samples(fractions), (x) => x);
    for (
      const [what, ci, t] of [[
        "difference",
        d.ci!,
        tInterval(
          [...Array(problems)].map((_, i) =>
            a[i].reduce((p, q) => p + q, 0) / seeds - b[i].reduce((p, q) => p + q, 0) / seeds
          ),
          d.se!,
        ),
      ], [
        "fraction avg@k",
        s.ci!,
        tInterval(fractions.map((f) => f.reduce((p, q) => p + q, 0) / seeds), s.se!),
      ]] as const
    ) {
      const bound = what === "difference" ? [-1, 1] : [0, 1];
      if (d.se === 0 || t[0] <= bound[0] || t[1] >= bound[1]) continue; // near a bound Wilson's may reach further
      const case_ = `case ${c} (${problems} problems × ${seeds} seeds), ${what}: ${ci} against t ${t}`;
      assert.ok(ci[0] <= t[0] + 1e-12 && ci[1] >= t[1] - 1e-12, `never narrower than t: ${case_}`);
      assert.ok(ci[1] - ci[0] <= 1.15 * (t[1] - t[0]), `about t's width: ${case_}`);
    }
  }
});
