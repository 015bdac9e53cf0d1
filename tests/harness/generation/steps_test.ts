/** Step detection on a table of cases: token sequences and whether (and at which token) a step ends. */
import assert from "node:assert/strict";
import { StepDetector } from "../../../harness/generation/steps.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";

/** [tokens as texts, index of the token that ends the step or -1] */
const CASES: [string[], number, string][] = [
  [["We add them", ".", "\n\n"], 2, "a period, then a blank-line token"],
  [["We add them", ".\n\n"], 1, "period and blank line in one token"],
  [["Is it 5", "?\n\n"], 1, "question mark"],
  [["Done", "!", "\n\n"], 2, "exclamation mark"],
  [["So", ",", "\n\n"], -1, "never after a comma"],
  [["Cases", ":", "\n\n"], -1, "never after a colon"],
  [["First", ";", "\n\n"], -1, "never after a semicolon"],
  [["No stop here", "\n\n"], -1, "no punctuation"],
  [["It is 4.", "\n\n\n"], 1, "a token of three newlines"],
  [["It is 4.", "\n", "\n"], 2, "a blank line across two tokens"],
  [["It is 4.", "\n", "Next"], -1, "a single newline is not a blank line"],
  [["It is 4.  ", "\n\n"], 1, "spaces before the blank line"],
  [["完成了", "。", "\n\n"], 2, "ideographic full stop"],
  [["Wait", "…", "\n\n"], 2, "ellipsis character"],
  [["هل هذا صحيح", "؟", "\n\n"], 2, "Arabic question mark"],
  [["Code:", "\n", "```", "python\nx = 1.", "\n\n", "y = 2.", "\n\n"], -1, "inside an open code fence"],
  [["```", "py\nx=1\n", "```", " closed.", "\n\n"], 4, "after the fence closes"],
  [["Use `", "``", "js\nlet a.", "\n\n"], -1, "a fence split across tokens is still a fence"],
  [["The value is $3", ".$", "\n\n"], -1, "math closing after the period is not a sentence end"],
  [["Check.", "\n\n", "More"], 1, "the first blank line after a sentence ends it"],
];

Deno.test(`step ends: ${CASES.length} cases`, () => {
  for (const [tokens, end, note] of CASES) {
    const d = new StepDetector();
    const at = tokens.findIndex((t) => d.push(t));
    assert.equal(at, end, note);
  }
});

Deno.test("step ends with real tokens, multi-byte characters split across tokens", () => {
  const tok = TextTokenizer.qwen3();
  for (
    const [text, ends] of [["Let me think about 求解。\n\nNext", true], ["Wait, 🧮 here,\n\nmore", false], [
      "So x = 3.\n\n",
      true,
    ]] as const
  ) {
    const d = new StepDetector(), next = tok.decoder();
    const ids = tok.encode(text);
    const hit = ids.findIndex((id) => d.push(next(id)));
    assert.equal(hit !== -1, ends, text);
    if (ends) assert.ok(d.text.trimEnd().endsWith(text.includes("。") ? "。" : "."), d.text);
  }
});
