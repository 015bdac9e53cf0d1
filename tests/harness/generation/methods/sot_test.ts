/**
 * Skeleton-of-Thought (harness/generation/methods/sot.ts): the plan's points; a scripted run through its three stages (the rows
 * of every pass, the shared beginning of the points' prompts, the turns, the re-encoded work, the finisher
 * before the continuation, the early stop); and, on a real engine, that the continuation reads exactly what
 * a plain pass over the plain prompt and the re-encoded work would.
 */
import assert from "node:assert/strict";
import { type Block, KVCache } from "../../../../engine/cache.ts";
import { Engine } from "../../../../engine/model.ts";
import type { Row } from "../../../../engine/plan.ts";
import { sampleLogits } from "../../../../engine/sampler.ts";
import { TextTokenizer } from "../../../../engine/tokenizer.ts";
import { checkMethod, MethodId, newSolver, parseMethod } from "../../../../harness/generation/methods.ts";
import { parseBenchSpec } from "../../../../harness/bench/spec.ts";
import { loadSot } from "../../../../harness/generation/methods/sot.ts";
import { runAll } from "../../../../harness/generation/schedule.ts";
import {
  parsePoints,
  sot as sotFamily,
  type SotMethod,
  SotRun,
  sotSpec,
} from "../../../../harness/generation/methods/sot.ts";
import { maxAbsDiff, randInt, Rng, ScriptedModel } from "../../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const names = (view: readonly Block[]) => view.map((b) => b.label);
const PROBLEM = "What is 2+2?";

Deno.test("the plan's points are its numbered lines, in order, at most the limit", () => {
  const cases: [string, number, string[]][] = [
    ["Plan:\n1. Add the numbers\n2) Check the sum \n\n3.  Write it down", 10, [
      "Add the numbers",
      "Check the sum",
      "Write it down",
    ]],
    ["Plan:\n1.Add\n   2 . Check\nnot a point 3. here\n4.", 10, ["Add", "Check"]],
    ["Plan:\n1. Find each part\n1.1 Find A\n1.2 Find B\n2. Check", 10, ["Find each part", "Check"]],
    ["Plan:\n1. Halve it\n0.5 of 10 is 5\n2. Done", 10, ["Halve it", "Done"]],
    ["Plan:\n1. a\n2. b\n3. c", 2, ["a", "b"]],
    ["Plan: nothing numbered", 10, []],
  ];
  for (const [outline, max, want] of cases) assert.deepEqual(parsePoints(outline, max), want, outline);
});

Deno.test("the plan's points, generated: a number, `.` or `)`, then no digit; sub-numbers, decimals and other near misses are plan text", () => {
  const rng = new Rng(11);
  const pick = <T>(xs: readonly T[]): T => xs[randInt(rng, 0, xs.length - 1)];
  const n = () => String(randInt(rng, 0, 12)),
    words = ["Add", "the sum", "5 apples", "x = 2", "(a) first", "**Check**"];
  // A point: spacing before, inside and after its marker (`1.` `2)` ` 3 .` `4)\t`; none before a label that
  // does not open with a digit: the model writes the first label right after the plan's opening "1."), its
  // label, trailing spaces.
  const point = (label: string) =>
    `${pick(["", " ", "   ", "\t"])}${n()}${pick(["", " "])}${pick([".", ")"])}${
      pick([" ", "  ", "\t", ...(/^\d/.test(label) ? [] : [""])])
    }${label}${pick(["", " ", "\t "])}`;
  // Near misses: none is a point (the plan keeps them as written, for the threads and the continuation).
  const misses = [
    () => `${n()}.${n()} ${pick(words)}`, // a sub-number
    () => `${n()}.${n()}. ${pick(words)}`,
    () => `${n()}.${n()}) ${pick(words)}`,
    () => `${n()}.${randInt(rng, 0, 99)} of 10 is 5`, // a decimal
    () => `${n()}${pick([".", ")", ". ", ")  "])}`, // an empty point
    () => `(${n()}) ${pick(words)}`,
    () => `**${n()}.** ${pick(words)}`,
    () => `- ${n()}. ${pick(words)}`,
    () => `text ${n()}. ${pick(words)}`,
    () => `${n()}: ${pick(words)}`,
    () => `a. ${pick(words)}`,
    () => "",
  ];
  for (let c = 0; c < 300; c++) {
    const lines = ["Plan:"], want: string[] = [];
    for (let i = randInt(rng, 0, 12); i > 0; i--) {
      if (rng.next() < 0.5) {
        const label = pick(words);
        lines.push(point(label)), want.push(label);
      } else lines.push(pick(misses)());
    }
    const outline = lines.join("\n"), max = randInt(rng, 1, 8);
    assert.deepEqual(parsePoints(outline, max), want.slice(0, max), JSON.stringify(outline));
  }
});

/** One scripted Skeleton-of-Thought run (sot:1), shared by the tests below. */
async function scriptedSot() {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const method = sotFamily.parse(new MethodId("sot:1"));
  const spec = sotSpec(method, PROBLEM, 0, { tokenizer: tok, generation, budgets: [3, 80, 200], finisherTokens: 4 });
  const texts = loadSot();
  const model = new ScriptedModel(tok, {
    outline: " Add the two numbers\n2. Check the sum\n\nThat is all.",
    point1: "2 plus 2 is 4.<|im_end|>",
    point2: "4 minus 2 is 2, so the sum holds.<|im_end|>",
    main: "Both points agree.\n\nSo the answer is \\boxed{4}.\n\nnever read",
    finisher: "7}",
  });
  const run = new SotRun(cache, spec);
  await runAll(model, cache, [run]);
  const passes = model.passes;

  return { cache, spec, texts, run, passes };
}
const scripted = scriptedSot();

Deno.test("a scripted Skeleton-of-Thought run: pass 1 writes the plain prompt and the outline's first row", async () => {
  const { passes } = await scripted;
  // Pass 1: the plain prompt (read later by the continuation and the finisher) and the outline's first row.
  assert.deepEqual(passes[0].map((r) => [r.block.label, r.logits]), [["prompt", "none"], ["outline", "last"]]);
  assert.ok(
    tok.decode(passes[0][1].tokens).endsWith(
      "\n\n" + PROBLEM + "<|im_end|>\n<|im_start|>assistant\n<think>\nPlan:\n1.",
    ),
  );
});

Deno.test("a scripted Skeleton-of-Thought run: a checkpoint during the plan: the finisher reads the work so far", async () => {
  const { passes, run, texts } = await scripted;
  // Pass 3 is a checkpoint while the plan is being written: the finisher reads the work so far, the
  // unfinished plan marked, after the plain prompt.
  const fin = passes.find((p) => p[0].block.label === "finisher")!;
  assert.deepEqual(names(fin[0].view), ["prompt", "finisher"]);
  assert.equal(tok.decode(fin[0].tokens), texts.resume + "Plan:\n1. Add the two" + "<...>\n\n" + loadProtocolSuffix());
  assert.deepEqual(run.checkpoints[0], {
    ...run.checkpoints[0],
    budget: 3,
    passes: 3,
    answer: "7",
    source: "finisher",
    finisher_passes: 2,
  });
});

Deno.test("a scripted Skeleton-of-Thought run: the plan's points become threads whose prompts share one block", async () => {
  const { passes, run, spec } = await scripted;
  const firstPoints = passes.findIndex((p) => p.some((r) => r.block.label === "points"));
  // The plan ends where "That" would begin a paragraph; its points become two threads whose prompts'
  // common beginning is one block, written once, with the first thread's row (sot:1: one thread a pass).
  assert.deepEqual(run.points, ["Add the two numbers", "Check the sum"]);
  const shared = passes[firstPoints].find((r) => r.block.label === "points")!;
  const p1 = passes[firstPoints].find((r) => r.block.label === "point1")!;
  assert.equal(shared.logits, "none");
  assert.deepEqual(names(p1.view), ["points", "point1"]);
  const outline = "Plan:\n1. Add the two numbers\n2. Check the sum";
  assert.deepEqual(
    [...Array.from(shared.tokens), ...Array.from(p1.tokens)],
    spec.pointPrompt(outline, 1, "Add the two numbers"),
  );
  assert.ok(tok.decode(shared.tokens).endsWith("\n\nWork out point "), "the threads share all but their own words");
  assert.ok(tok.decode(p1.tokens).startsWith("1 of the plan, and only that point: Add the two numbers."));
});

Deno.test("a scripted Skeleton-of-Thought run: threads take turns, one a pass", async () => {
  const { passes } = await scripted;
  const firstPoints = passes.findIndex((p) => p.some((r) => r.block.label === "points"));
  const contPass = passes.findIndex((p) => p.some((r) => r.block.label === "main"));
  // Turns: one thread a pass, alternating while both are unfinished, then the one left.
  const pointRows = passes.slice(firstPoints).map((p) =>
    p.filter((r) => r.block.label.startsWith("point") && r.block.label !== "points").map((r) => r.block.label)
  );
  const turns = pointRows.slice(0, contPass - firstPoints).map((l) => l.join(","));
  assert.ok(turns.every((t) => t === "point1" || t === "point2"), turns.join(" "));
  assert.deepEqual(turns.slice(0, 6), ["point1", "point2", "point1", "point2", "point1", "point2"]);
  const p1Rows = turns.filter((t) => t === "point1").length, p2Rows = turns.filter((t) => t === "point2").length;
  assert.equal(p1Rows, tok.encode("2 plus 2 is 4.<|im_end|>").length);
  assert.equal(p2Rows, tok.encode("4 minus 2 is 2, so the sum holds.<|im_end|>").length);
});

Deno.test("a scripted Skeleton-of-Thought run: the continuation reads the plan and the points' work re-encoded", async () => {
  const { passes, texts } = await scripted;
  const contPass = passes.findIndex((p) => p.some((r) => r.block.label === "main"));
  // The continuation: after the plain prompt, the plan and each point's work re-encoded, then the join.
  const main = passes[contPass].find((r) => r.block.label === "main")!;
  assert.deepEqual(names(main.view), ["prompt", "main"]);
  assert.equal(
    tok.decode(main.tokens),
    texts.resume + "Plan:\n1. Add the two numbers\n2. Check the sum" + "\n\n**Point 1: Add the two numbers**\n" +
      "2 plus 2 is 4." +
      "\n\n**Point 2: Check the sum**\n" + "4 minus 2 is 2, so the sum holds." + texts.join,
  );
});

Deno.test("the re-read plan ends at its last word: its trailing whitespace is dropped before the first header or the join, for the continuation and the finisher", async () => {
  const texts = loadSot(),
    ws = ["\n\n", ".\n\n", " \n\n", "\n \n", "\n\n\n", ".\n\n\n", "\t\n\n", "\n<|im_end|>", "<|im_end|>"];
  for (const [plan, points] of [[" Add the two numbers\n2. Check the sum", 2], [" \n", 0]] as const) {
    for (const end of ws) {
      const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
      // A checkpoint every pass: the finisher reads the plan too while the points are worked out.
      const ctx = {
        tokenizer: tok,
        generation,
        budgets: Array.from({ length: 60 }, (_, i) => i + 1),
        finisherTokens: 4,
      };
      const spec = sotSpec(sotFamily.parse(new MethodId("sot")), PROBLEM, 0, ctx);
      const outline = plan + end + (end.endsWith("<|im_end|>") ? "" : "That is all.");
      const model = new ScriptedModel(tok, {
        outline,
        point1: "4.<|im_end|>",
        point2: "Yes.<|im_end|>",
        main: "So \\boxed{4}.\n\n",
        finisher: "7}".repeat(60),
      });
      const run = new SotRun(cache, spec);
      await runAll(model, cache, [run]);
      const main = model.passes.flat().find((r) => r.block.label === "main")!;
      const read = tok.decode(main.tokens), what = JSON.stringify(outline);
      // The plan up to its last word ("." of ".\n\n" included).
      const body = (plan + (end.startsWith(".") ? "." : "")).trimEnd(), kept = ("Plan:\n1." + body).trimEnd();
      const next = points ? "\n\n**Point 1: Add the two numbers**\n" : texts.join;
      assert.ok(read.startsWith(texts.resume + kept + next), `${what}: ${JSON.stringify(read)}`);
      // On the token level: the model's own ids up to its last word, then the header (a last token that holds
      // both a word and whitespace, ".\n\n", is its word encoded again).
      const own = tok.encode(body);
      const ids = Array.from(main.tokens);
      assert.deepEqual(ids.slice(0, spec.resume.length), spec.resume, what);
      assert.deepEqual(ids.slice(spec.resume.length + spec.outlineStartIds.length).slice(0, own.length), own, what);
      assert.deepEqual(
        ids.slice(spec.resume.length + spec.outlineStartIds.length + own.length).slice(0, tok.encode(next).length),
        points ? spec.pointHeader(1, "Add the two numbers") : spec.join,
        what,
      );
      assert.equal(run.points.length, points, what);
      const finishers = model.passes.flat().filter((r) => r.block.label === "finisher" && r.tokens.length > 1)
        .map((r) => tok.decode(r.tokens)).filter((t) => t.includes("**Point 1"));
      assert.equal(finishers.length > 0, points > 0, what);
      for (const f of finishers) assert.ok(f.startsWith(texts.resume + kept + next), `${what}: ${JSON.stringify(f)}`);
      run.free();
    }
  }
});

Deno.test("a scripted Skeleton-of-Thought run: the boxed step stops the run; texts, tokens, pages back", async () => {
  const { run, cache } = await scripted;
  // The step with \boxed{4} stops the run: every later checkpoint has that answer.
  assert.ok(run.done);
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.answer, c.source]), [[3, "7", "finisher"], [
    80,
    "4",
    "early-stop",
  ], [200, "4", "early-stop"]]);
  assert.equal(run.checkpoints[1].passes, run.passes);
  assert.deepEqual(run.steps.map((x) => [x.worker, x.step, x.text, tok.decode(x.ids)]), [
    [3, 1, "Both points agree.\n\n", "Both points agree.\n\n"],
    [3, 2, "So the answer is \\boxed{4}.\n\n", "So the answer is \\boxed{4}.\n\n"],
  ]);
  assert.deepEqual(run.texts(), [
    "Plan:\n1. Add the two numbers\n2. Check the sum\n\n",
    "2 plus 2 is 4.",
    "4 minus 2 is 2, so the sum holds.",
    "Both points agree.\n\nSo the answer is \\boxed{4}.\n\n",
  ]);
  assert.deepEqual(run.checkpoints[1].tokens, [
    tok.encode(" Add the two numbers\n2. Check the sum\n\n").length,
    tok.encode("2 plus 2 is 4.").length,
    tok.encode("4 minus 2 is 2, so the sum holds.").length,
    tok.encode("Both points agree.\n\nSo the answer is \\boxed{4}.\n\n").length,
  ]);
  const free = cache.freePages;
  run.free();
  assert.equal(cache.freePages, 4096, `${free} pages free before, ${cache.freePages} after`);
});

Deno.test("a scripted Skeleton-of-Thought run: a box in a point's work answers the point, not the problem", async () => {
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const method = sotFamily.parse(new MethodId("sot"));
  const spec = sotSpec(method, PROBLEM, 0, { tokenizer: tok, generation, budgets: [40, 80], finisherTokens: 4 });
  const model = new ScriptedModel(tok, {
    outline: " Add the two numbers\n2. Check the sum\n\nThat is all.",
    point1: "2 plus 2 is \\boxed{4}.<|im_end|>",
    point2: "So the sum is \\boxed{5}.<|im_end|>",
    main: "The points disagree.\n\nLet me look again at both of them, carefully, one more time." + " Hmm.".repeat(40),
    finisher: "7}7}",
  });
  const run = new SotRun(cache, spec);
  await runAll(model, cache, [run]);
  // Both checkpoints come after the points' boxes, during the continuation, which boxes nothing: each is the
  // finisher's, asked again at the second (version 1 answered "5", the last point's box, and asked nothing).
  assert.deepEqual(run.checkpoints.map((c) => [c.budget, c.answer, c.source]), [[40, "7", "finisher"], [
    80,
    "7",
    "finisher",
  ]]);
  assert.ok(run.checkpoints.every((c) => c.finisher_passes > 0));
  assert.ok(run.checkpoints[0].tokens.length === 4 && run.checkpoints[0].tokens[3] > 0, "the continuation had begun");
  run.free();
});

function loadProtocolSuffix(): string {
  return "\n\nTime is up, so I must answer right now. Taking into account everything written so far, the final answer is \\boxed{";
}

Deno.test("sot on a real engine: the continuation and the finisher read what a plain pass over the prompt and the work reads", async () => {
  const engine = await Engine.load("random:qwen3-demo");
  // Small limits and a plan that already holds a point, so that a random model goes through every stage.
  const sot = {
    ...loadSot(),
    outlineStart: "Plan:\n1. Add the numbers\n2.",
    outlineTokens: 5,
    pointTokens: 4,
    maxPoints: 4,
  };
  for (const id of ["sot", "sot:2"]) {
    const cache = engine.newCache({ tokens: 16384 });
    const ctx = {
      tokenizer: engine.tokenizer!,
      generation: engine.generation,
      budgets: [3, 30, 60],
      finisherTokens: 3,
      texts: { sot },
    };
    const spec = sotSpec(sotFamily.parse(new MethodId(id)), PROBLEM, 1, ctx);
    const run = newSolver(cache, parseMethod(id), PROBLEM, 1, ctx) as SotRun;
    const checked: string[] = [];
    let worst = 0;
    // The engine's pass with its logits kept, sampled by the core's rule on the host.
    const model = {
      forwardSample(c: KVCache, rows: readonly Row[]): number[] {
        const logits = engine.forward(
          c,
          rows.map((r) => ({ ...r, logits: r.sampler ? "last" as const : "none" as const })),
        );
        return rows.map((r, i) => {
          if (!r.sampler) return -1;
          const got = logits[i];
          // A first row after the plain prompt (the continuation's, or the finisher's): a plain pass over the
          // prompt and the row's tokens gives the same logits.
          if (r.view.length === 2 && r.view[0].label === "prompt" && r.tokens.length > 1) {
            const plain = engine.newCache({ tokens: 8192 }), b = plain.newBlock();
            const want = engine.forward(plain, [{
              block: b,
              view: [b],
              tokens: [...spec.mainPrompt, ...Array.from(r.tokens)],
              logits: "last",
            }])[0];
            worst = Math.max(worst, maxAbsDiff(got, want));
            checked.push(r.block.label);
          }
          return sampleLogits(got, r.sampler);
        });
      },
    };
    await runAll(model, cache, [run]);
    assert.ok(run.points.length >= 2, `${id}: points ${JSON.stringify(run.points)}`);
    assert.ok(checked.includes("main") && checked.includes("finisher"), `${id}: checked ${checked}`);
    assert.ok(worst < 1e-4, `${id}: worst |logit error| ${worst}`);
    assert.ok(run.done);
    assert.deepEqual(run.checkpoints.map((c) => c.budget), [3, 30, 60]);
    run.free();
    assert.equal(cache.freePages, cache.capacityTokens / cache.pageSize, `${id}: every page back`);
    console.log(
      `${id}: ${run.points.length} points, ${checked.length} rows checked against plain passes, worst ${
        worst.toExponential(2)
      }`,
    );
  }
});

Deno.test("a Skeleton-of-Thought prompt file with a missing or bad field is refused, naming the file and field", () => {
  const dir = Deno.makeTempDirSync();
  const good = loadSot();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, point: undefined }, /sot\.json: field "point" must be a string/],
    [{ ...good, point: "{{problem}} {{outline}} {{k}}" }, /sot\.json: field "point" must hold \{\{point\}\}/],
    [{ ...good, outline: "no problem here" }, /sot\.json: field "outline" must hold \{\{problem\}\}/],
    [{ ...good, pointTokens: 0 }, /sot\.json: field "pointTokens" must be an integer in 1\.\.65536, got 0/],
    [
      { ...good, outlineTokens: 1e9 },
      /sot\.json: field "outlineTokens" must be an integer in 1\.\.65536, got 1000000000/,
    ],
    [{ ...good, maxPoints: 65 }, /sot\.json: field "maxPoints" must be an integer in 1\.\.64/],
  ];
  for (const [content, message] of cases) {
    const file = `${dir}/sot.json`;
    Deno.writeTextFileSync(file, JSON.stringify(content));
    assert.throws(() => loadSot(file), message);
  }
});

Deno.test("sot:N: one rule, N below the plan's maxPoints (at most 64), whatever the workers' 12 names", () => {
  const dir = Deno.makeTempDirSync();
  for (const most of [2, 10, 13, 64]) {
    const file = `${dir}/sot-${most}.json`;
    Deno.writeTextFileSync(file, JSON.stringify({ ...loadSot(), maxPoints: most }));
    const spec = parseBenchSpec(["--methods", "sot", "--texts", `sot=${file}`])!;
    for (let n = 1; n <= 70; n++) {
      const id = `sot:${n}`, run = () => checkMethod(parseMethod(id), spec);
      if (n < most) {
        run();
        assert.equal((parseMethod(id) as SotMethod).threadsPerPass, n, id);
      } else if (n < 64) {
        assert.throws(run, new RegExp(`^InputError: method ${id}: an outline has at most ${most} points`));
      } else {assert.throws(
          run,
          new RegExp(`^InputError: method ${id}: sot needs a thread count 1\\.\\.63 \\(e\\.g\\. sot:2\\)$`),
        );}
    }
  }
});

Deno.test("the family's check of the settings: a thread count at the outline's maxPoints or past it is sot, refused before any work", () => {
  const spec = (...args: string[]) => parseBenchSpec(["--methods", "sot", ...args])!;
  checkMethod(parseMethod("sot:9"), spec());
  checkMethod(parseMethod("sot"), spec());
  assert.throws(
    () => checkMethod(parseMethod("sot:10"), spec()),
    /^InputError: method sot:10: an outline has at most 10 points \(maxPoints of harness\/generation\/prompts\/sot\.json\), so every point already runs at once: write it as sot$/,
  );
  const file = `${Deno.makeTempDirSync()}/sot.json`;
  Deno.writeTextFileSync(file, JSON.stringify({ ...loadSot(), maxPoints: 3 }));
  checkMethod(parseMethod("sot:2"), spec("--texts", `sot=${file}`));
  assert.throws(
    () => checkMethod(parseMethod("sot:3"), spec("--texts", `sot=${file}`)),
    /at most 3 points \(maxPoints of .*sot\.json\)/,
  );
  // The other families have no such check.
  for (const id of ["hogwild:12", "sc:12", "sequential"]) checkMethod(parseMethod(id), spec("--texts", `sot=${file}`));
});

Deno.test("an outline holding an added token's text (</think>, <|im_end|>) reaches each point's prompt without it, never as the token", () => {
  const spec = sotSpec(sotFamily.parse(new MethodId("sot")), PROBLEM, 0, {
    tokenizer: tok,
    generation,
    budgets: [40],
    finisherTokens: 4,
  });
  const added = ["</think>", "<think>", "<|im_end|>", "<|im_start|>", "<|endoftext|>", "</th</think>ink>"];
  const plain = "Plan:\n1. Add the numbers\n2. Check the sum";
  const clean = spec.pointPrompt(plain, 1, "Add the numbers"), cleanHeader = spec.pointHeader(1, "Add the numbers");
  const count = (ids: number[], id: number) => ids.filter((x) => x === id).length;
  for (const a of added) {
    for (const at of [0, 6, plain.length]) {
      const outline = plain.slice(0, at) + a + plain.slice(at),
        point = at ? "Add the " + a + "numbers" : a + "Add the numbers";
      const ids = spec.pointPrompt(outline, 1, point);
      // the prompt's own special tokens only: as many of each as with the outline written plain
      for (const id of [151643, 151644, 151645, 151667, 151668]) {
        assert.equal(count(ids, id), count(clean, id), `${JSON.stringify(outline)}: ${id}`);
      }
      assert.deepEqual(ids, clean, JSON.stringify(outline));
      assert.deepEqual(spec.pointHeader(1, point), cleanHeader, JSON.stringify(point));
    }
  }
});
