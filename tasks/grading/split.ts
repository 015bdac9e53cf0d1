/** Splitting answer text at the top level: outside (), [], {} and \{ \}. */

function scan(s: string, at: (i: number) => number, cut: (i: number, len: number) => void): void {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
    } else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (depth === 0) {
      const len = at(i);
      if (len > 0) {
        cut(i, len);
        i += len - 1;
      }
    }
  }
}

/** The parts between depth-0 occurrences of `sep`; undefined when there are none. */
export function splitTop(s: string, sep = ","): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  scan(s, (i) => (s.startsWith(sep, i) ? sep.length : 0), (i, len) => {
    parts.push(s.slice(start, i));
    start = i + len;
  });
  if (parts.length === 0) return undefined;
  parts.push(s.slice(start));
  return parts;
}

/**
 * Between two answers of a list, besides a comma: `;` (not `\;`, LaTeX's spacing), "and" bare or after a comma, and
 * `\text{and}` or `\text{,}`. One rule parts a list's answers (gradeList), named parts (gradeParts) and an answer
 * compared with a list gold (equivalence.ts); `words` adds "or" there alone: in a list of answers `3 or 4` hedges
 * one answer, and an answer read as the list 3, 4 equals only a list gold.
 */
export function listSeparator(words = "and"): RegExp {
  return new RegExp(String.raw`\s*\\text\s*\{\s*(?:${words}|,)\s*\}\s*|,?\s+(?:${words})\s+|(?<!\\);`, "g");
}

const LIST_SEPARATOR = new RegExp(`${listSeparator().source}|,`, "y");

/** A list's answers at the top level (split at a comma or a listSeparator), each with the separator before it. */
export function splitList(s: string): { text: string; sep: string }[] {
  const out: { text: string; sep: string }[] = [];
  let start = 0, sep = "";
  scan(s, (i) => {
    LIST_SEPARATOR.lastIndex = i;
    return LIST_SEPARATOR.exec(s)?.[0].length ?? 0;
  }, (i, len) => {
    out.push({ text: s.slice(start, i), sep });
    sep = s.slice(i, i + len);
    start = i + len;
  });
  out.push({ text: s.slice(start), sep });
  return out;
}

/** Terms and the one-character operators (from `ops`) between them, alternating: a < b ≤ c. */
export function splitChain(s: string, ops: string): string[] | undefined {
  const out: string[] = [];
  let start = 0;
  scan(s, (i) => (ops.includes(s[i]) ? 1 : 0), (i) => {
    out.push(s.slice(start, i), s[i]);
    start = i + 1;
  });
  if (out.length === 0) return undefined;
  out.push(s.slice(start));
  return out;
}
