/** engine/files.ts: a file replaced whole never takes the place of a device, a pipe or a folder. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import { replaceFile } from "../../engine/files.ts";

Deno.test("replaceFile: a new or regular file is replaced whole; a pipe, a link to one or a folder is refused as it is", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-files-"));
  replaceFile(join(dir, "a.txt"), "one");
  replaceFile(join(dir, "a.txt"), ["two", "\n"]);
  assert.equal(readFileSync(join(dir, "a.txt"), "utf8"), "two\n");
  // a named pipe stands for a device here (as root, `--out /dev/null` had replaced /dev/null with a file)
  const pipe = join(dir, "pipe");
  assert.equal(new Deno.Command("mkfifo", { args: [pipe] }).outputSync().code, 0);
  symlinkSync(pipe, join(dir, "link"));
  mkdirSync(join(dir, "folder"));
  for (
    const [name, what] of [["pipe", "a device or a pipe"], ["link", "a device or a pipe"], ["folder", "a folder"]]
  ) {
    assert.throws(
      () => replaceFile(join(dir, name), "x"),
      (e) => e instanceof InputError && e.message === `${join(dir, name)}: not a regular file (${what}); name a file`,
    );
  }
  assert.ok(Deno.statSync(pipe).isFifo, "the pipe is still a pipe");
  assert.ok(Deno.lstatSync(join(dir, "link")).isSymlink);
});
