/** The answer formats: an empty box is no answer (null from the finisher, undefined where written), never "". */
import assert from "node:assert/strict";
import { BOXED } from "../../../harness/generation/answer_format.ts";
import { lastBoxed } from "../../../tasks/grading/answer.ts";
import { lastWritten } from "../../../harness/generation/solver.ts";

const BLANKS = ["", " ", "  ", "\n", "\t", " \n ", "\u00a0"];
const AFTER = ["", ".", "$.", "\n\nSo that is it.", " }", "}"];

Deno.test("BOXED: the finisher's closed empty box (\\boxed{}, \\boxed{ }) is null, as its contract and CODE's say; one with text is its text", () => {
  let n = 0;
  for (const blank of BLANKS) {
    for (const after of AFTER) {
      assert.equal(BOXED.closed(blank + "}" + after), null, JSON.stringify(blank + "}" + after));
      assert.equal(BOXED.written(`So \\boxed{${blank}}${after}`, false), undefined, JSON.stringify(blank));
      for (const value of ["3", "\\frac{1}{2}", "x = 2"]) {
        const text = blank + value + blank + "}" + after;
        assert.equal(BOXED.closed(text), lastBoxed("\\boxed{" + text), JSON.stringify(text));
        assert.ok(BOXED.closed(text), JSON.stringify(text));
        n++;
      }
    }
  }
  assert.equal(BOXED.closed("3"), undefined); // still open
  // a text whose last box is empty has no answer written there: an earlier text's answer is the one written last
  const texts = [{ text: "So \\boxed{5}.", writer: 0 }, { text: "The form is \\boxed{ }.", writer: 1 }];
  assert.deepEqual(lastWritten(texts, BOXED, false), { answer: "5", writer: 0 });
  assert.ok(n > 100);
});
