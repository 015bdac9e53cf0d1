/**
 * harness/bench/rundir.ts: its lock (a bench killed and not yet reaped, a zombie, holds nothing) and the
 * differences a refusal names (a long value cut, not a 60 KB line).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { differences, lockedBy } from "../../../harness/bench/rundir.ts";

Deno.test("a lock held by a live process refuses; by a zombie (killed, not reaped) or a process gone, it does not", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lock-"));
  // a parent that never waits for its child: the child stays a zombie while the parent sleeps
  const parent = new Deno.Command("python3", {
    args: ["-c", "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = parent.stdout.getReader();
    const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    for (let i = 0; i < 100 && !Deno.readTextFileSync(`/proc/${zombie}/stat`).includes(") Z "); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(join(dir, "run.lock"), `${zombie}\n`);
    assert.equal(lockedBy(dir), undefined, "a zombie's lock is taken over");
    writeFileSync(join(dir, "run.lock"), `${parent.pid}\n`);
    assert.equal(lockedBy(dir), parent.pid, "a live process's lock holds");
  } finally {
    parent.kill();
    await parent.status;
    await parent.stdout.cancel().catch(() => {});
  }
  writeFileSync(join(dir, "run.lock"), `${parent.pid}\n`);
  assert.equal(lockedBy(dir), undefined, "a process gone holds nothing");
});

Deno.test("differences name each field with both values, a long one cut in the middle", () => {
  const budgets = Array.from({ length: 10_000 }, (_, i) => i + 1);
  const [line, ...rest] = differences({ budgets, seeds: [1] }, { budgets: [4, 8], seeds: [1] });
  assert.deepEqual(rest, []);
  assert.ok(line.length < 400, `${line.length} characters`);
  assert.match(line, /^budgets: was \[1,2,3,.* … .*,9999,10000\] \(\d+ characters\), now \[4,8\]$/);
});
