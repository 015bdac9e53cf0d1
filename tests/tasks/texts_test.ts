/** Placeholders of prompt texts: any `{{…}}` (or `{…}` of a protocol's word) that is not exactly one a text fills is refused. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPlaceholders, escapeRegExp } from "../../tasks/texts.ts";
import { loadProtocol, loadTemplate, promptsFile, protocolFile } from "../../harness/generation/prompts.ts";
import { loadSot } from "../../harness/generation/methods/sot.ts";
import { loadJudgeTemplate } from "../../harness/judge/prompt.ts";
import { loadTask } from "../../tasks/registry.ts";
import { DATA_DIR, dataTest } from "../helpers.ts";

const ALLOWED = ["{{problem}}", "{{names}}", "{{count}}"];
/** Jinja-like spellings and other texts in two braces that no filler fills: each would reach the model as written. */
const BAD = [
  "{{ names|join(', ') }}",
  "{{ count|int }}",
  "{{problem.text}}",
  "{{ names[0] }}",
  "{{-problem-}}",
  "{{problème}}",
  "{{问题}}",
  "{{}}",
  "{{ }}",
  "{{prob lem}}",
  "{{ problem }}",
  "{{Problem}}",
  "{{problem }}",
  "{{\u00a0names}}",
  "{{names\n}}",
  // Mustache's and Handlebars' forms
  "{{#names}}",
  "{{&problem}}",
  "{{>problem}}",
  "{{!problem}}",
  "{{$problem}}",
  "{{(problem)}}",
  "{{model}}",
];
/** Texts around them that are no placeholder: LaTeX's braces, a `}}` that closes two groups. */
const TEXT = [
  "",
  "Solve: ",
  "$\\frac{1}{\\sqrt{2}}$ ",
  "\\boxed{answer} ",
  "{ {a} } ",
  "}} ",
  "\n\n",
  // LaTeX and code with two braces that no placeholder is written as: braces inside, a digit first
  "$\\frac{1}{{x}^2}$ ",
  "int m[2][2] = {{1,2},{3,4}}; ",
  "$x^{{2}}$ ",
  "{{{names}}} ",
  // a sign and a number, a command, a group after the first group, a command inside: LaTeX's
  "$x^{{-1}}$ ",
  "$10^{{+2}}$ ",
  "$\\int f(x) {{\\rm d}}x$ ",
  "$\\binom{n}{k} = {{n \\choose k}}$ ",
  "${{a} \\over {b}}$ ",
  "${{x}_i}$ ",
  "${{f}'}$ ",
  "${{x}{y}}$ ",
  "$\\{{x}\\}$ ",
  "${{x^{2}}}$ ",
  "int m[2][2] = {{a,b},{c,d}}; ",
];

Deno.test("checkPlaceholders: every {{…}} not exactly a placeholder the text fills is refused, named; LaTeX braces are text", () => {
  let seed = 3;
  const pick = <T>(xs: readonly T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length];
  for (let i = 0; i < 400; i++) {
    const good = Array.from({ length: 1 + (i % 4) }, () => pick(TEXT) + pick(ALLOWED) + pick(TEXT)).join("");
    checkPlaceholders(good, ALLOWED, "t.txt"); // the placeholders it fills, among text
    // a spot is read from its {{ to the first }} after it
    const bad = pick(BAD), at = i % 3, spot = bad.slice(0, bad.indexOf("}}") + 2);
    const text = [good, pick(TEXT) + bad + pick(TEXT)].toSpliced(at === 2 ? 1 : at, 0, pick(TEXT)).join("");
    assert.throws(
      () => checkPlaceholders(text, ALLOWED, "t.txt"),
      new RegExp(`t\\.txt: ${escapeRegExp(spot)} is no placeholder; it fills \\{\\{problem\\}\\}`),
      JSON.stringify(text),
    );
  }
});

Deno.test("checkPlaceholders: a {{ that no }} closes is refused, named", () => {
  for (const text of ["{{problem}} {{names}", "{{problem}} {{", "{{problem}} {{names} and more", "{{ problem"]) {
    assert.throws(
      () => checkPlaceholders(text, ALLOWED, "t.txt"),
      /t\.txt: "\{\{[^"]*" opens a placeholder no "\}\}" closes/,
      JSON.stringify(text),
    );
  }
});

Deno.test("checkPlaceholders: a {{word closed by one brace is refused, naming it and the placeholder it misspells", () => {
  let seed = 5;
  const pick = <T>(xs: readonly T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length];
  // what follows a typo: text, punctuation, the end, a box, a placeholder (the reviewer's: "{{problme}\n", "{{nmaes}:")
  const AFTER = ["\n", "", " ", ":", ",", ".", ")", "\n\nPut the answer in \\boxed{}.", " {{names}}", "{{count}}", "^"];
  // [allowed, word, the placeholder it misspells]
  const TYPOS: [readonly string[], string, string | undefined][] = [
    [["{{problem}}"], "problme", "{{problem}}"],
    [ALLOWED, "nmaes", "{{names}}"],
    [["{{problem}}"], "names", undefined], // a plain template's: no placeholder there
    [ALLOWED, "Problem", "{{problem}}"],
    [ALLOWED, "cnt", undefined],
    [["{{problem}}", "{{outline}}", "{{k}}", "{{point}}"], "outlien", "{{outline}}"],
    [ALLOWED, "问题", undefined],
    [ALLOWED, " problem", undefined],
    [ALLOWED, "#names", undefined],
  ];
  for (let i = 0; i < 300; i++) {
    const [allowed, word, meant] = TYPOS[i % TYPOS.length];
    // (LaTeX's {k} is refused where {{k}} is filled)
    const around = allowed.includes("{{k}}") ? TEXT.filter((t) => !t.includes("{k}")) : TEXT;
    // (and no stray "}}" after it: the braces around a typo that go on as LaTeX's, closed, are LaTeX's)
    const text = `${pick(around)}${allowed[0]} ${pick(around)}{{${word}}${pick(AFTER)}${
      pick(around.filter((t) => !t.startsWith("}}")))
    }`;
    assert.throws(
      () => checkPlaceholders(text, allowed, "t.txt"),
      (e: Error) =>
        e.message.startsWith(`t.txt: "{{${word}}" opens a placeholder no "}}" closes`) &&
        (meant === undefined || e.message.includes(`${meant}, misspelt?`)),
      JSON.stringify(text),
    );
  }
  // the own name's one-brace spelling says how it is written
  for (const text of ["{{problem}} {{names}: go", "{{problem}} {{ names}: go"]) {
    assert.throws(() => checkPlaceholders(text, ALLOWED, "t.txt"), /\(\{\{names\}\}, with two braces\?\)/, text);
  }
});

Deno.test("the reviewer's one-brace typos in files are refused at load, naming the file: a template, a judge's, a family's texts", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-texts-"));
  const plain = join(dir, "t.txt"),
    collab = join(dir, "c.txt"),
    judge = join(dir, "j.txt"),
    sot = join(dir, "sot.json");
  writeFileSync(plain, "Solve {{problem}} {{problme}\n");
  assert.throws(() => loadTemplate("plain", plain), new RegExp(`${escapeRegExp(plain)} .*"\\{\\{problme\\}" opens`));
  writeFileSync(plain, "{{names}: solve {{problem}}\n"); // the doc's own example, in a plain template
  assert.throws(() => loadTemplate("plain", plain), new RegExp(`${escapeRegExp(plain)} .*"\\{\\{names\\}" opens`));
  writeFileSync(collab, "{{nmaes}: solve {{problem}} together, {{count}} of you.\n");
  assert.throws(() => loadTemplate("collab", collab), /"\{\{nmaes\}" opens .*\{\{names\}\}, misspelt\?/);
  writeFileSync(judge, "Judge {{problem}} and {{transcript}} of {{cuont}.\n");
  assert.throws(() => loadJudgeTemplate(judge), /--judge-prompt .*"\{\{cuont\}" opens .*\{\{count\}\}, misspelt\?/);
  const texts = JSON.parse(readFileSync(promptsFile("sot.json"), "utf8"));
  writeFileSync(sot, JSON.stringify({ ...texts, point: texts.point + " {{outlien}" }));
  assert.throws(() => loadSot(sot), /field "point": "\{\{outlien\}" opens .*\{\{outline\}\}, misspelt\?/);
  writeFileSync(sot, JSON.stringify({ ...texts, point: texts.point + " {{outlien}}" }));
  assert.throws(() => loadSot(sot), /field "point": \{\{outlien\}\} is no placeholder; .*\{\{outline\}\}, misspelt\?/);
});

Deno.test("checkPlaceholders (a protocol's, one brace): a near miss of a word it fills ({nmae}, {stpe}, {names}) is refused, naming the word meant", () => {
  const words = ["name", "step"], allowed = ["{name}", "{step}"];
  for (
    const [bad, meant] of [
      ["{nmae}", "name"],
      ["{Nmae}", "name"],
      ["{nam}", "name"],
      ["{names}", "name"],
      ["{stpe}", "step"],
      ["{setp}", "step"],
      ["{ steps }", "step"],
      ["{{nmae}}", "name"],
      ["{stpe+1}", "step"],
    ]
  ) {
    assert.throws(
      () => checkPlaceholders(`**{name} [{step}]:** ${bad}`, allowed, "p.json: field", 1, words),
      new RegExp(
        `p\\.json: field: ${
          escapeRegExp(bad)
        } is no placeholder; it fills \\{name\\}, \\{step\\} \\(\\{${meant}\\}, misspelt\\?\\)$`,
      ),
      bad,
    );
  }
  // a word two letters or more away, or a sentence, is the text's own
  checkPlaceholders(
    "{stepping} {am} {st} {answer} {the name} \\text{same thing} {sample}",
    allowed,
    "p.json: field",
    1,
    words,
  );
});

Deno.test("checkPlaceholders (a protocol's, one brace): {word.x}, {word|f}, {word[0]}, { word } of a placeholder word are refused", () => {
  const words = ["name", "step"], allowed = ["{name}", "{step}"];
  checkPlaceholders("**{name} [{step}]:** $\\frac{a}{b}$ {nameplate} {stepping}", allowed, "p.json: field", 1, words);
  // a placeholder word among others is a sentence, no placeholder
  checkPlaceholders("\\textbf{Step by step}, \\text{step size}, {name and age}", allowed, "p.json: field", 1, words);
  for (
    const bad of [
      "{name.x}",
      "{name|upper}",
      "{name[0]}",
      "{ name }",
      "{Name}",
      "{{name}}",
      "{step-1}",
      "{name }",
      "{ name | upper }",
      "{step + 1}",
      "{step*2}",
      "{name!r}",
    ]
  ) {
    assert.throws(
      () => checkPlaceholders(`**{name} [{step}]:** ${bad}`, allowed, "p.json: field", 1, words),
      new RegExp(`p\\.json: field: ${escapeRegExp(bad)} is no placeholder; it fills \\{name\\}, \\{step\\}`),
      bad,
    );
  }
});

Deno.test("a user's template holding a Jinja placeholder is refused at load, naming its file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-texts-"));
  for (const bad of BAD) {
    const file = join(dir, "collab.txt");
    writeFileSync(file, `Team of {{count}}: {{names}}.\n\n{{problem}}\n\nAlso ${bad}.`);
    assert.throws(() => loadTemplate("collab", file), new RegExp(`${escapeRegExp(file)} \\(a collab template\\): `));
  }
});

Deno.test("a lone surrogate in a prompt file (a JSON escape of half a character) is refused, naming the file and field", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-texts-"));
  const base = JSON.parse(readFileSync(protocolFile(), "utf8"));
  let n = 0;
  for (const half of ["\\ud83e", "\\udde0", "x\\ud800y", "\\udde0\\ud83e"]) {
    for (const field of ["othersHeader", "redundancyCheck", "finisherSuffix", "forbidden"]) {
      const file = join(dir, `p${n++}.json`);
      const json = JSON.stringify({ ...base, [field]: field === "forbidden" ? ["#", "@@"] : base[field] + "@@" });
      writeFileSync(file, json.replace("@@", half));
      assert.throws(
        () => loadProtocol(file),
        new RegExp(`${escapeRegExp(file)}: field "${field}" holds half a character`),
        `${half} in ${field}`,
      );
    }
  }
  const file = join(dir, "whole.json");
  writeFileSync(file, JSON.stringify({ ...base, redundancyCheck: "@@" }).replace("@@", "\\ud83e\\udde0?"));
  assert.equal(loadProtocol(file).redundancyCheck, "🧠?");
});

/** Brace groups of a text: each `{…}` whose braces balance (LaTeX's escaped `\{` skipped), its inside. */
function groups(text: string): string[] {
  const out: string[] = [], open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === "{") open.push(i);
    else if (text[i] === "}" && open.length) out.push(text.slice(open.pop()! + 1, i));
  }
  return out;
}

dataTest(
  "the data sets' LaTeX is never read as a placeholder: their texts and answers, and {{ written around their groups, in a template and a protocol",
  async () => {
    let seed = 7, n = 0;
    const pick = <T>(xs: readonly T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length];
    // the LaTeX forms that open a group with two braces, around a group E of a problem's text
    const WRAP = [
      (e: string) => `{{${e}}^2}`,
      (e: string) => `{{${e}}_{n}}`,
      (e: string) => `{{${e}}\\over{2}}`,
      (e: string) => `{{${e}} \\over {2}}`,
      (e: string) => `{{${e}}'}`,
      (e: string) => `x^{{${e}}^{k}}`,
      (e: string) => `{{\\rm ${e}}}`,
      (e: string) => `{{${e}}{${e}}}`,
      (e: string) => `{{${e} \\choose 2}}`,
      (e: string) => `\\{{${e}}\\}`,
    ];
    const latex = (t: string) => t.includes("\\") || /[$^_]/.test(t);
    for (const id of ["math500", "aime24", "aime25", "amc23", "olympiadbench", "gsm8k"]) {
      const { problems } = await loadTask(id, { dataDir: DATA_DIR });
      for (const p of problems) {
        for (const t of [p.text, ...p.golds]) {
          for (const allowed of [["{{problem}}"], ALLOWED]) checkPlaceholders(`${t}\n\n{{problem}}`, allowed, id);
          checkPlaceholders(t, [], `${id} protocol`, 1, ["name", "step"]);
          if (!latex(t)) continue;
          const inner = groups(t).filter((g) => g !== "");
          for (let i = 0; i < Math.min(4, inner.length); i++) {
            const made = `${t} ${pick(WRAP)(pick(inner))} {{problem}}`;
            checkPlaceholders(made, ALLOWED, `${id} ${p.id}`);
            n++;
          }
        }
      }
    }
    assert.ok(n > 1000, `${n} LaTeX texts made`);
  },
);
