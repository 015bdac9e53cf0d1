/** harness/report/report.ts: the summary's words on a folder's invocations, a merged folder's and a killed one's. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";
import { report } from "../../../harness/report/report.ts";
import { summaryBudgets } from "../../../harness/report/curves.ts";
import { verdictsText } from "../../../harness/report/verdicts.ts";
import type { RecordCheckpoint } from "../../../harness/bench/rundir.ts";
import { fakeCheckpoint, fakeInvocation, fakeRecord } from "../../helpers.ts";

Deno.test("report: a merged folder's shards' invocations count; a folder whose invocations miss records says so", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "4"])!;
  const records = [0, 1, 2, 3].map((i) =>
    fakeRecord({ method: "sequential", problem_id: `p${i}` }, [fakeCheckpoint(8, true)])
  );
  const summary = async (meta: Record<string, unknown>) => {
    const out = mkdtempSync(join(tmpdir(), "hogwild-report-"));
    await report(out, spec, records, meta);
    return readFileSync(join(out, "summary.md"), "utf8");
  };
  // merged (or a merged folder rescored): the invocations are the shards'
  assert.match(
    await summary({ shards: [{ invocations: [fakeInvocation(2, 3)] }, { invocations: [fakeInvocation(2, 2)] }] }),
    /up to 3 runs shared a pass/,
  );
  assert.match(await summary({ invocations: [fakeInvocation(4, 2)] }), /up to 2 runs shared a pass/);
  assert.match(
    await summary({ invocations: [fakeInvocation(1, 2)] }),
    /invocations that wrote 3 of the records were killed/,
  );
});

Deno.test("report: an unfinished run of two seeds shows avg@k in the summary, the passes-to table and the plot alike, and its plot says it is unfinished", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "2", "--seeds", "1,2"])!;
  // p1 right under both seeds, p2 wrong under seed 1 and not run under seed 2: pooled 2/3, avg@k (1 + 0) / 2
  const records = [["p1", 1, true], ["p1", 2, true], ["p2", 1, false]].map(([problem_id, seed, right]) =>
    fakeRecord({ method: "sequential", problem_id: problem_id as string, seed: seed as number }, [
      fakeCheckpoint(8, right as boolean),
    ])
  );
  const out = mkdtempSync(join(tmpdir(), "hogwild-report-unfinished-"));
  await report(out, spec, records, { planned: ["a", "b", "c", "d"] });
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(summary, /\*\*An unfinished run: 3 of 4 planned records\.\*\*/);
  assert.match(summary, /\| sequential \| 50\.0% ± 50\.0 \(n=3,/, "the summary's cell");
  // the cell's statistic in the words of how it is computed: per problem over its seeds, then over problems
  assert.match(
    summary,
    /Cells: avg@1, per problem the mean score over its seeds, then the mean over the problems \(with every problem at every seed, the seeds' accuracies averaged\); k is the fewest seeds a problem of the cell has, below the run's 2 where it is unfinished,/,
  );
  assert.doesNotMatch(summary, /the accuracy over the problems of each seed/, "(1/2 + 1/1)/2 = 75%, not the 50% shown");
  assert.match(summary, /\| sequential \| 50\.0% \| 8 \| — \| — \| 8 \| 1\.00× \|/, "the passes-to table's final");
  const svg = readFileSync(join(out, "accuracy_vs_steps.svg"), "utf8");
  assert.match(svg, /Lines: avg@k/);
  assert.match(svg, /unfinished: 3 of 4 planned records/);
});

Deno.test("report: the writers' sampling in the summary; methods whose paths are one text when greedy said aloud", async () => {
  const spec = parseBenchSpec(["--methods", "sequential,sc:2,leap:2,hogwild:2", "--budgets", "8", "--count", "1"])!;
  const records = [fakeRecord({ method: "sequential", problem_id: "p0" }, [fakeCheckpoint(8, true)])];
  const summary = async (meta: Record<string, unknown>) => {
    const out = mkdtempSync(join(tmpdir(), "hogwild-report-sampling-"));
    await report(out, spec, records, meta);
    return readFileSync(join(out, "summary.md"), "utf8");
  };
  const greedy = await summary({ sampling: { temperature: 0, topK: 0, topP: 1, minP: 0 } });
  assert.match(greedy, /The writers decode greedily \(temperature 0\)\. \*\*sc:2, leap:2 run with greedy decoding/);
  assert.doesNotMatch(greedy, /hogwild:2 ran|sequential ran/, "their workers differ by name, or there is one");
  const sampled = await summary({ sampling: { temperature: 0.6, topK: 20, topP: 0.95, minP: 0 } });
  assert.match(sampled, /The writers sample at temperature 0\.6, top-k 20, top-p 0\.95, min-p 0/);
  assert.doesNotMatch(sampled, /greedy decoding/);
  assert.doesNotMatch(await summary({}), /The writers/, "a folder from before run.json kept it: nothing said");
  // the generation_config's settings transformers would have applied and the writers did not: said after it
  const departing = await summary({
    sampling: { temperature: 0.7, topK: 20, topP: 0.8, minP: 0, unapplied: { repetition_penalty: 1.05, top_h: 0.5 } },
  });
  assert.match(
    departing,
    /min-p 0 \(the flags given, the rest the model's generation_config\.json\)\. \*\*The model's generation_config\.json also sets repetition_penalty 1\.05 and top_h 0\.5, which transformers applies and this engine does not \(decoded without them\)\.\*\*\n/,
  );
  const greedyDeparting = await summary({
    sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, unapplied: { suppress_tokens: [5, 6] } },
  });
  assert.match(
    greedyDeparting,
    /greedy decoding[^\n]*\*\* \*\*The model's generation_config\.json also sets suppress_tokens \[5,6\], which transformers applies and this engine does not \(decoded without it\)\.\*\*\n/,
  );
  // none, or a folder from before they were kept: the sentence as it was
  for (const unapplied of [{}, undefined]) {
    assert.doesNotMatch(
      await summary({ sampling: { temperature: 0.6, topK: 20, topP: 0.95, minP: 0, unapplied } }),
      /also sets/,
    );
  }
});

Deno.test("report: answers the grader did not grade (timed out, failed, paths) are counted in the summary, before any figure", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "3"])!;
  const records = [
    { timed_out: true },
    { grader_error: "the grading worker died: out of memory" },
    { paths_grader_errors: 2 },
  ].map((over, i) => fakeRecord({ method: "sequential", problem_id: `p${i}` }, [fakeCheckpoint(8, false, over)]));
  let out = "";
  const summary = async (records: Parameters<typeof report>[2]) => {
    out = mkdtempSync(join(tmpdir(), "hogwild-report-failures-"));
    await report(out, spec, records);
    return readFileSync(join(out, "summary.md"), "utf8");
  };
  const said = await summary(records);
  // the figures too: a chart is taken without the summary
  for (const chart of ["accuracy_vs_steps.svg", "accuracy_vs_time.svg"]) {
    assert.match(readFileSync(join(out, chart), "utf8"), /not graded, counted wrong: 2 answers, 2 paths' answers/);
  }
  assert.match(
    said,
    /\*\*Not graded: 1 checkpoints' answers timed out in the grader \(10 s, wall-clock, tried twice\), 1 the grader failed on, and 2 paths' answers either way: each counted wrong\.\*\*/,
  );
  assert.ok(said.indexOf("Not graded") < said.indexOf("| method"), "before the table");
  assert.doesNotMatch(
    await summary([fakeRecord({ method: "sequential", problem_id: "p" }, [fakeCheckpoint(8, true)])]),
    /Not graded/,
  );
});

Deno.test("report: what the loader said of the data (run.json data_notes) stands under the heading", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "1"])!;
  const records = [fakeRecord({ method: "sequential", problem_id: "p0" }, [fakeCheckpoint(8, true)])];
  const out = mkdtempSync(join(tmpdir(), "hogwild-report-notes-"));
  const note = "limo: /d/limo.jsonl: 3 records, task limo has 817: these results are not limo's whole set";
  await report(out, spec, records, { data_notes: [note] });
  const lines = readFileSync(join(out, "summary.md"), "utf8").split("\n");
  assert.deepEqual(lines.slice(1, 5), ["", "**What the loader said of the data:**", "", `- ${note}`]);
  await report(out, spec, records, { data_notes: [] });
  assert.doesNotMatch(readFileSync(join(out, "summary.md"), "utf8"), /loader said/);
});

Deno.test("report: summary.md says which transcript the finisher read (the two modes score apart)", async () => {
  const records = [fakeRecord({ method: "sequential", problem_id: "p0" }, [fakeCheckpoint(8, true)])];
  for (
    const [flags, said] of [[[], /its transcript the writers' ids/], [
      ["--finisher-input", "text"],
      /--finisher-input text/,
    ]] as const
  ) {
    const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "1", ...flags])!;
    const out = mkdtempSync(join(tmpdir(), "hogwild-report-finisher-"));
    await report(out, spec, records);
    assert.match(readFileSync(join(out, "summary.md"), "utf8"), said);
  }
});

Deno.test("report: a folder whose cost model its bench doubted says so in the solo-time chart, not in the passes chart; a sound one, nothing", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "1"])!;
  const records = [fakeRecord({ method: "sequential", problem_id: "p0" }, [fakeCheckpoint(8, true)])];
  const cost = (median: number) => ({
    coef: [1, 0, 0, 0, 0, 0],
    fit: { passes: 40, shapes: 40, median_rel_error: median, p90_rel_error: median },
  });
  const off = { ...fakeInvocation(1, 1), cost_error: { median: 0.7, p90: 0.9 } };
  for (
    const [meta, doubted] of [
      [{ cost_model: cost(0.05), invocations: [fakeInvocation(1, 1)] }, false],
      [{ cost_model: cost(0.4), invocations: [fakeInvocation(1, 1)] }, true],
      [{ cost_model: cost(0.05), invocations: [fakeInvocation(1, 1), off] }, true],
      [{ shards: [{ dir: "a", cost_model: cost(0.05), invocations: [off] }] }, true],
    ] as const
  ) {
    const out = mkdtempSync(join(tmpdir(), "hogwild-report-doubt-"));
    await report(out, spec, records, meta);
    const time = readFileSync(join(out, "accuracy_vs_time.svg"), "utf8");
    assert.equal(/the solo times are not reliable/.test(time), doubted, JSON.stringify(meta));
    assert.doesNotMatch(readFileSync(join(out, "accuracy_vs_steps.svg"), "utf8"), /not reliable/);
    assert.equal(/\*\*Warning/.test(readFileSync(join(out, "summary.md"), "utf8")), doubted, JSON.stringify(meta));
  }
});

Deno.test("report: what a report killed mid-write left beside its files goes; another file's temporaries stay", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "1"])!;
  const out = mkdtempSync(join(tmpdir(), "hogwild-report-temps-"));
  const left = ["summary.md.41-2-x9.tmp", "curves.csv.41-1-a.tmp", "accuracy_vs_time.png.41-7-b.tmp"];
  const kept = ["records.jsonl.41-3-c.tmp", "notes.md.41-4-d.tmp"];
  for (const f of [...left, ...kept]) writeFileSync(join(out, f), "torn");
  await report(out, spec, [fakeRecord({ method: "sequential", problem_id: "p0" }, [fakeCheckpoint(8, true)])]);
  const names = readdirSync(out);
  for (const f of left) assert.ok(!names.includes(f), f);
  for (const f of kept) assert.ok(names.includes(f), f);
  assert.ok(names.includes("summary.md") && names.includes("accuracy_vs_time.png"));
});

Deno.test("report: the summary's tables show the run's last budget besides the paper's: a collapse there is not hidden", async () => {
  // budgets 1000, 2048, 5000: the paper's 2048 alone was shown, and hogwild:2 wrong on every problem at 5000 unseen
  const spec = parseBenchSpec(["--methods", "sequential,hogwild:2", "--budgets", "1000,2048,5000", "--count", "4"])!;
  const records = [0, 1, 2, 3].flatMap((i) => [
    fakeRecord({ method: "sequential", problem_id: `p${i}` }, [
      fakeCheckpoint(1000, false),
      fakeCheckpoint(2048, true),
      fakeCheckpoint(5000, true),
    ]),
    fakeRecord({ method: "hogwild:2", problem_id: `p${i}` }, [
      fakeCheckpoint(1000, false),
      fakeCheckpoint(2048, true),
      fakeCheckpoint(5000, false),
    ]),
  ]);
  const out = mkdtempSync(join(tmpdir(), "hogwild-report-budgets-"));
  await report(out, spec, records, {});
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(
    summary,
    /\| method \| 2048 passes \| 5000 passes \|\n\|---\|---:\|---:\|\n\| hogwild:2 \| 100\.0% .*\| 0\.0% /,
  );
  assert.match(summary, /\| hogwild:2 \| \+0\.0 .*\| −100\.0 /, "the paired table at 5000 too");
  assert.deepEqual(summaryBudgets([1000, 2048, 5000]), [2048, 5000]);
  assert.deepEqual(summaryBudgets([2048, 4096]), [2048, 4096], "the last is a paper's: once");
  assert.deepEqual(summaryBudgets([8, 16, 24]), [8, 16, 24], "no paper's budget: the run's own, its last among them");
});

Deno.test("summary.md's code verdicts: a record whose last checkpoint has no verdict counts in its own column, so the columns add up to the records", () => {
  const code = (problem_id: string, over: Partial<RecordCheckpoint>) =>
    fakeRecord({ method: "sequential", problem_id, task: "lcb", grading: "code" }, [fakeCheckpoint(8, false, over)]);
  const records = [
    code("p1", { verdict: "passed", score_strict: 1 }),
    code("p2", { verdict: "wrong_answer" }),
    code("p3", { grader_error: "the sandbox died" }), // no verdict
  ];
  const text = verdictsText(records);
  assert.match(text, /\| method \| records \| passed \| wrong_answer \| .* \| syntax_error \| no verdict \|/);
  assert.match(text, /\| sequential \| 3 \| 1 \| 1 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 1 \|/);
  // every record with a verdict: no such column
  assert.doesNotMatch(verdictsText(records.slice(0, 2)), /no verdict/);
});
