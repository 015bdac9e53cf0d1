/**
 * OlympiadBench physics: the judge's decisions on a table of physics cases (physics_cases.jsonl), the gold that
 * carries them, and the task loaded from a file in the hub's own format, locally and through the hub's cache.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import { grade, gradeProblem } from "../../../tasks/grading/grader.ts";
import { physicsGold, readPhysicsGold } from "../../../tasks/grading/physics.ts";
import { loadTask, TASKS } from "../../../tasks/registry.ts";

interface Case {
  gold: string;
  pred: string;
  error?: string;
  unit?: string;
  strict: boolean;
  lenient: boolean;
  /**
   * the official judge's verdict: OpenBMB/OlympiadBench's math_judger.py (ba5b26a) with sympy 1.14, run on the row
   * as its judge.py calls it (the model's text first, the gold's `error`), not as its comments say it decides
   */
  judge: boolean;
  note: string;
  /** why this grader decides otherwise than the judge, where it does */
  departure?: string;
}

const CASES: Case[] = readFileSync(new URL("./physics_cases.jsonl", import.meta.url), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l));

Deno.test(`physics: the grader agrees with all ${CASES.length} cases of the table, both verdicts`, () => {
  const wrong: string[] = [];
  for (const c of CASES) {
    const g = grade(c.pred, [physicsGold({ answer: c.gold, error: c.error, unit: c.unit })]);
    if (g.equal_strict !== c.strict || g.equal_lenient !== c.lenient) {
      wrong.push(`${JSON.stringify(c)} -> strict ${g.equal_strict}, lenient ${g.equal_lenient}`);
    }
  }
  assert.deepEqual(wrong, []);
  // Near misses that must be wrong are a good part of the table, in every kind of case.
  assert.ok(CASES.length >= 60 && CASES.filter((c) => !c.lenient).length >= 30);
  for (const kind of ["error", "unit", "near miss", "\\pm", "order"]) {
    assert.ok(CASES.some((c) => JSON.stringify(c).includes(kind)), `no case of ${kind}`);
  }
});

Deno.test("physics: strictly, the judge's verdict, except where the table says why not", () => {
  const departures = CASES.filter((c) => c.judge !== c.strict);
  assert.deepEqual(departures.filter((c) => !c.departure).map((c) => c.note), []);
  assert.deepEqual(CASES.filter((c) => c.departure && c.judge === c.strict).map((c) => c.note), []);
  // the rules this grader keeps otherwise, each shown, as many as docs/tasks-and-grading.md lists
  assert.equal(new Set(departures.map((c) => c.departure)).size, 15);
});

Deno.test("physics: the gold carries the judge's data and reads back; any other gold is graded as maths", () => {
  const g = { answer: "7 \\times 10^{35}, 0.002", error: "1e34,0.001", unit: "$\\mathrm{~m} / \\mathrm{s}$" };
  assert.deepEqual(readPhysicsGold(physicsGold(g)), g);
  assert.deepEqual(readPhysicsGold(physicsGold({ answer: "\\sqrt{2gh}" })), { answer: "\\sqrt{2gh}" });
  assert.equal(readPhysicsGold("0.6"), undefined);
  assert.equal(readPhysicsGold("⟦olympiadbench-physics {broken⟧"), undefined);
  // maths rules for a maths gold: 60 is not 0.6 there either, 0.6 is 3/5, and 3 m is 3 (its units pass)
  assert.equal(grade("\\boxed{60}", "0.6").equal_lenient, false);
  assert.equal(grade("\\boxed{3 \\text{ m}}", "3").equal_strict, true);
  // the physics gold differs from the maths gold where the judge does: its unit in the box, strictly
  const physics = physicsGold({ answer: "3", unit: "$\\mathrm{~m}$" });
  assert.equal(grade("\\boxed{3 \\text{ m}}", [physics]).equal_strict, false);
  assert.equal(gradeProblem({ golds: [physics], grading: "single" }, "\\boxed{3 \\text{ m}}").score_lenient, 1);
});

/** Records with the hub's fields and types (final_answer a list of strings; unit, error, context null or text). */
const RECORDS = [
  {
    id: 1001,
    context: null,
    question: "A ball falls from rest through a height $h$. How fast does it land?",
    final_answer: ["$\\sqrt{2 g h}$"],
    unit: null,
    answer_type: "Expression",
    error: null,
    is_multiple_answer: false,
  },
  {
    id: 1002,
    context: "A satellite circles the Earth.",
    question: "Find its speed.",
    final_answer: ["$7.9 \\times 10^{3}$"],
    unit: "$\\mathrm{~m} / \\mathrm{s}$",
    answer_type: "Numerical",
    error: "1e2",
    is_multiple_answer: false,
  },
  {
    id: 1003,
    context: null,
    question: "Find both final speeds.",
    final_answer: ["$\\frac{2}{3} v_{0}, \\frac{1}{3} v_{0}$"],
    unit: null,
    answer_type: "Expression",
    error: null,
    is_multiple_answer: true,
  },
  {
    id: 1004,
    context: null,
    question: "Find the point where it lands.",
    final_answer: ["$(3.0, 4.0)$"],
    unit: null,
    answer_type: "Tuple",
    // the judge compares a Tuple without it
    error: "0.5",
    is_multiple_answer: false,
  },
];

function hubParquet(rows: typeof RECORDS): Uint8Array {
  const text = (name: string) => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });
  const writer = new ByteWriter();
  parquetWrite(
    {
      writer,
      columnData: [
        { name: "id", data: rows.map((r) => BigInt(r.id)) },
        ...(["context", "question", "unit", "answer_type", "error"] as const).map((n) => ({
          name: n,
          data: rows.map((r) => r[n]),
        })),
        { name: "final_answer", data: rows.map((r) => r.final_answer) },
        { name: "is_multiple_answer", data: rows.map((r) => r.is_multiple_answer) },
      ],
      schema: [
        { name: "root", num_children: 8 },
        { name: "id", type: "INT64", repetition_type: "OPTIONAL" },
        ...["context", "question", "unit", "answer_type", "error"].map(text),
        { name: "final_answer", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        text("element"),
        { name: "is_multiple_answer", type: "BOOLEAN", repetition_type: "OPTIONAL" },
      ],
    } as Parameters<typeof parquetWrite>[0],
  );
  return new Uint8Array(writer.getBuffer());
}

Deno.test("olympiadbench-physics from a parquet file in the hub's format: text, unit note, golds", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-physics-"));
  writeFileSync(join(dir, "physics.parquet"), hubParquet(RECORDS));
  const { problems } = await loadTask("olympiadbench-physics", { data: join(dir, "physics.parquet") });
  assert.deepEqual(problems.map((p) => p.id), ["1001", "1002", "1003", "1004"]);
  assert.equal(problems[0].text, RECORDS[0].question);
  assert.ok(problems[1].text.startsWith("A satellite circles the Earth.\n\nFind its speed.\n\n"));
  assert.match(problems[1].text, /in \$\\mathrm\{~m\} \/ \\mathrm\{s\}\$, and write the unit after the box/);
  assert.match(problems[2].text, /several answers: give them all in one \\boxed\{\}, separated by commas/);
  assert.deepEqual(problems.map((p) => readPhysicsGold(p.golds[0])), [
    { answer: "\\sqrt{2 g h}" },
    { answer: "7.9 \\times 10^{3}", error: "1e2", unit: "$\\mathrm{~m} / \\mathrm{s}$" },
    { answer: "\\frac{2}{3} v_{0}, \\frac{1}{3} v_{0}" },
    { answer: "(3.0, 4.0)" },
  ]);
  const verdict = (i: number, answer: string) => gradeProblem(problems[i], `\\boxed{${answer}}`).score_strict;
  assert.equal(verdict(1, "8.0 \\times 10^{3}"), 1); // within the record's error of 100
  assert.equal(verdict(1, "8.2 \\times 10^{3}"), 0);
  assert.equal(verdict(2, "\\frac{v_0}{3}, \\frac{2v_0}{3}"), 1);
  assert.equal(verdict(3, "(3.2, 4.0)"), 0);
  assert.equal(TASKS["olympiadbench-physics"].finisherTokens, 64);
});

Deno.test("olympiadbench-physics from the hub: its file in the cache, the count of the whole set checked", async () => {
  const spec = TASKS["olympiadbench-physics"];
  assert.deepEqual(spec.hub, {
    repo: "Hothan/OlympiadBench",
    file: "OlympiadBench/OE_TO_physics_en_COMP/OE_TO_physics_en_COMP.parquet",
  });
  assert.equal(spec.expected, 236);
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-")), sha = "0123456789abcdef0123456789abcdef01234567";
  const root = join(cache, "datasets--Hothan--OlympiadBench");
  const file = join(root, "snapshots", sha, spec.hub!.file);
  mkdirSync(join(file, ".."), { recursive: true });
  mkdirSync(join(root, "refs"));
  writeFileSync(join(root, "refs", "main"), sha);
  const hubOptions = { cacheDir: cache, offline: true };
  writeFileSync(file, hubParquet(RECORDS));
  await assert.rejects(
    loadTask("olympiadbench-physics", { hubOptions }),
    /4 records, task olympiadbench-physics has 236/,
  );
  const all = Array.from({ length: 236 }, (_, i) => ({ ...RECORDS[i % 3], id: 2000 + i }));
  writeFileSync(file, hubParquet(all));
  const whole = await loadTask("olympiadbench-physics", { hubOptions });
  assert.equal(whole.problems.length, 236);
  assert.equal(whole.files[0], file);
  // --hub names the repository; the task knows its file
  const named = await loadTask("olympiadbench-physics", { hub: "hf:Hothan/OlympiadBench", hubOptions, limit: 2 });
  assert.deepEqual(named.problems, whole.problems.slice(0, 2));
});

Deno.test("the paper's physics points (Table 4) are there for plot --reference, on tasks the registry knows", () => {
  const paper = JSON.parse(
    readFileSync(new URL("../../../harness/reference/paper.json", import.meta.url), "utf8"),
  );
  const points = paper.points as { task: string; label: string; budget: number; accuracy: number }[];
  const physics = points.filter((p) => p.task === "olympiadbench-physics");
  assert.equal(physics.length, 16);
  const at = (label: RegExp, budget: number) =>
    physics.find((p) => label.test(p.label) && p.budget === budget)?.accuracy;
  assert.equal(at(/Hogwild/, 8192), 0.3809);
  assert.equal(at(/baseline/, 16384), 0.3612);
  assert.deepEqual(points.filter((p) => !TASKS[p.task]).map((p) => p.task), []);
});

Deno.test("physics: LaTeX spacing is spacing on both sides, never a comma between answers (6\\,\\% is one answer)", () => {
  const verdicts = (pred: string, answer: string) => {
    const g = grade(`\\boxed{${pred}}`, [physicsGold({ answer })]);
    return [g.equal_strict, g.equal_lenient];
  };
  assert.deepEqual(verdicts("6", "6\\,\\%"), [true, true]);
  assert.deepEqual(verdicts("0.06", "6\\,\\%"), [true, true]);
  assert.deepEqual(verdicts("6\\,\\%, 7\\,\\%", "6\\%, 7\\%"), [true, true]);
  assert.deepEqual(verdicts("1\\,000", "1000"), [true, true]);
  assert.deepEqual(verdicts("7", "6\\,\\%"), [false, false]);
});

Deno.test("physics: a percent is read on the gold's scale: the unit % makes the gold a percentage; the error is the gold's", () => {
  const verdict = (pred: string, gold: { answer: string; error?: string; unit?: string }) => {
    const g = grade(`So the final answer is $\\boxed{${pred}}$.`, [physicsGold(gold)]);
    assert.equal(g.equal_strict, g.equal_lenient, `${pred} against ${JSON.stringify(gold)}: the modes differ`);
    return g.equal_strict;
  };
  const wrong: string[] = [];
  const expect = (pred: string, gold: { answer: string; error?: string; unit?: string }, right: boolean) => {
    if (verdict(pred, gold) !== right) wrong.push(`${pred} against ${JSON.stringify(gold)} should be ${right}`);
  };
  const num = (x: number) => String(Number(x.toPrecision(12)));
  // [a percentage, its error in percentage points (none: relative)]
  const golds: [number, number | undefined][] = [[4.2, 0.1], [35, 1], [0.6, 0.01], [12.5, undefined], [87, 0.5]];
  for (const [p, e] of golds) {
    const near = e ?? p * 1e-6, error = e === undefined ? undefined : String(e);
    for (const unit of ["$\\%$", "\\%", "$\\mathrm{\\%}$"]) {
      // the gold is p percent, the unit written after it: a sign, none, or the fraction
      const gold = { answer: num(p), error, unit };
      for (const right of [`${num(p)}\\%`, `${num(p)}%`, num(p), num(p / 100)]) expect(right, gold, true);
      if (e !== undefined) {
        for (const s of [1, -1]) {
          expect(`${num(p + s * 0.5 * e)}\\%`, gold, true);
          expect(num((p + s * 0.5 * e) / 100), gold, true);
          expect(`${num(p + s * 2 * e)}\\%`, gold, false);
          expect(num((p + s * 2 * e) / 100), gold, false);
        }
      }
      // a percent of a percentage, and the fraction given as percent, are off by 100
      for (const miss of [`${num(p * 100)}\\%`, num(p * 100), `${num(p / 100)}\\%`, num(p / 1e4)]) {
        expect(miss, gold, false);
      }
      expect(num(p + 2 * near), gold, false);
    }
    // the same percentage as a gold that writes its sign: alike
    const signed = { answer: `${num(p)} \\%`, error };
    for (const right of [`${num(p)}\\%`, num(p), num(p / 100)]) expect(right, signed, true);
    for (const miss of [`${num(p * 100)}\\%`, num(p * 100), num((p + 2 * near) / 100)]) expect(miss, signed, false);
    // a fraction gold (no unit, or another one): an answer's percent is /100, the gold's error in the gold's scale
    const f = p / 100, fe = e === undefined ? undefined : String(e / 100);
    for (const unit of [undefined, "$\\mathrm{~m}$"]) {
      const gold = { answer: num(f), error: fe, unit };
      expect(`${num(p)}\\%`, gold, true);
      expect(num(p), gold, false);
      if (e !== undefined) {
        expect(`${num(p + 0.5 * e)}\\%`, gold, true);
        expect(`${num(p + 2 * e)}\\%`, gold, false);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

/** Both verdicts of a box against a physics gold. */
function both(pred: string, gold: { answer: string; error?: string; unit?: string }): [boolean, boolean] {
  const g = grade(`So the final answer is $\\boxed{${pred}}$.`, [physicsGold(gold)]);
  return [g.equal_strict, g.equal_lenient];
}

/** The cases whose verdicts (both modes alike) are not the expected one. */
function misses(cases: [string, { answer: string; error?: string; unit?: string }, boolean][]): string[] {
  return cases.filter(([pred, gold, right]) => both(pred, gold).some((v) => v !== right))
    .map(([pred, gold, right]) => `${pred} against ${JSON.stringify(gold)}: ${both(pred, gold)}, should be ${right}`);
}

// names as labels: a letter, a Greek letter, with a subscript, a prime, a \Delta, a function of one
const NAMES = [
  "a",
  "T",
  "F_{x}",
  "v_0",
  "\\theta",
  "T'",
  "E_{k}",
  "\\Delta p",
  "I_{\\max}",
  "\\omega_{L}",
  "\\cos\\theta", // a function of a name names a quantity too
  "\\sin(\\alpha)",
  "\\ln{x}",
];

Deno.test("physics: labels on both sides must name the same thing (swapped labelled values are wrong)", () => {
  const cases: [string, { answer: string }, boolean][] = [];
  NAMES.forEach((a, i) => {
    const b = NAMES[(i + 3) % NAMES.length], x = 2 + i, y = 7 + 2 * i;
    const gold = { answer: `${a} = ${x}, ${b} = ${y}` };
    cases.push([`${a} = ${y}, ${b} = ${x}`, gold, false]); // the values swapped under their names
    cases.push([`${b} = ${y}, ${a} = ${x}`, gold, true]); // another order, each under its name
    cases.push([`${a}=${x}, ${b}=${y}`, gold, true]);
    cases.push([`${y}, ${x}`, gold, true]); // no labels: any order, as the judge
    cases.push([`${b} = ${x}`, { answer: `${a} = ${x}` }, false]); // one value under another name
    cases.push([`${b} = ${x}`, { answer: `${x}` }, true]); // a label on one side only
    cases.push([`${x}`, { answer: `${a} = ${x}` }, true]);
    cases.push([`${b} = \\sqrt{2 g h}`, { answer: `${a} = \\sqrt{2 g h}` }, false]);
    cases.push([`${a} = \\sqrt{2 g h}`, { answer: `${a} = \\sqrt{2 g h}` }, true]);
  });
  // a function's argument however it is bracketed is one name
  const spellings = [
    [
      "\\cos\\theta",
      "\\cos(\\theta)",
      "\\cos{\\theta}",
      "\\cos \\theta",
      "\\cos\\left(\\theta\\right)",
      "\\cos((\\theta))",
      "\\cos\\left[\\theta\\right]",
      "\\cos[\\theta]",
      "\\cos{(\\theta)}",
    ],
    ["\\sin\\alpha", "\\sin(\\alpha)", "\\sin\\left( \\alpha \\right)"],
    ["\\ln x", "\\ln(x)", "\\ln{x}"],
  ];
  for (const names of spellings) {
    for (const a of names) {
      for (const b of names) {
        cases.push([`${a} = \\frac{1}{3}`, { answer: `${b} = \\frac{1}{3}` }, true]);
        cases.push([`${a} = \\frac{1}{3}`, { answer: `${b} = \\frac{1}{4}` }, false]);
      }
    }
  }
  cases.push(["\\cos(\\theta) = 0.5", { answer: "\\sin(\\theta) = 0.5" }, false]);
  assert.deepEqual(misses(cases), []);
});

Deno.test("physics: only a name labels a value; a product, a fraction, a root or a number on the left is an equation's side", () => {
  const cases: [string, { answer: string }, boolean][] = [];
  const sides = [
    "x y",
    "2 x",
    "\\frac{x}{y}",
    "\\sqrt{x}",
    "\\sqrt{9}",
    "x^{2}",
    "m g",
    "a + b",
    "3",
    "\\sin 2x",
    "\\cos(a+b)",
  ];
  [1, 2, 5, 30].forEach((v, i) => {
    for (const side of sides) {
      cases.push([`${v}`, { answer: `${side} = ${v}` }, false]);
      cases.push([`${side} = ${v}`, { answer: `${v}` }, false]);
    }
    for (const name of NAMES) {
      cases.push([`${v}`, { answer: `${name} = ${v}` }, true]);
      cases.push([`${name} = ${v}`, { answer: `${v}` }, true]);
      cases.push([`${name} = ${v + 1 + i}`, { answer: `${v}` }, false]);
    }
  });
  assert.deepEqual(misses(cases), []);
});

Deno.test("physics: the error holds inside tuples and intervals, element by element, the brackets alike", () => {
  const cases: [string, { answer: string; error?: string }, boolean][] = [];
  const num = (x: number) => String(Number(x.toPrecision(12)));
  const brackets = [["(", ")"], ["[", "]"], ["(", "]"], ["[", ")"]];
  for (const [xs, e] of [[[2, 3], 0.1], [[1.2, 3.4], 0.1], [[2000, 3, -40], 20], [[0.5, 0.75], 0.01]] as const) {
    for (const [open, close] of brackets.slice(0, xs.length === 3 ? 2 : 4)) {
      const box = (ys: readonly number[], o = open, c = close) => `${o}${ys.map(num).join(", ")}${c}`;
      const gold = { answer: box(xs.map((x) => x)), error: String(e) };
      cases.push([box(xs), gold, true]);
      xs.forEach((_, i) => {
        const off = (k: number) => xs.map((x, j) => j === i ? x + k * e : x);
        cases.push([box(off(0.5)), gold, true], [box(off(-0.9)), gold, true]);
        cases.push([box(off(2)), gold, false], [box(off(-1.5)), gold, false]);
      });
      // other brackets, another count: never, within the error or not
      cases.push([box(xs, open === "(" ? "[" : "("), gold, false]);
      cases.push([box([...xs, xs[0]]), gold, false], [box(xs.slice(1)), gold, false]);
    }
  }
  // scientific notation in the gold
  const sci = { answer: "(2.0 \\times 10^{3}, 3.0)", error: "20" };
  cases.push(["(2010, 3)", sci, true], ["(1985, 3.1)", sci, true], ["(2030, 3)", sci, false], [
    "(2010, 33)",
    sci,
    false,
  ]);
  // an interval's union, part by part
  const union = { answer: "(-\\infty, -1.0] \\cup [1.0, \\infty)", error: "0.1" };
  cases.push(["(-\\infty, -1.05] \\cup [0.95, \\infty)", union, true], [
    "(-\\infty, -1.5] \\cup [1, \\infty)",
    union,
    false,
  ]);
  // one error of several: the tuple's own
  const two = { answer: "(1.0, 2.0), 5", error: "0.1,1" };
  cases.push(["5.5, (1.05, 2)", two, true], ["(1.05, 2), 5.5", two, true], ["(1.5, 2), 5", two, false]);
  assert.deepEqual(misses(cases), []);
});

Deno.test("physics: a percent sign in the box is always /100, never also the number as written", () => {
  const cases: [string, { answer: string; error?: string; unit?: string }, boolean][] = [];
  const num = (x: number) => String(Number(x.toPrecision(12)));
  for (
    const [x, e] of [[0.003, undefined], [0.5, undefined], [5, undefined], [12, 0.5], [0.25, 0.01], [80, 2]] as const
  ) {
    const error = e === undefined ? undefined : String(e);
    for (const answer of [num(x), x === 0.003 ? "3 \\times 10^{-3}" : `\\frac{${num(x * 4)}}{4}`]) {
      for (const unit of [undefined, "$\\mathrm{~m}$"]) {
        const gold = { answer, error, unit };
        for (const sign of ["\\%", "%", "\\,\\%"]) {
          cases.push([`${num(x)}${sign}`, gold, false]); // the number as written, with a sign: x/100
          cases.push([`${num(x * 100)}${sign}`, gold, true]);
          if (e !== undefined) cases.push([`${num((x + 0.5 * e) * 100)}${sign}`, gold, true]);
        }
        cases.push([num(x), gold, true], [num(x * 100), gold, false]);
      }
    }
    // a percentage gold: its number with the sign or without, or the fraction
    const pct = { answer: `${num(x)} \\%`, error };
    cases.push([`${num(x)}\\%`, pct, true], [num(x), pct, true], [num(x / 100), pct, true]);
    cases.push([`${num(x / 100)}\\%`, pct, false], [`${num(x * 100)}\\%`, pct, false]);
  }
  assert.deepEqual(misses(cases), []);
});

Deno.test("physics: each answer \\pm gives keeps its source answer's error", () => {
  const cases: [string, { answer: string; error?: string }, boolean][] = [];
  const num = (x: number) => String(Number(x.toPrecision(12)));
  for (const [a, d, b, e1, e2] of [[3, 0.5, 7, 0.01, 0.1], [10, 2, 1, 0.5, 0.01], [100, 5, 40, 1, 3]]) {
    for (
      const [answer, error, first] of [[`${a} \\pm ${d}, ${b}`, `${e1},${e2}`, true], [
        `${b}, ${a} \\pm ${d}`,
        `${e2},${e1}`,
        false,
      ]] as const
    ) {
      const gold = { answer, error };
      const box = (p: number, m: number, c: number) => (first ? [p, m, c] : [c, p, m]).map(num).join(", ");
      cases.push([box(a + d, a - d, b), gold, true]);
      cases.push([box(a + d + 0.5 * e1, a - d - 0.5 * e1, b + 0.9 * e2), gold, true]);
      cases.push([box(a + d + 3 * e1, a - d, b), gold, false], [box(a + d, a - d - 3 * e1, b), gold, false]);
      cases.push([box(a + d, a - d, b + 2 * e2), gold, false]);
    }
  }
  assert.deepEqual(misses(cases), []);
});

Deno.test("physics: a malformed error is refused at load (problem id and field named) and is a grader error at grade time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-physics-error-"));
  const bad: [string, string, RegExp][] = [
    ["5%", "7.9 \\times 10^{3}", /not a number/],
    ["abc", "7.9 \\times 10^{3}", /not a number/],
    ["inf", "7.9 \\times 10^{3}", /not a number/],
    ["-1", "7.9 \\times 10^{3}", /not a number/],
    ["1e2,1e2", "7.9 \\times 10^{3}", /2 values for 1 answer/],
    ["0.1,0.2,0.3", "1, 2", /3 values for 2 answers/],
    ["0.1,0.2,0.3,0.4", "3 \\pm 0.5, 7", /4 values for 2 answers \(3 after \\pm is read\)/],
  ];
  for (const [error, answer, why] of bad) {
    const file = join(dir, "physics.parquet");
    writeFileSync(file, hubParquet([RECORDS[0], { ...RECORDS[1], error, final_answer: [`$${answer}$`] }]));
    await assert.rejects(
      loadTask("olympiadbench-physics", { data: file }),
      (e: Error) => /problem 1002/.test(e.message) && /field "error"/.test(e.message) && why.test(e.message),
      `error ${error} for ${answer}`,
    );
    // a gold carrying one (written otherwise) is a grader error, never a silent default
    assert.throws(() => grade("\\boxed{7900}", [physicsGold({ answer, error })]), why, `error ${error} for ${answer}`);
  }
  // well formed: one value, one per answer, one per answer after \pm, an empty part (none for that answer)
  for (
    const [error, answer] of [["1e2", "7.9"], [" 0.1 , 2 ", "1, 2"], ["0.1,,0.3", "3 \\pm 0.5, 7"], [",0.5", "1, 2"]]
  ) {
    const file = join(dir, "physics.parquet");
    writeFileSync(file, hubParquet([{ ...RECORDS[1], error, final_answer: [`$${answer}$`] }]));
    assert.equal((await loadTask("olympiadbench-physics", { data: file })).problems.length, 1, error);
    grade("\\boxed{7900}", [physicsGold({ answer, error })]);
  }
  // a Tuple's error is never read, so never refused
  writeFileSync(join(dir, "physics.parquet"), hubParquet([{ ...RECORDS[3], error: "abc" }]));
  assert.equal((await loadTask("olympiadbench-physics", { data: join(dir, "physics.parquet") })).problems.length, 1);
});

Deno.test("physics: a unit whose letter the gold uses as a variable is not dropped from it; lenient is never stricter", () => {
  const m = "$\\mathrm{~m}$", s = "$\\mathrm{~s}$";
  const cases: [string, { answer: string; unit?: string }, boolean, boolean][] = [];
  for (
    const [answer, rewritten, unit] of [
      ["2 g m", "2g m", m],
      ["2 g m", "2 m g", m],
      ["\\frac{k m}{2}", "\\frac{1}{2} k m", m],
      ["m v^{2}", "v^{2} m", m],
      ["\\sqrt{\\frac{2 s}{a}}", "\\sqrt{2 s / a}", s],
      ["\\frac{g t^{2}}{2} s", "\\frac{1}{2} g t^{2} s", s],
    ]
  ) {
    const gold = { answer, unit };
    cases.push([answer, gold, true, true], [rewritten, gold, true, true]);
    // the unit after it: strictly a unit in the box (wrong), leniently dropped
    cases.push([`${rewritten} \\mathrm{~${unit === m ? "m" : "s"}}`, gold, false, true]);
    cases.push([`2 ${rewritten}`, gold, false, false]);
  }
  // a gold without the letter: the unit after the answer, as before
  cases.push(["2 g m", { answer: "2 g", unit: m }, false, true], [
    "\\frac{k}{2} m",
    { answer: "\\frac{k}{2}", unit: m },
    false,
    true,
  ]);
  const wrong = cases.filter(([p, g, st, le]) => String(both(p, g)) !== String([st, le]))
    .map(([p, g, st, le]) => `${p} against ${JSON.stringify(g)}: ${both(p, g)}, should be ${[st, le]}`);
  assert.deepEqual(wrong, []);
});

Deno.test("physics: without an error, numbers are within 1e-8 of the gold's size, above 1 and below alike", () => {
  const cases: [string, { answer: string }, boolean][] = [];
  for (let k = -12; k <= 23; k += 5) {
    for (const m of [1.2, 6.02, 9.9]) {
      const gold = { answer: `${m} \\times 10^{${k}}` }, x = m * 10 ** k;
      cases.push([String(x * (1 + 5e-9)), gold, true], [String(x * (1 - 9e-9)), gold, true]);
      cases.push([String(x * (1 + 3e-8)), gold, false], [String(x * (1 - 2e-8)), gold, false]);
      cases.push([String(x + 2e-8), gold, k >= 0]); // the judge's absolute 1e-8: looser or stricter by the size
    }
  }
  assert.deepEqual(misses(cases), []);
});
