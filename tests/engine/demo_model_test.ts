/**
 * The demo model (engine/models/hogwild-demo): a standard model folder that the engine loads unchanged and
 * runs as PyTorch does (tools/demo-model/train.py wrote the reference logits from its own forward pass),
 * small enough to ship, with a tokenizer that gives the project's texts back exactly.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Block } from "../../engine/cache.ts";
import { Engine } from "../../engine/model.ts";
import { DEMO_MODEL } from "../../harness/bench/spec.ts";
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

/**
 * A run recorded by the teacher (tools/demo-model/teacher.ts RunRecord), replayed through the engine's cache pass
 * by pass: every row's logits for all its new tokens, and the view offsets the record holds checked against
 * the blocks' lengths as the passes leave them.
 */
function replay(engine: Engine, run: Map<string, { data: ArrayLike<number> }>, name: string): Float32Array[] {
  const f = (k: string) => Array.from(run.get(`${name}.${k}`)!.data);
  const [ids, block, pass, row, viewStart, viewBlock, viewOffset] = [
    "ids",
    "block",
    "pass",
    "row",
    "row_view_start",
    "view_block",
    "view_offset",
  ].map(f);
  const cache = engine.newCache({ tokens: 8 * ids.length }), blocks = new Map<number, Block>();
  const blockOf = (b: number) => blocks.get(b) ?? blocks.set(b, cache.newBlock()).get(b)!;
  const logits: Float32Array[] = new Array(ids.length);
  const order = ids.map((_, i) => i).sort((a, b) => pass[a] - pass[b] || a - b);
  for (let i = 0; i < order.length;) {
    const rows: { r: number; tokens: number[] }[] = [];
    for (const p = pass[order[i]]; i < order.length && pass[order[i]] === p; i++) {
      const t = order[i];
      if (rows.at(-1)?.r !== row[t]) rows.push({ r: row[t], tokens: [] });
      rows.at(-1)!.tokens.push(t);
    }
    const plan = rows.map(({ r, tokens }) => ({
      block: blockOf(block[tokens[0]]),
      view: viewBlock.slice(viewStart[r], viewStart[r + 1]).map(blockOf),
      tokens: tokens.map((t) => ids[t]),
      logits: "all" as const,
    }));
    const grown = (b: Block) => b.length + plan.reduce((n, p) => n + (p.block === b ? p.tokens.length : 0), 0);
    for (const [k, { r }] of rows.entries()) {
      let offset = 0;
      for (const [e, b] of plan[k].view.entries()) {
        assert.equal(viewOffset[viewStart[r] + e], offset, `${name}: row ${r}'s view offset ${e}`);
        offset += grown(b);
      }
    }
    const out = engine.forward(cache, plan);
    for (const [k, { tokens }] of rows.entries()) {
      for (const [j, t] of tokens.entries()) logits[t] = out[k].subarray(j * engine.vocab, (j + 1) * engine.vocab);
    }
  }
  return logits;
}

Deno.test("demo model: whole runs replayed through the engine's shared cache give the logits train.py trains on", async () => {
  const engine = await Engine.load(DEMO_MODEL);
  const ref = readSmallFile(join(FIXTURES, "hogwild-demo-reference.safetensors"));
  let n = 0;
  for (let s = 0; ref.has(`run${s}.ids`); s++, n++) {
    const logits = replay(engine, ref, `run${s}`), at = Array.from(ref.get(`run${s}.at`)!.data);
    const want = ref.get(`run${s}.logits`)!.data;
    const got = new Float32Array(at.length * engine.vocab);
    for (const [k, t] of at.entries()) got.set(logits[t], k * engine.vocab);
    const err = maxAbsDiff(got, want);
    console.log(
      `demo run${s} (${logits.length} tokens, ${at.length} compared): worst |logit error| ${err.toExponential(2)}`,
    );
    assert.ok(err < 1e-4, `run${s}: ${err}`);
  }
  assert.ok(n >= 2);
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
