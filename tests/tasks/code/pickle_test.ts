/**
 * tasks/code/pickle.ts: Python's pickles of one str (every protocol, made by tests/fixtures/lcb/make.py) read back;
 * anything else refused by its opcode.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";
import { InputError } from "../../../engine/errors.ts";
import { unpickleString } from "../../../tasks/code/pickle.ts";

const SAMPLES = JSON.parse(readFileSync(new URL("../../fixtures/lcb/pickles.json", import.meta.url), "utf8"));
const bytes = (data: string) => new Uint8Array(inflateSync(Buffer.from(data, "base64")));
const WHERE = 'x.jsonl:3: field "private_test_cases"';

Deno.test("pickle: a str pickled by Python in protocols 0 to 5 reads back exactly (escapes, non-Latin-1, NUL)", () => {
  assert.deepEqual(SAMPLES.strings.map((s: { protocol: number }) => s.protocol), [0, 1, 2, 3, 4, 5]);
  for (const s of SAMPLES.strings) {
    assert.equal(unpickleString(bytes(s.data), WHERE), SAMPLES.text, `protocol ${s.protocol}`);
  }
  for (const s of SAMPLES.long) {
    assert.equal(unpickleString(bytes(s.data), WHERE), "ab".repeat(35000), `long, protocol ${s.protocol}`);
  }
});

Deno.test("pickle: protocol 0's raw-unicode-escape: \\u escapes after an odd number of backslashes only", () => {
  const p0 = (body: string) => new Uint8Array([0x56, ...Buffer.from(body, "latin1"), 0x0a, 0x2e]);
  assert.equal(unpickleString(p0("a\\u0041"), WHERE), "aA");
  assert.equal(unpickleString(p0("a\\\\u0041"), WHERE), "a\\\\u0041");
  assert.equal(unpickleString(p0("a\\\\\\u0041"), WHERE), "a\\\\A");
  assert.equal(unpickleString(p0("\\U0001F600\xe9\\"), WHERE), "😀é\\");
  assert.throws(() => unpickleString(p0("\\u004"), WHERE), /truncated \\u escape/);
  assert.throws(() => unpickleString(p0("\\U00110000"), WHERE), /out of range/);
});

Deno.test("pickle: BINUNICODE8 (Python writes it only past 4 GiB) and the memo opcodes", () => {
  const text = Buffer.from("é!", "utf8");
  const len8 = new Uint8Array(8);
  new DataView(len8.buffer).setBigUint64(0, BigInt(text.length), true);
  const p = new Uint8Array([0x80, 5, 0x8d, ...len8, ...text, 0x94, 0x72, 1, 0, 0, 0, 0x2e]);
  assert.equal(unpickleString(p, WHERE), "é!");
});

Deno.test("pickle: anything but one string is refused by name (field and opcode), never run", () => {
  const refused = SAMPLES.refused.map((s: { data: string }) => bytes(s.data));
  for (
    const [i, pattern] of [[0, /opcode 0x5d at byte 11/], [1, /opcode 0x63 at byte 0/], [
      2,
      /opcode 0x4b at byte 2/,
    ]] as const
  ) {
    assert.throws(
      () => unpickleString(refused[i], WHERE),
      (e: Error) =>
        e instanceof InputError && e.message.startsWith(`${WHERE}: not a pickled string (`) && pattern.test(e.message),
    );
  }
  for (
    const [p, pattern] of [
      [[0x80, 6], /protocol 6/],
      [[0x58, 9, 0, 0, 0, 0x61], /BINUNICODE runs past the end/],
      [[0x8c, 2, 0xff, 0xfe, 0x2e], /SHORT_BINUNICODE is not UTF-8/],
      [[0x94, 0x2e], /MEMOIZE with nothing to remember/],
      [[0x8c, 1, 0x61, 0x8c, 1, 0x62, 0x2e], /STOP with 2 values/],
      [[0x8c, 1, 0x61], /no STOP/],
      [[0x56, 0x61], /UNICODE has no end of line/],
    ] as [number[], RegExp][]
  ) {
    assert.throws(() => unpickleString(new Uint8Array(p), WHERE), pattern);
  }
});
