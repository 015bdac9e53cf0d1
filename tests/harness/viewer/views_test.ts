/** The viewer's replay of views (the run's own layouts over labels). */
import assert from "node:assert/strict";
import type { TraceLine } from "../../../harness/bench/rundir.ts";
import { type ViewBlock, viewsAt } from "../../../harness/viewer/views.ts";
import { KVCache } from "../../../engine/cache.ts";
import type { Row } from "../../../engine/plan.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { LAYOUTS } from "../../../harness/generation/layouts.ts";
import { hogwildLayouts, newSolver, parseMethod, replaysViews } from "../../../harness/generation/methods.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { fakeTrace, RowModel, solverTrace } from "../../helpers.ts";

function trace(method: string, names: string[]): TraceLine {
  return fakeTrace({
    method,
    names,
    workers: names.map((n) => `**${n} [1]:** hi`),
    // Alice finishes step 1 at pass 5, Bob at pass 7, Alice step 2 at pass 9
    steps: [
      { worker: 0, step: 1, pass: 5, text: "a1" },
      { worker: 1, step: 1, pass: 7, text: "b1" },
      { worker: 0, step: 2, pass: 9, text: "a2" },
    ],
    pass_ms: new Array(12).fill(1),
  });
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
    const trace = solverTrace(run, id);
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
