/**
 * Inputs that used to load and run with a wrong result, each now one clear error: a config that disagrees
 * with its tensors, safetensors whose tensors do not tile the data exactly, non-finite config values, NaN
 * weights (the pass says so), and data files that are empty, not UTF-8, or hold `null`.
 */
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import { loadTask } from "../../tasks/registry.ts";
import { fixtureDir, type RawTensor, runCli, safetensorsBytes } from "../helpers.ts";
import { readHeader } from "../../engine/safetensors.ts";
import { DEMO_MODEL } from "../../harness/bench/spec.ts";

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;

/** A copy of a fixture (the qwen3 one unless `from`), its config, header (same length) or bytes changed. */
function model(
  edit: {
    from?: string;
    config?: (c: Record<string, unknown>) => void;
    header?: (h: Header) => void;
    bytes?: (b: Buffer) => Buffer;
  },
): string {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-silent-"));
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir(edit.from ?? "qwen3-tiny"), f), join(dir, f));
  }
  if (edit.config) {
    const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    edit.config(c);
    writeFileSync(join(dir, "config.json"), JSON.stringify(c).replace('"__INF__"', "1e400"));
  }
  let bytes: Buffer = readFileSync(join(dir, "model.safetensors"));
  if (edit.header) {
    const n = Number(bytes.readBigUInt64LE(0));
    const h = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
    edit.header(h);
    bytes.write(JSON.stringify(h).padEnd(n, " "), 8, "utf8");
  }
  if (edit.bytes) bytes = edit.bytes(bytes);
  writeFileSync(join(dir, "model.safetensors"), bytes);
  return dir;
}

/** The tensors of a header in offset order. */
const byOffset = (h: Header) =>
  Object.entries(h).filter(([k]) => k !== "__metadata__").sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);

const CASES: [string, () => string, RegExp][] = [
  [
    "num_hidden_layers: 2 on a 3-layer checkpoint",
    () => model({ from: "qwen2-tiny", config: (c) => (c.num_hidden_layers = 2) }),
    /config\.json says num_hidden_layers 2, the checkpoint holds 3 layers/,
  ],
  [
    "num_hidden_layers: 10^9 (refused at once, no tensor list that long)",
    () => model({ from: "qwen2-tiny", config: (c) => (c.num_hidden_layers = 1_000_000_000) }),
    /config\.json says num_hidden_layers 1000000000, the checkpoint holds 3 layers/,
  ],
  [
    "num_experts: 2^31 - 1 on an 8-expert checkpoint (refused at once, no tensor list that long)",
    () => model({ from: "qwen3moe-tiny", config: (c) => (c.num_experts = 2 ** 31 - 1) }),
    /config\.json says num_experts 2147483647, the checkpoint holds 8 experts/,
  ],
  [
    "num_experts: 7 on an 8-expert checkpoint",
    () => model({ from: "qwen3moe-tiny", config: (c) => (c.num_experts = 7) }),
    /config\.json says num_experts 7, the checkpoint holds 8 experts/,
  ],
  [
    "hidden_size: 2^32 + 64 (refused, never wrapped to 64 on the way to the core)",
    () => model({ config: (c) => (c.hidden_size = 2 ** 32 + 64) }),
    /config\.json: field "hidden_size" must be a positive integer below 2\^31, got 4294967360/,
  ],
  [
    "vocab_size: 2^32 + 1024",
    () => model({ config: (c) => (c.vocab_size = 2 ** 32 + 1024) }),
    /config\.json: field "vocab_size" must be a positive integer below 2\^31/,
  ],
  [
    "head_dim: 2^31 - 2 (refused at once, no RoPE table that long)",
    () => model({ config: (c) => (c.head_dim = 2 ** 31 - 2) }),
    /config\.json: head_dim 2147483646 is more than 65536/,
  ],
  [
    "model.safetensors a directory",
    () => {
      const dir = model({});
      Deno.removeSync(join(dir, "model.safetensors"));
      Deno.mkdirSync(join(dir, "model.safetensors"));
      return dir;
    },
    /model\.safetensors: not a file/,
  ],
  [
    "model.safetensors a link to itself",
    () => {
      const dir = model({});
      Deno.removeSync(join(dir, "model.safetensors"));
      Deno.symlinkSync(join(dir, "model.safetensors"), join(dir, "model.safetensors"));
      return dir;
    },
    /model\.safetensors: cannot open \(.*(ELOOP|symbolic links|loop).*\)/i,
  ],
  [
    "tokenizer.json holding {}",
    () => {
      const dir = model({});
      writeFileSync(join(dir, "tokenizer.json"), "{}");
      return dir;
    },
    /tokenizer\.json is not a tokenizer/,
  ],
  [
    'model_type "llama" on a Qwen3 checkpoint (its q/k norms would be ignored)',
    () => model({ config: (c) => (c.model_type = "llama") }),
    /the llama config .* does not use, e\.g\. model\.layers\.0\.self_attn\.[qk]_norm\.weight/,
  ],
  [
    "a header length one byte short (every tensor would be shifted)",
    () =>
      model({
        bytes: (b) => {
          b.writeBigUInt64LE(b.readBigUInt64LE(0) - 1n, 0);
          return b;
        },
      }),
    /model\.safetensors: 1 bytes after the last tensor belong to none \(trailing bytes, or a header length off\)/,
  ],
  [
    "two tensors' offsets swapped",
    () =>
      model({
        header: (h) => {
          const [a, b] = byOffset(h).slice(0, 2).map(([, t]) => t);
          [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
        },
      }),
    /model\.safetensors: tensor ".*": data_offsets \[\d+, \d+\] hold \d+ bytes|overlaps|belong to no tensor/,
  ],
  [
    "overlapping tensors (same shape, the second pointed at the first)",
    () =>
      model({
        header: (h) => {
          const same = byOffset(h).filter(([, t]) => t.shape.length === 1);
          same[1][1].data_offsets = [...same[0][1].data_offsets];
        },
      }),
    /model\.safetensors: tensor ".*" overlaps the one before it/,
  ],
  [
    "trailing bytes after the last tensor",
    () => model({ bytes: (b) => Buffer.concat([b, Buffer.alloc(64)]) }),
    /model\.safetensors: 64 bytes after the last tensor belong to none/,
  ],
  [
    "rms_norm_eps: 1e400 (Infinity)",
    () => model({ config: (c) => (c.rms_norm_eps = "__INF__") }),
    /config\.json: field "rms_norm_eps" must be a positive number, got null/,
  ],
  [
    "a safetensors header that is JSON null",
    () =>
      model({
        bytes: (b) => {
          const n = Number(b.readBigUInt64LE(0));
          b.write("null".padEnd(n, " "), 8, "utf8");
          return b;
        },
      }),
    /model\.safetensors: header is not a JSON object/,
  ],
];

for (const [name, make, message] of CASES) {
  Deno.test(`refused, not loaded: ${name}`, async () => {
    await assert.rejects(Engine.load(make()), (e: Error) => {
      assert.ok(e instanceof InputError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  });
}

Deno.test("a KV cache the device cannot hold, or of no whole size, is one error", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"));
  assert.throws(() => engine.newCache({ tokens: 2 ** 40 }), /a KV cache of 1099511627776 tokens/);
  assert.throws(
    () => engine.newCache({ tokens: 1e15 }),
    (e: Error) => e instanceof InputError && /a KV cache of/.test(e.message),
  );
  assert.throws(() => engine.newCache({ tokens: 1.5 }), /expected whole numbers/);
});

/** `bytes` with tensor `name`'s values (rows `rows` of it, else all) set to `value`: a bf16 or f32 checkpoint. */
function poisoned(b: Buffer, name: string, value: number, rows?: number[]): Buffer {
  const n = Number(b.readBigUInt64LE(0));
  const t = (JSON.parse(b.subarray(8, 8 + n).toString("utf8")) as Header)[name];
  const size = t.dtype === "F32" ? 4 : 2, row = t.shape.slice(1).reduce((a, d) => a * d, 1) * size;
  const start = 8 + n + t.data_offsets[0], end = 8 + n + t.data_offsets[1];
  const one = Buffer.alloc(4);
  one.writeFloatLE(value);
  for (let i = start; i < end; i += size) {
    if (rows && !rows.includes(Math.floor((i - start) / row))) continue;
    one.copy(b, i, size === 4 ? 0 : 2, 4); // bf16: the float's upper half
  }
  return b;
}

Deno.test("NaN or infinite weights: the pass says its logits are NaN, one InputError naming the model, in the library and the CLI", async () => {
  for (const name of ["model.norm.weight", "model.embed_tokens.weight"]) {
    for (const value of [NaN, Infinity, -Infinity]) {
      const what = `${name} = ${value}`;
      const dir = model({ bytes: (b) => poisoned(b, name, value) });
      const engine = await Engine.load(dir);
      const cache = engine.newCache({ tokens: 64 });
      const block = cache.newBlock();
      const nan = (e: Error) =>
        e instanceof InputError && e.message.startsWith(dir) && /produced NaN or infinite logits/.test(e.message);
      assert.throws(() => engine.forward(cache, [{ block, view: [block], tokens: [1, 2, 3] }]), nan, what);
      const other = cache.newBlock();
      await assert.rejects(
        () =>
          engine.forwardSample(cache, [{ block: other, view: [other], tokens: [1, 2], sampler: new Sampler(GREEDY) }]),
        nan,
        what,
      );
      if (name !== "model.norm.weight") continue; // the CLI for one tensor is enough
      const out = await runCli("cli/engine.ts", ["logits", "--model", dir, "--ids", "1,2", "--last", "1"]);
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /^error: .*produced NaN or infinite logits.*\n$/, what);
    }
  }
});

Deno.test("a bench whose model gives NaN logits once its runs begin stops with that one line, recording nothing", async () => {
  // the demo model untied (its lm_head a copy of the embedding), then NaN in the embedding of <|user|> (id 1):
  // every prompt holds it, the calibration's passes do not, so the runs meet it, after the run folder opened
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-silent-nan-")), "model"), out = join(dirname(dir), "run");
  cpSync(DEMO_MODEL, dir, { recursive: true });
  const weights = join(dir, "model.safetensors"), bytes = readFileSync(weights);
  const tensors = readHeader(weights).map((t): [string, RawTensor] => [
    t.name,
    { dtype: t.dtype, shape: t.shape, data: bytes.subarray(t.offset, t.offset + t.nbytes) },
  ]);
  const embed = tensors.find(([n]) => n === "model.embed_tokens.weight")![1];
  tensors.push(["lm_head.weight", { ...embed, data: embed.data.slice() }]);
  writeFileSync(weights, poisoned(Buffer.from(safetensorsBytes(tensors)), "model.embed_tokens.weight", NaN, [1]));
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, tie_word_embeddings: false }));
  const r = await runCli("cli/bench.ts", [
    ...["--model", dir, "--methods", "sequential,hogwild:2", "--budgets", "4", "--count", "2", "--out", out],
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cost model calibrated/, "the runs never began");
  const lines = r.stderr.trim().split("\n");
  assert.match(lines.at(-1)!, /^error: .*model: the forward pass produced NaN or infinite logits/, r.stderr);
  assert.ok(!/^\s+at /m.test(r.stderr), r.stderr);
  assert.equal(readFileSync(join(out, "records.jsonl"), "utf8"), "", "records written");
});

Deno.test("data files: empty, not UTF-8, or JSON null are one error naming the file (and line)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-silent-data-"));
  const file = (name: string, bytes: string | Uint8Array) => (writeFileSync(join(dir, name), bytes), join(dir, name));
  const good = JSON.stringify({ question: "What is 1+1?", answer: "#### 2" });
  const cases: [string, RegExp][] = [
    [file("empty.jsonl", ""), /empty\.jsonl: holds no records/],
    [file("blank.jsonl", "\n\n  \n"), /blank\.jsonl: holds no records/],
    [file("empty.json", "[]"), /empty\.json: holds no records/],
    [file("null.json", "null"), /null\.json: expected a JSON list of records/],
    [
      file(
        "latin1.jsonl",
        new Uint8Array([...new TextEncoder().encode(good + "\n"), 0x7b, 0x22, 0xe9, 0x22, 0x7d, 0x0a]),
      ),
      /latin1\.jsonl:2: not valid UTF-8/,
    ],
  ];
  for (const [path, message] of cases) {
    await assert.rejects(loadTask("gsm8k", { data: path }), (e: Error) => {
      assert.ok(e instanceof InputError, `${path}: ${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("config settings the engine does not implement are refused, not ignored", async () => {
  const cases: [(c: Record<string, unknown>) => void, RegExp][] = [
    [(c) => (c.hidden_act = "gelu"), /hidden_act "gelu" is not supported \(silu, swish\)/],
    [
      (c) => Object.assign(c, { use_sliding_window: true, sliding_window: 8, max_window_layers: 0, layer_types: null }),
      /sliding_window 8 is not supported \(every token attends to its whole view\); transformers applies it to layers 0\.\.2/,
    ],
    [(c) => (c.rope_scaling = "x"), /field "rope_scaling" must be an object or null, got "x"/],
    [(c) => (c.rope_scaling = []), /field "rope_scaling" must be an object or null, got \[\]/],
  ];
  for (const [edit, message] of cases) {
    await assert.rejects(Engine.load(model({ config: edit })), message);
  }
});
