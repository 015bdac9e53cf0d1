/**
 * Time that means something when runs share passes: the cost model's fit recovers known coefficients and stays
 * non-negative; a run's solo time is the model over its own rows, whatever it shared; records carry both
 * times; a resumed run keeps its calibration; summary.md and the plots say which time they show.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KVCache } from "../../../engine/cache.ts";
import type { PassShape } from "../../../engine/plan.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import {
  COST_TERMS,
  describeCost,
  fitCost,
  packPass,
  predictMs,
  type TimedPass,
  unpackPass,
} from "../../../harness/bench/cost.ts";
import { checkMeta } from "../../../harness/bench/rundir.ts";
import { calibratedMachines, costWarning, fitWarning, timingText } from "../../../harness/bench/timing.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { fakeInvocation, Rng, RowModel, runCli } from "../../helpers.ts";

const shape = (
  rows: number,
  tokens: number,
  attention: number,
  kv: number,
  logits: number,
  logprobs = 0,
  segments = 2 * tokens,
  blocks = rows + 1,
): PassShape => ({
  rows,
  tokens,
  attention,
  kv,
  logits,
  logprobs,
  segments,
  blocks,
});

/** A pass's time by a known linear law: `coef` per term of COST_TERMS. */
const law = (coef: readonly number[], s: PassShape) =>
  [1, s.tokens, s.attention, s.kv, s.logits, s.logprobs, s.segments, s.blocks].reduce((a, x, j) => a + x * coef[j], 0);

/** Passes of varied shapes timed by a known linear law, with ±`noise` relative jitter. */
function synthetic(coef: number[], noise: number, n = 200): TimedPass[] {
  const rng = new Rng(7), out: TimedPass[] = [];
  for (let i = 0; i < n; i++) {
    const rows = 1 + Math.floor(rng.next() * 16), tokens = rows * (rng.next() < 0.2 ? 64 : 1);
    const kv = Math.floor(rng.next() * 16000), attention = tokens * kv * (0.5 + rng.next());
    const logits = rng.next() < 0.2 ? 1 : rows;
    // a view of one context block, or of many small ones (shared by every row, or each row its own)
    const blocks = rng.next() < 0.5 ? 1 : 1 + Math.floor(rng.next() * 500), shared = rng.next() < 0.5;
    const segments = tokens * (shared ? blocks : Math.ceil(blocks / rows)) + tokens;
    const s = shape(
      rows,
      tokens,
      attention,
      kv,
      logits,
      rng.next() < 0.3 ? Math.floor(rng.next() * (logits + 1)) : 0,
      segments,
      blocks + rows,
    );
    out.push({ shape: s, ms: law(coef, s) * (1 + noise * (2 * rng.next() - 1)) });
  }
  return out;
}

Deno.test("the cost model's fit recovers known coefficients, and none is negative", () => {
  const truth = [12, 0.05, 2e-6, 1e-4, 0.3, 0.8, 2e-3, 1e-3];
  const exact = fitCost(synthetic(truth, 0));
  exact.coef.forEach((c, i) =>
    assert.ok(Math.abs(c - truth[i]) <= 1e-6 * Math.max(1, truth[i]) + 1e-9, `term ${i}: ${c}`)
  );
  assert.ok(exact.fit.median_rel_error < 1e-9);
  const jittered = synthetic(truth, 0.05), noisy = fitCost(jittered);
  // ±5% noise: no term's coefficient is off by enough to move any pass's time by more than 6% (a term that adds
  // little to any pass, as a block's 1 µs against a pass's 12 ms, is known only as well as that)
  for (const p of jittered) {
    const x = [1, p.shape.tokens, p.shape.attention, p.shape.kv, p.shape.logits, p.shape.logprobs];
    [...x, p.shape.segments, p.shape.blocks].forEach((v, i) => {
      const shift = (Math.abs(noisy.coef[i] - truth[i]) * v) / law(truth, p.shape);
      assert.ok(shift < 0.06, `${COST_TERMS[i]}: ${noisy.coef[i]} vs ${truth[i]} moves a pass by ${shift}`);
    });
  }
  assert.ok(noisy.fit.median_rel_error < 0.05 && noisy.fit.p90_rel_error < 0.06, JSON.stringify(noisy.fit));
  // A law with a term that lowers the time cannot be fitted as such: that term is dropped, the rest refitted.
  const negative = fitCost(synthetic([12, 0.05, 2e-6, -1e-4, 0.3, 0.8, 2e-3, 1e-3], 0));
  assert.ok(negative.coef.every((c) => c >= 0), JSON.stringify(negative.coef));
  assert.equal(negative.coef[3], 0);
  assert.throws(() => fitCost([]), /no timed passes/);
});

Deno.test("the fit's error is held out, shape by shape: a calibration cut short to its eight spanning shapes fits them exactly and still warns", () => {
  const truth = [12, 0.05, 2e-6, 1e-4, 0.3, 0.8, 2e-3, 1e-3];
  // each shape's repeats are one shape: the error predicts every shape from the others' fit
  const noisy = synthetic(truth, 0.05, 60);
  const twice = fitCost([...noisy, ...noisy.map((p) => ({ ...p, ms: p.ms * 1.02 }))]);
  assert.equal(twice.fit.shapes, 60);
  assert.ok(twice.fit.median_rel_error > 0.005, "a repeat of the same shape is not a held-out prediction");
  // eight shapes, one pass each, one of them slow by chance: eight terms fit eight passes exactly on their own
  // passes, so a fit scored on them would say 0% and never warn
  const eight = synthetic(truth, 0, 8).map((p, i) => (i === 7 ? { ...p, ms: p.ms + 20 } : p));
  const cut = fitCost(eight);
  assert.equal(cut.fit.shapes, 8);
  assert.ok(cut.fit.median_rel_error > 0.01, JSON.stringify(cut.fit));
  assert.match(fitWarning(cut)!, /fitted on 8 pass shapes only, too few to check it \(the calibration was cut short/);
  // fewer than twice the terms: 15 shapes warn, and so would 11 of a model of six terms (judged by its own terms:
  // a folder of an earlier version), 12 of them not
  assert.match(fitWarning(fitCost(synthetic(truth, 0.01, 15)))!, /fitted on 15 pass shapes only/);
  const old = (shapes: number) => ({
    coef: truth.slice(0, 6),
    fit: { passes: shapes, shapes, median_rel_error: 0.01, p90_rel_error: 0.02 },
  });
  assert.match(fitWarning(old(11))!, /fitted on 11 pass shapes only/);
  assert.equal(fitWarning(old(12)), undefined);
  assert.equal(fitWarning(fitCost(synthetic(truth, 0.02, 40))), undefined, "40 shapes within 2%: no warning");
  assert.equal(fitCost(synthetic(truth, 0, 1)).fit.median_rel_error, 1, "one shape: nothing held out");
});

Deno.test("a run's solo time is the cost model over its own rows, whatever runs shared its passes", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const make = (cache: KVCache, m: string) =>
    newSolver(cache, parseMethod(m), "What is 2+2?", 0, {
      tokenizer: tok,
      generation,
      budgets: [6, 12],
      finisherTokens: 4,
    });
  // The cost of a pass: one ms per new token, so a run's solo time is the tokens its own rows wrote.
  const cost = (s: PassShape) => s.tokens;
  const alone = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const a = make(alone, "hogwild:2");
  await runAll(new RowModel(tok, 5), alone, [a], undefined, cost);
  const shared = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const b = make(shared, "hogwild:2"), other = make(shared, "sequential");
  const rows: number[] = [];
  await runAll(new RowModel(tok, 5), shared, [b, other], (p) => rows.push(p.shape.rows), cost);
  assert.ok(Math.max(...rows) > 4, "the runs shared passes");
  assert.deepEqual(b.checkpoints.map((c) => c.solo_ms), a.checkpoints.map((c) => c.solo_ms));
  const written = a.checkpoints[0].solo_ms;
  assert.ok(written > tok.encode("What is 2+2?").length, `solo ${written} counts the prompt and every token written`);
  for (const c of [...a.checkpoints, ...b.checkpoints]) assert.ok(c.shared_ms >= 0);
});

Deno.test("a checkpoint's time is the passes up to its budget and its own finisher's, not earlier checkpoints' finishers", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  for (const m of ["hogwild:2", "sequential", "sc:2"]) {
    const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
    const run = newSolver(cache, parseMethod(m), "What is 2+2?", 0, {
      tokenizer: tok,
      generation,
      budgets: [4, 8, 12],
      finisherTokens: 4,
    });
    // every pass one millisecond, alone and shared
    await runAll(new RowModel(tok, 5), cache, [run], undefined, () => 1);
    const finishers = run.checkpoints.filter((c) => c.finisher_passes > 0);
    assert.ok(finishers.length >= 2, `${m}: ${finishers.length} checkpoints read by a finisher`);
    for (const c of run.checkpoints) {
      // (shared_ms is the clock's, summed by the same rule)
      assert.equal(c.solo_ms, c.passes + c.finisher_passes, `${m} at ${c.budget}: solo`);
    }
  }
});

const bench = (...args: string[]) => runCli("cli/bench.ts", args);

Deno.test("records carry solo and shared times; a resumed run keeps its calibration and reports every invocation", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "hogwild-time-")), "run");
  const flags = ["--methods", "hogwild:2,sequential", "--count", "3", "--budgets", "4:12:4", "--out", out];
  assert.equal((await bench(...flags)).code, 0);
  const meta = () => JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
  const first = meta();
  assert.ok(first.cost_model.coef.length === COST_TERMS.length && first.cost_model.coef.every((c: number) => c >= 0));
  // some passes timed (how many the calibration's time bound allows: fewer on a machine under load)
  assert.ok(first.cost_model.fit.passes > 0);
  // its calibration's passes are kept, so that anyone can check the fit: refitted, they give the stored model exactly
  const { coef, fit } = first.cost_model;
  assert.equal(first.cost_model.passes.length, fit.passes);
  assert.deepEqual(fitCost(first.cost_model.passes.map(unpackPass)), { coef, fit });
  const records = () => readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const r of records()) {
    assert.ok(r.solo_ms > 0 && r.shared_ms > 0, JSON.stringify(r));
    for (const c of r.checkpoints) assert.ok(c.solo_ms > 0 && c.shared_ms > 0 && c.solo_ms <= r.solo_ms + 1e-9);
  }
  // Drop the last record (as a kill would have) and resume: it runs again under the same cost model.
  const lines = readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n");
  writeFileSync(join(out, "records.jsonl"), lines.slice(0, -1).join("\n") + "\n");
  const again = await bench(...flags);
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.stderr, /cost model calibrated/);
  const second = meta();
  assert.deepEqual(second.cost_model, first.cost_model);
  assert.deepEqual(second.invocations.map((i: { records: number }) => i.records), [6, 1]);
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(summary, /Times: every checkpoint has a solo time/);
  assert.match(summary, /A forward pass is predicted to take [\d.]+ ms \+ /);
  assert.match(
    summary,
    /Invocation 1 .*Invocation 2 \(.*\): 1 records in .* the cost model was off by [\d.]+% \(median\)/s,
  );
  assert.match(readFileSync(join(out, "curves.csv"), "utf8").split("\n")[0], /mean_solo_s,mean_shared_s/);
  assert.match(readFileSync(join(out, "accuracy_vs_time.svg"), "utf8"), /alone on its device/);
  // A folder made before the block terms (timing 2, a model of six terms): resumed, its new records would have
  // solo times of a model blind to the blocks they read beside ones of today's, or its old model would time them;
  // it is refused, naming the rule, and reads as it is.
  const old = second.cost_model, oldRows = old.passes.map((r: number[]) => [...r.slice(0, 6), r[8]]);
  writeFileSync(
    join(out, "run.json"),
    JSON.stringify({
      ...second,
      spec: { ...second.spec, timing: 2 },
      cost_model: { ...old, coef: old.coef.slice(0, 6), passes: oldRows },
    }),
  );
  writeFileSync(join(out, "records.jsonl"), lines.slice(0, -1).join("\n") + "\n");
  const refused = await bench(...flags);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /holds a run with another spec \(timing: was 2, now 3\); the folder was made by an earlier version of this project \(timing: /,
  );
  assert.equal(readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").length, lines.length - 1);
  assert.equal((await runCli("cli/plot.ts", [out, "--out", join(out, "..", "old-plot")])).code, 0, "read as it is");
});

Deno.test("plot: solo time by default, shared time on request, runs of different machines named", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-time-plot-"));
  const [a, b] = [join(base, "a"), join(base, "b")];
  for (const d of [a, b]) {
    assert.equal((await bench("--methods", "sequential", "--count", "2", "--budgets", "4,8", "--out", d)).code, 0);
  }
  const run = JSON.parse(readFileSync(join(b, "run.json"), "utf8"));
  writeFileSync(join(b, "run.json"), JSON.stringify({ ...run, machine: { ...run.machine, gpu: "NVIDIA L40S" } }));
  const plot = (...args: string[]) => runCli("cli/plot.ts", args);
  const solo = join(base, "solo"), shared = join(base, "shared");
  assert.equal((await plot(a, b, "--out", solo)).code, 0);
  const svg = readFileSync(join(solo, "accuracy_vs_time.svg"), "utf8");
  assert.match(svg, /alone on its device/);
  assert.match(svg, /b \(NVIDIA L40S\): sequential/);
  assert.equal((await plot(a, b, "--out", shared, "--time", "shared")).code, 0);
  assert.match(readFileSync(join(shared, "accuracy_vs_time.svg"), "utf8"), /shared passes counted whole/);
  const bad = await plot(a, "--time", "cpu");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--time: expected solo or shared, got "cpu"/);
  assert.ok(
    predictMs(
      { coef: [1, 0, 0, 0, 0], fit: { passes: 1, median_rel_error: 0, p90_rel_error: 0 } },
      shape(1, 1, 1, 1, 1, 1),
    ) === 1, // a model stored before the log-probabilities term: those rows cost nothing more
  );
  assert.equal(
    predictMs(
      { coef: [1, 0, 0, 0, 0, 2], fit: { passes: 1, median_rel_error: 0, p90_rel_error: 0 } },
      shape(3, 3, 1, 1, 3, 2),
    ),
    5,
  );
});

Deno.test("a merged run's summary names its shards' machines instead of 'this device'", () => {
  assert.match(timingText({}), /alone on this device/);
  assert.match(timingText({ machine: { gpu: "H100" } }), /alone on this device/);
  assert.match(
    timingText({ shards: [{ machine: { gpu: "H100" } }, { machine: { gpu: "L40S" } }] }),
    /alone on its shard's device \(the shards ran on H100, L40S; each shard's solo times come from its own/,
  );
});

Deno.test("the summary says how many runs shared a pass only when its invocations account for every record", () => {
  assert.match(
    timingText({ invocations: [fakeInvocation(10, 4), fakeInvocation(6, 2)] }, 16),
    /\(up to 4 runs shared a pass, so shared/,
  );
  // a SIGKILLed invocation wrote 12 of them at 8 runs at once and recorded nothing
  assert.match(
    timingText({ invocations: [fakeInvocation(4, 1)] }, 16),
    /\(runs shared passes \(how many at most is not known: invocations that wrote 12 of the records were killed/,
  );
});

Deno.test("a cost model far off the measured passes is a warning in the summary, one within it none", () => {
  const off = { ...fakeInvocation(4, 2), passes: 120, cost_error: { median: 0.8, p90: 0.99 } };
  const fine = { ...fakeInvocation(4, 2), cost_error: { median: 0.07, p90: 0.2 } };
  assert.match(costWarning(off)!, /on 120 passes the cost model's predictions were off by 80% \(median\)/);
  assert.equal(costWarning(fine), undefined);
  assert.match(timingText({ invocations: [fine, off] }), /\*\*Warning: on 120 passes/);
  assert.doesNotMatch(timingText({ invocations: [fine] }), /Warning/);
});

Deno.test("a cost model whose views of many blocks are too few or mispredicted warns, though its whole fit is close", () => {
  const truth = [0.5, 0.01, 1e-6, 1e-5, 0.2, 0.3, 1e-3, 5e-4];
  const all = synthetic(truth, 0.02, 200);
  const isCut = (p: TimedPass) => p.shape.blocks > p.shape.rows + 1;
  const plain = all.filter((p) => !isCut(p)), cut = all.filter(isCut);
  assert.ok(plain.length > 60 && cut.length > 60);
  const fine = fitCost(all);
  assert.equal(fine.fit.fragmented!.shapes, cut.length);
  assert.ok(fine.fit.fragmented!.median_rel_error < 0.05);
  assert.equal(fitWarning(fine), undefined);
  // a minority of views of many blocks whose times follow no linear law (a busy machine, a kernel's cliff): the
  // whole median stays under the bound, their own does not
  const rng = new Rng(5);
  const wild = [...plain, ...cut.slice(0, 40).map((p) => ({ ...p, ms: p.ms * (0.3 + 3 * rng.next()) }))];
  const off = fitCost(wild);
  assert.ok(off.fit.median_rel_error < 0.25, JSON.stringify(off.fit));
  assert.ok(off.fit.fragmented!.median_rel_error > 0.25, JSON.stringify(off.fit));
  assert.match(
    fitWarning(off)!,
    /predicts its calibration's views cut into many blocks, each shape from the fit of the others, only to within \d+% \(median of 40 shapes\), so the methods whose views hold many blocks \(Hogwild!\) may be timed wrong/,
  );
  // three such shapes: too few to check two terms on
  const few = fitCost([...plain, ...cut.slice(0, 3)]);
  assert.match(fitWarning(few)!, /was fitted on 3 shapes of views cut into many blocks only, too few to check/);
  // none at all: nothing vouches for the block terms
  assert.deepEqual(fitCost(plain).fit.fragmented, { shapes: 0, median_rel_error: 1 });
  assert.match(fitWarning(fitCost(plain))!, /was fitted on 0 shapes of views cut into many blocks only/);
  // a folder's model from before the block terms has no such field, and is judged as it was
  const { fragmented: _, ...before } = fine.fit;
  assert.equal(fitWarning({ coef: fine.coef.slice(0, 6), fit: before }), undefined);
  checkMeta("run.json", { cost_model: off });
  assert.throws(
    () => checkMeta("run.json", { cost_model: { ...off, fit: { ...off.fit, fragmented: { shapes: 1.5 } } } }),
    /"cost_model" is damaged/,
  );
});

Deno.test("a cost model whose fit of its own calibration is far off warns, at calibration and in the summary", () => {
  // a calibration cut short on a busy machine (seen: 8 passes, 34.7% median, 99.9% p90): an invocation's own
  // error can still fall under the bound (23.7% seen), so the fit is judged by itself
  const model = {
    coef: [0.108, 0.048, 8.9e-5, 0, 0, 17.11],
    fit: { passes: 8, median_rel_error: 0.347, p90_rel_error: 0.999 },
  };
  assert.match(fitWarning(model)!, /predicts its own 8 calibration passes only to within 35% \(median\)/);
  assert.equal(fitWarning({ fit: { ...model.fit, median_rel_error: 0.05 } }), undefined);
  const fine = { ...fakeInvocation(4, 2), cost_error: { median: 0.237, p90: 0.5 } };
  assert.match(
    timingText({ cost_model: model, invocations: [fine] }),
    /\*\*Warning: the cost model predicts its own 8 calibration passes/,
  );
  assert.doesNotMatch(
    timingText({ cost_model: { ...model, fit: { ...model.fit, median_rel_error: 0.05 } }, invocations: [fine] }),
    /Warning/,
  );
});

Deno.test("the machines that timed a folder: its cost model's, or a merged folder's shards' once each", () => {
  const cost = (on: string) => ({
    cost_model: { coef: [1], fit: { passes: 1, median_rel_error: 0, p90_rel_error: 0 }, calibrated_on: on },
  });
  assert.deepEqual(calibratedMachines(cost("A")), ["A"]);
  // a merged folder has no cost model of its own: "unknown machine" made solo-check refuse it against itself
  assert.deepEqual(calibratedMachines({ shards: [cost("A"), cost("A")] }), ["A"]);
  assert.deepEqual(calibratedMachines({ shards: [cost("A"), cost("B")] }), ["A", "B"]);
});

Deno.test("run.json's cost model reads with its timed passes or without them (older folders); damaged passes are refused", () => {
  const timed = synthetic([0.5, 0.01, 1e-6, 1e-5, 0.2, 0.3, 1e-3, 5e-4], 0.02, 20);
  const model = fitCost(timed), passes = timed.map(packPass);
  checkMeta("run.json", { cost_model: model });
  checkMeta("run.json", { cost_model: { ...model, passes } });
  for (const bad of [[[1, 1, 1, 1, 1, 0]], [[1, 1, 1, 1, 1, 0, 0]], [[1, 1, 1, 1, 1, 0, -2]], [null], "x"]) {
    assert.throws(
      () => checkMeta("run.json", { cost_model: { ...model, fit: { ...model.fit, passes: 1 }, passes: bad } }),
      /run\.json: "cost_model" is damaged \(.*its timed passes/,
      JSON.stringify(bad),
    );
  }
  // as many passes as the fit says it was fitted on
  assert.throws(() => checkMeta("run.json", { cost_model: { ...model, passes: passes.slice(1) } }), /is damaged/);
  // A folder of an earlier version: six coefficients, its passes without segments and blocks. It reads (summary,
  // plot, merge), its refit is its model (the block terms 0), and it predicts as it did: blocks cost nothing in it.
  const oldTimed = timed.map((p) => ({ ...p, shape: { ...p.shape, segments: 0, blocks: 0 } }));
  const oldFit = fitCost(oldTimed), old = { ...oldFit, coef: oldFit.coef.slice(0, 6) };
  const oldRows = oldTimed.map((p) => packPass(p).filter((_, i) => i < 6 || i === 8));
  assert.equal(oldRows[0].length, 7);
  checkMeta("run.json", { cost_model: { ...old, passes: oldRows } });
  assert.deepEqual(fitCost(oldRows.map(unpackPass)), { ...old, coef: [...old.coef, 0, 0] });
  assert.equal(predictMs(old, { ...timed[0].shape, segments: 5000, blocks: 900 }), predictMs(old, timed[0].shape));
  assert.doesNotMatch(describeCost(old), /per distinct block/);
  assert.match(describeCost(model), /per \(new token, view block\) pair \+ [\d.]+ µs per distinct block read/);
  // each model's rows as it wrote them: the old one's six counts, today's eight
  for (const bad of [{ ...old, passes }, { ...model, passes: oldRows }, { ...model, coef: model.coef.slice(0, 7) }]) {
    assert.throws(() => checkMeta("run.json", { cost_model: bad }), /"cost_model" is damaged/);
  }
});
