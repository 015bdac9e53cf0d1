/** The benchmark's flags: defaults, budgets, shards (Slurm arrays too), and the resume key. */
import assert from "node:assert/strict";
import { parseBenchSpec, parseBudgets } from "../../../harness/bench/spec.ts";
import { flagsKey } from "../../../harness/bench/run_key.ts";
import { KVCache } from "../../../engine/cache.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";

Deno.test("budgets: ranges and lists (a set: in any order, each once; one listed twice is refused, as a seed is)", () => {
  assert.deepEqual(parseBudgets("256:1024:256"), [256, 512, 768, 1024]);
  assert.deepEqual(parseBudgets("512,128"), [128, 512]);
  assert.throws(
    () => parseBudgets("512,128,512"),
    /--budgets: a budget is listed twice \(512\)/,
  );
  assert.throws(() => parseBudgets("4,4"), /--budgets: a budget is listed twice \(4\)/);
  assert.throws(() => parseBudgets("10:5:1"), /--budgets 10:5:1/);
  assert.throws(() => parseBudgets("a,b"), /--budgets: expected START:STOP:STEP or a list/);
});

Deno.test("the embedded default, and a spec's resume key ignores concurrency only", () => {
  const d = parseBenchSpec([])!;
  assert.equal(d.model, "engine/models/hogwild-demo");
  assert.deepEqual(d.tasks, ["chains"]);
  assert.deepEqual(d.synthetic, { parts: 4, digits: 2, count: 100 });
  assert.deepEqual(d.budgets, Array.from({ length: 16 }, (_, i) => 8 * (i + 1)));
  assert.deepEqual(parseBenchSpec(["--task", "synthetic"])!.synthetic, { parts: 2, digits: 1, count: 6 });
  assert.deepEqual(d.methods, ["hogwild:2", "hogwild:4", "sequential", "sequential-no-early-stop", "sc:2"]);
  assert.equal(d.device, "cpu");
  const e = parseBenchSpec(["--concurrency", "9"])!;
  assert.deepEqual(flagsKey(d), flagsKey(e));
  assert.notDeepEqual(flagsKey(d), flagsKey(parseBenchSpec(["--seeds", "2"])!));
  assert.equal(parseBenchSpec(["--help"]), null);
});

Deno.test("shards: --shard i/n, or a Slurm job array's variables", () => {
  assert.deepEqual(parseBenchSpec(["--shard", "1/4"])!.shard, { index: 1, count: 4 });
  const env = { SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "5", SLURM_ARRAY_TASK_COUNT: "3" };
  try {
    for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
    assert.deepEqual(parseBenchSpec([])!.shard, { index: 2, count: 3 });
    assert.deepEqual(parseBenchSpec(["--shard", "0/3"])!.shard, { index: 0, count: 3 }, "the flag wins");
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
  assert.equal(parseBenchSpec([])!.shard, undefined);
});

Deno.test("--texts FAMILY=FILE: the file is all after the first '=', an '=' in its name kept", () => {
  const spec = parseBenchSpec(["--methods", "leap:2:every=4", "--texts", "leap=texts/leap=v2.json,sot=a.json"])!;
  assert.deepEqual(spec.texts, { leap: "texts/leap=v2.json", sot: "a.json" });
});

Deno.test("--methods compare on a code task: the families that answer code tasks, at the same budgets", () => {
  const maths = parseBenchSpec(["--task", "chains", "--methods", "compare"])!.methods;
  const code = parseBenchSpec(["--task", "lcb", "--methods", "compare"])!.methods;
  assert.ok(maths.includes("sot") && maths.some((m) => m.startsWith("deepconf")), maths.join(","));
  assert.deepEqual(code, maths.filter((m) => /^(hogwild|sequential|sc)\b/.test(m)));
  assert.ok(code.includes("hogwild:2") && code.includes("sc:4"), code.join(","));
});

Deno.test("sampling flags: only those given are kept (the rest are the model's), none gives none", () => {
  assert.equal(parseBenchSpec([])!.sampling, undefined);
  assert.deepEqual(parseBenchSpec(["--temperature", "0.6"])!.sampling, { temperature: 0.6 });
  assert.deepEqual(parseBenchSpec(["--top-p", "0.9", "--top-k", "0"])!.sampling, { topK: 0, topP: 0.9 });
  assert.deepEqual(parseBenchSpec(["--min-p", "0.05", "--temperature", "0.6"])!.sampling, {
    temperature: 0.6,
    minP: 0.05,
  });
  // greedy, a cut would change nothing: refused, not dropped without a word
  assert.throws(() => parseBenchSpec(["--min-p", "0.05", "--temperature", "0"]), /--temperature 0 .*--min-p/);
});

Deno.test("--finisher-input: ids (the default) leaves the key as older folders have it; text keys apart; others refused", () => {
  const d = parseBenchSpec([])!;
  assert.equal("finisherInput" in flagsKey(d), false);
  assert.deepEqual(flagsKey(parseBenchSpec(["--finisher-input", "ids"])!), flagsKey(d));
  const text = parseBenchSpec(["--finisher-input", "text"])!;
  assert.equal(flagsKey(text).finisherInput, "text");
  assert.throws(() => parseBenchSpec(["--finisher-input", "tokens"]), /--finisher-input: expected ids or text/);
  for (const m of ["hogwild:2:fork", "sc:2:fork", "sot", "groupthink:2", "leap:2"]) {
    assert.throws(
      () => parseBenchSpec(["--finisher-input", "text", "--methods", m]),
      new RegExp(`method ${m}: --finisher-input text`),
    );
    parseBenchSpec(["--methods", m]); // without the flag, as before
  }
  // every method the flag lets through makes its run (the default list holds one without a finisher)
  const tok = TextTokenizer.qwen3(), cache = new KVCache({ bytes: 0, pages: 0, pageSize: 16 });
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  for (
    const m of [...text.methods, "sequential-no-early-stop", "hogwild:2:reencode-steps", "sc:2:conf", "deepconf:2"]
  ) {
    newSolver(cache, parseMethod(m), "What is 2+2?", 1, {
      tokenizer: tok,
      generation,
      budgets: [4],
      finisherTokens: 2,
      finisherInput: "text",
    });
  }
});

Deno.test("--kv-tokens: at most 2^31 tokens (terabytes of KV for any model: no device holds it), refused before any work", () => {
  assert.equal(parseBenchSpec(["--kv-tokens", String(2 ** 31)])!.kvTokens, 2 ** 31);
  for (const v of ["99999999999", String(2 ** 31 + 1)]) {
    assert.throws(
      () => parseBenchSpec(["--kv-tokens", v]),
      new RegExp(`--kv-tokens: expected an integer in 1024\\.\\.${2 ** 31}, got "${v}"`),
    );
  }
});
