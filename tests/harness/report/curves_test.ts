/**
 * harness/report/curves.ts: the fork finisher's agreement with the re-encode finisher, from records; the passes-to-accuracy
 * table; the statistics over seeds in the points, curves.csv and the summary's table.
 */
import assert from "node:assert/strict";
import {
  type CurvePoint,
  curves,
  curvesCsv,
  forkAgreement,
  forkAgreementText,
  interval,
  passesToTable,
  summaryTable,
} from "../../../harness/report/curves.ts";
import type { BenchRecord, RecordCheckpoint } from "../../../harness/bench/rundir.ts";
import type { AnswerSource } from "../../../harness/generation/solver.ts";
import { fakeCheckpoint, fakeRecord } from "../../helpers.ts";

function record(
  method: string,
  problem: string,
  seed: number,
  cps: [number, string | null, AnswerSource, boolean][],
): BenchRecord {
  const checkpoints = cps.map(([budget, answer, source, right]) =>
    fakeCheckpoint(budget, right, { answer, source, finisher_passes: source === "finisher" ? 2 : 0 })
  );
  return fakeRecord({ method, problem_id: problem, seed }, checkpoints);
}

Deno.test("fork agreement counts only checkpoints the re-encode finisher answered, pairing task, problem, seed and budget", () => {
  const records = [
    record("hogwild:2", "p1", 1, [[8, "4", "finisher", true], [16, "5", "finisher", false], [
      24,
      "4",
      "early-stop",
      true,
    ]]),
    record("hogwild:2:fork", "p1", 1, [[8, "4", "finisher", true], [16, "6", "finisher", false], [
      24,
      "4",
      "early-stop",
      true,
    ]]),
    record("hogwild:2", "p2", 1, [[8, null, "finisher", false], [16, "4", "finisher", true], [
      24,
      "4",
      "generated",
      true,
    ]]),
    record("hogwild:2:fork", "p2", 1, [[8, "3", "finisher", false], [16, "7", "finisher", false], [
      24,
      "4",
      "generated",
      true,
    ]]),
    record("hogwild:2:fork", "p2", 2, [[8, "3", "finisher", false]]), // no re-encode record of seed 2: not paired
    record("sc:2:fork", "p1", 1, [[8, "1", "finisher", false]]), // no sc:2 at all: no row
  ];
  const rows = forkAgreement(records);
  assert.deepEqual(rows, [{
    fork: "hogwild:2:fork",
    reencode: "hogwild:2",
    checkpoints: 4,
    sameAnswer: 1,
    sameVerdict: 3,
  }]);
  const text = forkAgreementText(rows);
  assert.match(text, /\| hogwild:2:fork \| hogwild:2 \| 4 \| 25\.0% \| 75\.0% \|/);
  assert.equal(forkAgreementText([]), "");
});

Deno.test("passes-to-accuracy: each level's first budget, and the passes for sequential's final within 2 points", () => {
  const point = (method: string, budget: number, accuracy: number): CurvePoint => ({
    task: "t",
    method,
    budget,
    n: 10,
    accuracy,
    ci_low: 0,
    ci_high: 1,
    accuracy_lenient: accuracy,
    mean_passes: budget,
    mean_solo_s: 0,
    mean_shared_s: 0,
    seeds: 1,
    run_seeds: 1,
    problems: 10,
    avg_at_k: accuracy,
    pass_at_k: accuracy,
    maj_at_k: accuracy,
  });
  const table = passesToTable([
    ...[[8, 0.2], [16, 0.6], [24, 0.85], [32, 0.91]].map(([b, a]) => point("sequential", b, a)),
    ...[[8, 0.5], [16, 0.9], [24, 0.9], [32, 0.92]].map(([b, a]) => point("hogwild:2", b, a)),
    ...[[8, 0.1], [16, 0.3], [24, 0.4], [32, 0.5]].map(([b, a]) => point("sc:2", b, a)),
  ]);
  assert.match(
    table,
    /\| method \| final \| 50% \| 80% \| 90% \| sequential's final − 2 points \(89\.0%\) \| × sequential's \|/,
  );
  assert.match(table, /\| sequential \| 91\.0% \| 16 \| 24 \| 32 \| 32 \| 1\.00× \|/);
  assert.match(table, /\| hogwild:2 \| 92\.0% \| 8 \| 16 \| 16 \| 16 \| 0\.50× \|/);
  assert.match(table, /\| sc:2 \| 50\.0% \| 32 \| — \| — \| — \| — \|/);
  assert.doesNotMatch(passesToTable([point("hogwild:2", 8, 1)]), /sequential's final/);
  // sequential's final within 2 points of 0: no target (every method would reach it at its first budget, 1.00×)
  const zero = passesToTable([
    ...[[8, 0], [16, 0.01]].map(([b, a]) => point("sequential", b, a)),
    ...[[8, 0.1], [16, 0.6]].map(([b, a]) => point("hogwild:2", b, a)),
  ]);
  assert.match(zero, /\| sequential's final − 2 points \(none\) \| × sequential's \|/);
  assert.match(zero, /\| sequential \| 1\.0% \| — \| — \| — \| — \| — \|/);
  assert.match(zero, /\| hogwild:2 \| 60\.0% \| 16 \| — \| — \| — \| — \|/);
  assert.match(zero, /sequential's final accuracy is 1\.0%, within 2 points of 0: .*no target/);
});

Deno.test("interval: Wilson's 95% for known cases; never zero-width; none below two samples", () => {
  const near = (a: [number, number] | undefined, b: [number, number]) =>
    assert.ok(a && Math.abs(a[0] - b[0]) < 5e-4 && Math.abs(a[1] - b[1]) < 5e-4, `${a} vs ${b}`);
  near(interval([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), [0.4902, 0.9433]); // 8 of 10 (textbook value)
  near(interval([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), [0, 0.2775]); // 0 of 10
  near(interval([1, 1, 1, 1]), [0.5101, 1]);
  assert.equal(interval([1]), undefined);
  assert.equal(interval([]), undefined);
  // Fractional scores (GSM8K×5: parts right out of five), all equal: a real interval, not a point.
  const [lo, hi] = interval([0.6, 0.6, 0.6])!;
  assert.ok(lo < 0.6 && hi > 0.6 && hi - lo > 0.3, `${lo}..${hi}`);
  // Random fractional samples: the interval holds the mean and stays in [0, 1].
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 200; t++) {
    const xs = Array.from({ length: 2 + Math.floor(rand() * 30) }, () => Math.round(rand() * 5) / 5);
    const m = xs.reduce((a, b) => a + b, 0) / xs.length, [l, h] = interval(xs)!;
    assert.ok(0 <= l && l <= m && m <= h && h <= 1 && h - l > 0);
  }
});

Deno.test("accuracy_vote is on accuracy's scale: a list task's vote scores its fraction of parts", () => {
  const voted = (problem: string, vote: Partial<RecordCheckpoint>) => {
    const r = record("sc:2", problem, 1, [[8, "1, 2", "generated", false]]);
    r.checkpoints[0] = { ...r.checkpoints[0], vote: "1, 2", ...vote };
    return r;
  };
  const [point] = curves([
    voted("p1", { vote_equal_strict: false, vote_score_strict: 0.5 }),
    voted("p2", { vote_equal_strict: true, vote_score_strict: 1 }),
  ]);
  assert.equal(point.accuracy_vote, 0.75);
  assert.match(summaryTable([point], [8]), /\(n=2, 1 ms alone, vote 75\.0%\) \|/, "the vote in the summary's cell");
  // records written before vote_score_strict: the whole-answer verdict
  const [old] = curves([voted("p1", { vote_equal_strict: false }), voted("p2", { vote_equal_strict: true })]);
  assert.equal(old.accuracy_vote, 0.5);
  assert.equal(curves([record("sequential", "p1", 1, [[8, "4", "generated", true]])])[0].accuracy_vote, undefined);
});

Deno.test("accuracy_paths: each record's paths' mean score, then the mean over records; empty unless every record has one", () => {
  const paths = (problem: string, score?: number) => {
    const r = record("leap:4", problem, 1, [[8, "4", "generated", true]]);
    if (score !== undefined) r.checkpoints[0] = { ...r.checkpoints[0], paths_score_strict: score };
    return r;
  };
  // p1: 1 of 4 paths right, p2: 3 of 4; the method's own answers both right (accuracy 1)
  const [point] = curves([paths("p1", 0.25), paths("p2", 0.75)]);
  assert.deepEqual([point.accuracy, point.accuracy_paths], [1, 0.5]);
  assert.equal(curves([paths("p1", 0.25), paths("p2")])[0].accuracy_paths, undefined, "a record written before paths");
  assert.match(curvesCsv([point]), /^task,.*,accuracy_vote,accuracy_paths,/);
  assert.match(summaryTable([point], [8]), /\| leap:4 \| 100\.0% ± 0\.0 \(n=2, 1 ms alone, paths 50\.0%\) \|/);
});

Deno.test("curves: avg@k, its clustered error and interval, pass@k and maj@k over seeds, in curves.csv and the summary", () => {
  // three problems × two seeds at one budget; p1's answers differ in form only (x = 4 and 4: one vote)
  const cells: [string, number, string | null, boolean][] = [
    ["p1", 1, "x = 4", true],
    ["p1", 2, "4", true],
    ["p2", 1, "4", true],
    ["p2", 2, "5", false],
    ["p3", 1, "6", false],
    ["p3", 2, null, false],
  ];
  const [p] = curves(
    cells.map(([problem, seed, answer, right]) => record("hogwild:2", problem, seed, [[8, answer, "finisher", right]])),
  );
  assert.equal(p.seeds, 2);
  assert.equal(p.problems, 3);
  assert.equal(p.avg_at_k, 0.5); // seeds' accuracies 2/3 and 1/3
  // problems' means 1, .5, 0: sd .5 over √3, t on 2 degrees (4.3027) — the interval clipped to [0, 1]
  assert.ok(Math.abs(p.avg_se! - 0.5 / Math.sqrt(3)) < 1e-12);
  assert.deepEqual([p.avg_ci_low, p.avg_ci_high], [0, 1]);
  assert.ok(Math.abs(p.avg_se_seeds! - 1 / 6) < 1e-12);
  assert.ok(Math.abs(p.pass_at_k - 2 / 3) < 1e-12);
  assert.ok(Math.abs(p.maj_at_k - 2 / 3) < 1e-12, "p1's two forms one answer; p2's tie to seed 1's right 4");
  const [head, row] = curvesCsv([p]).trim().split("\n");
  assert.match(head, /^task,method,budget,n,accuracy,ci_low,ci_high,.*,mean_shared_s,seeds,problems,avg_at_k,avg_se/);
  assert.match(head, /,avg_ci_low,avg_ci_high,avg_se_seeds,pass_at_k,maj_at_k$/);
  assert.match(row, /,2,3,0\.5,0\.288675,0,1,0\.166667,0\.666667,0\.666667$/);
  // the grader's normalised text groups x = 4 with 4: two votes against 5 (by raw text, a tie that 5 would win)
  const [voted] = curves(
    [[1, "5", false], [2, "x = 4", true], [3, "4", true]].map(([seed, answer, right]) =>
      record("sc:2", "p1", seed as number, [[8, answer as string, "finisher", right as boolean]])
    ),
  );
  assert.equal(voted.maj_at_k, 1);
  const table = summaryTable([p], [8]);
  assert.match(
    table,
    /Cells: avg@2, per problem the mean score over its seeds, then the mean over the problems \(with every problem at every seed, the seeds' accuracies averaged\), ± its standard error clustered by problem/,
  );
  assert.match(table, /\| hogwild:2 \| 50\.0% ± 28\.9 \(n=6, 1 ms alone\) \|/);
});

Deno.test("maj@k of a code task groups programs by their text: programs that differ in indentation or names are two answers", () => {
  // the review's case: B dedents print(0) (wrong), A and C are right; C twice is the majority, so maj@4 is 1
  const A = "n = int(input())\nfor i in range(n):\n    if i % 2:\n        print(i)\n    print(0)";
  const B = "n = int(input())\nfor i in range(n):\n    if i % 2:\n        print(i)\nprint(0)";
  const C = "n = int(input())\nfor i in range(n):\n    if i % 2 == 1:\n        print(i)\n    print(0)";
  const code = (answers: [string, boolean][]) =>
    answers.map(([program, right], i) =>
      fakeRecord({ method: "sc:2", problem_id: "lcb-1", seed: i + 1, task: "lcb", grading: "code" }, [
        fakeCheckpoint(8, right, { answer: program, vote: program, vote_score_strict: +right }),
      ])
    );
  const [p] = curves(code([[B, false], [A, true], [C, true], [C, true]]), [1, 2, 3, 4]);
  assert.equal(p.maj_at_k, 1, "C twice beats B and A once each (B and A read alike to the maths normaliser)");
  // the same program spelled with CRLF and spaces at its lines' ends is one answer
  const [q] = curves(code([[B, false], [A.replaceAll("\n", " \r\n"), true], [A + "\n\n", true]]), [1, 2, 3]);
  assert.equal(q.maj_at_k, 1);
  // the maths tasks as before: x = 4 and 4 one answer
  const [m] = curves(
    [[1, "5", false], [2, "x = 4", true], [3, "4", true]].map(([seed, answer, right]) =>
      record("sc:2", "p1", seed as number, [[8, answer as string, "finisher", right as boolean]])
    ),
  );
  assert.equal(m.maj_at_k, 1);
});

Deno.test("percentages are cut, not rounded, at the digit shown: a cell never shows a level its column says was not reached", () => {
  const point = (method: string, budget: number, accuracy: number): CurvePoint => ({
    task: "t",
    method,
    budget,
    n: 2000,
    accuracy,
    accuracy_lenient: accuracy,
    mean_passes: budget,
    mean_solo_s: 1,
    mean_shared_s: 1,
    seeds: 1,
    run_seeds: 1,
    problems: 2000,
    avg_at_k: accuracy,
    pass_at_k: accuracy,
    maj_at_k: accuracy,
  });
  // the review's case: 0.4996 was "50.0%" in the summary and the final column, "—" under 50%
  const pts = [point("sequential", 8, 0.3), point("sequential", 16, 0.4996)];
  assert.match(summaryTable(pts, [8, 16]), /\| sequential \| 30\.0% \(n=2000, 1\.0 s alone\) \| 49\.9% \(n=2000/);
  assert.match(passesToTable(pts), /\| sequential \| 49\.9% \| — \| — \| — \|/);
  assert.match(passesToTable([point("sequential", 8, 0.5)]), /\| sequential \| 50\.0% \| 8 \| — \| — \|/);
  // generated: the final cell reads at or above a level exactly where the level's column has a budget; the target
  // column (sequential's final − 2 points, as shown) likewise
  let seed = 13;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 500; i++) {
    const near = [0.5, 0.8, 0.9][Math.floor(rand() * 3)], acc = near + (rand() - 0.5) * 2e-3 * rand();
    const other = acc + (rand() - 0.5) * 0.05;
    const table = passesToTable([point("sequential", 8, acc), point("hogwild:2", 8, Math.min(1, Math.max(0, other)))]);
    for (const line of table.split("\n").filter((l) => /^\| (sequential|hogwild:2) \|/.test(l))) {
      const cells = line.split("|").map((c) => c.trim()), shown = Number(cells[2].replace("%", ""));
      [50, 80, 90].forEach((level, j) => assert.equal(cells[3 + j] !== "—", shown >= level, `${line} (${acc})`));
      const target = Number(/final − 2 points \(([\d.]+)%\)/.exec(table)?.[1]);
      if (!Number.isNaN(target)) assert.equal(cells[6] !== "—", shown >= target - 1e-9, `${line} target ${target}`);
    }
  }
});

Deno.test("the summary's header names the cells' several k as a list, never as a range (avg@1–2–3)", () => {
  // an unfinished run of three seeds: p1 at three, p2 at two, p3 at one, one point per budget
  const cells: [string, number, number][] = [["p1", 1, 8], ["p1", 2, 8], ["p1", 3, 8], ["p2", 1, 16], ["p2", 2, 16], [
    "p3",
    1,
    24,
  ]];
  const points = curves(
    cells.map(([problem, seed, budget]) => record("sequential", problem, seed, [[budget, "4", "finisher", true]])),
    [1, 2, 3],
  );
  assert.deepEqual(points.map((p) => p.seeds), [3, 2, 1]);
  const header = summaryTable(points, [8, 16, 24]).split("\n")[0];
  assert.match(header, /^Cells: avg@k \(k = 1, 2 or 3, by cell\), per problem the mean score over its seeds/);
  assert.match(header, /; k is the fewest seeds a problem of the cell has, below the run's 3 where it is unfinished/);
  assert.doesNotMatch(header, /avg@\d–/);
  // one k: avg@k itself
  assert.match(summaryTable(points.slice(0, 1), [8]), /^Cells: avg@3, per problem/);
  assert.match(summaryTable(points.slice(1, 3), [16, 24]), /^Cells: avg@k \(k = 1 or 2, by cell\)/);
});
