/** tasks/grading/equivalence.ts's normalisation as a table of named passes: each pass does what its example says. */
import assert from "node:assert/strict";
import { mathsVoteKey as voteKey, normalize, NORMALIZE_PASSES } from "../../../tasks/grading/equivalence.ts";
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

Deno.test("mathsVoteKey: the normalised form, values named one by one keeping their names in any order", () => {
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

// ---------- the engine's named functions at numbers: their values, exactly where they are integers ----------

/** Each (pred, gold, equal) graded in both modes; the ones whose verdict differs from `equal`, in either mode. */
function disagreeing(cases: [string, string, boolean][]): string[] {
  return cases.flatMap(([pred, gold, equal]) => {
    const v = grade(`\\boxed{${pred}}`, gold);
    return v.equal_strict === equal && v.equal_lenient === equal
      ? []
      : [`${pred} against ${gold}: strict ${v.equal_strict}, lenient ${v.equal_lenient}, want ${equal}`];
  });
}

const factorial = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i + 1)).reduce((a, b) => a * b, 1n);
const gcdOf = (a: number, b: number): number => (b ? gcdOf(b, a % b) : a);

Deno.test("a named function at numbers is its value (Γ(5) = 24 = 4!), exactly: Γ(n) is never (n-1)! + 1 nor n!", () => {
  const cases: [string, string, boolean][] = [];
  for (const n of [2, 3, 5, 7, 12, 20, 31, 58, 101, 150]) {
    const value = factorial(n - 1); // Γ(n)
    for (const gamma of [`\\Gamma(${n})`, `\\Gamma\\left(${n}\\right)`, `\\Gamma (${n})`]) {
      cases.push([gamma, `${value}`, true], [gamma, `${n - 1}!`, true], [`${value}`, gamma, true]);
      cases.push([gamma, `${value + 1n}`, false], [gamma, `${n}!`, n === 1], [gamma, `${value - 1n}`, false]);
    }
    cases.push([`2\\Gamma(${n})`, `${2n * value}`, true], [`2\\Gamma(${n})`, `${value}`, false]);
    cases.push([`\\Gamma(${n})^2`, `${value * value}`, true], [`\\Gamma(${n})^2`, `${value * value + 1n}`, false]);
    cases.push([`\\Gamma(${n}) + 1`, `${value + 1n}`, true], [`\\Gamma(${n}) + 1`, `${value}`, false]);
    cases.push([`\\frac{\\Gamma(${n + 1})}{\\Gamma(${n})}`, `${n}`, true]);
    cases.push([`\\frac{\\Gamma(${n + 1})}{\\Gamma(${n})}`, `${n + 1}`, false]);
    cases.push([`\\Gamma(${n})\\Gamma(3)`, `${2n * value}`, true], [`\\Gamma(${n})\\Gamma(3)`, `${3n * value}`, false]);
    cases.push([
      `${n}!!`,
      `${[...Array(n).keys()].filter((i) => i % 2 === 0).reduce((a, i) => a * BigInt(n - i), 1n)}`,
      true,
    ]);
    cases.push([`${n}!!`, `${factorial(n)}`, n < 3]);
    const [a, b] = [6 * n, 4 * n], g = gcdOf(a, b);
    for (const gcd of [`\\gcd(${a}, ${b})`, `\\operatorname{gcd}(${a},${b})`]) {
      cases.push([gcd, `${g}`, true], [gcd, `${g + 1}`, false], [gcd, `${a * b / g}`, false]);
    }
    for (const lcm of [`\\operatorname{lcm}(${a}, ${b})`, `\\operatorname{lcm}\\left(${a},${b}\\right)`]) {
      cases.push([lcm, `${a * b / g}`, true], [lcm, `${a * b / g + 1}`, false], [lcm, `${g}`, false]);
    }
  }
  // where no integer value exists, by value: Γ(1/2) is √π, Γ(n + 1/2) = (2n)! √π / (4^n n!), ζ(2) = π²/6
  for (const n of [1, 2, 5, 9, 14]) {
    const num = factorial(2 * n), den = 4n ** BigInt(n) * factorial(n);
    cases.push([`\\Gamma(${n}+\\frac{1}{2})`, `\\frac{${num}}{${den}}\\sqrt{\\pi}`, true]);
    cases.push([`\\Gamma(${n}+\\frac{1}{2})`, `\\frac{${num + 1n}}{${den}}\\sqrt{\\pi}`, false]);
  }
  cases.push(["\\Gamma(\\frac{1}{2})", "\\sqrt{\\pi}", true], ["\\Gamma(\\frac{1}{2})^2", "\\pi", true]);
  cases.push(["\\zeta(2)", "\\frac{\\pi^2}{6}", true], ["\\zeta(2)", "\\frac{\\pi^2}{7}", false]);
  // a letter before a parenthesis still multiplies (no function declared), and Γ of a variable is Γ's
  cases.push(["x(5)", "5x", true], ["\\omega(5)", "5\\omega", true], ["\\Gamma(x+1)", "x\\Gamma(x)", true]);
  cases.push(["\\Gamma(x+1)", "(x+1)\\Gamma(x)", false]);
  assert.deepEqual(disagreeing(cases), []);
});

// ---------- a matrix times a number ----------

Deno.test("a matrix or vector times a number is the matrix of its entries times it, either side; near misses stay", () => {
  let seed = 11;
  const next = () => (seed = Math.imul(seed ^ (seed >>> 15), 2246822507) + 1 >>> 0);
  const int = () => (next() % 19) - 9;
  // scalars as written, and the entry m times it written out (exact)
  const rational = (p: number, q: number) => (m: number) => {
    const n = m * p, g = gcdOf(Math.abs(n), q) || 1, [a, b] = [n / g, q / g];
    return b === 1 ? `${a}` : `${a < 0 ? "-" : ""}\\frac{${Math.abs(a)}}{${b}}`;
  };
  const scalars: [string, (m: number) => string][] = [
    ["2", rational(2, 1)],
    ["-", rational(-1, 1)],
    ["-3", rational(-3, 1)],
    ["\\frac{1}{5}", rational(1, 5)],
    ["\\dfrac{2}{3}", rational(2, 3)],
    ["\\sqrt{2}", (m) => (m === 0 ? "0" : `${m === 1 ? "" : m === -1 ? "-" : m}\\sqrt{2}`)],
  ];
  const env = (rows: string[][], kind = "pmatrix") =>
    `\\begin{${kind}}${rows.map((r) => r.join(" & ")).join(" \\\\ ")}\\end{${kind}}`;
  const cases: [string, string, boolean][] = [];
  for (const [r, c] of [[2, 2], [3, 3], [2, 3], [3, 1], [1, 2]]) {
    for (const [k, times] of scalars) {
      const m = Array.from({ length: r }, () => Array.from({ length: c }, int));
      m[0][0] = 5 + (next() % 4); // a nonzero entry, so that the scalar shows
      if (r > 1 && c > 1) m[1][0] = m[0][1] + 1; // not symmetric, so that a transpose shows
      const M = m.map((row) => row.map(String)), kM = m.map((row) => row.map(times));
      const kind = ["pmatrix", "bmatrix"][next() % 2];
      const written = [`${k}${env(M, kind)}`, `${k}\\left(${env(M, "matrix")}\\right)`];
      if (k !== "-") written.push(`${k} \\cdot ${env(M, kind)}`);
      if (!k.startsWith("-")) written.push(`${env(M, kind)} \\cdot ${k}`);
      const other = kM.map((row) => [...row]);
      other[r - 1][c - 1] = times(m[r - 1][c - 1] + 1); // one entry off
      for (const pred of written) {
        cases.push([pred, env(kM), true], [env(kM), pred, true]);
        cases.push([pred, env(other), false], [pred, env(M), false]); // one entry; the scalar dropped
        if (r > 1 && c > 1) cases.push([pred, env(kM[0].map((_, j) => kM.map((row) => row[j]))), false]);
      }
    }
    const M = Array.from({ length: r }, () => Array.from({ length: c }, () => String(int())));
    M[0][0] = "7";
    cases.push([`1 \\cdot ${env(M)}`, env(M), true], [env(M), `${env(M)} \\cdot 1`, true], [
      `1${env(M)}`,
      env(M),
      true,
    ]);
    cases.push([`2 \\cdot ${env(M)}`, `2 \\cdot ${env(M)}`, true], [`1 \\cdot ${env(M)}`, `2 \\cdot ${env(M)}`, false]);
  }
  // what is no scalar stays as written: a determinant, a transpose, a label
  cases.push(["\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", false]);
  cases.push(["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}^T", "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", false]);
  cases.push(["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}^T", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", false]);
  cases.push(["M = \\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", true]);
  assert.deepEqual(disagreeing(cases), []);
});

// ---------- numbers written to many digits: exact as written, whatever surrounds them ----------

Deno.test("numbers that differ only at the k-th of 70 digits are unequal in any expression, both modes (generated)", () => {
  let seed = 5;
  const next = () => (seed = Math.imul(seed ^ (seed >>> 15), 2246822507) + 1 >>> 0);
  const cases: [string, string, boolean][] = [];
  // (before grader 13 the last three digits were within the lenient tolerance, 10^{3-70}; now a unit of the last
  // digit is not, but a root halves it, and an equation's other terms dilute it)
  for (const k of [17, 18, 25, 33, 45, 60, 66, 68]) {
    const digits = "1" + Array.from({ length: 69 }, () => String(next() % 10)).join("");
    const other = digits.slice(0, k - 1) + String((Number(digits[k - 1]) + 1 + (next() % 8)) % 10) + digits.slice(k);
    for (const [x, y] of [[digits, other], [`1.${digits.slice(1)}`, `1.${other.slice(1)}`]]) {
      // an equation's cross products are only as precise as its largest coefficient: the number near 1 there
      const near1 = (v: string) => (v.includes(".") ? v : `\\frac{${v}}{10^{69}}`);
      const forms = (v: string) => [
        v,
        `${v}i`,
        `1+${v}i`,
        `${v}\\pi`,
        `\\sqrt{${v}}`,
        `${v}x`,
        `\\frac{${v}}{7}`,
        `(${v}, 1)`,
        `|${v}|`,
        `\\ln(${v})`,
        `${v} \\pm 1`,
        `\\max(${v}, 1)`,
        `y = ${v}x + 1`,
        `${near1(v)}x + \\pi y = 1`,
        `${v} \\times 10^{3}`,
      ];
      const [fx, fy] = [forms(x), forms(y)];
      fx.forEach((p, i) => cases.push([p, fy[i], false], [p, p, true]));
      // the same digits in another order of the terms: equal
      cases.push([`1+${x}i`, `${x}i+1`, true], [`${x}\\pi`, `\\pi \\cdot ${x}`, true], [
        `${x}x`,
        `x \\cdot ${x}`,
        true,
      ]);
    }
  }
  assert.deepEqual(disagreeing(cases), []);
});

Deno.test("leniently a decimal may be rounded at its last digit, and never closer than the digits it writes (generated)", () => {
  // [strict, lenient] verdicts: an approximation right to its last digit is right leniently only; one wrong at an
  // earlier digit is wrong in both modes, however many digits follow
  const cases: [string, string, [boolean, boolean]][] = [];
  const sqrt2 = "1.4142135623730950488016887242096980785696718753769480731766797379907324784621";
  const seventh = "0.1428571428571428571428571428571428571428571428571428571428571428571428571429";
  for (const n of [14, 20, 30, 45, 60]) {
    const round = (s: string, places: number) => {
      const dot = s.indexOf("."), cut = s.slice(0, dot + 1 + places).replace(".", "");
      const digits = Number(s[dot + 1 + places]) >= 5 ? (BigInt(cut) + 1n).toString().padStart(cut.length, "0") : cut;
      return `${digits.slice(0, dot)}.${digits.slice(dot)}`;
    };
    const r2 = round(sqrt2, n - 1), r7 = round(seventh, n);
    const bad = (s: string) => s.slice(0, -8) + String((Number(s.at(-8)) + 3) % 10) + s.slice(-7); // 8th digit from the end
    for (const [approx, exact] of [[r2, "\\sqrt{2}"], [`${r7}\\pi`, "\\frac{\\pi}{7}"], [`${r2} x`, "\\sqrt{2} x"]]) {
      cases.push([approx, exact, [false, true]], [
        bad(approx.split(/[\\ ]/)[0]) + approx.slice(approx.split(/[\\ ]/)[0].length),
        exact,
        [false, false],
      ]);
    }
  }
  const wrong = cases.flatMap(([pred, gold, [strict, lenient]]) => {
    const v = grade(`\\boxed{${pred}}`, gold);
    return v.equal_strict === strict && v.equal_lenient === lenient
      ? []
      : [`${pred} against ${gold}: ${v.equal_strict}, ${v.equal_lenient}, want ${strict}, ${lenient}`];
  });
  assert.deepEqual(wrong, []);
});

// ---------- false positives a review found: generated near misses, each wrong in both modes ----------

/** The cases whose [strict, lenient] verdicts on `\boxed{pred}` are not the ones wanted. */
function misgraded(cases: [string, string, [boolean, boolean]][]): string[] {
  return cases.flatMap(([pred, gold, [strict, lenient]]) => {
    const v = grade(`\\boxed{${pred}}`, gold);
    return v.equal_strict === strict && v.equal_lenient === lenient
      ? []
      : [`${pred} against ${gold}: ${v.equal_strict}, ${v.equal_lenient}, want ${strict}, ${lenient}`];
  });
}
const BOTH: [boolean, boolean] = [true, true], NEITHER: [boolean, boolean] = [false, false];

Deno.test("A \\approx B: B counts only where A rounds to it at B's last digit (an integer is exact) (generated)", () => {
  const cases: [string, string, [boolean, boolean]][] = [];
  for (let d = 3; d <= 40; d += 3) {
    for (const n of [d + 1, 3 * d + 2, 7 * d - 1]) {
      const value = n / d, frac = `\\frac{${n}}{${d}}`, near = Math.round(value), four = value.toFixed(4);
      // an integer not the exact side's value, the nearest one included (49/10 ≈ 5 is not 5)
      if (near * d !== n) cases.push([`${frac} \\approx ${near}`, String(near), NEITHER]);
      cases.push([`${n} \\approx ${d}`, String(d), NEITHER]);
      // a decimal the exact side does not round to: off at its last digit by two units
      const off = (value + 0.0002).toFixed(4);
      cases.push([`${frac} \\approx ${off}`, off, NEITHER]);
      // the exact side counts, and the approximation it rounds to, exactly as written
      cases.push([`${frac} \\approx ${four}`, frac, BOTH], [`${frac} \\approx ${four}`, four, BOTH]);
      cases.push([`x \\approx ${four}`, four, BOTH]); // a name for the value
    }
  }
  cases.push(["\\sqrt{2} \\approx 1.414", "1.414", BOTH], ["\\sqrt{2} \\approx 1.43", "1.43", NEITHER]);
  cases.push(["17 \\approx 1", "1", NEITHER], ["17 \\approx 1", "17", BOTH]);
  assert.deepEqual(misgraded(cases), []);
});

Deno.test("a computation is its last side only where its sides are equal: a false equation is no value (generated)", () => {
  const cases: [string, string, [boolean, boolean]][] = [];
  for (let a = 2; a <= 30; a += 4) {
    for (const b of [3, 7, 11]) {
      const sum = a + b, wrong = sum + 1 + (a % 3);
      cases.push([`${a}+${b} = ${wrong}`, String(wrong), NEITHER], [`${a} = ${b}`, String(b), NEITHER]);
      cases.push([`x = ${a}+${b} = ${wrong}`, String(wrong), NEITHER]);
      cases.push([`${a} \\times ${b} = ${a * b + 2}`, String(a * b + 2), NEITHER]);
      cases.push([`${b} = 2^{${b}}`, String(2 ** b), NEITHER]);
      // true ones keep their value
      cases.push([`${a}+${b} = ${sum}`, String(sum), BOTH], [`x = ${a}+${b} = ${sum}`, String(sum), BOTH]);
      cases.push([`2^{${b}} = ${2 ** b}`, String(2 ** b), BOTH]);
    }
  }
  cases.push(["10 = 2^{10}", "1024", NEITHER], ["2+2 = 5", "5", NEITHER], ["6 = 5", "5", NEITHER]);
  assert.deepEqual(misgraded(cases), []);
});

Deno.test("leniently no tolerance reaches past a decimal's last digit, nor a unit of an integer above 10^6 (generated)", () => {
  const cases: [string, string, [boolean, boolean]][] = [];
  let seed = 9;
  const next = () => (seed = Math.imul(seed ^ (seed >>> 15), 2246822507) + 1 >>> 0);
  for (let i = 0; i < 12; i++) {
    const gold = 1_000_000 + next() % 900_000_000, digits = String(gold), k = digits.length - 1;
    const e = (mantissa: string, exp = k) => `${mantissa}e${exp}`;
    const m = (n: number) => `${digits[0]}.${digits.slice(1, 1 + n)}`; // the gold cut to 1 + n figures
    // e-notation by its mantissa's last digit, as a·10^k: too few figures, or off at the last one, is wrong
    cases.push([e(m(1)), digits, NEITHER], [e(m(2)), digits, NEITHER]);
    cases.push([e(`${digits[0]}.${digits.slice(1)}`), digits, BOTH], [e(m(4)), digits, [false, true]]);
    const off = `${digits[0]}.${String(BigInt(digits.slice(1, 5)) + 2n).padStart(4, "0")}`;
    if (off.length === 6) cases.push([e(off), digits, NEITHER], [e(off).replace("e", "E"), digits, NEITHER]);
    // a decimal in an expression whose exact value is another integer, or one a unit or more away
    for (const d of [1, 2, 3]) {
      cases.push([`0.5 \\cdot ${2 * (gold + d)}`, digits, NEITHER], [
        `0.5 \\cdot ${2 * gold + 2 * d + 1}`,
        digits,
        NEITHER,
      ]);
    }
    cases.push([`0.5 \\cdot ${2 * gold}`, digits, BOTH], [`2.5 \\times ${2 * gold} \\div 5`, digits, BOTH]);
  }
  // a decimal one unit of its last digit from the exact number is not it, however many digits it has
  for (let p = 6; p <= 20; p++) {
    const one = `1.${"0".repeat(p - 1)}1`, two = `2.${"0".repeat(p - 1)}1`;
    cases.push([`${one}x`, "x", NEITHER], [`${one}\\pi`, "\\pi", NEITHER], [`${two} x`, "2x", NEITHER]);
    cases.push([`\\frac{x}{${one}}`, "x", NEITHER], [`(${one}x)^2`, "x^2", NEITHER]);
  }
  cases.push(["2.5e6", "2500002", NEITHER], ["1.000001x", "x", NEITHER], ["2.5e6", "2500000", BOTH]);
  assert.deepEqual(misgraded(cases), []);
});

Deno.test("words after a number that change its value are no unit: `5 below zero` is not 5 (generated)", () => {
  const cases: [string, string, [boolean, boolean]][] = [];
  const WORDS = ["below zero", "tens", "ten", "more", "less", "fewer", "negative", "not", "none", "nothing", "under"];
  const FORMS = [
    (n: number, w: string) => `${n} \\text{ ${w}}`,
    (n: number, w: string) => `${n}\\text{${w}}`,
    (n: number, w: string) => `${n} \\mathrm{${w}}`,
    (n: number, w: string) => `${n} ${w}`,
    (n: number, w: string) => `${n} \\text{ ${w.toUpperCase()}}`,
  ];
  for (const [i, w] of WORDS.entries()) {
    for (const [j, form] of FORMS.entries()) {
      const n = 3 + 7 * i + j;
      cases.push([form(n, w), String(n), NEITHER], [`(${form(n, w)}, 1)`, `(${n}, 1)`, NEITHER]);
      cases.push([form(n, "apples"), String(n), BOTH]); // a unit still goes
    }
  }
  assert.deepEqual(misgraded(cases), []);
});
