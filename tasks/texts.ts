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
 * written), naming `where`: it would reach the model as written. `braces` 2: a `{{` opens a placeholder unless a
 * brace, a backslash or a number follows it (LaTeX, code: `{{{x}}}`, `{{\rm d}}`, `x^{{-1}}`, `{{1,2},{3,4}}`), or it
 * is LaTeX's `\{` then a brace. The placeholder is its second brace's group: closed by `}}` (`{{…}}`), it must be
 * exactly one of `allowed` (`{{ names|join(', ') }}`, `{{}}` are not) unless braces or a LaTeX command are inside
 * (`{{x^{2}}}`, `{{n \choose k}}`); never closed, it is refused; closed by one brace, a word (`{{names}`,
 * `{{problme}:`) is refused unless LaTeX's group goes on after it (a script, a command, a group, a prime) and the
 * first brace closes on its line (a group of groups: `{{x}^2}`, `{{a} \over {b}}`), anything else is text
 * (`{{a,b},{c,d}}`). A refusal names the placeholder a word misspells (nearMiss). A `{word}` of a word it fills is
 * refused (`{k}` for `{{k}}`); any other single brace is text (`\boxed{answer}`). 1 (the protocol's texts): braces
 * holding one of `words`, the file's placeholders in any field, in any case, or a near miss of one (`{nmae}`,
 * `{names}`: nearMiss), alone or as a template language would write it (`{Name}`, `{name.x}`, `{{name}}`, which
 * would fill in as `{Alice}`); braces of another word, or of a sentence, are text there too (`\boxed{answer}`,
 * `\frac{a}{b}`, `\textbf{Step by step}`, `{stepping}`).
 */
export function checkPlaceholders(
  text: string,
  allowed: readonly string[],
  where: string,
  braces: 1 | 2 = 2,
  words: readonly string[] = [],
): void {
  const fills = allowed.length ? allowed.join(", ") : "none";
  if (braces === 2) {
    for (const [whole, inside] of text.matchAll(/(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})/g)) {
      check(
        !allowed.includes(`{{${inside}}}`),
        `${where}: ${whole} is no placeholder; {{${inside}}} is (with two braces)`,
      );
    }
    const names = allowed.map((a) => a.slice(2, -2));
    // the placeholder a word misspells, as a hint
    const meant = (word: string) => {
      const near = nearMiss(word, names);
      return near === undefined ? "" : ` ({{${near}}}, misspelt?)`;
    };
    const textual = ' (a "{{" of the text is written "{ {")';
    for (let at = text.indexOf("{{"); at !== -1; at = text.indexOf("{{", at)) {
      // LaTeX's \{ (a brace of the text), then a group; a brace, a command or a number after the {{ (LaTeX, code)
      if ((/\\*$/.exec(text.slice(0, at))![0].length) % 2 === 1) {
        at += 1;
        continue;
      }
      if (/^(?:[{\\]|[+-]?\.?\d)/.test(text.slice(at + 2))) {
        at += 2;
        continue;
      }
      const inner = closingBrace(text, at + 1);
      check(
        inner !== -1,
        `${where}: ${JSON.stringify(text.slice(at, at + 24))} opens a placeholder no "}}" closes${textual}`,
      );
      const inside = text.slice(at + 2, inner);
      if (text[inner + 1] === "}") {
        // {{…}}: a placeholder, unless braces or a LaTeX command (no quotes: no template language's string) are in it
        const whole = text.slice(at, inner + 2), trimmed = inside.trim();
        if (!allowed.includes(whole) && (/[{}]/.test(inside) || (inside.includes("\\") && !/['"]/.test(inside)))) {
          at += 2;
          continue;
        }
        const spaced = whole !== `{{${trimmed}}}` && allowed.includes(`{{${trimmed}}}`);
        check(
          allowed.includes(whole),
          `${where}: ${whole} is no placeholder; it fills ${fills}${
            spaced ? " (written without spaces)" : meant(trimmed) || textual
          }`,
        );
        at = inner + 2;
        continue;
      }
      // {{word}: a placeholder closed by one brace, unless LaTeX's group of groups: the first group goes on as LaTeX
      // does after a group (a script, a command, a group, a prime) and closes on its line (`{{x}^2}`, `{{a} \over {b}}`)
      const word = /^\s*[#^/&>!$~-]?\s*([\p{L}_][\p{L}\p{N}_]*)\s*$/u.exec(inside)?.[1], outer = closingBrace(text, at);
      const next = /^[ \t]*(.?)/.exec(text.slice(inner + 1))![1];
      const group = next !== "" && "^_\\{'}".includes(next) && outer !== -1 && !text.slice(inner, outer).includes("\n");
      check(
        word === undefined || group,
        `${where}: ${JSON.stringify(text.slice(at, inner + 1))} opens a placeholder no "}}" closes${
          allowed.includes(`{{${word}}}`)
            ? ` ({{${word}}}, with two braces?)`
            : `, and {{${inside}}} would be none either: it fills ${fills}${meant(word ?? "") || textual}`
        }`,
      );
      at += 2;
    }
    return;
  }
  // one brace (a protocol's): a group of braces holding one of the file's words, in any case, or a near miss of one,
  // is one of the placeholders this field fills, exactly ({Name}, { name }, {name.x}, {{name}}, {nmae} are not);
  // others are text
  for (const [whole, inside] of text.matchAll(/\{+([^{}]*)\}+/g)) {
    // the word alone, or with what a template language would add to it (`.x`, `| f`, `[0]`, `+ 1`, `!r`); a word
    // then others is text (`\textbf{Step by step}`, `\text{step size}`)
    const word = /^\s*([A-Za-z_]\w*)\s*(?:$|[^\sA-Za-z0-9_])/.exec(inside)?.[1];
    if (!word) continue; // LaTeX, text
    const own = words.some((w) => w.toLowerCase() === word.toLowerCase()),
      near = own ? undefined : nearMiss(word, words);
    if (!own && near === undefined) continue; // another word: LaTeX, text
    const hint = near !== undefined
      ? ` ({${near}}, misspelt?)`
      : allowed.includes(`{${word}}`) && whole.startsWith("{{")
      ? " (with one brace)"
      : "";
    check(allowed.includes(whole), `${where}: ${whole} is no placeholder; it fills ${fills}${hint}`);
  }
}

/** Where the `{` at `open` of `text` is closed: the index of its `}` (a backslash's `\{`, `\}` skipped), else -1. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/**
 * The one of `names` that `word` misspells, if one: the name in another case (`K` for `k`), or, a word of three
 * letters or more, one letter off a name of four or more (two off one of seven or more) in any case, counting two
 * letters swapped as one (`nmae`, `nam`, `names` for `name`); a word further off, a shorter one, or one of `names`
 * itself is none.
 */
export function nearMiss(word: string, names: readonly string[]): string | undefined {
  const w = word.toLowerCase(),
    near = (n: string, most: number) =>
      [...w].length >= 3 && Math.abs(w.length - n.length) <= most && swapDistance(w, n) <= most;
  return names.find((name) => {
    const n = name.toLowerCase();
    return word !== name && (w === n || near(n, n.length >= 7 ? 2 : n.length >= 4 ? 1 : 0));
  });
}

/** The edit distance of `a` and `b` with two neighbouring letters swapped counted as one edit (optimal alignment). */
function swapDistance(a: string, b: string): number {
  const x = [...a], y = [...b];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[x.length][y.length];
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
