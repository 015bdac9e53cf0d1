/**
 * deno task build: compiles the native library with cmake-js (Node-API mode, nothing downloaded).
 * Its log goes to stderr so that commands that depend on the build keep stdout for their JSON.
 * HOGWILD_CUDA=OFF builds without CUDA; a change of that choice reconfigures from scratch.
 */
import { existsSync, readFileSync } from "node:fs";

const dir = new URL(".", import.meta.url).pathname;
const cuda = Deno.env.get("HOGWILD_CUDA") ?? "ON";
const cacheFile = `${dir}build/CMakeCache.txt`;
const configured = existsSync(cacheFile)
  ? /HOGWILD_CUDA:BOOL=(\w+)/.exec(readFileSync(cacheFile, "utf8"))?.[1]
  : undefined;
const verb = configured === undefined || configured === cuda ? "compile" : "rebuild";
const cmd = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "npm:cmake-js@8.0.0",
    verb,
    "-d",
    dir,
    "-O",
    `${dir}build`,
    `--CDHOGWILD_CUDA=${cuda}`,
    ...Deno.args,
  ],
  stdout: "piped",
  stderr: "inherit",
});
const child = cmd.spawn();
await child.stdout.pipeTo(Deno.stderr.writable, { preventClose: true });
Deno.exit((await child.status).code);
