/**
 * deno task compare's command line: a run folder named twice, however it is spelled (a link to it, a trailing
 * slash, another path), is one folder, refused as plot, view and judge refuse it (checkFoldersOnce). What it
 * computes: tests/harness/report/compare_test.ts.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeCheckpoint, fakeRecord, runCli } from "../helpers.ts";

Deno.test("compare refuses one run folder named twice by any spelling (a link, a trailing slash, another path): it would compare a folder with itself", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-compare-once-"));
  try {
    const a = join(base, "a");
    mkdirSync(a);
    const records = ["hogwild:2", "sequential"].map((method) =>
      fakeRecord({ method, problem_id: "p1" }, [fakeCheckpoint(8, true)])
    );
    writeFileSync(join(a, "records.jsonl"), records.map((r) => JSON.stringify(r) + "\n").join(""));
    symlinkSync(a, join(base, "link"));
    mkdirSync(join(base, "b"));
    for (const again of [a, `${a}/`, join(base, "b", "..", "a"), join(base, "link")]) {
      const r = await runCli("cli/compare.ts", [a, again]);
      assert.equal(r.code, 2, `${again}: ${r.stdout}${r.stderr}`);
      assert.equal(
        r.stderr,
        `error: compare: ${again} is named twice (it is ${a}); the two run folders are one: to compare two of its ` +
          "methods name it once with --methods A,B\n",
        again,
      );
    }
  } finally {
    rmSync(base, { recursive: true });
  }
});
