/** The core's own C++ API: hogwild-replay replays plans recorded through the TypeScript engine. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { REPLAY_PATH } from "../../engine/native.ts";
import { parseScript, runScript, scriptTokens } from "../../engine/script.ts";
import { fixtureDir } from "../helpers.ts";

async function replay(file: string, ...args: string[]) {
  const out = await new Deno.Command(REPLAY_PATH, { args: [file, ...args], stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** The fixtures' shared-cache script run on `engine`, recorded; the recording's file and the script. */
function recordScript(engine: Engine) {
  const scriptFile = join(fixtureDir("qwen3-tiny"), "hogwild-script.json");
  const script = parseScript(JSON.parse(readFileSync(scriptFile, "utf8")), scriptFile, engine.vocab);
  const cache = engine.newCache({ tokens: scriptTokens(script) + 1024 });
  const recorder = engine.record(cache);
  runScript(engine, cache, script);
  const file = join(mkdtempSync(join(tmpdir(), "hogwild-rec-")), "run.hwrec");
  writeFileSync(file, recorder.bytes());
  return { file, script };
}

// A serialisation check, not a correctness one: the recording and its replay run on the same CPU core, so
// tolerance 0 shows that the plans, weights' spec and logits survive the file and the C++ API bit for bit; a
// wrong core would replay its own wrong logits just as exactly (the references are fixtures_test.ts's).
Deno.test("hogwild-replay (serialisation): a recorded shared-cache run replays bit for bit on the same core, without JavaScript", async () => {
  for (const source of [fixtureDir("llama3-tiny"), "random:qwen3-demo"]) {
    const { file, script } = recordScript(await Engine.load(source));
    const r = await replay(file, "--tol", "0");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/^pass \d+ /gm)?.length, script.passes.length);
    assert.match(r.stdout, /replayed 19 passes on cpu: worst max_abs_diff 0 /);
  }
});

Deno.test("hogwild-replay refuses a damaged recording with one error line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-rec-"));
  writeFileSync(join(dir, "junk.hwrec"), "not a recording");
  const junk = await replay(join(dir, "junk.hwrec"));
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /^error: .*junk\.hwrec: not a Hogwild! recording\n$/);
  const missing = await replay(join(dir, "missing.hwrec"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot open/);
  const option = await replay(join(dir, "junk.hwrec"), "--cuda", "gemm=fast");
  assert.equal(option.code, 2);
  assert.match(option.stderr, /^error: cuda option gemm: expected auto, own, cublas or mma, got "fast"\n$/);
});

Deno.test("hogwild-replay --sequence times the recorded passes in order, ids only", async () => {
  const { file } = recordScript(await Engine.load("random:qwen3-demo"));
  const r = await replay(file, "--sequence", "2");
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^sequence of 19 passes \(\d+\.\d new tokens a pass\) on cpu: \d+\.\d\d ms a pass \(median of 2 rounds; fastest \d+\.\d\d\)\n$/,
  );
});
