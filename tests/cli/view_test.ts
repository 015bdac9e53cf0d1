/**
 * deno task view with no folder named: every run folder of results/, each once (a link to one of them, as
 * results/latest often is, is an alias, not a second run).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRun } from "../harness/viewer/run_fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("view without folders serves each run folder of results/ once, links to one of them left out", async () => {
  const cwd = mkdtempSync(join(tmpdir(), "hogwild-view-cli-")), results = join(cwd, "results");
  mkdirSync(results);
  for (const name of ["run-1", "run-2"]) Deno.renameSync(writeRun(1).dir, join(results, name));
  symlinkSync("run-2", join(results, "latest"));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", join(ROOT, "deno.json"), "-A", join(ROOT, "cli/view.ts"), "--port", "0"],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let said = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    said += decoder.decode(chunk);
    if (/view: .*\n/.test(said) || said.includes("error")) break;
  }
  child.kill();
  await child.status;
  assert.match(said, /^view: 2 runs at http:\/\/127\.0\.0\.1:\d+\//, said);
  rmSync(cwd, { recursive: true });
});
