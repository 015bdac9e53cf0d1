/** tasks/grading/precise.ts: values without an exact rational value agree to many digits or not at all (generated). */
import assert from "node:assert/strict";
import { ComputeEngine } from "@cortex-js/compute-engine";
import { preciseAgree } from "../../../tasks/grading/precise.ts";

const ce = new ComputeEngine();
const agree = (a: string, b: string) => preciseAgree(ce, [[ce.parse(a), ce.parse(b)]]);

Deno.test("preciseAgree: a real difference stays unequal however small against the values, rounding does not", () => {
  const was = ce.precision;
  for (let k = 1; k <= 40; k++) {
    assert.equal(agree(`3^{${k}}\\pi + 1`, `3^{${k}}\\pi`), false, `3^${k}π + 1`);
    assert.equal(agree(`\\sin^2(${k}) + \\cos^2(${k})`, "1"), true, `sin²${k} + cos²${k}`);
    assert.equal(agree(`\\sqrt{${k}}\\sqrt{${4 * k}}`, `${2 * k}`), true, `√${k}·√${4 * k}`);
    assert.equal(agree(`\\sqrt{10^{${k}}+1}`, `10^{${k / 2}}`), false, `√(10^${k}+1)`);
  }
  // consecutive Fibonacci ratios approach the golden ratio and never reach it
  let [f, g] = [1n, 1n];
  for (let n = 2; n < 120; n++) {
    [f, g] = [g, f + g];
    assert.equal(agree(`\\frac{${g}}{${f}}`, "\\frac{1+\\sqrt{5}}{2}"), false, `F${n + 1}/F${n}`);
  }
  assert.equal(agree("\\frac{103993}{33102}", "\\pi"), false);
  assert.equal(agree("e^{i\\pi}", "-1"), true);
  assert.equal(agree("1+2i", "1+2.0000000001i"), false, "both parts count");
  assert.equal(agree("\\frac{1}{2004!}", "\\frac{1}{2006!}"), false, "no underflow");
  assert.equal(agree("\\ln 8", "3\\ln 2"), true);
  assert.equal(agree("x", "x"), false, "no value: equality not shown");
  assert.equal(ce.precision, was, "the engine's precision is restored");
});

Deno.test("preciseAgree: a difference is rounding only when it shrinks as fast as rounding does (to ~90 digits)", () => {
  // two routes to one value, which round differently at 50 digits: a real difference of 10^-k must stay
  const routes: [string, string][] = [
    ["\\sqrt{2}+\\sqrt{3}", "\\sqrt{5+2\\sqrt{6}}"],
    ["\\ln 8", "3\\ln 2"],
    ["\\frac{\\pi^2}{6}", "\\zeta(2)"],
    ["\\sqrt{\\pi}", "\\Gamma(\\frac{1}{2})"],
  ];
  const wrong: string[] = [];
  for (const [a, b] of routes) {
    if (!agree(a, b)) wrong.push(`${a} against ${b}: unequal`);
    for (let k = 51; k <= 88; k += 3) {
      if (agree(a, `${b} + 10^{-${k}}`)) wrong.push(`${a} against ${b} + 10^-${k}: equal`);
      if (agree(`${a} - 10^{-${k}}`, b)) wrong.push(`${a} - 10^-${k} against ${b}: equal`);
    }
  }
  assert.deepEqual(wrong, []);
});
