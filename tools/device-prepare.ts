/**
 * deno task device:prepare: fills what tools/device-check.sh needs on a GPU machine (which has no node):
 * the recordings (tools/make-recordings.ts, into OUT/recordings), then the kit (tools/device-kit.ts: this
 * Deno binary, the npm packages, the Node-API headers, with --data-dir the evaluation sets). Its flags are
 * read, and checked, before either starts, so that `--help` or a bad flag costs nothing.
 */
import { join } from "node:path";
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { shapeConfig } from "../engine/shapes.ts";

const root = new URL("..", import.meta.url).pathname;

const USAGE = `usage: deno task device:prepare [--out DIR] [--perf-shape NAME] [--no-deno] [--data-dir DIR] [--xz N]
  --out DIR          where it all goes (default .device; the recordings in DIR/recordings)
  --perf-shape NAME  the random:NAME shape of the timing recordings (default qwq-32b)
  --no-deno          leave this Deno binary out of the kit
  --data-dir DIR     copy the evaluation sets the device bench reads (DIR/olympiadbench) into the kit
  --xz N             xz's compression level, 0-9 (default 6)
On 2 CPU cores: the recordings about 25 s, then the kit, which xz packs the first time in 2-4 minutes and
later only where the npm packages or Deno changed (seconds); ~50 MiB in all. Then, on the GPU machine:
tools/device-check.sh (carry the folder).`;

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
  const { values: f, positionals } = parseFlags({
    out: { type: "string", default: join(root, ".device") },
    "perf-shape": { type: "string", default: "qwq-32b" },
    "no-deno": { type: "boolean" },
    "data-dir": { type: "string" },
    xz: { type: "string", default: "6" },
  }, USAGE);
  check(positionals.length === 0, `unexpected argument "${positionals[0]}"; ${USAGE.split("\n")[0]}`);
  parseInteger(f.xz, "--xz", 0, 9), shapeConfig(f["perf-shape"]); // bad values: before the 25 s of recordings
  await run("tools/make-recordings.ts", ["--out", join(f.out, "recordings"), "--perf-shape", f["perf-shape"]]);
  await run("tools/device-kit.ts", [
    "--out",
    f.out,
    "--xz",
    f.xz,
    ...(f["no-deno"] ? ["--no-deno"] : []),
    ...(f["data-dir"] === undefined ? [] : ["--data-dir", f["data-dir"]]),
  ]);
}

if (import.meta.main) runMain(main);
