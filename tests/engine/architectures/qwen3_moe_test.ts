/** engine/architectures/qwen3_moe.ts: a qwen3_moe config's mixture-of-experts fields, read as Qwen3MoeConfig reads them. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../../engine/config.ts";
import { Engine } from "../../../engine/model.ts";
import { fixtureDir } from "../../helpers.ts";

const moe = JSON.parse(readFileSync(join(fixtureDir("qwen3moe-tiny"), "config.json"), "utf8")); // 8 experts

Deno.test("num_local_experts is num_experts (Qwen3MoeConfig's attribute_map): read in its place, refused where the two differ", () => {
  const { num_experts: _, ...local } = { ...moe, num_local_experts: 8 };
  assert.deepEqual(parseConfig(local, "config.json"), parseConfig(moe, "config.json"));
  assert.deepEqual(parseConfig({ ...moe, num_local_experts: 8 }, "config.json"), parseConfig(moe, "config.json"));
  assert.deepEqual(parseConfig({ ...local, num_experts: null }, "config.json"), parseConfig(moe, "config.json"));
  assert.throws(
    () => parseConfig({ ...moe, num_local_experts: 4 }, "config.json"),
    /^InputError: config\.json: num_experts \(8\) and num_local_experts \(4\) disagree: they name one setting \(Qwen3MoeConfig's attribute_map\); keep one$/,
  );
  assert.throws(
    () => parseConfig({ ...local, num_local_experts: 2.5 }, "config.json"),
    /config\.json: field "num_local_experts" must be a positive integer below 2\^31, got 2\.5/,
  );
  assert.throws(
    () => parseConfig({ ...local, num_local_experts: undefined }, "config.json"),
    /missing field "num_experts"/,
  );
});

Deno.test("a checkpoint whose config names num_local_experts loads", () => {
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-moe-" });
  for (const f of ["model.safetensors", "generation_config.json"]) {
    Deno.copyFileSync(join(fixtureDir("qwen3moe-tiny"), f), join(dir, f));
  }
  const { num_experts: _, ...local } = { ...moe, num_local_experts: 8 };
  Deno.writeTextFileSync(join(dir, "config.json"), JSON.stringify(local));
  assert.equal(Engine.readFiles(dir).config.moe?.experts, 8);
  Deno.removeSync(dir, { recursive: true });
});
