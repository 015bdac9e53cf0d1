/** deno task perf: its flags, its refusals, and the harness-overhead table. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNative } from "../../../engine/native.ts";
import { shapeConfig } from "../../../engine/shapes.ts";
import { checkMemory, enginePerf, unreadExpertBytes, weightBytesRead } from "../../../harness/perf/engine.ts";
import { paperTable } from "../../../harness/perf/paper_table.ts";
import { viewsPerf } from "../../../harness/perf/views.ts";
import { codeGradingPerf } from "../../../harness/perf/code.ts";
import { totalmem } from "node:os";
import type { ModelConfig } from "../../../engine/config.ts";
import { Engine } from "../../../engine/model.ts";
import { encodeSpec, type ModelSpec, storedBytes } from "../../../engine/spec.ts";

const PERF = new URL("../../../cli/perf.ts", import.meta.url).pathname;

async function perf(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-env",
      "--allow-sys",
      "--allow-run",
      "--allow-net=127.0.0.1,localhost",
      PERF,
      ...args,
    ],
    env: { RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("perf refuses bad flags with one line naming the flag", async () => {
  for (
    const [args, message] of [
      [
        ["--workers", "0,2"],
        /^error: --workers: expected comma-separated positive integers; in "0,2": expected an integer ≥ 1, got "0"\n$/,
      ],
      [
        ["--context", "4k"],
        /^error: --context: expected comma-separated positive integers; in "4k": expected an integer ≥ 1, got "4k"\n$/,
      ],
      [["--device", "tpu"], /^error: --device: expected cpu or cuda, got "tpu"\n$/],
      // --cuda as the bench reads it: refused on the CPU (it was ignored there), a bad option named by the flag
      [
        [
          "--cuda",
          "gemm=mma",
          "--model",
          "random:qwen3-demo",
          "--workers",
          "1",
          "--context",
          "16",
          "--iterations",
          "1",
        ],
        /^error: --cuda goes with --device cuda \(the CPU takes no options\)\n$/,
      ],
      [["--device", "cuda", "--cuda", "bogus=1"], /^error: --cuda: cuda option "bogus": unknown \(known: .*\)\n$/],
      [["--model", "random:nope"], /^error: .*nope/],
      [["--workers", "1,1"], /^error: --workers 1,1: a value twice\n$/],
      [["--workers", "100000"], /^error: --workers 100000: at most 1024\n$/],
      [["--json", "/nonexistent/x.json"], /^error: --json \/nonexistent\/x\.json: no folder \/nonexistent\n$/],
      [["--seconds", "5"], /^error: --seconds does not apply without --code-grading\n$/],
      [["--skip-engine"], /^error: --skip-engine and --skip-harness: nothing left to measure\n$/],
      [["--paper-table", "--json", "x.json"], /^error: --json does not apply to --paper-table\n$/],
      [["--paper-table", "--code-grading"], /^error: --paper-table and --code-grading: one at a time\n$/],
      [["--viewer", "--code-grading"], /^error: --code-grading and --viewer: one at a time\n$/],
      [["--records", "10"], /^error: --records does not apply without --viewer\n$/],
      [["--viewer", "--workers", "2"], /^error: --workers does not apply to --viewer\n$/],
      // the model flags name nothing the viewer or the harness alone times: refused, not ignored
      [["--viewer", "--model", "random:qwen3-demo"], /^error: --model does not apply to --viewer\n$/],
      [["--viewer", "--device", "cuda"], /^error: --device does not apply to --viewer\n$/],
      [["--viewer", "--allow-long-context"], /^error: --allow-long-context does not apply to --viewer\n$/],
      [
        ["--skip-engine", "--model", "random:qwen3-demo"],
        /^error: --model does not apply with --skip-engine \(the harness is timed on a backend that does nothing\)\n$/,
      ],
      [
        ["--skip-engine", "--device", "cuda", "--cuda", "gemm=mma"],
        /^error: --device does not apply with --skip-engine/,
      ],
      [["--skip-engine", "--allow-long-context"], /^error: --allow-long-context does not apply with --skip-engine/],
      [["--views", "--workers", "2"], /^error: --workers does not apply to --views\n$/],
      [["--views", "--viewer"], /^error: --viewer and --views: one at a time\n$/],
      [["--viewer", "--records", "0"], /^error: --records: expected comma-separated positive integers; in "0"/],
      [
        ["--viewer", "--chromium", "/nonexistent/chromium"],
        /^error: --chromium \/nonexistent\/chromium: no browser there/,
      ],
      // the paper's 16k contexts past the demo model's 2048 positions: refused before any timing, not a stack trace
      [
        ["--paper-table", "--model", "engine/models/hogwild-demo"],
        /^error: --paper-table: the paper's context 2048: .* past the model's 2048 positions/,
      ],
    ] as const
  ) {
    const alone = args[0] === "--paper-table" || args[0] === "--viewer" ||
      (args[0] === "--skip-engine" && args.length > 1);
    const r = await perf(...args, ...(alone ? [] : ["--skip-harness"]));
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

Deno.test("perf --device cuda says why when there is no usable GPU", async () => {
  const gpu = loadNative().cudaInfo();
  const r = await perf(
    "--device",
    "cuda",
    "--model",
    "random:qwen3-demo",
    "--workers",
    "1",
    "--context",
    "16",
    "--iterations",
    "1",
    "--skip-harness",
  );
  if (gpu.deviceCount > 0) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| 1 \| 16 \| /m);
  } else {
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --device cuda: no usable GPU \(.+\)\n$/);
  }
});

Deno.test("perf times the harness alone on a backend that does nothing", async () => {
  const json = join(mkdtempSync(join(tmpdir(), "hogwild-perf-")), "perf.json");
  const r = await perf("--skip-engine", "--workers", "2", "--json", json);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(readFileSync(json, "utf8")).harness as { workers: number; problems: number; ms: number }[];
  assert.deepEqual(rows.map((x) => [x.workers, x.problems]), [[2, 1], [2, 8], [2, 32]]);
  for (const x of rows) {
    assert.ok(x.ms > 0 && x.ms < 50, `${x.problems} problems: ${x.ms} ms per pass`);
    assert.match(r.stdout, new RegExp(`^\\| 2 \\| ${x.problems} \\| ${x.ms.toFixed(3)} \\|`, "m"));
  }
});

Deno.test("perf --paper-table prints the paper's Table 1 on this device beside the paper's rows", async () => {
  // the demo shape's 2048 positions stand in for QwQ's at the paper's contexts
  const r = await perf("--paper-table", "--model", "random:qwen3-demo", "--iterations", "1", "--allow-long-context");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# The paper's Table 1 on this CPU, random:qwen3-demo/);
  assert.match(r.stdout, /\| metric \| workers \| where \| 1024 \| 2048 \| 4096 \| 8192 \| 16384 \|/);
  for (const metric of ["tokens/s", "latency/forward \\(ms\\)", "time to generate N tokens \\(s\\)"]) {
    for (const w of [1, 2, 4]) {
      assert.match(r.stdout, new RegExp(`^\\| ${metric} \\| ${w} \\| here( \\| \\d+\\.\\d){5} \\|$`, "m"));
      assert.match(r.stdout, new RegExp(`^\\| ${metric} \\| ${w} \\| NVIDIA L40S( \\| \\d+\\.\\d){5} \\|$`, "m"));
    }
  }
  assert.match(r.stdout, /\| tokens\/s \| 4 \| NVIDIA L40S \| 68\.9 \| 69\.0 \| 69\.1 \| 66\.3 \| 60\.3 \|/);
});

Deno.test("perf --views: the same KV tokens as one block or many, measured beside the cost model with and without its block terms", async () => {
  const demo = new URL("../../../engine/models/hogwild-demo", import.meta.url).pathname;
  // 8192 KV tokens past the demo model's 2048 positions: refused without the flag, as every perf mode does
  const refused = await perf("--views", "--model", demo, "--iterations", "1");
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--views: its views' KV 8192.*--allow-long-context/);
  const json = join(mkdtempSync(join(tmpdir(), "hogwild-perf-views-")), "views.json");
  const r = await perf("--views", "--model", demo, "--iterations", "1", "--allow-long-context", "--json", json);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# 8192 KV tokens as one block or many, on this CPU/m);
  const { views } = JSON.parse(readFileSync(json, "utf8")).views as {
    views: { rows: number; blocks: string; shape: { segments: number; blocks: number }; before_ms: number }[];
  };
  // one block, blocks of 32, 16 and 8 end to end (the review's repro), blocks of steps' lengths and short ones
  // scattered (a run's views, as the calibration times them): for one row and four
  const kinds = [
    /^1 of 8192$/,
    /^256 of 32$/,
    /^512 of 16$/,
    /^1024 of 8$/,
    /^\d+ of steps .*scattered$/,
    /^\d+ of short/,
  ];
  assert.equal(views.length, 2 * kinds.length);
  views.forEach((v, i) => {
    assert.equal(v.rows, i < kinds.length ? 1 : 4);
    assert.match(v.blocks, kinds[i % kinds.length]);
    // every row reads every block and its own
    assert.equal(v.shape.segments, v.rows * (v.shape.blocks - v.rows + 1));
    assert.ok(r.stdout.includes(`| ${v.rows} | ${v.blocks} | ${v.shape.segments} |`), v.blocks);
    // the model without the block terms cannot tell the views apart: it predicts them all alike
    assert.ok(Math.abs(v.before_ms - views[v.rows === 1 ? 0 : kinds.length].before_ms) < 1e-9, JSON.stringify(v));
  });
});

Deno.test("perf --code-grading: programs graded per second, and the engine's passes with and without grading", async () => {
  const r = await perf("--code-grading", "--model", "random:qwen3-demo", "--seconds", "1");
  assert.equal(r.code, 0, r.stderr);
  for (
    const row of [
      /^\| grading alone, sandboxed \| — \| \d+\.\d \| — \|$/m,
      /^\| grading alone, --unsafe-exec \| — \| \d+\.\d \| — \|$/m,
      /^\| the engine alone \| \d+\.\d \| — \| 1\.00 \|$/m,
      /^\| the engine and sandboxed grading \| \d+\.\d \| \d+\.\d \| \d\.\d\d \|$/m,
    ]
  ) assert.match(r.stdout, row);
});

/** A small random model of `shape`'s family and format (its config's dtype, quantisation, experts), loadable here. */
function small(shape: string, more: Partial<ModelConfig> = {}): ModelConfig {
  const c = shapeConfig(shape);
  return {
    ...c,
    hidden: 512,
    intermediate: 1024,
    layers: 2,
    heads: 8,
    kvHeads: 2,
    headDim: 64,
    vocab: 32768,
    tiedEmbeddings: false,
    ...(c.moe ? { moe: { ...c.moe, experts: 8, topK: 2, intermediate: 128, sparseLayers: [0, 1] } } : {}),
    ...more,
  };
}

// A random float16 shape (random:qwq-32b-awq's embedding and LM head) is stored bf16 on the CPU like every random
// weight, but perf counted its embedding at 4 bytes a weight (a real float16 checkpoint's float32): the table
// subtracted was twice what the engine holds, the floor ~8.5% low and the ratio ~9% high at full size.
Deno.test("perf's floor counts the weights as the engine stores them, random and real, on each device", async () => {
  const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
  const models: [string, ModelSpec][] = [
    ...([
      ["random bf16", small("qwq-32b")],
      ["random float16", small("qwq-32b", { dtype: "F16" })],
      ["random float32", small("qwq-32b", { dtype: "F32" })],
      ["random AWQ (float16)", small("qwq-32b-awq")],
      ["random FP8", small("qwen3-32b-fp8")],
      ["random mixture of experts", small("qwen3-30b-a3b")],
      ["random float16 mixture of experts", small("qwen3-30b-a3b", { dtype: "F16" })],
    ] as const).map(([what, config]): [string, ModelSpec] => [what, { config, randomSeed: 0, tensors: [] }]),
    ...["qwen2-awq-tiny", "qwen3-fp8-tiny", "qwen3moe-tiny", "llama3-tiny"].map((
      f,
    ): [string, ModelSpec] => [f, Engine.readFiles(fixture(f), { tokenizer: false }).spec]),
  ];
  for (const [what, spec] of models) {
    const c = spec.config, engine = await Engine.fromSpec(spec), stored = storedBytes(spec, "cpu");
    let sum = 0;
    for (const b of stored.values()) sum += b;
    assert.equal(sum, engine.native.weightBytes, `${what}: the count against what the load took`);
    // every random weight is bf16 on the CPU; a checkpoint's float16 and float32 tensors float32, its bf16 bf16
    const embed = c.vocab * c.hidden * (spec.tensors.length && c.dtype !== "BF16" ? 4 : 2);
    assert.equal(stored.get("embed"), embed, `${what}: the embedding as stored`);
    // a pass reads every weight but the embedding table (not the LM head here), and the experts it does not route to
    const read = weightBytesRead(c, stored, 1);
    assert.equal(read, sum - (c.tiedEmbeddings ? 0 : embed) - unreadExpertBytes(c, stored, 1), what);
    assert.equal(unreadExpertBytes(c, stored, 1) > 0, c.moe !== undefined, what);
    // the GPU stores every dense matrix bf16 and vector float32, whatever the checkpoint's dtype
    const gpu = storedBytes(spec, "cuda");
    assert.equal(gpu.get("embed"), c.vocab * c.hidden * 2, `${what}: the embedding on a GPU`);
    assert.equal(gpu.get("norm"), c.hidden * 4, `${what}: a vector on a GPU`);
  }
  assert.throws(
    () => loadNative().expectedTensors(encodeSpec(models[0][1]), "tpu" as "cpu"),
    /^RangeError: expectedTensors: device must be "cpu" or "cuda", got "tpu"$/,
  );
});

Deno.test("perf's floor for a mixture of experts leaves out the experts a pass's tokens do not route to", () => {
  const moe = shapeConfig("qwen3-30b-a3b"), { experts: E, topK: k, intermediate, sparseLayers } = moe.moe!;
  const spec = (config: ModelConfig): ModelSpec => ({ config, randomSeed: 0, tensors: [] });
  const stored = storedBytes(spec(moe), "cpu");
  const all = sparseLayers.length * E * 3 * intermediate * moe.hidden * 2;
  const dense = shapeConfig("qwq-32b");
  assert.equal(unreadExpertBytes(dense, storedBytes(spec(dense), "cpu"), 1), 0, "a dense model reads every weight");
  // one token reads its k experts of each sparse layer; many tokens come near reading them all
  assert.ok(Math.abs(unreadExpertBytes(moe, stored, 1) - all * (E - k) / E) < 1);
  const unread = (t: number) => unreadExpertBytes(moe, stored, t);
  assert.ok(unread(4) < unread(2) && unread(2) < unread(1));
  assert.ok(unread(1000) < all * 1e-6);
  // quantised experts as each device would hold them (counted in bf16, an FP8 model's unread experts came to more
  // than the whole model, and its floor went below zero)
  const fp8 = { ...moe, quant: { method: "fp8" as const, block: [128, 128] as const } };
  const ratio = (c: ModelConfig, device: "cpu" | "cuda") =>
    unreadExpertBytes(c, storedBytes(spec(c), device), 1) / unreadExpertBytes(moe, storedBytes(spec(moe), device), 1);
  // FP8: a byte a weight and a float per 128×128 block (768 rows: 6 blocks of rows, 2048 columns: 16)
  assert.ok(Math.abs(ratio(fp8, "cpu") - (1 + 4 * (6 * 16 * 2 + 16 * 6) / (3 * 768 * 2048)) / 2) < 1e-12);
  const awq = { ...moe, dtype: "F16" as const, quant: { method: "awq" as const, groupSize: 128 } };
  // AWQ: half a byte a weight, and per group a zero and a scale: a byte and a float on the CPU, the checkpoint's
  // nibble and half on a GPU
  assert.ok(Math.abs(ratio(awq, "cpu") - (0.5 + 5 / 128) / 2) < 1e-12);
  assert.ok(Math.abs(ratio(awq, "cuda") - (0.5 + 2.5 / 128) / 2) < 1e-12);
});

const CHROMIUM = Deno.env.get("HOGWILD_CHROMIUM") ?? "/usr/bin/chromium";

Deno.test({
  name: "perf --viewer: the Records tab's times for sample runs of each size, as a table and in --json",
  ignore: !existsSync(CHROMIUM), // browser_test.ts says how to install one
  fn: async () => {
    const json = join(mkdtempSync(join(tmpdir(), "hogwild-perf-")), "viewer.json");
    const r = await perf("--viewer", "--records", "30,90", "--chromium", CHROMIUM, "--json", json);
    assert.equal(r.code, 0, r.stderr);
    for (const n of [30, 90]) assert.match(r.stdout, new RegExp(`^\\| ${n}( \\| \\d+){4} \\|$`, "m"));
    const { viewer } = JSON.parse(readFileSync(json, "utf8"));
    assert.deepEqual(viewer.map((t: { records: number }) => t.records), [30, 90]);
    for (const t of viewer) {
      assert.ok(t.list_ms > 0 && t.measured_ms >= t.list_ms && t.record_ms > 0, JSON.stringify(t));
    }
  },
});

/** Each pass the engines of this process run while `f` runs: which entry point, and how many rows. */
async function passesOf(f: () => Promise<unknown>): Promise<{ via: string; rows: number }[]> {
  const passes: { via: string; rows: number }[] = [];
  const { forward, forwardSample } = Engine.prototype;
  Engine.prototype.forward = function (this: Engine, ...a: Parameters<Engine["forward"]>) {
    passes.push({ via: "forward", rows: a[1].length });
    return forward.apply(this, a);
  };
  Engine.prototype.forwardSample = function (this: Engine, ...a: Parameters<Engine["forwardSample"]>) {
    passes.push({ via: "forwardSample", rows: a[1].length });
    return forwardSample.apply(this, a);
  };
  try {
    await f();
  } finally {
    Object.assign(Engine.prototype, { forward, forwardSample });
  }
  return passes;
}

// A run's passes go through forwardSample (the token sampled where the logits are: on a GPU only ids come back);
// perf timed forward, which copies every logits row back (152064 floats a row for QwQ) and checks it for NaN, and
// cuda/NOTES.md read its gap to the replay as the sampler's.
Deno.test("perf times a pass as runs make it: forwardSample, never forward", async () => {
  const passes = await passesOf(() => enginePerf({ model: "random:qwen3-demo", device: "cpu" }, 2, [1, 2], [64]));
  assert.ok(passes.length >= 4, JSON.stringify(passes));
  assert.deepEqual(passes.filter((p) => p.via !== "forwardSample"), []);
});

// The 'vs 1 worker' column divides one configuration's time by another's: timed one after the other, in blocks,
// the two came from different minutes of a loaded machine. They are timed in turn, a pass each a round, as --views
// times its views.
Deno.test("perf times the worker counts of a context in turn, a pass each a round, not one block after another", async () => {
  const passes = await passesOf(() => enginePerf({ model: "random:qwen3-demo", device: "cpu" }, 2, [1, 2, 4], [64]));
  // two rounds to warm up, then the two timed
  assert.deepEqual(passes.map((p) => p.rows), [1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2, 4]);
});

// The weights and the KV cache against the machine's memory: checked after the weights loaded in the table's mode
// (minutes for a large model, or the OOM killer), and never with --views, --paper-table or --code-grading.
Deno.test("perf checks the weights and the KV cache against the machine's memory before loading, in every mode", async () => {
  const o = { contexts: [4096], most: 8, cacheTokens: 5000 };
  assert.doesNotThrow(() => checkMemory("random:x", false, o, 2 ** 20, 2 ** 30, 7 * 2 ** 30));
  assert.throws(
    () => checkMemory("random:x", false, o, 2 ** 20, 3 * 2 ** 30, 7 * 2 ** 30),
    /^InputError: --context 4096 with 8 workers: a KV cache of 5000 tokens \(4\.9 GiB\) and the weights \(3\.0 GiB as the CPU stores them\) do not fit in this machine's 7\.0 GiB \(random:x on the CPU\)$/,
  );
  assert.throws(
    () => checkMemory("random:x", false, { ...o, where: "--views: its views' KV" }, 2 ** 21, 0, 7 * 2 ** 30),
    /^InputError: --views: its views' KV 4096 with 8 workers: a KV cache of 5000 tokens \(9\.8 GiB\) does not fit/,
  );
  assert.doesNotThrow(() => checkMemory("random:x", true, o, 2 ** 21, 2 ** 40, 7 * 2 ** 30)); // a card's own
  // every mode refuses random:qwen3-32b's 61 GiB of weights here before any load (its KV fits, but for --views')
  if (totalmem() > 60 * 2 ** 30) return;
  const { fromSpec } = Engine;
  let loads = 0;
  Engine.fromSpec = () => (loads++, Promise.reject(new Error("loaded")));
  try {
    const values = { model: "random:qwen3-32b", device: "cpu" };
    for (
      const [mode, run] of [
        ["the table", () => enginePerf(values, 1, [1, 2], [512])],
        ["--paper-table", () => paperTable(values, 1)],
        ["--views", () => viewsPerf(values, 1)],
        ["--code-grading", () => codeGradingPerf(values, 1)],
      ] as const
    ) {
      await assert.rejects(run(), /not fit in this machine's [\d.]+ GiB \(random:qwen3-32b on the CPU\)$/, mode);
    }
  } finally {
    Engine.fromSpec = fromSpec;
  }
  assert.equal(loads, 0, "a model was loaded before the check");
});
