/**
 * Finding the answer in a model's generated text: the last \boxed{…} or \fbox{…} with balanced braces
 * (strict), and, only as a lenient fallback, phrases such as "the answer is …".
 */

const BOX = /\\(?:boxed|fbox)\s*\{/g;

/** The contents of the last \boxed{…} / \fbox{…} whose braces balance, or undefined. */
export function lastBoxed(text: string): string | undefined {
  let found: string | undefined;
  for (const m of text.matchAll(BOX)) {
    const start = m.index! + m[0].length;
    let depth = 1, i = start;
    for (; i < text.length && depth > 0; i++) {
      const c = text[i];
      if (c === "\\") i++; // an escaped brace (\{ or \}) does not count
      else if (c === "{") depth++;
      else if (c === "}") depth--;
    }
    if (depth === 0) found = text.slice(start, i - 1).trim();
  }
  return found;
}

const PHRASES = [
  /final answer is[:\s]*\$?([^\n$]+?)\$?\s*(?:\.\s*$|\.\s|\n|$)/gi,
  /answer is[:\s]*\$?([^\n$]+?)\$?\s*(?:\.\s*$|\.\s|\n|$)/gi,
  /answer:\s*\$?([^\n$]+?)\$?\s*(?:\.\s*$|\n|$)/gi,
];

/** Lenient extraction: the last box, else the last "the answer is …" phrase, else a bare short answer. */
export function lenientAnswer(text: string): string | undefined {
  const boxed = lastBoxed(text);
  if (boxed !== undefined) return boxed;
  for (const re of PHRASES) {
    const all = [...text.matchAll(re)];
    if (all.length) return all[all.length - 1][1].trim();
  }
  const bare = text.trim().replace(/^\$+|\$+$/g, "");
  return bare && bare.length <= 40 && !/\s{2,}|\n/.test(bare) ? bare : undefined;
}
