/** engine/spec.ts: a checkpoint's tensors mapped onto the config, whatever their number. */
import assert from "node:assert/strict";
import { readModelConfig } from "../../engine/config.ts";
import { InputError } from "../../engine/errors.ts";
import type { TensorInfo } from "../../engine/safetensors.ts";
import { specFromCheckpoint } from "../../engine/spec.ts";
import { fixtureDir } from "../helpers.ts";

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
