/**
 * deno task bench: for now, an end-to-end demo on the embedded tiny model (random weights, the real Qwen3
 * tokenizer and chat template): the prompt is prefilled once as a shared block, then two workers decode in
 * one batched pass each step, each seeing the other's tokens as they appear (view: prompt, other, own).
 * The full benchmark (methods × tasks × budgets, curves) replaces this with the benchmark issue.
 *
 *   deno task bench [--model DIR|random:SHAPE] [--tokens N] [--out results/demo]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { Engine } from "../engine/model.ts";
import { GREEDY, Sampler } from "../engine/sampler.ts";

const PROBLEM = "Two workers share one page. Alice adds 17 and 25; Bob multiplies the result by 3. What do they get?";

async function main() {
  const { values } = parseFlags({
    model: { type: "string", default: "random:qwen3-demo" },
    tokens: { type: "string", default: "24" },
    out: { type: "string", default: "results/demo" },
  });
  const steps = Number(values.tokens);
  check(Number.isInteger(steps) && steps > 0, `--tokens: expected a positive integer, got "${values.tokens}"`);
  const engine = await Engine.load(values.model);
  const tok = engine.tokenizer;
  check(tok?.hasChatTemplate, `--model ${values.model}: the demo needs a tokenizer with a chat template`);
  const prompt = tok.encode(tok.applyChatTemplate([{ role: "user", content: PROBLEM }]));
  const names = ["Alice", "Bob"];
  const cache = engine.newCache({ tokens: prompt.length + 2 * (steps + 32) });
  const shared = cache.newBlock("prompt");
  const own = names.map((n) => cache.newBlock(n));
  const samplers = names.map(() => new Sampler({ ...GREEDY, suppress: engine.generation.eosTokenIds }));
  const t0 = performance.now();
  engine.forward(cache, [{ block: shared, view: [shared], tokens: prompt, logits: "none" }]);
  let next = names.map((n) => tok.encode(`**${n} [1]:** `));
  const written: number[][] = names.map(() => []);
  for (let s = 0; s < steps; s++) {
    const rows = own.map((b, i) => ({ block: b, view: [shared, own[1 - i], b], tokens: next[i] }));
    const ids = engine.forwardSample(cache, rows, samplers);
    written.forEach((w, i) => w.push(...next[i]));
    next = ids.map((id) => [id]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const workers = names.map((name, i) => ({ name, text: tok.decode(written[i]) }));
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, "demo.json");
  writeFileSync(file, JSON.stringify({ model: values.model, prompt: PROBLEM, promptTokens: prompt.length, passes: steps + 1, seconds, workers }, null, 1) + "\n");
  console.log(`model ${values.model}: prompt of ${prompt.length} tokens prefilled once, then ${steps} passes of ${names.length} workers (${seconds.toFixed(2)} s)`);
  for (const w of workers) console.log(`  ${w.name}: ${JSON.stringify(w.text.slice(0, 160))}`);
  console.log(`(random weights write gibberish; the path is real: tokenizer, chat template, shared cache)\nwrote ${file}`);
  console.log(`run a real model: deno task bench --model /path/to/Qwen3-8B   (a Hugging Face folder)`);
}

if (import.meta.main) runMain(main);
