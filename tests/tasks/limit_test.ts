/**
 * --limit N where each problem is one record's: the read stops at the Nth problem. The records after it are
 * counted (the set's count, `expected`, the notes), neither parsed nor checked; LiveCodeBench's private tests are
 * decoded for the problems taken only.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetWriteBuffer } from "hyparquet-writer";
import { loadTask, parseFields } from "../../tasks/registry.ts";
import { DATA_DIR, dataTest } from "../helpers.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "hogwild-limit-"));

function jsonl(dir: string, name: string, lines: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

const limoLine = (i: number) => JSON.stringify({ question: `What is ${i}?`, solution: "…", answer: String(i) });

/** `fn` run with every JSON.parse's text kept (the texts parsed, in order), and what it printed on stderr. */
async function spied<T>(fn: () => Promise<T>): Promise<{ value: T; parsed: string[]; printed: string[] }> {
  const parse = JSON.parse, error = console.error, parsed: string[] = [], printed: string[] = [];
  JSON.parse = function (text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) {
    parsed.push(String(text));
    return parse(text, reviver);
  };
  console.error = (...a: unknown[]) => void printed.push(a.join(" "));
  try {
    return { value: await fn(), parsed, printed };
  } finally {
    JSON.parse = parse;
    console.error = error;
  }
}

Deno.test("--limit N parses the first N records' lines only; the rest are counted for the set's notes", async () => {
  const lines = Array.from({ length: 6 }, (_, i) => limoLine(i));
  const data = jsonl(tmp(), "limo.jsonl", [...lines.slice(0, 3), "", ...lines.slice(3)]);
  const { value, parsed } = await spied(() => loadTask("limo", { data, limit: 2 }));
  assert.deepEqual(value.problems.map((p) => p.text), ["What is 0?", "What is 1?"]);
  assert.deepEqual(parsed.filter((t) => lines.includes(t)), lines.slice(0, 2));
  // the count and the notes as a whole read has them: 6 records (the blank line none), 6 problems
  assert.deepEqual(value.notes, [
    `${data}: 6 records, task limo has 817: these results are not limo's whole set`,
    "--limit 2: the first 2 of limo's 6 problems: these results are not limo's whole set",
  ]);
  // a limit at and past the set reads it whole, and says so as before
  for (const [limit, notes] of [[6, []], [9, ["--limit 9: limo has 6 problems"]]] as const) {
    const whole = await spied(() => loadTask("limo", { data, limit }));
    assert.deepEqual(whole.parsed.filter((t) => lines.includes(t)), lines);
    assert.deepEqual(whole.value.notes.slice(1), notes);
  }
});

Deno.test("--limit: a bad line after the Nth problem is neither read nor skipped; one before it is as before", async () => {
  const dir = tmp(), fields = parseFields("question=q,answer=a");
  const line = (i: number) => JSON.stringify({ q: `${i}+1?`, a: String(i + 1) });
  const data = jsonl(dir, "d.jsonl", [line(1), line(2), "not json", JSON.stringify({ q: "x" }), line(3)]);
  for (const skipBad of [false, true]) {
    const r = await loadTask("custom", { data, fields, limit: 2, skipBad });
    assert.deepEqual(r.problems.map((p) => p.id), ["0", "1"]);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.notes, [
      "--limit 2: the first 2 of custom's 5 problems: these results are not custom's whole set",
    ]);
  }
  // within the limit, the same errors as without it
  await assert.rejects(loadTask("custom", { data, fields, limit: 3 }), /d\.jsonl:3: not valid JSON/);
  await assert.rejects(loadTask("custom", { data, fields }), /d\.jsonl:3: not valid JSON/);
  const skipped = await loadTask("custom", { data, fields, limit: 3, skipBad: true });
  assert.deepEqual(skipped.problems.map((p) => p.id), ["0", "1", "4"]);
  assert.deepEqual(skipped.skipped.map((s) => s.line), [3, 4]);
  // a second file past the limit is counted, not read
  const two = join(dir, "two");
  mkdirSync(two);
  jsonl(two, "a.jsonl", [line(1), line(2)]);
  jsonl(two, "b.jsonl", ["{ not json", "", line(3)]);
  writeFileSync(join(two, "c.json"), JSON.stringify([{ q: "y" }, "not a record"]));
  const rows = [{ q: "1?", a: "2" }, { q: "3?", a: "" }];
  writeFileSync(
    join(two, "d.parquet"),
    new Uint8Array(parquetWriteBuffer({
      columnData: ["q", "a"].map((name) => ({ name, data: rows.map((r) => r[name as "q"]), type: "STRING" as const })),
    })),
  );
  const r = await loadTask("custom", { data: two, fields, limit: 1 });
  assert.deepEqual(r.notes, [
    "--limit 1: the first 1 of custom's 8 problems: these results are not custom's whole set",
  ]);
  // a file past the limit that holds no record is refused as before
  jsonl(two, "e.jsonl", [""]);
  await assert.rejects(loadTask("custom", { data: two, fields, limit: 1 }), /e\.jsonl: holds no records/);
});

Deno.test("--limit with --data-dir: a file with the wrong record count is refused, its records past N counted", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "gsm8k"));
  const q = (i: number) => JSON.stringify({ question: `${i}?`, answer: `#### ${i}` });
  jsonl(dir, "gsm8k/test.jsonl", Array.from({ length: 5 }, (_, i) => q(i)));
  await assert.rejects(
    loadTask("gsm8k", { dataDir: dir, limit: 2 }),
    /gsm8k[/\\]test\.jsonl: 5 records, task gsm8k has 1319/,
  );
});

dataTest("--limit 3 on the shared GSM8K parses 3 lines, and says the set's 1319", async () => {
  const file = join(DATA_DIR, "gsm8k", "test.jsonl");
  const lines = new Set(readFileSync(file, "utf8").split("\n"));
  const { value, parsed } = await spied(() => loadTask("gsm8k", { dataDir: DATA_DIR, limit: 3 }));
  assert.equal(parsed.filter((t) => lines.has(t)).length, 3);
  assert.deepEqual(value.problems.map((p) => p.id), ["0", "1", "2"]);
  assert.deepEqual(value.notes, [
    "--limit 3: the first 3 of gsm8k's 1319 problems: these results are not gsm8k's whole set",
  ]);
});

const LCB = fileURLToPath(new URL("../fixtures/lcb/problems.jsonl", import.meta.url));

Deno.test("lcb --limit 2 decodes the private tests of the 2 problems it takes, and reads no record after them", async () => {
  const rows: Record<string, string>[] = readFileSync(LCB, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const privates = rows.map((r) => r.private_test_cases);
  const lcbDates = { from: "2024-08-02" }; // the first record's date is before it: read for its date, not decoded
  const { value, parsed, printed } = await spied(() => loadTask("lcb", { data: LCB, limit: 2, lcbDates }));
  assert.deepEqual(value.problems.map((p) => p.id), ["lcbx2_b", "9001"]);
  // every private test list is tried as JSON first (the compressed ones then decompressed): two tried here
  assert.deepEqual(parsed.filter((t) => privates.includes(t)), [privates[1], privates[2]]);
  assert.deepEqual(parsed.filter((t) => rows.some((r) => t.includes(`"question_id": "${r.question_id}"`))).length, 3);
  // the same problems, tests and all, as the whole read's first two
  const whole = await spied(() => loadTask("lcb", { data: LCB, lcbDates }));
  assert.deepEqual(value.problems, whole.value.problems.slice(0, 2));
  assert.equal(whole.parsed.filter((t) => privates.includes(t)).length, 5);
  assert.deepEqual(printed, [
    "lcb: the first 2 problems of 3 records read (--limit; the 4 after them not read), contest dates " +
    "2024-08-02..the last",
  ]);
  assert.deepEqual(value.notes, [
    `${LCB}: 7 records, task lcb has 880: these results are not lcb's whole set`,
    "--limit 2: the first 2 of lcb's problems (the records after them not read): these results are not lcb's " +
    "whole set",
  ]);
  // a limit past the window's problems reads them all, and says what a whole read says
  const all = await spied(() => loadTask("lcb", { data: LCB, limit: 9 }));
  assert.deepEqual(all.printed, ["lcb: 5 of 7 problems, contest dates 2024-08-01..2025-02-01"]);
  assert.deepEqual(all.value.notes.slice(1), ["--limit 9: lcb has 5 problems"]);
  // none in the window, read to the end: refused as a whole read is
  await assert.rejects(
    spied(() => loadTask("lcb", { data: LCB, limit: 2, lcbDates: { from: "2026-01-01" } })),
    /lcb: none of the 7 problems has a contest date in 2026-01-01\.\.the last/,
  );
});

Deno.test("custom --fields id=NAME with --limit: the id field looked for in the records read, said so", async () => {
  const data = jsonl(tmp(), "c.jsonl", [
    JSON.stringify({ q: "1?", a: "1" }),
    JSON.stringify({ q: "2?", a: "2" }),
    JSON.stringify({ q: "3?", a: "3", uid: "x" }),
  ]);
  const fields = parseFields("question=q,answer=a,id=uid");
  await assert.rejects(
    loadTask("custom", { data, fields, limit: 2 }),
    /--fields id=uid: none of the 2 records read \(--limit 2; the 1 after them not read\) has a field "uid"/,
  );
  assert.deepEqual((await loadTask("custom", { data, fields, limit: 3 })).problems.map((p) => p.id), ["0", "1", "x"]);
});
