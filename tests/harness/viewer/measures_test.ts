/**
 * Who wrote a record's answer (measures' answer_by): the writer the solver read it from, recorded in its
 * checkpoint, and for a record from before that field the solver's own rule over the trace: never another rule.
 */
import assert from "node:assert/strict";
import { answerWriter, measures, measuresOrWhy } from "../../../harness/viewer/measures.ts";
import { KVCache } from "../../../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../../../engine/plan.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { runAll, type StepModel } from "../../../harness/generation/schedule.ts";
import { fakeCheckpoint, fakeRecord, fakeTrace, Rng, solverTrace } from "../../helpers.ts";
import { join } from "node:path";
import { loadProtocol, type Protocol, protocolText } from "../../../harness/generation/prompts.ts";

Deno.test("answer by: an unclosed box is no answer; the writer whose text holds the box read is named", () => {
  // Alice opened a box and never closed it; the answer is Bob's (a record from before checkpoints named a writer)
  const trace = fakeTrace({
    workers: [
      "**Alice [1]:**  Answer: \\boxed{A = 14, B = 8, C = 24",
      "**Bob [1]:**  Answer: \\boxed{A = 14, B = 8, C = 20}",
    ],
    steps: [],
    pass_ms: [1, 1],
    ended: [null, null],
  });
  const cp = fakeCheckpoint(2, true, { answer: "A = 14, B = 8, C = 20", source: "generated" });
  assert.equal(measures(trace, fakeRecord({ method: "hogwild:2", problem_id: "p" }, [cp]))?.answer_by, "Bob");
  // a checkpoint that names its writer is taken at its word; a vote names none
  const named = fakeRecord({ method: "hogwild:2", problem_id: "p" }, [{ ...cp, writer: 0 }]);
  assert.equal(measures(trace, named)?.answer_by, "Alice");
  const vote = fakeRecord({ method: "hogwild:2", problem_id: "p" }, [{ ...cp, writer: null }]);
  assert.equal(measures(trace, vote)?.answer_by, null);
});

/** Pieces of text the writers draw from: boxes opened, closed, both, and step ends. */
const PIECES = [" \\boxed{", "1", "2", "}", " \\boxed{7}", " so", " and", " {", ".\n\n"];

/** A model whose writers each write random pieces (one piece's tokens in a row); the finisher closes its box. */
class Pieces implements StepModel {
  readonly #queue = new Map<string, number[]>();
  readonly #pieces: number[][];
  readonly #close: number[];
  constructor(tok: TextTokenizer, readonly rng: Rng, readonly stepEnd: number) {
    this.#pieces = PIECES.map((p) => tok.encode(p));
    this.#close = tok.encode("4}");
  }
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((r) => {
      if (!r.sampler) return -1;
      if (r.block.label === "finisher") return this.#close[Math.min(r.block.length, this.#close.length) - 1];
      const writer = r.block.label.split(".")[0];
      let q = this.#queue.get(writer);
      if (!q?.length) {
        const end = this.rng.next() < this.stepEnd;
        q = [...this.#pieces[end ? PIECES.length - 1 : Math.floor(this.rng.next() * (PIECES.length - 1))]];
        this.#queue.set(writer, q);
      }
      return q.shift()!;
    });
  }
}

Deno.test("answer by: over generated texts the viewer names the writer the solver read the answer from", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const methods = ["hogwild:2", "hogwild:3", "hogwild:3:contiguous", "hogwild:2:interleaved", "hogwild:3:no-collab"];
  const counts = { written: 0, early: 0, oldRuleWrong: 0 };
  for (let seed = 1; seed <= 40; seed++) {
    for (const id of methods) {
      // with and without the early stop: without, finished steps hold boxes of several writers
      for (const earlyStop of [true, false]) {
        const method = { ...parseMethod(id), earlyStop };
        const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
        const run = newSolver(cache, method, "What is 2 + 2?", seed, {
          tokenizer: tok,
          generation,
          budgets: [8, 16, 24],
          finisherTokens: 2,
        });
        await runAll(new Pieces(tok, new Rng(seed * 31 + methods.indexOf(id)), earlyStop ? 0.05 : 0.15), cache, [run]);
        const last = run.checkpoints[run.checkpoints.length - 1];
        if (last.source !== "generated" && last.source !== "early-stop") continue;
        const writer = last.writer!, trace = solverTrace(run, id), what = `${id} seed ${seed} early stop ${earlyStop}`;
        assert.ok(Number.isInteger(writer), `${what}: the solver named no writer`);
        counts[last.source === "early-stop" ? "early" : "written"]++;
        const record = fakeRecord({ method: id, problem_id: "p" }, [{ ...fakeCheckpoint(24, true), ...last }]);
        assert.equal(measures(trace, record)?.answer_by, trace.names![writer], what);
        // a record from before the field: the solver's rule over the trace finds the same writer
        const { writer: _, ...older } = record.checkpoints[0];
        assert.equal(answerWriter(trace, { ...record, checkpoints: [older] }), writer, what);
        // the rule the viewer had: the latest finished step with a box, else the first text with "\boxed"
        const step = trace.steps.filter((s) => s.text.includes("\\boxed")).sort((a, b) => b.pass - a.pass)[0];
        if ((step ? step.worker : trace.workers.findIndex((t) => t.includes("\\boxed"))) !== writer) {
          counts.oldRuleWrong++;
        }
      }
    }
  }
  // the inputs reach every case: answers read mid-text and early stops, and answers the old rule misnamed
  assert.ok(counts.written >= 20 && counts.early >= 20 && counts.oldRuleWrong >= 5, JSON.stringify(counts));
});

/** A model whose writers each write their own words over and over, a step of four; the finisher closes its box. */
class Words implements StepModel {
  readonly #queue = new Map<string, number[]>();
  readonly #close: number[];
  constructor(readonly tok: TextTokenizer, readonly scripts: Record<string, string>) {
    this.#close = tok.encode("4}");
  }
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((r) => {
      if (!r.sampler) return -1;
      if (r.block.label === "finisher") return this.#close[Math.min(r.block.length, this.#close.length) - 1];
      const writer = r.block.label.split(".")[0];
      const q = this.#queue.get(writer) ?? [];
      if (!q.length) q.push(...this.tok.encode(this.scripts[writer]));
      this.#queue.set(writer, q);
      return q.shift()!;
    });
  }
}

/**
 * Protocols of each shape a --protocol file may have: {step} before or after {name}, either twice, regular
 * expression syntax around them; a firstStep absent, empty, with or without {name}; the redundancy check on or
 * off, naming a worker. Read by loadProtocol, as a run reads them.
 */
function protocols(): { what: string; protocol: Protocol; every: number }[] {
  const prefixes = [
    "**{name} [{step}]:** ",
    "[{step}] **{name}**: ",
    "Step {step} ({name}): ",
    "$1 (.*)+ {name}? \\d [{step}] ^|: ",
    "{name} ({name}) #{step}/{step}: ",
    "{step}{name}",
  ];
  const firsts = [undefined, "", "Hi, I am {name}. Let me start with my part of the work: ", "Let me start (.*): "];
  const dir = Deno.makeTempDirSync();
  const out = [];
  for (const stepPrefix of prefixes) {
    for (const firstStep of firsts) {
      for (const every of [0, 5, 7]) {
        const file = join(dir, `${out.length}.json`);
        const own = { stepPrefix, redundancyCheck: "Is Bob (or $anyone) doing this already? (yes/no): " };
        Deno.writeTextFileSync(file, JSON.stringify({ ...loadProtocol(), ...own, firstStep }));
        const what = `stepPrefix ${JSON.stringify(stepPrefix)}, firstStep ${firstStep}, checks every ${every}`;
        out.push({ what, protocol: loadProtocol(file), every });
      }
    }
  }
  Deno.removeSync(dir, { recursive: true });
  return out;
}

Deno.test("measures: the text the harness wrote at the head of each step is no worker's words, whatever the protocol", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const own = { Alice: " red blue green gold.\n\n", Bob: " cat dog owl elk bee ant.\n\n" }; // steps of other lengths: checks fall to both
  const same = { Alice: own.Alice, Bob: own.Alice };
  const run = async (protocol: Protocol, every: number, scripts: Record<string, string>) => {
    const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
    const ctx = { tokenizer: tok, generation, budgets: [40], finisherTokens: 2, protocol, redundancyEvery: every };
    const solver = newSolver(cache, parseMethod("hogwild:2"), "What is 2 + 2?", 1, ctx);
    await runAll(new Words(tok, scripts), cache, [solver]);
    return solverTrace(solver, "hogwild:2");
  };
  const sameDefault = measures(await run(loadProtocol(), 0, same))!;
  assert.equal(sameDefault.overlap, 1);
  const checked = [0, 0];
  for (const { what, protocol, every } of protocols()) {
    const apart = await run(protocol, every, own), alike = await run(protocol, every, same);
    // the run wrote what the protocol says: the first step's text, the checks (else the case tests nothing)
    const first = protocolText(protocol, "firstStep", { name: "Alice" });
    assert.ok(apart.workers[0].startsWith(protocolText(protocol, "stepPrefix", { name: "Alice", step: "1" }) + first));
    apart.workers.forEach((t, w) => checked[w] += t.includes(protocol.redundancyCheck) ? 1 : 0);
    const m = measures(apart, undefined, protocol)!;
    assert.deepEqual({ overlap: m.overlap, mentions: m.mentions }, { overlap: 0, mentions: [0, 0] }, what);
    assert.equal(measures(alike, undefined, protocol)!.overlap, sameDefault.overlap, what);
    // read with another protocol's prefix, its steps' heads cannot be told: no measures rather than wrong ones
    if (protocol.stepPrefix !== loadProtocol().stepPrefix) {
      assert.equal(
        measuresOrWhy(apart),
        "a step of Alice does not open as the run's protocol writes it (its file changed since?)",
      );
    }
  }
  assert.ok(checked.every((n) => n >= 20), `texts with redundancy checks: ${checked}`);
});

Deno.test("measures: overlap, mentions, steps and who wrote the answer", () => {
  const t = fakeTrace({
    workers: [
      "**Alice [1]:** the sum of the first part is nine. Bob, take the second part.",
      "**Bob [1]:** the sum of the first part is nine. Then \\boxed{12}",
    ],
    steps: [{ worker: 1, step: 1, pass: 4, text: "**Bob [1]:** the sum of the first part is nine. Then \\boxed{12}" }],
    pass_ms: [1, 1, 1, 1],
  });
  const m = measures(
    t,
    {
      checkpoints: [{ source: "early-stop" }],
    } as unknown as Parameters<typeof measures>[1],
  )!;
  assert.deepEqual(m.mentions, [1, 0]); // the header's own name is not a mention
  assert.deepEqual(m.steps, [0, 1]);
  assert.equal(m.answer_by, "Bob");
  // Alice's 4-grams: 13 (16 words, punctuation as words), Bob's 12 (15: "then \ boxed { 12 }"); the 6 of
  // "the sum … is nine ." are in both: the mean over the two ordered pairs is (6/13 + 6/12) / 2, exactly
  assert.equal(m.overlap, (6 / 13 + 6 / 12) / 2);
  const alone = measures({ ...t, names: ["Alice"], workers: [t.workers[0]], steps: [] })!;
  assert.equal(alone.overlap, 0);
  assert.equal(alone.answer_by, null);
});

Deno.test("measures: names of any script are mentions as whole words; a custom protocol's headers are not words", () => {
  const t = fakeTrace({
    names: ["Zoë", "Łukasz"],
    workers: ["<Zoë #1> Łukasz, you check. Łukaszów is a town.", "<Łukasz #1> Zoë said so; Zoëa is no one."],
  });
  const custom = { ...loadProtocol(), stepPrefix: "<{name} #{step}> " };
  const m = measures(t, undefined, custom)!;
  assert.deepEqual(m.mentions, [1, 1]); // the header's own name, and names inside longer words, are not mentions
  // the headers left out of the words: read as words, "# 1 > same" would be a 4-gram the two share
  const same = measures(
    { ...t, workers: ["<Zoë #1> same a b", "<Łukasz #1> same c d"] },
    undefined,
    custom,
  )!;
  assert.equal(same.overlap, 0);
});

Deno.test("measures: text the harness inserted is no writer's words; a trace whose texts are not its steps has none", () => {
  // Two paths that read one trigger and each other's summary (a box among them): their own words share nothing.
  const trigger = "\n\nLet me pause and put down where I stand.\n\n", read = (s: string) => `\n\nA peer: ${s}\n\n`;
  const own = [["I add two and nine.", " Eleven, \\boxed{11}."], ["Seven and one are eight.", " Eight, say Bob."]];
  const steps = own.flatMap(([reasoning, summary], w) =>
    [reasoning, trigger, summary, read(own[1 - w][1])].map((text, i) => ({
      worker: w,
      step: i + 1,
      pass: 4 * (i + 1),
      text,
      ...(i % 2 ? { inserted: true as const } : {}),
    }))
  );
  const t = fakeTrace({
    method: "leap:2",
    workers: [0, 1].map((w) => steps.filter((s) => s.worker === w).map((s) => s.text).join("") + "Then"),
    steps,
  });
  // LeaP's answer is the majority's step, its path's (the checkpoint's writer: the viewer cannot replay its vote)
  const m = measures(
    t,
    { checkpoints: [{ source: "generated", writer: 0 }] } as unknown as Parameters<typeof measures>[1],
  )!;
  assert.equal(m.overlap, 0); // counted over the whole texts, the trigger and the copied summaries are shared
  assert.deepEqual(m.mentions, [0, 0]); // Bob's name in Alice's text is in his summary, which she only read
  assert.deepEqual(m.steps, [2, 2]);
  assert.equal(m.answer_by, "Alice"); // the box Bob read is Alice's
  assert.equal(measures({ ...t, workers: ["Then", t.workers[1]] }), null);
});

Deno.test("measures: the overlap, counted over numbered 4-grams, is the share of joined-string 4-grams, on generated texts", () => {
  // the slow path: each 4-gram as its four words joined
  const grams = (text: string) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
    return new Set(words.slice(3).map((_, i) => words.slice(i, i + 4).join(" ")));
  };
  const rng = new Rng(11), vocab = ["the", "sum", "is", "Nine", "ÉTÉ", "x", "=", "4", ".", ",", "part", "Bob", "12"];
  for (let k = 0; k < 200; k++) {
    const writers = 1 + Math.floor(rng.next() * 4), names = ["Alice", "Bob", "Carol", "Dave"].slice(0, writers);
    const length = Math.floor(rng.next() * 60);
    const workers = names.map((name) =>
      `${name} ` + Array.from({ length }, () => vocab[Math.floor(rng.next() * vocab.length)]).join(" ")
    );
    const t = fakeTrace({ method: "sequential", names, workers, steps: [] });
    const sets = workers.map(grams);
    let sum = 0, pairs = 0;
    for (const [a, x] of sets.entries()) {
      for (const [b, y] of sets.entries()) {
        if (a === b || x.size === 0) continue;
        sum += [...x].filter((g) => y.has(g)).length / x.size, pairs++;
      }
    }
    assert.equal(measures(t)!.overlap, pairs ? sum / pairs : 0, `case ${k}: ${JSON.stringify(workers)}`);
  }
});
