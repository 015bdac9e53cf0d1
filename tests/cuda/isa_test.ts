/**
 * The CPU engine's arithmetic does not depend on the instruction set it was built for: the core built for
 * AVX2 + FMA (16-float vectors as two 256-bit registers) replays, bit for bit, logits recorded by this
 * machine's build (-march=native, AVX-512 here). Lane-wise sums in a fixed order and trees for the horizontal
 * sums make it so; a compiler reduction or an unfused multiply-add in one build would show here. So a run's
 * tokens are the same on an AVX2 laptop and an AVX-512 server.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelConfig } from "../../engine/config.ts";
import { Engine } from "../../engine/model.ts";
import { parseScript, runScript, scriptTokens } from "../../engine/script.ts";
import { shapeConfig } from "../../engine/shapes.ts";
import { fixtureDir, randomGappedPasses, randomScript, Rng } from "../helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

// through grep: Deno lets only --allow-all read /proc, and the test task does not have it
function cpuFlags(): Set<string> {
  try {
    const out = new Deno.Command("grep", { args: ["-m1", "^flags", "/proc/cpuinfo"], stdout: "piped" }).outputSync();
    const line = new TextDecoder().decode(out.stdout);
    return new Set(line.split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

const flags = cpuFlags();
const cmake = (() => {
  try {
    return new Deno.Command("cmake", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
const why = !flags.has("avx512f")
  ? "this CPU has no AVX-512: its own build is the AVX2 one"
  : !(flags.has("avx2") && flags.has("fma"))
  ? "this CPU has no AVX2 + FMA"
  : !cmake
  ? "cmake is not on PATH"
  : "";
if (why) console.log(`isa_test: skipped: ${why}`);

async function run(cmd: string, args: string[], cwd = ROOT) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, text };
}

/** A recording of `passes` run on `engine`, with its logits. */
function record(engine: Engine, tokens: number, passes: (cache: ReturnType<Engine["newCache"]>) => void): string {
  const cache = engine.newCache({ tokens });
  const rec = engine.record(cache);
  passes(cache);
  const file = join(mkdtempSync(join(tmpdir(), "hogwild-isa-")), "run.hwrec");
  writeFileSync(file, rec.bytes());
  return file;
}

Deno.test({
  name: "the CPU engine built for AVX2 + FMA replays the AVX-512 build's logits bit for bit",
  ignore: why !== "",
  async fn() {
    const build = mkdtempSync(join(tmpdir(), "hogwild-avx2-"));
    const configure = await run("cmake", [
      "-S",
      join(ROOT, "cuda"),
      "-B",
      build,
      "-DHOGWILD_CUDA=OFF",
      "-DHOGWILD_NATIVE_ARCH=OFF",
      "-DCMAKE_CXX_FLAGS=-mavx2 -mfma",
    ]);
    assert.ok(configure.ok, configure.text);
    const made = await run("cmake", ["--build", build, "--target", "hogwild-replay", "-j2"]);
    assert.ok(made.ok, made.text);

    const recordings: [string, string][] = [];
    // a fixture's shared-cache script
    const fixture = await Engine.load(fixtureDir("llama3-tiny"));
    const scriptFile = join(fixtureDir("llama3-tiny"), "hogwild-script.json");
    const script = parseScript(JSON.parse(readFileSync(scriptFile, "utf8")), scriptFile, fixture.vocab);
    recordings.push([
      "llama3-tiny's script",
      record(fixture, scriptTokens(script) + 1024, (cache) => runScript(fixture, cache, script)),
    ]);
    // the head sizes of real models, whose attention has code of its own, over random scripts and gapped views
    for (const headDim of [64, 128]) {
      const config: ModelConfig = {
        ...shapeConfig("qwen3-demo"),
        hidden: 128,
        heads: 4,
        kvHeads: 2,
        headDim,
        vocab: 512,
      };
      const engine = await Engine.fromSpec({ config, randomSeed: 3, tensors: [] }, { source: `hd${headDim}` });
      const rng = new Rng(headDim);
      const scripts = [randomScript(rng, config.vocab, 600), randomScript(rng, config.vocab, 200)];
      const size = scripts.reduce((a, s) => a + scriptTokens(s), 0) + 2048;
      recordings.push([
        `head_dim ${headDim}`,
        record(engine, size, (cache) => {
          for (const s of scripts) runScript(engine, cache, s);
          const blocks = [0, 1, 2, 3, 4].map(() => cache.newBlock());
          for (const rows of randomGappedPasses(rng, config.vocab, 5, true)) {
            engine.forward(
              cache,
              rows.map((r) => ({ ...r, block: blocks[r.block], view: r.view.map((b) => blocks[b]) })),
            );
          }
        }),
      ]);
    }
    for (const [what, file] of recordings) {
      const r = await run(join(build, "hogwild-replay"), [file, "--device", "cpu", "--tol", "0"]);
      console.log(`${what}: ${r.text.trim().split("\n").at(-1)}`);
      assert.ok(r.ok, `${what}: ${r.text}`);
      assert.match(r.text, /worst max_abs_diff 0 \(tol 0\)/, what);
    }
  },
});
