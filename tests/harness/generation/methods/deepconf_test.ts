/**
 * DeepConf (harness/generation/methods/deepconf.ts) and the confidence it reads (harness/generation/confidence.ts): token, group and
 * trace confidences and the filter against hand computations; scripted runs through the real harness (a model
 * that gives each writer's tokens chosen top-k log-probabilities): the offline vote, filtered and weighted,
 * against the majority; the online warm-up's threshold, the pass a trace stops at and the consensus's end;
 * self-consistency's weighted vote; and the ids, each method's one name.
 */
import assert from "node:assert/strict";
import { KVCache } from "../../../../engine/cache.ts";
import type { Row } from "../../../../engine/plan.ts";
import type { TokenLogprobs } from "../../../../engine/sampler.ts";
import { TextTokenizer } from "../../../../engine/tokenizer.ts";
import { mathsVoteKey } from "../../../../tasks/grading/equivalence.ts";
import {
  groupConfidences,
  keepTop,
  newestGroup,
  percentile,
  tokenConfidence,
  traceConfidence,
  weightedVote,
} from "../../../../harness/generation/confidence.ts";
import { newSolver, parseMethod, runSpec } from "../../../../harness/generation/methods.ts";
import { DeepConfRun } from "../../../../harness/generation/methods/deepconf.ts";
import { loadProtocol } from "../../../../harness/generation/prompts.ts";
import { runAll, step } from "../../../../harness/generation/schedule.ts";
import type { Solver } from "../../../../harness/generation/solver.ts";
import { REVISED, ScriptedModel } from "../../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const PROBLEM = "What is 3+4?";

Deno.test("a window's group confidence is one number however it is summed: the online stop meets the value the threshold was made of (generated traces)", () => {
  let state = 7;
  const rand = () => ((state = (state * 48271) % 2147483647) / 2147483647);
  const lp = (k: number): TokenLogprobs => {
    const xs = Array.from({ length: k }, (_, i) => -(i === 0 ? rand() : rand() * 30));
    return { logprob: xs[0], ids: Int32Array.from(xs.map((_, i) => i)), logprobs: Float32Array.from(xs) };
  };
  let windows = 0;
  for (let t = 0; t < 40; t++) {
    const window = 2 + (t % 9) * 3, c = Array.from({ length: window + 60 }, () => tokenConfidence(lp(20)));
    const groups = groupConfidences(c, window);
    for (let end = window; end <= c.length; end++, windows++) {
      // the running sum (the threshold's lowest group, a record's measure) and the newest window (the stop)
      assert.equal(newestGroup(c.slice(0, end), window), groups[end - window], `window ${window}, end ${end}`);
    }
    // a later trace that repeats a warm-up trace is never below the threshold its lowest group set
    const threshold = percentile([traceConfidence(c, "lowest", window)], 90);
    for (let end = window; end <= c.length; end++) assert.ok(!(newestGroup(c.slice(0, end), window)! < threshold));
  }
  assert.ok(windows > 2000);
});

Deno.test("token, group and trace confidences, the percentile and the filter: against hand computations", () => {
  const lp = (xs: number[]): TokenLogprobs => ({
    logprob: xs[0],
    ids: Int32Array.from(xs.map((_, i) => i)),
    logprobs: Float32Array.from(xs),
  });
  // -(−0.5 − 1.5 − 4) / 3
  assert.equal(tokenConfidence(lp([-0.5, -1.5, -4])), 2);
  assert.deepEqual(groupConfidences([1, 2, 3, 4, 5], 2), [1.5, 2.5, 3.5, 4.5]);
  assert.deepEqual(groupConfidences([1, 2, 3, 4, 5], 5), [3]);
  assert.deepEqual(groupConfidences([1, 2, 3], 4), [2], "shorter than a window: one group of all");
  assert.deepEqual(groupConfidences([], 4), []);
  assert.equal(newestGroup([1, 2, 3, 4, 5], 2), 4.5);
  assert.equal(newestGroup([1, 2, 3], 4), undefined, "no full window yet");
  // 23 tokens 0..22, windows of 2: 22 groups 0.5..21.5; the lowest 10% is floor(2.2) = 2 groups.
  const c = Array.from({ length: 23 }, (_, i) => i);
  assert.equal(traceConfidence(c, "lowest", 2), 0.5);
  assert.equal(traceConfidence(c, "bottom10", 2), 1);
  assert.equal(traceConfidence(c, "tail", 2), 21.5);
  assert.equal(traceConfidence(c, "mean", 2), 11);
  assert.equal(traceConfidence([4, 1, 4, 4], "lowest", 2), 2.5);
  assert.equal(traceConfidence([], "lowest", 2), 0);
  // numpy's linear rule: rank p/100·(n−1)
  assert.equal(percentile([4, 1, 3, 2], 90), 3.7);
  assert.equal(percentile([5, 3], 90), 4.8);
  assert.ok(Math.abs(percentile([5, 3], 10) - 3.2) < 1e-12);
  // DeepConf-low keeps exactly the top 10%, DeepConf-high the top 90%.
  const ten = [5, 1, 9, 3, 7, 2, 8, 4, 10, 6];
  assert.deepEqual(keepTop(ten, 10).map((k, i) => k ? ten[i] : 0).filter(Boolean), [10]);
  assert.deepEqual(keepTop(ten, 90).map((k, i) => k ? ten[i] : 0).filter(Boolean), [5, 9, 3, 7, 2, 8, 4, 10, 6]);
  assert.deepEqual(keepTop([1, 4, 5, 6], 10), [false, false, false, true]);
  assert.deepEqual(keepTop([1, 4, 5, 6], 90), [false, true, true, true]);
  // The weighted vote: 7 has three ballots, 9 has the weight; weights 1 are the majority.
  const ballots = [{ answer: "7", weight: 1 }, { answer: "7", weight: 2 }, { answer: "9", weight: 4 }, {
    answer: "7",
    weight: 0.5,
  }];
  assert.deepEqual(weightedVote(ballots, mathsVoteKey), { answer: "9", share: 4 / 7.5 });
  assert.deepEqual(weightedVote(ballots.map((b) => ({ ...b, weight: 1 })), mathsVoteKey), { answer: "7", share: 0.75 });
  assert.equal(weightedVote([], mathsVoteKey), undefined);
  // Answers the grader reads alike vote together (maj@k's grouping), under the first one's text; values named one
  // by one keep their names.
  const one = (...answers: string[]) => weightedVote(answers.map((answer) => ({ answer, weight: 1 })), mathsVoteKey);
  assert.deepEqual(one("5", "x = 4", "4"), { answer: "x = 4", share: 2 / 3 });
  assert.deepEqual(one("5", "\\frac{1}{2}", " \\frac{1}{2}"), { answer: "\\frac{1}{2}", share: 2 / 3 });
  assert.deepEqual(one("A = 7, B = 9", "B = 7, A = 9", "B=9, A=7"), { answer: "A = 7, B = 9", share: 2 / 3 });
});

/**
 * ScriptedModel with log-probabilities: each writer's k top log-probabilities at its j-th sampled token are all
 * −conf(j), so that token's confidence is conf(j) (1 where the writer has none given).
 */
class ConfidentModel extends ScriptedModel {
  readonly #conf: Record<string, (j: number) => number>;
  readonly #count = new Map<string, number>();
  constructor(scripts: Record<string, string>, conf: Record<string, (j: number) => number>) {
    super(tok, scripts);
    this.#conf = conf;
  }
  forwardSampleLogprobs(cache: KVCache, rows: readonly Row[]) {
    const ids = this.forwardSample(cache, rows);
    const logprobs = rows.map((r, i) => {
      if (!r.logprobs) return undefined;
      const who = r.block.label.split(".")[0], j = (this.#count.get(who) ?? 0) + 1;
      this.#count.set(who, j);
      const c = (this.#conf[who] ?? (() => 1))(j);
      return {
        logprob: -c,
        ids: Int32Array.from({ length: r.logprobs }, (_, t) => (ids[i] + t) % 1000),
        logprobs: new Float32Array(r.logprobs).fill(-c),
      };
    });
    return { ids, logprobs };
  }
}

const answer = (x: string) => `So \\boxed{${x}}.\n\n`;
const LENGTH = tok.encode(answer("7")).length;

async function run(
  id: string,
  scripts: Record<string, string>,
  conf: Record<string, (j: number) => number>,
  budgets = [200],
) {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ConfidentModel(scripts, conf);
  const ctx = { tokenizer: tok, generation, budgets, finisherTokens: 4 };
  const solver: Solver = newSolver(cache, parseMethod(id), PROBLEM, 0, ctx);
  await runAll(model, cache, [solver]);
  assert.ok(solver.done, id);
  const labels = model.passes.map((p) => p.filter((r) => r.logprobs).map((r) => r.block.label.split(".")[0]));
  return { run: solver, passes: model.passes, labels };
}

const constant = (c: number) => () => c;

Deno.test("offline: the vote keeps the top η% and weighs each trace by its confidence, against the majority", async () => {
  // the finisher answers 5 from all four traces: no vote and no trace says 5
  const scripts = { Alice: answer("7"), Bob: answer("7"), Carol: answer("7"), Dave: answer("9"), finisher: "5}" };
  // Confidences 1, 2, 3, 7: the majority says 7; weighted, 9 has 7 against 6 (and against 5 once the lowest is
  // filtered out by DeepConf-high; alone under DeepConf-low).
  const a = { Alice: constant(1), Bob: constant(2), Carol: constant(3), Dave: constant(7) };
  // Confidences 1, 4, 5, 6: DeepConf-low keeps Dave alone (9); DeepConf-high keeps 4, 5, 6: 7 has 9 against 6.
  const b = { Alice: constant(1), Bob: constant(4), Carol: constant(5), Dave: constant(6) };
  const cases: [string, Record<string, (j: number) => number>, string][] = [
    ["sc:4", a, "7"],
    ["sc:4:conf", a, "9"],
    ["deepconf:4:stop=box", a, "9"],
    ["deepconf:4:high:stop=box", a, "9"],
    ["sc:4", b, "7"],
    ["sc:4:conf", b, "7"],
    ["deepconf:4:stop=box", b, "9"],
    ["deepconf:4:high:stop=box", b, "7"],
  ];
  for (const [id, conf, want] of cases) {
    const { run: r, passes } = await run(id, scripts, conf);
    const last = r.checkpoints[r.checkpoints.length - 1];
    assert.equal(last.vote, want, `${id} with confidences ${Object.values(conf).map((f) => f(1))}`);
    assert.deepEqual(last.paths, ["7", "7", "7", "9"], `${id}: every trace's own answer, whatever the vote keeps`);
    assert.equal(last.passes, LENGTH, `${id}: every trace runs to its end`);
    // Only the confidence runs ask for log-probabilities: the paper's top 20.
    const asked = passes[0].filter((r) => r.sampler).map((r) => r.logprobs);
    assert.deepEqual(asked, id === "sc:4" ? [undefined, undefined, undefined, undefined] : [20, 20, 20, 20], id);
    // DeepConf's answer is its vote; self-consistency's the finisher's over every trace (as the paper's), even
    // though each trace wrote one (the last of them, 9, would be one trace's answer alone)
    if (id.startsWith("deepconf")) assert.deepEqual([last.answer, last.source], [want, "generated"], id);
    else assert.deepEqual([last.answer, last.source, last.finisher_passes], ["5", "finisher", 2], id);
  }
});

Deno.test("a trace runs to its end by default (the paper's code reads its last box; its confidence is the whole trace's); stop=box ends it at its first box", async () => {
  // Each token as sure as its place in the trace: the mean of a trace of n tokens (one group, shorter than the
  // window) is (n + 1) / 2, its first step's alone another number.
  const scripts = { Alice: REVISED, Bob: REVISED, finisher: "5}" },
    conf = { Alice: (j: number) => j, Bob: (j: number) => j };
  const whole = tok.encode(REVISED).length - 1, first = tok.encode("So the answer is \\boxed{3}.\n\n").length;
  for (
    const [id, answer, tokens, passes] of [
      ["deepconf:2", "7", whole, whole + 1], // its end of sequence sampled in the pass after its last token
      ["deepconf:2:stop=box", "3", first, first],
    ] as const
  ) {
    const { run: r } = await run(id, scripts, conf, [9, 20, 200]);
    const [cp9, cp20, last] = r.checkpoints;
    assert.deepEqual(
      [last.answer, last.source, last.vote, last.paths, last.tokens, last.passes],
      [answer, "generated", answer, [answer, answer], [tokens, tokens], passes],
      id,
    );
    assert.deepEqual((r as DeepConfRun).confidences(), [(tokens + 1) / 2, (tokens + 1) / 2], id);
    // At a checkpoint a trace still going is cut there (the authors' code at that token limit): it votes with
    // the last box it has written, its step unfinished at 9 passes (the box closed, not its line) included.
    const cut = (c: typeof cp9) => [c.answer, c.source, c.vote, c.paths, c.tokens];
    assert.deepEqual(cut(cp9), ["3", "generated", "3", ["3", "3"], [9, 9]], id);
    if (id === "deepconf:2") assert.deepEqual(cut(cp20), ["3", "generated", "3", ["3", "3"], [20, 20]], id);
    else assert.deepEqual(cp20, { ...last, budget: 20 }, id);
  }
  // Online: the warm-up trace ends at its end of sequence, which sets the threshold; the later trace starts in
  // the next pass, and its end with the same answer is the consensus.
  for (
    const [id, answer, start] of [["deepconf:2:online", "7", whole + 2], [
      "deepconf:2:online:stop=box",
      "3",
      first + 1,
    ]] as const
  ) {
    const { run: r, labels } = await run(id, scripts, conf);
    assert.equal(labels.findIndex((l) => l.includes("Bob")) + 1, start, id);
    const last = r.checkpoints[0];
    assert.deepEqual([last.answer, last.source, last.paths], [answer, "early-stop", [answer, answer]], id);
  }
});

Deno.test("online under stop=end: the consensus counts the traces that have ended, not a later trace's tentative box", async () => {
  const long = "Let me add the numbers one by one, slowly and with care, and then check the sum twice over. ".repeat(
    12,
  );
  // Alice (the warm-up) ends with 7; then Bob boxes 3 and goes on, and Carol ends with 7: Alice's and Carol's ended
  // traces agree, so the run stops there, Bob still going.
  const scripts = { Alice: REVISED, Bob: answer("3") + long, Carol: answer("7") + "<|im_end|>" };
  const { run: r } = await run("deepconf:3:online", scripts, {}); // one warm-up trace (⌊3/2⌋)
  const whole = tok.encode(REVISED).length - 1, cp = r.checkpoints[0];
  assert.deepEqual([cp.answer, cp.source, cp.paths], ["7", "early-stop", ["7", "3", "7"]]);
  assert.equal(cp.passes, whole + 1 + LENGTH + 1, "Alice's end of sequence, then Carol's");
});

Deno.test("a tie goes to the lowest-numbered worker's answer, not to the one that ended first", async () => {
  // Bob ends first with 9, Alice later with 7, equally sure: both kept, one vote each
  const scripts = { Alice: "Let me add them.\n\n" + answer("7"), Bob: answer("9") };
  const { run: r } = await run("deepconf:2:stop=box", scripts, { Alice: constant(2), Bob: constant(2) });
  assert.deepEqual([r.checkpoints[0].vote, r.ended()], ["7", [tok.encode(scripts.Alice).length, LENGTH]]);
});

Deno.test("offline: the measure weighs the vote (tail against lowest), and k sets the rows' top-k", async () => {
  const scripts = { Alice: answer("7"), Bob: answer("9") };
  // Alice: a dip of 1 in the middle; Bob: 3 throughout. Lowest group (window 2): Alice 1 < Bob 3; her tail is 8.
  const conf = { Alice: (j: number) => (j === 3 || j === 4 ? 1 : 8), Bob: constant(3) };
  for (
    const [id, want] of [
      ["deepconf:2:window=2:k=5:stop=box", "9"],
      ["deepconf:2:tail:window=2:k=5:stop=box", "7"],
    ]
  ) {
    const { run: r, passes } = await run(id, scripts, conf);
    assert.equal(r.checkpoints[0].answer, want, id);
    assert.deepEqual(passes[0].filter((r) => r.sampler).map((r) => r.logprobs), [5, 5], id);
  }
});

Deno.test("online: the warm-up sets the threshold, a trace stops at the pass its group confidence drops below it, and consensus ends the run", async () => {
  const long = "Let me add the numbers one by one, slowly and with care, and then check the sum twice over. ".repeat(
    12,
  );
  const scripts = {
    Alice: answer("7"),
    Bob: "Adding them gives nine.\n\n" + answer("9"),
    Carol: long,
    Dave: "Three and four.\n\n" + answer("7"),
    Eve: long,
  };
  const conf = {
    Alice: constant(5),
    Bob: constant(3),
    // Windows of 2: (6+2)/2 = 4 at Carol's 4th token; (2+2)/2 = 2 at her 5th.
    Carol: (j: number) => (j <= 3 ? 6 : 2),
    Dave: constant(6),
    Eve: constant(6),
  };
  const warm = tok.encode(scripts.Bob).length, dave = tok.encode(scripts.Dave).length;
  assert.ok(dave > 5 && tok.encode(long).length > dave + 5, "Carol stops before Dave ends, Eve runs past him");
  // DeepConf-low: the threshold is the 90th percentile of 5 and 3 (4.8), so Carol stops at her 4th token;
  // DeepConf-high: the 10th (3.2), her 5th.
  for (
    const [id, threshold, stop] of [["deepconf:5:online:window=2:stop=box", 4.8, 4], [
      "deepconf:5:online:high:window=2:stop=box",
      3.2,
      5,
    ]] as const
  ) {
    const { run: r, labels } = await run(id, scripts, conf);
    const d = r as DeepConfRun;
    assert.ok(Math.abs(d.threshold! - threshold) < 1e-9, `${id}: threshold ${d.threshold}`);
    // The warm-up traces (2 of 5) run alone; the others start in the pass after both have ended.
    assert.deepEqual(labels[0], ["Alice", "Bob"], id);
    assert.ok(labels.slice(0, warm).every((l) => !l.includes("Carol") && !l.includes("Dave")), id);
    assert.deepEqual(labels[warm], ["Carol", "Dave", "Eve"], id);
    // Carol's row is in the pass of her stop-th token and in none after it.
    const carol = labels.flatMap((l, i) => (l.includes("Carol") ? [i + 1] : []));
    assert.deepEqual(carol, Array.from({ length: stop }, (_, i) => warm + 1 + i), id);
    assert.deepEqual(d.stopped, [2], id);
    // the trace keeps her stop (the pass of her last row) for the viewer; Eve wrote to the run's end
    assert.equal(d.ended()[2], carol.at(-1), id);
    assert.equal(d.ended()[4], null, id);
    // and its audit: the threshold, the stop, each trace's confidence as the filter read it
    const audit = d.audit() as { threshold: number; stopped: number[]; confidence: number[] };
    assert.deepEqual([audit.threshold, audit.stopped], [d.threshold, [2]], id);
    assert.deepEqual(audit.confidence, d.confidences(), id);
    // Dave ends with 7; the vote (Alice 5 and Dave 6 at the threshold or above; Bob's 9 under it) is unanimous,
    // so the run ends in that pass with Eve unfinished.
    const last = r.checkpoints[0];
    assert.deepEqual([last.answer, last.source, last.vote], ["7", "early-stop", "7"], id);
    assert.equal(last.passes, warm + dave, id);
    assert.equal(r.passes, warm + dave, id);
    assert.deepEqual(last.tokens.slice(2), [stop, dave, dave], id);
  }
  // Without the consensus, Eve runs on until the budget: the passes that the consensus saved.
  const { run: r } = await run("deepconf:5:online:window=2:no-consensus:stop=box", scripts, conf);
  assert.equal(r.passes, 200);
  assert.deepEqual([r.checkpoints[0].answer, r.checkpoints[0].vote], ["7", "7"]);

  // together: all five start in pass 1; Dave ends (pass `dave`) before Bob, the threshold comes with Bob's end,
  // and in that same pass Carol (newest group 2) is stopped and Dave's 7 with Alice's is a consensus.
  assert.ok(dave < warm, "Dave ends before the warm-up does");
  const { run: t, labels } = await run("deepconf:5:online:together:window=2:stop=box", scripts, conf);
  const d = t as DeepConfRun;
  assert.deepEqual(labels[0], ["Alice", "Bob", "Carol", "Dave", "Eve"]);
  assert.ok(Math.abs(d.threshold! - 4.8) < 1e-9);
  assert.deepEqual(d.stopped, [2]);
  const cp = t.checkpoints[0];
  assert.deepEqual([cp.answer, cp.source, cp.vote, cp.passes], ["7", "early-stop", "7", warm]);
  assert.deepEqual(cp.tokens.slice(1), [warm, warm, dave, warm]);
});

Deno.test("online: a trace stopped after writing a box has no answer of its own in the paths (its paper discards it)", async () => {
  // Bob boxes 9, then his confidence drops below the threshold before his step ends: he is stopped
  const bob = "So \\boxed{9} is what I get, and now let me check it once more.\n\n";
  const boxed = tok.encode("So \\boxed{9}").length;
  const scripts = { Alice: answer("7"), Bob: bob, finisher: "5}" };
  const conf = { Alice: constant(5), Bob: (j: number) => (j <= boxed + 1 ? 6 : 1) };
  const { run: r } = await run("deepconf:2:online:window=2:stop=box", scripts, conf); // Alice warms up, then Bob starts
  const d = r as DeepConfRun;
  assert.ok(d.stopped.includes(1), `Bob stopped: ${d.stopped}`);
  assert.ok(r.texts()[1].includes("\\boxed{9}"), "his box is in his text");
  const last = r.checkpoints.at(-1)!;
  assert.equal(last.paths![1], null, "a stopped trace's box is no path answer");
  assert.equal(last.vote, "7");
});

Deno.test("together: before the threshold only the warm-up votes; at it, a later trace meets every group it wrote", async () => {
  const long = "Let me add the numbers one by one, slowly and with care, and then check the sum twice over. ".repeat(
    12,
  );
  // The warm-up (Alice) never ends within the budget: Bob's early 9 must not be the vote, as in the paper's order.
  const never = { Alice: long, Bob: answer("9"), finisher: "8}" };
  for (const id of ["deepconf:2:online:stop=box", "deepconf:2:online:together:stop=box"]) {
    const { run: r } = await run(id, never, { Alice: constant(5), Bob: constant(1) });
    assert.deepEqual([r.checkpoints[0].vote, r.checkpoints[0].source], [null, "finisher"], id);
  }
  // Bob dips (tokens 2 and 3) long before Alice's end sets the threshold (5): he is stopped in that pass.
  const dip = { Alice: "Adding them gives seven.\n\n" + answer("7"), Bob: long, Carol: long };
  const conf = { Alice: constant(5), Bob: (j: number) => (j === 2 || j === 3 ? 1 : 6), Carol: constant(6) };
  const { run: t, labels } = await run("deepconf:3:online:together:window=2:no-consensus:stop=box", dip, conf);
  const ends = tok.encode(dip.Alice).length;
  assert.deepEqual((t as DeepConfRun).stopped, [1]);
  assert.equal(
    labels.flatMap((l, i) => (l.includes("Bob") ? [i + 1] : [])).at(-1),
    ends,
    "Bob's last row: the threshold's pass",
  );
});

Deno.test("deepconf and sc's conf: each name and option, and each method's one name", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["deepconf:4", {
      family: "deepconf",
      workers: 4,
      layout: "independent",
      online: false,
      keep: 10,
      measure: "lowest",
      window: 2048,
      topK: 20,
      warmup: 0,
      tau: undefined,
      earlyStop: false, // the paper's code: a trace runs to its end (stop=end)
      stopAtEos: true,
    }],
    ["deepconf:4:stop=box", { earlyStop: true, online: false }],
    ["deepconf:4:online:high:tau=0.8:stop=box", { earlyStop: true, online: true, keep: 90, tau: 0.8 }],
    ["deepconf:4:high:bottom10:window=64:k=5", { keep: 90, measure: "bottom10", window: 64, topK: 5 }],
    ["deepconf:4:online", { online: true, warmup: 2, tau: 0.95, measure: "lowest" }],
    ["deepconf:5:online:high:warmup=4:tau=0.8", { online: true, keep: 90, warmup: 4, tau: 0.8 }],
    ["deepconf:3:online:no-consensus", { warmup: 1, tau: undefined, together: false }],
    ["deepconf:4:online:together:high", { online: true, together: true, keep: 90 }],
    ["sc:4:conf", { family: "sc", weighted: true, finisher: "reencode" }],
    ["sc:4:fork:conf", { weighted: true, finisher: "fork" }],
    ["sc:4", { weighted: false }],
  ];
  for (const [id, want] of cases) {
    const m: Record<string, unknown> = { ...parseMethod(id) };
    assert.equal(m.id, id);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(m[k], v, `${id}.${k}`);
  }
  const refused: [string, RegExp][] = [
    ["deepconf:1", /deepconf:1: deepconf needs 2 traces at least/],
    ["deepconf", /worker count/],
    ["deepconf:4:window=2048", /write it as deepconf:4 \(each method has one name\)/],
    ["deepconf:4:high:online", /write it as deepconf:4:online:high/],
    ["deepconf:4:online:warmup=2", /write it as deepconf:4:online\b/],
    ["deepconf:4:online:tau=0.95", /write it as deepconf:4:online\b/],
    ["deepconf:4:online:tau=.8", /write it as deepconf:4:online:tau=0.8/],
    ["deepconf:4:k=21", /k must be an integer in 1\.\.20, got "21"/],
    ["deepconf:4:window=0", /window must be an integer/],
    ["deepconf:4:window=x", /window must be an integer in 1\.\.1048576, got "x"/],
    ["deepconf:4:online:warmup=4", /warmup must be an integer in 1\.\.3, got "4"/],
    ["deepconf:4:warmup=2", /warmup needs online/],
    ["deepconf:4:tau=0.9", /tau needs online/],
    ["deepconf:4:no-consensus", /no-consensus needs online/],
    ["deepconf:4:together", /together needs online/],
    ["deepconf:4:together:online", /write it as deepconf:4:online:together/],
    ["deepconf:4:online:tau=0", /tau must be a number in \(0, 1\], got "0"/],
    ["deepconf:4:online:tau=0.9:no-consensus", /tau or no-consensus, not both/],
    ["deepconf:4:online:tail", /online stops on group confidences.*no tail/],
    ["deepconf:4:tail:mean", /one measure at most \(tail, mean given\)/],
    ["deepconf:4:lowest", /unknown option "lowest"/],
    ["deepconf:4:window=2:window=3", /option "window" given twice/],
    [
      "deepconf:4:fast",
      /unknown option "fast"; options: online, together, high, bottom10, tail, mean, no-consensus, window=…/,
    ],
    ["deepconf:4:stop=end", /write it as deepconf:4 \(each method has one name\)/],
    ["deepconf:4:stop=box:online", /write it as deepconf:4:online:stop=box/],
    ["deepconf:4:online:stop=box:no-consensus", /write it as deepconf:4:online:no-consensus:stop=box/],
    ["deepconf:4:stop=all", /stop must be box or end, got "all"/],
    ["sc:1:conf", /write it as sequential/],
    ["sc:2:conf:fork", /write it as sc:2:fork:conf/],
    ["sc:2:deepconf", /unknown option "deepconf"/],
  ];
  for (const [id, want] of refused) {
    assert.throws(() => parseMethod(id), (e: Error) => e.name === "InputError" && want.test(e.message), id);
  }
});

Deno.test("online, during the warm-up: the finisher reads the traces that have started, a held trace (never started) as nothing", async () => {
  const long = "Let me add the numbers one by one, slowly and with care. ".repeat(8);
  const scripts = { Alice: long, Bob: long, Carol: long, Dave: long, finisher: "7}" };
  const conf = { Alice: constant(5), Bob: constant(3), Carol: constant(5), Dave: constant(5) };
  const ctx = { tokenizer: tok, generation, budgets: [6, 50], finisherTokens: 4 };
  const spec = runSpec(parseMethod("deepconf:4:online"), PROBLEM, 0, ctx), last = spec.prompt[spec.prompt.length - 1];
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const r = newSolver(cache, parseMethod("deepconf:4:online"), PROBLEM, 0, ctx) as DeepConfRun;
  const model = new ConfidentModel(scripts, conf);
  while (r.phase !== "finish") await step(model, cache, [r]);
  assert.equal(r.passes, 6);
  // Alice and Bob (the warm-up) have written 6 tokens each, Carol and Dave are held: they add nothing (they added
  // their one forced token each, the prompt's last: blank lines before the closing text)
  const six = tok.encode(long).slice(0, 6);
  assert.deepEqual(r.finisherTranscript(), [
    ...spec.prompt,
    ...six,
    last,
    ...six,
    ...tok.encode(loadProtocol().finisherSuffix),
  ]);
});
