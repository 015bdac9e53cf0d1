/**
 * Learning from Peers (harness/generation/methods/leap.ts): the similarity and the routing against hand-computed values; its
 * ids; a scripted four-path run through the real scheduler (the summary after exactly T tokens and what its row
 * sees, a path waiting for the others' summaries, which peers' summaries reach which path under each routing and
 * in what order, the passes and solo time counted, the finisher before any answer, the paths' majority after);
 * and, on a real engine, that a path's rows read what a plain pass over its whole sequence reads.
 */
import assert from "node:assert/strict";
import { type Block, KVCache } from "../../../../engine/cache.ts";
import { Engine } from "../../../../engine/model.ts";
import type { Row } from "../../../../engine/plan.ts";
import { sampleLogits } from "../../../../engine/sampler.ts";
import { TextTokenizer } from "../../../../engine/tokenizer.ts";
import { parseBenchSpec } from "../../../../harness/bench/spec.ts";
import { checkMethod, newSolver, parseMethod } from "../../../../harness/generation/methods.ts";
import {
  type LeapMethod,
  LeapRun,
  leapSpec,
  loadLeap,
  route,
  similarity,
} from "../../../../harness/generation/methods/leap.ts";
import { loadProtocol } from "../../../../harness/generation/prompts.ts";
import { runAll } from "../../../../harness/generation/schedule.ts";
import { maxAbsDiff, REVISED, ScriptedModel } from "../../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const names = (view: readonly Block[]) => view.map((b) => b.label);
const decode = (ids: ArrayLike<number>) => tok.decode(Array.from(ids));
const PROBLEM = "What is 2+2?";

Deno.test("similarity: python-Levenshtein's ratio (the authors' routing) over code points, against hand values", () => {
  const cases: [string, string, number][] = [
    ["kitten", "sitting", 8 / 13], // common "ittn": 2·4 / (6 + 7); the edit-distance form would say 1 − 3/7
    ["x is 4.", "x is 5.", 12 / 14],
    ["x is 4.", "x is 45.", 14 / 15],
    ["y is 9.", "x is 45.", 10 / 15],
    ["abc", "abc", 1],
    ["abc", "", 0],
    ["", "", 1],
    ["flaw", "lawn", 6 / 8],
    ["😀a", "😀b", 2 / 4], // one code point of two (UTF-16 units would say 4/6)
    ["So B = 8 and C = 12.", "So B = 8 and C = 12. Next D.", 40 / 48], // the review's case: 0.833, not 0.750
    ["So B = 8 and C = 12.", "So A = 6 and D = 47.", 30 / 40],
  ];
  for (const [a, b, want] of cases) {
    assert.ok(Math.abs(similarity(a, b) - want) < 1e-12, `${a} / ${b}: ${similarity(a, b)} != ${want}`);
    assert.equal(similarity(b, a), similarity(a, b));
  }
});

// The four summaries of the scripted run, and their similarities worked out by hand (2·common / summed length):
// A "x is 4.", B "x is 5.", C "y is 9.", D "x is 45.": AB 12/14, AC 10/14, AD 14/15, BC 10/14, BD 14/15, CD 10/15.
const SIM = [
  [1, 12 / 14, 10 / 14, 14 / 15],
  [12 / 14, 1, 10 / 14, 14 / 15],
  [10 / 14, 10 / 14, 1, 10 / 15],
  [14 / 15, 14 / 15, 10 / 15, 1],
];
const A = 0, B = 1, C = 2, D = 3;
/** Who reads whom, by hand: [routing, k, what A, B, C and D read, in order]. */
const ROUTES: [LeapMethod["routing"], number, number[][]][] = [
  ["dispersed", 1, [[C], [C], [D], [C]]],
  ["dispersed", 3, [[C, B, D], [C, A, D], [D, A, B], [C, A, B]]], // equal similarities keep the paths' order
  ["clustered", 1, [[D], [D], [A], [A]]],
  ["clustered", 3, [[D, B, C], [D, A, C], [A, B, D], [A, B, C]]],
  ["hybrid", 1, [[D], [D], [A], [A]]], // ⌊1/2⌋ = 0 far, then the nearest
  ["hybrid", 2, [[C, D], [C, D], [D, A], [C, A]]],
  ["hybrid", 3, [[C, D, B], [C, D, A], [D, A, B], [C, A, B]]],
];

Deno.test("route: each routing's peers, in order, against hand-computed choices", () => {
  const sim = (a: number, b: number) => SIM[a][b];
  for (const [routing, k, want] of ROUTES) {
    const got = [A, B, C, D].map((self) => route(routing, k, self, [A, B, C, D], sim));
    assert.deepEqual(got, want, `${routing} k=${k}`);
  }
  // Only the paths that wrote a summary are peers; none left, nothing to read.
  assert.deepEqual(route("dispersed", 3, A, [A, B, D], sim), [B, D]);
  assert.deepEqual(route("clustered", 2, A, [A], sim), []);
});

Deno.test("leap ids: defaults left out, options in order; every other spelling refused with the one to use", () => {
  const m = parseMethod("leap:2") as LeapMethod;
  assert.deepEqual(
    [m.family, m.workers, m.routing, m.topK, m.every, m.summaryTokens, m.stopAtEos, m.earlyStop],
    ["leap", 2, "dispersed", 1, 2048, 256, true, false], // the authors' code: a path runs to its end (stop=end)
  );
  assert.equal(parseMethod("leap:4:cut:every=16:stop=box").earlyStop, true);
  const n = parseMethod("leap:6:hybrid:peers=2:every=16:summary=32") as LeapMethod;
  assert.deepEqual([n.routing, n.topK, n.every, n.summaryTokens], ["hybrid", 2, 16, 32]);
  assert.equal((parseMethod("leap:6") as LeapMethod).topK, 4);
  assert.equal((parseMethod("leap:3") as LeapMethod).topK, 2, "every peer when there are fewer than 4");
  assert.equal((parseMethod("leap:1:every=8") as LeapMethod).topK, 0);
  const refused: [string, RegExp][] = [
    ["leap:4:every=16:clustered", /write it as leap:4:clustered:every=16/],
    ["leap:4:dispersed", /write it as leap:4 \(/],
    ["leap:6:peers=4", /write it as leap:6 \(/],
    ["leap:3:peers=2", /write it as leap:3 \(/],
    ["leap:4:every=2048:summary=256", /write it as leap:4 \(/],
    ["leap:2:clustered", /with one peer at most, every routing is the same/],
    ["leap:3:peers=3", /method leap:3:peers=3: peers must be an integer in 1\.\.2, got "3"/],
    ["leap:1:peers=1", /one path has no peers to read/],
    ["leap:4:every=0", /every must be an integer in 1\.\.65536, got "0"/],
    ["leap:4:summary=07", /summary must be an integer in 1\.\.65536, got "07"/],
    ["leap:4:every=8:every=9", /option "every" given twice/],
    [
      "leap:4:random",
      /unknown option "random"; options: dispersed, clustered, hybrid, cut, peers=…, every=…, summary=…, stop=…/,
    ],
    ["leap:4:peers", /unknown option "peers"/],
    ["leap", /leap needs a worker count/],
    ["leap:4:stop=end", /write it as leap:4 \(/],
    ["leap:4:stop=box:cut", /write it as leap:4:cut:stop=box/],
    ["leap:4:stop=box:every=16", /write it as leap:4:every=16:stop=box/],
    ["leap:4:stop=late", /stop must be box or end, got "late"/],
  ];
  for (const [id, message] of refused) assert.throws(() => parseMethod(id), message, id);
});

Deno.test("leap's check of the settings: a T at the largest budget or past it never summarizes, refused", () => {
  const spec = (...args: string[]) => parseBenchSpec(["--methods", "leap:2", ...args])!;
  assert.throws(
    () => checkMethod(parseMethod("leap:2"), spec()),
    /^InputError: method leap:2: a summary every 2048 tokens, but the largest budget is 128 passes, so no path would ever summarize/,
  );
  checkMethod(parseMethod("leap:2:every=127"), spec());
  assert.throws(() => checkMethod(parseMethod("leap:2:every=128"), spec()), /every 128 tokens/);
  checkMethod(parseMethod("leap:2"), spec("--budgets", "4096"));
});

Deno.test("a LeaP texts file with a missing or bad field is refused, naming the file and field", () => {
  const good = loadLeap(), file = `${Deno.makeTempDirSync()}/leap.json`;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, trigger: undefined }, /leap\.json: field "trigger" must be a string/],
    [{ ...good, peers: 3 }, /leap\.json: field "peers" must be a string/],
    [{ ...good, peer: "Solver: {{summary}}" }, /leap\.json: field "peer" must hold \{\{k\}\}/],
    [{ ...good, peer: "Solver {{k}}:" }, /leap\.json: field "peer" must hold \{\{summary\}\}/],
    [{ ...good, resume: "" }, /leap\.json: field "resume" is empty; it must hold text/],
  ];
  for (const [content, message] of cases) {
    Deno.writeTextFileSync(file, JSON.stringify(content));
    assert.throws(() => loadLeap(file), message);
  }
});

// The scripted run: T = 8 reasoning tokens, a summary, the peers' summaries, then each path's answer.
const REASONING = "First I add the two numbers and look";
const SUMMARIES = [" x is 4.\n\n", " x is 5.\n\n", " y is 9.\n\n", " x is 45.\n\n"]; // D's is a token longer
// Bob and Carol write one answer two ways: the majority counts them together (leap 3; 2 counted the texts apart)
const ENDINGS = ["So \\boxed{x=5}.\n\n", "So \\boxed{x=4}.\n\n", "So \\boxed{n=4}.\n\n", "So \\boxed{n=9}.\n\n"];
const PATHS = ["Alice", "Bob", "Carol", "Dave"];
const T = tok.encode(REASONING).length;

/** One scripted run of `id` (leap:4 with t = T), its budgets 3 (before any answer) and 100 (after the end). */
async function scripted(id: string) {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const method = parseMethod(id) as LeapMethod;
  const spec = leapSpec(method, PROBLEM, 0, { tokenizer: tok, generation, budgets: [3, 100], finisherTokens: 4 });
  const scripts = Object.fromEntries(PATHS.map((p, i) => [p, REASONING + SUMMARIES[i] + ENDINGS[i]]));
  for (const [i, p] of PATHS.entries()) { // the pieces tokenize on their own as in the whole script
    const pieces = [REASONING, SUMMARIES[i], ENDINGS[i]].map((s) => tok.encode(s));
    assert.deepEqual(tok.encode(scripts[p]), pieces.flat(), p);
  }
  const model = new ScriptedModel(tok, { ...scripts, finisher: "7}" });
  const run = new LeapRun(cache, spec);
  await runAll(model, cache, [run], undefined, (shape) => shape.tokens);
  return { cache, spec, run, passes: model.passes };
}
const dispersed = scripted(`leap:4:peers=1:every=${T}:stop=box`);

Deno.test("a scripted LeaP run: the summary begins after exactly T reasoning tokens; its row sees the path alone", async () => {
  const { passes, spec } = await dispersed;
  const decoding = passes.filter((p) => p[0].block.label !== "finisher");
  // Pass 1: the shared prompt (all but its last token, no logits) and each path's first row (that last token).
  assert.deepEqual(decoding[0].map((r) => [r.block.label, r.logits]), [
    ["prompt", "none"],
    ...PATHS.map((p) => [p, "last"]),
  ]);
  assert.deepEqual(Array.from(decoding[0][0].tokens), spec.prompt.slice(0, -1));
  // Passes 2..T write reasoning tokens 1..T-1; pass T+1 writes the T-th and the trigger, and samples the summary.
  for (let pass = 2; pass <= T; pass++) {
    assert.ok(decoding[pass - 1].every((r) => r.tokens.length === 1), `pass ${pass}`);
  }
  const trigger = decoding[T];
  assert.equal(trigger.length, 4);
  for (const [i, r] of trigger.entries()) {
    assert.equal(r.block.label, PATHS[i]);
    assert.deepEqual(names(r.view), ["prompt", PATHS[i]]);
    assert.equal(decode(r.tokens), " look" + loadLeap().trigger);
    const before = decoding.slice(0, T).flatMap((p) => p.filter((x) => x.block === r.block));
    assert.equal(before.reduce((n, x) => n + x.tokens.length, 0), T, "the prompt's last token, reasoning 1..T-1");
  }
});

Deno.test("a scripted LeaP run: a path with its summary waits, without a row, for the others' summaries", async () => {
  const { passes } = await dispersed;
  const decoding = passes.filter((p) => p[0].block.label !== "finisher");
  const summaryLength = (i: number) => tok.encode(SUMMARIES[i]).length;
  assert.ok(summaryLength(D) === summaryLength(A) + 1);
  // Alice, Bob and Carol end their summaries one pass before Dave: that pass has Dave's row alone.
  const daveAlone = T + summaryLength(D);
  assert.deepEqual(decoding[daveAlone - 1].map((r) => r.block.label), ["Dave"]);
  assert.deepEqual(decoding[daveAlone].map((r) => r.block.label), PATHS);
});

/** Each path's row that reads its peers' summaries (the first after the summaries), decoded. */
async function insertions(id: string): Promise<string[]> {
  const { passes } = await (id === `leap:4:peers=1:every=${T}:stop=box` ? dispersed : scripted(id));
  const decoding = passes.filter((p) => p[0].block.label !== "finisher");
  const row = decoding[T + tok.encode(SUMMARIES[D]).length];
  return PATHS.map((p) => decode(row.find((r) => r.block.label === p)!.tokens));
}

Deno.test("a scripted LeaP run: each routing sends the hand-computed peers' summaries, in order, into each path", async () => {
  const texts = loadLeap();
  const read = (peers: number[]) =>
    texts.peers + peers.map((j, k) => `\n\nSolver ${k + 1}: ${SUMMARIES[j].trim()}`).join("") + texts.resume;
  for (const [routing, k, want] of ROUTES.filter(([r, k]) => k < 3 && !(r === "hybrid" && k === 1))) {
    const id = `leap:4${routing === "dispersed" ? "" : `:${routing}`}:peers=${k}:every=${T}:stop=box`;
    const got = await insertions(id);
    // Each path's last summary token (sampled, not yet written) comes first; its blank line ends the summary.
    assert.deepEqual(got, want.map((peers) => ".\n\n" + read(peers)), id);
  }
});

Deno.test("a scripted LeaP run: each path's sequence, as its rows wrote it, holds its peers' summaries in order", async () => {
  const { passes, spec } = await dispersed;
  const texts = loadLeap();
  for (const [i, name] of PATHS.entries()) {
    const written = passes.flatMap((p) => p.filter((r) => r.block.label === name).flatMap((r) => Array.from(r.tokens)));
    const peer = [[C], [C], [D], [C]][i][0];
    assert.equal(
      decode(written),
      decode(spec.prompt.slice(-1)) + REASONING + texts.trigger + SUMMARIES[i] + texts.peers + "\n\nSolver 1: " +
        SUMMARIES[peer].trim() + texts.resume + ENDINGS[i].slice(0, -".\n\n".length),
      name,
    );
  }
});

Deno.test("a scripted LeaP run: passes and solo time count every sampling pass and every re-encoded token", async () => {
  const { passes, run, spec } = await dispersed;
  const decoding = passes.filter((p) => p[0].block.label !== "finisher");
  const len = (s: string) => tok.encode(s).length, texts = loadLeap(), P = PATHS.length;
  const ending = len(ENDINGS[0]), summary = len(SUMMARIES[D]);
  // Every pass samples for some path, and every one counts: T reasoning, the longest summary, the answer.
  assert.ok(decoding.every((p) => p.some((r) => r.sampler)));
  assert.equal(run.passes, decoding.length);
  assert.equal(run.passes, T + summary + ending);
  // Solo time under a cost of one per new token: every token of every row of its own passes, by hand.
  const inserted = [C, C, D, C].reduce(
    (n, j) => n + len(texts.peers + `\n\nSolver 1: ${SUMMARIES[j].trim()}` + texts.resume),
    0,
  );
  // The prompt's rest; the prompt's last token and reasoning 1..T-1; the T-th and the trigger; each summary's
  // tokens but its last (Dave's fifth alone); that last one and the peers' text; the answer's tokens but its last.
  const want = (spec.prompt.length - 1) + P * T + P * (1 + len(texts.trigger)) + P * (len(SUMMARIES[A]) - 1) + 1 +
    P + inserted + P * (ending - 1);
  assert.equal(run.checkpoints[1].solo_ms, want);
});

Deno.test("a scripted LeaP run: the finisher reads the first path's sequence; the paths' majority answers", async () => {
  const { passes, run, cache } = await dispersed;
  // Budget 3, before any answer: the finisher after Alice's own blocks, her unfinished reasoning marked.
  const fin = passes.find((p) => p[0].block.label === "finisher")!;
  assert.deepEqual(names(fin[0].view), ["prompt", "Alice", "finisher"]);
  const protocol = loadProtocol();
  assert.equal(decode(fin[0].tokens), " add" + protocol.marker + protocol.finisherSuffix);
  // After the end: Alice says x=5, Bob x=4 and Carol n=4 (one answer), Dave n=9: the majority, in the words of
  // the first to write it, not the first path's (version 2 counted texts: four answers of one vote, Alice's won).
  assert.deepEqual(
    run.checkpoints.map((c) => [c.budget, c.passes, c.answer, c.source, c.finisher_passes]),
    [[3, 3, "7", "finisher", 2], [100, run.passes, "x=4", "generated", 0]],
  );
  // Each path's own answer (the papers' Pass@1 grades these): none at budget 3, each one's box at the end.
  assert.deepEqual(run.checkpoints.map((c) => c.paths), [[null, null, null, null], ["x=5", "x=4", "n=4", "n=9"]]);
  const generated = (i: number) => tok.encode(REASONING + SUMMARIES[i] + ENDINGS[i]).length;
  assert.deepEqual(run.checkpoints[1].tokens, PATHS.map((_, i) => generated(i)));
  // Each path's text is its steps in order (leap 4; 3 recorded the reasoning alone): the reasoning the summary
  // cuts short, the trigger, its summary, its peer's summary read, its answer; the harness's text marked inserted.
  const texts = loadLeap();
  for (const [i, peer] of [C, C, D, C].entries()) {
    const read = texts.peers + `\n\nSolver 1: ${SUMMARIES[peer].trim()}` + texts.resume;
    const own = run.steps.filter((s) => s.worker === i);
    assert.deepEqual(own.map((s) => [s.step, s.text, s.inserted ?? false]), [
      [1, REASONING, false],
      [2, texts.trigger, true],
      [3, SUMMARIES[i], false],
      [4, read, true],
      [5, ENDINGS[i], false],
    ]);
    assert.equal(run.texts()[i], own.map((s) => s.text).join(""));
  }
  run.free();
  assert.equal(cache.freePages, 4096);
});

Deno.test("a LeaP path that ends on its box and then end of sequence answers with that box (its last step)", async () => {
  const text = "I add the two numbers.\n\nSo the answer is \\boxed{4}.<|im_end|>" + " pad".repeat(40);
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const ctx = { tokenizer: tok, generation, budgets: [100], finisherTokens: 4 };
  const run = new LeapRun(cache, leapSpec(parseMethod("leap:2:every=64") as LeapMethod, PROBLEM, 0, ctx));
  await runAll(new ScriptedModel(tok, { Alice: text, Bob: text, finisher: "7}".repeat(3) }), cache, [run]);
  assert.deepEqual(run.checkpoints.map((c) => [c.answer, c.source, c.paths]), [["4", "generated", ["4", "4"]]]);
  assert.deepEqual(run.steps.filter((s) => s.worker === 0).map((s) => s.text), [
    "I add the two numbers.\n\n",
    "So the answer is \\boxed{4}.",
  ]);
});

Deno.test("a LeaP path runs to its end by default (the authors' code reads its whole output: its last box); stop=box ends it at its first box", async () => {
  const whole = tok.encode(REVISED).length - 1, first = tok.encode("So the answer is \\boxed{3}.\n\n").length;
  const cases = [
    ["leap:2:every=64", "7", whole],
    ["leap:2:every=64:stop=box", "3", first],
    // a summary round after its first box (at 12 tokens): a path that boxed goes on to read its peer, and revises
    ["leap:2:every=12", "7", whole],
    ["leap:2:every=12:stop=box", "3", first],
  ] as const;
  for (const [id, answer, tokens] of cases) {
    const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
    const ctx = { tokenizer: tok, generation, budgets: [9, 20, 200], finisherTokens: 4 };
    const run = newSolver(cache, parseMethod(id), PROBLEM, 0, ctx);
    await runAll(new ScriptedModel(tok, { Alice: REVISED, Bob: REVISED }), cache, [run]);
    const [cp9, cp20, last] = run.checkpoints;
    assert.deepEqual([last.answer, last.source, last.paths, last.tokens], [answer, "generated", [answer, answer], [
      tokens,
      tokens,
    ]], id);
    // At a checkpoint a path still going is cut there (the authors' code at that token limit): its answer the
    // last box it has written, its step unfinished at 9 passes (the box closed, not its line) included.
    assert.deepEqual([cp9.answer, cp9.source, cp9.paths], ["3", "generated", ["3", "3"]], id);
    if (id.includes("stop=box")) assert.deepEqual(cp20, { ...last, budget: 20 }, id);
    else assert.deepEqual([cp20.answer, cp20.source, cp20.paths], ["3", "generated", ["3", "3"]], id);
    assert.ok(run.texts().every((t) => t.includes(answer === "7" ? "\\boxed{7}" : "\\boxed{3}.\n\n")), id);
    // the round after the first box came (the trigger, the peer's summary read) where the path went on
    assert.equal(run.steps.some((s) => s.inserted), id === "leap:2:every=12", id);
    run.free();
  }
});

Deno.test("a scripted LeaP run with cut: the unfinished paragraph leaves the cache and the text, and stays counted", async () => {
  const first = "I add the two numbers.\n\n", rest = "Then I look at them";
  const summary = " x is 4.\n\n", ending = "So \\boxed{4}.\n\n", t = tok.encode(first + rest).length;
  const scripts = { Alice: first + rest + summary + ending, Bob: first + rest + summary + ending };
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const ctx = { tokenizer: tok, generation, budgets: [100], finisherTokens: 4 };
  const id = `leap:2:cut:every=${t}:stop=box`;
  const run = new LeapRun(cache, leapSpec(parseMethod(id) as LeapMethod, PROBLEM, 0, ctx));
  const model = new ScriptedModel(tok, scripts);
  await runAll(model, cache, [run]);
  const texts = loadLeap(), after = texts.trigger.replace(/^\n+/, "");
  // Pass t samples the paragraph's last token; the next row writes the trigger alone, after the blank line.
  const row = model.passes[t].find((r) => r.block.label === "Alice")!;
  assert.equal(decode(row.tokens), after);
  // Its block holds what its rows wrote but the paragraph's tokens (all written but the last, never written).
  const written = model.passes.flat().filter((r) => r.block === row.block).reduce((n, r) => n + r.tokens.length, 0);
  assert.equal(row.block.length, written - (tok.encode(rest).length - 1), "the cut tokens left");
  assert.ok(run.texts()[0].startsWith(first + after + summary));
  assert.ok(!run.texts()[0].includes(rest));
  // The first paragraph is a step; the cut one is none, as it is in no text; every sampled token stays counted.
  const own = run.steps.filter((s) => s.worker === 0);
  assert.deepEqual(own.map((s) => s.text), [
    first,
    after,
    summary,
    texts.peers + "\n\nSolver 1: x is 4." + texts.resume,
    ending,
  ]);
  assert.equal(run.texts()[0], own.map((s) => s.text).join(""));
  const cp = run.checkpoints[0];
  assert.deepEqual(cp.tokens, [0, 1].map(() => tok.encode(first + rest + summary + ending).length));
  assert.deepEqual([cp.answer, cp.paths], ["4", ["4", "4"]]);
  assert.equal(run.passes, t + tok.encode(summary).length + tok.encode(ending).length);
  run.free();
  assert.equal(cache.freePages, 4096);
  // Without a blank line before the trigger nothing is cut: the run is leap's own.
  assert.equal((parseMethod("leap:4:cut") as LeapMethod).cut, true);
  assert.equal((parseMethod("leap:4") as LeapMethod).cut, false);
  assert.throws(() => parseMethod("leap:4:cut:clustered"), /write it as leap:4:clustered:cut/);
});

Deno.test("cut never reaches into text written for the path: a resume without a blank line bounds it", async () => {
  const first = "I add the two numbers.\n\nThen I", t = tok.encode(first).length;
  const second = " \\boxed{7} hmm no wait let me see", summary = " x is 4.\n\n", ending = "So \\boxed{4}.\n\n";
  const cut = tok.encode(second).slice(0, t); // the second round's first T tokens, all of them cut
  const texts = { ...loadLeap(), resume: "\n\nGo on." };
  const ctx = { tokenizer: tok, generation, budgets: [200], finisherTokens: 4 };
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const run = new LeapRun(
    cache,
    leapSpec(parseMethod(`leap:2:cut:every=${t}:stop=box`) as LeapMethod, PROBLEM, 0, ctx, texts),
  );
  const script = first + summary + tok.decode(cut) + summary + ending;
  assert.deepEqual(
    tok.encode(script),
    [first, summary].flatMap((s) => tok.encode(s)).concat(cut, tok.encode(summary + ending)),
  );
  await runAll(new ScriptedModel(tok, { Alice: script, Bob: script }), cache, [run]);
  const text = run.texts()[0];
  assert.ok(text.includes("Go on.") && !text.includes("boxed{7}"), text);
  assert.ok(run.steps.every((s) => !s.text.includes("boxed{7}")), "no step of cut text");
  assert.deepEqual([run.checkpoints[0].answer, run.checkpoints[0].paths], ["4", ["4", "4"]]);
  run.free();
  assert.equal(cache.freePages, 4096);
});

Deno.test("leap on a real engine: a path's rows read what a plain pass over the prompt and its sequence reads", async () => {
  const engine = await Engine.load("random:qwen3-demo");
  const blank = engine.tokenizer!.encode(".\n\n")[0];
  for (
    const id of [
      "leap:2:every=3:summary=2",
      "leap:3:clustered:peers=1:every=2:summary=3",
      "leap:2:cut:every=4:summary=2",
    ]
  ) {
    // for the cut: a blank line as every path's second token, so that its third and fourth leave its cache
    const sampled = new Map<string, number>();
    const cache = engine.newCache({ tokens: 16384 });
    const ctx = { tokenizer: engine.tokenizer!, generation: engine.generation, budgets: [4, 20], finisherTokens: 3 };
    const run = newSolver(cache, parseMethod(id), PROBLEM, 1, ctx) as LeapRun;
    const prompt = leapSpec(parseMethod(id) as LeapMethod, PROBLEM, 1, ctx).prompt;
    const sequences = new Map<string, number[]>();
    let worst = 0, checked = 0;
    const model = {
      forwardSample(c: KVCache, rows: readonly Row[]): number[] {
        const logits = engine.forward(
          c,
          rows.map((r) => ({ ...r, logits: r.sampler ? "last" as const : "none" as const })),
        );
        return rows.map((r, i) => {
          if (r.block.label === "prompt") return -1;
          // the block as it was before this pass (a cut may have shortened it), then this row's tokens
          const before = r.block.length - r.tokens.length;
          const own = r.block.label === "finisher" ? [] : (sequences.get(r.block.label) ?? []).slice(0, before);
          if (r.block.label !== "finisher") sequences.set(r.block.label, own.concat(Array.from(r.tokens)));
          // Rows with text written for the path (the trigger, the peers' summaries): a plain pass agrees.
          if (r.tokens.length > 1 && r.block.label !== "finisher") {
            const plain = engine.newCache({ tokens: 8192 }), b = plain.newBlock();
            const seq = [...prompt.slice(0, -1), ...sequences.get(r.block.label)!];
            const want = engine.forward(plain, [{ block: b, view: [b], tokens: seq, logits: "last" }])[0];
            worst = Math.max(worst, maxAbsDiff(logits[i], want)), checked++;
          }
          const n = (sampled.get(r.block.label) ?? 0) + 1;
          sampled.set(r.block.label, n);
          return id.includes(":cut") && n === 2 && r.block.label !== "finisher"
            ? blank
            : sampleLogits(logits[i], r.sampler!);
        });
      },
    };
    await runAll(model, cache, [run]);
    assert.ok(checked >= 4, `${id}: ${checked} rows checked`);
    assert.ok(worst < 1e-4, `${id}: worst |logit error| ${worst}`);
    assert.deepEqual(run.checkpoints.map((c) => c.budget), [4, 20]);
    run.free();
    assert.equal(cache.freePages, cache.capacityTokens / cache.pageSize, `${id}: every page back`);
    console.log(`${id}: ${checked} rows checked against plain passes, worst ${worst.toExponential(2)}`);
  }
});

Deno.test("a peer's summary holding an added token's text (</think>, <|im_end|>) is read without it, never as the token", () => {
  const spec = leapSpec(parseMethod("leap:2") as LeapMethod, PROBLEM, 0, {
    tokenizer: tok,
    generation,
    budgets: [40],
    finisherTokens: 4,
  });
  const summary = "I think the sum is 4, by adding.";
  const clean = spec.reading([summary, summary], true);
  for (const a of ["</think>", "<think>", "<|im_end|>", "<|endoftext|>", "</th</think>ink>"]) {
    for (const at of [0, 8, summary.length]) {
      const spoiled = summary.slice(0, at) + a + summary.slice(at);
      assert.deepEqual(spec.reading([spoiled, summary], true), clean, JSON.stringify(spoiled));
    }
  }
});
