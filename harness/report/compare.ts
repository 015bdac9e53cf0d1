/**
 * Paired comparisons of two methods on the same problems and seeds (stats.ts pairedDiff): the summary's table of
 * each method against a baseline, and the tables of `deno task compare` (cli/compare.ts).
 */
import { check } from "../../engine/errors.ts";
import { sample, type Score, voteScore } from "./curves.ts";
import { type BenchRecord, checkOneGrader, differences, type RecordCheckpoint } from "../bench/rundir.ts";
import { graderFailures, graderFailuresCounts } from "../bench/grading.ts";
import { keyedFinisherInput } from "../bench/run_key.ts";
import { type PairedDiff, pairedDiff } from "./stats.ts";
import { problemDifference, type ProblemTexts } from "./same_problem.ts";
import { type FinisherInput, gridEndDependence, parseMethod } from "../generation/methods.ts";

/** One side of a comparison: a method's records (of one run folder). */
export interface Side {
  method: string;
  records: readonly BenchRecord[];
}

export interface Comparison {
  task: string;
  budget: number;
  diff: PairedDiff;
  /** A's answers among the pairs that the grader did not grade (timed out, failed: ungradedAnswers), each scored 0 */
  ungradedA: number;
}

/**
 * How many of a checkpoint's answers that `score` reads the grader did not grade (timed out twice, or failed): each
 * scores 0. Pass@1 over paths counts its paths' (`paths_grader_errors`); a vote's own grading failures are not in
 * the records (0).
 */
function ungradedAnswers(c: RecordCheckpoint, score: Score): number {
  if (score === "paths" && c.paths_score_strict !== undefined) return c.paths_grader_errors ?? 0;
  if (score === "vote" && voteScore(c) !== undefined) return 0;
  return +(c.timed_out === true || c.grader_error !== undefined);
}

/**
 * A − B per task and budget, on the (problem, seed) pairs both have; pairs of no budget or task are left out.
 * `score`: each side's one answer, or Pass@1 over its paths where its records have them (scoreOf says which).
 */
export function compareSides(a: Side, b: Side, budgets: readonly number[], score: Score = "answer"): Comparison[] {
  const at = (s: Side, task: string, budget: number) =>
    s.records.filter((r) => r.method === s.method && r.task === task).flatMap((r) =>
      r.checkpoints.filter((c) => c.budget === budget).map((c) => ({ r, c }))
    );
  const samples = (s: Side, task: string, budget: number) => at(s, task, budget).map(({ r, c }) => sample(r, c, score));
  // A's answers in the pairs that the grader did not grade: a drop may rest on them (regressions says so)
  const ungradedA = (task: string, budget: number) => {
    const inB = new Set(at(b, task, budget).map(({ r }) => `${r.problem_id}\t${r.seed}`));
    return at(a, task, budget).filter(({ r }) => inB.has(`${r.problem_id}\t${r.seed}`))
      .reduce((n, { c }) => n + ungradedAnswers(c, score), 0);
  };
  const tasks = [...new Set(a.records.filter((r) => r.method === a.method).map((r) => r.task))].sort((x, y) =>
    x.localeCompare(y)
  );
  return budgets.flatMap((budget) =>
    tasks.flatMap((task) => {
      const diff = pairedDiff(samples(a, task, budget), samples(b, task, budget));
      return diff ? [{ task, budget, diff, ungradedA: ungradedA(task, budget) }] : [];
    })
  );
}

/**
 * What `score` reads on a side: "paths" needs every checkpoint of the side graded with its paths, or none (a
 * method of one answer, whose answer is its Pass@1); a side with some (folders of records from before paths,
 * merged) is refused rather than scored half one way.
 */
export function scoreOf(s: Side & { name: string }, score: Score): string {
  if (score === "answer") return "its answer";
  const cps = s.records.filter((r) => r.method === s.method).flatMap((r) => r.checkpoints);
  const graded = cps.filter((c) => (score === "paths" ? c.paths_score_strict : voteScore(c)) !== undefined).length;
  const what = score === "paths" ? "paths" : "a vote";
  check(
    graded === 0 || graded === cps.length,
    `compare: ${s.name} has ${what} graded on ${graded} of its ${cps.length} checkpoints (records from before ` +
      `${score === "paths" ? "paths" : "votes"}); rescore it (deno task rescore) or compare --score answer`,
  );
  if (score === "paths") return graded ? "Pass@1 over its paths" : "its answer (its records hold no paths)";
  return graded ? "its vote (0 where it had none yet: no trace had answered)" : "its answer (its records hold no vote)";
}

/**
 * The lines above a pair's tables from its sides' run keys (run.json's `key`; one folder: the same key twice):
 * what differs between them beside the methods, which a paired difference measures as much as the methods.
 * `resolved`: each side's run.json `sampling` (comparedKeys).
 */
export function keyNotes(
  a: Side,
  b: Side,
  keyA: Record<string, unknown>,
  keyB: Record<string, unknown>,
  resolved?: readonly [unknown, unknown],
): string[] {
  const inputs = finisherInputNote(
    { ...a, input: keyedFinisherInput(keyA) },
    { ...b, input: keyedFinisherInput(keyB) },
  );
  const settings = settingsNote(keyA, keyB, resolved);
  const end = gridEndNote([
    { name: "A", last: lastBudget(a), methods: [a.method] },
    { name: "B", last: lastBudget(b), methods: [b.method] },
  ]);
  return [...(inputs ? [inputs] : []), ...(settings ? [settings] : []), ...(end ? [end + "\n"] : [])];
}

/** The largest budget of a side's records of its method: the end of the grid they ran in (each record has all). */
export const lastBudget = (s: Side): number => largestBudget(s.records.filter((r) => r.method === s.method));

/**
 * The largest checkpoint budget of `records` (−Infinity for none), by a loop: a spread into Math.max overflowed the
 * stack past ~130k checkpoints, the paper's LIMO protocol for one method (817 problems × 10 seeds × 16 budgets).
 */
export function largestBudget(records: readonly BenchRecord[]): number {
  let most = -Infinity;
  for (const r of records) for (const c of r.checkpoints) most = Math.max(most, c.budget);
  return most;
}

/**
 * The line where runs of methods whose runs depend on the grid's largest budget (the registry's gridEnd: a geometry
 * laid out by it) come from grids that end at different budgets: at the same budget such a method's checkpoints
 * are then other runs, not one run read at another point, so a difference measures the grids' ends as much as the
 * methods (the budgets are otherwise what a comparison is made across, and said nowhere). `runs`: each folder (or
 * side) by name, the largest budget of its records, and its methods shown. None where the ends agree or no method
 * shown depends on them. `brief`: the line a chart carries under its title (the methods and the ends, not why).
 */
export function gridEndNote(
  runs: readonly { name: string; last: number; methods: readonly string[] }[],
  brief = false,
): string | undefined {
  if (new Set(runs.map((r) => r.last)).size < 2) return undefined;
  const methods = [...new Set(runs.flatMap((r) => r.methods))].sort((x, y) => x.localeCompare(y))
    .flatMap((m) => {
      const why = gridEndDependence(m);
      return why ? [{ m, why }] : [];
    });
  if (methods.length === 0) return undefined;
  const ends = runs.map((r) => `${r.name} ${r.last}`).join(", ");
  if (brief) {
    return `Warning: the grids end at ${ends} passes, and the runs of ${
      methods.map((x) => x.m).join(", ")
    } depend on the grid's end: at one budget they are other runs in each`;
  }
  return `Largest budget differs: ${ends} passes, and the runs of ${
    methods.map((x) => `${x.m} depend on it (${x.why})`).join("; ")
  }: at the same budget its checkpoints are other runs in each grid, not one run read at another point.`;
}

/**
 * The line when the sides' finishers read other transcripts (each folder's --finisher-input): every checkpoint's
 * answer was read otherwise, so the difference is the inputs' as much as the methods'. None where they agree, or
 * where a method has no finisher (it reads nothing either way).
 */
function finisherInputNote(a: Side & { input: FinisherInput }, b: Side & { input: FinisherInput }) {
  const reads = (m: string) => {
    try {
      return parseMethod(m).finisher !== "none";
    } catch {
      return true; // an id this version no longer reads: said, rather than refused for a note
    }
  };
  if (a.input === b.input || !reads(a.method) || !reads(b.method)) return undefined;
  const read = (i: FinisherInput) =>
    `${i === "text" ? "the transcript's text encoded again" : "the writers' ids"} (--finisher-input ${i})`;
  return `Finisher input: A ${read(a.input)}; B ${read(b.input)}.\n`;
}

/**
 * The fields the run keys of two folders differ in (the model, its files, sampling, prompts, …): a paired
 * difference then measures them as much as the methods, which the line above the tables says. Not the fields a
 * comparison is made across (methods, seeds, budgets, tasks, shards), nor those said or checked apart: the
 * finisher input (its own line), the families' versions (refused per method), the data (problems compared).
 */
function settingsNote(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  resolved?: readonly [unknown, unknown],
): string | undefined {
  const apart = ["methods", "seeds", "budgets", "tasks", "shard", "finisherInput", "methods_version", "data"];
  const keep = (k: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(k).filter(([f]) => !apart.includes(f)));
  const lines = differences(keep(a), keep(b), ["A", "B"], resolved);
  return lines.length ? `Settings that differ (run.json's key): ${lines.join("; ")}.\n` : undefined;
}

/**
 * A difference in points to a tenth, halves away from zero, its sign as written (one that rounds to zero is +0.0,
 * never −0.0). Within 1e-9 of a half is that half: a mean summed in another order (−68.75 came out −68.7499…, and
 * printed −68.7 beside a −56.3 for −56.25).
 */
export const points = (x: number) => {
  const t = (Math.round(1000 * Math.abs(x) + 1e-6) / 10).toFixed(1);
  return `${x >= 0 || Number(t) === 0 ? "+" : "−"}${t}`;
};
/**
 * A p-value as printed: three decimals ("<0.001" below), and more where three would carry it across 0.05 or 0.01,
 * the levels it is read against (0.04995 is "0.04995", never "0.050").
 */
export function pValue(p: number): string {
  if (p < 0.001) return "<0.001";
  for (let digits = 3;; digits++) {
    const shown = p.toFixed(digits);
    if (digits >= 15 || [0.05, 0.01].every((t) => (Number(shown) < t) === (p < t))) return shown;
  }
}
const ci = (d: PairedDiff) => (d.ci ? `[${points(d.ci[0])}, ${points(d.ci[1])}]` : "—");

/**
 * The rows where A is below B by more than `points` points (compare --fail-if-worse: a CI's gate), each said as
 * a line: where, by how much, and the interval (a drop within the noise of a sampled run says so by its interval),
 * and how many of A's answers there the grader did not grade (each counted wrong: the drop may be the grader's
 * want of time, not the method's).
 */
export function regressions(rows: readonly Comparison[], maxDrop: number, a: string, b: string): string[] {
  return rows.filter((r) => -100 * r.diff.diff > maxDrop + 1e-9).map(({ task, budget, diff: d, ungradedA }) =>
    `${a} is ${points(-d.diff).slice(1)} points below ${b} on ${task} at ${budget} passes ` +
    `(${(100 * d.meanA).toFixed(1)}% against ${(100 * d.meanB).toFixed(1)}% over ${d.pairs} pairs; 95% interval ` +
    `of A − B ${ci(d)})` +
    (ungradedA
      ? `; ${ungradedA} of A's answers there were not graded (timed out or failed in the grader), each counted ` +
        "wrong: rescore A (deno task rescore) before reading the drop as the method's"
      : "")
  );
}

/**
 * The line above compare's tables where either side's checkpoints at `budgets` hold answers the grader did not
 * grade (timed out, failed; paths' answers so), each counted wrong, as summary.md says them; none where neither has.
 */
export function ungradedLines(a: Side, b: Side, budgets: readonly number[]): string[] {
  const failures = (s: Side) =>
    graderFailures(
      s.records.filter((r) => r.method === s.method).map((r) => ({
        checkpoints: r.checkpoints.filter((c) => budgets.includes(c.budget)),
      })),
    );
  const [fa, fb] = [failures(a), failures(b)];
  const none = (f: typeof fa) => !f.timedOut && !f.failed && !f.paths;
  if (none(fa) && none(fb)) return [];
  const said = (f: typeof fa) => none(f) ? "none" : graderFailuresCounts(f);
  return [
    `Not graded (each counted wrong): A: ${said(fa)}; B: ${said(fb)}. records.jsonl marks them; \`deno task ` +
    "rescore` grades them again.\n",
  ];
}

/**
 * What the gate would not see (compare --fail-if-worse): B's (task, problem, seed) of its method at `budgets` that A
 * has no checkpoint for (a run killed halfway, a task or a seed dropped), as a line, or none: a gate passed on
 * the pairs alone would pass a run that lost half its problems.
 */
export function unpairedInB(a: Side & { name: string }, b: Side & { name: string }, budgets: readonly number[]) {
  const at = (s: Side) =>
    s.records.filter((r) => r.method === s.method).flatMap((r) =>
      r.checkpoints.filter((c) => budgets.includes(c.budget)).map((c) =>
        [r.task, r.problem_id, r.seed, c.budget].join(" / ")
      )
    );
  const inA = new Set(at(a)), lacking = at(b).filter((k) => !inA.has(k));
  return lacking.length
    ? [
      `${a.name} lacks ${lacking.length} of the checkpoints ${b.name} has at the budgets checked, e.g. ${lacking[0]} ` +
      "passes: the gate sees only pairs",
    ]
    : [];
}

/**
 * summary.md's paired comparisons: per task, each method against `baseline` at the summary's budgets (nothing
 * where the run has no such method or no other).
 */
export function comparisonText(records: readonly BenchRecord[], budgets: readonly number[], baseline = "sequential") {
  const lines: string[] = [];
  // tasks and methods in the summary table's order (curves.ts), not the order records happened to finish in
  for (const task of [...new Set(records.map((r) => r.task))].sort()) {
    const mine = records.filter((r) => r.task === task),
      methods = [...new Set(mine.map((r) => r.method))].sort((x, y) => x.localeCompare(y));
    if (!methods.includes(baseline) || methods.length < 2) continue;
    lines.push(
      `### ${task}: each method against ${baseline}, paired on problems × seeds`,
      "",
      `Cells: the mean difference of the strict score in points, its 95% interval (t, clustered by problem; Wilson's near ±100) and ` +
        "the exact sign test's p over problems (McNemar's exact test with one seed).",
      "",
      `| method | ${budgets.map((b) => `${b} passes`).join(" | ")} |`,
      `|---|${budgets.map(() => "---:").join("|")}|`,
    );
    for (const method of methods.filter((m) => m !== baseline)) {
      const rows = compareSides({ method, records: mine }, { method: baseline, records: mine }, budgets);
      const cells = budgets.map((budget) => {
        const d = rows.find((r) => r.budget === budget)?.diff;
        return d ? `${points(d.diff)} ${ci(d)}, p ${pValue(d.p)}` : "";
      });
      lines.push(`| ${method} | ${cells.join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/**
 * The command's table for one budget of sides `a` and `b`; above it, where either side has records at the budget
 * that it does not pair (a side partial, or of other problems, seeds or tasks), how many of each it pairs: its A and
 * B are means over the pairs alone, not each side's accuracy.
 */
export function comparisonTable(rows: readonly Comparison[], budget: number, a: Side, b: Side): string {
  const at = (s: Side) =>
    s.records.filter((r) => r.method === s.method && r.checkpoints.some((c) => c.budget === budget)).length;
  const paired = rows.filter((r) => r.budget === budget).reduce((n, r) => n + r.diff.pairs, 0);
  const [inA, inB] = [at(a), at(b)];
  return [
    `## ${budget} passes`,
    "",
    ...(inA > paired || inB > paired
      ? [
        `A: ${paired} of ${inA} records paired, B: ${paired} of ${inB} (the columns A and B are means over the pairs ` +
        "alone)",
        "",
      ]
      : []),
    "| task | pairs | problems | A | B | A − B (points) | SE | 95% interval | A better / B better | sign test p |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.filter((r) => r.budget === budget).map(({ task, diff: d }) =>
      `| ${task} | ${d.pairs} | ${d.problems} | ${(100 * d.meanA).toFixed(1)}% | ${(100 * d.meanB).toFixed(1)}% | ${
        points(d.diff)
      } | ${d.se === undefined ? "—" : (100 * d.se).toFixed(1)} | ${ci(d)} | ${d.wins} / ${d.losses} | ${pValue(d.p)} |`
    ),
    "",
  ].join("\n");
}

/**
 * Two sides may be compared: each graded by one grader version, the same for both, and the problems they share
 * the same problems (golds, grading and text alike: same_problem.ts); they share at least one (task, problem, seed).
 * `problems`: what their folders say of their problems (one folder: the same data).
 */
export function checkComparable(
  a: Side & { name: string },
  b: Side & { name: string },
  problems: { sameData: boolean; a: ProblemTexts; b: ProblemTexts },
): void {
  const own = (s: Side) => s.records.filter((r) => r.method === s.method);
  for (const s of [a, b]) check(own(s).length > 0, `compare: ${s.name} has no records of method ${s.method}`);
  checkOneGrader([a, b].map((s) => ({ name: s.name, records: own(s) })));
  const others = new Map(own(b).map((r) => [`${r.task}\t${r.problem_id}`, r]));
  for (const r of own(a)) {
    const o = others.get(`${r.task}\t${r.problem_id}`);
    const why = o && problemDifference(problems.a, r, problems.b, o, problems.sameData);
    check(
      why === undefined,
      `compare: ${r.task} problem ${r.problem_id} is another problem in ${b.name} than in ${a.name} (${why}): ` +
        "another version of the task's data, or another data file",
    );
  }
  const seeds = new Set(own(b).map((r) => `${r.task}\t${r.problem_id}\t${r.seed}`));
  check(
    own(a).some((r) => seeds.has(`${r.task}\t${r.problem_id}\t${r.seed}`)),
    `compare: ${a.name} and ${b.name} share no (task, problem, seed): nothing to pair`,
  );
}
