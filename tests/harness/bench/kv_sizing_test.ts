/**
 * KV admission: a run's bound (Solver.kvTokens) comes from its real prompt and budgets and holds through whole
 * runs with typical steps; runs that do not fit sit passes out without their results changing; when every run
 * is short of room the bench puts the newest back and its record is the same; the bench with long prompts at a
 * tight --kv-tokens.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KVCache } from "../../../engine/cache.ts";
import { Engine } from "../../../engine/model.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { DEMO_MODEL } from "../../../harness/bench/spec.ts";
import { loadTask } from "../../../tasks/registry.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { KVShortage, runAll, runJobs, step } from "../../../harness/generation/schedule.ts";
import { type Solver, TYPICAL_STEP } from "../../../harness/generation/solver.ts";
import { RowModel, runCli } from "../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const rowModel = (every: number, peak?: { pages: number }) => new RowModel(tok, every, peak);
const LONG = "Here is a long problem statement with many numbers: " +
  Array.from({ length: 400 }, (_, i) => `${i * 7 % 113}`).join(", ") +
  ". Add them.";

const make = (cache: KVCache, method: string, problem: string, seed = 0, budgets = [64, 128, 256]) =>
  newSolver(cache, parseMethod(method), problem, seed, { tokenizer: tok, generation, budgets, finisherTokens: 8 });

const METHODS = [
  "hogwild:2",
  "hogwild:3:contiguous",
  "hogwild:2:interleaved:reencode-steps",
  "hogwild:2:fork",
  "hogwild:4:no-collab",
  "sc:2",
  "sequential",
  "sot:2",
];

Deno.test("a run's KV bound counts its real prompt and holds through a whole run with typical steps", async () => {
  const prompt = tok.encode(LONG).length;
  for (const method of METHODS) {
    const cache = new KVCache({ bytes: 0, pages: 1 << 16, pageSize: 16 });
    const [short, long] = [make(cache, method, "What is 2+2?"), make(cache, method, LONG)];
    const [b0, b1] = [short.kvTokens(16), long.kvTokens(16)];
    assert.ok(b1 - b0 >= prompt - 64, `${method}: a ${prompt}-token problem adds ${b1 - b0} tokens to the bound`);
    short.free();
    const peak = { pages: 0 };
    await runAll(rowModel(TYPICAL_STEP, peak), cache, [long]);
    assert.ok(long.done);
    assert.ok(peak.pages * 16 <= b1, `${method}: peak ${peak.pages * 16} tokens, bound ${b1}`);
    console.log(`${method}: bound ${b1} tokens, peak ${peak.pages * 16} (${(100 * peak.pages * 16 / b1).toFixed(0)}%)`);
  }
});

Deno.test("at a small budget a run's KV bound stays near its peak: no limit a budget cannot reach is counted", async () => {
  // Skeleton-of-Thought's point limit (1024) and LeaP's summary limit (256) are far past a budget of 32 passes:
  // counted whole, they made a bound 10-110 times the peak, and runs that fit together ran one at a time.
  for (const method of ["sot", "sot:2", "leap:2:every=8", "leap:3:every=8", ...METHODS]) {
    const cache = new KVCache({ bytes: 0, pages: 1 << 16, pageSize: 16 });
    const run = make(cache, method, "What is 2+2?", 0, [8, 16, 32]);
    const bound = run.kvTokens(16), peak = { pages: 0 };
    await runAll(rowModel(TYPICAL_STEP, peak), cache, [run]);
    assert.ok(peak.pages * 16 <= bound, `${method}: peak ${peak.pages * 16} tokens, bound ${bound}`);
    assert.ok(
      bound <= 10 * peak.pages * 16,
      `${method}: bound ${bound} tokens, ${bound / (peak.pages * 16)}× its peak`,
    );
  }
});

/** What a run wrote and answered, without wall times. */
const outcome = (r: Solver) => ({
  texts: r.texts(),
  checkpoints: r.checkpoints.map(({ solo_ms: _s, shared_ms: _w, ...c }) => c),
});

Deno.test("a run whose rows do not fit sits the pass out with its plan kept, and ends as it would alone", async () => {
  const alone = [];
  for (const m of ["sequential", "hogwild:2"]) {
    const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
    const r = make(cache, m, LONG, 3, [10, 20]);
    await runAll(rowModel(5), cache, [r]);
    alone.push(outcome(r));
  }
  // Room for the first pass of either, not of both: the second waits until the first is done and freed.
  const prefill = Math.ceil(tok.encode(LONG).length / 16) + 1;
  const cache = new KVCache({ bytes: 0, pages: 2 * prefill + 8, pageSize: 16 });
  const [a, b] = [make(cache, "sequential", LONG, 3, [10, 20]), make(cache, "hogwild:2", LONG, 3, [10, 20])];
  let waited = 0;
  while (!a.done) waited += (await step(rowModel(5), cache, [a, b]))!.waiting;
  assert.equal(b.passes, 0);
  assert.equal(waited, a.passMs.length, "the second run sat out every pass of the first");
  a.free();
  await runAll(rowModel(5), cache, [b]);
  assert.deepEqual([a, b].map(outcome), alone);
  await assert.rejects(
    () => step(rowModel(5), new KVCache({ bytes: 0, pages: 4, pageSize: 16 }), [make(cache, "sequential", LONG)]),
    KVShortage,
  );
});

Deno.test("when no run's next pass fits, the bench puts the newest back to start again; every record is the one it has alone", async () => {
  // Steps of one token: far more blocks than the bound assumes, so the admitted runs outgrow the cache.
  const jobs = ["hogwild:2", "hogwild:2", "sc:2"].map((method, i) => ({ method, seed: i }));
  const solver = (c: KVCache, j: { method: string; seed: number }) =>
    make(c, j.method, "What is 2+2?", j.seed, [30, 60]);
  const alone = [], peaks = [];
  for (const j of jobs) {
    const c = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 }), peak = { pages: 0 };
    const r = solver(c, j);
    await runAll(rowModel(1, peak), c, [r]);
    alone.push(outcome(r));
    peaks.push(peak.pages);
  }
  // Room for any one run at its peak and, by the bound, for two at once; not for two at their peaks.
  const bound =
    Math.max(...jobs.map((j) => solver(new KVCache({ bytes: 0, pages: 0, pageSize: 16 }), j).kvTokens(16))) / 16;
  // Each run writes a text of its own: per seed (the same method again) and per worker.
  assert.notDeepEqual(alone[0].texts, alone[1].texts);
  assert.ok(alone.every((o) => o.texts[0] !== o.texts[1]), "two workers wrote the same text");
  const pages = Math.max(...peaks, 2 * bound);
  assert.ok(pages < peaks[0] + peaks[1], `bound ${bound} pages, peaks ${peaks}`);
  const cache = new KVCache({ bytes: 0, pages, pageSize: 16 });
  const got = new Map<number, ReturnType<typeof outcome>>();
  const errors: string[] = [];
  const log = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    await runJobs(rowModel(1), cache, jobs, { concurrency: 3, solver, done: (j, r) => got.set(j.seed, outcome(r)) });
  } finally {
    console.error = log;
  }
  assert.ok(
    errors.some((e) => /ran short of room for \d+ runs at once; one will start again/.test(e)),
    errors.join("\n"),
  );
  assert.deepEqual([0, 1, 2].map((i) => got.get(i)), alone);
  assert.equal(cache.freePages, cache.native.pages, "every page back");
  // A run that alone outgrows the cache is one clear error.
  const tiny = new KVCache({ bytes: 0, pages: 8, pageSize: 16 });
  await assert.rejects(
    runJobs(rowModel(1), tiny, jobs.slice(0, 1), {
      concurrency: 1,
      solver,
      done: () => {},
      name: (j) => `(${j.method}, seed ${j.seed}) `,
    }),
    /the run \(hogwild:2, seed 0\) needs more than the whole cache \(its bound: \d+ tokens\); give --kv-tokens \d+ or more/,
  );
});

Deno.test("the demo model on chains, sampled: runs put back start again, and every run writes the text it writes alone", async () => {
  const engine = await Engine.load(DEMO_MODEL);
  const { task, problems } = await loadTask("chains", { limit: 1, seed: 1 });
  const ctx = {
    tokenizer: engine.tokenizer!,
    generation: engine.generation,
    collabTemplate: join(DEMO_MODEL, "prompts", "collab.txt"),
    plainTemplate: join(DEMO_MODEL, "prompts", "plain.txt"),
    budgets: [16, 32, 48],
    finisherTokens: task.finisherTokens,
    sampling: { temperature: 1.5, topK: 0, topP: 1, minP: 0 },
  };
  const jobs = problems.flatMap((p) =>
    ["hogwild:2", "sc:2"].flatMap((method) => [1, 2].map((seed) => ({ p, method, seed })))
  );
  // The bound understated to one page: every run is admitted at once, and together they outgrow the cache.
  const solver = (c: KVCache, j: (typeof jobs)[number]) =>
    Object.assign(newSolver(c, parseMethod(j.method), j.p.text, j.seed, ctx), { kvTokens: () => c.pageSize });
  const alone: ReturnType<typeof outcome>[] = [];
  let peak = 0;
  for (const j of jobs) {
    const c = engine.newCache({ tokens: 8192 }), r = solver(c, j);
    await runAll(engine, c, [r], () => peak = Math.max(peak, c.native.pages - c.freePages));
    alone.push(outcome(r));
  }
  // What must show: text, answers, and seeds that write different texts.
  assert.ok(alone.every((o) => o.checkpoints.at(-1)!.answer !== null && o.texts.every((t) => t.length > 20)));
  const differ = alone.filter((o, i) => i % 2 === 0 && JSON.stringify(o) !== JSON.stringify(alone[i + 1]));
  assert.ok(differ.length >= 1, "the seeds wrote the same texts");
  const cache = engine.newCache({ tokens: peak * 16 });
  const got = new Map<number, ReturnType<typeof outcome>>(), errors: string[] = [], log = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    await runJobs(engine, cache, jobs, {
      concurrency: jobs.length,
      solver,
      done: (j, r) => got.set(jobs.indexOf(j), outcome(r)),
    });
  } finally {
    console.error = log;
  }
  assert.ok(
    errors.some((e) => /ran short of room for \d+ runs at once; one will start again/.test(e)),
    errors.join("\n"),
  );
  assert.deepEqual(jobs.map((_, i) => got.get(i)), alone);
  assert.equal(cache.freePages, cache.native.pages, "every page back");
});

const bench = (...args: string[]) => runCli("cli/bench.ts", args);

Deno.test("bench: long prompts at a tight --kv-tokens run fewer at a time, with the records of a roomy run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-kv-"));
  const data = join(dir, "long.jsonl");
  writeFileSync(
    data,
    [0, 1, 2].map((i) => JSON.stringify({ question: `${LONG} Then add ${i}.`, answer: "#### 1" })).join("\n") + "\n",
  );
  const common = [
    "--model",
    "random:qwen3-demo",
    "--task",
    "gsm8k",
    "--data",
    data,
    "--methods",
    "hogwild:2,sc:2",
    "--budgets",
    "4:12:4",
    "--concurrency",
    "4",
  ];
  const roomy = await bench(...common, "--out", join(dir, "roomy"));
  assert.equal(roomy.code, 0, roomy.stderr);
  const need = Number(
    /a run may need up to (\d+)/.exec(
      (await bench(...common, "--kv-tokens", "4096", "--out", join(dir, "probe"))).stderr,
    )?.[1],
  );
  assert.ok(need > tok.encode(LONG).length, `bound ${need}`);
  const tight = await bench(...common, "--kv-tokens", String(need + 16), "--out", join(dir, "tight"));
  assert.equal(tight.code, 0, tight.stderr);
  assert.match(tight.stderr, new RegExp(`a run may need up to ${need}: fewer than 4 runs may go at a time`));
  // Records and traces line for line, but for the wall times (and solo times: each folder has its own cost model).
  const lines = (d: string, file: string) =>
    readFileSync(join(dir, d, file), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      .map((r) =>
        r.pass_ms ? { ...r, pass_ms: r.pass_ms.map(() => 0) } : {
          ...r,
          solo_ms: 0,
          shared_ms: 0,
          checkpoints: r.checkpoints.map((c: object) => ({ ...c, solo_ms: 0, shared_ms: 0 })),
        }
      )
      .sort((a, b) => `${a.problem_id} ${a.method}`.localeCompare(`${b.problem_id} ${b.method}`))
      .map((r) => JSON.stringify(r));
  for (const f of ["records.jsonl", "traces.jsonl"]) assert.deepEqual(lines("tight", f), lines("roomy", f), f);
});
