/**
 * Losing nothing at any write: a small bench in which the disk fills up at its Nth write (that write and every
 * later one fail), for every N from its first write to its last, ends in one line naming the file, and the same
 * command afterwards ends with exactly the records of an uninterrupted run. Also: the files a run writes
 * respect the umask, and a torn last line of bytes that are not UTF-8 is cut at its byte; the records that did land
 * before a failed write are counted in run.json's invocations (solo-check reads them).
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeam } from "../../../engine/files.ts";
import { bench } from "../../../cli/bench.ts";
import { type BenchRecord, readLines, readRunJson, recordKey } from "../../../harness/bench/rundir.ts";
import { notAlone } from "../../../harness/report/solo_check.ts";
import type { Invocation } from "../../../harness/bench/timing.ts";

const SMALL = [
  "--model",
  "random:qwen3-demo",
  "--task",
  "synthetic",
  "--count",
  "1",
  "--methods",
  "hogwild:2,sequential",
  "--budgets",
  "4:8:4",
];

const tmp = () => mkdtempSync(join(tmpdir(), "hogwild-fault-"));
const untimed = (r: BenchRecord) => ({
  ...r,
  solo_ms: 0,
  shared_ms: 0,
  checkpoints: r.checkpoints.map((c) => ({ ...c, solo_ms: 0, shared_ms: 0 })),
});
const records = (dir: string) =>
  readLines<BenchRecord>(join(dir, "records.jsonl")).map(untimed).sort((a, b) =>
    recordKey(a).localeCompare(recordKey(b))
  );

/** Runs the bench quietly (its progress lines go nowhere). */
async function quiet(args: string[]): Promise<void> {
  const error = console.error;
  console.error = () => {};
  try {
    await bench(args);
  } finally {
    console.error = error;
  }
}

Deno.test({
  name: "a full disk at every write of a run: one line naming the file, then the same command completes it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const whole = join(tmp(), "whole");
    let total = 0;
    writeSeam.before = () => void total++;
    try {
      await quiet([...SMALL, "--out", whole]);
    } finally {
      writeSeam.before = undefined;
    }
    const want = records(whole);
    assert.equal(want.length, 2);
    assert.ok(total >= 10, `${total} writes`);
    for (let n = 1; n <= total; n++) {
      const out = join(tmp(), `at-${n}`);
      let count = 0;
      writeSeam.before = (file) => {
        if (++count >= n) throw new Deno.errors.WriteZero(`No space left on device (os error 28): ${file}`);
      };
      let error: Error | undefined;
      try {
        await quiet([...SMALL, "--out", out]);
      } catch (e) {
        error = e as Error;
      } finally {
        writeSeam.before = undefined;
      }
      assert.ok(error, `write ${n} of ${total} failed and the run said nothing`);
      assert.equal(error.name, "InputError", `write ${n}: ${error.stack}`);
      assert.match(
        error.message,
        /^\/.+: cannot write it \(the disk is full; free space and run the same command again\)$/,
      );
      await quiet([...SMALL, "--out", out]);
      assert.deepEqual(records(out), want, `after a full disk at write ${n} of ${total}`);
      const traces = readLines<BenchRecord>(join(out, "traces.jsonl")).map(recordKey).sort();
      assert.deepEqual(traces, want.map(recordKey), `traces after write ${n}`);
    }
    console.log(`a full disk at each of the ${total} writes of a run: each resumed to the same records`);
  },
});

Deno.test({
  name:
    "a record write that fails (a file-size limit, a full disk): the records that landed are this invocation's, so solo-check takes the resumed --concurrency 1 folder",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const alone = [...SMALL, "--concurrency", "1"];
    // once a record is there: that write alone fails (ulimit -f), or it and every later one (a full disk)
    for (const full of [false, true]) {
      const out = join(tmp(), full ? "full" : "limit"), file = join(out, "records.jsonl");
      let failed = false;
      writeSeam.before = (f) => {
        if (failed ? full : f === file && existsSync(f) && statSync(f).size > 0) {
          failed = true;
          throw new Deno.errors.WriteZero(
            `${full ? "No space left on device (os error 28)" : "File too large (os error 27)"}`,
          );
        }
      };
      let error: Error | undefined;
      try {
        await quiet([...alone, "--out", out]);
      } catch (e) {
        error = e as Error;
      } finally {
        writeSeam.before = undefined;
      }
      assert.ok(failed && error, "the write failed, and the run said so");
      // the record's own error, not run.json's that followed it on a full disk
      assert.match(error.message, new RegExp(`^${file}: cannot write it`), error.stack);
      const landed = readLines<BenchRecord>(file).length;
      assert.equal(landed, 1);
      const invocations = (readRunJson(out).invocations ?? []) as Invocation[];
      if (!full) {
        assert.deepEqual(
          invocations.map((i) => [i.records, i.runs_at_once]),
          [[landed, 1]],
          "this invocation's records",
        );
      }
      await quiet([...alone, "--out", out]);
      const meta = readRunJson(out), records = readLines<BenchRecord>(file).length;
      assert.equal(records, 2);
      // a full disk that took run.json too leaves its records unsaid: solo-check refuses, as it must
      assert.equal(notAlone(meta, records) === undefined, !full, notAlone(meta, records));
    }
  },
});

Deno.test({
  name: "run files respect the umask; a torn last line of non-UTF-8 bytes is cut at its byte",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const out = join(tmp(), "umask");
    const old = Deno.umask(0o027);
    try {
      await quiet([...SMALL, "--out", out]);
    } finally {
      Deno.umask(old);
    }
    for (const f of ["run.json", "records.jsonl", "traces.jsonl", "curves.csv", "summary.md", "accuracy_vs_time.png"]) {
      assert.equal(statSync(join(out, f)).mode & 0o777, 0o640, f);
    }
    const file = join(out, "records.jsonl"), whole = readFileSync(file);
    appendFileSync(file, new Uint8Array([0x7b, 0x22, 0xe9, 0xff, 0xfe, 0x80, 0x80, 0x80])); // {"é… in Latin-1, torn
    assert.equal(readLines<BenchRecord>(file).length, 2);
    assert.deepEqual(readFileSync(file), whole, "cut back to the last whole line, byte for byte");
    writeFileSync(join(out, "x"), ""); // the folder stays usable
    await quiet([...SMALL, "--out", out]);
  },
});
