/**
 * The demo model's tokenizer: whole words, numbers up to 199 and punctuation (each with or without a leading
 * space), newlines, and every printable ASCII character for anything else; a BPE model without merges that
 * takes a pre-token whole when its vocabulary has it (ignore_merges), so that the project's prompts are a few
 * hundred tokens, not thousands of characters. Written as a standard tokenizer.json.
 */
import { readFileSync } from "node:fs";
import { DEFAULT_NAMES } from "../../harness/generation/prompts.ts";

export const PATTERN = String.raw`\n+| ?[A-Za-z]+| ?[0-9]+| ?[^ \nA-Za-z0-9]| +`;
export const SPECIAL = ["<|end|>", "<|user|>", "<|assistant|>", "</think>", "<|unk|>"];
export const CHAT_TEMPLATE =
  "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

function pieces(text: string): string[] {
  return text.match(new RegExp(PATTERN, "g")) ?? [];
}

/** The vocabulary: the special tokens, then every piece of the texts the model meets, then the fallbacks. */
export function vocabulary(texts: string[]): string[] {
  const words = new Set<string>();
  for (const t of texts) for (const p of pieces(t)) words.add(p);
  for (let n = 0; n < 200; n++) words.add(String(n)).add(` ${n}`);
  for (let c = 32; c < 127; c++) words.add(String.fromCharCode(c)).add(` ${String.fromCharCode(c)}`);
  for (let k = 1; k <= 8; k++) words.add(" ".repeat(k)).add("\n".repeat(k));
  return [...SPECIAL, ...[...words].sort()];
}

/** Every text of the project that a run of the demo model reads (prompts, protocol, names, its task's words). */
export function projectTexts(): string[] {
  const file = (name: string) =>
    readFileSync(new URL(`../../harness/generation/prompts/${name}`, import.meta.url), "utf8");
  const json = (name: string) => Object.values(JSON.parse(file(name)) as Record<string, unknown>).flat().map(String);
  return [
    file("collab.txt"),
    file("plain.txt"),
    readFileSync(new URL("../../engine/models/hogwild-demo/prompts/collab.txt", import.meta.url), "utf8"),
    readFileSync(new URL("../../engine/models/hogwild-demo/prompts/plain.txt", import.meta.url), "utf8"),
    ...json("protocol.json"),
    ...json("sot.json"),
    DEFAULT_NAMES.join(" , "),
    "Let A be 1 + 2; let B be 3. Find A, B and C. A: 1 + 2 = 3, 3 + 4 = 7. A = 7. Waiting for B. Answer: \\boxed{7, ?}. no. yes.",
  ];
}

export function tokenizerJson(vocab: string[]): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { Regex: PATTERN }, behavior: "Isolated", invert: false },
    post_processor: null,
    decoder: { type: "Fuse" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<|unk|>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      merges: [],
    },
  };
}

export function tokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    eos_token: "<|end|>",
    unk_token: "<|unk|>",
    pad_token: "<|end|>",
    model_max_length: 2048,
    clean_up_tokenization_spaces: false,
    chat_template: CHAT_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(
      SPECIAL.map((
        content,
        id,
      ) => [String(id), {
        content,
        lstrip: false,
        normalized: false,
        rstrip: false,
        single_word: false,
        special: true,
      }]),
    ),
  };
}
