/**
 * deno task engine generate: an empty --prompt, --system or --ids is read as given (the chat template gets the
 * text as transformers' apply_chat_template would), never taken for a flag left out. script --key-rotation (the
 * slow reference path) runs on the CPU only.
 */
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_MODEL } from "../../harness/bench/spec.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import type { ChatMessage } from "../../engine/tokenizer.ts";
import { fixtureDir, runCli } from "../helpers.ts";

/**
 * The prompt's length in tokens as generate built it: a --max-new-tokens of the model's whole context makes it
 * refuse every prompt, naming the prompt's tokens (nothing is generated).
 */
async function promptTokens(...args: string[]): Promise<number> {
  return await modelPromptTokens(DEMO_MODEL, ...args);
}

async function modelPromptTokens(model: string, ...args: string[]): Promise<number> {
  const r = await runCli("cli/engine.ts", ["generate", "--model", model, "--max-new-tokens", "2048", ...args]);
  const n = /the prompt's (\d+) tokens/.exec(r.stderr)?.[1];
  assert.ok(r.code === 2 && n !== undefined, `${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
  return Number(n);
}

Deno.test("generate --chat: an empty --prompt or --system is a message of that text, as transformers renders it", async () => {
  const tok = TextTokenizer.fromDir(DEMO_MODEL)!;
  const rendered = (messages: ChatMessage[]) =>
    tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), false).length;
  for (const prompt of ["", "Let A be 1 + 2."]) {
    const user: ChatMessage = { role: "user", content: prompt };
    assert.equal(await promptTokens("--chat", "--prompt", prompt), rendered([user]), `--prompt ${prompt}`);
    for (const system of ["", " ", "Be brief."]) {
      assert.equal(
        await promptTokens("--chat", "--prompt", prompt, "--system", system),
        rendered([{ role: "system", content: system }, user]),
        `--prompt ${JSON.stringify(prompt)} --system ${JSON.stringify(system)}`,
      );
    }
  }
});

Deno.test("generate --chat: --no-think or --system that the chat template does not read is refused, naming the flag and the template", async () => {
  const prompt = ["--chat", "--prompt", "Let A be 2 + 3. Find A."];
  // the demo's template reads no enable_thinking: the reviewer's, which gave the ids it gives without --no-think
  const r = await runCli("cli/engine.ts", [
    "generate",
    "--model",
    DEMO_MODEL,
    ...prompt,
    "--no-think",
    "--max-new-tokens",
    "4",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr.trim(),
    /^error: --no-think: .*the chat template \(.*hogwild-demo\/tokenizer_config\.json: chat_template\) does not read enable_thinking/,
  );
  // a template that reads enable_thinking and renders no system message: --no-think changes the prompt, --system
  // would change nothing
  const dir = mkdtempSync(join(tmpdir(), "hogwild-chat-"));
  for (const f of ["config.json", "generation_config.json", "tokenizer.json", "model.safetensors"]) {
    copyFileSync(join(DEMO_MODEL, f), join(dir, f));
  }
  const config = JSON.parse(readFileSync(join(DEMO_MODEL, "tokenizer_config.json"), "utf8"));
  config.chat_template =
    "{% for m in messages %}{% if m.role != 'system' %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n" +
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>\n" +
    "{% if enable_thinking is defined and enable_thinking is false %}<|end|>\n{% endif %}{% endif %}";
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  assert.ok((await modelPromptTokens(dir, ...prompt, "--no-think")) > (await modelPromptTokens(dir, ...prompt)));
  for (const system of ["Be brief.", ""]) {
    const s = await runCli("cli/engine.ts", [
      "generate",
      "--model",
      dir,
      ...prompt,
      "--system",
      system,
      "--max-new-tokens",
      "4",
    ]);
    assert.equal(s.code, 2, s.stderr);
    assert.match(
      s.stderr.trim(),
      /^error: --system: .*the chat template \(.*tokenizer_config\.json: chat_template\) renders no system message/,
    );
  }
});

Deno.test("generate: an empty plain --prompt or --ids is refused as empty, by its own flag", async () => {
  const run = (...args: string[]) =>
    runCli("cli/engine.ts", ["generate", "--model", DEMO_MODEL, "--max-new-tokens", "2", ...args]);
  for (
    const [args, pattern] of [
      // the demo's tokenizer adds no BOS: the text "" is no tokens
      [["--prompt", ""], /^error: --prompt "": no tokens \(.*\); nothing for the model to continue/],
      // an empty flag is refused as the flags are read (engine/errors.ts parseFlags), before the model loads
      [["--ids", ""], /^error: --ids: expected a value, got an empty text/],
      [["--ids", "", "--prompt", "x"], /^error: --ids: expected a value, got an empty text/],
      [["--ids", ",", "--prompt", "x"], /^error: generate: give exactly one of --ids or --prompt$/],
    ] as [string[], RegExp][]
  ) {
    const r = await run(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), pattern, args.join(" "));
  }
  const logits = await runCli("cli/engine.ts", ["logits", "--model", DEMO_MODEL, "--ids", ""]);
  assert.match(logits.stderr.trim(), /^error: --ids: expected a value, got an empty text/);
});

// The GPU has no key-rotation path: its fast path's logits must not come back labelled as the slow reference.
Deno.test("script --key-rotation --device cuda is refused before the model loads, naming both flags", async () => {
  const script = join(fixtureDir("qwen3-tiny"), "hogwild-script.json");
  for (const model of [DEMO_MODEL, "random:qwen3-demo"]) {
    const r = await runCli("cli/engine.ts", [
      "script",
      "--model",
      model,
      "--script",
      script,
      "--key-rotation",
      "--device",
      "cuda",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^error: --key-rotation: the slow reference path runs on the CPU only; drop --device cuda \(or --key-rotation\)$/,
    );
  }
});

Deno.test("generate --seed: refused where the sampling resolves to greedy decoding (--temperature 0 under --sample too), kept where it samples", async () => {
  const run = (...args: string[]) =>
    runCli("cli/engine.ts", ["generate", "--model", DEMO_MODEL, "--ids", "5,6", "--max-new-tokens", "8", ...args]);
  const greedy = await run("--sample", "--temperature", "0", "--seed", "7");
  assert.equal(greedy.code, 2, greedy.stderr);
  assert.match(
    greedy.stderr.trim(),
    /^error: --seed: generate is greedy with --temperature 0; a seed changes nothing$/,
  );
  // the demo's generation_config does not sample: --sample takes its temperature, 1 (transformers' default)
  const [a, b] = [await run("--sample", "--seed", "7"), await run("--sample", "--seed", "7")];
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(a.stdout, b.stdout, "one seed, one text");
});

Deno.test("generate: the generation_config's settings transformers would apply and it does not are one warning line, for the decoding it does (greedy or sampled)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-generate-")), file = join(dir, "generation_config.json");
  cpSync(DEMO_MODEL, dir, { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({ eos_token_id: 0, do_sample: true, repetition_penalty: 1.05, suppress_tokens: [5, 6], top_h: 0.5 }),
  );
  const said = async (...args: string[]) => {
    const r = await runCli("cli/engine.ts", [
      "generate",
      "--model",
      dir,
      "--ids",
      "5,6",
      "--max-new-tokens",
      "4",
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
  };
  const always = "repetition_penalty 1.05, suppress_tokens [5,6]";
  assert.deepEqual(await said("--sample"), [
    `warning: ${file} sets ${always} and top_h 0.5, which transformers applies and this engine does not (decoded without them)`,
  ]);
  // greedy decoding: top_h is a sampling warper, which transformers too skips there
  assert.deepEqual(await said(), [
    `warning: ${file} sets repetition_penalty 1.05 and suppress_tokens [5,6], which transformers applies and this engine does not (decoded without them)`,
  ]);
  // nothing to say where nothing departs (the demo's own generation_config)
  const plain = await runCli("cli/engine.ts", [
    "generate",
    "--model",
    DEMO_MODEL,
    "--ids",
    "5",
    "--max-new-tokens",
    "2",
  ]);
  assert.equal(plain.stderr, "");
});
