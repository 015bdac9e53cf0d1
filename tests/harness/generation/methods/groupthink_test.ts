/**
 * Group Think (harness/generation/methods/groupthink.ts): its ids; a scripted run through the real scheduler, recording what
 * every thinker's row reads in every pass (which tokens of whom, at which positions) and checking it against
 * the paper's rule (a thinker's k-th token reads every thinker's first k-1 tokens and no later one), each
 * token at one position in its slot, the same in every view (the paper's slots: a thinker's above another's
 * query is read in full); the budget, the early stop, the finisher and the answer's source, for the
 * group and for the lead; the texts' file; and the KV bound.
 */
import assert from "node:assert/strict";
import { type Block, KVCache } from "../../../../engine/cache.ts";
import type { Row } from "../../../../engine/plan.ts";
import { TextTokenizer } from "../../../../engine/tokenizer.ts";
import { MethodId, newSolver, parseMethod } from "../../../../harness/generation/methods.ts";
import { loadProtocol } from "../../../../harness/generation/prompts.ts";
import { runAll } from "../../../../harness/generation/schedule.ts";
import {
  groupthink,
  type GroupThinkRun,
  groupThinkSpec,
  loadGroupThink,
} from "../../../../harness/generation/methods/groupthink.ts";
import { ScriptedModel } from "../../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const PROBLEM = "What is 2+2?";
const BUDGETS = [3, 60, 200];
const ctx = { tokenizer: tok, generation, budgets: BUDGETS, finisherTokens: 4 };

Deno.test("groupthink ids: groupthink:N[:lead], N from 2; every other spelling refused", () => {
  assert.deepEqual(
    ["groupthink:2", "groupthink:4:lead", "groupthink:12"].map((id) => {
      const m = parseMethod(id);
      return [m.id, m.workers, m.family, (m as unknown as { lead: boolean }).lead];
    }),
    [["groupthink:2", 2, "groupthink", false], ["groupthink:4:lead", 4, "groupthink", true], [
      "groupthink:12",
      12,
      "groupthink",
      false,
    ]],
  );
  const refused: [string, RegExp][] = [
    ["groupthink", /needs a worker count 1\.\.12/],
    ["groupthink:1", /groupthink needs 2 or more thinkers/],
    ["groupthink:02", /needs a worker count/],
    ["groupthink:13", /needs a worker count/],
    ["groupthink:2:lead:lead", /option "lead" given twice/],
    ["groupthink:2:fork", /unknown option "fork"; options: lead/],
  ];
  for (const [id, message] of refused) assert.throws(() => parseMethod(id), message, id);
});

/** What a thinker's row read: for each block of its view, the index and position of every token its last token reads. */
interface Read {
  /** the run's decode pass (finisher passes not counted) */
  pass: number;
  who: string;
  /** the position of its last new token, whose next token is sampled */
  query: number;
  sees: Record<string, [number, number][]>;
}

/**
 * The scripted model (it checks and commits each plan as the engine does), recording what each thinker's last
 * new token reads by the engine's rule: every block's tokens after this pass's writes, causal over positions
 * unless the row reads the block in full; and the most pages in use.
 */
class ReadingModel extends ScriptedModel {
  readonly reads: Read[] = [];
  peakPages = 0;
  #pass = 0;
  override forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    if (!rows.some((r) => r.block.label === "finisher")) this.#pass++;
    const after = new Map<Block, number>(rows.map((r) => [r.block, r.block.length + r.tokens.length]));
    for (const r of rows.filter((r) => r.sampler && r.block.label !== "finisher")) {
      const at = r.at!, query = at[r.view.indexOf(r.block)] + r.block.length + r.tokens.length - 1;
      const sees: Record<string, [number, number][]> = {};
      r.view.forEach((b, k) => {
        const all = Array.from({ length: after.get(b) ?? b.length }, (_, j): [number, number] => [j, at[k] + j]);
        sees[b.label] = r.full?.[k] ? all : all.filter(([, pos]) => pos <= query);
      });
      this.reads.push({ pass: this.#pass, who: r.block.label, query, sees });
    }
    const ids = super.forwardSample(cache, rows);
    this.peakPages = Math.max(this.peakPages, cache.native.pages - cache.freePages);
    return ids;
  }
}

async function scripted(id: string, scripts: Record<string, string>) {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const spec = groupThinkSpec(groupthink.parse(new MethodId(id)), PROBLEM, 0, ctx);
  const run = newSolver(cache, parseMethod(id), PROBLEM, 0, ctx) as GroupThinkRun;
  const model = new ReadingModel(tok, scripts);
  await runAll(model, cache, [run]);
  return { cache, spec, run, model };
}

const ALICE = "I add the numbers.\n\nTwo and two make four, so it is \\boxed{4}.\n\n";
const BOB = "I will check the sum by counting up from two, one step at a time, to be quite sure of it.\n\n" +
  "Counting on from two gives three and then four, which agrees with the sum.\n\n";
const SUFFIX = loadProtocol().finisherSuffix;
const group = scripted("groupthink:2", { Alice: ALICE, Bob: BOB, finisher: "7}" });

Deno.test("a scripted groupthink:2 run: pass 1 writes the prompt and each header; every view: both slots in order, the other's in full", async () => {
  const { model, spec } = await group;
  const P = spec.prompt.length, S = spec.slot;
  const first = model.passes[0];
  assert.deepEqual(first.map((r) => [r.block.label, r.logits ?? "last"]), [
    ["prompt", "none"],
    ["Alice", "last"],
    ["Bob", "last"],
  ]);
  assert.deepEqual(first.slice(1).map((r) => tok.decode(r.tokens)), ["**Alice:** ", "**Bob:** "]);
  assert.ok(tok.decode(first[0].tokens).includes("Alice and Bob are 2 thinkers"));
  assert.ok(tok.decode(first[0].tokens).endsWith(PROBLEM + "<|im_end|>\n<|im_start|>assistant\n<think>\n"));
  assert.equal(S, tok.encode("**Alice:** ").length + BUDGETS[BUDGETS.length - 1], "a header and the largest budget");
  for (const pass of model.passes.filter((p) => !p.some((r) => r.block.label === "finisher"))) {
    for (const r of pass.filter((r) => r.block.label !== "prompt")) {
      assert.deepEqual(r.view.map((b) => b.label), ["prompt", "Alice", "Bob"]);
      assert.deepEqual(r.at, [0, P, P + S]);
      assert.deepEqual(r.full, [false, r.block.label !== "Alice", r.block.label !== "Bob"]);
    }
  }
});

Deno.test("a scripted groupthink:2 run: a thinker's k-th token reads the prompt and both thinkers' first k-1 tokens, at their slots", async () => {
  const { model, spec } = await group;
  const P = spec.prompt.length, S = spec.slot, H = spec.headers.map((h) => h.length);
  const last = Math.max(...model.reads.map((r) => r.pass));
  assert.equal(model.reads.length, 2 * last, "both thinkers sample in every pass");
  for (const r of model.reads) {
    const me = spec.names.indexOf(r.who), other = spec.names[1 - me];
    // Pass k samples token k: its header and k-1 tokens are written, the last of them in this very pass.
    const mine = H[me] + r.pass - 1, theirs = H[1 - me] + r.pass - 1;
    const where = `${r.who}, pass ${r.pass}`;
    assert.equal(r.query, P + me * S + mine - 1, `${where}: its last token, in its own slot`);
    assert.deepEqual(r.sees.prompt, [...Array(P).keys()].map((j) => [j, j]), where);
    assert.deepEqual(r.sees[r.who], [...Array(mine).keys()].map((j) => [j, P + me * S + j]), where);
    assert.deepEqual(r.sees[other], [...Array(theirs).keys()].map((j) => [j, P + (1 - me) * S + j]), where);
  }
});

Deno.test("a scripted groupthink:2 run: the budget, the finisher over both thinkers, the early stop; texts and pages", async () => {
  const { model, run, cache, spec } = await group;
  const stop = tok.encode(ALICE).length; // Alice's boxed step ends with her last token, sampled in that pass
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.passes, c.answer, c.source, c.finisher_passes]), [
    [3, 3, "7", "finisher", 2],
    [60, stop, "4", "early-stop", 0],
    [200, stop, "4", "early-stop", 0],
  ]);
  // The finisher after pass 3: both thinkers' blocks in order after the prompt, each followed by its third token
  // (sampled in pass 3, written in its slot only at pass 4: written after its block in the finisher's first pass),
  // then the marker and the suffix.
  const fin = model.passes.filter((p) => p.some((r) => r.block.label === "finisher"));
  assert.equal(fin.length, 2);
  const row = (pass: Row[], label: string) => pass.find((r) => r.block.label === label)!;
  const tail = row(fin[0], "finisher");
  assert.deepEqual(tail.view.map((b) => b.label), ["prompt", "Alice", "Alice.last", "Bob", "Bob.last", "finisher"]);
  assert.equal(tok.decode(tail.tokens), "<...>\n\n" + SUFFIX);
  for (const [who, text] of [["Alice", ALICE], ["Bob", BOB]]) {
    const last = row(fin[0], `${who}.last`);
    assert.deepEqual(Array.from(last.tokens), [tok.encode(text)[2]], `${who}'s third token`);
    assert.deepEqual(last.view, tail.view.slice(0, tail.view.indexOf(last.block) + 1), `${who}: the finisher's view`);
    assert.equal(last.logits, "none");
  }
  assert.deepEqual(fin[1].map((r) => r.block.label), ["finisher"], "written once");
  assert.equal(model.passes.length - fin.length, stop, "one counted pass per token");
  assert.deepEqual(run.steps.filter((s) => s.worker === 0).map((s) => s.text), [
    "I add the numbers.\n\n",
    "Two and two make four, so it is \\boxed{4}.\n\n",
  ]);
  assert.equal(run.texts()[0], ALICE);
  assert.equal(run.texts()[1], tok.decode(tok.encode(BOB).slice(0, stop)));
  assert.deepEqual(run.checkpoints[1].tokens, [stop, stop]);
  assert.deepEqual(run.names(), ["Alice", "Bob"]);
  assert.ok(run.kvTokens(16) >= model.peakPages * 16, `KV bound ${run.kvTokens(16)}, peak ${model.peakPages} pages`);
  assert.ok(spec.prompt.length + 2 * spec.slot > 200);
  run.free();
  assert.equal(cache.freePages, 4096, "every page back");
});

Deno.test("a scripted groupthink:2:lead run: only the lead's box stops it; the finisher goes on from the lead's view", async () => {
  const bob = "So it is \\boxed{5}.\n\n" + BOB;
  const { model, run } = await scripted("groupthink:2:lead", { Alice: ALICE, Bob: bob, finisher: "7}" });
  const stop = tok.encode(ALICE).length;
  assert.ok(run.steps.some((s) => s.worker === 1 && s.text.includes("\\boxed{5}") && s.pass < stop));
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.passes, c.answer, c.source]), [
    [3, 3, "7", "finisher"],
    [60, stop, "4", "early-stop"],
    [200, stop, "4", "early-stop"],
  ]);
  // After pass 3 the lead's third token is sampled, not yet written: it opens the finisher's tail; Bob's follows
  // his block, written in the finisher's first pass.
  const fin = model.passes.find((p) => p.some((r) => r.block.label === "finisher"))!;
  const tail = fin.find((r) => r.block.label === "finisher")!, last = fin.find((r) => r.block.label === "Bob.last")!;
  assert.deepEqual(tail.view.map((b) => b.label), ["prompt", "Bob", "Bob.last", "Alice", "finisher"]);
  assert.deepEqual(Array.from(tail.tokens), [tok.encode(ALICE)[2], ...tok.encode(SUFFIX)]);
  assert.deepEqual(Array.from(last.tokens), [tok.encode(bob)[2]]);
  assert.deepEqual(last.view.map((b) => b.label), ["prompt", "Bob", "Bob.last"]);
});

Deno.test("the group's answer is any thinker's box: Bob's boxed step stops groupthink:2", async () => {
  const bob = "So it is \\boxed{5}.\n\n" + BOB;
  const { run } = await scripted("groupthink:2", { Alice: ALICE, Bob: bob, finisher: "7}" });
  const stop = tok.encode("So it is \\boxed{5}.\n\n").length;
  assert.deepEqual(run.checkpoints.at(-1)!.answer, "5");
  assert.equal(run.checkpoints.at(-1)!.passes, stop);
});

Deno.test("a thinker's open box is never closed by another's brace: the finisher answers", async () => {
  const { run } = await scripted("groupthink:2", {
    Alice: "So the answer is \\boxed{12 " + "and ".repeat(250),
    Bob: "Then x = 5} looks odd to me. " + "more ".repeat(250),
    finisher: "7}".repeat(3),
  });
  assert.deepEqual(run.checkpoints.map((c) => [c.answer, c.source]), [["7", "finisher"], ["7", "finisher"], [
    "7",
    "finisher",
  ]]);
});

Deno.test("a Group Think texts file with a missing field or placeholder is refused, naming the file and field", () => {
  const dir = Deno.makeTempDirSync(), good = loadGroupThink(), file = `${dir}/gt.json`;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, prompt: undefined }, /gt\.json: field "prompt" must be a string/],
    [{ ...good, prompt: "no problem here" }, /gt\.json: field "prompt" must hold \{\{problem\}\}/],
    [{ ...good, header: "**Thinker:** " }, /gt\.json: field "header" must hold \{\{name\}\}/],
  ];
  for (const [content, message] of cases) {
    Deno.writeTextFileSync(file, JSON.stringify(content));
    assert.throws(() => loadGroupThink(file), message);
  }
  Deno.writeTextFileSync(file, JSON.stringify({ prompt: "{{problem}}", header: "[{{name}}] " }));
  const spec = groupThinkSpec(groupthink.parse(new MethodId("groupthink:3")), PROBLEM, 0, ctx, loadGroupThink(file));
  assert.deepEqual(spec.headers.map((h) => tok.decode(h)), ["[Alice] ", "[Bob] ", "[Carol] "]);
});
