/**
 * deno task compare: paired differences of two methods in one run folder or two, one table per budget, against a
 * case worked by hand; the refusals (another grader, another task's data, nothing shared, a method or budget not
 * there); and the summary's table of each method against sequential.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkComparable,
  compareSides,
  comparisonTable,
  comparisonText,
  largestBudget,
  points,
  pValue,
} from "../../../harness/report/compare.ts";
import { pairedDiff } from "../../../harness/report/stats.ts";
import { type BenchRecord, recordKey } from "../../../harness/bench/rundir.ts";
import { fakeCheckpoint, fakeRecord, runCli, samplingPairs } from "../../helpers.ts";

/** A record whose checkpoint at each budget scores `scores[i]`. */
function record(method: string, problem: string, seed: number, scores: number[], over: Partial<BenchRecord> = {}) {
  const checkpoints = scores.map((s, i) =>
    fakeCheckpoint(8 * (i + 1), s === 1, { answer: s ? "4" : "5", tokens: [8], score_strict: s, score_lenient: s })
  );
  return fakeRecord({ method, problem_id: problem, seed, grader: "g/1", ...over }, checkpoints);
}

/** `grid[i][j]`: problem i + 1's score under seed j + 1 at budget 8 (at 16 always right); null: no record. */
const records = (method: string, grid: (number | null)[][], over: Partial<BenchRecord> = {}) =>
  grid.flatMap((row, i) =>
    row.flatMap((s, j) => (s === null ? [] : [record(method, `p${i + 1}`, j + 1, [s, 1], over)]))
  );

// The hand-worked case of stats_test.ts: problems' differences 1, .5, .5, 0, −.5 over two seeds.
const A = [[1, 1], [1, 0], [1, 1], [0, 1], [0, 0], [1, 1]];
const B = [[0, 0, 1], [0, 0], [1, 0], [1, 0], [1, 0]];

/** Records whose checkpoints are at `budgets` instead (another run's --budgets). */
const atBudgets = (rs: BenchRecord[], budgets: number[]) =>
  rs.map((r) => ({ ...r, checkpoints: r.checkpoints.map((c, i) => ({ ...c, budget: budgets[i] })) }));

/**
 * A run folder of records `rs` and their traces, each with its problem's text (`text`; undefined: a trace
 * without one); `data`: its run.json's data hash (none: no run.json).
 */
function folder(
  base: string,
  name: string,
  rs: BenchRecord[],
  text: (r: BenchRecord) => string | undefined = (r) => `the problem ${r.problem_id}`,
  data?: string,
): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "records.jsonl"), rs.map((r) => JSON.stringify(r) + "\n").join(""));
  const traces = rs.map((r) => {
    const problem = text(r);
    const { task, problem_id, method, seed } = r;
    return { task, problem_id, method, seed, ...(problem === undefined ? {} : { problem }), workers: [], steps: [] };
  });
  writeFileSync(join(dir, "traces.jsonl"), traces.map((t) => JSON.stringify(t) + "\n").join(""));
  if (data !== undefined) writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: { data } }));
  return dir;
}

/** A folder's run.json with its key's method versions (the records of a family's other version). */
function versioned(dir: string, methods_version: Record<string, number>): string {
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: { methods_version } }));
  return dir;
}

const ROW_8 = /\| t \| 10 \| 5 \| 60\.0% \| 30\.0% \| \+30\.0 \| 25\.5 \| \[−40\.8, \+100\.0\] \| 3 \/ 1 \| 0\.625 \|/;

Deno.test("compare: one folder and two methods, and two folders' same method; a table per budget, worked by hand", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-"));
  const one = folder(base, "one", [...records("hogwild:2", A), ...records("sequential", B)]);
  const r = await runCli("cli/compare.ts", [one, "--methods", "hogwild:2,sequential"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# A = .*one \(hogwild:2\), B = .*one \(sequential\)/);
  assert.match(
    r.stdout,
    /## 8 passes\n\nA: 10 of 12 records paired, B: 10 of 11 [^\n]*\n\n\| task \| pairs \| problems \| A \| B \| A − B \(points\) \| SE \| 95% interval/,
  );
  assert.match(r.stdout, ROW_8);
  assert.match(
    r.stdout,
    /## 16 passes[^]*\| t \| 10 \| 5 \| 100\.0% \| 100\.0% \| \+0\.0 \| 0\.0 \| \[−67\.9, \+67\.9\] \| 0 \/ 0 \| 1\.000 \|/,
  );
  const only = await runCli("cli/compare.ts", [one, "--methods", "hogwild:2,sequential", "--budget", "8"]);
  assert.equal(only.code, 0, only.stderr);
  assert.doesNotMatch(only.stdout, /16 passes/);
  // two folders holding the same method: each against itself; the reverse order flips the sign
  const x = folder(base, "x", records("sc:2", A)), y = folder(base, "y", records("sc:2", B));
  const two = await runCli("cli/compare.ts", [y, x, "--budget", "all"]);
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stdout, /# A = .*y \(sc:2\), B = .*x \(sc:2\)/);
  assert.match(
    two.stdout,
    /\| t \| 10 \| 5 \| 30\.0% \| 60\.0% \| −30\.0 \| 25\.5 \| \[−100\.0, \+40\.8\] \| 1 \/ 3 \| 0\.625 \|/,
  );
  // two folders of one method each, under different ids, need no --methods
  const z = folder(base, "z", records("sequential", B));
  const named = await runCli("cli/compare.ts", [x, z]);
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stdout, ROW_8);
});

Deno.test("compare: where either side has records the table does not pair, it says how many of each it pairs", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-counts-"));
  // A: 12 records, B: 11 (p1 has a third seed, p6 none), 10 pairs; and A's records of a task B never ran
  const other = records("sc:2", [[1, 1], [0]], { task: "u" });
  const a = folder(base, "a", [...records("sc:2", A), ...other]), b = folder(base, "b", records("sc:2", B));
  const r = await runCli("cli/compare.ts", [a, b, "--budget", "all"]);
  assert.equal(r.code, 0, r.stderr);
  const line = "A: 10 of 15 records paired, B: 10 of 11 (the columns A and B are means over the pairs alone)";
  for (const budget of [8, 16]) {
    assert.match(r.stdout, new RegExp(`## ${budget} passes\n\n${line.replace(/[()]/g, "\\$&")}\n\n\\| task`));
  }
  // every record paired: no line
  const same = await runCli("cli/compare.ts", [b, folder(base, "b2", records("sc:2", B)), "--budget", "all"]);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stdout, /records paired/);
  // generated grids, some cells missing on either side: each side's records, and the pairs both have
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const grid = () => Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rand() < 0.3 ? null : 1));
  for (let k = 0; k < 20; k++) {
    const [ga, gb] = [grid(), grid()];
    const count = (g: (number | null)[][]) => g.flat().filter((x) => x !== null).length;
    const pairs = ga.flatMap((row, i) => row.filter((x, j) => x !== null && gb[i][j] !== null)).length;
    const sa = { method: "x", records: records("x", ga) }, sb = { method: "x", records: records("x", gb) };
    const text = comparisonTable(compareSides(sa, sb, [8]), 8, sa, sb);
    const expected = `A: ${pairs} of ${count(ga)} records paired, B: ${pairs} of ${count(gb)}`;
    if (pairs === count(ga) && pairs === count(gb)) assert.doesNotMatch(text, /records paired/);
    else if (pairs > 0) assert.ok(text.includes(expected), `${expected}\n${text}`);
  }
});

/** A folder's run.json with its key's finisher input (`undefined`: the field absent, as ids and older folders have it). */
function finisherInput(dir: string, input: "text" | undefined): string {
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: input ? { finisherInput: input } : {} }));
  return dir;
}

Deno.test("compare: two folders whose finishers read another transcript (--finisher-input ids, text) say so above the tables", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-finisher-"));
  const note =
    /^Finisher input: A the writers' ids \(--finisher-input ids\); B the transcript's text encoded again \(--finisher-input text\)\.$/m;
  const text = finisherInput(folder(base, "text", records("hogwild:2", B)), "text");
  // ids as run.json's key has it (absent), and records alone (no run.json: before the flag)
  for (
    const ids of [
      finisherInput(folder(base, "ids", records("hogwild:2", A)), undefined),
      folder(base, "old", records("hogwild:2", A)),
    ]
  ) {
    const r = await runCli("cli/compare.ts", [ids, text]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, note);
    assert.ok(r.stdout.indexOf("Finisher input:") < r.stdout.indexOf("## 8 passes"), r.stdout);
    assert.match(r.stdout, ROW_8, "the numbers are the same");
    const back = await runCli("cli/compare.ts", [text, ids]);
    assert.match(
      back.stdout,
      /^Finisher input: A the transcript's text encoded again \(--finisher-input text\); B the writers' ids \(--finisher-input ids\)\.$/m,
    );
  }
  // the same input on both sides, or methods without a finisher (they read nothing either way): no line
  const same = await runCli("cli/compare.ts", [
    text,
    finisherInput(folder(base, "text2", records("hogwild:2", A)), "text"),
  ]);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stdout, /Finisher input/);
  const none = await runCli("cli/compare.ts", [
    finisherInput(folder(base, "n1", records("sequential-no-early-stop", A)), undefined),
    finisherInput(folder(base, "n2", records("sequential-no-early-stop", B)), "text"),
  ]);
  assert.equal(none.code, 0, none.stderr);
  assert.doesNotMatch(none.stdout, /Finisher input/);
});

Deno.test("compare --score paths: Pass@1 over a side's paths where it has them, its answer where it has one; said, and mixed sides refused", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-paths-"));
  // The paths' mean is 0.5 on every record where the answer is right: A's Pass@1 is half its answers' score.
  const withPaths = (rs: BenchRecord[]) =>
    rs.map((r) => ({
      ...r,
      checkpoints: r.checkpoints.map((c) => ({ ...c, paths: ["4", "5"], paths_score_strict: c.score_strict / 2 })),
    }));
  const one = folder(base, "one", [...withPaths(records("sc:2", A)), ...records("sequential", B)]);
  const r = await runCli("cli/compare.ts", [one, "--methods", "sc:2,sequential", "--score", "paths", "--budget", "16"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Scores: A Pass@1 over its paths; B its answer \(its records hold no paths\)\./);
  assert.match(r.stdout, /\| t \| 10 \| 5 \| 50\.0% \| 100\.0% \| −50\.0 \|/);
  const answers = await runCli("cli/compare.ts", [one, "--methods", "sc:2,sequential", "--budget", "16"]);
  assert.match(answers.stdout, /\| t \| 10 \| 5 \| 100\.0% \| 100\.0% \| \+0\.0 \|/);
  assert.doesNotMatch(answers.stdout, /Scores:/);
  // a side half with paths (an old folder merged with a new one) is refused, naming it and the way out
  const half = [...withPaths(records("sc:2", A)).slice(0, 3), ...records("sc:2", A).slice(3)];
  const mixed = folder(base, "mixed", [...half, ...records("sequential", B)]);
  const m = await runCli("cli/compare.ts", [mixed, "--methods", "sc:2,sequential", "--score", "paths"]);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /mixed \(sc:2\) has paths graded on 6 of its 24 checkpoints .*rescore it/);
  const bad = await runCli("cli/compare.ts", [one, "--methods", "sc:2,sequential", "--score", "pass1"]);
  assert.match(bad.stderr, /--score: expected answer, paths or vote, got "pass1"/);
});

Deno.test("compare --score vote: a side's vote where its records hold one (sc's, DeepConf's), its answer where not", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-vote-"));
  // the vote right on every record, the answer as A's grid says
  const voted = (rs: BenchRecord[]) =>
    rs.map((r) => ({
      ...r,
      checkpoints: r.checkpoints.map((c) => ({ ...c, vote: "4", vote_equal_strict: true, vote_score_strict: 1 })),
    }));
  const one = folder(base, "one", [...voted(records("sc:2", A)), ...records("sequential", B)]);
  const r = await runCli("cli/compare.ts", [one, "--methods", "sc:2,sequential", "--score", "vote", "--budget", "8"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Scores: A its vote \(0 where it had none yet: no trace had answered\); B its answer \(its records hold no vote\)\./,
  );
  assert.match(r.stdout, /\| t \| 10 \| 5 \| 100\.0% \| 30\.0% \| \+70\.0 \|/);
  const answers = await runCli("cli/compare.ts", [one, "--methods", "sc:2,sequential", "--budget", "8"]);
  assert.match(answers.stdout, ROW_8);
  const half = [...voted(records("sc:2", A)).slice(0, 3), ...records("sc:2", A).slice(3)];
  const mixed = folder(base, "mixed", [...half, ...records("sequential", B)]);
  const m = await runCli("cli/compare.ts", [mixed, "--methods", "sc:2,sequential", "--score", "vote"]);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /mixed \(sc:2\) has a vote graded on 6 of its 24 checkpoints/);
});

Deno.test("compare refuses another grader, another task's data, nothing shared, and a method, folder or budget not there", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-bad-"));
  const a = folder(base, "a", [...records("hogwild:2", A), ...records("sequential", B)]);
  const cases: [string[], RegExp][] = [
    [[a], /one run folder needs --methods A,B/],
    [[a, "--methods", "hogwild:2"], /--methods: expected A,B/],
    [[a, "--methods", "hogwild:2,sc:3"], /--methods: .*a has no method sc:3 \(it has hogwild:2, sequential\)/],
    [[a, "--methods", "sequential,sequential"], /--methods: sequential twice/],
    [[a, a], /the two run folders are one/],
    [
      [a, "--methods", "hogwild:2,sequential", "--budget", "24"],
      /--budget: 24 is no budget both sides have \(they share 8, 16\)/,
    ],
    [[a, "--methods", "hogwild:2,sequential", "--budget", "x"], /--budget: expected an integer/],
    // a budget named twice would print its table twice
    [[a, "--methods", "hogwild:2,sequential", "--budget", "16,16"], /--budget: a budget is listed twice \(16\)/],
    [[a, "--methods", "hogwild:2,sequential", "--budget", "8,16,8,16"], /--budget: a budget is listed twice \(8, 16\)/],
    [[a, folder(base, "other", records("sc:2", A))], /hold no method of the same id; name the two with --methods/],
    [[a, folder(base, "regraded", records("hogwild:2", B, { grader: "g/2" }))], /graded by g\/1, .* by g\/2; rescore/],
    [[
      a,
      folder(base, "mixed", [...records("hogwild:2", [[1]]), ...records("hogwild:2", [[], [1]], { grader: "g/2" })]),
    ], /several grader versions \(g\/1, g\/2\)/],
    [
      [a, folder(base, "data", records("hogwild:2", B, { golds: ["5"] }))],
      /t problem p1 is another problem in .*data \(hogwild:2\) than in .*a \(hogwild:2\) \(golds \["4"\] vs \["5"\]\)/,
    ],
    [
      [a, folder(base, "seeds", records("hogwild:2", [[null, null, 1]]))],
      /share no \(task, problem, seed\): nothing to pair/,
    ],
    [[a, join(base, "none")], /none: no records\.jsonl/],
    // no budget in common: refused by default and with --budget all, not a header with no table
    ...[[], ["--budget", "all"]].map((flags): [string[], RegExp] => [
      [a, folder(base, `b10${flags.length}`, atBudgets(records("hogwild:2", B), [10, 20])), ...flags],
      /a \(hogwild:2\) has budgets 8, 16 and .*b10\d \(hogwild:2\) 10, 20: none in common, nothing to pair/,
    ]),
    [ // budget 8 in both, but on a problem only one has: no pair there
      [
        a,
        folder(base, "apart", [
          ...atBudgets(records("hogwild:2", [[1]]), [16, 24]),
          record("hogwild:2", "p9", 1, [1]),
        ]),
      ],
      /a \(hogwild:2\) and .*apart \(hogwild:2\) have no \(task, problem, seed\) with a checkpoint at 8 passes on both/,
    ],
    [
      [a, versioned(folder(base, "v2", records("hogwild:2", B)), { hogwild: 2 })],
      /hogwild:2 is version 1 in .*a and 2 in .*v2/,
    ],
    [ // the first pair (hogwild:2) compares; the second (sequential) is refused: no table of the first printed
      [
        a,
        versioned(folder(base, "seq2", [...records("hogwild:2", B), ...records("sequential", A)]), { sequential: 2 }),
      ],
      /sequential is version 1 in .*a and 2 in .*seq2/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runCli("cli/compare.ts", args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "", "nothing printed before the refusal");
  }
});

Deno.test("compare refuses two folders whose problem of one id is another problem (their traces' texts), naming the first", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-texts-"));
  const a = folder(base, "a", records("sc:2", A), undefined, "d1");
  // every problem in turn, and two at once, another problem under the same id, gold and grading (another data file)
  const others = [[1], [2], [3], [4], [5], [6], [2, 5]];
  for (const other of others) {
    const name = `other${other.join("-")}`;
    const b = folder(base, name, records("sc:2", B), (r) => {
      const i = Number(r.problem_id.slice(1));
      return other.includes(i) ? `another problem ${i}` : `the problem ${r.problem_id}`;
    }, "d2");
    const r = await runCli("cli/compare.ts", [a, b]);
    if (other[0] === 6) { // p6 is A's alone: nothing to pair it with
      assert.equal(r.code, 0, r.stderr);
      continue;
    }
    assert.equal(r.code, 2, `${name}: ${r.stdout}`);
    assert.match(
      r.stderr,
      new RegExp(
        `compare: t problem p${other[0]} is another problem in .*${name} \\(sc:2\\) than in .*a \\(sc:2\\) ` +
          `\\(the problem's text differs in traces\\.jsonl\\)`,
      ),
    );
    assert.equal(r.stdout, "", "nothing printed before the refusal");
  }
  // another --limit of the same data (another data hash): its problems are A's, paired
  const fewer = folder(base, "fewer", records("sc:2", B.slice(0, 3)), undefined, "d3");
  const f = await runCli("cli/compare.ts", [a, fewer, "--budget", "8"]);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stdout, /\| t \| 6 \| 3 \|/);
  // the same data hash: the same problems under the same ids, whatever the traces hold (none are read)
  const same = folder(base, "same", records("sc:2", B), () => undefined, "d1");
  const s = await runCli("cli/compare.ts", [a, same, "--budget", "8"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, ROW_8);
  // no text on one side and no data hash that says the same: cannot tell, refused
  for (const [name, data] of [["old", "d2"], ["bare", undefined]] as const) {
    const b = folder(
      base,
      name,
      records("sc:2", B),
      (r) => r.problem_id === "p1" ? undefined : `the problem ${r.problem_id}`,
      data,
    );
    const r = await runCli("cli/compare.ts", [a, b]);
    assert.equal(r.code, 2, `${name}: ${r.stdout}`);
    assert.match(
      r.stderr,
      new RegExp(
        `t problem p1 is another problem .*traces\\.jsonl of .*${name} has no problem text for it, and ` +
          "the folders' run\\.json hold no one data hash: cannot tell",
      ),
    );
  }
});

Deno.test("compare reads a folder whose last line is torn (a bench writing it) without it, and says so", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-torn-"));
  const one = folder(base, "one", [...records("hogwild:2", A), ...records("sequential", B)]);
  appendFileSync(join(one, "records.jsonl"), JSON.stringify(record("sequential", "p9", 1, [1, 1])).slice(0, 40));
  const r = await runCli("cli/compare.ts", [one, "--methods", "hogwild:2,sequential"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, ROW_8, "the torn record left out");
  assert.match(r.stderr, /note: .*one\/records\.jsonl: its last line is not complete .*left out/);
  assert.equal(readFileSync(join(one, "records.jsonl"), "utf8").endsWith("\n"), false, "the file is not cut");
});

Deno.test("summary.md's paired table: each method against sequential at the summary's budgets", () => {
  // sc:2's records finished first: the rows keep the summary table's order (by name), not the records'
  const rs = [...records("sc:2", B), ...records("hogwild:2", A), ...records("sequential", B)];
  const text = comparisonText(rs, [8, 16]);
  assert.match(text, /\| hogwild:2 \|[^]*\| sc:2 \|/);
  assert.match(text, /### t: each method against sequential, paired on problems × seeds/);
  assert.match(
    text,
    /\| hogwild:2 \| \+30\.0 \[−40\.8, \+100\.0\], p 0\.625 \| \+0\.0 \[−67\.9, \+67\.9\], p 1\.000 \|/,
  );
  // a tie on every problem: Wilson's over the five problems, not the point [+0.0, +0.0] (stats_test)
  assert.match(text, /\| sc:2 \| \+0\.0 \[−66\.0, \+66\.0\], p 1\.000 \|/); // 11 pairs: as sure as 10
  assert.doesNotMatch(text, /\| sequential \|/);
  assert.equal(comparisonText(records("hogwild:2", A), [8]), "", "no sequential: no table");
  assert.match(comparisonText(rs, [8], "sc:2"), /against sc:2[^]*\| sequential \| \+0\.0/);
});

Deno.test("a difference that rounds to zero is written +0.0, never −0.0; an exact tie of fractions is 0", () => {
  assert.deepEqual([points(0), points(-1.85e-17), points(-0.0004), points(-0.0006), points(0.0123)], [
    "+0.0",
    "+0.0",
    "+0.0",
    "−0.1",
    "+1.2",
  ]);
  // a half of a tenth rounds away from zero whether the mean came out a hair under it or over it (float noise):
  // −68.75 and −56.25 both round outward, as 68.75 does
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const noisy = [mean([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9]) + 0.6875 - 0.4625, -0.6875 + 1e-16, -0.5625 - 1e-16];
  assert.deepEqual(noisy.map(points), ["+68.8", "−68.8", "−56.3"]);
  assert.deepEqual([points(0.68749), points(-0.0005 + 1e-17)], ["+68.7", "−0.1"]);
  // both means 0.4 / 3, but the differences −0.1, −0.1, +0.2 sum to 2.8e-17 in floating point
  const at = (scores: number[]) => scores.map((score, i) => ({ problem: `p${i}`, seed: 1, score }));
  const d = pairedDiff(at([0, 0.2, 0.2]), at([0.1, 0.3, 0]))!;
  assert.deepEqual([d.diff, d.wins, d.losses], [0, 1, 2]);
});

Deno.test("compare: a method over a code task and another is graded by two graders, one each, and compares", () => {
  const both = [
    record("a", "p1", 1, [1]),
    record("a", "c1", 1, [1], { task: "lcb", grading: "code", grader: "lcb/1" }),
    record("b", "p1", 1, [0]),
    record("b", "c1", 1, [1], { task: "lcb", grading: "code", grader: "lcb/1" }),
  ];
  const one = { sameData: true, a: { dir: "A", texts: new Map() }, b: { dir: "B", texts: new Map() } };
  checkComparable({ method: "a", records: both, name: "A" }, { method: "b", records: both, name: "B" }, one);
  const regraded = both.map((r) => r.method === "b" && r.grading === "code" ? { ...r, grader: "lcb/2" } : r);
  assert.throws(
    () =>
      checkComparable(
        { method: "a", records: regraded, name: "A" },
        { method: "b", records: regraded, name: "B" },
        one,
      ),
    /A was graded by lcb\/1, B by lcb\/2; run A and B again into a new folder with this grader \(code records cannot be rescored\)/,
  );
});

Deno.test("compare: a folder from before keys held the sampling used is read by its run.json's sampling, as a resume reads it", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-old-sampling-"));
  for (const [i, { name, run, key, sampling, same }] of samplingPairs().entries()) {
    const [a, b] = [folder(base, `${i}a`, records("hogwild:2", A)), folder(base, `${i}b`, records("hogwild:2", B))];
    writeFileSync(join(a, "run.json"), JSON.stringify(run));
    writeFileSync(join(b, "run.json"), JSON.stringify({ spec: key, sampling }));
    const r = await runCli("cli/compare.ts", [a, b]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.startsWith("Settings that differ"));
    assert.equal(line === undefined, same, `${name}: ${line}`);
    if (line) {
      assert.match(line, /sampling_used: A \{"temperature":0(\.6)?[,}].*, B \{"temperature":0(\.[67])?[,}]/, name);
    }
  }
});

Deno.test("compare: two folders whose keys differ in a setting (temperature, model, a prompt) name each above the tables", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-settings-"));
  const keyed = (dir: string, spec: Record<string, unknown>) => {
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec }));
    return dir;
  };
  const common = { methods: ["hogwild:2"], seeds: [0], budgets: [8, 16], model: "m", "prompt collab": "aa" };
  const a = keyed(folder(base, "a", records("hogwild:2", A)), { ...common, sampling: { temperature: 0.6 } });
  const b = keyed(folder(base, "b", atBudgets(records("hogwild:2", B), [8, 24])), {
    ...common,
    seeds: [0, 1], // the grid compared across: not a setting
    budgets: [8, 24],
    model: "other",
    "prompt collab": "bb",
  });
  const r = await runCli("cli/compare.ts", [a, b]);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split("\n").find((l) => l.startsWith("Settings that differ"));
  assert.ok(line, r.stdout);
  for (const f of ['model: A "m", B "other"', 'prompt collab: A "aa", B "bb"', "sampling (the flags as given): A {"]) {
    assert.ok(line.includes(f), `${f} in ${line}`);
  }
  assert.ok(line.includes('sampling (the flags as given): A {"temperature":0.6}, B no sampling flag'), line);
  assert.doesNotMatch(line, /seeds|budgets|methods/);
  assert.ok(r.stdout.indexOf("Settings that differ") < r.stdout.indexOf("## 8 passes"), r.stdout);
  assert.match(r.stdout, ROW_8, "the numbers are the same");
  // the same settings: no line
  const same = await runCli("cli/compare.ts", [
    a,
    keyed(folder(base, "c", records("hogwild:2", B)), { ...common, sampling: { temperature: 0.6 } }),
  ]);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stdout, /Settings that differ/);
  // keys holding the sampling used: --temperature 0 on a greedy model is no setting that differs
  const greedy = (name: string, flags: Record<string, unknown>) =>
    keyed(folder(base, name, records("hogwild:2", B)), { ...common, ...flags, sampling_used: { temperature: 0 } });
  const zero = await runCli("cli/compare.ts", [greedy("d", {}), greedy("e", { sampling: { temperature: 0 } })]);
  assert.equal(zero.code, 0, zero.stderr);
  assert.doesNotMatch(zero.stdout, /Settings that differ/);
});

Deno.test("compare: two folders whose grids end at different budgets say so where a method's runs depend on the grid's end (groupthink), not otherwise", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-grid-end-"));
  const keyed = (dir: string, methods: string[], budgets: number[]) => {
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: { methods, seeds: [0], budgets } }));
    return dir;
  };
  const line = (out: string) => out.split("\n").find((l) => l.startsWith("Largest budget differs"));
  // Group Think at 8 and 16 passes against Group Think at 8 and 24: its slots are 16 and 24 tokens long
  const a = keyed(folder(base, "a", records("groupthink:4", A)), ["groupthink:4"], [8, 16]);
  const b = keyed(folder(base, "b", atBudgets(records("groupthink:4", B), [8, 24])), ["groupthink:4"], [8, 24]);
  const r = await runCli("cli/compare.ts", [a, b]);
  assert.equal(r.code, 0, r.stderr);
  const said = line(r.stdout);
  assert.ok(said, r.stdout);
  assert.match(
    said,
    /^Largest budget differs: A 16, B 24 passes, and the runs of groupthink:4 depend on it \(each thinker's slot is the grid's largest budget long/,
  );
  assert.ok(r.stdout.indexOf("Largest budget differs") < r.stdout.indexOf("## 8 passes"), r.stdout);
  assert.match(r.stdout, ROW_8, "the numbers are the same");
  // one side's method depending on it is enough: its checkpoints at 8 are another grid's
  const c = keyed(folder(base, "c", atBudgets(records("sequential", B), [8, 24])), ["sequential"], [8, 24]);
  const mixed = await runCli("cli/compare.ts", [a, c, "--methods", "groupthink:4,sequential"]);
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.match(line(mixed.stdout) ?? "", /A 16, B 24 passes, and the runs of groupthink:4 depend on it/);
  // a method whose checkpoints do not depend on later budgets: no line, as before
  const d = keyed(folder(base, "d", records("hogwild:2", A)), ["hogwild:2"], [8, 16]);
  const e = keyed(folder(base, "e", atBudgets(records("hogwild:2", B), [8, 24])), ["hogwild:2"], [8, 24]);
  const plain = await runCli("cli/compare.ts", [d, e]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(line(plain.stdout), undefined, plain.stdout);
  // the same end: nothing to say
  const f = keyed(folder(base, "f", records("groupthink:4", B)), ["groupthink:4"], [8, 16]);
  const same = await runCli("cli/compare.ts", [a, f]);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(line(same.stdout), undefined, same.stdout);
});

Deno.test("compare --fail-if-worse: exit 1 naming each task and budget where A is below B by more than the points given, or where A is unfinished or lacks what B has; 0 where none is", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-gate-"));
  const a = folder(base, "a", records("hogwild:2", A));
  // p1 wrong at 8 passes on both seeds: 100 points below on one problem of six, 16.7 on the mean (50% to 66.7%)
  const worse = folder(base, "worse", records("hogwild:2", [[0, 0], ...A.slice(1)]));
  const below = await runCli("cli/compare.ts", [worse, a, "--fail-if-worse", "16.6"]);
  assert.equal(below.code, 1, below.stderr);
  assert.match(
    below.stderr,
    /^compare: .*worse \(hogwild:2\) is 16\.7 points below .*a \(hogwild:2\) on t at 8 passes \(50\.0% against 66\.7% over 12 pairs; 95% interval of A − B \[.*\]\)\ncompare: the gate fails \(--fail-if-worse 16\.6, at 8, 16 passes: every budget both sides share\): exit 1\n$/,
  );
  assert.match(below.stdout, /## 8 passes/, "the tables printed first");
  for (
    const [args, drop] of [[[worse, a, "--fail-if-worse", "16.7"], "16.7"], [[a, worse, "--fail-if-worse", "0"], "0"]]
  ) {
    const r = await runCli("cli/compare.ts", args as string[]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `compare: no drop of more than ${drop} points (--fail-if-worse, at 8, 16 passes: every budget both sides share)`,
    );
  }
  // what the pairs alone would not show: a problem lost, a method lost, a run unfinished
  const partial = folder(base, "partial", records("hogwild:2", A.slice(0, 5)));
  const both = folder(base, "both", [...records("hogwild:2", A), ...records("sequential", A)]);
  const unfinished = folder(base, "unfinished", records("hogwild:2", A));
  const planned = [...records("hogwild:2", A).map(recordKey), ["t", "p7", "hogwild:2", 1].join("\t")];
  writeFileSync(join(unfinished, "run.json"), JSON.stringify({ planned }));
  for (
    const [args, said] of [
      [
        [partial, a],
        /partial \(hogwild:2\) lacks 4 of the checkpoints .*a \(hogwild:2\) has at the budgets checked, e\.g\. t \/ p6 \/ 1 \/ 8 passes/,
      ],
      [[a, both], /a has no records of .*both's method sequential/],
      [[unfinished, a], /unfinished is unfinished \(12 of 13 planned records\)/],
    ] as const
  ) {
    const r = await runCli("cli/compare.ts", [...args, "--fail-if-worse", "100"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, said);
  }
  // a run that collapsed at its last budget: the tables show the summary's budgets (the paper's 2048 and the last),
  // the gate checks every budget both share (1000 too), or those --budget names, and says which
  const at = (last: number) =>
    atBudgets(Array.from({ length: 6 }, (_, i) => record("hogwild:2", `p${i + 1}`, 1, [last, 1, last])), [
      1000,
      2048,
      5000,
    ]);
  const [old, collapsed] = [folder(base, "old", at(1)), folder(base, "collapsed", at(0))];
  const gate = await runCli("cli/compare.ts", [collapsed, old, "--fail-if-worse", "0"]);
  assert.equal(gate.code, 1, gate.stderr);
  assert.match(gate.stderr, /collapsed \(hogwild:2\) is 100\.0 points below .* on t at 1000 passes/);
  assert.match(gate.stderr, /collapsed \(hogwild:2\) is 100\.0 points below .* on t at 5000 passes/);
  assert.match(
    gate.stderr,
    /the gate fails \(--fail-if-worse 0, at 1000, 2048, 5000 passes: every budget both sides share\): exit 1\n$/,
  );
  assert.match(gate.stdout, /## 2048 passes[^]*## 5000 passes/);
  assert.doesNotMatch(gate.stdout, /## 1000 passes/, "the tables: the summary's budgets");
  const named = await runCli("cli/compare.ts", [collapsed, old, "--fail-if-worse", "0", "--budget", "2048"]);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(
    named.stderr.trim(),
    "compare: no drop of more than 0 points (--fail-if-worse, at 2048 passes: the budgets --budget names)",
  );
  for (const bad of ["-1", "x", "1e2"]) {
    const r = await runCli("cli/compare.ts", [a, worse, "--fail-if-worse", bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --fail-if-worse: expected a number ≥ 0 in decimal digits/);
  }
});

Deno.test("compare says above its tables where a side's answers were not graded (counted wrong), and the gate where a drop rests on them", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-ungraded-"));
  // the review's case: a right on six problems; b wrong on three, each of them an answer the grader timed out on
  const rs = [
    ...Array.from({ length: 6 }, (_, i) => record("a", `p${i + 1}`, 1, [1])),
    ...Array.from({ length: 6 }, (_, i) => {
      const r = record("b", `p${i + 1}`, 1, [i % 2]);
      return i % 2 ? r : { ...r, checkpoints: [{ ...r.checkpoints[0], answer: "4", timed_out: true }] };
    }),
  ];
  const dir = folder(base, "to", rs);
  const r = await runCli("cli/compare.ts", [dir, "--methods", "b,a", "--fail-if-worse", "0"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stdout,
    /Not graded \(each counted wrong\): A: 3 checkpoints' answers timed out in the grader .*; B: none\.[^]*## 8 passes/,
  );
  assert.match(
    r.stderr,
    /b\) is 50\.0 points below .* at 8 passes \(.*\); 3 of A's answers there were not graded \(timed out or failed in the grader\), each counted wrong/,
  );
  // sides the grader graded whole: no line
  const graded = folder(
    base,
    "graded",
    rs.map((x) => ({ ...x, checkpoints: [{ ...x.checkpoints[0], timed_out: undefined }] })),
  );
  const clean = await runCli("cli/compare.ts", [graded, "--methods", "b,a", "--fail-if-worse", "0"]);
  assert.equal(clean.code, 1, clean.stderr);
  assert.doesNotMatch(clean.stdout + clean.stderr, /not graded/i);
});

Deno.test("a p-value is never rounded across 0.05 or 0.01: more digits there; elsewhere three", () => {
  assert.deepEqual(
    [0.049953, 0.0499, 0.05, 0.050004, 0.0099951, 0.00996, 0.01, 0.0104, 0.625, 0.25000000000000006, 0.0009, 1].map(
      pValue,
    ),
    [
      "0.04995",
      "0.0499",
      "0.050",
      "0.050",
      "0.009995",
      "0.00996",
      "0.010",
      "0.010",
      "0.625",
      "0.250",
      "<0.001",
      "1.000",
    ],
  );
  // generated: the printed value is on the side of each threshold the p-value is on
  let seed = 9;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) {
    const t = rand() < 0.5 ? 0.05 : 0.01, p = t + (rand() - 0.5) * 1e-4 * 10 ** -Math.floor(rand() * 4);
    const shown = pValue(p);
    assert.equal(Number(shown) < t, p < t, `${p} printed ${shown}`);
  }
});

Deno.test("largestBudget reads any number of checkpoints (a spread into Math.max overflowed past ~130k: LIMO × 10 seeds × 16 budgets)", () => {
  const checkpoints = Array.from({ length: 300_000 }, (_, i) => ({ budget: (i * 7919) % 100_003 }));
  const record = { checkpoints } as unknown as BenchRecord;
  assert.equal(largestBudget([record]), 100_002);
  assert.equal(largestBudget([]), -Infinity);
});
