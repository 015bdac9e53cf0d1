/**
 * tools/device-profile.sh on stand-ins for the GPU machine's cmake and ncu: it profiles the timing recording
 * device:prepare made (whatever --perf-shape), and a failed or empty ncu run is a failure, never a table of zeros.
 */
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;

function script(path: string, text: string) {
  writeFileSync(path, `#!/usr/bin/env bash\n${text}\n`);
  chmodSync(path, 0o755);
}

/** A checkout with the script and .device/timing holding `shapes`' perf recordings, and stand-ins for cmake and ncu. */
function machine(shapes: string[]): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-profile-"));
  mkdirSync(join(dir, "tools"));
  for (const f of ["device-profile.sh", "flags.sh"]) copyFileSync(join(root, "tools", f), join(dir, "tools", f));
  const timing = join(dir, ".device/timing");
  mkdirSync(timing, { recursive: true });
  for (const s of shapes) {
    writeFileSync(join(timing, `perf-${s}.hwrec`), "");
    writeFileSync(
      join(timing, `perf-${s}.txt`),
      Array.from({ length: 9 }, (_, i) => `pass ${i}: ${i < 8 ? `${2 ** (i % 4)} workers` : "prefill"}\n`).join(""),
    );
  }
  const bin = join(dir, "bin");
  mkdirSync(bin);
  script(join(bin, "cmake"), "exit 0");
  // ncu: NCU=ok writes two kernels' rows after the program's own lines; fail: exits 1 as a failed replay makes it;
  // empty: exits 0 having profiled nothing (a kernel filter that matched none)
  script(
    join(bin, "ncu"),
    `echo "$*" >>"$NCU_ARGS"
case $NCU in
  ok) echo "replayed 1 pass"
      echo '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"'
      echo '"0","1","hogwild-replay","h","void (anonymous namespace)::skinny_gemm<4>(const bf16 *)","1","7","(128, 1, 1)","(132, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","us","120.50"'
      echo '"1","1","hogwild-replay","h","void (anonymous namespace)::attn_partial(int)","1","7","(128, 1, 1)","(132, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","ns","2,500"'
      ;;
  fail) echo "==ERROR== The application returned an error code (1)." >&2; exit 1 ;;
  empty) echo "==WARNING== No kernels were profiled." >&2 ;;
esac`,
  );
  return { dir, bin };
}

async function profile(dir: string, bin: string, ncu: string, ...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), "hogwild-profile-out-")), ncuArgs = join(dir, "ncu.args");
  const r = await new Deno.Command("bash", {
    args: [join(dir, "tools/device-profile.sh"), ...args],
    env: { PATH: `${bin}:/usr/bin:/bin`, OUT: out, BUILD: join(dir, "build"), NCU: ncu, NCU_ARGS: ncuArgs },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  let calls: string[] = [];
  try {
    calls = readFileSync(ncuArgs, "utf8").trim().split("\n");
  } catch { /* ncu never ran */ }
  return { code: r.code, text, calls };
}

Deno.test("device-profile: profiles the timing recording of device:prepare's --perf-shape, in .device/timing", async () => {
  const { dir, bin } = machine(["llama3.1-8b"]);
  const r = await profile(dir, bin, "ok");
  assert.equal(r.code, 0, r.text);
  assert.equal(r.calls.length, 2, r.text); // passes 0 and 7
  assert.match(r.calls[0], / \.device\/timing\/perf-llama3\.1-8b\.hwrec --device cuda --cuda graphs=0 --only 0$/);
  assert.match(r.text, /^## pass 7 \(pass 7: 8 workers\) of perf-llama3\.1-8b\.hwrec$/m);
  assert.match(r.text, /^skinny_gemm<4>\s+1 calls\s+120\.5 us$/m);
  assert.match(r.text, /^attn_partial\s+1 calls\s+2\.5 us$/m);
  assert.match(r.text, /^all kernels\s+123\.0 us$/m);
});

Deno.test("device-profile: a failed or empty ncu run fails loudly (exit 1), never a table of zeros", async () => {
  const { dir, bin } = machine(["qwq-32b"]);
  const failed = await profile(dir, bin, "fail", "3");
  assert.equal(failed.code, 1, failed.text);
  assert.match(failed.text, /^FAILED: pass 3: ncu exited 1/m);
  assert.match(failed.text, /The application returned an error code/);
  assert.doesNotMatch(failed.text, /all kernels/);
  const empty = await profile(dir, bin, "empty", "3");
  assert.equal(empty.code, 1, empty.text);
  assert.match(empty.text, /^FAILED: pass 3: ncu measured no kernel/m);
  assert.doesNotMatch(empty.text, /all kernels/);
});

Deno.test("device-profile: no recording, two, or a pass past the recording's are refused before the build", async () => {
  for (
    const [shapes, message] of [
      [[], /\.device\/timing holds 0 perf-\*\.hwrec, not one/],
      [
        ["qwq-32b", "phi-4"],
        /\.device\/timing holds 2 perf-\*\.hwrec \(perf-phi-4\.hwrec perf-qwq-32b\.hwrec\), not one/,
      ],
    ] as const
  ) {
    const { dir, bin } = machine([...shapes]);
    const r = await profile(dir, bin, "ok");
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, message);
    assert.equal(r.calls.length, 0);
  }
  const { dir, bin } = machine(["qwq-32b"]);
  const r = await profile(dir, bin, "ok", "0", "9");
  assert.equal(r.code, 2, r.text);
  assert.match(r.text, /PASS 9: perf-qwq-32b\.hwrec has 9 passes \(0-8/);
  assert.equal(r.calls.length, 0);
});
