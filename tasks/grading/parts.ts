/**
 * Grading of named parts ("parts"): the answer gives each part's value as `NAME = INTEGER`, comma-separated
 * (`A = 14, B = 8`). The generated tasks whose answers are the parts' integers use it (chains), where symbolic
 * equality would accept what solves nothing: the problem copied back (`A = 5 + 9`) is not the value 14, a value
 * under another part's name (`D = 14`) is not A's, and listing more values than parts cannot score them all.
 */
import { lastBoxed, lenientAnswer } from "./answer.ts";
import type { Mode } from "./equivalence.ts";
import { splitList } from "./split.ts";

const GOLD = /^([A-Za-z]\w*) = (-?\d+)$/;
const ENTRY = /^([A-Za-z]\w*)\s*=\s*(.*)$/;
// LaTeX's spacing (`\ `, `\quad`, `\,`, `~`) between entries, and a name set as text (`\text{A}`): how the
// same answer is typeset, not another one
const SPACING = /\\(?:q?quad|[ ,;:!])|~/g;
const TEXT_NAME = /\\(?:text|mathrm|textrm|mathit)\{\s*([A-Za-z]\w*)\s*\}/g;

/** An answer's entries, parted as a list's answers, spacing and text-set names read away; an empty last one is none. */
function entriesOf(box: string): string[] {
  const entries = splitList(box).map((e) => e.text.replace(SPACING, " ").replace(TEXT_NAME, "$1").trim());
  while (entries.length && entries[entries.length - 1] === "") entries.pop();
  return entries;
}

/** An answer's entries as names and values, when every entry is `NAME = value` (else undefined). */
export function namedEntries(answer: string): { name: string; value: string }[] | undefined {
  const read = entriesOf(answer).map((e) => ENTRY.exec(e));
  return read.length && read.every((m) => m) ? read.map((m) => ({ name: m![1], value: m![2] })) : undefined;
}

/** A gold `NAME = INTEGER` as its name and value; throws on any other form (a task's bug, not a model's). */
export function readPartsGold(g: string): { name: string; value: string } {
  const m = GOLD.exec(g);
  if (!m) throw new Error(`"parts" gold "${g}": expected NAME = INTEGER`);
  return { name: m[1], value: String(BigInt(m[2])) };
}

/** An entry's integer as digits with its sign, or undefined: strict takes `14` alone; lenient also `$14$`, `14.`. */
function integer(text: string, mode: Mode): string | undefined {
  let t = text.trim();
  if (mode === "lenient") t = t.replace(/^\$(.*)\$$/, "$1").replace(/\.$/, "").trim();
  return /^-?\d+$/.test(t) ? String(BigInt(t)) : undefined;
}

/**
 * The fraction of parts right: a part is right when exactly one entry names it and that entry's value is its
 * integer; when no entry names a part, entries are read in order. Out of the parts or the entries, whichever are
 * more. Strict reads the last box, lenient the lenient answer (tasks/grading/answer.ts).
 */
export function gradeParts(generated: string, golds: readonly string[], mode: Mode): number {
  const want = golds.map(readPartsGold);
  const box = mode === "strict" ? lastBoxed(generated) : lenientAnswer(generated);
  if (box === undefined) return 0;
  const entries = entriesOf(box).map((e) => {
    const m = ENTRY.exec(e);
    return m ? { name: m[1], value: integer(m[2], mode) } : { name: undefined, value: integer(e, mode) };
  });
  const named = entries.some((e) => e.name !== undefined);
  let right = 0;
  want.forEach((g, i) => {
    const mine = named ? entries.filter((e) => e.name === g.name) : entries[i] ? [entries[i]] : [];
    if (mine.length === 1 && mine[0].value === g.value) right++;
  });
  return entries.length ? right / Math.max(want.length, entries.length) : 0;
}
