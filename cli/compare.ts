/** deno task compare: two methods of one run folder or of two, paired on the problems and seeds both have. */
import { join } from "node:path";
import { check, parseDecimal, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { pathExists } from "../engine/files.ts";
import { summaryBudgets } from "../harness/report/curves.ts";
import {
  type BenchRecord,
  checkFoldersOnce,
  checkReadFolder,
  readRecords,
  readRunJson,
  unfinishedRecords,
} from "../harness/bench/rundir.ts";
import { keyedVersion } from "../harness/bench/run_key.ts";
import {
  checkComparable,
  compareSides,
  comparisonTable,
  keyNotes,
  regressions,
  scoreOf,
  type Side,
  ungradedLines,
  unpairedInB,
} from "../harness/report/compare.ts";
import { problemTexts } from "../harness/report/same_problem.ts";

const USAGE = `usage: deno task compare RUN_A RUN_B [--methods A,B] [--budget N[,N…]|all] [--score answer|paths|vote]
                         [--fail-if-worse POINTS]
       deno task compare RUN --methods A,B [--budget N[,N…]|all] [--score answer|paths|vote] [--fail-if-worse POINTS]
  the paired difference A − B of the strict score on the (task, problem, seed) both have, one table per budget:
  each side's mean, the difference in points with its standard error and 95% t interval (clustered by problem; Wilson's near ±100),
  the problems each side does better on, and the exact sign test's p over problems (docs/benchmark.md)
  --methods A,B: A of RUN_A (or RUN) against B of RUN_B (or RUN) [two folders: each method both hold, against
                 itself; or each folder's only method]
  --budget: the budgets to show and gate [shown: the summary's, the paper's budgets the runs share and their last,
           else up to eight; gated: every budget both share]
  --score: each side's one answer [answer], or Pass@1 over its independent paths' own answers (methods whose
           writers each answer alone: the Pass@1 their papers report; a method of one answer: that answer) [paths],
           or its vote (the methods that vote, as their papers report them; none: its answer) [vote]
  --fail-if-worse POINTS: exit 1, naming each, where A is below B by more than POINTS points at any budget both
           share (or --budget names; shown or not, the gate says which it checked), or A is unfinished, or lacks a
           method, or a checkpoint B has (a CI's regression gate: a new run as A, the stored one as B; 0 for a run
           that must not move)`;

const methodsOf = (records: readonly BenchRecord[]) => [...new Set(records.map((r) => r.method))].sort();

/** The pairs of methods to compare: --methods, else the methods both folders hold, else each folder's only one. */
function pairsOf(dirs: string[], records: BenchRecord[][], methods: string | undefined): [string, string][] {
  if (methods !== undefined) {
    const named = methods.split(",");
    check(
      named.length === 2 && named.every((m) => m !== ""),
      `--methods: expected A,B (two method ids), got "${methods}"`,
    );
    named.forEach((m, i) => {
      const at = Math.min(i, dirs.length - 1), all = methodsOf(records[at]);
      check(all.includes(m), `--methods: ${dirs[at]} has no method ${m} (it has ${all.join(", ")})`);
    });
    check(dirs.length === 2 || named[0] !== named[1], `--methods: ${named[0]} twice; name two methods of ${dirs[0]}`);
    return [[named[0], named[1]]];
  }
  check(dirs.length === 2, "compare: one run folder needs --methods A,B (two of its methods)");
  const [a, b] = records.map(methodsOf), both = a.filter((m) => b.includes(m));
  if (both.length) return both.map((m) => [m, m]);
  check(
    a.length === 1 && b.length === 1,
    `compare: ${dirs[0]} (${a.join(", ")}) and ${dirs[1]} (${b.join(", ")}) hold no method of the same id; ` +
      "name the two with --methods A,B",
  );
  return [[a[0], b[0]]];
}

function budgetsOf(flag: string | undefined, shared: number[]): number[] {
  if (flag === undefined) return summaryBudgets(shared);
  if (flag === "all") return shared;
  const named = flag.split(",").map((b) => parseInteger(b, "--budget"));
  // as the bench refuses a seed twice: a budget twice would print its table twice
  const twice = [...new Set(named.filter((b, i) => named.indexOf(b) !== i))];
  check(twice.length === 0, `--budget: a budget is listed twice (${twice.join(", ")})`);
  const missing = named.filter((b) => !shared.includes(b));
  check(
    missing.length === 0,
    `--budget: ${missing.join(", ")} is no budget both sides have (they share ${shared.join(", ")})`,
  );
  return named;
}

export const OPTIONS = {
  methods: { type: "string" },
  budget: { type: "string" },
  score: { type: "string", default: "answer" },
  "fail-if-worse": { type: "string" },
} as const;

function main() {
  const { values: f, positionals: dirs } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  dirs.forEach(checkReadFolder);
  const score = f.score;
  const gate = f["fail-if-worse"] === undefined ? undefined : parseDecimal(f["fail-if-worse"], "--fail-if-worse");
  check(
    score === "answer" || score === "paths" || score === "vote",
    `--score: expected answer, paths or vote, got "${score}"`,
  );
  check(dirs.length === 1 || dirs.length === 2, "compare: name one run folder or two (--help for the usage)");
  // by any spelling (a link, a trailing slash): as plot, view and judge tell them apart
  checkFoldersOnce(
    dirs,
    "compare",
    "the two run folders are one: to compare two of its methods name it once with --methods A,B",
  );
  const records = dirs.map(readRecords);
  const [dirA, dirB] = [dirs[0], dirs[dirs.length - 1]], [recA, recB] = [records[0], records[records.length - 1]];
  // records alone (no run.json) were written before any version or flag of the key: its fields absent
  const run = (dir: string) => pathExists(join(dir, "run.json")) ? readRunJson(dir) : {};
  const key = (dir: string) => (run(dir).spec ?? {}) as Record<string, unknown>;
  // a method family's records of two versions (run.json's methods_version; absent: 1) are not one method's
  const version = (dir: string, method: string) => keyedVersion(key(dir), method).version;
  // one folder's problems are one data's; two folders' traces are read only where their data hashes differ
  const problems = dirs.length === 1
    ? { sameData: true, a: { dir: dirA, texts: new Map() }, b: { dir: dirB, texts: new Map() } }
    : problemTexts(dirA, dirB);
  // every pair checked before any is printed: a refusal after a first table reads as a result and an error
  const tables = pairsOf(dirs, records, f.methods).map(([ma, mb]) => {
    const a = { method: ma, records: recA, name: `${dirA} (${ma})` };
    const b = { method: mb, records: recB, name: `${dirB} (${mb})` };
    checkComparable(a, b, problems);
    check(
      ma !== mb || version(dirA, ma) === version(dirB, mb),
      `compare: ${ma} is version ${version(dirA, ma)} in ${dirA} and ${version(dirB, mb)} in ${dirB} ` +
        "(its records changed between them: rerun the older folder)",
    );
    const scored = [scoreOf(a, score), scoreOf(b, score)];
    const budgetsIn = (s: Side) =>
      [...new Set(s.records.filter((r) => r.method === s.method).flatMap((r) => r.checkpoints.map((c) => c.budget)))]
        .sort((x, y) => x - y);
    const [inA, inB] = [budgetsIn(a), budgetsIn(b)], shared = inA.filter((x) => inB.includes(x));
    // no budget in common (or none with a pair) would print headers alone, read as a result
    check(
      shared.length > 0,
      `compare: ${a.name} has budgets ${inA.join(", ")} and ${b.name} ${inB.join(", ")}: ` +
        "none in common, nothing to pair",
    );
    const budgets = budgetsOf(f.budget, shared), rows = compareSides(a, b, budgets, score);
    // the gate checks every budget both share unless --budget names some: a drop at a budget the tables leave out
    // (a run that collapsed between the paper's budgets) fails it too
    const gated = f.budget === undefined ? shared : budgets;
    const gatedRows = gated === budgets ? rows : compareSides(a, b, gated, score);
    const unpaired = budgets.filter((budget) => !rows.some((r) => r.budget === budget));
    check(
      unpaired.length === 0,
      `compare: ${a.name} and ${b.name} have no (task, problem, seed) with a checkpoint at ${
        unpaired.join(", ")
      } passes on both sides: nothing to pair there (--budget names the budgets to show)`,
    );
    return {
      lines: [
        `# A = ${a.name}, B = ${b.name}\n`,
        ...(score !== "answer" ? [`Scores: A ${scored[0]}; B ${scored[1]}.\n`] : []),
        ...keyNotes(a, b, key(dirA), key(dirB), [run(dirA).sampling, run(dirB).sampling]),
        ...ungradedLines(a, b, budgets),
        ...budgets.map((budget) => comparisonTable(rows, budget, a, b)),
      ],
      worse: gate === undefined ? [] : [...unpairedInB(a, b, gated), ...regressions(gatedRows, gate, a.name, b.name)],
      gated: `${gated.join(", ")} passes`,
      pair: ma === mb ? ma : `${ma} against ${mb}`,
    };
  });
  for (const line of tables.flatMap((t) => t.lines)) console.log(line);
  if (gate === undefined) return;
  // a new run that stopped early, or lost a method B has, passes no gate: its pairs alone would look fine
  const left = unfinishedRecords(recA.length, run(dirA));
  const lost = dirs.length === 2 && f.methods === undefined
    ? methodsOf(recB).filter((m) => !methodsOf(recA).includes(m))
    : [];
  const worse = [
    ...(left ? [`${dirA} is unfinished (${left})`] : []),
    ...lost.map((m) => `${dirA} has no records of ${dirB}'s method ${m}`),
    ...tables.flatMap((t) => t.worse),
  ];
  // which budgets it checked: a pass at the paper's budgets alone must not read as a pass at every one
  const gated = new Set(tables.map((t) => t.gated)).size === 1
    ? tables[0].gated
    : tables.map((t) => `${t.pair} ${t.gated}`).join("; ");
  const checked = `at ${gated}: ${
    f.budget === undefined ? "every budget both sides share" : "the budgets --budget names"
  }`;
  if (worse.length === 0) {
    return console.error(`compare: no drop of more than ${gate} points (--fail-if-worse, ${checked})`);
  }
  for (const w of worse) console.error(`compare: ${w}`);
  console.error(`compare: the gate fails (--fail-if-worse ${gate}, ${checked}): exit 1`);
  Deno.exit(1);
}

if (import.meta.main) runMain(main);
