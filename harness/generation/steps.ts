/**
 * Where a worker's step ends: on a token that completes a blank line ("\n\n", or more newlines) when the text
 * before that blank line ends a sentence (., ?, ! and the other marks below; never , : ;) and no code fence
 * is open. Fed one token's text at a time; the step's text is kept, never decoded again.
 */

export const SENTENCE_ENDS = [".", "?", "!", "。", "۔", "؟", "।", "॥", "…", "‽", "།", "᠃", "։", "჻", "¶", "❧"];
const FENCE = "```";

export class StepDetector {
  #text = "";
  #fences = 0;
  #fenceScan = 0; // fences starting before this index are counted

  get text(): string {
    return this.#text;
  }

  /** Appends one token's text; true when this token ends the step. */
  push(piece: string): boolean {
    const before = this.#text.length;
    this.#text += piece;
    for (
      let i = this.#text.indexOf(FENCE, this.#fenceScan);
      i !== -1;
      i = this.#text.indexOf(FENCE, i + FENCE.length)
    ) {
      this.#fences++;
      this.#fenceScan = i + FENCE.length;
    }
    this.#fenceScan = Math.max(this.#fenceScan, this.#text.length - (FENCE.length - 1));
    // A blank line that this token completes (it may have begun with the previous token's newline).
    if (this.#text.indexOf("\n\n", Math.max(0, before - 1)) === -1 || this.#fences % 2 === 1) return false;
    const head = this.#text.slice(0, this.#text.lastIndexOf("\n\n")).trimEnd();
    return SENTENCE_ENDS.some((p) => head.endsWith(p));
  }
}
