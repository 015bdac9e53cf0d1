/** tools/device-prepare.ts: it prints only device calls that can run on the kit it made. */
import assert from "node:assert/strict";
import { callLimit, deviceCalls, planText } from "../../tools/device-prepare.ts";

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

// A session has 15 minutes of device time, the machine's start, transfers, idle seconds and the close counted. Call 1
// was given all it could take (LEFT = budget_left_s − 120, 600 at most) and left call 2 ~150–220 s: the bench's other
// runs and perf were skipped, the verdict INCOMPLETE. And a call made after the machine's 30 s of idle starts a
// fresh machine that builds from scratch: the second call must be made at once, and the plan says so.
Deno.test("device:prepare's plan: both calls fit a fresh session's 900 s, the second made at once with time for its first parts", () => {
  const [first, second] = [callLimit(0, 2, 900), callLimit(1, 2, 900)];
  assert.deepEqual([first, second], [360, 340]);
  // the machine's start (~120 s), the transfers (~20 s), the gap between the calls (under idle_release_s, 30 s)
  // and call 2's transfers and the close (45 s)
  assert.ok(120 + first + 20 + 15 + second + 45 <= 900);
  assert.ok(second >= 300, `call 2: ${second} s`);
  // less time left: both shrink; one call alone (--no-deno) takes what there is, at most a command's 600 s
  assert.deepEqual([callLimit(0, 2, 700), callLimit(1, 2, 700)], [260, 240]);
  assert.equal(callLimit(0, 1, 900), 600);
  assert.equal(callLimit(0, 1, 500), 335);
  const { lines, over } = planText(21 * 2 ** 20, (p) => (p === "deno.xz" ? 29 : 1) * 2 ** 20);
  assert.ok(!over);
  const text = lines.join("\n");
  assert.match(text, /two calls, the second made the moment the first returns/);
  assert.match(text, /^ {2}\d+\.\d MiB {2}CALL_LIMIT=FIRST SECTIONS="correctness" tools\/device-check\.sh/m);
  assert.match(text, /^ {6}FIRST = B\/2 − 90, at most 600: 360 in a fresh session of 900 s/m);
  assert.match(text, /^ {2}\d+\.\d MiB {2}CALL_LIMIT=SECOND SECTIONS="bench perf" tools\/device-check\.sh/m);
  assert.match(text, /SECOND = B − 45, .*: 340 in a fresh session of 900 s; at once: the machine stays warm 30 s/);
  const alone = planText(21 * 2 ** 20, () => 2 ** 20, { "no-deno": true }).lines.join("\n");
  assert.match(alone, /one call;.*\n.*CALL_LIMIT=LEFT SECTIONS="correctness".*\n {6}LEFT = B − 165, at most 600: 600/);
});
