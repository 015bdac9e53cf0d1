/**
 * deno task device:prepare: fills what tools/device-check.sh needs on a GPU machine (which has no node):
 * the recordings (tools/make-recordings.ts, into OUT/recordings and OUT/timing), then the kit
 * (tools/device-kit.ts: this Deno binary, the npm packages, the Node-API headers, the evaluation sets of
 * --data-dir), then says the two device calls that carry it, with their CALL_LIMITs (callLimit: the plan of a
 * session's 15 minutes) and their sizes against the 64 MiB a call may
 * carry. Its flags are read, and checked, before anything starts, so that `--help` or a bad flag costs nothing.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
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
tools/device-check.sh (what each carries, its size with the tree, and its CALL_LIMIT: the plan of a session's
15 minutes, the second call made the moment the first returns).`;

/** A device call carries the tree and its carried paths: at most 64 MiB. */
const CARRY_LIMIT = 64 * 2 ** 20;

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
 * The plan of a session's device time (B: the device tool's budget_left_s before call 1, 900 s when fresh),
 * which counts the machine's start (~120 s where none is warm), every transfer, idle second and the close: call 1
 * (correctness, the checks that matter most) may run B/2 − 90 s; call 2 is made the moment call 1 returns (the
 * machine is held only idle_release_s, 30 s, after a call; a later call starts a fresh one, needing 240 s left,
 * ~120 s of start and a build from scratch) and runs its own B less 45 s (its transfers and the close); one call
 * alone (--no-deno) runs B − 165. Each at most 600 (a command's limit). For a fresh session: 360, then ~340.
 */
export function callLimit(call: number, calls: number, budget: number): number {
  const start = 120, margin = 45, transfers = 20, gap = 15;
  const first = calls === 1 ? budget - start - margin : Math.floor(budget / 2) - 90;
  const limit = call === 0 ? first : budget - start - first - transfers - gap - margin;
  return Math.max(0, Math.min(600, limit));
}
/** How call `call` of `calls` reads its CALL_LIMIT off the device tool's status (B, its budget_left_s), as callLimit. */
const limitRule = (call: number, calls: number) =>
  calls === 1 ? "B − 165" : call === 0 ? "B/2 − 90" : "B − 45, B read the moment call 1 returns";

/**
 * A call's command; `limit` its CALL_LIMIT (callLimit): the seconds the script may run, which ends its steps 20 s
 * before it (DEADLINE) and starts no later part past two thirds of that (TIME_BUDGET).
 */
export function callCommand(sections: string, limit: number | string): string {
  return `CALL_LIMIT=${limit} SECTIONS="${sections}" tools/device-check.sh`;
}

/**
 * What device:prepare prints of the calls: each call's size (the tree's `tree` bytes and its carried entries',
 * `bytes`), command and carry, and how to set its CALL_LIMIT (callLimit); `over`: a call above what one carries.
 */
export function planText(
  tree: number,
  bytes: (entry: string) => number,
  flags: Parameters<typeof deviceCalls>[0] = {},
): { lines: string[]; over: boolean } {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const { calls, notes } = deviceCalls(flags);
  const lines = [
    `the device check (the tree: ${mib(tree)} MiB), ${
      calls.length > 1 ? "two calls, the second made the moment the first returns" : "one call"
    }; before each, read the device tool's status (it costs nothing): B is its budget_left_s. Give each call ` +
    "timeout_s CALL_LIMIT + 30:",
  ];
  let over = false;
  for (const [i, [sections, carry]] of calls.entries()) {
    const total = tree + carry.reduce((a, p) => a + bytes(p), 0);
    over ||= total > CARRY_LIMIT;
    const name = calls.length > 1 ? ["FIRST", "SECOND"][i] : "LEFT";
    lines.push(
      `  ${mib(total)} MiB  ${callCommand(sections, name)}   carry ${JSON.stringify(carry.map((p) => `.device/${p}`))}`,
      `      ${name} = ${limitRule(i, calls.length)}, at most 600: ${callLimit(i, calls.length, 900)} in a fresh ` +
        `session of 900 s${
          i === 1
            ? "; at once: the machine stays warm 30 s after call 1 (idle_release_s), and a fresh one needs 240 s " +
              "left, ~120 s to start and a build from scratch"
            : " (its machine's start, ~120 s, before it)"
        }`,
    );
  }
  for (const note of notes) lines.push(`  (${note})`);
  return { lines, over };
}

/** The calls of the device check, each with what it carries and its size; refused when one would not travel. */
async function calls(out: string, flags: Parameters<typeof deviceCalls>[0]) {
  const { lines, over } = planText(await treeBytes(), (p) => bytesUnder(join(out, p)), flags);
  for (const line of lines) console.log(line);
  check(
    !over,
    `a call above is over the ${CARRY_LIMIT / 2 ** 20} MiB a device call carries: the tree has grown, or the kit`,
  );
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
