/**
 * The folders are the architecture: data flows one way, down this list of rooms, and no command imports
 * another (the tools, scripts over the commands, may drive them). Each import of every source file is checked against it (type-only imports too: a type is a
 * dependency), so that a shortcut upward fails here, naming the file and the import.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Rooms from the bottom up: a file may import from its own room and from rooms below it, never above or beside. */
const LAYERS: string[][] = [
  ["engine", "harness/reference"],
  ["tasks"],
  ["harness/generation"],
  ["harness/bench"],
  ["harness/report"],
  ["harness/judge", "harness/viewer"],
  ["harness/perf"], // it times every room below it, the viewer too
  ["cli"],
  ["tools"],
];

export function roomOf(path: string): string | undefined {
  return LAYERS.flat().filter((r) => path === r || path.startsWith(r + "/")).sort((a, b) => b.length - a.length)[0];
}

const rank = (room: string) => LAYERS.findIndex((l) => l.includes(room));

/** Every relative import of a source text: static, type-only, re-exports, dynamic import("…") and a module loaded
 * by URL (`new URL("./pool_worker.ts", import.meta.url)`, a worker's code). Comments are dropped first: an
 * apostrophe or semicolon in a comment inside an import's braces would otherwise hide the import. */
export function importsOf(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g)]
    .concat([...text.matchAll(/\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)])
    .concat([...text.matchAll(/(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']/g)])
    .concat([...text.matchAll(/\bnew\s+URL\s*\(\s*["'](\.{1,2}\/[^"']+\.[jt]s)["']\s*,\s*import\.meta\.url/g)]);
  return found.map((m) => m[1]);
}

/** Why `file` may not import `target` (both relative to the root), or undefined when it may. */
export function violation(file: string, target: string): string | undefined {
  const from = roomOf(file), to = roomOf(target);
  // A file in no room (harness/x.ts, beside the rooms) would be a door every way; tests/ and cuda/ are no room a
  // source may lean on, but the tools, scripts over everything, may use the tests' helpers.
  if (from === undefined) return `${file} is in no room (${LAYERS.flat().join(", ")})`;
  if (to === undefined) return from === "tools" && target.startsWith("tests/") ? undefined : `${target} is in no room`;
  if (from === to) return undefined;
  if (from === "cli" || from === "tools" || to !== "cli") {
    if (rank(to) < rank(from)) return undefined;
    return `${from} may not import ${to} (${rank(to) === rank(from) ? "a room beside it" : "a room above it"})`;
  }
  return `${from} may not import a command`;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "build" ? [] : sources(p);
    return /\.ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

Deno.test("every import goes down the rooms: none upward, none beside, no command importing another", () => {
  const bad: string[] = [];
  let checked = 0;
  for (const file of LAYERS.flat().filter((r) => !r.includes("/")).concat(["harness"]).flatMap(sources)) {
    for (const spec of importsOf(readFileSync(join(ROOT, file), "utf8"))) {
      const target = relative(ROOT, normalize(join(ROOT, dirname(file), spec)));
      const why = file.startsWith("cli/") && target.startsWith("cli/")
        ? "a command imports another"
        : violation(file, target);
      checked++;
      if (why) bad.push(`${file}: import "${spec}": ${why}`);
    }
  }
  assert.ok(checked > 300, `only ${checked} imports found: the scan is broken`);
  assert.deepEqual(bad, []);
});

Deno.test("the room check itself: upward, beside and command imports are refused; downward and own-room ones pass", () => {
  assert.equal(violation("harness/bench/spec.ts", "harness/generation/methods.ts"), undefined);
  assert.equal(violation("harness/generation/run.ts", "harness/generation/solver.ts"), undefined);
  assert.equal(violation("tasks/code/lcb.ts", "tasks/texts.ts"), undefined);
  assert.match(violation("harness/generation/methods.ts", "harness/bench/spec.ts")!, /above/);
  assert.match(violation("harness/report/report.ts", "harness/perf/engine.ts")!, /above/);
  assert.match(violation("harness/judge/local.ts", "harness/viewer/runs.ts")!, /beside/);
  assert.match(violation("engine/model.ts", "tasks/problem.ts")!, /above/);
  assert.match(violation("harness/report/report.ts", "cli/compare.ts")!, /command/);
  assert.match(violation("harness/judge/local.ts", "cli/judge.ts")!, /command/);
  assert.equal(violation("tools/demo-model/control.ts", "cli/bench.ts"), undefined, "a tool may drive a command");
  assert.equal(
    violation("tools/make-recordings.ts", "tests/helpers.ts"),
    undefined,
    "a tool may use the tests' helpers",
  );
  assert.match(violation("engine/model.ts", "tests/helpers.ts")!, /no room/);
  assert.match(violation("harness/common.ts", "engine/model.ts")!, /no room/);
  assert.match(violation("engine/model.ts", "harness/common.ts")!, /no room/);
  assert.deepEqual(
    importsOf(
      'import type { A } from "../a.ts";\nexport { b } from "./b.ts";\nawait import("../../c.ts");\n' +
        'import {\n  d, // the run\'s; one\n  /* e\'s */ e,\n} from "../d.ts";\nnew Worker(new URL("./w.ts", import.meta.url).href);\n' +
        'const u = "https://x.org/"; // import { f } from "../f.ts";',
    ),
    ["../a.ts", "./b.ts", "../d.ts", "../../c.ts", "./w.ts"],
  );
});

/** Deno's own rule for what `deno test tests/` runs: test.ts, or names ending in _test.ts or .test.ts. */
const RUN_BY_DENO = /(^|[_.])test\.(ts|tsx|mts|js|mjs|jsx)$/;

Deno.test("every file under tests/ that declares tests is one `deno test` runs (a misnamed one would never run)", () => {
  const files = [...walkFiles(new URL("./", import.meta.url).pathname)];
  const declaring = files.filter((f) =>
    /\.(ts|tsx|mts|js|mjs|jsx)$/.test(f) && /\bDeno\.test\(/.test(readFileSync(f, "utf8"))
  );
  const misnamed = declaring.filter((f) => !RUN_BY_DENO.test(basename(f)) && !f.endsWith("/tests/helpers.ts"));
  assert.deepEqual(misnamed, [], "rename them *_test.ts");
  assert.ok(declaring.length > 50, `${declaring.length} files declare tests`);
  // the rule itself: the names deno runs and the near misses it does not
  for (const name of ["a_test.ts", "test.ts", "a.test.tsx"]) assert.ok(RUN_BY_DENO.test(name), name);
  for (const name of ["a-test.ts", "a_tests.ts", "a.spec.ts", "test_a.ts", "atest.ts"]) {
    assert.ok(!RUN_BY_DENO.test(name), name);
  }
});

function* walkFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* walkFiles(join(dir, e.name));
    else yield join(dir, e.name);
  }
}
