/**
 * Hogwild! generation on a real engine (random:qwen3-demo: random weights, the real Qwen3 tokenizer):
 *  - after arbitrary steps and commits, every worker's logits equal the engine's slow key-rotation path (steps
 *    kept as written, or re-encoded into the history);
 *  - the reencode finisher's logits equal a plain forward pass over its transcript, at several states;
 *  - the fork finisher's logits equal the slow key-rotation path on the same cache;
 *  - one worker without collaboration text generates exactly what the sequential baseline generates;
 *  - a problem's greedy results are bit-identical alone or batched with other problems.
 */
import assert from "node:assert/strict";
import type { KVCache } from "../../../engine/cache.ts";
import { Engine } from "../../../engine/model.ts";
import { newSolver, parseMethod, runSpec } from "../../../harness/generation/methods.ts";
import { Run } from "../../../harness/generation/run.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import type { Checkpoint, PlannedRow } from "../../../harness/generation/solver.ts";
import { maxAbsDiff, randInt, Rng } from "../../helpers.ts";

const engine = await Engine.load("random:qwen3-demo");
const tok = engine.tokenizer!;
const STEP_END = tok.encode(".\n\n")[0];
const TOL = 1e-4;

function makeRun(
  cache: KVCache,
  method: string,
  budgets: number[],
  seed = 0,
  problem = "What is 2+2?",
  finisherInput: "ids" | "text" = "ids",
) {
  return new Run(
    cache,
    runSpec(parseMethod(method), problem, seed, {
      tokenizer: tok,
      generation: engine.generation,
      budgets,
      finisherTokens: 4,
      redundancyEvery: 12,
      finisherInput,
    }),
  );
}

/** Tokens a test chooses: random ones, and often a step end, so that steps finish and commit. */
function chooser(seed: number) {
  const rng = new Rng(seed);
  return () => (rng.next() < 0.25 ? STEP_END : randInt(rng, 1000, 150000));
}

function lastRow(l: Float32Array): Float32Array {
  return l.subarray(l.length - engine.vocab);
}

for (
  const method of [
    "hogwild:1",
    "hogwild:2",
    "hogwild:3",
    "hogwild:4",
    "hogwild:6",
    "hogwild:8",
    "hogwild:2:contiguous",
    "hogwild:2:interleaved",
    "hogwild:2:fork",
    "hogwild:3:reencode-steps",
    "hogwild:2:interleaved:fork:reencode-steps",
    "sc:2",
    "sequential",
  ]
) {
  Deno.test(`${method}: every row's logits equal the slow key-rotation path through steps, commits and checkpoints`, () => {
    const [ca, cb] = [engine.newCache(), engine.newCache()];
    const [a, b] = [makeRun(ca, method, [9, 20, 34]), makeRun(cb, method, [9, 20, 34])];
    const next = chooser(method.length);
    let worst = 0, rows = 0;
    while (!a.done) {
      const [pa, pb] = [a.plan(), b.plan()];
      const fast = engine.forward(ca, pa), slow = engine.forward(cb, pb, { keyRotation: true });
      fast.forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(l, slow[i])), rows++));
      const ids = pa.map((r) => (r.sampler ? next() : -1));
      a.accept(ids, 0);
      b.accept(ids, 0);
    }
    assert.ok(b.done);
    assert.ok(a.steps.length > 3, `only ${a.steps.length} steps`);
    assert.deepEqual(a.checkpoints, b.checkpoints);
    console.log(
      `${method}: ${rows} rows over ${a.passes} passes, ${a.steps.length} steps: worst |fast - slow| ${
        worst.toExponential(2)
      }`,
    );
    assert.ok(worst < TOL, `worst ${worst}`);
  });
}

/**
 * Runs `run` to its end on `cache`, the workers' tokens from `write` and the finisher's greedy; at each
 * finisher's first pass, its logits against a plain forward pass over its transcript (`seen`: each transcript,
 * for a test's own look). The number of transcripts compared, and the worst difference.
 */
function finisherAgainstPlain(
  run: Run,
  cache: KVCache,
  write: (row: PlannedRow) => number,
  seen: (transcript: number[]) => void = () => {},
): { checked: number; worst: number } {
  let checked = 0, worst = 0, before = run.phase;
  while (!run.done) {
    const fresh = run.phase === "finish" && before !== "finish"; // the finisher's first pass
    before = run.phase;
    const transcript = fresh ? run.finisherTranscript() : [];
    const rows = run.plan();
    const logits = engine.forward(cache, rows);
    if (fresh && transcript.length) {
      seen(transcript);
      const plain = engine.newCache({ tokens: transcript.length + 16 }), block = plain.newBlock();
      const [want] = engine.forward(plain, [{ block, view: [block], tokens: transcript }]);
      worst = Math.max(worst, maxAbsDiff(lastRow(logits[logits.length - 1]), want));
      checked++;
    }
    const ids = rows.map((r, i) => (r.sampler ? (run.phase === "finish" ? argmax(lastRow(logits[i])) : write(r)) : -1));
    run.accept(ids, 0);
  }
  return { checked, worst };
}

// With reencode-steps the history itself is the finisher's chain: this checks the re-encoded steps too.
for (const method of ["hogwild:2", "hogwild:3:interleaved", "hogwild:2:reencode-steps", "sequential", "sc:2"]) {
  Deno.test(`${method}: the reencode finisher's logits equal a plain forward pass over its transcript`, () => {
    const cache = engine.newCache();
    const run = makeRun(cache, method, [5, 13, 24, 31]);
    const next = chooser(7);
    const { checked, worst } = finisherAgainstPlain(run, cache, () => next());
    console.log(
      `${method}: ${checked} finisher transcripts, ${run.steps.length} steps: worst |finisher - plain| ${
        worst.toExponential(2)
      }`,
    );
    assert.ok(checked >= 3, `${checked} checkpoints read by the finisher`);
    assert.ok(worst < TOL, `worst ${worst}`);
  });
}

// Read as text (--finisher-input text), the finisher's view holds the prompt's block (or nothing) and its row
// the re-encode: its logits are still a plain pass's over what it reads.
for (const method of ["hogwild:2", "hogwild:2:reencode-steps", "sequential"]) {
  Deno.test(`${method}, --finisher-input text: the finisher's logits equal a plain forward pass over its transcript`, () => {
    const cache = engine.newCache();
    const run = makeRun(cache, method, [5, 13, 24, 31], 0, "What is 2+2?", "text");
    const next = chooser(7);
    const { checked, worst } = finisherAgainstPlain(run, cache, () => next());
    assert.ok(checked >= 3, `${checked} checkpoints read by the finisher`);
    assert.ok(worst < TOL, `worst ${worst}`);
  });
}

// A path that ends on a boxed step stops (sc:N): its last token was sampled, never written, and the finisher's
// transcript must still hold it (it once ran that path's answer into the next path's text, one token short).
for (const method of ["sc:2", "sc:2:conf"]) {
  Deno.test(`${method}: a path stopped on its answer is whole in the finisher's transcript`, () => {
    const cache = engine.newCache();
    const run = newSolver(cache, parseMethod(method), "What is 2+2?", 0, {
      tokenizer: tok,
      generation: engine.generation,
      budgets: [30, 40],
      finisherTokens: 4,
    }) as Run;
    const script = [tok.encode("So it is \\boxed{4}.\n\n"), tok.encode(" counting" + " more".repeat(60))];
    const { checked, worst } = finisherAgainstPlain(
      run,
      cache,
      (r) => script[r.block.label.startsWith("Alice") ? 0 : 1].shift() ?? 220,
      (t) => assert.ok(tok.decode(t).includes("So it is \\boxed{4}.\n\n"), tok.decode(t)),
    );
    assert.equal(checked, 2);
    assert.ok(worst < TOL, `worst |finisher - plain| ${worst}`);
  });
}

function argmax(l: Float32Array): number {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
  return best;
}

Deno.test("the fork finisher's logits equal the slow key-rotation path on the same cache", () => {
  const cache = engine.newCache();
  const run = makeRun(cache, "hogwild:3:fork", [6, 15, 27]);
  const next = chooser(11);
  let checked = 0, worst = 0, before = run.phase;
  while (!run.done) {
    const fresh = run.phase === "finish" && before !== "finish";
    before = run.phase;
    const rows = run.plan();
    const logits = engine.forward(cache, rows);
    if (fresh) {
      const tail = rows[rows.length - 1];
      cache.truncate(tail.block, tail.block.length - tail.tokens.length);
      const slow = engine.forward(cache, [tail], { keyRotation: true });
      worst = Math.max(worst, maxAbsDiff(lastRow(logits[logits.length - 1]), lastRow(slow[0])));
      checked++;
    }
    run.accept(
      rows.map((r, i) => (r.sampler ? (run.phase === "finish" ? argmax(lastRow(logits[i])) : next()) : -1)),
      0,
    );
  }
  console.log(`fork finisher: ${checked} checkpoints: worst |fast - slow| ${worst.toExponential(2)}`);
  assert.ok(checked >= 2);
  assert.ok(worst < TOL, `worst ${worst}`);
});

Deno.test("Hogwild! with one worker and no collaboration text generates exactly what sequential generates under the same stops", async () => {
  const sampling = { temperature: 0.9, topK: 0, topP: 0.95, minP: 0 };
  const texts = [];
  // The no-collab ablation keeps Hogwild!'s stops (forbidden tokens, no end of sequence): only the text goes.
  const sequential = { ...parseMethod("sequential"), stopAtEos: false, forbidTokens: true };
  for (const method of [parseMethod("hogwild:1:no-collab"), sequential]) {
    const cache = engine.newCache();
    const run = new Run(
      cache,
      runSpec(method, "Count to three.", 5, {
        tokenizer: tok,
        generation: engine.generation,
        budgets: [40],
        finisherTokens: 4,
        sampling,
      }),
    );
    await runAll(engine, cache, [run]);
    texts.push(run.texts()[0]);
  }
  assert.ok(texts[0].length > 20);
  assert.equal(texts[0], texts[1]);
});

Deno.test("a problem's greedy results are bit-identical alone or batched with other problems and methods", async () => {
  const alone = engine.newCache();
  const a = makeRun(alone, "hogwild:2", [10, 25], 3, "Find x.");
  await runAll(engine, alone, [a]);
  const shared = engine.newCache();
  const b = makeRun(shared, "hogwild:2", [10, 25], 3, "Find x.");
  const others = [
    makeRun(shared, "hogwild:3", [7, 30], 1, "Another problem."),
    makeRun(shared, "sequential", [12], 2, "A third one."),
    makeRun(shared, "sc:2", [9], 4, "A fourth."),
  ];
  await runAll(engine, shared, [others[0], b, ...others.slice(1)]);
  assert.equal(a.texts()[0], b.texts()[0]);
  assert.equal(a.texts()[1], b.texts()[1]);
  const untimed = ({ solo_ms: _s, shared_ms: _w, ...c }: Checkpoint) => c;
  assert.deepEqual(a.checkpoints.map(untimed), b.checkpoints.map(untimed));
});

Deno.test("the fork and the re-encode finisher runs of one seed write the same workers' text (only the finisher differs)", async () => {
  const sampling = { temperature: 0.8, topK: 0, topP: 0.95, minP: 0 };
  for (const method of ["hogwild:2", "sc:2"]) {
    const cache = engine.newCache();
    const make = (m: string) =>
      new Run(
        cache,
        runSpec(parseMethod(m), "Find x.", 9, {
          tokenizer: tok,
          generation: engine.generation,
          budgets: [8, 16, 30],
          finisherTokens: 4,
          sampling,
        }),
      );
    const [exact, fork] = [make(method), make(`${method}:fork`)];
    await runAll(engine, cache, [exact, fork]);
    assert.ok(exact.texts()[0].length > 20);
    assert.deepEqual(fork.texts(), exact.texts(), method);
    assert.equal(
      fork.checkpoints.filter((c) => c.source === "finisher").length,
      exact.checkpoints.filter((c) => c.source === "finisher").length,
    );
  }
});
