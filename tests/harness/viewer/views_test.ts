/** The viewer's replay of views (the run's own layouts over labels) and its collaboration measures. */
import assert from "node:assert/strict";
import type { TraceLine } from "../../../harness/bench/rundir.ts";
import { measures } from "../../../harness/viewer/measures.ts";
import { loadProtocol } from "../../../harness/generation/prompts.ts";
import { type ViewBlock, viewsAt } from "../../../harness/viewer/views.ts";
import { KVCache } from "../../../engine/cache.ts";
import type { Row } from "../../../engine/plan.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { LAYOUTS } from "../../../harness/generation/layouts.ts";
import { hogwildLayouts, newSolver, parseMethod, replaysViews } from "../../../harness/generation/methods.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { RowModel } from "../../helpers.ts";

function trace(method: string, names: string[]): TraceLine {
  return {
    task: "t",
    problem_id: "p",
    method,
    seed: 1,
    names,
    workers: names.map((n) => `**${n} [1]:** hi`),
    // Alice finishes step 1 at pass 5, Bob at pass 7, Alice step 2 at pass 9
    steps: [
      { worker: 0, step: 1, pass: 5, text: "a1" },
      { worker: 1, step: 1, pass: 7, text: "b1" },
      { worker: 0, step: 2, pass: 9, text: "a2" },
    ],
    pass_ms: new Array(12).fill(1),
  };
}

const show = (v: ViewBlock[]) =>
  v.map((b) => b.kind === "steps" ? `${b.label}#${b.steps![0]}-${b.steps![1]}${b.writing ? "*" : ""}` : b.label)
    .join(" | ");

Deno.test("views: combined shows the history in commit order, then others' and own current steps", () => {
  const t = trace("hogwild:2", ["Alice", "Bob"]);
  assert.deepEqual(viewsAt(t, 1)!.map(show), [
    "prompt | others' steps | Bob#1-1* | own step | Alice#1-1*",
    "prompt | others' steps | Alice#1-1* | own step | Bob#1-1*",
  ]);
  assert.deepEqual(viewsAt(t, 10)!.map(show), [
    "prompt | Alice#1-1 | Bob#1-1 | Alice#2-2 | others' steps | Bob#2-2* | own step | Alice#3-3*",
    "prompt | Alice#1-1 | Bob#1-1 | Alice#2-2 | others' steps | Alice#3-3* | own step | Bob#2-2*",
  ]);
  // a step is in the history from the pass after the one it ended at
  assert.equal(show(viewsAt(t, 5)![0]), "prompt | others' steps | Bob#1-1* | own step | Alice#1-1*");
  assert.equal(show(viewsAt(t, 6)![0]), "prompt | Alice#1-1 | others' steps | Bob#1-1* | own step | Alice#2-2*");
});

Deno.test("views: contiguous keeps each worker's steps in its block; interleaved shows only finished steps of others", () => {
  assert.deepEqual(viewsAt(trace("hogwild:2:contiguous", ["Alice", "Bob"]), 10)!.map(show), [
    "prompt | others' steps | Bob#1-2* | own step | Alice#1-3*",
    "prompt | others' steps | Alice#1-3* | own step | Bob#1-2*",
  ]);
  assert.deepEqual(viewsAt(trace("hogwild:2:interleaved", ["Alice", "Bob"]), 8)!.map(show), [
    "prompt | Alice#1-1 | Bob#1-1 | Alice#2-2*",
    "prompt | Alice#1-1 | Bob#1-1 | Bob#2-2*",
  ]);
  // without the collaboration text there are no headers
  assert.equal(show(viewsAt(trace("hogwild:2:no-collab", ["Alice", "Bob"]), 1)![0]), "prompt | Bob#1-1* | Alice#1-1*");
  assert.equal(viewsAt(trace("sot", ["outline"]), 3), undefined);
});

Deno.test("views: a worker that stopped (an end of sequence) writes no next step after its stop", () => {
  // Alice stops in pass 9, right after her second step: from pass 10 no third step of hers is shown, in any view
  const t = { ...trace("hogwild:2", ["Alice", "Bob"]), ended: [9, null] };
  assert.deepEqual(viewsAt(t, 9)!.map(show), viewsAt(trace("hogwild:2", ["Alice", "Bob"]), 9)!.map(show));
  assert.deepEqual(viewsAt(t, 10)!.map(show), [
    "prompt | Alice#1-1 | Bob#1-1 | Alice#2-2 | others' steps | Bob#2-2* | own step",
    "prompt | Alice#1-1 | Bob#1-1 | Alice#2-2 | others' steps | own step | Bob#2-2*",
  ]);
});

Deno.test("views: a method this build does not name (a tool's own layout) has no replay, not an error", () => {
  assert.equal(viewsAt(trace("hogwild:2:hidden-steps", ["Alice", "Bob"]), 3), undefined);
  assert.ok(viewsAt(trace("hogwild:2", ["Alice", "Bob"]), 3));
});

Deno.test("measures: overlap, mentions, steps and who wrote the answer", () => {
  const t: TraceLine = {
    task: "t",
    problem_id: "p",
    method: "hogwild:2",
    seed: 1,
    names: ["Alice", "Bob"],
    workers: [
      "**Alice [1]:** the sum of the first part is nine. Bob, take the second part.",
      "**Bob [1]:** the sum of the first part is nine. Then \\boxed{12}",
    ],
    steps: [{ worker: 1, step: 1, pass: 4, text: "**Bob [1]:** the sum of the first part is nine. Then \\boxed{12}" }],
    pass_ms: [1, 1, 1, 1],
  };
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
  const t: TraceLine = {
    task: "t",
    problem_id: "p",
    method: "hogwild:2",
    seed: 1,
    names: ["Zoë", "Łukasz"],
    workers: ["<Zoë #1> Łukasz, you check. Łukaszów is a town.", "<Łukasz #1> Zoë said so; Zoëa is no one."],
    steps: [],
    pass_ms: [1],
  };
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

/**
 * A model that keeps, for every pass, each writer's sampling row's view (its blocks' labels): what the writer
 * really read when it drew its next token.
 */
class ViewsModel extends RowModel {
  readonly passes: { writer: string; view: string[] }[][] = [];
  override forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    this.passes.push(
      rows.filter((r) => r.sampler && r.block.label !== "finisher").map((r) => ({
        writer: r.block.label.split(".")[0],
        view: r.view.map((b) => b.label),
      })),
    );
    return super.forwardSample(cache, rows);
  }
  /** deepconf's rows ask for log-probabilities: each writer's tokens equally sure */
  forwardSampleLogprobs(cache: KVCache, rows: readonly Row[]) {
    const ids = this.forwardSample(cache, rows);
    const logprobs = rows.map((r, i) =>
      r.logprobs
        ? {
          logprob: -1,
          ids: Int32Array.from({ length: r.logprobs }, (_, t) => ids[i] + t),
          logprobs: new Float32Array(r.logprobs).fill(-1),
        }
        : undefined
    );
    return { ids, logprobs };
  }
}

/** A real block's label ("Alice.3", "Alice.3.history", "others-header") as the replay names its stand-in. */
const realName = (label: string) => {
  const headers: Record<string, string> = { "others-header": "others' steps", "own-header": "own step", marker: "…" };
  const [who, step] = label.split(".");
  return headers[label] ?? (step === undefined ? who : `${who}#${step}`);
};
const replayName = (b: ViewBlock) => b.kind === "steps" ? `${b.label}#${b.steps![0]}` : b.label;

Deno.test("views: every pass, each writer's replayed view is the one its sampling row read, for every method replayed", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const methods = [
    ...hogwildLayouts().flatMap((l) => {
      const m = `hogwild:3${l === "combined" ? "" : `:${l}`}`;
      return [m, `${m}:no-collab`, ...(LAYOUTS[l].history === "shared" ? [`${m}:reencode-steps`] : [])];
    }),
    "sequential",
    "sc:3",
    "deepconf:3",
  ];
  for (const id of methods) {
    const method = parseMethod(id);
    assert.ok(replaysViews(method), id);
    const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
    const run = newSolver(cache, method, "What is 2 + 2?", 1, {
      tokenizer: tok,
      generation,
      budgets: [60],
      finisherTokens: 2,
    });
    const model = new ViewsModel(tok, 7); // a step every few tokens: many commits, some in one pass
    await runAll(model, cache, [run]);
    const names = run.names();
    const trace: TraceLine = {
      task: "t",
      problem_id: "p",
      method: id,
      seed: 1,
      names,
      workers: run.texts(),
      steps: run.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass, text: s.text })),
      pass_ms: run.passMs,
      ...(run.ended() ? { ended: run.ended()! } : {}),
    };
    assert.ok(trace.steps.length >= 6, `${id}: ${trace.steps.length} steps`);
    let compared = 0;
    for (const [i, rows] of model.passes.slice(0, run.passes).entries()) {
      const replayed = viewsAt(trace, i + 1)!;
      for (const { writer, view } of rows) {
        const w = names.indexOf(writer);
        assert.deepEqual(replayed[w].map(replayName), view.map(realName), `${id}: ${writer}'s view at pass ${i + 1}`);
        compared++;
      }
    }
    assert.ok(compared >= run.passes, id);
  }
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
  const t: TraceLine = {
    task: "t",
    problem_id: "p",
    method: "leap:2",
    seed: 1,
    names: ["Alice", "Bob"],
    workers: [0, 1].map((w) => steps.filter((s) => s.worker === w).map((s) => s.text).join("") + "Then"),
    steps,
    pass_ms: [1],
  };
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
