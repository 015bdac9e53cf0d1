/** Bad input gets one clear error naming the file and field: never a crash, a hang or a wrong result. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { parseScript } from "../../engine/script.ts";
import { fixtureDir, runCli } from "../helpers.ts";

/** A copy of a fixture model that `edit` may spoil. */
function spoiled(edit: (dir: string) => void, from = "qwen2-tiny"): string {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-bad-"));
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir(from), f), join(dir, f));
  }
  edit(dir);
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void) {
  const file = join(dir, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8"));
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

/** Rewrites the safetensors header (same length, padded with spaces, so offsets stay put). */
function editHeader(
  dir: string,
  edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void,
) {
  const file = join(dir, "model.safetensors");
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  edit(h);
  const text = JSON.stringify(h);
  assert.ok(text.length <= n);
  bytes.write(text.padEnd(n, " "), 8, "utf8");
  writeFileSync(file, bytes);
}

async function rejects(dir: string, pattern: RegExp) {
  await assert.rejects(Engine.load(dir), (e: Error) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("a missing model folder", async () => {
  await rejects("/nonexistent/model", /--model \/nonexistent\/model: no such folder/);
});

Deno.test("a folder without config.json", async () => {
  await rejects(spoiled((d) => Deno.removeSync(join(d, "config.json"))), /config\.json: cannot read/);
});

Deno.test("config.json that is not JSON", async () => {
  await rejects(spoiled((d) => writeFileSync(join(d, "config.json"), "{ nope")), /config\.json: not valid JSON/);
});

Deno.test("a config without a required key", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => delete c.num_hidden_layers)),
    /config\.json: missing field "num_hidden_layers"/,
  );
});

Deno.test("a config key of the wrong type", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.hidden_size = "64"))),
    /config\.json: field "hidden_size" must be a positive integer/,
  );
});

Deno.test("an unsupported model type lists what is supported", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.model_type = "mistral"))),
    /model_type "mistral" is not supported; supported: llama .*qwen2 .*qwen3/,
  );
});

Deno.test("an unsupported RoPE scaling", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.rope_scaling = { rope_type: "yarn", factor: 4 }))),
    /rope_scaling\.rope_type "yarn" is not supported/,
  );
});

Deno.test("no safetensors file", async () => {
  await rejects(
    spoiled((d) => Deno.removeSync(join(d, "model.safetensors"))),
    /no model\.safetensors or model\.safetensors\.index\.json/,
  );
});

Deno.test("a truncated safetensors file", async () => {
  await rejects(
    spoiled((d) => truncateSync(join(d, "model.safetensors"), 300000)),
    /model\.safetensors: tensor ".*": data_offsets end \d+ lies beyond the data/,
  );
});

Deno.test("a file shorter than its header length", async () => {
  await rejects(
    spoiled((d) => truncateSync(join(d, "model.safetensors"), 100)),
    /model\.safetensors: header length \d+ does not fit in the file/,
  );
});

Deno.test("a header whose offsets lie", async () => {
  await rejects(
    spoiled((d) => editHeader(d, (h) => (h["model.norm.weight"].data_offsets[1] += 2))),
    /tensor "model\.norm\.weight": data_offsets \[\d+, \d+\] hold \d+ bytes, its shape and dtype need \d+/,
  );
});

Deno.test("a header that is not JSON", async () => {
  await rejects(
    spoiled((d) => {
      const f = join(d, "model.safetensors");
      const b = readFileSync(f);
      b.write("}", 8);
      writeFileSync(f, b);
    }),
    /model\.safetensors: header is not valid JSON/,
  );
});

Deno.test("a tensor of the wrong shape", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.intermediate_size = 128))),
    /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[160,64\], config\.json implies \[128,64\]/,
  );
});

Deno.test("a tensor of the wrong dtype", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.torch_dtype = "float16"))),
    /tensor model\.embed_tokens\.weight is BF16, config\.json says F16/,
  );
});

Deno.test("an unknown dtype in the header", async () => {
  await rejects(
    spoiled((d) => editHeader(d, (h) => (h["model.norm.weight"].dtype = "U8"))),
    /tensor "model\.norm\.weight": dtype U8 is not supported/,
  );
});

Deno.test("a missing tensor", async () => {
  await rejects(
    spoiled((d) => editConfig(d, (c) => (c.tie_word_embeddings = false)), "qwen3-tiny"),
    /tensor lm_head\.weight is missing from the checkpoint/,
  );
});

Deno.test("a token id out of range is refused by the core, naming the field", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"));
  const cache = engine.newCache();
  const block = cache.newBlock();
  assert.throws(
    () => engine.forward(cache, [{ block, view: [block], tokens: [5, 1024] }]),
    /plan: token id 1024 is out of range \[0, 1024\)/,
  );
  assert.throws(
    () => engine.forward(cache, [{ block, view: [block], tokens: [5, -1] }]),
    /plan: row 0 token 1 is -1, not a token id/,
  );
  // The cache is still usable after a refused pass.
  const [logits] = engine.forward(cache, [{ block, view: [block], tokens: [5] }]);
  assert.equal(logits.length, engine.vocab);
});

Deno.test("malformed scripts", () => {
  const bad: [unknown, RegExp][] = [
    [{}, /s\.json: expected \{"passes": \[\.\.\.\]\}/],
    [{ passes: [{ rows: [] }] }, /passes\[0\]\.rows must be a non-empty list/],
    [
      { passes: [{ rows: [{ block: "a", view: ["b"], tokens: [1] }] }] },
      /view must hold its own block "a" exactly once \(it holds it 0 times\)/,
    ],
    [{ passes: [{ rows: [{ block: "a", view: ["a", "a"], tokens: [1] }] }] }, /exactly once \(it holds it 2 times\)/],
    [
      { passes: [{ rows: [{ block: "a", view: ["a", "z"], tokens: [1] }] }] },
      /passes\[0\]\.rows\[0\]\.view names block "z", which no row has written yet/,
    ],
    [
      { passes: [{ rows: [{ block: "a", view: ["a"], tokens: [1, 2.5] }] }] },
      /tokens\[1\] = 2\.5 is not a token id in \[0, 1024\)/,
    ],
    [{ passes: [{ rows: [{ block: "a", view: ["a"], tokens: [] }] }] }, /tokens must be a non-empty list/],
    [
      { passes: [{ rows: [{ block: "a", view: ["a"], tokens: [1] }, { block: "a", view: ["a"], tokens: [2] }] }] },
      /block "a" is written by two rows of one pass/,
    ],
  ];
  for (const [script, pattern] of bad) {
    assert.throws(
      () => parseScript(script, "s.json", 1024),
      (e: Error) => e instanceof InputError && pattern.test(e.message),
    );
  }
});

Deno.test("the CLI reports bad input as one line and exit code 2", async () => {
  const run = async (...args: string[]) => {
    const r = await runCli("cli/engine.ts", args);
    return { code: r.code, stderr: r.stderr.trim() };
  };
  const model = fixtureDir("qwen3-tiny");
  for (
    const [args, pattern] of [
      [
        ["logits", "--model", model, "--ids", "5,99999"],
        /^error: --ids: token id 99999 is out of range for a vocabulary of 1024$/,
      ],
      [["logits", "--model", model, "--ids", "5,x"], /^error: --ids: expected comma-separated token ids, got "5,x"$/],
      [
        ["generate", "--model", model, "--ids", "5", "--max-new-tokens", "2", "--top-p", "3"],
        /^error: --top-p: expected a number in \(0, 1\], got "3"$/,
      ],
      [["logits", "--model", "/nope", "--ids", "5"], /^error: --model \/nope: no such folder$/],
    ] as [string[], RegExp][]
  ) {
    const r = await run(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
  }
  const unknown = await run("logits", "--model", model, "--bogus");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: Unknown option '--bogus'/);
});
