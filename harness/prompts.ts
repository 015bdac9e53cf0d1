/**
 * The texts of a run: the collaborative and the plain prompt (template files in harness/prompts/, written in
 * this project's words; users may pass their own), and the protocol strings (headers, the <...> marker,
 * step prefixes, the redundancy check, the finisher's suffix, the forbidden tokens).
 */
import { readFileSync } from "node:fs";
import { readJson } from "../engine/config.ts";
import { check, InputError } from "../engine/errors.ts";
import type { TextTokenizer } from "../engine/tokenizer.ts";

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
  redundancyCheck: string;
  finisherSuffix: string;
  /** token texts never sampled by workers (each must be a single token); BOS and EOS are added */
  forbidden: string[];
}

/** Skeleton-of-Thought's texts and limits (harness/prompts/sot.json, or the user's file). */
export interface SotTexts {
  /** the outline request, with {{problem}} */
  outline: string;
  /** written for the model at the start of its plan; its points are numbered from 1 */
  outlineStart: string;
  /** a point's prompt, with {{problem}}, {{outline}}, {{k}} and {{point}} */
  point: string;
  /** before point k's work when the work is re-encoded, with {{k}} and {{point}} */
  pointHeader: string;
  /** opens the re-encoded work */
  resume: string;
  /** between the last point's work and the continuation */
  join: string;
  outlineTokens: number;
  pointTokens: number;
  maxPoints: number;
}

const here = (f: string) => new URL(`./prompts/${f}`, import.meta.url);

export function loadProtocol(file?: string): Protocol {
  const where = file ?? here("protocol.json").pathname;
  const p = readJson(where) as Record<string, unknown>;
  for (const k of ["othersHeader", "ownHeader", "marker", "stepPrefix", "redundancyCheck", "finisherSuffix"]) {
    check(typeof p[k] === "string", `${where}: field "${k}" must be a string`);
  }
  check(
    (p.stepPrefix as string).includes("{name}") && (p.stepPrefix as string).includes("{step}"),
    `${where}: "stepPrefix" must hold {name} and {step}`,
  );
  check(
    Array.isArray(p.forbidden) && p.forbidden.every((x) => typeof x === "string"),
    `${where}: field "forbidden" must be a list of strings`,
  );
  return p as unknown as Protocol;
}

export function loadSot(file?: string): SotTexts {
  const where = file ?? here("sot.json").pathname;
  const p = readJson(where) as Record<string, unknown>;
  for (const k of ["outline", "outlineStart", "point", "pointHeader", "resume", "join"]) {
    check(typeof p[k] === "string", `${where}: field "${k}" must be a string`);
  }
  for (const k of ["outlineTokens", "pointTokens", "maxPoints"]) {
    check(Number.isInteger(p[k]) && (p[k] as number) > 0, `${where}: field "${k}" must be a positive integer`);
  }
  const needs: [string, string[]][] = [["outline", ["{{problem}}"]], ["point", [
    "{{problem}}",
    "{{outline}}",
    "{{k}}",
    "{{point}}",
  ]]];
  for (const [k, marks] of needs) {
    for (const m of marks) check((p[k] as string).includes(m), `${where}: field "${k}" must hold ${m}`);
  }
  return p as unknown as SotTexts;
}

/** A prompt template: harness/prompts/{collab,plain}.txt, or the user's file. It must hold {{problem}}. */
export function loadTemplate(kind: "collab" | "plain", file?: string): string {
  let text: string;
  try {
    text = readFileSync(file ?? here(`${kind}.txt`), "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read the prompt template (${(e as Error).message})`);
  }
  check(text.includes("{{problem}}"), `${file ?? kind + ".txt"}: a prompt template must hold {{problem}}`);
  return text;
}

export function joinNames(names: readonly string[]): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function renderTemplate(template: string, problem: string, names: readonly string[]): string {
  return template.replaceAll("{{count}}", String(names.length)).replaceAll("{{names}}", joinNames(names)).replaceAll(
    "{{problem}}",
    problem,
  );
}

/**
 * The prompt's token ids: the text as the user's message in the model's chat template, the assistant's
 * turn opened, and its reasoning opened with <think> where the model has that token and the template did
 * not open it. Without a chat template, the text itself.
 */
export function promptIds(tok: TextTokenizer, text: string): number[] {
  if (!tok.hasChatTemplate) return tok.encode(text, true);
  let s = tok.applyChatTemplate([{ role: "user", content: text }]);
  if (tok.tokenId("<think>") !== undefined && !s.trimEnd().endsWith("<think>")) s += "<think>\n";
  return tok.encode(s);
}

/** The ids of single-token texts (a text that is not one token is an error: it could not be suppressed). */
export function singleTokenIds(tok: TextTokenizer, texts: readonly string[]): number[] {
  return texts.map((t) => {
    const special = tok.tokenId(t);
    const ids = special !== undefined ? [special] : tok.encode(t);
    check(
      ids.length === 1,
      `forbidden token "${t}" is ${ids.length} tokens for this tokenizer; only single tokens can be suppressed`,
    );
    return ids[0];
  });
}
