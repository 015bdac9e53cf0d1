/**
 * tasks/records.ts's JSONL reader: lines read in 16 MiB chunks and decoded one by one, so that a file past what
 * one string holds reads as a small one does. Records longer than a chunk, lines and multi-byte characters
 * across chunk boundaries, a last line without its newline, CRLF, blank lines, and a bad byte or bad JSON named
 * by its line; a .json file (or a line) past one string's length said so, not called bad UTF-8.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import { readRecords } from "../../tasks/records.ts";

const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "hogwild-records-"));

Deno.test("JSONL: records across 16 MiB chunks read whole, each on its line", async () => {
  // 40 MiB: a record longer than a chunk, one whose "é" straddles the first boundary, CRLF, blank lines.
  const first = JSON.stringify({ id: 1, text: "a".repeat(16 * MiB - 17) + "é tail" });
  const lines = [
    first,
    "",
    JSON.stringify({ id: 2, text: "b".repeat(20 * MiB) }) + "\r",
    JSON.stringify({ id: 3, text: "ü".repeat(1000) }),
    JSON.stringify({ id: 4, text: "last, no newline" }),
  ];
  const file = join(dir, "big.jsonl");
  writeFileSync(file, lines.join("\n"));
  // The "é" starts one byte before the boundary, its second byte after it.
  assert.equal(new TextEncoder().encode(first).indexOf(0xc3), 16 * MiB - 1);
  const { records } = await readRecords([file]);
  assert.deepEqual(records.map((r) => [r.line, r.value.id]), [[1, 1], [3, 2], [4, 3], [5, 4]]);
  assert.ok((records[0].value.text as string).endsWith("aé tail"));
  assert.equal((records[1].value.text as string).length, 20 * MiB);
  assert.equal(records[2].value.text, "ü".repeat(1000));
});

Deno.test("JSONL: a bad byte or bad JSON past the first chunk is named by its line", async () => {
  const big = JSON.stringify({ id: 1, text: "x".repeat(17 * MiB) });
  const bytes = (s: string) => new TextEncoder().encode(s);
  const badByte = join(dir, "bytes.jsonl");
  const head = bytes(big + '\n{"id": 2}\n{"id": "'), tail = bytes('"}\n');
  const all = new Uint8Array(head.length + 1 + tail.length);
  all.set(head), all[head.length] = 0xff, all.set(tail, head.length + 1);
  writeFileSync(badByte, all);
  await assert.rejects(readRecords([badByte]), /bytes\.jsonl:3: not valid UTF-8/);
  const badJson = join(dir, "json.jsonl");
  writeFileSync(badJson, big + '\n{"id": 2}\n{"id": \n');
  await assert.rejects(readRecords([badJson]), /json\.jsonl:3: not valid JSON/);
  const skipped = await readRecords([badJson], { skipBad: true });
  assert.deepEqual(skipped.records.map((r) => r.line), [1, 2]);
  assert.deepEqual(skipped.skipped.map((s) => s.line), [3]);
});

Deno.test("JSONL: a record holding a list of 200k values is read, not a stack overflow", async () => {
  const file = join(dir, "long-list.jsonl");
  const ids = Array.from({ length: 200_000 }, (_, i) => i);
  writeFileSync(file, JSON.stringify({ id: 1, text: "t", ids }) + "\n");
  const { records } = await readRecords([file]);
  assert.deepEqual(records[0].value.ids, ids);
});

Deno.test("parquet: bytes that are not UTF-8 in a text column are refused by file, row and column, never U+FFFD", async () => {
  const { parquetWrite, ByteWriter } = await import("hyparquet-writer");
  const enc = (s: string) => new TextEncoder().encode(s);
  // truncated, stray continuation, overlong, surrogate, past U+10FFFF, 0xff: each alone and inside text
  const bad = [[0xc3], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xe2, 0x82]]
    .flatMap((b) => [new Uint8Array(b), new Uint8Array([...enc("x é "), ...b, ...enc(" y")])]);
  const write = (file: string, column: Uint8Array[], kind: "text" | "bytes" | "list") => {
    const writer = new ByteWriter();
    const element = kind === "bytes"
      ? { name: "question", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" }
      : { name: "question", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" };
    parquetWrite(
      {
        writer,
        columnData: [
          { name: "question", data: kind === "list" ? column.map((c) => [enc("a"), c]) : column },
          { name: "answer", data: column.map((_, i) => String(i)) },
        ],
        schema: [
          { name: "root", num_children: 2 },
          ...(kind === "list"
            ? [
              { name: "question", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
              { name: "list", repetition_type: "REPEATED", num_children: 1 },
              { ...element, name: "element" },
            ]
            : [element]),
          { name: "answer", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        ],
      } as Parameters<typeof parquetWrite>[0],
    );
    writeFileSync(file, new Uint8Array(writer.getBuffer()));
  };
  for (const [i, b] of bad.entries()) {
    const row = 1 + i % 3, kind = (["text", "bytes", "list"] as const)[i % 3];
    const column = [enc("What is 1?"), enc("Où est 2? 😀"), enc("3?")];
    column[row - 1] = b;
    const file = join(dir, `bad-${i}.parquet`);
    write(file, column, kind);
    const field = kind === "list" ? "question[1]" : "question";
    await assert.rejects(
      readRecords([file]),
      (e: Error) => e instanceof InputError && e.message === `${file} row ${row}: field "${field}" is not valid UTF-8`,
      `${[...b]} ${kind}`,
    );
    const skipped = await readRecords([file], { skipBad: true });
    assert.deepEqual(skipped.skipped.map((s) => s.line), [row]);
    assert.equal(skipped.records.length, 2);
    assert.ok(skipped.records.every((r) => !JSON.stringify(r.value).includes("\ufffd")));
  }
  // good text of every width reads as written
  const good = join(dir, "good.parquet");
  write(good, [enc("a"), enc("é"), enc("€😀")], "text");
  assert.deepEqual((await readRecords([good])).records.map((r) => r.value.question), ["a", "é", "€😀"]);
});

/**
 * Decoding with V8's string limit made `limit` characters (it is ~512 MiB; a file that size is not written here):
 * past it, decode throws the TypeError that Deno's does, as bad bytes do.
 */
async function withStringLimit(limit: number, run: () => Promise<void>) {
  const real = TextDecoder.prototype.decode;
  TextDecoder.prototype.decode = function (this: TextDecoder, ...args: Parameters<TextDecoder["decode"]>) {
    const text = real.apply(this, args);
    if (text.length > limit) throw new TypeError("Cannot allocate String from UTF-16: buffer exceeds maximum length.");
    return text;
  };
  try {
    await run();
  } finally {
    TextDecoder.prototype.decode = real;
  }
}

Deno.test("a .json file or a JSONL line past what one string holds is said so, not called bad UTF-8", async () => {
  await withStringLimit(1.5 * MiB, async () => {
    const lines = [
      `{"data": [{"id": 1, "text": "${"é".repeat(MiB / 2)}"},`,
      `{"id": 2, "text": "${"a".repeat(MiB)}"}]}`,
    ];
    const json = join(dir, "big.json");
    writeFileSync(json, lines.join("\n")); // 2 MiB, 1.5 Mi characters and more
    await assert.rejects(
      readRecords([json]),
      (e: Error) =>
        e instanceof InputError &&
        e.message ===
          `${json}: 2 MiB is more than one JSON text can hold here; write it as .jsonl (one record per line)`,
    );
    // bad bytes in a file that size are still named by their line
    const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
    bytes[bytes.length - 3] = 0xff;
    writeFileSync(json, bytes);
    await assert.rejects(
      readRecords([json]),
      (e: Error) => e instanceof InputError && e.message === `${json}:2: not valid UTF-8`,
    );
    // a JSONL line that long: named by its line
    const jsonl = join(dir, "long-line.jsonl");
    writeFileSync(jsonl, `{"id": 1}\n{"id": 2, "text": "${"a".repeat(2 * MiB)}"}\n`);
    await assert.rejects(
      readRecords([jsonl]),
      (e: Error) =>
        e instanceof InputError && e.message === `${jsonl}:2: a line of 2 MiB is more than one JSON text can hold here`,
    );
  });
});

Deno.test("a lone surrogate (a JSON escape of half a character) in a record is refused by file, line and field, never U+FFFD", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lone-"));
  const halves = ["\\ud83e", "\\udde0", "\\ud83e\\ud83e\\udde0", "\\udde0\\ud83e", "x\\ud800", "\\udfffy"];
  let n = 0;
  for (const half of halves) {
    for (
      const [field, json] of [["problem", `"a ${half} b"`], ["meta.note", `{"note": "${half}"}`], [
        "list[1]",
        `["ok", "${half}"]`,
      ]]
    ) {
      const top = field.split(/[.[]/)[0];
      const file = join(dir, `r${n++}.jsonl`);
      writeFileSync(file, `{"problem": "fine 🧠", "answer": "1"}\n{"answer": "2", "${top}": ${json}}\n`);
      await assert.rejects(
        () => readRecords([file]),
        (e: Error) =>
          e instanceof InputError && e.message.includes(`${file}:2`) &&
          e.message.includes(`field "${field}" holds half a character`),
        `${half} in ${field}`,
      );
    }
  }
  // whole pairs, written as escapes or as they are, read as the text
  const file = join(dir, "whole.jsonl");
  writeFileSync(file, `{"problem": "\\ud83e\\udde0 and 🧠", "answer": "1"}\n`);
  assert.equal((await readRecords([file])).records[0].value.problem, "🧠 and 🧠");
});
