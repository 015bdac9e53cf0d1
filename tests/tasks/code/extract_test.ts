/** tasks/code/extract.ts: the program in a model's text, as LiveCodeBench's extract_code finds it. */
import assert from "node:assert/strict";
import { extractCode } from "../../../tasks/code/extract.ts";

Deno.test("extractCode: the lines between the last two lines holding ```", () => {
  const cases: [string, string | undefined][] = [
    ["Sure.\n```python\nprint(1)\n```\nDone.", "print(1)"],
    ["```\na = 1\nprint(a)\n```", "a = 1\nprint(a)"],
    // two blocks: the last counts (a draft before it does not)
    ["Draft:\n```python\nprint(0)\n```\nFinal:\n```python\nprint(2)\n```", "print(2)"],
    // an unclosed block after a closed one: the last two fence lines are the closed block's end and the opener
    ["```python\nprint(1)\n```\nthen\n```python\nprint(3)", "then"],
    // the language tag and text after the backticks are dropped with the fence line
    ["```py  # mine\nx = 1\n``` that was it", "x = 1"],
    // a fence inside the program (a string) cuts it there, as in LiveCodeBench
    ['```python\ns = "```"\nprint(s)\n```', "print(s)"],
    // two fence lines with nothing between: the empty program, not none
    ["```\n```", ""],
    // fewer than two fence lines: no program
    ["no code at all", undefined],
    ["```python\nprint(1)", undefined],
    ["inline ```print(1)``` on one line", undefined],
    // ~~~ fences and indented code are not recognised
    ["~~~python\nprint(1)\n~~~", undefined],
    ["    print(1)", undefined],
    // CRLF text: lines split at \n keep their \r (Python reads them alike)
    ["```python\r\nprint(1)\r\n```\r\n", "print(1)\r"],
  ];
  for (const [text, want] of cases) assert.equal(extractCode(text), want, JSON.stringify(text));
});
