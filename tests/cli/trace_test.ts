/**
 * deno task trace: a prompt file holding one of the model's added tokens is refused before the run, naming the
 * file (and field) and the token, as the bench refuses it (tests/cli/bench_test.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers.ts";

Deno.test("a prompt file or protocol text holding an added token of the model's tokenizer is refused before the weights load, naming file, field and token", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-trace-"));
  const protocol = JSON.parse(readFileSync("harness/generation/prompts/protocol.json", "utf8"));
  const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  const cases: [flags: string[], where: string, token: string][] = [
    [["--collab-prompt", write("c.txt", "{{names}}: {{problem}}<|im_end|>")], "c.txt", "<|im_end|>"],
    [["--plain-prompt", write("p.txt", "<think>{{problem}}")], "p.txt", "<think>"],
    [
      ["--protocol", write("pr.json", JSON.stringify({ ...protocol, marker: "<|endoftext|>" }))],
      'pr.json: field "marker"',
      "<|endoftext|>",
    ],
  ];
  for (const [flags, where, token] of cases) {
    const r = await runCli("cli/trace.ts", [
      "--model",
      "random:qwen3-demo",
      "--prompt",
      "What is 2+2?",
      "--steps",
      "2",
      // before the weights load: the refusal, not the device's, on a machine with no GPU to load them on
      "--device",
      "cuda",
      ...flags,
    ]);
    assert.equal(r.code, 2, `${where}: ${r.stderr}`);
    assert.ok(
      r.stderr.startsWith(`error: ${join(dir, where)}: its text holds ${JSON.stringify(token)}, an added token of`),
      r.stderr,
    );
  }
});
