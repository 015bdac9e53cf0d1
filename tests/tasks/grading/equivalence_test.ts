/** tasks/grading/equivalence.ts's normalisation as a table of named passes: each pass does what its example says. */
import assert from "node:assert/strict";
import { normalize, NORMALIZE_PASSES, voteKey } from "../../../tasks/grading/equivalence.ts";
import { grade } from "../../../tasks/grading/grader.ts";
import { physicsGold } from "../../../tasks/grading/physics.ts";

Deno.test("every normalisation pass, alone, turns its example's input into its output", () => {
  assert.equal(new Set(NORMALIZE_PASSES.map((p) => p.name)).size, NORMALIZE_PASSES.length, "names are unique");
  for (const { name, example: [input, output], apply } of NORMALIZE_PASSES) {
    assert.notEqual(input, output, `${name}: the example shows no change`);
    assert.equal(apply(input, { keepLabels: false, listed: false }), output, name);
  }
});

Deno.test("the state passes share: labels kept on request, and a list noted before its spaces go", () => {
  assert.equal(normalize("x = 3"), "3");
  assert.equal(normalize("x = 3", true), "x=3");
  assert.equal(normalize("32,349"), "32349"); // one number
  assert.equal(normalize("32, 349"), "32,349"); // two
  assert.equal(normalize("1,000,000 dollars"), "1000000");
});

Deno.test("voteKey: the normalised form, values named one by one keeping their names in any order", () => {
  assert.equal(voteKey("x = 4"), voteKey("4"));
  assert.equal(voteKey("A = 7, B = 9"), voteKey("B=9,A=7"));
  assert.notEqual(voteKey("A = 7, B = 9"), voteKey("B = 7, A = 9"));
  assert.notEqual(voteKey("A = 7, B = 9"), voteKey("7, 9"));
  assert.equal(voteKey("A = 7,\\ B = 9,"), voteKey("A = 7, B = 9"), "typeset as the grader reads it");
  assert.notEqual(voteKey("A = 9,\\ B = 7"), voteKey("A = 7, B = 9"));
  assert.equal(voteKey("(1, 2)"), normalize("(1, 2)"));
});

// ---------- the same verdict whatever was graded before ----------

interface Case {
  pred: string;
  gold: string;
}

/** A symbol before a parenthesis, in shapes that meet the engine's declarations (maths and physics golds). */
function orderCases(): Case[] {
  const symbols = ["a", "x", "m", "T_0", "V", "N", "\\omega", "f", "g"];
  const shapes = (s: string): [string, string][] => [
    [`${s}(b+c)`, `${s}b+${s}c`],
    [`${s}\\left(b+c\\right)`, `${s}b+c`], // a near miss
    [`\\pi ${s}(b+1)`, `\\pi ${s}b+\\pi ${s}`], // π: past the exact rationals, to the engine's canonical form
  ];
  const generated = symbols.map((s, i) => {
    const [p, g] = shapes(s)[i % 3];
    const [pred, gold] = i % 4 < 2 ? [p, g] : [g, p];
    return { pred, gold: i % 2 ? physicsGold({ answer: gold }) : gold };
  });
  return [
    ...generated,
    { pred: "ab+ac", gold: physicsGold({ answer: "a\\left(b+c\\right)" }) },
    { pred: "x-\\frac{m x}{b}", gold: physicsGold({ answer: "x\\left(1-\\frac{m}{b}\\right)" }) },
    { pred: "f(x)+1", gold: "1+f(x)" },
    { pred: "\\sin(x)+x", gold: "x+\\sin x" },
    { pred: "\\sqrt{y}(y+1)", gold: "y\\sqrt{y}+\\sqrt{y}" },
  ];
}

/** The cases graded in this order in a fresh JavaScript environment (a new grading process's engine). */
async function inFreshEngine(cases: Case[]): Promise<string[]> {
  const worker = new Worker(new URL("./grade_worker.ts", import.meta.url), { type: "module" });
  try {
    return await new Promise<string[]>((done, fail) => {
      worker.onmessage = (m) => done(m.data.map((v: boolean[]) => v.join()));
      worker.onerror = (e) => (e.preventDefault(), fail(new Error(e.message)));
      worker.postMessage(cases);
    });
  } finally {
    worker.terminate();
  }
}

Deno.test("a verdict is the same alone in a fresh engine and after any other cases, in any order", async () => {
  // case i first in a fresh engine (alone), then every other case after it (rotated), two engines at a time
  const cases = orderCases(), n = cases.length, rotations: string[][] = [];
  for (let i = 0; i < n; i += 2) {
    const starts = [i, i + 1].filter((s) => s < n);
    rotations.push(
      ...await Promise.all(starts.map((s) => inFreshEngine(cases.map((_, k) => cases[(s + k) % n])))),
    );
  }
  const alone = rotations.map((r) => r[0]);
  const differ: string[] = [];
  rotations.forEach((r, s) =>
    r.forEach((v, k) => {
      const i = (s + k) % n;
      if (v !== alone[i]) {
        differ.push(`after ${k} others from case ${s}: ${JSON.stringify(cases[i])} ${v} (alone ${alone[i]})`);
      }
    })
  );
  // and in this process, after whatever it graded before, forward and backward
  for (const i of [...cases.keys(), ...[...cases.keys()].reverse()]) {
    const g = grade(`\\boxed{${cases[i].pred}}`, cases[i].gold), v = [g.equal_strict, g.equal_lenient].join();
    if (v !== alone[i]) differ.push(`in this process: ${JSON.stringify(cases[i])} ${v} (alone ${alone[i]})`);
  }
  assert.deepEqual(differ, []);
});

// ---------- a parenthesis after a variable multiplies it ----------

Deno.test("a letter before a parenthesis multiplies it (m(g+a), T_0(1-a/b), N(N-1), f(x)); named functions stay", () => {
  const symbols = ["a", "x", "m", "f", "g", "h", "r", "T_0", "v_{1}", "A", "C", "D", "N", "P", "V", "\\omega", "\\mu"];
  const wrong: string[] = [];
  const expect = (pred: string, gold: string, equal: boolean) => {
    for (const g of [gold, physicsGold({ answer: gold })]) {
      const v = grade(`\\boxed{${pred}}`, g);
      if (v.equal_strict !== equal || v.equal_lenient !== equal) wrong.push(`${pred} against ${g}: ${!equal}`);
    }
  };
  for (const s of symbols) {
    // each shape equal to its expansion, both ways, and unequal to a near miss (one product dropped)
    const shapes: [string, string, string][] = [
      [`${s}(y+1)`, `${s} y+${s}`, `${s} y+1`],
      [`${s}\\left(1-\\frac{u}{w}\\right)`, `${s}-\\frac{${s} u}{w}`, `${s}-\\frac{u}{w}`],
      [`\\pi ${s}(y+2)`, `\\pi ${s} y+2\\pi ${s}`, `\\pi ${s} y+2\\pi`], // π: the engine's path, not exact rationals
      [`\\frac{${s}(${s}-1)}{2}`, `\\frac{${s}^2-${s}}{2}`, `\\frac{${s}^2-1}{2}`],
      [`\\sqrt{2}\\,${s}(y+1)`, `\\sqrt{2}\\,${s} y+\\sqrt{2}\\,${s}`, `\\sqrt{2}\\,${s} y+\\sqrt{2}`],
    ];
    for (const [product, expanded, miss] of shapes) {
      expect(product, expanded, true), expect(expanded, product, true);
      expect(product, miss, false), expect(miss, product, false);
    }
  }
  // the engine's named functions are functions: \sin(2x) is not 2\sin x, \Gamma(5) is 4!
  expect("\\sin(x)+x", "x+\\sin x", true);
  expect("\\sin(2x)", "2\\sin x", false);
  expect("\\sin(2x)", "2\\sin x\\cos x", true);
  expect("\\max(a,b)", "\\max(b,a)", true);
  // f(x) is f times x: f(x+1) is fx+f, never f(x)+1
  expect("f(x+1)", "fx+f", true);
  expect("f(x+1)", "f(x)+1", false);
  assert.deepEqual(wrong, []);
});
