/** tools/make-recordings.ts: its folders hold only what this preparation records, whatever an earlier one left. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearRecordings } from "../../tools/make-recordings.ts";

Deno.test("make-recordings clears the recordings an earlier preparation left, in both folders", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-recordings-"));
  const [out, timing] = [join(dir, "recordings"), join(dir, "timing")];
  mkdirSync(out), mkdirSync(timing);
  // another --perf-shape's timing recordings (device-check then found two shapes, or none of the one it wanted),
  // timing ones beside the checks', a shape since dropped; what is not a recording stays
  const stale = ["perf-qwq-32b.hwrec", "perf-qwq-32b.txt", "sequence-qwq-32b.hwrec", "sequence-qwq-32b.txt"];
  for (const f of [...stale, "notes.md"]) writeFileSync(join(timing, f), "");
  for (const f of [...stale, "random-gone-shape.hwrec", "fixture-gone.hwrec", "notes.md"]) {
    writeFileSync(join(out, f), "");
  }
  clearRecordings(out, timing);
  assert.deepEqual(readdirSync(timing), ["notes.md"]);
  assert.deepEqual(readdirSync(out), ["notes.md"]);
  clearRecordings(join(dir, "new/recordings"), join(dir, "new/timing")); // made where missing
  assert.deepEqual(readdirSync(join(dir, "new")).sort(), ["recordings", "timing"]);
});
