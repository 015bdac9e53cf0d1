/**
 * Texts in files, the harness's prompts and the tasks' alike (tasks sit below the harness, so both read them
 * here): a JSON file of strings with their placeholders checked, and a template filled in.
 */
import { readJson, readText } from "../engine/config.ts";
import { check } from "../engine/errors.ts";

/**
 * The JSON texts file `where`: each field of `strings` a string holding the placeholders listed for it (one
 * error naming the file and field), and no placeholder but those and the ones `fills` lists for it (another would
 * reach the model as written; `braces`: how they are spelt, checkPlaceholders); a field of `needs` not empty (its
 * value says why, in the error). `others` are the file's other fields, the caller's to check; any field neither
 * names is refused (a misspelt optional field would be ignored, silently).
 */
export function textsFile(
  where: string,
  strings: Readonly<Record<string, readonly string[]>>,
  o: {
    fills?: Readonly<Record<string, readonly string[]>>;
    needs?: Readonly<Record<string, string>>;
    /** fields of `strings` the file may leave out (absent reads as empty) */
    optional?: readonly string[];
    others?: readonly string[];
    braces?: 1 | 2;
    /** braces 1: the words the file's fields fill (a `{word}` of another word is text: `\boxed{answer}`) */
    words?: readonly string[];
  } = {},
): Record<string, unknown> {
  const texts = readJson(where) as Record<string, unknown>, fills = o.fills ?? {};
  for (const [k, v] of Object.entries(texts)) {
    // every string of the file, a list's included
    for (const x of [v].flat(2)) {
      const lone = typeof x === "string" ? loneSurrogate(x) : undefined;
      check(!lone, `${where}: field "${k}" ${lone}`);
    }
  }
  const known = [...Object.keys(strings), ...(o.others ?? [])];
  for (const k of Object.keys(texts)) {
    check(known.includes(k), `${where}: field "${k}" is not a field of this file (its fields: ${known.join(", ")})`);
  }
  const optional = o.optional ?? [];
  for (const k of Object.keys(strings)) {
    if (optional.includes(k) && texts[k] === undefined) continue;
    check(
      typeof texts[k] === "string",
      `${where}: field "${k}" must be a string${optional.includes(k) ? " (or absent)" : ""}`,
    );
  }
  for (const [k, why] of Object.entries(o.needs ?? {})) {
    check(texts[k] !== "", `${where}: field "${k}" is empty; it must hold text (${why})`);
  }
  for (const [k, marks] of Object.entries(strings)) {
    if (texts[k] === undefined) continue; // optional, absent
    for (const m of marks) check((texts[k] as string).includes(m), `${where}: field "${k}" must hold ${m}`);
    const allowed = [...new Set([...marks, ...(fills[k] ?? [])])];
    checkPlaceholders(texts[k] as string, allowed, `${where}: field "${k}"`, o.braces, o.words);
  }
  return texts;
}

/**
 * Why `text` is no text, where it holds a UTF-16 surrogate alone (a JSON escape, `\ud83e`, of half a character):
 * it would reach the model as U+FFFD, silently.
 */
export function loneSurrogate(text: string): string | undefined {
  if (text.isWellFormed()) return undefined;
  const at = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(text)!;
  const code = at[0].charCodeAt(0).toString(16);
  return `holds half a character (the surrogate \\u${code} alone, at character ${at.index}): a JSON escape of a character cut in two?`;
}

/**
 * A prompt template file's text (the prompts' .txt and the judge's), its line endings LF: a file saved on Windows
 * (CRLF) or classic Mac OS (CR) gives the model the text the LF file does, as chat templates are read (an LF file is
 * unchanged, and so its hash in the run key).
 */
export function readTemplateFile(file: string): string {
  return readText(file).replace(/\r\n?/g, "\n");
}

/**
 * Refuses a placeholder in `text` that is not one of `allowed` (the placeholders its filler fills, spelt as
 * written), naming `where`: it would reach the model as written. `braces` 2: whatever a `{{` opens, to the first `}}`
 * after it (`{{ names|join(', ') }}`, `{{}}`; a `{{` never closed) unless a digit, or braces, follow it (LaTeX, code:
 * `{{x}^2}`, `{{1,2},{3,4}}`), and a `{word}` of a word it fills (`{k}` for `{{k}}`); any other single brace is text
 * (`\boxed{answer}`). 1 (the protocol's texts): braces holding one of `words`, the file's placeholders in any field,
 * in any case, alone or as a template language would write it (`{Name}`, `{name.x}`, `{{name}}`, which would fill in
 * as `{Alice}`); braces of another word, or of a sentence, are text there too (`\boxed{answer}`, `\frac{a}{b}`,
 * `\textbf{Step by step}`).
 */
export function checkPlaceholders(
  text: string,
  allowed: readonly string[],
  where: string,
  braces: 1 | 2 = 2,
  words: readonly string[] = [],
): void {
  if (braces === 2) {
    for (const [whole, inside] of text.matchAll(/(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})/g)) {
      check(
        !allowed.includes(`{{${inside}}}`),
        `${where}: ${whole} is no placeholder; {{${inside}}} is (with two braces)`,
      );
    }
  }
  const fills = allowed.length ? allowed.join(", ") : "none";
  if (braces === 2) {
    // every {{ opens a placeholder, to the first }} after it: exactly one the text fills, or refused (a {{ of
    // LaTeX is written "{ {")
    for (let at = text.indexOf("{{"); at !== -1; at = text.indexOf("{{", at)) {
      const end = text.indexOf("}}", at + 2);
      // braces inside (but after a placeholder's own name, in any case: `{{names}`), or a digit first, is no
      // placeholder written otherwise: LaTeX or code (`\frac{1}{{x}^2}`, `{{1,2},{3,4}}`, `x^{{2}}`), left as text
      const opened = text.slice(at + 2, end === -1 ? undefined : end), name = /^\s*(\w*)/.exec(opened)![1];
      const own = allowed.some((a) => a.slice(2, -2).toLowerCase() === name.toLowerCase());
      if ((/[{}]/.test(opened) && !own) || /^\d/.test(opened)) {
        at += 2;
        continue;
      }
      check(
        end !== -1,
        `${where}: ${
          JSON.stringify(text.slice(at, at + 24))
        } opens a placeholder no "}}" closes (a "{{" of the text is written "{ {")`,
      );
      const whole = text.slice(at, end + 2), inside = whole.slice(2, -2).trim();
      const spaced = whole !== `{{${inside}}}` && allowed.includes(`{{${inside}}}`);
      check(
        allowed.includes(whole),
        `${where}: ${whole} is no placeholder; it fills ${fills}${
          spaced ? " (written without spaces)" : ' (a "{{" of the text is written "{ {")'
        }`,
      );
      at = end + 2;
    }
    return;
  }
  // one brace (a protocol's): a group of braces holding one of the file's words, in any case, is one of the
  // placeholders this field fills, exactly ({Name}, { name }, {name.x}, {{name}} are not); others are text
  for (const [whole, inside] of text.matchAll(/\{+([^{}]*)\}+/g)) {
    // the word alone, or with what a template language would add to it (`.x`, `| f`, `[0]`, `+ 1`, `!r`); a word
    // then others is text (`\textbf{Step by step}`, `\text{step size}`)
    const word = /^\s*([A-Za-z_]\w*)\s*(?:$|[^\sA-Za-z0-9_])/.exec(inside)?.[1];
    if (!word || !words.some((w) => w.toLowerCase() === word.toLowerCase())) continue; // LaTeX, text
    const hint = allowed.includes(`{${word}}`) && whole.startsWith("{{") ? " (with one brace)" : "";
    check(allowed.includes(whole), `${where}: ${whole} is no placeholder; it fills ${fills}${hint}`);
  }
}

/** `text` as a regular expression that matches it literally (its syntax characters escaped). */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `template` with each placeholder of `vars` (`{{key}}`, or with other delimiters) replaced in one pass: a
 * value goes in as it is, never read as a replacement pattern (`$$`, `$&`, `` $` `` as String.replace reads
 * them) and never scanned for placeholders again, so a problem holding `$$x$$` or `{{outline}}` reaches the
 * model byte for byte. The one place any prompt text is filled in.
 */
export function fillTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
  open = "{{",
  close = "}}",
): string {
  const keys = Object.keys(vars);
  if (keys.length === 0) return template;
  const esc = escapeRegExp;
  const re = new RegExp(`${esc(open)}(${keys.map(esc).join("|")})${esc(close)}`, "g");
  return template.replace(re, (_, key: string) => vars[key]);
}
