/**
 * deno task device:prepare: fills what tools/device-check.sh needs on a GPU machine (which has no node):
 * the recordings (tools/make-recordings.ts, into OUT/recordings and OUT/timing), then the kit
 * (tools/device-kit.ts: this Deno binary, the npm packages, the Node-API headers, the evaluation sets of
 * --data-dir), then says the two device calls that carry it, with their sizes against the 64 MiB a call may
 * carry. Its flags are read, and checked, before anything starts, so that `--help` or a bad flag costs nothing.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { shapeConfig } from "../engine/shapes.ts";

const root = new URL("..", import.meta.url).pathname;

const USAGE = `usage: deno task device:prepare (--data-dir DIR | --no-data) [--perf-shape NAME] [--no-deno] [--xz N]
  --data-dir DIR     copy the evaluation sets the device bench reads (DIR/olympiadbench) into the kit
  --no-data          none: the bench section cannot run (the second call runs perf alone)
  --perf-shape NAME  the random:NAME shape of the timing recordings (default qwq-32b)
  --no-deno          leave this Deno binary out of the kit: bench and perf cannot run (one call, correctness)
It all goes to this checkout's .device, where tools/device-check.sh reads it (a device call carries paths inside
the checkout only).
  --xz N             xz's compression level, 0-9 (default 9)
On 2 CPU cores: the recordings about 25 s, then the kit, which xz packs the first time in 3-5 minutes and
later only where the npm packages or Deno changed (seconds). Then it prints the two device calls that run
tools/device-check.sh (what each carries, and its size with the tree).`;

/** A device call carries the tree and its carried paths: at most 64 MiB. */
const CALL_LIMIT = 64 * 2 ** 20;

/** The bytes of the files under `path` (a file or a folder). */
function bytesUnder(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((a, f) => a + bytesUnder(join(path, f)), 0);
}

/** What every device call sends besides its carried paths: the files git tracks, and untracked ones it does not ignore. */
async function treeBytes(): Promise<number> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: root,
    stdout: "piped",
  }).output();
  check(out.success, `git ls-files in ${root}: exit code ${out.code}`);
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f).reduce(
    (a, f) => a + bytesUnder(join(root, f)),
    0,
  );
}

/** What each section of tools/device-check.sh reads (entries of .device). */
const NEEDS: Record<string, readonly string[]> = {
  correctness: ["recordings", "node-api"],
  bench: ["deno.xz", "node_modules.tar.xz", "node-api", "data"],
  perf: ["deno.xz", "node_modules.tar.xz", "node-api", "timing"],
};
/** The kit's entries that a flag leaves out. */
const LEFT_OUT = { "--no-data": "data", "--no-deno": "deno.xz" } as const;

/**
 * The device check's calls for a kit made with or without the data and Deno: the SECTIONS each runs (the whole
 * kit is over one call's 64 MiB, so two calls) and what it carries, then a line for each section the kit cannot
 * run, naming the flag. Written here only: the script's header, docs/engine.md and a test (each section finds
 * what it needs) follow it.
 */
export function deviceCalls(flags: { "no-data"?: boolean; "no-deno"?: boolean } = {}) {
  const missing = Object.entries(LEFT_OUT).filter(([flag]) => flags[flag.slice(2) as "no-data" | "no-deno"]);
  const calls: [sections: string, carry: string[]][] = [], notes: string[] = [];
  for (const group of [["correctness"], ["bench", "perf"]]) {
    const runs = group.filter((section) => {
      const why = missing.filter(([, entry]) => NEEDS[section].includes(entry)).map(([f, e]) => `${f} left ${e} out`);
      if (why.length) notes.push(`no ${section} section: ${why.join(", ")}`);
      return !why.length;
    });
    if (runs.length) calls.push([runs.join(" "), [...new Set(runs.flatMap((r) => NEEDS[r]))]]);
  }
  return { calls, notes };
}

/**
 * A call's command. LEFT: the seconds the call may run, which a device call's limit does not fix (it is the
 * device time left, which the machine's start, idle time and close use too): the script ends its steps 60 s
 * before it (DEADLINE) and starts no optional part past two thirds of that (TIME_BUDGET).
 */
export function callCommand(sections: string): string {
  return `CALL_LIMIT=LEFT SECTIONS="${sections}" tools/device-check.sh`;
}

/** The calls of the device check, each with what it carries and its size; refused when one would not travel. */
async function calls(out: string, flags: Parameters<typeof deviceCalls>[0]) {
  const tree = await treeBytes(), rel = (p: string) => relative(root, join(out, p));
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const { calls, notes } = deviceCalls(flags);
  let over = false;
  console.log(
    `the device check, ${calls.length > 1 ? "calls made back to back" : "one call"} (the tree: ${mib(tree)} MiB); ` +
      `LEFT: the device tool's budget_left_s (its status) just before the call, less ~120 s where no machine is ` +
      `warm (its start), at most 600:`,
  );
  for (const [sections, carry] of calls) {
    const total = tree + carry.reduce((a, p) => a + bytesUnder(join(out, p)), 0);
    over ||= total > CALL_LIMIT;
    console.log(
      `  ${mib(total)} MiB  ${callCommand(sections)}   carry ${JSON.stringify(carry.map(rel))}`,
    );
  }
  for (const note of notes) console.log(`  (${note})`);
  check(!over, `a call above is over the ${mib(CALL_LIMIT)} MiB a device call carries: the tree has grown, or the kit`);
}

async function run(script: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, script), ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const { code } = await child.status;
  // the script has said why on stderr
  if (code !== 0) Deno.exit(code);
}

async function main() {
  const { values: f } = parseFlags({
    "perf-shape": { type: "string", default: "qwq-32b" },
    "no-deno": { type: "boolean" },
    "data-dir": { type: "string" },
    "no-data": { type: "boolean" },
    xz: { type: "string", default: "9" },
  }, USAGE);
  check(f["data-dir"] === undefined || !f["no-data"], "--data-dir and --no-data: give one, not both");
  check(
    f["data-dir"] !== undefined || f["no-data"],
    "--data-dir DIR: the evaluation sets the device bench reads (DIR/olympiadbench); --no-data to go without",
  );
  parseInteger(f.xz, "--xz", 0, 9), shapeConfig(f["perf-shape"]); // bad values: before the 25 s of recordings
  const out = join(root, ".device");
  await run("tools/make-recordings.ts", [
    "--out",
    join(out, "recordings"),
    "--timing-out",
    join(out, "timing"),
    "--perf-shape",
    f["perf-shape"],
  ]);
  await run("tools/device-kit.ts", [
    "--out",
    out,
    "--xz",
    f.xz,
    ...(f["no-deno"] ? ["--no-deno"] : []),
    ...(f["data-dir"] === undefined ? [] : ["--data-dir", f["data-dir"]]),
  ]);
  await calls(out, f);
}

if (import.meta.main) runMain(main);
