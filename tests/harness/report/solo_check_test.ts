/** cli/solo_check.ts: the cost model's solo times against the same runs' wall time alone, on generated records. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disagreeing, soloCheck, specDifference } from "../../../harness/report/solo_check.ts";
import type { BenchRecord } from "../../../harness/bench/rundir.ts";
import { fakeCheckpoint, fakeInvocation, fakeRecord, runCli, samplingPairs } from "../../helpers.ts";

function record(problem: string, method: string, cps: [number, number, number, number][]): BenchRecord {
  // [budget, finisher passes, solo ms, shared ms]
  const checkpoints = cps.map(([budget, finisher, solo, shared]) =>
    fakeCheckpoint(budget, false, { answer: null, solo_ms: solo, shared_ms: shared, finisher_passes: finisher })
  );
  return fakeRecord({ problem_id: problem, method, golds: ["1"], steps: 0 }, checkpoints);
}

Deno.test("soloCheck: every checkpoint both runs reached by the same passes, its error against the time alone", () => {
  // Random errors, known: the median and 90th percentile must come out of them, whatever the order.
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const shared: BenchRecord[] = [], alone: BenchRecord[] = [], errors: number[] = [];
  for (let i = 0; i < 40; i++) {
    const e = (rand() - 0.5) * 0.4, ms = 100 + 1000 * rand();
    errors.push(Math.abs(e));
    shared.push(record(`p${i}`, "sequential", [[64, 4, ms * (1 + e), 5 * ms]]));
    alone.push(record(`p${i}`, "sequential", [[64, 4, ms * 0.9, ms]]));
  }
  // Not compared: a run only one folder has, a checkpoint only one has, and one reached by other passes.
  shared.push(record("only-shared", "sequential", [[64, 4, 1, 1]]));
  shared[0].checkpoints.push({ ...shared[0].checkpoints[0], budget: 128, passes: 128 });
  shared[1].checkpoints.push({ ...shared[1].checkpoints[0], budget: 96, passes: 96, finisher_passes: 4 });
  alone[1].checkpoints.push({ ...alone[1].checkpoints[0], budget: 96, passes: 96, finisher_passes: 9 });
  // A run that stopped at pass 64 repeats that checkpoint at budgets 96 and 128: one time, counted once.
  for (const budget of [96, 128]) {
    shared[2].checkpoints.push({ ...shared[2].checkpoints[0], budget });
    alone[2].checkpoints.push({ ...alone[2].checkpoints[0], budget });
  }
  const side = (dir: string, records: BenchRecord[]) => ({ dir, records, texts: new Map<string, string>() });
  const r = soloCheck(side("s", shared), side("a", alone), true);
  assert.equal(r.rows.length, 40);
  errors.sort((a, b) => a - b);
  // 40 errors: the median is the mean of the two middle ones (the 20th and 21st), not the upper one alone
  const mid = (xs: number[]) => (xs[19] + xs[20]) / 2;
  assert.ok(Math.abs(r.median - mid(errors)) < 1e-12, `median ${r.median} vs ${mid(errors)}`);
  assert.ok(Math.abs(r.p90 - errors[36]) < 1e-9);
  const signed = r.rows.map((x) => x.error).sort((a, b) => a - b);
  assert.ok(Math.abs(r.signed - mid(signed)) < 1e-12);
  assert.ok(r.signed !== r.median, "signed, not |error|");
  for (const row of r.rows) assert.ok(Math.abs(row.error) <= 0.2 + 1e-9);
  assert.deepEqual(soloCheck(side("s", shared), side("a", []), true).rows, []);
  // the review's case: two checkpoints off by −30% and +10%: the median signed error is −10%, |error|'s 20%
  const two = soloCheck(
    side("s", [record("p", "sequential", [[64, 4, 70, 700]]), record("q", "sequential", [[64, 4, 110, 700]])]),
    side("a", [record("p", "sequential", [[64, 4, 1, 100]]), record("q", "sequential", [[64, 4, 1, 100]])]),
    true,
  );
  assert.ok(Math.abs(two.signed + 0.1) < 1e-12 && Math.abs(two.median - 0.2) < 1e-12, JSON.stringify(two));
});

Deno.test("soloCheck: each method's signed error over its runs, with its doubt, where the pooled median hides them", () => {
  // hogwild:4's solo times 20% short, sequential's 10% long, sc:4's right: the pooled median signed error is near
  // 0, as if the axis flattered no method, while it moves hogwild:4 against the others
  const shared: BenchRecord[] = [], alone: BenchRecord[] = [];
  const bias: Record<string, number> = { "hogwild:4": -0.2, sequential: 0.1, "sc:4": 0 };
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const runs: Record<string, number[]> = {};
  for (const [method, b] of Object.entries(bias)) {
    for (let i = 0; i < (method === "sc:4" ? 5 : 12); i++) {
      // three checkpoints a run, each its own error near the run's
      const e = [0, 1, 2].map(() => b + (rand() - 0.5) * 0.06), ms = 100 + 1000 * rand();
      (runs[method] ??= []).push([...e].sort((x, y) => x - y)[1]);
      shared.push(record(`p${i}`, method, e.map((x, k) => [64 * (k + 1), 4, ms * (k + 1) * (1 + x), 1])));
      alone.push(record(`p${i}`, method, e.map((_, k) => [64 * (k + 1), 4, 1, ms * (k + 1)])));
    }
  }
  const side = (dir: string, records: BenchRecord[]) => ({ dir, records, texts: new Map<string, string>() });
  const r = soloCheck(side("s", shared), side("a", alone), true);
  assert.ok(Math.abs(r.signed) < 0.1, `pooled ${r.signed}`);
  assert.deepEqual(r.methods.map((m) => [m.method, m.runs, m.checkpoints]), [
    ["hogwild:4", 12, 36],
    ["sequential", 12, 36],
    ["sc:4", 5, 15],
  ]);
  for (const m of r.methods) {
    const perRun = runs[m.method].sort((a, b) => a - b), n = perRun.length;
    const mid = n % 2 ? perRun[(n - 1) / 2] : (perRun[n / 2 - 1] + perRun[n / 2]) / 2;
    assert.ok(Math.abs(m.signed - mid) < 1e-9, `${m.method}: ${m.signed} vs ${mid}`);
    assert.ok(Math.abs(m.signed - bias[m.method]) < 0.03);
    // 12 runs: the 3rd smallest and 3rd largest of their medians (P(Bin(12, ½) ≤ 2) = 1.9%); 5 runs: none
    const want = n >= 6 ? [perRun[2], perRun[n - 3]] : undefined;
    assert.equal(m.interval === undefined, want === undefined, m.method);
    m.interval?.forEach((x, i) => assert.ok(Math.abs(x - want![i]) < 1e-9, `${m.method}: ${m.interval} vs ${want}`));
  }
  assert.deepEqual(disagreeing(r.methods).map(([a, b]) => [a.method, b.method]), [["hogwild:4", "sequential"]]);
});

Deno.test("deno task solo-check: a table and the median; a folder not run alone, or not the same runs, is refused by name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-solo-"));
  const key = {
    model: "m",
    sampling: { temperature: 0 },
    methods: ["hogwild:2", "sequential"],
    grader: "g/4",
    data: "d",
  };
  const write = (
    name: string,
    concurrency: number,
    recs: BenchRecord[],
    spec: Record<string, unknown> = key,
    machine = { cpu: "AMD EPYC", gpu: "NVIDIA H100" },
  ) => {
    const d = join(dir, name);
    Deno.mkdirSync(d);
    writeFileSync(join(d, "records.jsonl"), recs.map((r) => JSON.stringify(r) + "\n").join(""));
    writeFileSync(
      join(d, "run.json"),
      JSON.stringify({
        spec,
        spec_full: { concurrency },
        machine,
        invocations: [fakeInvocation(recs.length, concurrency)],
      }),
    );
    return d;
  };
  const shared = write("shared", 8, [record("p", "hogwild:2", [[512, 8, 1100, 3000]])]);
  // alone may make fewer of the runs (here one method of two)
  const alone = write("alone", 1, [record("p", "hogwild:2", [[512, 8, 990, 1000]])], {
    ...key,
    methods: ["hogwild:2"],
  });
  const ok = await runCli("cli/solo_check.ts", [shared, alone]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\| p hogwild:2 1 \| 512 \| 1100 \| 1000 \| 10\.0% \|/);
  assert.match(ok.stdout, /1 checkpoints: median \|error\| 10\.0%.*median signed error \+10\.0%/);
  // and by method: one run has no interval
  assert.match(ok.stdout, /\| hogwild:2 \| 1 \| 1 \| \+10\.0% \| none \(under 6 runs\) \| 10\.0% \| 10\.0% \|/);
  // six runs of each method, hogwild:2's solo times 20% short and sequential's 10% long: named, pooled or not
  const runs = (method: string, e: number, k: number) =>
    Array.from({ length: 6 }, (_, i) => record(`q${i}`, method, [[512, 8, (1000 + i) * (1 + e + i / 1000), k]]));
  const apart = await runCli("cli/solo_check.ts", [
    write("shared6", 8, [...runs("hogwild:2", -0.2, 3000), ...runs("sequential", 0.1, 3000)]),
    write("alone6", 1, [
      ...runs("hogwild:2", 0, 0).map((r, i) => ({ ...r, checkpoints: [{ ...r.checkpoints[0], shared_ms: 1000 + i }] })),
      ...runs("sequential", 0, 0).map((r, i) => ({
        ...r,
        checkpoints: [{ ...r.checkpoints[0], shared_ms: 1000 + i }],
      })),
    ]),
  ]);
  assert.equal(apart.code, 0, apart.stderr);
  assert.match(apart.stdout, /\| hogwild:2 \| 6 \| 6 \| -19\.7% \| -20\.0% to -19\.5% \|/);
  assert.match(
    apart.stdout,
    /hogwild:2's solo times are shorter against its time alone than sequential's \(-19\.7% against \+10\.3%, the 95% intervals apart\): the time axis favours hogwild:2 over sequential by about 30\.0 points/,
  );
  // another machine's times say nothing of this one's cost model
  const h200 = write("h200", 1, [record("p", "hogwild:2", [[512, 8, 990, 1000]])], key, {
    cpu: "AMD EPYC",
    gpu: "NVIDIA H200",
  });
  const elsewhere = await runCli("cli/solo_check.ts", [shared, h200]);
  assert.equal(elsewhere.code, 2);
  assert.match(elsewhere.stderr, /shared ran on NVIDIA H100 and .*h200 on NVIDIA H200/);
  const bad = await runCli("cli/solo_check.ts", [alone, shared]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /shared: its invocation 1 \(started [^)]*\) wrote 1 records with up to 8 runs sharing a pass/,
  );
  // another temperature makes other runs: their times say nothing of the cost model
  const hot = write("hot", 1, [record("p", "hogwild:2", [[512, 8, 990, 1000]])], {
    ...key,
    sampling: { temperature: 0.9 },
  });
  const other = await runCli("cli/solo_check.ts", [shared, hot]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /not the same runs \(sampling: \{"temperature":0\} vs \{"temperature":0\.9\}\)/);
});

Deno.test("specDifference: a setting only one key has differs, a family both ran must be of one version", () => {
  const key = { model: "m", methods: ["sc:2", "hogwild:2"], "prompt sot": "a" };
  const { "prompt sot": _sot, ...noSot } = key;
  assert.equal(specDifference(key, { ...noSot, methods: ["sc:2"] }), undefined);
  assert.equal(specDifference(key, { ...key, "prompt leap": "b" }), undefined, "texts of a family one side ran");
  // solo times of a model blind to the blocks a pass reads (a folder of timing 2) are not checked against today's
  assert.equal(specDifference({ ...key, timing: 2 }, { ...key, timing: 3 }), "timing: 2 vs 3");
  assert.equal(specDifference(key, { ...key, finisherTokens: 9 }), "finisherTokens: absent vs 9");
  // sc's version 2 (the finisher always) against a folder made before it
  assert.equal(
    specDifference(key, { ...key, methods_version: { sc: 2 } }),
    "methods_version of sc: 1 vs 2",
  );
  assert.equal(specDifference(key, { ...key, methods: ["hogwild:2"], methods_version: { sc: 2 } }), undefined);
});

Deno.test("specDifference reads a key from before the sampling used by its run.json's sampling, as resume and compare do", () => {
  for (const { name, run, key, sampling, same } of samplingPairs()) {
    const differs = specDifference(run.spec, key, [run.sampling, sampling]);
    assert.equal(differs === undefined, same, `${name}: ${differs}`);
  }
});

Deno.test("deno task solo-check: an ALONE folder resumed with runs in flight together, or killed unsaid, is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-solo-"));
  const write = (name: string, recs: BenchRecord[], invocations: unknown[]) => {
    const d = join(dir, name);
    Deno.mkdirSync(d);
    writeFileSync(join(d, "records.jsonl"), recs.map((r) => JSON.stringify(r) + "\n").join(""));
    // spec_full is the first invocation's: --concurrency 1, kept by the resume that ran with 4
    writeFileSync(
      join(d, "run.json"),
      JSON.stringify({ spec: { data: "d" }, spec_full: { concurrency: 1 }, invocations }),
    );
    return d;
  };
  const recs = ["p", "q", "r"].map((p) => record(p, "sequential", [[64, 4, 990, 1000]]));
  const shared = write("shared", recs, [fakeInvocation(3, 4)]);
  const resumed = write("resumed", recs, [fakeInvocation(1, 1), fakeInvocation(0, 0), fakeInvocation(2, 4)]);
  const r = await runCli("cli/solo_check.ts", [shared, resumed]);
  assert.equal(r.code, 2, r.stdout);
  assert.match(
    r.stderr,
    /resumed: its invocation 3 \(started [^)]*\) wrote 2 records with up to 4 runs sharing a pass/,
  );
  // a resume killed outright left no invocation: what it ran with is not known
  const killed = write("killed", recs, [fakeInvocation(1, 1)]);
  const k = await runCli("cli/solo_check.ts", [shared, killed]);
  assert.equal(k.code, 2, k.stdout);
  assert.match(k.stderr, /killed: invocations that wrote 2 of its 3 records were killed .*cannot tell/);
  const alone = write("alone", recs, [fakeInvocation(1, 1), fakeInvocation(0, 0), fakeInvocation(2, 1)]);
  const ok = await runCli("cli/solo_check.ts", [shared, alone]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /3 checkpoints/);
});

Deno.test("deno task solo-check: records paired by id must be the same problem (golds, grading, text)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-solo-"));
  const write = (name: string, recs: BenchRecord[], texts: (string | undefined)[], data: string) => {
    const d = join(dir, name);
    Deno.mkdirSync(d);
    writeFileSync(join(d, "records.jsonl"), recs.map((r) => JSON.stringify(r) + "\n").join(""));
    const traces = recs.map((r, i) => ({
      task: r.task,
      problem_id: r.problem_id,
      method: r.method,
      seed: r.seed,
      ...(texts[i] === undefined ? {} : { problem: texts[i] }),
      workers: [],
      steps: [],
      pass_ms: [],
    }));
    writeFileSync(join(d, "traces.jsonl"), traces.map((t) => JSON.stringify(t) + "\n").join(""));
    writeFileSync(
      join(d, "run.json"),
      JSON.stringify({ spec: { data }, spec_full: { concurrency: 1 }, invocations: [fakeInvocation(recs.length, 1)] }),
    );
    return d;
  };
  const rec = (p: string, gold: string) => ({ ...record(p, "sequential", [[64, 4, 990, 1000]]), golds: [gold] });
  const shared = write("shared", [rec("0", "4"), rec("1", "7")], ["2+2?", "3+4?"], "d1");
  // custom data without ids, in another order: id 1 is another problem
  const swapped = write("swapped", [rec("0", "4"), rec("1", "9")], ["2+2?", "4+5?"], "d2");
  const golds = await runCli("cli/solo_check.ts", [shared, swapped]);
  assert.equal(golds.code, 2, golds.stdout);
  assert.match(golds.stderr, /pair t \/ 1 \/ sequential \/ 1 with another problem \(golds \["7"\] vs \["9"\]\)/);
  const text = write("text", [rec("0", "4"), rec("1", "7")], ["2+2?", "1+6?"], "d2");
  const t = await runCli("cli/solo_check.ts", [shared, text]);
  assert.equal(t.code, 2, t.stdout);
  assert.match(t.stderr, /pair t \/ 1 \/ sequential \/ 1 with another problem \(the problem's text differs/);
  // traces without the problem's text: the same data hash says the same problems, another says nothing
  const old = write("old", [rec("0", "4"), rec("1", "7")], [undefined, undefined], "d2");
  const o = await runCli("cli/solo_check.ts", [shared, old]);
  assert.equal(o.code, 2, o.stdout);
  assert.match(
    o.stderr,
    /traces\.jsonl of .*old has no problem text for it, and the folders' run\.json hold no one data hash/,
  );
  const same = write("same", [rec("0", "4"), rec("1", "7")], [undefined, "3+4?"], "d1");
  const ok = await runCli("cli/solo_check.ts", [shared, same]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /2 checkpoints/);
});
