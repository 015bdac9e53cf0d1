/**
 * The native library's boundary (cuda/src/addon.cc, spec.cc, sampling.cc) under hostile inputs: every bad one is
 * refused with a JavaScript error naming its argument or field, never a crash, an abort, memory read or written
 * out of bounds, or a silent wrong result. Each case runs in its own process (native_boundary_cases.ts), since
 * one that crashes the addon would take the test runner with it.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { GREEDY, sampleLogits, Sampler } from "../../engine/sampler.ts";
import { fixtureDir } from "../helpers.ts";
import type { Outcome } from "./native_boundary_cases.ts";

const CASES = fileURLToPath(new URL("./native_boundary_cases.ts", import.meta.url));

/** Runs one case in a process of its own; its outcomes by label. */
async function run(name: string): Promise<Map<string, Outcome>> {
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CASES, name],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(p.stdout), stderr = new TextDecoder().decode(p.stderr);
  const lines = stdout.split("\n");
  assert.ok(
    p.code === 0 && lines.includes("DONE"),
    `case ${name} died (exit ${p.code}, signal ${p.signal}) after ${
      lines.filter((l) => l.startsWith("OUT ")).length
    } ` +
      `attempts:\n${stdout.slice(-1500)}\n${stderr.slice(-1500)}`,
  );
  const m = new Map<string, Outcome>();
  for (const l of lines) {
    if (l.startsWith("OUT ")) {
      const o = JSON.parse(l.slice(4)) as Outcome;
      m.set(o.label, o);
    }
  }
  return m;
}

/** The outcome threw an error of class `name` (a list: any of them) whose message matches `pattern`. */
function refused(o: Outcome | undefined, name: string | string[], pattern: RegExp) {
  assert.ok(o, "no such outcome");
  assert.ok(o.threw, `${o.label}: expected a refusal, got ${JSON.stringify(o.value)}`);
  const names = typeof name === "string" ? [name] : name;
  assert.ok(names.includes(o.threw.name), `${o.label}: expected ${names}, got ${o.threw.name}: ${o.threw.message}`);
  assert.match(o.threw.message, pattern, o.label);
}

Deno.test("plan: every word set to each hostile value is refused naming the plan, or runs", async () => {
  const out = await run("plan_words");
  assert.ok(out.size >= 490, `${out.size} attempts`);
  for (const o of out.values()) {
    if (o.threw) assert.match(o.threw.message, /^plan: /, `${o.label}: ${o.threw.message}`);
    // word 7 is the flags: 0 or 1 (key_rotation), never another bit ignored
    if (o.label.startsWith("word 7=")) refused(o, "Error", /^plan: flags/);
  }
});

Deno.test("plan: row_write_start past a block's end is refused, however large (no int32 wrap)", async () => {
  const out = await run("row_write_start_overflow");
  assert.equal(out.size, 3);
  for (const o of out.values()) refused(o, "Error", /^plan: row 0.*row_write_start/);
});

Deno.test("plan: block_page_start outside [0, P] or descending is refused (no int32 wrap)", async () => {
  const out = await run("block_page_start");
  assert.equal(out.size, 6);
  for (const o of out.values()) refused(o, "Error", /^plan: block_page_start/);
});

Deno.test("sampling: every field at each hostile value is refused naming it, or samples a token", async () => {
  const out = await run("sample_fields");
  const ints = ["top_k", "suppress_start", "suppress_count", "logprobs", "logprobs_start"];
  for (const o of out.values()) {
    const [field, text] = o.label.split("=");
    if (!text) continue;
    const v = Number(text);
    if (o.threw) {
      assert.ok(["Error", "RangeError"].includes(o.threw.name), `${o.label}: ${o.threw.name}: ${o.threw.message}`);
      assert.match(o.threw.message, new RegExp(`\\b${field}\\b`), o.label);
    } else {
      assert.ok(
        Number.isInteger(o.value) && (o.value as number) >= 0 && (o.value as number) < 16,
        `${o.label}: ${o.value}`,
      );
    }
    // what must be refused (the rest may sample)
    const must = !Number.isFinite(v) || (ints.includes(field) && (!Number.isInteger(v) || v < 0)) ||
      (field === "temperature" && (v < 0 || (v > 0 && v < 1e-6))) || (field === "top_p" && !(v > 0 && v <= 1)) ||
      (field === "min_p" && !(v >= 0 && v < 1)) || (field === "u" && !(v >= 0 && v <= 1));
    if (must) assert.ok(o.threw, `${o.label} was accepted`);
  }
  refused(out.get("suppress_start+count overflow"), "Error", /suppress_start.*suppress_count|suppress/);
  refused(out.get("logprobs_start+logprobs overflow"), ["Error", "RangeError"], /logprobs_start/);
  for (const id of [-1, 16, 2 ** 30, -(2 ** 31)]) {
    refused(out.get(`suppressed id ${id}`), "Error", /suppress\b.*\[0, 16\)/);
  }
});

Deno.test("sampleLogits: an array of the wrong kind or a bad vocab is a TypeError or RangeError naming it", async () => {
  const out = await run("sample_arrays");
  assert.ok(out.size > 100, `${out.size} attempts`);
  for (const o of out.values()) {
    const arg = o.label.split(":")[0];
    refused(o, ["TypeError", "RangeError"], new RegExp(`^sampleLogits: ${arg.replace(".", "\\.")}\\b`));
  }
});

Deno.test("forward and forwardSample: an array of the wrong kind is a TypeError naming it", async () => {
  const out = await run("pass_arrays");
  assert.ok(out.size > 80, `${out.size} attempts`);
  for (const o of out.values()) {
    const [, fn, arg] = /^(\w+) (\w+):/.exec(o.label)!;
    refused(o, "TypeError", new RegExp(`^${fn}: ${arg}\\b`));
  }
});

Deno.test("a model where a cache is expected, and methods called on the other class, are TypeErrors", async () => {
  const out = await run("wrong_objects");
  for (const o of out.values()) {
    if (o.label === "the model still works") {
      assert.equal(o.value, -1, JSON.stringify(o));
    } else if (o.label.includes(" cache: ")) {
      refused(o, "TypeError", /^forward(Sample)?: cache must be a KV cache/);
    } else if (o.label === "a model with the Cache prototype as cache") {
      refused(o, "TypeError", /^forward: cache must be a KV cache/);
    } else {
      refused(o, "TypeError", /^(Cache|Model): `this` must be a (KV cache|model), got (a model|a KV cache|an object)/);
    }
  }
});

Deno.test("a KV cache made by a model of another shape is refused", async () => {
  const out = await run("cross_model_cache");
  assert.equal(out.size, 2);
  for (const o of out.values()) refused(o, "Error", /cache: made for .*layers.*, this model has/);
});

Deno.test("forwardSample: its inputs changed or detached during the pass change nothing; lost outputs reject", async () => {
  const out = await run("in_flight");
  const clean = out.get("clean")!.value as { ids: number[] };
  assert.equal(clean.ids.length, 2);
  for (const label of ["plan", "specs", "suppress"].flatMap((a) => [`${a} mutated`, `${a} detached`])) {
    assert.deepEqual(out.get(label)?.value, clean, label);
  }
  for (const a of ["ids", "logprobs.ids", "logprobs.sampled", "logprobs.logprobs"]) {
    const v = out.get(`${a} detached`)?.value as { threw?: string };
    assert.match(
      v?.threw ?? "",
      new RegExp(`^forwardSample: ${a.replace(".", "\\.")} was detached during the pass`),
      a,
    );
  }
});

Deno.test("the logprobs object's getters run before any array is read: one detaching a buffer is no use-after-free", async () => {
  const out = await run("getters");
  assert.equal(out.size, 4);
  for (const o of out.values()) {
    if (o.label.startsWith("forwardSample")) assert.equal(o.value, 1, JSON.stringify(o)); // its getter read once
    else refused(o, ["Error", "RangeError", "TypeError"], /^(sampling|sampleLogits)\b/);
  }
});

Deno.test("copyBandwidth: reps below 1 and bytes that are not a size are RangeErrors or TypeErrors naming them", async () => {
  const out = await run("bandwidth_args");
  assert.equal(out.get("copyBandwidth ok")?.value, true);
  for (const o of out.values()) {
    if (o.label === "copyBandwidth ok") continue;
    const [fn, arg] = o.label.split(" ");
    refused(o, ["TypeError", "RangeError"], new RegExp(`^${fn}: ${arg}\\b`));
  }
});

Deno.test("newCache: sizes are never wrapped modulo 2^32; Engine.newCache names pageSize", async () => {
  const out = await run("cache_sizes");
  for (const o of out.values()) {
    if (o.label.startsWith("Engine.")) refused(o, "InputError", /pageSize/);
    else refused(o, ["TypeError", "RangeError"], /^newCache: (pages|pageSize)\b/);
  }
});

Deno.test("a model spec's layers and experts are bounded, refused by name before any list is built", async () => {
  const out = await run("spec_bounds");
  refused(out.get("layers 100000"), "Error", /model spec: layers must be in \[1, \d+\]/);
  refused(out.get("layers 5000"), "Error", /model spec: layers must be in \[1, \d+\]/);
  assert.equal(out.get("layers 100000 ms")?.value, true);
  refused(out.get("experts 2^16"), "Error", /model spec: experts must be in \[1, \d+\]/);
});

Deno.test("arguments of the wrong type name the argument", async () => {
  const out = await run("arg_types");
  for (const o of out.values()) {
    const [fn, arg] = o.label.split(/[ :]/);
    refused(o, "TypeError", new RegExp(`^${fn}: ${arg}\\b`));
  }
});

Deno.test("Sampler: suppressed ids that are not integers in range are refused naming suppress", async () => {
  for (const id of [2 ** 32 + 5, NaN, -1, 1.5, Infinity, 2 ** 31, "3" as unknown as number]) {
    assert.throws(() => new Sampler({ ...GREEDY, suppress: [id] }), (e: Error) => {
      assert.ok(e instanceof InputError, `${id}: ${e}`);
      assert.match(e.message, /suppress/);
      return true;
    });
  }
  const engine = await Engine.load(fixtureDir("qwen3-tiny"), { tokenizer: false });
  const cache = engine.newCache({ tokens: 64 }), b = cache.newBlock();
  const s = new Sampler({ ...GREEDY, suppress: [engine.vocab] });
  await assert.rejects(engine.forwardSample(cache, [{ block: b, view: [b], tokens: [5], sampler: s }]), (e: Error) => {
    assert.ok(e instanceof InputError, String(e));
    assert.match(e.message, new RegExp(`suppress.*${engine.vocab}.*vocabulary`));
    return true;
  });
  assert.equal(b.length, 0, "the refused pass wrote nothing");
  assert.throws(() => sampleLogits(new Float32Array(8), s), /suppress/);
  engine.dispose();
});

Deno.test("Engine.newCache: a pageSize past 2^31 is refused naming pageSize, never wrapped to a small cache", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"), { tokenizer: false });
  for (const pageSize of [2 ** 32 + 16, 2 ** 31, 0, -16, 1.5, NaN]) {
    assert.throws(() => engine.newCache({ tokens: 65536, pageSize }), (e: Error) => {
      assert.ok(e instanceof InputError, `${pageSize}: ${e}`);
      assert.match(e.message, /pageSize must be an integer in \[1, 2\^31\)/);
      return true;
    });
  }
  assert.equal(engine.newCache({ tokens: 64, pageSize: 32 }).capacityTokens, 64);
  engine.dispose();
});
