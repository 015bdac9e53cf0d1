/**
 * Self-consistency (harness/generation/methods/sc.ts): where its traces stop (`stop=box`, the default, at the first
 * finished step holding a box; `stop=end`, at end of sequence or the budget), through the real harness with a
 * scripted model whose traces box a tentative answer and revise it; the ids of the option, each method's one name;
 * and what its finisher reads (the traces, each opening as its writer's first row read it).
 */
import assert from "node:assert/strict";
import { KVCache } from "../../../../engine/cache.ts";
import { TextTokenizer } from "../../../../engine/tokenizer.ts";
import { newSolver, parseMethod, runSpec } from "../../../../harness/generation/methods.ts";
import { loadProtocol } from "../../../../harness/generation/prompts.ts";
import type { Run } from "../../../../harness/generation/run.ts";
import { runAll, step } from "../../../../harness/generation/schedule.ts";
import { REVISED, ScriptedModel, SeeingModel } from "../../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };

Deno.test("sc: stop=box ends a trace at its first box (3); stop=end runs it to its end, its last box (7)", async () => {
  const whole = tok.encode(REVISED).length - 1, first = tok.encode("So the answer is \\boxed{3}.\n\n").length;
  for (const [id, atTwenty, last, tokens] of [["sc:2", "3", "3", first], ["sc:2:stop=end", "3", "7", whole]] as const) {
    const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
    const ctx = { tokenizer: tok, generation, budgets: [20, 200], finisherTokens: 4 };
    const run = newSolver(cache, parseMethod(id), "What is 3+4?", 0, ctx);
    await runAll(new ScriptedModel(tok, { Alice: REVISED, Bob: REVISED, finisher: "5}".repeat(2) }), cache, [run]);
    // At 20 passes a trace under stop=end is unfinished: its path is the last box it has written so far.
    const [cp20, cp200] = run.checkpoints;
    assert.deepEqual([cp20.vote, cp20.paths], [atTwenty, [atTwenty, atTwenty]], id);
    assert.deepEqual([cp200.vote, cp200.paths, cp200.tokens], [last, [last, last], [tokens, tokens]], id);
    // each text: the prompt's last token, then the trace as far as it ran
    const trace = tok.decode(tok.encode(REVISED).slice(0, tokens));
    assert.ok(run.texts().every((t) => t.endsWith(trace) && t.length === trace.length + 1), id);
    // the answer stays the finisher's over both traces (the Hogwild! paper's baseline), whatever they wrote
    assert.deepEqual([cp200.answer, cp200.source], ["5", "finisher"], id);
  }
});

Deno.test("sc ids: stop=end written last, stop=box (the default) left out; one trace with stop=end stays sc", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["sc:2", { family: "sc", earlyStop: true }],
    ["sc:2:stop=end", { family: "sc", workers: 2, earlyStop: false, finisher: "reencode", weighted: false }],
    ["sc:4:fork:conf:stop=end", { earlyStop: false, finisher: "fork", weighted: true }],
    // sequential with its finisher at every checkpoint and no early stop: a method no other name gives
    ["sc:1:stop=end", { family: "sc", workers: 1, earlyStop: false }],
  ];
  for (const [id, want] of cases) {
    const m: Record<string, unknown> = { ...parseMethod(id) };
    assert.equal(m.id, id);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(m[k], v, `${id}.${k}`);
  }
  const refused: [string, RegExp][] = [
    ["sc:2:stop=box", /method sc:2:stop=box: write it as sc:2 \(each method has one name\)/],
    ["sc:2:stop=end:conf", /write it as sc:2:conf:stop=end/],
    ["sc:2:stop=end:fork", /write it as sc:2:fork:stop=end/],
    ["sc:1:stop=box", /write it as sequential/],
    ["sc:2:stop=first", /method sc:2:stop=first: stop must be box or end, got "first"/],
    ["sc:2:stop", /unknown option "stop"; options: fork, conf, stop=…/],
    ["sc:2:stop=end:stop=box", /option "stop" given twice/],
  ];
  for (const [id, want] of refused) {
    assert.throws(() => parseMethod(id), (e: Error) => e.name === "InputError" && want.test(e.message), id);
  }
});

Deno.test("sc's finisher reads the traces one after another, each opening with the prompt's last token (as its writer's first row read it); the fork finisher's blocks hold the same", async () => {
  const scripts = { Alice: "First I add three and four", Bob: "Seven is the sum of them all", finisher: "7}" };
  const ctx = { tokenizer: tok, generation, budgets: [6, 50], finisherTokens: 4 };
  const spec = runSpec(parseMethod("sc:2"), "What is 3+4?", 0, ctx), last = spec.prompt[spec.prompt.length - 1];
  assert.equal(tok.decode([last]), "\n", "Qwen3's template ends its prompt with <think> and a newline");
  const trace = (text: string) => tok.encode(text).slice(0, 6);
  const suffix = tok.encode(loadProtocol().finisherSuffix);
  // the transcript's finisher: the prompt, then each trace as its writer wrote it, its first token the prompt's last
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const run = newSolver(cache, parseMethod("sc:2"), "What is 3+4?", 0, ctx) as Run;
  const model = new ScriptedModel(tok, scripts);
  while (run.phase !== "finish") await step(model, cache, [run]);
  assert.deepEqual(run.finisherTranscript(), [
    ...spec.prompt,
    ...trace(scripts.Alice),
    last,
    ...trace(scripts.Bob),
    ...suffix,
  ]);
  assert.equal(
    tok.decode(run.finisherTranscript()).split("<think>\n").pop(),
    "First I add three and four\nSeven is the sum of them" + loadProtocol().finisherSuffix,
  );
  // the fork finisher: the workers' blocks as written, each worker's first opening with that token (its last id,
  // sampled, not yet written)
  const forkCache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const fork = newSolver(forkCache, parseMethod("sc:2:fork"), "What is 3+4?", 0, ctx) as Run;
  const forkModel = new SeeingModel(tok, { keepLog: true });
  while (fork.phase !== "finish") await step(forkModel, forkCache, [fork]);
  await step(forkModel, forkCache, [fork]);
  const tail = forkModel.log.at(-1)!.rows.find((r) => r.block.label === "finisher")!;
  const opens = tail.view.filter((b) => /^(Alice|Bob)\.1$/.test(b.label)).map((b) => forkModel.ids.get(b)![0]);
  assert.deepEqual(opens, [last, last]);
});
