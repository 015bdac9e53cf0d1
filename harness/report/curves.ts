/**
 * From records to curves: accuracy per task, method and budget with a 95% interval (Wilson's; none below two
 * samples), the statistics over seeds (stats.ts: avg@k with its error and interval, pass@k, maj@k), mean passes
 * and mean wall time.
 */
import { voteKey } from "../generation/answer_format.ts";
import type { BenchRecord } from "../bench/rundir.ts";
import type { Grading } from "../../tasks/problem.ts";
import { mean, type Sample, seedStats, wilsonInterval } from "./stats.ts";

export interface CurvePoint {
  task: string;
  method: string;
  budget: number;
  n: number;
  accuracy: number;
  /** the 95% interval (interval()); absent below two samples */
  ci_low?: number;
  ci_high?: number;
  accuracy_lenient: number;
  /** self-consistency's majority vote, where the method has one */
  accuracy_vote?: number;
  /** independent paths' own answers: their scores' mean per record, then over records (Pass@1 over paths) */
  accuracy_paths?: number;
  /** k: the fewest seeds any of the point's problems has; and its problems */
  seeds: number;
  /** the run's seeds (its spec's: an unfinished run's problems may have fewer); not in curves.csv */
  run_seeds: number;
  problems: number;
  /** avg@k (per problem the mean over its seeds, then the mean over problems) and its error clustered by problem */
  avg_at_k: number;
  avg_se?: number;
  /** avg@k's 95% interval (t, widened to Wilson's near a bound: stats.ts); absent below two problems */
  avg_ci_low?: number;
  avg_ci_high?: number;
  /** the standard error of the per-seed accuracies; absent below two seeds and where a problem lacks a seed */
  avg_se_seeds?: number;
  /** pass@k (Chen et al.'s estimator; a list task's answer counts when every part is right) */
  pass_at_k: number;
  /**
   * maj@k: the answer most seeds gave, grouped by voteKey (the grader's normalised text; a program's text, its line
   * ends alone normalised) (ties: the lowest seed's)
   */
  maj_at_k: number;
  mean_passes: number;
  /** mean time per problem alone on its device (the cost model's), and shared with the runs it went with */
  mean_solo_s: number;
  mean_shared_s: number;
}

/**
 * The 95% interval of a mean of scores in [0, 1], each sample one observation: Wilson's (stats.ts wilsonInterval).
 * A run of one seed's interval; over problems × seeds it takes a problem's seeds as independent, too narrow there
 * (avg@k's interval counts problems).
 */
export const interval = wilsonInterval;

/**
 * What a sample scores: the method's one answer, or the mean of its independent paths' own answers (Pass@1 over
 * paths) where its records carry them (a method of one answer: that answer).
 */
export type Score = "answer" | "paths" | "vote";

/**
 * A checkpoint's vote's strict score, if it has a vote (records before `vote_score_strict` hold only its verdict).
 * A vote of null (no trace had answered yet) is graded, as wrong.
 */
export function voteScore(c: BenchRecord["checkpoints"][number]): number | undefined {
  return c.vote_score_strict ?? (c.vote_equal_strict === undefined ? undefined : +c.vote_equal_strict);
}

/**
 * One checkpoint of a record as a sample of the statistics over seeds: its strict score and its answer; with
 * "paths", Pass@1 over its paths; with "vote", its vote's (each where the checkpoint has one, else its answer's).
 */
export function sample(r: BenchRecord, c: BenchRecord["checkpoints"][number], score: Score = "answer"): Sample {
  const vote = voteScore(c);
  if (score === "vote" && vote !== undefined) {
    return { problem: r.problem_id, seed: r.seed, score: vote, answer: c.vote ?? null, grading: r.grading };
  }
  const s = score === "paths" ? c.paths_score_strict ?? c.score_strict : c.score_strict;
  return { problem: r.problem_id, seed: r.seed, score: s, answer: c.answer, grading: r.grading };
}

/**
 * What the summary, the plots and the passes-to table show of a point: avg@k with its t interval where the run has
 * several seeds, else the accuracy over problems with Wilson's interval (the same number where each problem has one
 * seed). By the run's seeds, not the point's k: an unfinished run's pooled accuracy weighs problems by their seeds.
 */
export function shown(p: CurvePoint): { accuracy: number; lo?: number; hi?: number } {
  return p.run_seeds > 1
    ? { accuracy: p.avg_at_k, lo: p.avg_ci_low, hi: p.avg_ci_high }
    : { accuracy: p.accuracy, lo: p.ci_low, hi: p.ci_high };
}

/** A run folder's seeds as its key (run.json's `spec`) lists them; undefined for records without one. */
export const specSeeds = (meta: Record<string, unknown>) => (meta.spec as { seeds?: number[] } | undefined)?.seeds;

/** The points of `records`, of a run of `seeds` (by default the seeds the records hold). */
export function curves(
  records: readonly BenchRecord[],
  seeds: readonly number[] = [...new Set(records.map((r) => r.seed))],
): CurvePoint[] {
  type Group = { task: string; method: string; budget: number; cps: BenchRecord["checkpoints"]; samples: Sample[] };
  const groups = new Map<string, Group>();
  for (const r of records) {
    for (const c of r.checkpoints) {
      const k = `${r.task}\t${r.method}\t${c.budget}`;
      if (!groups.has(k)) groups.set(k, { task: r.task, method: r.method, budget: c.budget, cps: [], samples: [] });
      groups.get(k)!.cps.push(c);
      groups.get(k)!.samples.push(sample(r, c));
    }
  }
  // an answer's vote key once per grading (a run holds few distinct answers, each at many checkpoints: the
  // grader's normalisation is most of a big folder's curves time)
  const keys = new Map<string, string>();
  const keyOf = (answer: string, grading: Grading) => {
    const at = `${grading}\0${answer}`;
    return keys.get(at) ?? keys.set(at, voteKey(answer, grading)).get(at)!;
  };
  return [...groups.values()]
    .sort((a, b) => a.task.localeCompare(b.task) || a.method.localeCompare(b.method) || a.budget - b.budget)
    .map(({ task, method, budget, cps, samples }) => {
      const strict = cps.map((c) => c.score_strict);
      const [lo, hi] = interval(strict) ?? [];
      const s = seedStats(samples, keyOf);
      const point: CurvePoint = {
        task,
        method,
        budget,
        n: cps.length,
        accuracy: mean(strict),
        ci_low: lo,
        ci_high: hi,
        accuracy_lenient: mean(cps.map((c) => c.score_lenient)),
        mean_passes: mean(cps.map((c) => c.passes)),
        mean_solo_s: mean(cps.map((c) => c.solo_ms)) / 1000,
        mean_shared_s: mean(cps.map((c) => c.shared_ms)) / 1000,
        seeds: s.seeds,
        run_seeds: seeds.length,
        problems: s.problems,
        avg_at_k: s.avg,
        avg_se: s.se,
        avg_ci_low: s.ci?.[0],
        avg_ci_high: s.ci?.[1],
        avg_se_seeds: s.seedSe,
        pass_at_k: s.passAtK,
        maj_at_k: s.majAtK,
      };
      if (cps.some((c) => c.vote !== undefined)) {
        // on accuracy's scale (records written before vote_score_strict: the whole-answer verdict)
        point.accuracy_vote = mean(cps.map((c) => voteScore(c) ?? 0));
      }
      // every record of the point graded with its paths (older records have none: no column rather than a wrong one)
      if (cps.every((c) => c.paths_score_strict !== undefined)) {
        point.accuracy_paths = mean(cps.map((c) => c.paths_score_strict!));
      }
      return point;
    });
}

export function curvesCsv(points: readonly CurvePoint[]): string {
  const cols = [
    "task",
    "method",
    "budget",
    "n",
    "accuracy",
    "ci_low",
    "ci_high",
    "accuracy_lenient",
    "accuracy_vote",
    "accuracy_paths",
    "mean_passes",
    "mean_solo_s",
    "mean_shared_s",
    "seeds",
    "problems",
    "avg_at_k",
    "avg_se",
    "avg_ci_low",
    "avg_ci_high",
    "avg_se_seeds",
    "pass_at_k",
    "maj_at_k",
  ] as const;
  const cell = (v: unknown) => (v === undefined ? "" : typeof v === "number" ? String(+v.toFixed(6)) : String(v));
  return [cols.join(","), ...points.map((p) => cols.map((c) => cell(p[c])).join(","))].join("\n") + "\n";
}

/**
 * A time to three figures, in ms below a second (a demo model's runs take tens of ms: 0.1 s said nothing); the
 * viewer's too.
 */
export function duration(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(seconds >= 10 ? 0 : 1)} s` : `${+(seconds * 1000).toPrecision(3)} ms`;
}

/**
 * An accuracy in tenths of a point, cut (not rounded): what summary.md and compare print of it (percent), and what
 * the passes-to table's levels are read against, so that a cell reads at or above a level exactly where the level
 * was reached (0.4996 is 49.9%, never a 50.0% beside a 50% column that says "—"). Within 1e-9 of a tenth (a mean
 * summed in another order) is that tenth.
 */
export const perMille = (x: number): number => Math.floor(1000 * x + 1e-6);

/** An accuracy in percent to a tenth of a point, cut (perMille): "49.9" for 0.4996. */
export const percent = (x: number): string => (perMille(x) / 10).toFixed(1);

/**
 * The budgets the paper reports (v4 Tables 3/4) that the run has and the run's last (a run that collapsed at its
 * final budget must not look fine), else up to eight of the run's own, its last among them. The tables' columns;
 * compare's gate checks every budget both sides share (cli/compare.ts).
 */
export function summaryBudgets(budgets: readonly number[]): number[] {
  const paper = [2048, 4096, 6144, 8192, 10240, 12288, 14336, 16384].filter((b) => budgets.includes(b));
  const last = Math.max(...budgets);
  if (paper.length) return paper.includes(last) ? paper : [...paper, last];
  if (budgets.length <= 8) return [...budgets];
  const step = (budgets.length - 1) / 7;
  return [...new Set(Array.from({ length: 8 }, (_, i) => budgets[Math.round(i * step)]))];
}

export function summaryTable(points: readonly CurvePoint[], budgets: readonly number[]): string {
  // the cells' k: one, or several (an unfinished run's cells) listed, never joined as a range would read
  const ks = [...new Set(points.map((p) => p.seeds))].sort((a, b) => a - b);
  const k = ks.length === 1 ? `${ks[0]}` : `k (k = ${ks.slice(0, -1).join(", ")} or ${ks[ks.length - 1]}, by cell)`;
  const lines: string[] = [
    `Cells: avg@${k}, per problem the mean score over its seeds, then the mean over the problems (with every ` +
    `problem at every seed, the seeds' accuracies averaged)${
      points.some((p) => p.seeds < p.run_seeds)
        ? `; k is the fewest seeds a problem of the cell has, below the run's ${
          points[0].run_seeds
        } where it is unfinished`
        : ""
    }, ± its standard error clustered by problem (in points); n: problems × seeds. It is the paper's statistic ` +
    "(AIME: the accuracy averaged over 10 seeds, avg@10; LiveCodeBench: pass@1 averaged over 8 samples, avg@8); " +
    "curves.csv also has its 95% interval, pass@k and maj@k. Methods of independent paths add `paths`: the mean " +
    "of their paths' own answers' scores (the Pass@1 their papers report); methods that vote add `vote`: the " +
    "score of their vote over the paths' answers (self-consistency's cell itself is its finisher's answer over " +
    "every path, as the Hogwild! paper's baseline).",
    "",
  ];
  for (const task of [...new Set(points.map((p) => p.task))]) {
    lines.push(
      `### ${task}`,
      "",
      `| method | ${budgets.map((b) => `${b} passes`).join(" | ")} |`,
      `|---|${budgets.map(() => "---:").join("|")}|`,
    );
    for (const method of [...new Set(points.filter((p) => p.task === task).map((p) => p.method))]) {
      const cells = budgets.map((b) => {
        const p = points.find((x) => x.task === task && x.method === method && x.budget === b);
        if (!p) return "";
        const se = p.avg_se === undefined ? "" : ` ± ${(100 * p.avg_se).toFixed(1)}`;
        const paths = p.accuracy_paths === undefined ? "" : `, paths ${percent(p.accuracy_paths)}%`;
        const vote = p.accuracy_vote === undefined ? "" : `, vote ${percent(p.accuracy_vote)}%`;
        return `${percent(shown(p).accuracy)}%${se} (n=${p.n}, ${duration(p.mean_solo_s)} alone${paths}${vote})`;
      });
      lines.push(`| ${method} | ${cells.join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/**
 * Passes to accuracy: per task and method, the smallest budget at which accuracy reaches each level (the
 * paper's way of reading a speed-up off the curves: the same accuracy in fewer forward passes).
 */
export function passesToTable(points: readonly CurvePoint[], levels = [0.5, 0.8, 0.9]): string {
  const lines: string[] = [];
  for (const task of [...new Set(points.map((p) => p.task))]) {
    const curve = (method: string) =>
      points.filter((p) => p.task === task && p.method === method).sort((a, b) => a.budget - b.budget);
    // levels in tenths of a point, read against the accuracies as shown (perMille: cut, as the cells print them)
    const reach = (mine: CurvePoint[], mille: number) => mine.find((p) => perMille(shown(p).accuracy) >= mille)?.budget;
    // The paper's comparison: the passes each method needs for sequential's final accuracy (within 2 points).
    const sequential = curve("sequential"),
      final = sequential.length ? shown(sequential[sequential.length - 1]).accuracy : undefined,
      target = final === undefined ? undefined : perMille(final) - 20;
    // a target of 0 or below is reached by every method at its first budget: no speed-up to read, so none written
    const vacuous = target !== undefined && target <= 0;
    const base = target === undefined ? undefined : reach(sequential, target);
    const extra = target === undefined
      ? []
      : [`sequential's final − 2 points (${vacuous ? "none" : `${(target / 10).toFixed(1)}%`})`, "× sequential's"];
    lines.push(
      `### ${task}: forward passes to reach an accuracy`,
      "",
      `| method | final | ${[...levels.map((l) => `${Math.round(100 * l)}%`), ...extra].join(" | ")} |`,
      `|---|---:|${[...levels, ...extra].map(() => "---:").join("|")}|`,
    );
    for (const method of [...new Set(points.filter((p) => p.task === task).map((p) => p.method))]) {
      const mine = curve(method);
      const cells: (number | string)[] = levels.map((l) => reach(mine, Math.round(1000 * l)) ?? "—");
      if (vacuous) cells.push("—", "—");
      else if (target !== undefined) {
        const passes = reach(mine, target);
        cells.push(passes ?? "—", passes !== undefined && base ? `${(passes / base).toFixed(2)}×` : "—");
      }
      lines.push(`| ${method} | ${percent(shown(mine[mine.length - 1]).accuracy)}% | ${cells.join(" | ")} |`);
    }
    if (vacuous) {
      lines.push(
        "",
        `sequential's final accuracy is ${percent(final!)}%, within 2 points of 0: every method reaches ` +
          "that at its first budget, so there is no target to compare passes at (—).",
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

export interface ForkAgreement {
  /** a method with the fork finisher, and the same method with the re-encode finisher */
  fork: string;
  reencode: string;
  /** checkpoints where the re-encode answer came from the finisher (elsewhere both runs share the answer) */
  checkpoints: number;
  sameAnswer: number;
  sameVerdict: number;
}

/**
 * How often the fork finisher (no encoding: the workers' own blocks in one more view) gives the answer the
 * exact re-encode finisher gives. Same seeds generate the same workers' text under both, so only the
 * finisher differs; pairs are matched by task, problem, seed and budget.
 */
export function forkAgreement(records: readonly BenchRecord[]): ForkAgreement[] {
  const byKey = new Map(records.map((r) => [`${r.task}\t${r.problem_id}\t${r.method}\t${r.seed}`, r]));
  const out: ForkAgreement[] = [];
  for (const fork of [...new Set(records.map((r) => r.method))].filter((m) => m.split(":").includes("fork")).sort()) {
    const reencode = fork.split(":").filter((o) => o !== "fork").join(":");
    const a: ForkAgreement = { fork, reencode, checkpoints: 0, sameAnswer: 0, sameVerdict: 0 };
    for (const r of records.filter((x) => x.method === fork)) {
      const other = byKey.get(`${r.task}\t${r.problem_id}\t${reencode}\t${r.seed}`);
      for (const c of other?.checkpoints ?? []) {
        const f = r.checkpoints.find((x) => x.budget === c.budget);
        if (!f || c.source !== "finisher") continue;
        a.checkpoints++;
        a.sameAnswer += +(f.answer === c.answer);
        a.sameVerdict += +(f.equal_strict === c.equal_strict);
      }
    }
    if (a.checkpoints > 0) out.push(a);
  }
  return out;
}

export function forkAgreementText(rows: readonly ForkAgreement[]): string {
  if (rows.length === 0) return "";
  const pct = (k: number, n: number) => `${(100 * k / n).toFixed(1)}%`;
  return [
    "### Fork finisher against re-encode",
    "",
    "Same seeds, same workers' text: only the finisher differs. Checkpoints where the re-encode answer came from the finisher:",
    "",
    "| fork | re-encode | checkpoints | same answer | same verdict |",
    "|---|---|---:|---:|---:|",
    ...rows.map((a) =>
      `| ${a.fork} | ${a.reencode} | ${a.checkpoints} | ${pct(a.sameAnswer, a.checkpoints)} | ${
        pct(a.sameVerdict, a.checkpoints)
      } |`
    ),
    "",
  ].join("\n");
}
