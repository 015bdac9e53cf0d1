/**
 * The binary formats between host and core are written once each (engine/formats.ts, cuda/src/formats.h): the
 * addon's tables equal the host's, a difference is named, the tensor list the host maps checkpoints onto is
 * the core's, and a tensor the model does not use is refused by name.
 */
import assert from "node:assert/strict";
import { readModelConfig } from "../../engine/config.ts";
import { ABI_VERSION, abiDifference, hostAbi } from "../../engine/formats.ts";
import { cudaOptionsText, Engine } from "../../engine/model.ts";
import { loadNative } from "../../engine/native.ts";
import { readCheckpoint } from "../../engine/safetensors.ts";
import { SHAPES } from "../../engine/shapes.ts";
import { encodeSpec, expectedTensors, specFromCheckpoint } from "../../engine/spec.ts";
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

Deno.test("the host's tensor list (with Hugging Face names) is the core's, for every architecture variant", () => {
  const native = loadNative();
  const configs = Object.entries(SHAPES).map(([name, c]) =>
    [name, { ...c, layers: 2, ...(c.moe ? { moe: { ...c.moe, sparseLayers: [0, 1] } } : {}) }] as const
  );
  const base = configs[0][1];
  const moe = { experts: 4, topK: 2, normTopk: true, intermediate: 32, sparseLayers: [1] };
  for (
    const [name, c] of [
      ...configs,
      ["tied", { ...base, tiedEmbeddings: !base.tiedEmbeddings }] as const,
      ["awq", { ...base, quant: { method: "awq", groupSize: 32 } }] as const,
      ["fp8", { ...base, quant: { method: "fp8", block: [32, 48] } }] as const,
      ["moe, a dense layer first", { ...base, moe }] as const,
      ["moe fp8", { ...base, moe, quant: { method: "fp8", block: [16, 16] } }] as const,
      ["moe awq", { ...base, moe, quant: { method: "awq", groupSize: 16 } }] as const,
    ]
  ) {
    const host = expectedTensors(c).map((t) => ({ name: t.name, shape: t.shape }));
    const core = native.expectedTensors(encodeSpec({ config: c, randomSeed: 0, tensors: [] }));
    assert.deepEqual(core, host, name);
  }
  const variants = new Set(configs.map(([, c]) => `${c.qkvBias}${c.qkNorm}${c.tiedEmbeddings}`));
  assert.ok(variants.size >= 3, `variants covered: ${[...variants]}`);
});

Deno.test("a spec with a tensor the model does not use is refused, naming the tensor", async () => {
  const dir = fixtureDir("qwen3-tiny");
  const spec = specFromCheckpoint(readModelConfig(dir), readCheckpoint(dir), dir);
  await Engine.fromSpec(spec); // as the checkpoint maps it: loads
  const extra = { ...spec, tensors: [...spec.tensors, { ...spec.tensors[0], name: "L0.bogus" }] };
  await assert.rejects(Engine.fromSpec(extra), /unknown tensor L0\.bogus/);
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
