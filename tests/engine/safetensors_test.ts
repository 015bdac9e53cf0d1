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

Deno.test("a header naming one tensor twice is refused naming that tensor, not the next one as overlapping", () => {
  const file = join(mkdtempSync(join(tmpdir(), "hogwild-dup-")), "model.safetensors");
  const entry = (b: number) => `{"dtype":"BF16","shape":[2],"data_offsets":[${b},${b + 4}]}`;
  for (
    const [header, data] of [
      // a writer that emitted a.weight twice: once where it is, once over b's bytes
      [`{"a.weight":${entry(0)},"b.weight":${entry(4)},"a.weight":${entry(4)}}`, 8],
      // the same bytes twice, and a key escaped into the same name
      [
        `{"__metadata__":{"a.weight":"x"},"a.weight":${entry(0)},"b.weight":${entry(4)},"a\\u002eweight":${entry(0)}}`,
        8,
      ],
    ] as const
  ) {
    let json = header;
    json += " ".repeat((8 - json.length % 8) % 8);
    const out = new Uint8Array(8 + json.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(new TextEncoder().encode(json), 8);
    writeFileSync(file, out);
    assert.throws(
      () => readHeader(file),
      /model\.safetensors: tensor "a\.weight" is named twice in the header/,
      header,
    );
  }
});
