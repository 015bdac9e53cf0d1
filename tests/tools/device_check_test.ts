/**
 * tools/device-check.sh's own accounting, on stand-ins for the GPU machine's tools (nvidia-smi, cmake, the
 * replay, compute-sanitizer): a check that fails makes the verdict FAILED and is listed last; the logs come
 * back packed in $OUT; a section's missing files are named before anything runs. A GPU session has 15
 * minutes: a script that reports PASSED over a failure, or loses its logs, wastes them.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callCommand, deviceCalls } from "../../tools/device-prepare.ts";

const root = new URL("../..", import.meta.url).pathname;

function script(path: string, text: string) {
  writeFileSync(path, `#!/usr/bin/env bash\n${text}\n`);
  chmodSync(path, 0o755);
}

/** The fixtures the memcheck steps replay. */
const MEMCHECKED = ["fixture-qwen3-tiny", "fixture-qwen2-awq-tiny", "fixture-qwen3moe-tiny"];

/** A checkout holding the script and a prepared .device with those and `more` fixtures, and a bin folder of stand-ins. */
function machine(more: string[] = []): { dir: string; bin: string } {
  const fixtures = [...MEMCHECKED, ...more];
  const dir = mkdtempSync(join(tmpdir(), "hogwild-devcheck-"));
  mkdirSync(join(dir, "tools"));
  for (const f of ["device-check.sh", "flags.sh"]) copyFileSync(join(root, "tools", f), join(dir, "tools", f));
  const rec = join(dir, ".device/recordings");
  mkdirSync(rec, { recursive: true });
  mkdirSync(join(dir, ".device/node-api"));
  writeFileSync(join(dir, ".device/node-api/napi.h"), "");
  writeFileSync(join(rec, "ROOT"), "/somewhere\n");
  writeFileSync(join(rec, "fixtures.tsv"), fixtures.map((f) => `${f}\ttransformers\n`).join(""));
  for (const f of fixtures) writeFileSync(join(rec, `${f}.hwrec`), "");
  const bin = join(dir, "bin");
  mkdirSync(bin);
  script(join(bin, "nvidia-smi"), `echo "Stand-in GPU, 80 GiB"`);
  // cmake: configuring says CUDA is on; building leaves a replay that fails on recordings named "bad"
  script(
    join(bin, "cmake"),
    `echo "$*" >>"$0.calls"
[[ $1 == --build && -n \${HANG_BUILD:-} ]] && { echo \$\$ >"\$HANG_BUILD"; exec sleep 60; }
if [[ $1 == --build ]]; then mkdir -p "$2"; cat >"$2/hogwild-replay" <<'EOF'
#!/usr/bin/env bash
[[ -n \${SLOW:-} ]] && sleep "\$SLOW"
[[ -n \${HANG:-} && "\$*" == *"\${HANG_ON:-}"* ]] && { echo \$\$ >"\$HANG"; exec sleep 60; }
# as the replay prints it after every CUDA load (STANDIN_GEMM set but empty: no such line)
[[ \${STANDIN_GEMM-x} ]] && echo "GEMM: \${STANDIN_GEMM:-cuBLAS loaded}"
# as the CUDA model says a load whose weights the count perf's floors take disagrees with
[[ -n \${STANDIN_WEIGHTS:-} ]] && echo "warning: CUDA model: its weights took 10 bytes where stored_bytes counts 12 (a loader and the count perf's floors take disagree)" >&2
[[ "$*" == *--repeat* ]] && { echo "model loaded in 1.0 s"; echo "| 0 | 1 |"; }
if [[ $1 == *bad* ]]; then echo "replayed 3 passes on stand-in: worst max_abs_diff 0.9 (tol 0.05): FAIL"; exit 1; fi
echo "replayed 3 passes on stand-in: worst max_abs_diff 0.01 (tol 0.05): ok"
EOF
chmod +x "$2/hogwild-replay"; else echo "-- hogwild: CUDA ON"; fi`,
  );
  script(join(bin, "compute-sanitizer"), `shift 6; "$@"; echo "========= ERROR SUMMARY: 0 errors"`);
  return { dir, bin };
}

/** A Deno kit of stand-ins in `dir`'s .device: a "deno" whose bench leaves a run folder (or hangs as the replay does), the data. */
async function kit(dir: string) {
  const d = join(dir, ".device"), stub = join(dir, "deno-stand-in");
  script(
    stub,
    `[[ -n \${HANG:-} && "$*" == *"\${HANG_ON:-}"* ]] && { echo $$ >"$HANG"; exec sleep 60; }
env >>"$0.env"
echo "$*" >>"$0.args"
while (( $# )); do [[ $1 == --out ]] && { mkdir -p "$2"; echo "Invocation 1 of $2: ok" >"$2/summary.md"; }; shift; done`,
  );
  for (const [from, to] of [[stub, "deno.xz"]]) {
    writeFileSync(join(d, to), (await new Deno.Command("xz", { args: ["-c", from], stdout: "piped" }).output()).stdout);
  }
  mkdirSync(join(dir, "modules/node_modules"), { recursive: true });
  const tar = await new Deno.Command("tar", {
    args: ["-C", join(dir, "modules"), "-cJf", join(d, "node_modules.tar.xz"), "node_modules"],
  }).output();
  assert.ok(tar.success);
  mkdirSync(join(d, "data/olympiadbench"), { recursive: true });
  writeFileSync(join(d, "data/olympiadbench/test.jsonl"), "");
  mkdirSync(join(d, "timing"), { recursive: true });
  writeFileSync(join(d, "timing/perf-qwq-32b.hwrec"), "");
  writeFileSync(join(d, "timing/sequence-qwq-32b.hwrec"), "");
  writeFileSync(join(d, "timing/sequence-qwq-32b.txt"), "130 passes\n");
}

/** The names in archive `file` (tar reads gzip and xz alike). */
async function listed(file: string): Promise<string[]> {
  const r = await new Deno.Command("tar", { args: ["-tf", file], stdout: "piped", stderr: "piped" }).output();
  assert.ok(r.success, `${file}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l);
}

/** An archive member's text. */
async function member(file: string, name: string): Promise<string> {
  const r = await new Deno.Command("tar", { args: ["-xOf", file, name], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout);
}

/** The script's environment in `dir`: the stand-ins in `bin` first on PATH, the correctness section, `env` over it. */
const scriptEnv = (dir: string, bin: string, out: string, env: Record<string, string>) => ({
  PATH: `${bin}:/usr/bin:/bin`,
  OUT: out,
  LOGS: join(dir, "logs"),
  BUILD: join(dir, "build"),
  SECTIONS: "correctness",
  ...env,
});

/** The script started on `dir`, until a stand-in step (named by `hang`: HANG, a replay or the Deno stand-in whose
 * arguments hold HANG_ON; HANG_BUILD, the build) hangs: the child, its whole output to come, the step's pid, OUT. */
async function startUntilHang(dir: string, bin: string, hang: string, env: Record<string, string> = {}) {
  const out = mkdtempSync(join(tmpdir(), "hogwild-devcheck-out-")), pidFile = join(dir, "step.pid");
  const child = new Deno.Command("bash", {
    args: [join(dir, "tools/device-check.sh")],
    env: scriptEnv(dir, bin, out, { [hang]: pidFile, ...env }),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text())).then((t) => t.join(""));
  let ended = false;
  child.status.then(() => ended = true);
  while (!ended && !(existsSync(pidFile) && readFileSync(pidFile, "utf8").trim())) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (ended) assert.fail(`${hang}: ended before the step: ${await text}`);
  return { child, text, stepPid: Number(readFileSync(pidFile, "utf8")), out };
}

async function check(dir: string, bin: string, env: Record<string, string> = {}) {
  const out = mkdtempSync(join(tmpdir(), "hogwild-devcheck-out-"));
  const r = await new Deno.Command("bash", {
    args: [join(dir, "tools/device-check.sh")],
    env: scriptEnv(dir, bin, out, env),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { code: r.code, text, out };
}

Deno.test("device-check: every check passing is PASSED, and the logs come back packed in OUT", async () => {
  const { dir, bin } = machine();
  const r = await check(dir, bin);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /fixture-qwen3-tiny\s+ok/);
  assert.match(r.text, /memcheck \(GEMM auto\)\s+ok/);
  assert.match(r.text, /memcheck \(random-phi3-hd64-rot18\)\s+ok/);
  assert.match(r.text, /device check \(correctness\): PASSED in \d+ s: \d+ checks, 0 failed, 0 skipped/);
  assert.ok(existsSync(join(r.out, "logs.tar.gz")));
});

Deno.test("device-check: checks skipped past TIME_BUDGET make it INCOMPLETE (exit 3), never PASSED; a failure stays FAILED", async () => {
  const { dir, bin } = machine();
  const r = await check(dir, bin, { TIME_BUDGET: "0" });
  assert.equal(r.code, 3, r.text);
  assert.match(r.text, /skipped \(past TIME_BUDGET\):\n {2}memcheck, random-phi3-hd64-rot18\n/);
  assert.match(r.text, /device check \(correctness\): INCOMPLETE in \d+ s: \d+ checks, 0 failed, \d+ skipped/);
  const bad = machine(["fixture-bad-tiny"]);
  const failed = await check(bad.dir, bad.bin, { TIME_BUDGET: "0" });
  assert.equal(failed.code, 1, failed.text);
  assert.match(failed.text, /device check \(correctness\): FAILED in/);
});

// cuBLAS runs every product above 2 rows (docs/engine.md): without it the replays pass on the own kernels alone,
// and the products real runs take went unchecked.
Deno.test("device-check: a replay that does not say cuBLAS loaded makes it INCOMPLETE (exit 3), loudly, never PASSED", async () => {
  const { dir, bin } = machine();
  const loaded = await check(dir, bin);
  assert.equal(loaded.code, 0, loaded.text);
  assert.match(loaded.text, /fixture-qwen3-tiny\s+ok\s+\d+s\s+GEMM: cuBLAS loaded replayed 3 passes/);
  assert.match(loaded.text, /device check \(correctness\): PASSED in .*; cuBLAS loaded in every replay/);
  for (const gemm of ["cuBLAS not loaded (no libcublas.so.13): own kernels for every product", ""]) {
    const r = await check(dir, bin, { STANDIN_GEMM: gemm });
    assert.equal(r.code, 3, r.text);
    assert.match(r.text, /^cuBLAS NOT LOADED in \d+ of \d+ replays: products above 2 rows ran on the own kernels/m);
    assert.match(
      r.text,
      gemm ? /first: fixture-qwen3-tiny: GEMM: cuBLAS not loaded/ : /first: fixture-qwen3-tiny: no GEMM line/,
    );
    assert.match(r.text, /device check \(correctness\): INCOMPLETE in .*; cuBLAS NOT LOADED in \d+ replays/);
  }
  const bad = machine(["fixture-bad-tiny"]);
  const failed = await check(bad.dir, bad.bin, { STANDIN_GEMM: "cuBLAS not loaded" });
  assert.equal(failed.code, 1, failed.text);
  assert.match(failed.text, /device check \(correctness\): FAILED in/);
});

// The GPU's load says where its weights and stored_bytes (what perf's floors count) disagree, and runs on: every
// check's logits still come back, and the check is FAILED, not passed over.
Deno.test("device-check: a load whose weights stored_bytes does not count makes its check FAILED, the replay's result kept", async () => {
  const { dir, bin } = machine();
  const r = await check(dir, bin, { STANDIN_WEIGHTS: "1", TIME_BUDGET: "0" });
  assert.equal(r.code, 1, r.text);
  assert.match(
    r.text,
    /fixture-qwen3-tiny\s+FAIL\s+\d+s\s+GEMM: cuBLAS loaded warning: CUDA model: its weights took 10 bytes where stored_bytes counts 12 .* replayed 3 passes on stand-in: worst max_abs_diff 0\.01/,
  );
  assert.match(r.text, /device check \(correctness\): FAILED in/);
});

Deno.test("device-check: one failing replay makes it FAILED, listed with its reason as the last lines", async () => {
  const { dir, bin } = machine(["fixture-bad-tiny"]);
  const r = await check(dir, bin);
  assert.equal(r.code, 1, r.text);
  const tail = r.text.trim().split("\n").slice(-4).join("\n");
  assert.match(
    tail,
    /failed:\n {2}fixture-bad-tiny: GEMM: cuBLAS loaded replayed 3 passes on stand-in: worst max_abs_diff 0\.9/,
  );
  assert.match(tail, /device check \(correctness\): FAILED in \d+ s: \d+ checks, 2 failed/); // graphs and not
  assert.ok(existsSync(join(r.out, "logs.tar.gz")));
});

Deno.test("device-check: a fixture listed but not recorded is a failure; a section's missing files are named first", async () => {
  const { dir, bin } = machine();
  writeFileSync(join(dir, ".device/recordings/fixtures.tsv"), "fixture-qwen3-tiny\ttransformers\n");
  assert.match(
    (await check(dir, bin)).text,
    /fixtures\.tsv\s+FAIL\s+0s {2}lists 1 fixtures, \.device\/recordings holds 3/,
  );
  for (const sections of ["corectness", "correctness,bench"]) {
    const typo = await check(dir, bin, { SECTIONS: sections });
    assert.equal(typo.code, 2, typo.text);
    assert.match(typo.text, /SECTIONS: ".*" is not a section \(correctness, bench, perf; separated by spaces\)/);
  }
  const perf = await check(dir, bin, { SECTIONS: "perf" });
  assert.equal(perf.code, 2);
  assert.match(perf.text, /no \.device\/deno\.xz for SECTIONS="perf": run `deno task device:prepare --data-dir DATA`/);
});

Deno.test("device-check: no step runs past DEADLINE, so the script ends (its logs packed) before the call's limit", async () => {
  const { dir, bin } = machine();
  const t = performance.now();
  const r = await check(dir, bin, { SLOW: "2", DEADLINE: "7", STEP_TIMEOUT: "30" });
  const seconds = (performance.now() - t) / 1000;
  assert.equal(r.code, 1, r.text);
  assert.ok(seconds < 20, `${seconds} s`);
  assert.match(r.text, /no time left before DEADLINE=7 s/);
  assert.ok(existsSync(join(r.out, "logs.tar.gz")));
});

Deno.test("device-check: DEADLINE and TIME_BUDGET follow CALL_LIMIT (the device time left), at most a call's 600 s", async () => {
  const { dir, bin } = machine();
  const t = performance.now();
  // 20 s before CALL_LIMIT: the logs packed and brought back inside the call
  const r = await check(dir, bin, { SLOW: "2", CALL_LIMIT: "30" });
  assert.ok((performance.now() - t) / 1000 < 20, r.text);
  assert.match(r.text, /limits: DEADLINE 10 s, TIME_BUDGET 6 s, STEP_TIMEOUT 180 s \(CALL_LIMIT 30 s\)/);
  assert.match(r.text, /no time left before DEADLINE=10 s/);
  const capped = await check(dir, bin, { CALL_LIMIT: "900", TIME_BUDGET: "0" });
  assert.match(capped.text, /limits: DEADLINE 580 s, TIME_BUDGET 0 s, STEP_TIMEOUT 180 s \(CALL_LIMIT 600 s\)/);
  const bad = await check(dir, bin, { CALL_LIMIT: "5m" });
  assert.equal(bad.code, 2, bad.text);
  assert.match(bad.text, /^CALL_LIMIT: expected whole seconds, got "5m"$/m);
});

Deno.test("device-check: perf takes the timing recordings of the shape device:prepare was given, one shape only", async () => {
  const { dir, bin } = machine();
  await kit(dir);
  const timing = join(dir, ".device/timing");
  rmSync(join(timing, "perf-qwq-32b.hwrec"));
  writeFileSync(join(timing, "perf-qwen3-demo.hwrec"), ""); // --perf-shape qwen3-demo
  const r = await check(dir, bin, { SECTIONS: "perf", TIME_BUDGET: "0" });
  assert.doesNotMatch(r.text, /no \.device\/timing/, r.text);
  assert.match(r.text, /build\s+ok/, r.text);
  writeFileSync(join(timing, "perf-qwq-32b.hwrec"), ""); // another preparation's, left beside it
  const two = await check(dir, bin, { SECTIONS: "perf" });
  assert.equal(two.code, 2, two.text);
  assert.match(
    two.text,
    /\.device\/timing holds 2 perf-\*\.hwrec \(perf-qwen3-demo\.hwrec perf-qwq-32b\.hwrec\), not one/,
  );
  rmSync(join(timing, "perf-qwen3-demo.hwrec")), rmSync(join(timing, "perf-qwq-32b.hwrec"));
  assert.match((await check(dir, bin, { SECTIONS: "perf" })).text, /\.device\/timing holds 0 perf-\*\.hwrec/);
});

// The 15 minutes: call 2 gets what call 1 and the machine's start leave. Its first parts (the bench with 8 runs in
// flight, perf --views, perf's default GEMM policy, a real run's passes with graphs=8) must run before the rest of
// either section; --views never ran on a card.
Deno.test("device-check: call 2 runs the bench's first run and perf's first parts, --views among them, whatever TIME_BUDGET, then the rest", async () => {
  const { dir, bin } = machine();
  await kit(dir);
  const args = join(dir, "build/deno.args");
  const tight = await check(dir, bin, { SECTIONS: "bench perf", TIME_BUDGET: "0", PERF_SETTINGS: "auto 8 auto 0 0" });
  assert.equal(tight.code, 3, tight.text);
  assert.match(tight.text, /^bench qwq-32b-c8\s+ok/m);
  const first = readFileSync(args, "utf8").trim().split("\n");
  assert.equal(first.length, 3, first.join("\n")); // the bench, perf --views, perf
  assert.match(
    first[0],
    /cli\/bench\.ts --device cuda --task olympiadbench .*--model random:qwq-32b .*--concurrency 8/,
  );
  assert.match(first[1], /cli\/perf\.ts --views --device cuda --model random:qwen3-8b --json \S+perf-views\.json$/);
  assert.match(first[2], /cli\/perf\.ts --device cuda --cuda gemm=auto --model random:qwq-32b /);
  assert.match(tight.text, /^graphs=8: /m);
  assert.match(
    tight.text,
    /skipped \(past TIME_BUDGET\):\n {2}bench qwq-32b-alone\n {2}bench qwq-32b-awq-c8\n {2}sequence, graphs=0\n/,
  );
  rmSync(args);
  const all = await check(dir, bin, { SECTIONS: "bench perf", PERF_SETTINGS: "auto 8 auto 0 0" });
  assert.equal(all.code, 0, all.text);
  const order = readFileSync(args, "utf8").trim().split("\n").map((a) =>
    /--out \S+\/([\w-]+)|--views|--paper-table --device cuda --model (\S+)|--cuda (\S+)|--model (\S+)/.exec(a)!
      .slice(0).find((x, i) => i > 0 && x) ?? /--views/.exec(a)![0]
  );
  assert.deepEqual(order, [
    "qwq-32b-c8",
    "--views",
    "gemm=auto",
    "qwq-32b-alone",
    "qwq-32b-awq-c8",
    "gemm=mma",
    "gemm=mma,pdl=1",
    "random:qwq-32b-awq",
    "random:qwen3-30b-a3b",
    "random:qwq-32b",
    "random:qwq-32b-awq",
  ]);
});

// Call 2 on call 1's machine: the tree is sent again, and its files may all look new to ninja (a build from scratch:
// minutes of the call). The build is skipped by the sources' content, not their times.
Deno.test("device-check: a second call on the machine builds nothing when the sources are unchanged, whatever their times", async () => {
  const { dir, bin } = machine();
  mkdirSync(join(dir, "cuda/src"), { recursive: true });
  writeFileSync(join(dir, "cuda/src/model.cc"), "int x;\n");
  const calls = join(bin, "cmake.calls"), builds = () => readFileSync(calls, "utf8").match(/^--build /gm)?.length ?? 0;
  const first = await check(dir, bin, { TIME_BUDGET: "0" });
  assert.equal(first.code, 3, first.text);
  assert.equal(builds(), 1);
  const later = new Date(Date.now() + 3600_000);
  Deno.utimeSync(join(dir, "cuda/src/model.cc"), later, later); // sent again: a newer time, the same bytes
  const second = await check(dir, bin, { TIME_BUDGET: "0" });
  assert.equal(builds(), 1, second.text);
  assert.match(
    second.text,
    /^build\s+ok\s+0s\s+\S+ \(unchanged sources: not rebuilt\)$/m,
  );
  assert.match(second.text, /fixture-qwen3-tiny\s+ok/);
  writeFileSync(join(dir, "cuda/src/model.cc"), "int y;\n"); // changed: built again
  const third = await check(dir, bin, { TIME_BUDGET: "0" });
  assert.equal(builds(), 2, third.text);
  // a build that failed leaves no stamp: the next call builds
  rmSync(join(dir, "build/hogwild-replay"));
  await check(dir, bin, { TIME_BUDGET: "0" });
  assert.equal(builds(), 3);
});

Deno.test("device-check: each call device:prepare prints finds what its sections need in what it carries", async () => {
  const kits = [{}, { "no-data": true }, { "no-deno": true }, { "no-data": true, "no-deno": true }];
  for (const flags of kits) {
    for (const [sections, carry] of deviceCalls(flags).calls) {
      const { dir, bin } = machine();
      await kit(dir); // a whole kit (stand-ins), less what this call does not carry
      const d = join(dir, ".device");
      for (const entry of readdirSync(d)) if (!carry.includes(entry)) rmSync(join(d, entry), { recursive: true });
      // the command as printed, with a CALL_LIMIT of 40 s
      const env = Object.fromEntries(
        [...callCommand(sections, 40).matchAll(/(\w+)=("[^"]*"|\S+) /g)].map((
          [, k, v],
        ) => [k, v.replace(/^"|"$/g, "")]),
      );
      const r = await check(dir, bin, { ...env, TIME_BUDGET: "0" });
      const what = `${JSON.stringify(flags)}: SECTIONS="${sections}" carrying ${carry.join(" ")}: ${r.text}`;
      assert.match(r.text, /limits: DEADLINE 20 s, TIME_BUDGET 0 s/, what);
      assert.doesNotMatch(r.text, /no \.device\/\S+ for SECTIONS|FAIL/, what);
      assert.match(r.text, /build\s+ok/, what); // past the needs: it went on to build
    }
  }
});

Deno.test("device-check: each call's logs only, a build folder of this tree's own, Deno offline, the GEMM library said", async () => {
  const { dir, bin } = machine();
  await kit(dir);
  const first = await check(dir, bin, { SECTIONS: "correctness" });
  assert.equal(first.code, 0, first.text);
  // the second call, on the same machine: its logs alone (the first's were packed again with them)
  const second = await check(dir, bin, {
    SECTIONS: "bench perf",
    BENCH_RUNS: "qwq-32b-c8",
    PERF_SETTINGS: "auto 8 auto 0 0",
  });
  assert.equal(second.code, 0, second.text);
  const names = await listed(join(second.out, "logs.tar.gz"));
  assert.ok(names.includes("./bench-qwq-32b-c8.log"), names.join(" "));
  assert.ok(!names.includes("./fixture-qwen3-tiny.log"), names.join(" "));
  // the perf replays say whether cuBLAS loaded (without it every product runs on the own kernels)
  assert.match(second.text, /^GEMM: cuBLAS loaded$/m);
  // the Deno commands ask for no update (no network there)
  const env = readFileSync(join(dir, "build/deno.env"), "utf8");
  assert.match(env, /^DENO_NO_UPDATE_CHECK=1$/m);
  // a LOGS folder that a device check did not make is not cleared
  const foreign = join(dir, "mine");
  mkdirSync(foreign), writeFileSync(join(foreign, "notes.txt"), "");
  const refused = await check(dir, bin, { LOGS: foreign });
  assert.equal(refused.code, 2, refused.text);
  assert.match(refused.text, /LOGS=.*mine holds files no device check wrote/);
  assert.ok(existsSync(join(foreign, "notes.txt")));
  // without BUILD, a folder of this tree's path: CMake refuses a build folder configured from another source tree
  const other = machine();
  const builds: string[] = [];
  for (const m of [{ dir, bin }, other]) {
    const r = await check(m.dir, m.bin, { BUILD: "" });
    const build = /^build\s+ok\s+\d+s\s+(\S+)$/m.exec(r.text)?.[1] ?? "";
    assert.ok(build.startsWith("/tmp/hogwild-build-"), r.text);
    builds.push(build);
    rmSync(build, { recursive: true, force: true });
  }
  assert.notEqual(builds[0], builds[1]);
});

Deno.test("device-check: a TERM mid-step (the build, a replay) stops the step at once and prints the verdict on stdout", async () => {
  for (const hang of ["HANG_BUILD", "HANG"]) {
    const { dir, bin } = machine();
    const { child, text, stepPid, out } = await startUntilHang(dir, bin, hang);
    const t = performance.now();
    child.kill("SIGTERM");
    // bash ran its trap only once the foreground step ended (here a minute on): give it 10 s, then clear up
    const done = await Promise.race([child.status, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (done === null) (child.kill("SIGKILL"), isAlive(stepPid) && Deno.kill(stepPid, "SIGKILL"));
    const status = done ?? await child.status, output = await text;
    assert.ok(done !== null, `${hang}: still running 10 s after the TERM: ${output}`);
    assert.ok((performance.now() - t) / 1000 < 5, `${hang}: ${(performance.now() - t) / 1000} s after the TERM`);
    assert.equal(status.code, 124, output);
    assert.match(output, /stopped \(signal\)/);
    assert.match(output, /device check \(correctness\): STOPPED \(signal\) in \d+ s/);
    for (let i = 0; i < 40 && isAlive(stepPid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!isAlive(stepPid), `${hang}: the step (pid ${stepPid}) still runs`);
    assert.ok(existsSync(join(out, "logs.tar.gz")));
  }
});

// The device call's limit may be below DEADLINE (its time counts the machine's start, idle and close): killed
// there, the script packs nothing more, so what ran must already be in OUT.
Deno.test("device-check: killed mid-step, OUT holds every check that ended and the bench runs that ended", async () => {
  const cases = [
    { sections: "correctness", hangOn: "graphs=0", log: "./fixture-qwen3-tiny.log", bench: undefined },
    { sections: "bench", hangOn: "qwq-32b-alone", log: "./bench-qwq-32b-c8.log", bench: "./qwq-32b-c8/summary.md" },
  ];
  for (const { sections, hangOn, log, bench } of cases) {
    const { dir, bin } = machine();
    await kit(dir);
    const env = { SECTIONS: sections, HANG_ON: hangOn, BENCH_RUNS: "qwq-32b-c8 qwq-32b-alone" };
    const { child, text, stepPid, out } = await startUntilHang(dir, bin, "HANG", env);
    child.kill("SIGKILL"), Deno.kill(stepPid, "SIGKILL");
    await child.status;
    const output = await text, logs = join(out, "logs.tar.gz");
    assert.ok(existsSync(logs), `${sections}: no logs.tar.gz: ${output}`);
    assert.ok((await listed(logs)).includes(log), `${sections}: ${await listed(logs)}`);
    const first = sections === "bench" ? /bench qwq-32b-c8\s+ok/ : /fixture-qwen3-tiny\s+ok/;
    assert.match(await member(logs, "./checks.txt"), first);
    if (bench) assert.ok((await listed(join(out, "bench.tar.xz"))).includes(bench), output);
  }
});

/** Whether process `pid` runs (a zombie does not). */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
