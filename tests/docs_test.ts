/**
 * The docs' links hold: every relative link and image in README.md and docs/*.md points to a file inside the
 * repository that exists (and, with a #fragment into a Markdown file, to a heading there, as GitHub names its
 * anchors), and every page of docs/ is linked from the README. Links inside fenced code blocks are not links.
 * Where a doc states a value the code derives (the judge rubric's version, each method family's versions), the
 * code's value is the one it states; no page says a vote groups answers as the grader reads them. Every bench
 * command the docs give for a model of known context passes the bench's own up-front check of it, or says
 * --allow-long-context.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { localConfig } from "../engine/config.ts";
import { ARCHITECTURES } from "../engine/architectures/registry.ts";
import { TextTokenizer } from "../engine/tokenizer.ts";
import { loadJudgeTemplate } from "../harness/judge/prompt.ts";
import { HELP, parseBenchSpec } from "../harness/bench/spec.ts";
import { checkContext } from "../harness/bench/context_check.ts";
import { familyNames, familyVersions, type Method, minPositions, parseMethod } from "../harness/generation/methods.ts";
import type { Problem } from "../tasks/problem.ts";
import { equivalent } from "../tasks/grading/equivalence.ts";
import { voteKey } from "../harness/generation/answer_format.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DOCS = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`);
const PAGES = ["README.md", ...DOCS];

/** Markdown text without its fenced code blocks (``` or ~~~), line count kept for messages. */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split("\n").map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m && (fence === undefined || m[1].startsWith(fence))) {
      fence = fence === undefined ? m[1] : undefined;
      return "";
    }
    return fence === undefined ? line : "";
  });
}

/** `[text](target)` and `![alt](target)` targets of one page, with their line numbers. */
export function links(text: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  prose(text).forEach((line, i) => {
    const code = line.replace(/`[^`]*`/g, (s) => " ".repeat(s.length)); // inline code is not a link
    for (const m of code.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ target: m[1], line: i + 1 });
    }
  });
  return out;
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens, -1… on repeats. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1].replace(/<[^>]*>/g, "").toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

Deno.test("docs: anchors are named as GitHub names them", () => {
  const a = anchors(
    "# Hogwild! bench\n## The benchmark: `deno task bench`\n```\n# not a heading\n```\n## Time\n## Time\n",
  );
  assert.deepEqual([...a], ["hogwild-bench", "the-benchmark-deno-task-bench", "time", "time-1"]);
  assert.deepEqual(links("see [a](docs/x.md#y) and ![b](../p.png)\n```\n[c](nowhere.md)\n```\n`[d](e.md)`"), [
    { target: "docs/x.md#y", line: 1 },
    { target: "../p.png", line: 1 },
  ]);
});

Deno.test("docs: every relative link in README.md and docs/*.md resolves inside the repository", () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const { target, line } of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
      const where = `${page}:${line}: ${target}`;
      const [path, fragment] = target.split("#", 2);
      const file = path === "" ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURIComponent(path));
      const rel = relative(ROOT, file);
      if (rel.startsWith("..") || rel.startsWith(sep) || resolve(ROOT, rel) !== file) {
        problems.push(`${where} points outside the repository`);
        continue;
      }
      if (!existsSync(file)) {
        problems.push(`${where}: no such file`);
        continue;
      }
      if (fragment !== undefined && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(fragment)) {
        problems.push(`${where}: no heading "#${fragment}" in ${rel}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("docs: every page of docs/ is linked from the README", () => {
  const readme = links(readFileSync(join(ROOT, "README.md"), "utf8")).map((l) => l.target.split("#")[0]);
  assert.deepEqual(DOCS.filter((d) => !readme.includes(d)), []);
});

Deno.test("docs: judge.md's rubric version is the one the code gives judge.txt, and its formula says what is hashed", () => {
  const text = readFileSync(join(ROOT, "docs/judge.md"), "utf8");
  const { version } = loadJudgeTemplate();
  assert.ok(text.includes(`\`${version}\``), `docs/judge.md should name the rubric's version ${version}`);
  assert.match(text, /TRANSCRIPT_RULE/, "the version hashes the transcript rule before the text");
});

Deno.test("docs: run-files.md's methods_version row says what each version of every family changed", () => {
  const row = readFileSync(join(ROOT, "docs/run-files.md"), "utf8").split("\n").find((l) =>
    l.startsWith("| `methods_version` |")
  )!;
  const names = familyNames();
  const versions = familyVersions(names.map((family) => ({ family }) as Method));
  const missing: string[] = [];
  for (const [family, version] of Object.entries(versions)) {
    // the family's part of the row: from "`family` 2:" to the next family's "`other` 2:"
    const from = row.indexOf(`\`${family}\` 2:`);
    const next = names.map((n) => row.indexOf(`\`${n}\` 2:`, from + 1)).filter((i) => i > from);
    const part = from < 0 ? "" : row.slice(from, next.length ? Math.min(...next) : undefined);
    for (let v = 2; v <= version; v++) if (!part.includes(` ${v}:`)) missing.push(`${family} ${v}`);
    if (part.includes(` ${version + 1}:`)) missing.push(`${family} ${version + 1} (the code is at ${version})`);
  }
  assert.deepEqual(missing, []);
});

Deno.test("docs: votes group answers by voteKey, the grader's text normalisation, not as the grader reads them", () => {
  // 0.5 and \frac12: one answer to the grader, two votes.
  assert.ok(equivalent("0.5", "\\frac12", "strict") && voteKey("0.5", "single") !== voteKey("\\frac12", "single"));
  const said = PAGES.flatMap((page) =>
    readFileSync(join(ROOT, page), "utf8").split("\n").flatMap((l, i, all) =>
      /grader reads(?: them)? alike/.test(`${all[i - 1] ?? ""} ${l}`) ? [`${page}:${i + 1}`] : []
    )
  );
  assert.deepEqual(said, []);
});

/**
 * The `deno task bench` commands of the pages' shell blocks, as a shell would read them: lines joined at a
 * trailing backslash, comments dropped, `NAME="…"` and `for NAME in …; do` (one command per value) expanded.
 */
function benchCommands(text: string): { args: string[]; line: number; label: string }[] {
  const out: { args: string[]; line: number; label: string }[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const at = text.slice(0, block.index).split("\n").length + 1, vars = new Map<string, string[]>();
    // a continued line is joined to the one it continues, and keeps its place (empty) in the count
    const lines: string[] = [], labels: string[] = [];
    let open = -1, label = "", comment = false;
    for (const raw of block[1].split("\n")) {
      // the comment above a command says what it is (its lines joined)
      const was = comment;
      comment = /^\s*#/.test(raw);
      if (comment) label = was ? `${label} ${raw.trim()}` : raw.trim();
      labels.push(label);
      const l = raw.replace(/(^|\s)#.*$/, "").trim(), more = l.endsWith("\\"), text = more ? l.slice(0, -1) : l;
      if (open >= 0) lines[open] += ` ${text}`, lines.push("");
      else lines.push(text);
      open = more ? (open >= 0 ? open : lines.length - 1) : -1;
    }
    lines.forEach((l, i) => {
      const set = /^(\w+)="([^"]*)"$/.exec(l), loop = /^for (\w+) in (.*); do$/.exec(l);
      if (set) vars.set(set[1], [set[2]]);
      if (loop) vars.set(loop[1], loop[2].split(/\s+/));
      if (!l.startsWith("deno task bench ") || l.includes("…")) return; // a sketch of a command, not one
      let commands = [l.slice("deno task bench ".length)];
      for (const [name, values] of vars) {
        commands = commands.flatMap((c) =>
          c.includes(`$${name}`) || c.includes(`\${${name}`)
            ? values.map((v) => c.replace(new RegExp(`\\$\\{${name}[^}]*\\}`, "g"), "x").replaceAll(`$${name}`, v))
            : [c]
        );
      }
      for (const c of commands) out.push({ args: c.split(/\s+/).filter(Boolean), line: at + i, label: labels[i] });
    });
  }
  return out;
}

Deno.test("docs: every bench command for a model of known context passes the bench's check of its positions before any pass, or gives --allow-long-context", () => {
  // each model's own max_position_embeddings, as its random: shape of the same checkpoint carries it
  const limits: Record<string, string> = { "Qwen/QwQ-32B": "random:qwq-32b", "Qwen/Qwen3-8B": "random:qwen3-8b" };
  const tok = TextTokenizer.qwen3(),
    generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  let checked = 0;
  const refused: string[] = [];
  for (const page of PAGES) {
    for (const { args, line } of benchCommands(readFileSync(join(ROOT, page), "utf8"))) {
      const spec = parseBenchSpec(args), shape = spec && limits[spec.model];
      if (!spec || !shape) continue; // --help, or a model whose context this test does not know
      checked++;
      const problem = { task: spec.tasks[0], id: "short", text: "What is 1 + 1?" } as unknown as Problem;
      try {
        checkContext({
          methods: spec.methods,
          problems: [problem],
          budget: Math.max(...spec.budgets),
          limit: localConfig(shape).maxPositions,
          limitFrom: "its real checkpoint's",
          allowed: spec.allowLongContext === true,
          tokens: (t) => tok.encode(t).length,
          bound: (p, m) =>
            minPositions(parseMethod(m), p.text, {
              tokenizer: tok,
              generation,
              budgets: spec.budgets,
              finisherTokens: 16,
            }),
        });
      } catch (e) {
        refused.push(`${page}:${line}: ${(e as Error).message}`);
      }
    }
  }
  assert.ok(checked >= 9, `${checked} commands checked: the figure commands are not read`);
  assert.deepEqual(refused, []);
});

Deno.test("docs: each paper figure the commands name is run on that figure's tasks and models, every task of it", () => {
  // the paper's figures as its v4 draws them: tasks, and the models of their panels
  const qwq = "Qwen/QwQ-32B", phi = "microsoft/Phi-4-reasoning-plus";
  const qwen3 = (sizes: string[]) => sizes.map((s) => `Qwen/Qwen3-${s}`);
  const FIGURES: Record<string, { tasks: string[]; models: string[] }> = {
    "3": { tasks: ["gsm8k-x5", "limo"], models: [qwq] },
    "4": { tasks: ["limo"], models: [qwq, phi, ...qwen3(["1.7B", "4B", "8B", "14B", "32B", "235B-A22B"])] },
    "5": { tasks: ["olympiadbench", "olympiadbench-physics"], models: [qwq, ...qwen3(["14B", "8B"])] },
    "6": { tasks: ["lcb", "aime25"], models: [qwq, phi, ...qwen3(["8B", "235B-A22B"]), "deepseek-ai/DeepSeek-R1"] },
    "10": { tasks: ["limo"], models: [qwq] },
  };
  const wrong: string[] = [], seen = new Map<string, Set<string>>();
  for (const { args, line, label } of benchCommands(readFileSync(join(ROOT, "docs/benchmark.md"), "utf8"))) {
    const spec = parseBenchSpec(args)!;
    for (const [, n] of label.matchAll(/Fig\. (\d+)/g)) {
      const f = FIGURES[n];
      if (!f) wrong.push(`docs/benchmark.md:${line}: Fig. ${n} is not in this test's list`);
      else if (!spec.tasks.every((t) => f.tasks.includes(t)) || !f.models.includes(spec.model)) {
        wrong.push(`docs/benchmark.md:${line}: Fig. ${n} is ${f.tasks.join(", ")} on ${f.models.join(", ")}`);
      }
      for (const t of spec.tasks) seen.set(n, (seen.get(n) ?? new Set()).add(t));
    }
  }
  for (const [n, f] of Object.entries(FIGURES)) {
    const missing = f.tasks.filter((t) => !seen.get(n)?.has(t));
    if (missing.length) wrong.push(`Fig. ${n}: no command for ${missing.join(", ")}`);
  }
  assert.deepEqual(wrong, []);
});

Deno.test("docs: the paper's-plots section says the protocol texts are the project's own words, and how to load one's own with flags the bench takes", () => {
  const text = readFileSync(join(ROOT, "docs/benchmark.md"), "utf8");
  const from = text.indexOf("## Reproducing the paper's plots"), to = text.indexOf("\n## ", from + 1);
  const section = prose(text.slice(from, to < 0 ? undefined : to)).join(" ").replace(/\s+/g, " ");
  assert.match(section, /the project's own words, not the paper's/);
  assert.match(section, /may differ .* for that reason alone/);
  for (const said of ["headers", "redundancy check", "finisher suffix", "collaboration prompt"]) {
    assert.ok(section.includes(said), `the section names the ${said}`);
  }
  const flags = [...section.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]);
  for (const flag of ["--protocol", "--collab-prompt", "--plain-prompt"]) assert.ok(flags.includes(flag), flag);
  assert.deepEqual(flags.filter((f) => !HELP.includes(`${f} `)), [], "every flag it names is the bench's");
});

Deno.test("docs: engine.md's list of random: shapes is every architecture's, and the README's model table names each", () => {
  const shapes = ARCHITECTURES.flatMap((a) => Object.keys(a.shapes)).sort();
  const engine = prose(readFileSync(join(ROOT, "docs/engine.md"), "utf8")).join(" ").replace(/\s+/g, " ");
  const list = engine.match(/`random:SHAPE` \(([^)]*)\)/);
  assert.ok(list, "engine.md lists the random: shapes after `random:SHAPE` (…)");
  assert.deepEqual([...list[1].matchAll(/`([a-z0-9.-]+)`/g)].map((m) => m[1]).sort(), shapes);
  // the README's model table: its last column, each row its architecture's shapes
  const readme = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  for (const a of ARCHITECTURES) {
    const type = Object.keys(a.modelTypes)[0];
    const row = readme.find((l) => l.startsWith(`| \`${type}\` |`));
    assert.ok(row, `the README's model table has a row for ${type}`);
    const named = [...row.split("|").at(-2)!.matchAll(/`([a-z0-9.-]+)`/g)].map((m) => m[1]).sort();
    assert.deepEqual(named, Object.keys(a.shapes).sort(), `the README's ${type} row`);
  }
});
