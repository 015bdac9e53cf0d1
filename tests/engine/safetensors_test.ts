/** engine/safetensors.ts: a safetensors header's length read and refused exactly. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readHeader } from "../../engine/safetensors.ts";

Deno.test("a header length past 2^53 is printed exactly (not rounded), with the lengths expected", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-header-"));
  for (const n of [2n ** 64n - 1n, 2n ** 53n + 1n, 93n]) {
    const bytes = new Uint8Array(100);
    new DataView(bytes.buffer).setBigUint64(0, n, true);
    const file = join(dir, `${n}.safetensors`);
    writeFileSync(file, bytes);
    assert.throws(
      () => readHeader(file),
      (e: Error) =>
        e.message === `${file}: header length ${n} does not fit in the file (100 bytes): expected 2 to 92 ` +
            "(the bytes after the length)",
    );
  }
  Deno.removeSync(dir, { recursive: true });
});
