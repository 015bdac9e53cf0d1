/**
 * The texts of a run: the collaborative and the plain prompt (template files in harness/generation/prompts/, written in
 * this project's words; users may pass their own), and the protocol strings (headers, the <...> marker,
 * step prefixes, the redundancy check, the finisher's suffix, the forbidden tokens).
 */
import { join } from "node:path";
import { pathExists, pathInfo } from "../../engine/files.ts";
import { check } from "../../engine/errors.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import { checkPlaceholders, fillTemplate, readTemplateFile, textsFile } from "../../tasks/texts.ts";

export { fillTemplate };

export const DEFAULT_NAMES = [
  "Alice",
  "Bob",
  "Carol",
  "Dave",
  "Eve",
  "Frank",
  "Grace",
  "Heidi",
  "Ivan",
  "Judy",
  "Mallory",
  "Niaj",
];

export interface Protocol {
  othersHeader: string;
  ownHeader: string;
  marker: string;
  /** with {name} and {step} */
  stepPrefix: string;
  /**
   * with {name}: what each worker's first step says after its prefix, written for it (the paper's code opens
   * them with a greeting; absent: nothing, the worker starts the step itself)
   */
  firstStep?: string;
  redundancyCheck: string;
  finisherSuffix: string;
  /**
   * token texts never sampled by workers; BOS and EOS are added. A text the vocabulary has no single token for is
   * skipped (forbiddenIds): the model cannot write it as one token, and a sampler forbids tokens
   */
  forbidden: string[];
}

/**
 * The placeholders each text of a protocol fills, `{word}` with one brace: the one table protocolText fills from
 * and loadProtocol checks against (any other `{word}` would reach the model as written). The step prefix must hold
 * both of its own (whose step, which one); the others are texts.
 */
export const PROTOCOL_FILLS = {
  othersHeader: [],
  ownHeader: [],
  marker: [],
  stepPrefix: ["name", "step"],
  firstStep: ["name"],
  redundancyCheck: [],
  finisherSuffix: [],
} as const satisfies Record<keyof Omit<Protocol, "forbidden">, readonly string[]>;
type ProtocolText = keyof typeof PROTOCOL_FILLS;
/** The words any protocol field fills: a `{word}` of another is the text's own (`\boxed{answer}`). */
const PROTOCOL_WORDS: readonly string[] = [...new Set(Object.values(PROTOCOL_FILLS).flat())];

/**
 * Why a protocol text may not be empty: an empty one writes no tokens, so a header's or the marker's block would
 * fail the run's first pass (after the bench calibrates) and a redundancy check would check nothing. firstStep may
 * be (empty, it is none); the step prefix holds its placeholders.
 */
const EMPTY_WHY: Readonly<Record<Exclude<ProtocolText, "firstStep" | "stepPrefix">, string>> = {
  othersHeader: "a block of the runs whose views or fork finisher read it, and a block of no tokens is none",
  ownHeader: "a block of the runs whose views read it, and a block of no tokens is none",
  marker: "a block of the runs whose fork finisher reads it (the others' finishers write it after each unfinished " +
    "step), and a block of no tokens is none",
  redundancyCheck: "the question --redundancy-every writes: empty, the run would check nothing, silently",
  finisherSuffix: "it opens the box the finisher's answer is read from",
};

/** Protocol text `field` with its placeholders filled: `vars` gives exactly those PROTOCOL_FILLS lists for it. */
export function protocolText<K extends ProtocolText>(
  p: Protocol,
  field: K,
  vars: Record<typeof PROTOCOL_FILLS[K][number], string>,
): string {
  return fillTemplate(p[field] ?? "", vars, "{", "}");
}

/**
 * What the harness writes at the head of a writer's step `step` under the collaboration text: the step prefix, and
 * on the first step the firstStep after it. The one place: the run forces it, the viewer's measures leave it out.
 */
export function stepOpening(p: Protocol, name: string, step: number): string {
  return protocolText(p, "stepPrefix", { name, step: String(step) }) +
    (step === 1 ? protocolText(p, "firstStep", { name }) : "");
}

const here = (f: string) => new URL(`./prompts/${f}`, import.meta.url);

/** The file a run reads for `name` of harness/generation/prompts/: the user's, or the project's. */
export const promptsFile = (name: string, file?: string): string => file ?? here(name).pathname;

/** The protocol file a run reads: the user's, or the project's. */
export const protocolFile = (file?: string): string => promptsFile("protocol.json", file);

/**
 * A text a run gives the model as written in a file, named by the file (and field): what the commands check
 * against the model's tokenizer once it is known (an added token in it would be read as that token).
 */
export interface FileText {
  where: string;
  text: string;
}

/** Each string field of a JSON texts file read from `where` (a list, the protocol's forbidden tokens, is none). */
export const fieldTexts = (where: string, texts: object): FileText[] =>
  Object.entries(texts).flatMap(([k, text]) =>
    typeof text === "string" ? [{ where: `${where}: field "${k}"`, text }] : []
  );

/**
 * A text field of a JSON texts file, declared by the code that fills it: the placeholders it may hold (`fills`),
 * spelt as filled, and why it is never empty or what empty means: it `holds` placeholders it needs, or `needs` text
 * (why: empty is refused, naming the file and field), or may be `empty` (what that is: a choice the file makes),
 * and then `optional` too (absent, it reads as empty).
 */
export type TextField =
  & { fills?: readonly string[] }
  & (
    | { holds: readonly [string, ...string[]]; needs?: never; empty?: never; optional?: never }
    | { needs: string; holds?: never; empty?: never; optional?: never }
    | { empty: string; optional?: true; holds?: never; needs?: never }
  );

/**
 * A JSON texts file (textsFile), the user's or `name` of harness/generation/prompts/, each field as `fields` declares
 * it: the one rule for every texts file of a run (the protocol, the code texts, each family's).
 */
export function readTexts(
  file: string | undefined,
  name: string,
  fields: Readonly<Record<string, TextField>>,
  o: { others?: readonly string[]; braces?: 1 | 2; words?: readonly string[] } = {},
): { where: string; texts: Record<string, unknown> } {
  const where = promptsFile(name, file), all = Object.entries(fields);
  const strings = Object.fromEntries(all.map(([k, f]) => [k, f.holds ?? []]));
  const fills = Object.fromEntries(all.map(([k, f]) => [k, f.fills ?? []]));
  const needs = Object.fromEntries(all.flatMap(([k, f]) => (f.needs === undefined ? [] : [[k, f.needs]])));
  const optional = all.flatMap(([k, f]) => (f.optional ? [k] : []));
  return { where, texts: textsFile(where, strings, { ...o, fills, needs, optional }) };
}

export function loadProtocol(file?: string): Protocol {
  const marks = (k: ProtocolText) => PROTOCOL_FILLS[k].map((w) => `{${w}}`);
  // the step prefix holds its placeholders, firstStep may be empty or absent, the others must hold text
  const field = (k: ProtocolText): TextField =>
    k === "stepPrefix"
      ? { holds: marks(k) as [string, ...string[]] }
      : k === "firstStep"
      ? { fills: marks(k), empty: "no greeting: the worker starts its first step itself", optional: true }
      : { fills: marks(k), needs: EMPTY_WHY[k] };
  const { where, texts: p } = readTexts(
    file,
    "protocol.json",
    Object.fromEntries((Object.keys(PROTOCOL_FILLS) as ProtocolText[]).map((k) => [k, field(k)])),
    { others: ["forbidden"], braces: 1, words: PROTOCOL_WORDS },
  );
  check(
    Array.isArray(p.forbidden) && p.forbidden.every((x) => typeof x === "string"),
    `${where}: field "forbidden" must be a list of strings`,
  );
  check(!p.forbidden.includes(""), `${where}: field "forbidden" holds an empty text, which is no token to forbid`);
  // The finisher's answer is read as the box it opens (BOXED.closed): a suffix that opens none reads no answer.
  check(
    (p.finisherSuffix as string).endsWith("\\boxed{"),
    `${where}: field "finisherSuffix" must end with \\boxed{ (the finisher's answer is read as the box it opens)`,
  );
  return p as unknown as Protocol;
}

/**
 * The placeholders a template of each kind may hold (renderTemplate fills them). A plain template is one writer's
 * prompt, alone: sequential would give it one name, self-consistency several, a family that opens its own run
 * with it none ("You are , 0 of you"), so it names nobody and every method renders it alike.
 */
const TEMPLATE_VARS = {
  collab: ["{{problem}}", "{{names}}", "{{count}}"],
  plain: ["{{problem}}"],
} as const;

/**
 * A prompt template: harness/generation/prompts/{collab,plain}{suffix}.txt (suffix "-code": the code tasks' templates), or
 * the user's file. It must hold {{problem}}, and no placeholder but those its kind holds (TEMPLATE_VARS).
 */
export function loadTemplate(kind: "collab" | "plain", file?: string, suffix = ""): string {
  const name = `${kind}${suffix}.txt`;
  const text = readTemplateFile(file ?? here(name).pathname);
  check(text.includes("{{problem}}"), `${file ?? name}: a prompt template must hold {{problem}}`);
  const what = kind === "plain" ? "a plain template: one writer's prompt, naming nobody" : "a collab template";
  checkPlaceholders(text, TEMPLATE_VARS[kind], `${file ?? name} (${what})`);
  return text;
}

/** The code tasks' own protocol text: the finisher's suffix, which ends opening a ```python block. */
export interface CodeTexts {
  finisherSuffix: string;
}

/** harness/generation/prompts/code.json, or the user's file in its format. */
export function loadCodeTexts(file?: string): CodeTexts {
  const { where, texts } = readTexts(file, "code.json", { finisherSuffix: { holds: ["```"] } });
  // The finisher's program is what it writes after the suffix (CODE.closed): the suffix ends on the opening fence.
  check(
    /(^|\n)```[\w+#.-]*\n$/.test(texts.finisherSuffix as string),
    `${where}: field "finisherSuffix" must end with a line opening a fenced block (\`\`\`python and a line break)`,
  );
  return texts as unknown as CodeTexts;
}

/**
 * The template files a run may be given: the maths tasks' and the code tasks' (each a file, else the project's).
 * A file given for one never serves the other: a maths prompt asks for a box, a code task's answer is a program.
 */
export interface TemplateFiles {
  collabTemplate?: string;
  plainTemplate?: string;
  collabCodeTemplate?: string;
  plainCodeTemplate?: string;
}

/** The file `files` names for the template of `kind` and an answer format's suffix (undefined: the project's). */
function templateFile(kind: "collab" | "plain", files: TemplateFiles, suffix: string): string | undefined {
  return suffix
    ? (kind === "collab" ? files.collabCodeTemplate : files.plainCodeTemplate)
    : (kind === "collab" ? files.collabTemplate : files.plainTemplate);
}

/** The template of `kind` for an answer format's suffix ("" for the maths tasks, "-code" for the code tasks). */
export function templateOf(kind: "collab" | "plain", files: TemplateFiles, suffix = ""): string {
  return loadTemplate(kind, templateFile(kind, files, suffix), suffix);
}

/** The templates of both kinds for each of `suffixes`, each named by its file. */
export function templateTexts(files: TemplateFiles, suffixes: readonly string[]): FileText[] {
  return suffixes.flatMap((suffix) =>
    (["collab", "plain"] as const).map((kind) => ({
      where: promptsFile(`${kind}${suffix}.txt`, templateFile(kind, files, suffix)),
      text: templateOf(kind, files, suffix),
    }))
  );
}

/** The files of a model folder that modelTemplates reads (a hub model brings them where it has them). */
const OWN_TEMPLATES: Readonly<Record<keyof TemplateFiles, string>> = {
  collabTemplate: "prompts/collab.txt",
  plainTemplate: "prompts/plain.txt",
  collabCodeTemplate: "prompts/collab-code.txt",
  plainCodeTemplate: "prompts/plain-code.txt",
};
export const MODEL_TEMPLATE_FILES: readonly string[] = Object.values(OWN_TEMPLATES);

/**
 * The template files a command uses for a model: each flag's file, else the model folder's own
 * `prompts/collab.txt`, `plain.txt`, `collab-code.txt`, `plain-code.txt` (the texts it was trained with), else
 * the project's (undefined). The one rule for every command that takes --model.
 */
export function modelTemplates(source: string, flags: TemplateFiles): TemplateFiles {
  const out: TemplateFiles = {};
  // a folder's own: under anything else (a device) Deno may refuse even to look; the model's load says what it is
  const folder = pathInfo(source)?.isDirectory;
  for (const [k, rel] of Object.entries(OWN_TEMPLATES) as [keyof TemplateFiles, string][]) {
    const own = join(source, rel);
    out[k] = flags[k] ?? (folder && pathExists(own) ? own : undefined);
  }
  return out;
}

export function joinNames(names: readonly string[]): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * The version of how prompts are made from their texts, in every run folder's key: bump it when a change of
 * fillTemplate, promptIds or the chat template's choice changes what a model is given, so that no folder
 * resumes across it. 2: values inserted verbatim (1 read `$` patterns in problems). 3: a model folder's
 * chat_template.jinja wins over tokenizer_config.json's template. 4: templates rendered as transformers does
 * (CRLF as LF; tools, documents, unk and pad tokens passed), forbidden tokens by their text, never by a
 * vocabulary's spelling. 5: the template's special tokens from special_tokens_map.json where tokenizer_config.json
 * has none (4 gave them as "").
 */
export const PROMPT_FORMAT = "hogwild-prompts/5";

export function renderTemplate(template: string, problem: string, names: readonly string[]): string {
  return fillTemplate(template, { count: String(names.length), names: joinNames(names), problem });
}

/**
 * The prompt's token ids: the text as the user's message in the model's chat template, the assistant's
 * turn opened, and its reasoning opened with <think> where the model has that token and the template's
 * generation prompt (what it writes after the user's message) did not open it. A generation prompt that closes
 * the reasoning (Qwen3's no-thinking mode writes `<think>\n\n</think>`) is refused: the run would not reason.
 * Without a chat template, the text itself.
 */
export function promptIds(tok: TextTokenizer, text: string): number[] {
  if (!tok.hasChatTemplate) return tok.encode(text, true);
  const messages = [{ role: "user" as const, content: text }];
  let s = tok.applyChatTemplate(messages);
  // the generation prompt: what rendering it adds past the conversation (the problem's own text never counts)
  const head = tok.applyChatTemplate(messages, { addGenerationPrompt: false });
  let same = 0;
  while (same < head.length && head[same] === s[same]) same++;
  const generation = s.slice(same);
  check(
    !generation.includes("</think>"),
    `${tok.chatTemplateFile}: the chat template closes the reasoning in its generation prompt (${
      JSON.stringify(generation)
    }); a reasoning run needs the thinking mode (a template whose generation prompt opens <think> or leaves it out)`,
  );
  if (tok.specialTokenId("<think>") !== undefined && !generation.includes("<think>")) s += "<think>\n";
  return tok.encode(s);
}

/**
 * The ids of the forbidden texts that are one token of this tokenizer, and the texts that are not (`skipped`): a
 * sampler forbids tokens, and a text the vocabulary has no single token for is one the model cannot write as one
 * (`</think>` in a vocabulary without it), so it is left out, never an error mid-run. forbiddenNote says so at start.
 */
export function forbiddenIds(tok: TextTokenizer, texts: readonly string[]): { ids: number[]; skipped: string[] } {
  const ids: number[] = [], skipped: string[] = [];
  for (const t of texts) {
    // an added token by its text; any other by encoding (a vocabulary's own spelling, "Ġ" or a lone byte, is not text)
    const special = tok.specialTokenId(t);
    const own = special !== undefined ? [special] : tok.encode(t);
    if (own.length === 1) ids.push(own[0]);
    else skipped.push(t);
  }
  return { ids, skipped };
}

/** The start-up line naming the protocol's forbidden texts this tokenizer has no single token for (none: undefined). */
export function forbiddenNote(tok: TextTokenizer, protocol: Protocol, file: string): string | undefined {
  const { skipped } = forbiddenIds(tok, protocol.forbidden);
  if (!skipped.length) return undefined;
  return `${file}: field "forbidden": ${skipped.map((t) => JSON.stringify(t)).join(", ")} ${
    skipped.length > 1 ? "are" : "is"
  } no single token of this tokenizer, so ${skipped.length > 1 ? "they are" : "it is"} not suppressed ` +
    `(a sampler forbids tokens, and the model cannot write ${skipped.length > 1 ? "these texts" : "this text"} as one)`;
}
