/** The core's own C++ API: hogwild-replay replays plans recorded through the TypeScript engine. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { REPLAY_PATH } from "../../engine/native.ts";
import { parseScript, runScript, scriptTokens } from "../../engine/script.ts";
import { fixtureDir, randInt, Rng } from "../helpers.ts";

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

/** A copy of recording `bytes` with each pass's expected logits as `edit` changes them (the spec's bytes leave them unaligned). */
function editExpected(bytes: Uint8Array, edit: (pass: number, logits: Float32Array) => void): Uint8Array {
  const out = bytes.slice(), v = new DataView(out.buffer);
  let at = 8;
  at += 4 + v.getUint32(at, true) + 8; // the spec, then pages and page size
  const passes = v.getUint32(at, true);
  at += 4;
  for (let i = 0; i < passes; i++) {
    at += 4 + 4 * v.getUint32(at, true); // the plan
    const n = v.getUint32(at, true);
    const logits = Float32Array.from({ length: n }, (_, k) => v.getFloat32(at + 4 + 4 * k, true));
    edit(i, logits);
    logits.forEach((x, k) => v.setFloat32(at + 4 + 4 * k, x, true));
    at += 4 + 4 * n;
  }
  return out;
}

// std::max(err, NaN) is err: a NaN difference was dropped, and a pass of NaN logits passed every tolerance.
Deno.test("hogwild-replay: a NaN logit on either side fails the pass, whatever the tolerances", async () => {
  const { file } = recordScript(await Engine.load(fixtureDir("qwen3-tiny")));
  const clean = readFileSync(file), dir = mkdtempSync(join(tmpdir(), "hogwild-nan-"));
  const rng = new Rng(11);
  const cases: [string, Uint8Array][] = [];
  for (let c = 0; c < 3; c++) { // one NaN, somewhere, in one pass's expected logits
    const at = randInt(rng, 0, 18), k = rng.next();
    cases.push([`one-${c}`, editExpected(clean, (i, l) => i === at && (l[Math.floor(k * l.length)] = NaN))]);
  }
  cases.push(["all", editExpected(clean, (i, l) => i === 4 && l.fill(NaN))]);
  cases.push(["every-pass", editExpected(clean, (_, l) => l.fill(NaN))]);
  for (const [name, bytes] of cases) {
    const f = join(dir, `${name}.hwrec`);
    writeFileSync(f, bytes);
    for (const tol of [["--tol", "0"], ["--tol", "0", "--rtol", "2e-2"], ["--tol", "1e30", "--rtol", "1e30"]]) {
      const r = await replay(f, "--device", "cpu", ...tol);
      assert.equal(r.code, 1, `${name} ${tol.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^pass \d+ .* max_abs_diff inf rel_l2 inf .* FAIL$/m, name);
      assert.match(r.stdout, /worst max_abs_diff inf .* worst rel_l2 inf .*: FAIL\n$/, name);
    }
  }
  const ok = await replay(file, "--device", "cpu", "--tol", "0");
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});
