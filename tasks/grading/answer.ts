/**
 * Finding the answer in a model's generated text.
 *
 * Strict: the last \boxed{…} or \fbox{…} whose braces balance. When boxes stand next to each other with only
 * punctuation, "and"/"or", spacing or a label between them (`\boxed{(2,2)} \text{ and } \boxed{(6,2)}`,
 * `x = \boxed{4}, y = \boxed{9}`), they are one answer written in parts, and all of them count, each with the label
 * written before it (`x = 4, y = 9`; the same part repeated counts once); boxes with other words between them are
 * drafts, and only the last counts.
 *
 * Lenient, in order: the strict answer; a last box left open (a budget cut it, or a brace was escaped by
 * mistake: `\boxed{185\}`), read to the end of its line; a phrase such as "the answer is …" or "Final
 * Answer: …" (from a sentence, what follows its last "is"), "Answer \( 9 \)" (the math right after the word),
 * "Therefore $x \ge 5$ is the solution.", the one written last counting; where no box and no "final answer" was
 * written, the last display or inline math (as math-verify reads a solution without an anchor: `$$y = 2x = 6$$`
 * at the end is 6) unless an operator carries it on; a bare short answer. A phrase's answer or the last math is
 * none where it is a hypothesis (`Suppose the answer is 5.`), a question, or the text after it refutes it. Math delimiters are read alike: `$…$`, `$$…$$`, `\(…\)`, `\[…\]`.
 */

const BOX = /\\(?:boxed|fbox)\s*\{/g;

interface Box {
  start: number;
  end: number;
  content: string;
}

/** Every box whose braces balance, in order, and where the last unclosed one starts (if after them). */
function boxes(text: string): { closed: Box[]; open?: number } {
  const closed: Box[] = [];
  let open: number | undefined;
  for (const m of text.matchAll(BOX)) {
    if (closed.length && m.index! < closed[closed.length - 1].end) continue; // a box inside a box
    const start = m.index! + m[0].length;
    let depth = 1, i = start;
    for (; i < text.length && depth > 0; i++) {
      const c = text[i];
      if (c === "\\") i++; // an escaped brace (\{ or \}) does not count
      else if (c === "{") depth++;
      else if (c === "}") depth--;
    }
    if (depth === 0) closed.push({ start: m.index!, end: i, content: text.slice(start, i - 1).trim() });
    else open ??= start;
  }
  if (open !== undefined && closed.length && open < closed[closed.length - 1].end) open = undefined;
  return { closed, open };
}

// A label written before a box: x =, x_1 =, AB =, (p, q) =.
const LABEL = String.raw`(?:[A-Za-z]{1,3}(?:_\{?\w+\}?)?|\([A-Za-z, ]+\))\s*=\s*`;
// What may stand between the boxes of one answer: spacing, punctuation, $, "and"/"or" (bare or in \text),
// and a label of the next part (x =, (p, q) =).
const JOINER = new RegExp(
  String.raw`^(?:\s|[$,;.&]|\\[,;:! ]|\\q?quad\b|\\text\s*\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b)*(?:${LABEL})?$`,
);
// The label just before a box (a word's last letters are none: "answer = " labels nothing).
const LABEL_BEFORE = new RegExp(String.raw`(?<![\w\\])(${LABEL})$`);

/** The strict answer: the last balanced box, or the last boxes written as one answer, joined by ", ". */
export function lastBoxed(text: string): string | undefined {
  return joinedBoxes(text, boxes(text).closed);
}

/**
 * The last box, or the last boxes written as one answer, each then with the label written before it (`a =
 * \boxed{3}, b = \boxed{5}` is `a = 3, b = 5`: without its labels it was `3, 5`, which `a=5, b=3` equalled).
 */
function joinedBoxes(text: string, closed: Box[]): string | undefined {
  if (!closed.length) return undefined;
  let first = closed.length - 1;
  while (first > 0 && JOINER.test(text.slice(closed[first - 1].end, closed[first].start))) first--;
  if (first === closed.length - 1) return closed[first].content;
  const parts = closed.slice(first).map((b, i, run) => {
    const from = Math.max(i ? run[i - 1].end : 0, b.start - 40); // a label is short, and never in the box before
    const label = LABEL_BEFORE.exec(text.slice(from, b.start))?.[1];
    return label && !b.content.includes("=") ? `${label.replace(/\s*=\s*$/, "")} = ${b.content}` : b.content;
  });
  return [...new Set(parts)].join(", ");
}

/**
 * The text with every math span written `$…$` on one line: `$$…$$`, `\[…\]` and `\(…\)` alike, so that one
 * set of phrases reads them all. A `$` before a digit opens a span and never closes one ($5 and $10 are
 * prices, not math), and an escaped `\$` is neither.
 */
function inlineMath(text: string): string {
  return text.replace(
    /(?<!\\)\$\$([^]+?)(?<!\\)\$\$|(?<!\\)\\\[([^]+?)(?<!\\)\\\]|(?<!\\)\\\(([^\n]+?)(?<!\\)\\\)/g,
    (_, a, b, c) => `$${(a ?? b ?? c).replace(/\s*\n\s*/g, " ").replace(/\$/g, "\\$")}$`,
  );
}

/**
 * A math span in inlineMath's text: what stands between two unescaped `$`, on one line. A price (`$5 each`:
 * digits, a space, a word) neither opens nor closes one.
 */
const MATH = String.raw`(?<![\\$])\$(?!\d[\d,.]*\s+[A-Za-z])((?:\\\$|[^\n$])+?)(?<!\\)\$(?!\d)`;

// "final answer" then "is", a colon, a bold mark, a line's end or the answer itself ("Final answer 42"); a mention
// ("before the final answer, let me verify") is none.
const BEGUN = String.raw`final answer(?:\s+is\b|\s*:|\s*\*\*|[ \t]*\r?(?:\n|$)|` +
  // "Final answer 42." / "Final answer $-3$": a number ending the sentence, or math (not "final answer 12 against…")
  String.raw`[ \t]+(?=\$|-?\d[\d,.]*[ \t]*(?:\.(?:\s|$)|\r?\n|$)))`;
// An answer opens on a non-space (no run of spaces is tried two ways: quadratic at worst, never cubic); an
// escaped dollar (`\$36`) is part of it, an unescaped one the edge of its math. It ends its sentence, or where the
// value it is set against begins (`The answer is 5, not 6.`: CONTRAST).
// (a comma, "and"/"but" or a space before the "not", a value after it: `x \in A and not \in B` is no contrast)
const CONTRAST_START = String.raw`(?:,[ \t]*(?:but[ \t]+)?|[ \t]+(?:(?:and|but)[ \t]+)?)not[ \t]+` +
  String.raw`(?=\$|-?\d|\\(?!(?:in|notin|ni|subset|subseteq|supset|supseteq|le|leq|ge|geq|neq|ne|equiv)(?![a-zA-Z])))`;
const ANSWER = String.raw`\$?[ \t]*((?:\\\$|[^\s$])(?:\\\$|[^\n$])*?)\$?\s*(?:\.\s*$|\.\s|\r?\n|$|${CONTRAST_START})`;
// The value an answer is set against, right after it: its "not" refutes that value, not the answer.
const CONTRAST = new RegExp(String.raw`^\$?${CONTRAST_START}(?:\$[^$\n]*\$|[^\s.,;]+)`, "i");
const FINAL = new RegExp(BEGUN + String.raw`[:\s*]*` + ANSWER, "gid");

// Each phrase's group 1 (or 2) is the answer; the answer written last wins, whatever its phrase ("Final answer:
// 12 … wait … the answer is 13" is 13), the earlier phrase where two read the same place.
const PHRASES = [
  FINAL,
  new RegExp(String.raw`answer is[:\s]*` + ANSWER, "gid"),
  // "Answer \( 9 \)", "**Answer:** $$9$$": the math right after the word
  new RegExp(String.raw`\banswer\b\s*:?\s*(?:\*\*\s*:?\s*)?${MATH}`, "gid"),
  /answer:\s*(?:\*\*)?\s*([^\n]+?)\s*(?:\*\*)?\s*(?:\.\s*$|\n|$)/gid,
  // "Therefore $x \geq 5$ is the solution.", "so 42 is the answer": at the end of the sentence only
  new RegExp(
    String.raw`(?:${MATH}|(?<![\w.,])(-?\d[\d,]*(?:\.\d+)?))\s+is\s+(?:the|our)\s+(?:final\s+)?(?:answer|solution)` +
      String.raw`(?:\s+(?:to|of)\s+(?:the|this)\s+(?:problem|question|equation|inequality|system))?\s*(?:[.!]|$)`,
    "gimd",
  ),
];

// What continues an expression after its math closes (`Answer: $12$ + 1` is no answer of 12).
const CONTINUED = /^[ \t]*(?:[-+*/^=<>×÷·]|\\(?:cdot|times|div|pm|mp)(?![a-zA-Z]))/;
// Words that refute the math before them in its sentence or after (`Thus $12$ is not the answer.`, `We try $n = 12$:
// it fails.`): the last math is then no answer.
const REFUTED =
  /\b(?:not|no\s+(?:such|solutions?|good)|nope|bad|never|fails?|failed|false|wrong|incorrect|impossible|invalid|contradicts?|contradiction|cannot|can't|isn't|doesn't|won't|too\s+(?:big|small|large|many|few))\b/i;
// Words that make what follows them in their sentence a hypothesis (`Suppose the answer is 5.`); "if" and "whether"
// only in their clause (`If we add them, the answer is 12.` states it).
const HYPOTHESIS = /(?:\b(?:suppose|supposing|assume|assuming)\b[^.!?\n]*|\b(?:if|whether)\b[^,.!?\n]*)$/i;

/**
 * Whether an answer read from free text, written at [start, end) in a phrase or math opening at `from`, stands as
 * one: no hypothesis (HYPOTHESIS), no question (its sentence ends in "?"), and nothing after it that refutes it
 * (REFUTED: `Try $5$: nope.`).
 */
function stands(text: string, from: number, start: number, end: number): boolean {
  const sentence = /^[^\n]*?(?:[.!?](?=\s|$)|\n|$)/.exec(text.slice(start))![0];
  return !HYPOTHESIS.test(text.slice(Math.max(0, from - 300), from)) && !sentence.endsWith("?") &&
    !REFUTED.test(text.slice(end).replace(CONTRAST, ""));
}
// A phrase's answer is a value: a digit, math or a bracket in it, or a few words ("yes", "Evelyn"); never a
// sentence such as "This answer is consistent with all the constraints".
const VALUE_LIKE = (s: string) => /[\d$\\({[]/.test(s) || s.trim().split(/\s+/).length <= 4;

/** The answer the phrases read, from the one written last (see PHRASES) that stands as an answer (`stands`). */
function phraseAnswer(math: string): string | undefined {
  const found: { from: number; start: number; end: number; text: string }[] = [];
  for (const re of PHRASES) {
    for (const m of math.matchAll(re)) {
      const group = m[1] !== undefined ? 1 : 2, text = m[group];
      if (text === undefined || !VALUE_LIKE(text)) continue;
      // math right after "Answer" that an operator carries on is part of an expression
      if (re === PHRASES[2] && CONTINUED.test(math.slice(m.index! + m[0].length))) continue;
      const [start, end] = m.indices![group]!;
      found.push({ from: m.index!, start, end, text });
    }
  }
  // the last written first (a stable sort: the earlier phrase where two read the same place)
  const best = found.sort((a, b) => b.start - a.start).find((f) => stands(math, f.from, f.start, f.end));
  return best && fromSentence(best.text.trim());
}

/** From "The largest $n$ is 34", the 34; a plain answer stays as it is. */
function fromSentence(s: string): string {
  const is = /\bis\s+(?!\s)([^]*)$/.exec(s);
  const picked = is && /^[A-Z]/.test(s) ? is[1] : s;
  return picked.replace(/(?<!\\)\$\s*/g, "").replace(/\.$/, "").trim();
}

/** Text without the braces that have no partner: a stray `{` in front, a `}` or `\}` at the end. */
function balanced(s: string): string {
  const count = (t: string, c: string) => t.split(c).length - 1;
  let t = s;
  while (t.startsWith("{") && count(t, "{") > count(t, "}")) t = t.slice(1).trimStart();
  while (/\\?\}$/.test(t) && count(t, "}") > count(t, "{")) t = t.replace(/\\?\}$/, "").trimEnd();
  return t;
}

/** Lenient extraction: see the module's comment. */
export function lenientAnswer(text: string): string | undefined {
  const { closed, open } = boxes(text);
  const boxed = joinedBoxes(text, closed);
  if (boxed !== undefined && boxed !== "") return boxed;
  if (open !== undefined) {
    const rest = balanced(text.slice(open).split("\n")[0].replace(/\$.*$/, "").trim());
    if (rest) return rest;
  }
  if (boxed !== undefined) return boxed;
  const math = inlineMath(text);
  const phrased = phraseAnswer(math);
  if (phrased !== undefined) return phrased;
  // no anchor at all: the last math written (never where a box or a "final answer" was begun, nor when a number
  // is written after it in plain text, "We try $n = 34$: too big. The largest n is 33.", nor when what follows
  // refutes it or carries the expression on)
  if (open === undefined && !new RegExp(BEGUN, "i").test(math)) {
    const spans = [...math.matchAll(new RegExp(MATH, "g"))].filter((m) => m[1].trim() !== "");
    const last = spans.at(-1), after = last && math.slice(last.index! + last[0].length);
    if (last && !/\d/.test(after!) && !CONTINUED.test(after!)) {
      const start = last.index! + 1, end = last.index! + last[0].length;
      if (stands(math, last.index!, start, end)) return last[1].trim();
    }
  }
  const bare = text.trim().replace(/^\$+|\$+$/g, "");
  return bare && bare.length <= 40 && !/\s{2,}|\n/.test(bare) ? bare : undefined;
}
