/** Placeholders of prompt texts: any `{{…}}` (or `{…}` of a protocol's word) that is not exactly one a text fills is refused. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPlaceholders, escapeRegExp } from "../../tasks/texts.ts";
import { loadProtocol, loadTemplate, protocolFile } from "../../harness/generation/prompts.ts";

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

Deno.test("checkPlaceholders (a protocol's, one brace): {word.x}, {word|f}, {word[0]}, { word } of a placeholder word are refused", () => {
  const words = ["name", "step"], allowed = ["{name}", "{step}"];
  checkPlaceholders("**{name} [{step}]:** $\\frac{a}{b}$ {names} {stepping}", allowed, "p.json: field", 1, words);
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
