/** tools/device-prepare.ts: it prints only device calls that can run on the kit it made. */
import assert from "node:assert/strict";
import { deviceCalls } from "../../tools/device-prepare.ts";

const root = new URL("../..", import.meta.url).pathname;

Deno.test("device:prepare --no-data, --no-deno: the calls leave out the sections the kit cannot run, naming the flag", () => {
  assert.deepEqual(deviceCalls(), {
    calls: [
      ["correctness", ["recordings", "node-api"]],
      ["bench perf", ["deno.xz", "node_modules.tar.xz", "node-api", "data", "timing"]],
    ],
    notes: [],
  });
  assert.deepEqual(deviceCalls({ "no-data": true }), {
    calls: [["correctness", ["recordings", "node-api"]], ["perf", [
      "deno.xz",
      "node_modules.tar.xz",
      "node-api",
      "timing",
    ]]],
    notes: ["no bench section: --no-data left data out"],
  });
  for (const data of [false, true]) {
    const { calls, notes } = deviceCalls({ "no-deno": true, "no-data": data });
    assert.deepEqual(calls, [["correctness", ["recordings", "node-api"]]]);
    assert.deepEqual(notes, [
      `no bench section: ${data ? "--no-data left data out, " : ""}--no-deno left deno.xz out`,
      "no perf section: --no-deno left deno.xz out",
    ]);
  }
});

// tools/device-check.sh reads .device, and a device call carries paths inside the checkout only: a kit elsewhere
// was printed with carry paths that no call can take.
Deno.test("device:prepare refuses --out at once (the kit goes to this checkout's .device)", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/device-prepare.ts", "--out", "/tmp/elsewhere", "--no-data"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000); // it went on to make the recordings
  const r = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 2, text);
  assert.match(text, /--out/);
});
