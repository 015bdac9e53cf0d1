/**
 * deno task mutants: each mutant of tests/mutants/table.ts applied in a copy of the tree, its test run there.
 * Prints a table (mutant, claim, test, result, expected, seconds) and exits 1 when a result is not the one
 * expected: a mutant missed that should be caught, a known miss now caught (update the table), a patch that
 * no longer applies, a native build that fails, or a test that does not pass on the unmutated copy.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../../engine/errors.ts";
import { DATA_DIR } from "../helpers.ts";
import { type Mutant, MUTANTS } from "./table.ts";

const USAGE = `usage: deno task mutants [NAME…] [--list] [--no-baseline] [--timeout-s 1200] [--work DIR]
Applies each mutant of tests/mutants/table.ts (or those named) in a copy of this tree and runs the test it
names; caught = that test fails. The copy (git's tracked and untracked-not-ignored files, node_modules linked,
the native library copied, or built there once a native mutant needs it) is kept in --work (default: one folder
per tree under the system's temporary folder), so later runs rebuild only what changed. First, unless
--no-baseline, each test runs on the unmutated copy and must pass. Exit 1 when any result differs from the
table's expectation (missed where it should be caught, a known miss now caught, a patch that no longer
applies, a native build that fails, a test failing unmutated); 2 for bad flags.`;

// the project's one flag reader: --help prints the usage; a bad flag is one line and exit 2
let parsed;
try {
  parsed = parseFlags(
    {
      list: { type: "boolean" },
      "no-baseline": { type: "boolean" },
      "timeout-s": { type: "string", default: "1200" },
      work: { type: "string" },
    },
    USAGE,
    Deno.args,
    true,
  );
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(2);
}
const { values: f, positionals } = parsed;
const timeoutS = Number(f["timeout-s"]);
if (!/^\d+$/.test(f["timeout-s"]!) || timeoutS < 1) {
  console.error(`error: --timeout-s ${f["timeout-s"]}: expected a positive integer of seconds`);
  Deno.exit(2);
}
const unknown = positionals.filter((n) => !MUTANTS.some((m) => m.name === n));
if (unknown.length) {
  console.error(`error: no mutant named ${unknown.map((n) => JSON.stringify(n)).join(", ")} (--list names them)`);
  Deno.exit(2);
}
const chosen = positionals.length ? MUTANTS.filter((m) => positionals.includes(m.name)) : MUTANTS;
if (f.list) {
  for (const m of chosen) console.log(`${m.name}\t${m.claim}\t${m.test}${m.filter ? ` --filter ${m.filter}` : ""}`);
  Deno.exit(0);
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NATIVE = /\.(cc|cu|cuh|h|txt)$/; // sources of the native library (CMakeLists.txt included)
const TEST_FLAGS = ["--allow-read", "--allow-write", "--allow-ffi", "--allow-env", "--allow-run", "--allow-sys"];

// ---------- the copy ----------

// Kept between runs (outside the tree, so that no tool of the tree reads it), so that the native library, once
// configured there, rebuilds only the files a mutant touches; a file is rewritten only when its bytes changed.
const work = f.work ?? join(tmpdir(), "hogwild-mutants", createHash("sha256").update(ROOT).digest("hex").slice(0, 12));
mkdirSync(work, { recursive: true });
const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" })
  .split("\0").filter((p) => p !== "" && existsSync(join(ROOT, p)));
const manifest = join(work, ".mutants-files");
const listed = new Set(files);
for (const old of existsSync(manifest) ? readFileSync(manifest, "utf8").split("\n") : []) {
  if (old && !listed.has(old)) rmSync(join(work, old), { force: true });
}
let changed = 0;
for (const p of files) {
  const from = join(ROOT, p), to = join(work, p);
  mkdirSync(dirname(to), { recursive: true });
  if (lstatSync(from).isSymbolicLink()) {
    rmSync(to, { force: true });
    symlinkSync(readlinkSync(from), to);
  } else if (!existsSync(to) || !readFileSync(from).equals(readFileSync(to))) {
    copyFileSync(from, to);
    changed++;
  }
}
writeFileSync(manifest, files.join("\n"));
// What `deno task test` needs beyond the sources: the npm packages (read only) and the built native library.
if (!existsSync(join(work, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(work, "node_modules"));
const configured = existsSync(join(work, "cuda/build/CMakeCache.txt"));
if (!configured) {
  // Until a native mutant configures a build here, the tree's own build serves the TypeScript mutants.
  for (const built of ["cuda/build/Release/hogwild.node", "cuda/build/hogwild-replay"]) {
    if (!existsSync(join(ROOT, built))) {
      console.error(`error: ${built} is not built: run \`deno task build\` first`);
      Deno.exit(2);
    }
    mkdirSync(dirname(join(work, built)), { recursive: true });
    copyFileSync(join(ROOT, built), join(work, built));
  }
  Deno.chmodSync(join(work, "cuda/build/hogwild-replay"), 0o755);
}
console.log(`mutants: the tree copied to ${work} (${files.length} files, ${changed} rewritten)`);

/** Builds the native library in the copy (configured there the first time: minutes; then what changed). */
function buildNative(): boolean {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cuda/build.ts"],
    cwd: work,
    // the tests run on the CPU: no CUDA kernels to compile (nvcc would take many minutes)
    env: { HOGWILD_CUDA: "OFF" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (r.code !== 0) console.log(new TextDecoder().decode(r.stderr).split("\n").slice(-15).join("\n"));
  return r.code === 0;
}
if (configured && !buildNative()) {
  console.error(`error: the native library does not build in ${work}`);
  Deno.exit(1);
}
let nativeDirty = false;

async function runTest(
  test: string,
  filter?: string,
): Promise<{ code: number; seconds: number; out: string; ran: boolean }> {
  const args = [
    "test",
    ...TEST_FLAGS,
    "--allow-net=127.0.0.1,localhost",
    test,
    ...(filter ? ["--filter", filter] : []),
  ];
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: work,
    env: { HOGWILD_DATA_DIR: DATA_DIR, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
  const r = await child.output();
  clearTimeout(timer);
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  // "ok | 0 passed | 0 failed": a filter or a skip left nothing to run, which must not read as "missed"
  const summary = /(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed/.exec(out);
  const ran = !summary || Number(summary[1]) + Number(summary[2]) > 0;
  return { code: r.success ? 0 : r.code || 1, seconds: (performance.now() - t0) / 1000, out, ran };
}

// ---------- the baseline: every test (with its mutants' filters) passes on the unmutated copy ----------

const rows: string[][] = [];
let unexpected = 0;
if (!f["no-baseline"]) {
  const byTest = Map.groupBy(chosen, (m) => m.test);
  for (const [test, ms] of byTest) {
    const filters = ms.map((m) => m.filter);
    const filter = filters.some((x) => x === undefined)
      ? undefined
      : `/${[...new Set(filters)].map((x) => x!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")}/`;
    const r = await runTest(test, filter);
    const ok = r.code === 0 && r.ran;
    console.log(
      `baseline ${test}${filter ? ` --filter ${filter}` : ""}: ${ok ? "passes" : "FAILS"} (${r.seconds.toFixed(0)} s)`,
    );
    if (!ok) {
      console.log(r.out.split("\n").slice(-30).join("\n"));
      rows.push(["(baseline)", "", test, r.ran ? "fails unmutated" : "no test ran", "passes", r.seconds.toFixed(0)]);
      unexpected++;
    }
  }
}

// ---------- the mutants ----------

for (const m of chosen) {
  const expected = m.knownMiss ? "missed" : "caught";
  const originals = new Map<string, string>();
  let result: string;
  let seconds = 0;
  const applied = apply(m, originals);
  if (applied !== undefined) result = `patch no longer applies: ${applied}`;
  else {
    const native = [...originals.keys()].some((p) => NATIVE.test(p));
    if ((native || nativeDirty) && !buildNative()) result = "native build failed";
    else {
      nativeDirty = native;
      const r = await runTest(m.test, m.filter);
      seconds = r.seconds;
      result = !r.ran ? "no test ran" : r.code !== 0 ? "caught" : "missed";
    }
  }
  for (const [p, text] of originals) writeFileSync(join(work, p), text);
  const ok = result === expected;
  if (!ok) unexpected++;
  const note = m.knownMiss && result === "missed" ? "missed (known: issue 31)" : result;
  rows.push([m.name, m.claim, m.test + (m.filter ? ` ~ ${m.filter}` : ""), note, expected, seconds.toFixed(0)]);
  console.log(`${ok ? "  " : "! "}${m.name}: ${note} (${seconds.toFixed(0)} s)`);
}

/** Applies a mutant's edits in the copy, keeping the originals; a snippet not found exactly once is returned. */
function apply(m: Mutant, originals: Map<string, string>): string | undefined {
  for (const e of m.edits) {
    const path = join(work, e.file);
    if (!existsSync(path)) return `${e.file} is gone`;
    const text = readFileSync(path, "utf8");
    if (!originals.has(e.file)) originals.set(e.file, text);
    const n = text.split(e.find).length - 1;
    if (n !== 1) return `${e.file}: the snippet occurs ${n} times: ${JSON.stringify(e.find.trim().slice(0, 60))}`;
    writeFileSync(path, text.replace(e.find, () => e.replace));
  }
  return undefined;
}

// ---------- the table ----------

const head = ["mutant", "claim", "test", "result", "expected", "s"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(["", line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n"));
const caught = rows.filter((r) => r[3] === "caught").length;
console.log(
  `\n${chosen.length} mutants: ${caught} caught, ${rows.filter((r) => r[3].startsWith("missed")).length} missed; ` +
    `${unexpected} unexpected result${unexpected === 1 ? "" : "s"}`,
);
Deno.exit(unexpected ? 1 : 0);
