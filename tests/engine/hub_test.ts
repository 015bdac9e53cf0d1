/** Hub models: a model id resolves to its snapshot in the Hugging Face cache and loads, offline. */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hubModel } from "../../engine/hub.ts";
import { Engine } from "../../engine/model.ts";
import { fixtureDir } from "../helpers.ts";

Deno.test("a hub model id loads from the cache, offline", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-")), sha = "89abcdef0123456789abcdef0123456789abcdef";
  const root = join(cache, "models--tiny--qwen3");
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(join(root, "snapshots", sha), { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha + "\n");
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir("qwen3-tiny"), f), join(root, "snapshots", sha, f));
  }
  const dir = await hubModel("tiny/qwen3", { cacheDir: cache, offline: true });
  assert.equal(dir, join(root, "snapshots", sha));
  const engine = await Engine.load(dir);
  assert.equal(engine.config.family, "qwen3");
  await assert.rejects(
    hubModel("tiny/absent", { cacheDir: cache, offline: true }),
    /hf:tiny\/absent: config\.json \(revision main\) is not in the cache/,
  );
});
