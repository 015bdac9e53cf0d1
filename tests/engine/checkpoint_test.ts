/** Sharded checkpoints (model.safetensors.index.json) load to the same model as a single file. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { readHeader } from "../../engine/safetensors.ts";
import { fixtureDir, reversedEmbedding } from "../helpers.ts";

/** Splits a fixture's model.safetensors into `shards` files plus an index, as the hub ships large models. */
function shard(name: string, shards: number): string {
  const src = join(fixtureDir(name), "model.safetensors");
  const bytes = readFileSync(src);
  const tensors = readHeader(src);
  const dir = mkdtempSync(join(tmpdir(), "hogwild-shard-"));
  for (const f of ["config.json", "generation_config.json"]) copyFileSync(join(fixtureDir(name), f), join(dir, f));
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-0000${s + 1}-of-0000${shards}.safetensors`;
    const mine = tensors.filter((_, i) => i % shards === s);
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    let at = 0;
    for (const t of mine) {
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.nbytes] };
      at += t.nbytes;
      weightMap[t.name] = file;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + at);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    let o = 8 + json.length;
    for (const t of mine) (out.set(bytes.subarray(t.offset, t.offset + t.nbytes), o), o += t.nbytes);
    writeFileSync(join(dir, file), out);
  }
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}

Deno.test("a sharded checkpoint gives the same logits as the single file", async () => {
  const ids = [3, 14, 15, 92, 65, 35, 89, 79];
  const logits = async (dir: string) => {
    const engine = await Engine.load(dir);
    const cache = engine.newCache();
    const b = cache.newBlock();
    return Array.from(engine.forward(cache, [{ block: b, view: [b], tokens: ids, logits: "all" }])[0]);
  };
  const dir = shard("qwen2-tiny", 3);
  assert.deepEqual(await logits(dir), await logits(fixtureDir("qwen2-tiny")));
});

Deno.test("an index that names a shard without the tensor is refused", async () => {
  const dir = shard("qwen3-tiny", 2);
  const file = join(dir, "model.safetensors.index.json");
  const index = JSON.parse(readFileSync(file, "utf8"));
  const files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
  index.weight_map["model.norm.weight"] = files.find((f) => f !== index.weight_map["model.norm.weight"]);
  writeFileSync(file, JSON.stringify(index));
  await assert.rejects(
    Engine.load(dir),
    /model\.safetensors\.index\.json: weight_map says model\.norm\.weight is in model-0000\d-of-00002\.safetensors, but that file does not hold it/,
  );
});

Deno.test("a shard the index lists but the folder lacks is refused, naming the index too", async () => {
  const dir = shard("qwen3-tiny", 2);
  rmSync(join(dir, "model-00002-of-00002.safetensors"));
  await assert.rejects(
    Engine.load(dir),
    (e: Error) =>
      e.message ===
        `${dir}/model-00002-of-00002.safetensors: no such file, which ${dir}/model.safetensors.index.json lists in its weight_map`,
  );
});

Deno.test("a tensor in two shards is refused, naming both", async () => {
  const dir = shard("qwen3-tiny", 2);
  const file = join(dir, "model.safetensors.index.json");
  const index = JSON.parse(readFileSync(file, "utf8"));
  copyFileSync(join(dir, "model-00001-of-00002.safetensors"), join(dir, "copy.safetensors"));
  index.weight_map["model.extra"] = "copy.safetensors";
  writeFileSync(file, JSON.stringify(index));
  await assert.rejects(
    Engine.load(dir),
    /index\.json: the tensor \S+ is in two shards, .*model-00001-of-00002\.safetensors and .*copy\.safetensors/,
  );
});

/**
 * A folder holding both model.safetensors and an index (a sharded save into a folder that held one file) is read
 * from model.safetensors, as transformers' from_pretrained reads it (`_get_resolved_checkpoint_files` looks for
 * the file first): here the two differ (the single file's embedding rows reversed), for several fixtures and
 * shard counts.
 */
Deno.test("a folder with model.safetensors and an index loads model.safetensors, as transformers does", async () => {
  const ids = [3, 14, 15, 92, 65, 35, 89, 79];
  const logits = async (dir: string) => {
    const engine = await Engine.load(dir);
    const cache = engine.newCache();
    const b = cache.newBlock();
    return Array.from(engine.forward(cache, [{ block: b, view: [b], tokens: ids, logits: "all" }])[0]);
  };
  for (const [name, shards] of [["qwen3-tiny", 1], ["qwen3-tiny", 3], ["qwen2-tiny", 2]] as const) {
    const dir = shard(name, shards);
    const sharded = await logits(dir);
    writeFileSync(join(dir, "model.safetensors"), reversedEmbedding(name));
    const alone = mkdtempSync(join(tmpdir(), "hogwild-single-"));
    for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
      copyFileSync(join(f === "model.safetensors" ? dir : fixtureDir(name), f), join(alone, f));
    }
    const single = await logits(alone);
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    assert.ok(!same(single, sharded), `${name}: the two checkpoints give the same logits`);
    assert.ok(same(await logits(dir), single), `${name} with ${shards} shards: not read from model.safetensors`);
    // a model.safetensors that is a broken link is no file (transformers' isfile): the index is read
    rmSync(join(dir, "model.safetensors"));
    symlinkSync(join(dir, "absent"), join(dir, "model.safetensors"));
    assert.ok(same(await logits(dir), sharded), `${name}: a broken link beside the index`);
  }
});
