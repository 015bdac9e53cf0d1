/**
 * The binary formats between host and core are written once each (engine/formats.ts, cuda/src/formats.h): the
 * addon's tables equal the host's, a difference is named, the core's tensor list gets transformers' names, and
 * a tensor the model does not use is refused by name.
 */
import assert from "node:assert/strict";
import { readModelConfig } from "../../engine/config.ts";
import { ABI_VERSION, abiDifference, hostAbi } from "../../engine/formats.ts";
import { cudaOptionsText, Engine } from "../../engine/model.ts";
import { loadNative } from "../../engine/native.ts";
import { readCheckpoint } from "../../engine/safetensors.ts";
import { SHAPES } from "../../engine/shapes.ts";
import { encodeSpec, expectedTensors, specFromCheckpoint, type SpecTensor } from "../../engine/spec.ts";
import { fixtureDir } from "../helpers.ts";

Deno.test("the addon's format tables are the host's; a difference is named", () => {
  const addon = loadNative().abi();
  assert.equal(abiDifference(addon), undefined);
  assert.deepEqual(addon, hostAbi());
  const moved = { ...addon, plan: [addon.plan[1], addon.plan[0], ...addon.plan.slice(2)] };
  assert.match(abiDifference(moved)!, /^plan: the host has \["tokens:T","row_token_start:R\+1"/);
  // The enums' codes and the flags' bits are in the tables too: two swapped codes are named.
  for (const k of ["dtypes", "quants", "flags"] as const) {
    const swapped = { ...addon, [k]: [addon[k][1], addon[k][0], ...addon[k].slice(2)] };
    assert.match(abiDifference(swapped)!, new RegExp(`^${k}: the host has \\["${addon[k][0]}"`));
  }
  assert.match(
    abiDifference({ ...addon, version: 1 })!,
    new RegExp(`^version: the host has ${ABI_VERSION}, the addon 1`),
  );
});

Deno.test("the core's tensor list gets a checkpoint name for every architecture variant, as transformers writes it", () => {
  const configs = Object.entries(SHAPES).map(([name, c]) =>
    [name, { ...c, layers: 2, ...(c.moe ? { moe: { ...c.moe, sparseLayers: [0, 1] } } : {}) }] as const
  );
  const base = SHAPES["qwen2.5-0.5b"];
  const moe = { experts: 4, topK: 2, normTopk: true, intermediate: 32, sparseLayers: [1] };
  const names = new Map<string, string>();
  for (
    const [name, c] of [
      ...configs,
      ["tied", { ...base, tiedEmbeddings: !base.tiedEmbeddings }] as const,
      ["awq", { ...base, quant: { method: "awq", groupSize: 32 } }] as const,
      ["fp8", { ...base, quant: { method: "fp8", block: [32, 48] } }] as const,
      ["moe, a dense layer first", { ...base, family: "qwen3_moe", moe }] as const,
      ["moe fp8", { ...base, family: "qwen3_moe", moe, quant: { method: "fp8", block: [16, 16] } }] as const,
      ["moe awq", { ...base, family: "qwen3_moe", moe, quant: { method: "awq", groupSize: 16 } }] as const,
    ]
  ) {
    const list = expectedTensors(c);
    const core = loadNative().expectedTensors(encodeSpec({ config: c, randomSeed: 0, tensors: [] }));
    assert.deepEqual(list.map((t) => [t.name, t.shape]), core.map((t) => [t.name, t.shape]), name);
    // one checkpoint tensor per canonical one, except the parts of a fused tensor
    const plain = list.filter((t) => !t.part);
    assert.equal(new Set(plain.map((t) => t.hf)).size, plain.length, name);
    for (const t of list) names.set(`${c.family}${c.quant ? "-" + c.quant.method : ""} ${t.name}`, t.hf);
  }
  // transformers' names (modeling_qwen2 / qwen3_moe / phi3, and the AWQ and FP8 releases' suffixes)
  for (
    const [key, hf] of [
      ["qwen2 embed", "model.embed_tokens.weight"],
      ["qwen2 lm_head", "lm_head.weight"],
      ["qwen2 L1.attn_norm", "model.layers.1.input_layernorm.weight"],
      ["qwen2 L1.mlp_norm", "model.layers.1.post_attention_layernorm.weight"],
      ["qwen2 L1.k_bias", "model.layers.1.self_attn.k_proj.bias"],
      ["qwen2 L0.o", "model.layers.0.self_attn.o_proj.weight"],
      ["qwen2 L0.down", "model.layers.0.mlp.down_proj.weight"],
      ["qwen3 L0.q_norm", "model.layers.0.self_attn.q_norm.weight"],
      ["qwen2-awq L0.q.qzeros", "model.layers.0.self_attn.q_proj.qzeros"],
      ["qwen2-fp8 L0.up.scale_inv", "model.layers.0.mlp.up_proj.weight_scale_inv"],
      ["qwen3_moe L1.router", "model.layers.1.mlp.gate.weight"],
      ["qwen3_moe L1.e3.gate", "model.layers.1.mlp.experts.3.gate_proj.weight"],
      ["qwen3_moe-awq L1.e2.down.scales", "model.layers.1.mlp.experts.2.down_proj.scales"],
      ["phi3 L1.v", "model.layers.1.self_attn.qkv_proj.weight"],
      ["phi3 L1.up", "model.layers.1.mlp.gate_up_proj.weight"],
    ]
  ) assert.equal(names.get(key), hf, key);
  // Phi-4's fused parts: rows of the fused matrix, in the order q, k, v and gate, up
  const phi = expectedTensors({ ...SHAPES["phi-4"], layers: 1 });
  const part = (n: string, list = phi) => list.find((t) => t.name === n)?.part;
  assert.deepEqual([part("L0.q"), part("L0.k"), part("L0.v")], [
    { axis: 0, first: 0, of: 7680 },
    { axis: 0, first: 5120, of: 7680 },
    { axis: 0, first: 6400, of: 7680 },
  ]);
  assert.deepEqual([part("L0.gate"), part("L0.up"), part("L0.down")], [
    { axis: 0, first: 0, of: 35840 },
    { axis: 0, first: 17920, of: 35840 },
    undefined,
  ]);
  // AWQ packs by output columns, eight to an int32: the parts are columns (packed ones for qweight and qzeros)
  const awq = expectedTensors({ ...SHAPES["phi-4"], layers: 1, quant: { method: "awq", groupSize: 128 } });
  assert.deepEqual([part("L0.k.qweight", awq), part("L0.k.qzeros", awq), part("L0.k.scales", awq)], [
    { axis: 1, first: 640, of: 960 },
    { axis: 1, first: 640, of: 960 },
    { axis: 1, first: 5120, of: 7680 },
  ]);
  assert.deepEqual(part("L0.up.qweight", awq), { axis: 1, first: 2240, of: 4480 });
});

Deno.test("a spec value its field cannot hold is refused, never wrapped", () => {
  const c = SHAPES["qwen3-demo"];
  assert.doesNotThrow(() => encodeSpec({ config: { ...c, hidden: 2 ** 31 - 1 }, tensors: [] }));
  for (const hidden of [2 ** 31, 2 ** 32 + 64, -(2 ** 31) - 1, 1.5]) {
    assert.throws(() => encodeSpec({ config: { ...c, hidden }, tensors: [] }), /spec: .* does not fit a i32 field/);
  }
  assert.throws(() => encodeSpec({ config: c, randomSeed: -1, tensors: [] }), /spec: -1 does not fit a u64 field/);
});

Deno.test("a spec's bad tensor records are refused, naming the tensor: one the model does not use, a stride short of its rows", async () => {
  const dir = fixtureDir("qwen3-tiny");
  const spec = specFromCheckpoint(readModelConfig(dir), readCheckpoint(dir), dir);
  await Engine.fromSpec(spec); // as the checkpoint maps it: loads
  const extra = { ...spec, tensors: [...spec.tensors, { ...spec.tensors[0], name: "L0.bogus" }] };
  await assert.rejects(Engine.fromSpec(extra), /unknown tensor L0\.bogus/);
  // a strided range (a part's columns) whose rows do not fit its stride, or that runs past the file
  const at = spec.tensors.findIndex((t) => t.name === "L0.o");
  const strided = (change: Partial<SpecTensor>) => ({
    ...spec,
    tensors: spec.tensors.map((t, i) => i === at ? { ...t, ...change } : t),
  });
  const row = spec.tensors[at].nbytes / spec.tensors[at].shape[0];
  await assert.rejects(
    Engine.fromSpec(strided({ stride: row - 2 })),
    /tensor L0\.o: stride \d+ does not hold its rows/,
  );
  await Engine.fromSpec(strided({ stride: row })); // rows back to back: the same bytes as no stride
  await assert.rejects(Engine.fromSpec(strided({ stride: 1 << 30 })), /tensor L0\.o is truncated/);
});

Deno.test("the CUDA options: one textual form, every option in the canonical text, a bad one named", async () => {
  const native = loadNative();
  assert.equal(cudaOptionsText({ gemm: "mma", pdl: true, graphs: 0 }), "gemm=mma,pdl=1,graphs=0");
  assert.equal(native.deviceOptions("graphs=1"), "gemm=auto,attention=auto,graphs=1,pdl=0,profile=0");
  assert.equal(native.deviceOptions(""), "gemm=auto,attention=auto,graphs=8,pdl=0,profile=0");
  assert.equal(native.deviceOptions("pdl=1,gemm=mma"), "gemm=mma,attention=auto,graphs=8,pdl=1,profile=0");
  for (
    const [text, message] of [
      ["gemm=fast", /cuda option gemm: expected auto, own, cublas or mma, got "fast"/],
      ["attention=flash", /cuda option attention: expected auto or simple/],
      ["pdl=yes", /cuda option pdl: expected 0 or 1, got "yes"/],
      ["graphs", /cuda option "graphs": expected KEY=VALUE/],
      ["graphs=-1", /cuda option graphs: expected a count of passes ≥ 0 \(0: no graphs\), got "-1"/],
      ["graphs=yes", /cuda option graphs: expected a count of passes/],
      ["graphs=", /cuda option graphs: expected a count of passes/],
      ["speed=1", /cuda option "speed": unknown/],
    ] as const
  ) {
    assert.throws(() => native.deviceOptions(text), message, text);
  }
  const dir = fixtureDir("qwen3-tiny");
  await assert.rejects(Engine.load(dir, { cuda: "gemm=fast" }), /qwen3-tiny: cuda option gemm: expected/);
  const cpu = await Engine.load(dir, { cuda: { gemm: "mma" } });
  assert.equal(cpu.deviceOptions.gemm, "auto", "the CPU runs with no device options");
});
