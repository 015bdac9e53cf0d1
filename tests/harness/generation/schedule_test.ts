/** step(): each run of a pass takes its own ids; log-probabilities asked for only when a row does, each row its own. */
import { BOXED } from "../../../harness/generation/answer_format.ts";
import assert from "node:assert/strict";
import { type Block, KVCache } from "../../../engine/cache.ts";
import { Engine } from "../../../engine/model.ts";
import { commitPlan, encodePlan, type Row } from "../../../engine/plan.ts";
import { GREEDY, Sampler, type TokenLogprobs } from "../../../engine/sampler.ts";
import { shapeConfig } from "../../../engine/shapes.ts";
import { runJobs, step, type StepModel } from "../../../harness/generation/schedule.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { RowModel } from "../../helpers.ts";
import { type PlannedRow, Solver, type WrittenText } from "../../../harness/generation/solver.ts";

/** A run of writers, one row each per pass, each asking for `ks[i]` log-probabilities; it keeps what it takes. */
class Writers extends Solver {
  readonly taken: { id: number; logprobs?: TokenLogprobs }[][] = [];
  readonly #blocks: Block[];
  constructor(cache: KVCache, readonly ks: (number | undefined)[], passes: number) {
    super(cache, [passes], { eosIds: [], maxTokens: 1, suppress: [], decoder: () => () => "", format: BOXED });
    this.#blocks = ks.map((_, i) => cache.newBlock(`w${i}`));
  }
  protected decodeRows(): PlannedRow[] {
    const taken: { id: number; logprobs?: TokenLogprobs }[] = [];
    this.taken.push(taken);
    return this.#blocks.map((b, i) => ({
      block: b,
      view: [b],
      tokens: [1 + i],
      sampler: new Sampler(GREEDY),
      logprobs: this.ks[i],
      take: (id: number, logprobs?: TokenLogprobs) => void (taken[i] = { id, logprobs }),
    }));
  }
  protected get finished(): boolean {
    return false;
  }
  protected writtenTexts(): WrittenText[] {
    return [];
  }
  protected finisherStart() {
    return undefined;
  }
  protected tokens(): number[] {
    return this.#blocks.map((b) => b.length);
  }
  protected blocks(): Block[] {
    return this.#blocks;
  }
  kvTokens(): number {
    return 0;
  }
  texts(): string[] {
    return [];
  }
  names(): string[] {
    return [];
  }
}

/** Gives row r of a pass id 100 + r and, where asked, log-probabilities that name the row; counts its calls. */
class Scripted implements StepModel {
  plain = 0;
  withLogprobs = 0;
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    this.plain++;
    return Scripted.pass(cache, rows);
  }
  forwardSampleLogprobs(cache: KVCache, rows: readonly Row[]) {
    this.withLogprobs++;
    const ids = Scripted.pass(cache, rows);
    const logprobs = rows.map((row, r) =>
      row.logprobs
        ? { logprob: -r, ids: new Int32Array(row.logprobs).fill(r), logprobs: new Float32Array(1) }
        : undefined
    );
    return { ids, logprobs };
  }
  static pass(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((_, r) => 100 + r);
  }
}

Deno.test("step hands each row of each run its own log-probabilities, and asks for them only when a row does", async () => {
  const engine = await Engine.fromSpec({
    config: { ...shapeConfig("qwen3-demo"), vocab: 64 },
    randomSeed: 3,
    tensors: [],
  });
  const cache = engine.newCache({ tokens: 1024 });
  const model = new Scripted();
  const a = new Writers(cache, [undefined, 3], 2),
    b = new Writers(cache, [1], 2),
    c = new Writers(cache, [undefined], 1);
  await step(model, cache, [a, b, c]);
  assert.deepEqual([model.plain, model.withLogprobs], [0, 1]);
  assert.deepEqual(a.taken[0].map((t) => [t.id, t.logprobs?.logprob, t.logprobs?.ids.length]), [
    [100, undefined, undefined],
    [101, -1, 3],
  ]);
  assert.deepEqual(b.taken[0].map((t) => [t.id, t.logprobs?.logprob, [...t.logprobs!.ids]]), [[102, -2, [2]]]);
  assert.deepEqual(c.taken[0], [{ id: 103, logprobs: undefined }]);
  const d = new Writers(cache, [undefined, undefined], 1);
  await step(model, cache, [d]);
  assert.deepEqual([model.plain, model.withLogprobs], [1, 1], "no row asks: the plain pass");

  // The engine through step(): the ids and log-probabilities of its own forwardSampleLogprobs.
  const e = new Writers(cache, [2, undefined, 20], 1);
  await step(engine, cache, [e]);
  const fresh = engine.newCache({ tokens: 1024 });
  const blocks = [0, 1, 2].map((i) => fresh.newBlock(`w${i}`));
  const want = await engine.forwardSampleLogprobs(
    fresh,
    blocks.map((b, i) => ({ block: b, view: [b], tokens: [1 + i], sampler: new Sampler(GREEDY), logprobs: e.ks[i] })),
  );
  assert.deepEqual(e.taken[0].map((t) => t.id), want.ids);
  assert.deepEqual(e.taken[0].map((t) => t.logprobs), want.logprobs);
  assert.equal(e.taken[0][2].logprobs!.ids.length, 20);
});

Deno.test("each run sharing a pass takes its own rows' ids, with log-probabilities or without", async () => {
  const engine = await Engine.fromSpec({
    config: { ...shapeConfig("qwen3-demo"), vocab: 64 },
    randomSeed: 3,
    tensors: [],
  });
  const cache = engine.newCache({ tokens: 1024 });
  for (const ks of [[undefined], [2]]) {
    const runs = [new Writers(cache, [ks[0], ks[0]], 1), new Writers(cache, [ks[0]], 1), new Writers(cache, ks, 1)];
    await step(new Scripted(), cache, runs);
    assert.deepEqual(runs.map((r) => r.taken[0].map((t) => t.id)), [[100, 101], [102], [103]], `logprobs ${ks[0]}`);
  }
});

Deno.test("a row that asks for logprobs of a model without forwardSampleLogprobs is refused, naming the model", async () => {
  const engine = await Engine.fromSpec({
    config: { ...shapeConfig("qwen3-demo"), vocab: 64 },
    randomSeed: 3,
    tensors: [],
  });
  const cache = engine.newCache({ tokens: 256 });
  class IdsOnly implements StepModel {
    forwardSample = Scripted.pass;
  }
  await assert.rejects(
    () => step(new IdsOnly(), cache, [new Writers(cache, [4], 1)]),
    /IdsOnly: a row asks for logprobs, but this model has no forwardSampleLogprobs/,
  );
});

Deno.test("a run that alone outgrows the cache is told a --kv-tokens that is enough: with it, the run ends", async () => {
  // Steps of a few tokens, where the bound the bench sizes a lone run's cache by assumes 32: the run outgrows a
  // cache of its bound. The size the error gives (the bound at the steps it took so far) is one it fits in.
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const ctx = { tokenizer: tok, generation, budgets: [64, 256], finisherTokens: 8 };
  const methods = ["hogwild:2", "hogwild:3:contiguous", "hogwild:2:interleaved:reencode-steps", "sc:2", "sequential"];
  for (const method of methods) {
    for (const every of [1, 4]) {
      const solver = (c: KVCache) => newSolver(c, parseMethod(method), "What is 2+2?", 0, ctx);
      const run = (tokens: number) =>
        runJobs(new RowModel(tok, every), new KVCache({ bytes: 0, pages: tokens / 16, pageSize: 16 }), [0], {
          concurrency: 1,
          solver,
          done: () => {},
        });
      const bound = solver(new KVCache({ bytes: 0, pages: 0, pageSize: 16 })).kvTokens(16);
      const what = `${method}, a step end every ${every} positions`;
      const e = await run(bound).then(() => undefined, (e: Error) => e);
      assert.ok(e, `${what}: ran in its bound`);
      const advice = /give --kv-tokens (\d+) or more/.exec(e.message);
      assert.ok(advice, e.message);
      const tokens = Number(advice[1]);
      assert.ok(tokens > bound, `${what}: advised ${tokens}, no more than the ${bound} it outgrew`);
      await run(tokens).catch((e: Error) =>
        assert.fail(`${what}: with the advised --kv-tokens ${tokens}: ${e.message}`)
      );
    }
  }
});

Deno.test("a pass past the model's positions names the run that reached past them, among the runs sharing it", async () => {
  // the engine's refusal names the first row past its limit (EncodedPlan.widest); runJobs, the run it belongs to
  const engine = await Engine.load("random:qwen3-demo", { tokenizer: false });
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const ctx = { tokenizer: tok, generation, budgets: [48], finisherTokens: 8 };
  const prompts = new Map([["short", "What is 2+2?"], ["long", `${"seven ".repeat(2000)}What is 2+2?`]]);
  for (const order of [["short", "long"], ["long", "short"]]) {
    const cache = engine.newCache({ tokens: 8192 });
    const e = await runJobs(engine, cache, order, {
      concurrency: 2,
      solver: (c, name) => newSolver(c, parseMethod("sequential"), prompts.get(name)!, 0, ctx),
      done: () => {},
      name: (name) => `(${name}) `,
    }).then(() => undefined, (e: Error) => e);
    assert.match(
      e?.message ?? "",
      /^the run \(long\) stopped: random:qwen3-demo: a pass needs 2049 positions, more than the model's max_position_embeddings 2048/,
      order.join(", "),
    );
  }
});
