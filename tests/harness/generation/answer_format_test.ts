/** The answer formats: an empty box is no answer (null from the finisher, undefined where written), never "". */
import assert from "node:assert/strict";
import { BOXED, voteKey } from "../../../harness/generation/answer_format.ts";
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

Deno.test("voteKey: a program votes as its text, only its line ends normalised; a maths answer as the grader's normalised text", () => {
  const a = "n = int(input())\nfor i in range(n):\n    if i % 2:\n        print(i)\n    print(0)";
  // the same program with CRLF, spaces and tabs at line ends, blank lines at its end: one vote
  const spelled = [
    a.replaceAll("\n", "\r\n"),
    a.split("\n").map((l, i) => l + (i % 2 ? " \t" : "  ")).join("\n"),
    a + "\n\n  \n",
    a.replaceAll("\n", "\r\n") + "\r\n\r\n",
  ];
  for (const s of spelled) assert.equal(voteKey(s, "code"), voteKey(a, "code"), JSON.stringify(s));
  // other programs, whatever the maths normaliser makes of them (it strips every space and a line's target)
  const others = [
    a.replace("\n    print(0)", "\nprint(0)"), // dedented: print(0) once, not n times
    a.replace("    if", "\tif").replace("        print(i)", "\t\tprint(i)").replace("    print(0)", "\tprint(0)"),
    a.replace("n = int", "m = int"),
    a.replace("i % 2", "i%2"),
    "\n" + a,
    a.replace("print(0)", "print( 0)"),
  ];
  for (const o of others) assert.notEqual(voteKey(o, "code"), voteKey(a, "code"), JSON.stringify(o));
  // generated: programs of random lines differing at one character of their leading or inner spaces never meet
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let t = 0; t < 200; t++) {
    const lines = Array.from({ length: 1 + rand(5) }, () => " ".repeat(4 * rand(3)) + `x${rand(9)} = ${rand(99)}`);
    const at = rand(lines.length), line = lines[at], other = [...lines];
    other[at] = rand(2) ? " " + line : line.replace(" = ", "= ");
    assert.notEqual(voteKey(other.join("\n"), "code"), voteKey(lines.join("\n"), "code"), other.join("\n"));
    assert.equal(voteKey(lines.join(" \r\n") + "\n", "code"), voteKey(lines.join("\n"), "code"));
  }
  // the maths gradings vote by the grader's text normalisation, as before
  for (const g of ["single", "list", "parts"] as const) {
    assert.equal(voteKey("x = 4", g), voteKey("4", g), g);
    assert.notEqual(voteKey("A = 7, B = 9", g), voteKey("B = 7, A = 9", g), g);
  }
});
