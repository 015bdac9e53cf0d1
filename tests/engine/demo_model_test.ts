/**
 * The demo model (engine/models/hogwild-demo): a standard model folder that the engine loads unchanged and
 * runs as PyTorch does (tools/demo-model/train.py wrote the reference logits from its own forward pass),
 * small enough to ship, with a tokenizer that gives the project's texts back exactly.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { DEMO_MODEL } from "../../harness/bench_spec.ts";
import { projectTexts } from "../../tools/demo-model/tokenizer.ts";
import { readSmallFile } from "../../engine/safetensors.ts";
import { FIXTURES, maxAbsDiff } from "../helpers.ts";

Deno.test("demo model: the engine's logits equal PyTorch's within 1e-4, on held-out views", async () => {
  const engine = await Engine.load(DEMO_MODEL);
  const ref = readSmallFile(join(FIXTURES, "hogwild-demo-reference.safetensors"));
  let n = 0;
  for (let s = 0; ref.has(`seq${s}.ids`); s++, n++) {
    const ids = Array.from(ref.get(`seq${s}.ids`)!.data);
    const cache = engine.newCache({ tokens: ids.length + 16 }), block = cache.newBlock();
    const [got] = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
    const err = maxAbsDiff(got, ref.get(`seq${s}.logits`)!.data);
    console.log(`demo seq${s} (${ids.length} tokens): worst |logit error| ${err.toExponential(2)}`);
    assert.ok(err < 1e-4, `seq${s}: ${err}`);
  }
  assert.ok(n >= 3);
});

Deno.test("demo model: under 10 MB, a tokenizer that round-trips every project text, a chat template", async () => {
  const bytes = readdirSync(DEMO_MODEL, { recursive: true }).map(String)
    .reduce((a, f) => a + (statSync(join(DEMO_MODEL, f)).isFile() ? statSync(join(DEMO_MODEL, f)).size : 0), 0);
  assert.ok(bytes < 10e6, `${bytes} bytes`);
  const t = (await Engine.load(DEMO_MODEL)).tokenizer!;
  for (const text of projectTexts()) assert.equal(t.decode(t.encode(text)), text);
  assert.ok(t.encode(projectTexts()[0]).length < 400, "the project's collaboration prompt is a few hundred tokens");
  assert.equal(
    t.applyChatTemplate([{ role: "user", content: "Hi" }], { addGenerationPrompt: true }),
    "<|user|>\nHi<|end|>\n<|assistant|>\n",
  );
});
