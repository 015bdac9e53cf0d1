/**
 * Packs what tools/device-check.sh needs on a GPU machine besides the recordings (those machines have no
 * node, no npm and no network):
 *  - perf.js: harness/perf.ts bundled with its npm packages (`deno bundle`), so that `deno task perf` itself
 *    runs there;
 *  - deno.xz: this Deno binary, xz-compressed (~28 MiB of the 64 MiB a device call may carry); skipped when
 *    the one there is of the same version;
 *  - node-api/: the Node-API headers that cmake-js built the addon with here, so that plain CMake builds the
 *    addon there (-DCMAKE_JS_INC).
 *
 *   deno run -A tools/device-kit.ts [--out .device] [--no-deno]      (after `deno task build`)
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { check, InputError, parseFlags, runMain } from "../engine/errors.ts";

const root = new URL("..", import.meta.url).pathname;

async function run(cmd: string, args: string[], stdout?: string) {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, stdout: stdout ? "piped" : "inherit", stderr: "inherit" }).output();
  } catch (e) {
    throw new InputError(`${cmd}: cannot run it (${(e as Error).message})${cmd === "xz" ? "; install xz-utils" : ""}`);
  }
  check(out.success, `${cmd} ${args.join(" ")}: exit code ${out.code}`);
  if (stdout) writeFileSync(stdout, out.stdout);
}

async function main() {
  const { values } = parseFlags({
    out: { type: "string", default: join(root, ".device") },
    "no-deno": { type: "boolean" },
  }, "deno run -A tools/device-kit.ts [--out DIR] [--no-deno]");
  const out = values.out;
  mkdirSync(out, { recursive: true });

  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "-o",
    join(out, "perf.js"),
    join(root, "harness/perf.ts"),
  ]);

  const cacheFile = join(root, "cuda/build/CMakeCache.txt");
  check(existsSync(cacheFile), `${cacheFile}: not found: run \`deno task build\` first`);
  const inc = /^CMAKE_JS_INC:[A-Z]+=(.*)$/m.exec(readFileSync(cacheFile, "utf8"))?.[1];
  check(inc !== undefined, `${cacheFile}: no CMAKE_JS_INC (the build was not made by cmake-js)`);
  const headers = join(out, "node-api");
  mkdirSync(headers, { recursive: true });
  for (const dir of inc.split(";")) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".h"))) copyFileSync(join(dir, f), join(headers, f));
  }

  if (!values["no-deno"]) {
    const stamp = join(out, "deno.version");
    if (!existsSync(join(out, "deno.xz")) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== Deno.version.deno) {
      await run("xz", ["-T0", "-6", "-c", Deno.execPath()], join(out, "deno.xz"));
      writeFileSync(stamp, Deno.version.deno);
    }
  }
  console.log(
    `device kit in ${out}: perf.js, node-api/${values["no-deno"] ? "" : `, deno.xz (Deno ${Deno.version.deno})`}`,
  );
}

if (import.meta.main) runMain(main);
