/**
 * deno task build: compiles the native library with cmake-js (Node-API mode, nothing downloaded).
 * Its log goes to stderr so that commands that depend on the build keep stdout for their JSON.
 * HOGWILD_CUDA=OFF builds without CUDA, ON with it; the choice is remembered (the build folder's CMake cache), so
 * that a CPU-only build stays one until asked otherwise; a change of it reconfigures from scratch.
 */
import { existsSync, readFileSync } from "node:fs";
import { check, parseFlags, runMain } from "../engine/errors.ts";

const USAGE = `usage: deno task build | deno task build:cpu   (build:cpu: without CUDA, as HOGWILD_CUDA=OFF)
Compiles the native library into cuda/build: the core, its Node-API addon and hogwild-replay, and the CUDA
kernels (sm_80, sm_90) whenever nvcc is found. The choice sticks: after build:cpu every build (and every task
that builds first) stays CPU-only until HOGWILD_CUDA=ON deno task build. The first build takes minutes (longer
with nvcc); one with nothing to do about 2 s, printing nothing. The tasks that run the native core build first. Log: cuda/build/build.log.`;
/** With CUDA or not: HOGWILD_CUDA when set, else the choice the build folder was configured with, else ON. */
export function cudaChoice(
  env: string | undefined,
  configured: string | undefined,
): "ON" | "OFF" {
  const v = (env ?? configured ?? "ON").toUpperCase();
  check(
    v === "ON" || v === "OFF",
    `HOGWILD_CUDA: expected ON or OFF, got "${env}"`,
  );
  return v;
}

if (import.meta.main) await build();

async function build() {
  // --help, or a flag or argument it does not take: answered before anything starts.
  await runMain(() => void parseFlags({}, USAGE));

  const dir = new URL(".", import.meta.url).pathname;
  const cacheFile = `${dir}build/CMakeCache.txt`;
  const configured = existsSync(cacheFile)
    ? /HOGWILD_CUDA:BOOL=(\w+)/.exec(readFileSync(cacheFile, "utf8"))?.[1]
    : undefined;
  let cuda: "ON" | "OFF" = "ON";
  await runMain(() => void (cuda = cudaChoice(Deno.env.get("HOGWILD_CUDA"), configured)));
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
    ],
    stdout: "piped",
    stderr: "piped",
  });
  // cmake-js and the compilers talk a lot: their output goes to a log; a build with nothing to do prints nothing,
  // a real one a line when it starts and one when it ends, a failed one the log's tail.
  const log: string[] = [];
  let started = false;
  const t0 = performance.now();
  const child = cmd.spawn();
  const collect = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      for (const line of chunk.split("\n")) {
        log.push(line);
        // a compile step as ninja says it ([3/12]) or make ([ 25%]: cmake's generator without ninja)
        if (!started && /^\[(\d+\/\d+|\s*\d+%)\] /.test(line)) {
          started = true;
          console.error(
            `build: compiling the native library (cuda/build; the first time takes minutes with CUDA)…`,
          );
        }
      }
    }
  };
  await Promise.all([collect(child.stdout), collect(child.stderr)]);
  const { code } = await child.status;
  Deno.mkdirSync(`${dir}build`, { recursive: true });
  Deno.writeTextFileSync(`${dir}build/build.log`, log.join("\n"));
  if (code !== 0) {
    console.error(log.filter((l) => l.trim()).slice(-40).join("\n"));
    console.error(
      `build: failed (exit ${code}); the whole log is in cuda/build/build.log`,
    );
  } else if (started) {
    console.error(
      `build: done in ${((performance.now() - t0) / 1000).toFixed(0)} s (log: cuda/build/build.log)`,
    );
  }
  Deno.exit(code);
}
