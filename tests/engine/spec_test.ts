/**
 * engine/spec.ts: a checkpoint's tensors mapped onto the config, whatever their number; the config's
 * modules_to_not_convert checked against the tensor list.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, readModelConfig } from "../../engine/config.ts";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { readHeader, type TensorInfo } from "../../engine/safetensors.ts";
import { expectedTensors, specFromCheckpoint } from "../../engine/spec.ts";
import { fixtureDir, type RawTensor, reference, safetensorsBytes } from "../helpers.ts";

/** A checkpoint's tensor map of `names` (the counts are read from the names alone). */
function tensors(names: Iterable<string>): Map<string, TensorInfo> {
  return new Map(
    [...names].map((
      name,
    ) => [name, { name, file: "model.safetensors", offset: 0, nbytes: 2, dtype: "BF16", shape: [1] }]),
  );
}

Deno.test("a checkpoint of 200k tensors is counted, not a stack overflow: its layers and experts refused by count", () => {
  const n = 200_000;
  const moe = readModelConfig(fixtureDir("qwen3moe-tiny"));
  const layers = Array.from({ length: n }, (_, i) => `model.layers.${i}.input_layernorm.weight`);
  assert.throws(
    () => specFromCheckpoint(moe, tensors(layers), "big"),
    (e) =>
      e instanceof InputError &&
      /big: config\.json says num_hidden_layers \d+, the checkpoint holds 200000 layers/.test(e.message),
  );
  const experts = Array.from(
    { length: n },
    (_, i) => `model.layers.${i % moe.layers}.mlp.experts.${i}.gate_proj.weight`,
  );
  assert.throws(
    () => specFromCheckpoint(moe, tensors(experts), "big"),
    (e) =>
      e instanceof InputError &&
      /big: config\.json says num_experts \d+, the checkpoint holds 200000 experts/.test(e.message),
  );
});

const fixtureConfig = (name: string) => JSON.parse(readFileSync(join(fixtureDir(name), "config.json"), "utf8"));
const AWQ = { quant_method: "awq", bits: 4, group_size: 32, version: "gemm", zero_point: true };
const FP8 = { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [32, 32] };

/** Configs of each quantised kind: the AWQ and FP8 fixtures, Qwen3-MoE (one layer dense) and Phi-3 in both. */
const QUANTISED: [string, Record<string, unknown>][] = [
  ["qwen2 awq", fixtureConfig("qwen2-awq-tiny")],
  ["qwen3 fp8", fixtureConfig("qwen3-fp8-tiny")],
  ...[AWQ, FP8].flatMap((q): [string, Record<string, unknown>][] => [
    [`qwen3_moe ${q.quant_method}`, { ...fixtureConfig("qwen3moe-tiny"), quantization_config: q }],
    [`qwen3_moe ${q.quant_method}, layer 0 dense`, {
      ...fixtureConfig("qwen3moe-tiny"),
      mlp_only_layers: [0],
      quantization_config: q,
    }],
    [`phi3 ${q.quant_method}`, { ...fixtureConfig("phi3-tiny"), quantization_config: q }],
  ]),
];

/** `config` with modules_to_not_convert `list`, its tensor list checked against it. */
function listed(config: Record<string, unknown>, list: string[]) {
  const q = { ...config.quantization_config as object, modules_to_not_convert: list };
  return expectedTensors(parseConfig({ ...config, quantization_config: q }, "m/config.json"), "m/config.json");
}

const refusal = (entry: string, layer: string) => (e: unknown) =>
  e instanceof InputError &&
  e.message ===
    `m/config.json: quantization_config.modules_to_not_convert entry ${
      JSON.stringify(entry)
    } leaves ${layer} unquantised, which this engine does not support (it reads every decoder linear layer quantised)`;

Deno.test("modules_to_not_convert: an entry naming only what the engine keeps unquantised loads; one naming a quantised layer is refused, naming it", () => {
  for (const [what, config] of QUANTISED) {
    const list = expectedTensors(parseConfig(config, "m/config.json"));
    const modules = [...new Set(list.map((t) => t.hf.replace(/\.[a-z_]+$/, "")))];
    const quantised = new Set(
      list.filter((t) => /\.(qweight|weight_scale_inv)$/.test(t.hf)).map((t) => t.hf.replace(/\.[a-z_]+$/, "")),
    );
    const kept = modules.filter((m) => !quantised.has(m));
    assert.ok(quantised.size > 0 && kept.includes("lm_head") && kept.includes("model.embed_tokens"), what);
    // every module the engine keeps unquantised, one at a time and all at once (a MoE's routers and lm_head)
    for (const m of kept) assert.doesNotThrow(() => listed(config, [m]), `${what}: ${m}`);
    assert.deepEqual(listed(config, kept), list, what);
    // every quantised layer, by its whole name, and after any entry the engine accepts
    for (const m of quantised) {
      assert.throws(() => listed(config, [m]), refusal(m, m), `${what}: ${m}`);
      assert.throws(() => listed(config, ["lm_head", m]), refusal(m, m), `${what}: ${m}`);
    }
    // by its last part (transformers 5 matches a name's end, 4 any substring): the first such layer is named
    for (const last of new Set([...quantised].map((m) => m.split(".").pop()!))) {
      const first = [...quantised].find((m) => m.endsWith(`.${last}`))!;
      assert.throws(() => listed(config, [last]), refusal(last, first), `${what}: ${last}`);
    }
  }
});

Deno.test("modules_to_not_convert: matched as transformers matches (4: a substring; 5: a regex from the start, or the end)", () => {
  const [dense, moe, moeDense0] = ["qwen3 fp8", "qwen3_moe fp8", "qwen3_moe fp8, layer 0 dense"].map(
    (w) => QUANTISED.find(([what]) => what === w)![1],
  );
  // a router by the end of its name (as Qwen3-MoE AWQ checkpoints list it): no expert's gate_proj ends so
  assert.doesNotThrow(() => listed(moe, ["lm_head", "mlp.gate"]));
  // but a dense layer's gate_proj holds "mlp.gate": transformers 4 leaves it unquantised
  assert.throws(() => listed(dense, ["mlp.gate"]), refusal("mlp.gate", "model.layers.0.mlp.gate_proj"));
  assert.throws(
    () => listed(moeDense0, ["model.layers.1.mlp.gate", "model.layers.0.mlp.gate"]),
    refusal("model.layers.0.mlp.gate", "model.layers.0.mlp.gate_proj"),
  );
  assert.doesNotThrow(() => listed(moeDense0, ["model.layers.1.mlp.gate"]));
  // "gate" alone is in every gate_proj's name (AutoAWQ and transformers 4 read it so)
  assert.throws(() => listed(moe, ["gate"]), refusal("gate", "model.layers.0.mlp.experts.0.gate_proj"));
  // a layer, an expert, a block of a layer: everything under it
  assert.throws(() => listed(moe, ["model.layers.1"]), refusal("model.layers.1", "model.layers.1.self_attn.q_proj"));
  assert.throws(
    () => listed(moe, ["model.layers.0.mlp.experts.3"]),
    refusal("model.layers.0.mlp.experts.3", "model.layers.0.mlp.experts.3.gate_proj"),
  );
  assert.throws(() => listed(dense, ["self_attn"]), refusal("self_attn", "model.layers.0.self_attn.q_proj"));
  // transformers 5 reads an entry as a regex, its dots any character
  assert.throws(
    () => listed(dense, ["model.layers.0.self.attn"]),
    refusal("model.layers.0.self.attn", "model.layers.0.self_attn.q_proj"),
  );
  assert.doesNotThrow(() => listed(dense, ["lm.head", "model.layers.1.post_attention_layernorm"]));
  // an empty entry is in every name
  assert.throws(() => listed(dense, [""]), refusal("", "model.layers.0.self_attn.q_proj"));
});

/** The logits of `dir`'s model on the fixture's first reference sequence. */
async function seq0(dir: string, name: string): Promise<Float32Array> {
  const engine = await Engine.load(dir);
  const ids = Array.from(reference(name).get("seq0.ids")!.data);
  const cache = engine.newCache({ tokens: ids.length }), block = cache.newBlock();
  return engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }])[0];
}

Deno.test('modules_to_not_convert ["lm_head"] (Qwen3-4B-Thinking-2507-FP8, AutoAWQ): the fixtures load with the same logits', async () => {
  for (const name of ["qwen3-fp8-tiny", "qwen2-awq-tiny"]) {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-skip-"));
    cpSync(fixtureDir(name), dir, { recursive: true });
    const config = fixtureConfig(name);
    config.quantization_config.modules_to_not_convert = ["lm_head"];
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    assert.deepEqual(await seq0(dir, name), await seq0(fixtureDir(name), name), name);
  }
});

/**
 * A copy of fixture `name` without a dtype in its config.json, its BF16 tensors rewritten by `to` (each tensor's
 * name and bytes): another dtype, stored as a checkpoint saved in it would hold it.
 */
function undeclared(name: string, to: (tensor: string) => "BF16" | "F32"): string {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-dtype-"));
  cpSync(fixtureDir(name), dir, { recursive: true });
  const { torch_dtype: _, dtype: __, ...config } = fixtureConfig(name);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const file = join(dir, "model.safetensors"), bytes = readFileSync(file);
  const out = readHeader(file).map((t): [string, RawTensor] => {
    const data = bytes.subarray(t.offset, t.offset + t.nbytes);
    if (t.dtype !== "BF16" || to(t.name) === "BF16") return [t.name, { dtype: t.dtype, shape: t.shape, data }];
    // bf16 is a float32's top half: exact
    const wide = new Uint16Array(data.length);
    for (let i = 0; i < data.length / 2; i++) (wide[2 * i] = 0, wide[2 * i + 1] = data[2 * i] | data[2 * i + 1] << 8);
    return [t.name, { dtype: "F32", shape: t.shape, data: new Uint8Array(wide.buffer) }];
  });
  writeFileSync(file, safetensorsBytes(out));
  return dir;
}

Deno.test("config.json without dtype: the checkpoint's own (its embedding's) is read, as transformers 5's dtype \"auto\"", async () => {
  for (const name of ["qwen2-tiny", "qwen3-tiny"]) {
    // float32 throughout: the same weights, the same logits
    const wide = undeclared(name, () => "F32");
    assert.equal(Engine.readFiles(wide).spec.config.dtype, "F32", name);
    assert.deepEqual(await seq0(wide, name), await seq0(fixtureDir(name), name), name);
    assert.equal(Engine.readFiles(undeclared(name, () => "BF16")).spec.config.dtype, "BF16", name);
  }
  // tensors that disagree among themselves: refused, naming the one the dtype came from, not a BF16 never stated
  assert.throws(
    () => Engine.readFiles(undeclared("qwen2-tiny", (t) => t === "model.embed_tokens.weight" ? "F32" : "BF16")),
    (e) =>
      e instanceof InputError &&
      /model\.safetensors: tensor model\.norm\.weight is BF16, config\.json states no dtype, and model\.embed_tokens\.weight is F32$/
        .test(e.message),
  );
  // a stated dtype still decides
  const stated = undeclared("qwen2-tiny", () => "F32");
  writeFileSync(join(stated, "config.json"), JSON.stringify(fixtureConfig("qwen2-tiny")));
  assert.throws(
    () => Engine.readFiles(stated),
    /model\.safetensors: tensor model\.embed_tokens\.weight is F32, config\.json says BF16$/,
  );
});

Deno.test("tie_word_embeddings with an lm_head.weight in the checkpoint too: tied, the extra tensor ignored as transformers ignores it, said once", async () => {
  const name = "qwen3-tiny";
  for (const same of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-tied-"));
    cpSync(fixtureDir(name), dir, { recursive: true });
    const file = join(dir, "model.safetensors"), bytes = readFileSync(file);
    const raw = readHeader(file).map((t): [string, RawTensor] => [
      t.name,
      { dtype: t.dtype, shape: t.shape, data: bytes.subarray(t.offset, t.offset + t.nbytes) },
    ]);
    const embedding = raw.find(([n]) => n === "model.embed_tokens.weight")![1];
    raw.push(["lm_head.weight", { ...embedding, data: same ? embedding.data : embedding.data.map((b) => b ^ 1) }]);
    writeFileSync(file, safetensorsBytes(raw));
    const said: string[] = [], log = console.error;
    console.error = (...a: unknown[]) => void said.push(a.join(" "));
    try {
      assert.deepEqual(await seq0(dir, name), await seq0(fixtureDir(name), name), `same ${same}`);
    } finally {
      console.error = log;
    }
    const notes = said.filter((l) => /lm_head\.weight/.test(l));
    assert.equal(notes.length, 1, said.join("\n"));
    assert.match(notes[0], /tie_word_embeddings.*model\.embed_tokens\.weight.*ignored/);
  }
  // untied, an lm_head is read; a tensor no config reads is still refused
  assert.throws(
    () =>
      specFromCheckpoint(
        readModelConfig(fixtureDir(name)),
        tensors([...readHeader(join(fixtureDir(name), "model.safetensors")).map((t) => t.name), "lm_head.bias"]),
        "x",
      ),
    /does not use, e\.g\. lm_head\.bias: config\.json and the weights disagree/,
  );
});
