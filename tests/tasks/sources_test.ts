/** Where problems come from: local JSONL/JSON/parquet, the --data-dir layout, the hub's cache; bad input. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { InputError } from "../../engine/errors.ts";
import { cachedFile, hubFile } from "../../engine/hub.ts";
import { loadTask, parseFields, TASKS } from "../../tasks/registry.ts";
import { skippedText } from "../../tasks/records.ts";
import { DATA_DIR, dataTest } from "../helpers.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "hogwild-tasks-"));
}

function jsonl(dir: string, name: string, lines: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

const limoLine = (i: number, answer = String(i)) =>
  JSON.stringify({ question: `What is ${i}?`, solution: "…", answer });

Deno.test("LIMO from a local file in its format (JSONL, JSON and parquet give the same problems)", async () => {
  const dir = tmp();
  const lines = Array.from({ length: 5 }, (_, i) => limoLine(i));
  const a = await loadTask("limo", { data: jsonl(dir, "limo.jsonl", lines) });
  writeFileSync(join(dir, "limo.json"), JSON.stringify({ data: lines.map((l) => JSON.parse(l)) }));
  const b = await loadTask("limo", { data: join(dir, "limo.json") });
  const rows = lines.map((l) => JSON.parse(l));
  const buf = parquetWriteBuffer({
    columnData: ["question", "solution", "answer"].map((name) => ({
      name,
      data: rows.map((r) => r[name]),
      type: "STRING" as const,
    })),
  });
  writeFileSync(join(dir, "limo.parquet"), new Uint8Array(buf));
  const c = await loadTask("limo", { data: join(dir, "limo.parquet") });
  assert.equal(a.problems.length, 5);
  assert.deepEqual(b.problems, a.problems);
  assert.deepEqual(c.problems.map((p) => [p.text, p.golds]), a.problems.map((p) => [p.text, p.golds]));
  assert.equal(a.problems[3].text, "What is 3?");
  assert.deepEqual(a.problems[3].golds, ["3"]);
  const folder = await loadTask("limo", { data: dir }); // a folder: all its data files, by name
  assert.equal(folder.problems.length, 15);
  assert.equal(folder.files.length, 3);
  // a part of a named set, and a text given twice, are said (a user's subset is allowed, never silent)
  assert.deepEqual(a.notes, [
    `${dir}/limo.jsonl: 5 records, task limo has 817: these results are not limo's whole set`,
  ]);
  assert.equal(folder.notes.length, 2);
  assert.match(folder.notes[1], /: 10 problems repeat an earlier one's text \("0" and "5"\): each counts$/);
});

Deno.test("a parquet answer column of 32- or 16-bit floats or decimals is refused where read (its numbers are not the ones written)", async () => {
  const dir = tmp();
  const question = ["What is 0.1?", "What is 2.1?"];
  for (
    const [type, kind] of [["FLOAT", "a 32-bit float"], ["FLOAT16", "a 16-bit float"], ["DOUBLE", undefined]] as const
  ) {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: "question", data: question, type: "STRING" },
        { name: "answer", data: [0.1, 2.1], type },
      ],
    });
    const file = join(dir, `${type}.parquet`);
    writeFileSync(file, new Uint8Array(buf));
    const load = loadTask("custom", { data: file });
    if (kind === undefined) {
      assert.deepEqual((await load).problems.map((p) => p.golds), [["0.1"], ["2.1"]]); // a double prints as written
      continue;
    }
    await assert.rejects(
      load,
      (e: Error) =>
        e instanceof InputError && e.message.includes(`field "answer" is ${kind} column`) &&
        e.message.startsWith(`${file} row 1:`),
      type,
    );
  }
});

Deno.test("a file with more records than its set's whole count is said to hold more, not a part", async () => {
  const dir = tmp();
  const f = jsonl(dir, "limo.jsonl", Array.from({ length: 820 }, (_, i) => limoLine(i)));
  assert.deepEqual((await loadTask("limo", { data: f })).notes, [
    `${f}: 820 records, task limo has 817: more than its whole set (a folder of several copies, or another split?)`,
  ]);
});

Deno.test("limo-512 is the first 512 problems", async () => {
  const dir = tmp();
  const f = jsonl(dir, "limo.jsonl", Array.from({ length: 817 }, (_, i) => limoLine(i)));
  const all = await loadTask("limo", { data: f }), first = await loadTask("limo-512", { data: f });
  assert.equal(all.problems.length, 817);
  assert.equal(first.problems.length, 512);
  assert.deepEqual(first.problems.map((p) => p.text), all.problems.slice(0, 512).map((p) => p.text));
  assert.equal(first.problems[0].task, "limo-512");
  assert.deepEqual([all.notes, first.notes], [[], []]);
  // its source is checked as limo's: a part of the set is said aloud, and the project's layout must hold it all
  const part = jsonl(tmp(), "limo.jsonl", Array.from({ length: 300 }, (_, i) => limoLine(i)));
  assert.deepEqual((await loadTask("limo-512", { data: part })).notes, [
    `${part}: 300 records, task limo-512 takes the first 512 of 817: these results are not limo-512's whole set`,
  ]);
  const most = jsonl(tmp(), "limo.jsonl", Array.from({ length: 600 }, (_, i) => limoLine(i)));
  assert.deepEqual((await loadTask("limo-512", { data: most })).notes, [
    `${most}: 600 records, task limo-512 takes the first 512 of 817: its first 512 are limo-512 only if the file keeps the set's order`,
  ]);
  const layout = tmp();
  mkdirSync(join(layout, "limo"));
  jsonl(join(layout, "limo"), "limo.jsonl", Array.from({ length: 600 }, (_, i) => limoLine(i)));
  await assert.rejects(
    loadTask("limo-512", { dataDir: layout }),
    /600 records, task limo-512 takes the first 512 of 817/,
  );
});

Deno.test("limo-512 with --skip-bad: the first 512 records, a skipped one among them let no later one in, said aloud", async () => {
  // malformed records at generated places, both kinds (not JSON; a field the task refuses), inside and past 512
  for (const bad of [[0], [3, 511], [100, 200, 300], [511, 512, 700], [600]]) {
    const lines = Array.from({ length: 817 }, (_, i) => limoLine(i));
    for (const [k, i] of bad.entries()) lines[i] = k % 2 ? JSON.stringify({ question: "no answer" }) : "{ not json";
    const f = jsonl(tmp(), "limo.jsonl", lines);
    const r = await loadTask("limo-512", { data: f, skipBad: true });
    const inside = bad.filter((i) => i < 512);
    const kept = Array.from({ length: 512 }, (_, i) => i).filter((i) => !inside.includes(i));
    assert.deepEqual(r.problems.map((p) => p.id), kept.map(String), `bad at ${bad}`);
    // what was skipped is of those 512: a malformed record past them is no part of the task
    assert.deepEqual(r.skipped.map((s) => s.line - 1), inside, `bad at ${bad}`);
    assert.deepEqual(
      r.notes,
      inside.length
        ? [
          `${f}: ${inside.length} of the first 512 records skipped as malformed: limo-512 here is ${kept.length} problems`,
        ]
        : [],
      `bad at ${bad}`,
    );
  }
});

Deno.test("a generated task refuses --data and --hub (the file would be recorded as the run's data, never read)", async () => {
  for (const task of ["chains", "synthetic"]) {
    await assert.rejects(
      loadTask(task, { data: "q.jsonl" }),
      /--data and --hub: task \w+ is generated, it reads no data/,
    );
    await assert.rejects(loadTask(task, { hub: "hf:a/b" }), /--data and --hub: task \w+ is generated/);
  }
});

Deno.test("a malformed line is one error with the file and line, or skipped and counted on request", async () => {
  const dir = tmp();
  const f = jsonl(dir, "bad.jsonl", [
    limoLine(0),
    "{ not json",
    limoLine(2),
    JSON.stringify({ question: "no answer" }),
  ]);
  await assert.rejects(
    loadTask("limo", { data: f }),
    (e: Error) => e instanceof InputError && /bad\.jsonl:2: not valid JSON/.test(e.message),
  );
  const skipped = tmp();
  const g = jsonl(skipped, "x.jsonl", [limoLine(0), "{ not json", limoLine(2)]);
  const r = await loadTask("limo", { data: g, skipBad: true });
  assert.equal(r.problems.length, 2);
  assert.deepEqual(r.skipped.map((s) => s.line), [2]);
  // An id from the record's place in the file: the skipped line shifts no later problem's id (a run on the
  // mended file pairs with this one problem by problem).
  assert.deepEqual(r.problems.map((p) => p.id), ["0", "2"]);
  const gsm = jsonl(
    tmp(),
    "test.jsonl",
    [0, 1, 2].map((i) => JSON.stringify({ question: `q${i}?`, answer: `#### ${i}` })),
  );
  writeFileSync(gsm, readFileSync(gsm, "utf8").replace('"q1?"', "q1?"));
  const g8 = await loadTask("gsm8k", { data: gsm, skipBad: true });
  assert.deepEqual(g8.problems.map((p) => [p.id, p.golds[0]]), [["0", "0"], ["2", "2"]]);
  // a record the task's own field readers refuse is malformed too: skipped and counted with its line
  const both = await loadTask("limo", { data: f, skipBad: true });
  assert.deepEqual(both.problems.map((p) => p.id), ["0", "2"]);
  assert.deepEqual(both.skipped.map((s) => [s.line, s.reason]), [[
    2,
    "not valid JSON (Expected property name or '}' in JSON at position 2 (line 1 column 3))",
  ], [4, 'missing field "answer"']]);
  const mine = jsonl(tmp(), "mine.jsonl", [
    JSON.stringify({ q: "1+1?", target: "2" }),
    JSON.stringify({ q: "2+2?", target: "" }),
    JSON.stringify({ q: "3+3?", target: "6" }),
  ]);
  const fields = parseFields("question=q,answer=target");
  await assert.rejects(loadTask("custom", { data: mine, fields }), /mine\.jsonl:2: field "target" is empty/);
  const kept = await loadTask("custom", { data: mine, fields, skipBad: true });
  assert.deepEqual(kept.problems.map((p) => [p.id, p.golds[0]]), [["0", "2"], ["2", "6"]]);
  assert.deepEqual(kept.skipped.map((s) => [s.line, s.reason]), [[2, 'field "target" is empty']]);
  // every record refused: no problems is no run
  const none = jsonl(tmp(), "none.jsonl", [JSON.stringify({ q: "1+1?", target: "" })]);
  await assert.rejects(
    loadTask("custom", { data: none, fields, skipBad: true }),
    /none\.jsonl: every record skipped as malformed \(.*none\.jsonl:1: field "target" is empty\)/,
  );
});

Deno.test("a --limit below the set's size is a note, as a part of a set is: the results are not its whole set", async () => {
  // every limit below, at and past the size of a generated set and of a data file
  const dir = tmp(),
    data = jsonl(dir, "four.jsonl", [1, 2, 3, 4].map((i) => JSON.stringify({ q: `${i}+1?`, a: `${i + 1}` })));
  const fields = parseFields("question=q,answer=a");
  for (const limit of [1, 2, 3, 4, 5]) {
    const made = await loadTask("synthetic", { synthetic: { count: 4 }, limit });
    const read = await loadTask("custom", { data, fields, limit });
    for (const [r, id] of [[made, "synthetic"], [read, "custom"]] as const) {
      assert.equal(r.problems.length, Math.min(limit, 4));
      assert.deepEqual(
        r.notes,
        limit < 4
          ? [`--limit ${limit}: the first ${limit} of ${id}'s 4 problems: these results are not ${id}'s whole set`]
          : limit > 4
          ? [`--limit ${limit}: ${id} has 4 problems`]
          : [],
      );
    }
  }
});

Deno.test("a generated task notes a --limit past its problems, as a data set does", async () => {
  const r = await loadTask("synthetic", { synthetic: { count: 2 }, limit: 5 });
  assert.equal(r.problems.length, 2);
  assert.deepEqual(r.notes, ["--limit 5: synthetic has 2 problems"]);
});

Deno.test("an id numbered by its record's position that another record names is said so, both lines named", async () => {
  const f = jsonl(tmp(), "ids.jsonl", [
    JSON.stringify({ question: "a?", answer: "1", id: "x" }),
    JSON.stringify({ question: "b?", answer: "2" }),
    JSON.stringify({ question: "c?", answer: "3", id: "1" }),
  ]);
  await assert.rejects(
    loadTask("custom", { data: f }),
    /ids\.jsonl: problem id "1" appears twice: line 2 has no "id" and was numbered 1 by its place among the records read; line 3 names "1" \(give every record an id, or none\)/,
  );
});

Deno.test("an id two records name is said with both lines", async () => {
  const f = jsonl(tmp(), "dup.jsonl", [
    JSON.stringify({ question: "a?", answer: "1", id: "a" }),
    JSON.stringify({ question: "b?", answer: "2", id: "b" }),
    JSON.stringify({ question: "c?", answer: "3", id: "a" }),
  ]);
  await assert.rejects(
    loadTask("custom", { data: f }),
    (
      e: Error,
    ) => (assert.match(e.message, /dup\.jsonl: problem id "a" appears twice: line 1 names "a"; line 3 names "a"$/),
      true),
  );
});

Deno.test("a short file for a task drawn from another's set names that set's count (gsm8k-x5 from gsm8k)", async () => {
  const dir = tmp();
  const f = jsonl(
    dir,
    "gsm8k.jsonl",
    Array.from({ length: 1300 }, (_, i) => JSON.stringify({ question: `What is ${i}+1?`, answer: `#### ${i + 1}` })),
  );
  const r = await loadTask("gsm8k-x5", { data: f, seed: 1 });
  assert.deepEqual(r.notes, [
    `${f}: 1300 records, task gsm8k-x5 reads gsm8k, which has 1319: these results are not gsm8k-x5's whole set`,
  ]);
});

Deno.test("a bad record is placed as its format counts: a JSONL line, a JSON list's record, a parquet row", async () => {
  const good = (i: number) => ({ question: `q${i}?`, answer: String(i) });
  for (const at of [1, 2, 5]) {
    const rows = Array.from({ length: 5 }, (_, i) => good(i));
    rows[at - 1] = { question: `q${at}?`, answer: "" };
    const dir = tmp();
    const files: [string, string][] = [
      [jsonl(dir, "d.jsonl", rows.map((r) => JSON.stringify(r))), `:${at}`],
      [join(dir, "d.json"), ` record ${at}`],
      [join(dir, "d.parquet"), ` row ${at}`],
    ];
    // a JSON list spread over lines: its record 2 is not on line 2
    writeFileSync(files[1][0], JSON.stringify({ data: rows }, null, 2));
    writeFileSync(
      files[2][0],
      new Uint8Array(parquetWriteBuffer({
        columnData: ["question", "answer"].map((name) => ({
          name,
          data: rows.map((r) => r[name as "question"]),
          type: "STRING" as const,
        })),
      })),
    );
    for (const [file, place] of files) {
      await assert.rejects(
        loadTask("custom", { data: file }),
        (e: Error) => e.message === `${file}${place}: field "answer" is empty`,
        file,
      );
      const r = await loadTask("custom", { data: file, skipBad: true });
      assert.equal(skippedText(r.skipped), `skipped 1 malformed records (${file}${place})`);
    }
    // not an object, in a JSON list
    writeFileSync(files[1][0], JSON.stringify(rows.map((r, i) => i === at - 1 ? 7 : r)));
    await assert.rejects(
      loadTask("custom", { data: files[1][0] }),
      (e: Error) => e.message === `${files[1][0]} record ${at}: expected a JSON object`,
    );
  }
});

Deno.test("records without ids in several files are numbered by their place among all records, never twice", async () => {
  // aime25's two-file layout, math500, olympiadbench and the competition sets, each file without ids
  const record: Record<string, (i: number) => Record<string, unknown>> = {
    aime25: (i) => ({ problem: `p${i}?`, answer: String(i) }),
    aime24: (i) => ({ problem: `p${i}?`, answer: String(i) }),
    math500: (i) => ({ problem: `p${i}?`, answer: String(i) }),
    olympiadbench: (i) => ({ question: `p${i}?`, final_answer: [String(i)], is_multiple_answer: false }),
  };
  for (const [task, make] of Object.entries(record)) {
    for (const sizes of [[15, 15], [1, 4, 2], [7]]) {
      const dir = tmp();
      let n = 0;
      for (const [f, size] of sizes.entries()) {
        jsonl(dir, `part-${f}.jsonl`, Array.from({ length: size }, () => JSON.stringify(make(n++))));
      }
      const r = await loadTask(task, { data: dir });
      // from 1: in one file, its line, as before
      assert.deepEqual(r.problems.map((p) => p.id), Array.from({ length: n }, (_, i) => String(i + 1)), task);
      assert.deepEqual(r.problems.map((p) => p.golds[0]), Array.from({ length: n }, (_, i) => String(i)), task);
    }
  }
  const layout = tmp();
  mkdirSync(join(layout, "aime25"));
  for (const half of ["I", "II"]) {
    jsonl(
      join(layout, "aime25"),
      `test2025-${half}.jsonl`,
      Array.from({ length: 15 }, (_, i) => JSON.stringify(record.aime25(i))),
    );
  }
  assert.equal((await loadTask("aime25", { dataDir: layout })).problems.length, 30);
  // a number a record's place gave that another record names is still refused, both places said
  const two = tmp();
  jsonl(two, "a.jsonl", [JSON.stringify({ id: "2", problem: "p?", answer: "1" })]);
  jsonl(two, "b.jsonl", [JSON.stringify({ problem: "q?", answer: "2" })]);
  await assert.rejects(
    loadTask("aime24", { data: two }),
    /problem id "2" appears twice: .*a\.jsonl:1 names "2"; .*b\.jsonl:1 has no "id" and was numbered 2 by its place among the records read \(give every record an id, or none\)/,
  );
});

Deno.test("broken escapes (\\frac written with one backslash) are caught, not read as a form feed", async () => {
  const dir = tmp();
  const f = jsonl(dir, "aime.jsonl", ['{"problem": "Find $\\frac{1}{2}$.", "answer": "5"}']);
  await assert.rejects(
    loadTask("aime25", { data: f }),
    /aime\.jsonl:1: field "problem" holds control characters \(U\+000C\)/,
  );
  // the field is named by its path, in a list or an object too
  const nested = jsonl(dir, "nested.jsonl", [
    '{"question": "q", "final_answer": ["1", "\\\\frac12", "\\frac12"], "is_multiple_answer": true}',
    '{"question": "q", "answer": "1", "meta": {"src": "a\\bb"}}',
    '{"question": "q", "answer": "1"}',
  ]);
  await assert.rejects(
    loadTask("olympiadbench", { data: nested }),
    /nested\.jsonl:1: field "final_answer\[2\]" holds control characters \(U\+000C\)/,
  );
  const skipped = await loadTask("custom", { data: nested, skipBad: true });
  assert.deepEqual(skipped.skipped.map((s) => s.reason.split(": ")[0]), [
    'field "final_answer[2]" holds control characters (U+000C)',
    'field "meta.src" holds control characters (U+0008)',
  ]);
});

Deno.test("a broken escape spoiling a maths problem is refused, in every format; tabs and line breaks as text are read", async () => {
  // "\\times" in JSON with one backslash is a tab and "imes": the gold would be graded as other text. An answer
  // is one line, so any tab or line break in one is broken ("\\nu": a line feed and "u")
  const broken: [Record<string, string>, string][] = [
    [{ question: "Q?", answer: "3\times 10^{8}" }, 'its answer holds a "\\t"'],
    [{ question: "Q?", answer: "\nu" }, 'its answer holds a "\\n"'],
    [{ question: "Q?", answer: "x^{\rho}" }, 'its answer holds a "\\r"'],
    [{ question: "Find $\theta$.", answer: "1" }, 'its text holds a "\\t" before "heta"'],
    [{ question: "As $x \to 0$?", answer: "1" }, 'its text holds a "\\t" before "o"'],
    [{ question: "Is $x \neq 2$?", answer: "1" }, 'its text holds a "\\n" before "eq"'],
    [{ question: "Is $x \rightarrow 2$?", answer: "1" }, 'its text holds a "\\r" before "i"'],
  ];
  for (const [record, said] of broken) {
    const dir = tmp(), line = JSON.stringify(record);
    const files = [jsonl(dir, "a.jsonl", [line]), join(dir, "a.json"), join(dir, "a.parquet")];
    const places = [":1", " record 1", " row 1"];
    writeFileSync(files[1], `[${line}]`);
    writeFileSync(
      files[2],
      new Uint8Array(parquetWriteBuffer({
        columnData: Object.entries(record).map(([name, v]) => ({ name, data: [v] })),
      })),
    );
    for (const [i, f] of files.entries()) {
      await assert.rejects(
        loadTask("custom", { data: f }),
        (e: Error) => e.message.startsWith(`${f}${places[i]}: problem "0": ${said}`),
        `${line} in ${f}`,
      );
    }
  }
  // malformed as a record that is not JSON is: --skip-bad skips it, counted with its line, and numbers no other
  const mixed = jsonl(tmp(), "mixed.jsonl", [
    JSON.stringify({ question: "Q1?", answer: "1" }),
    JSON.stringify({ question: "What is 2\times 3?", answer: "6" }),
    JSON.stringify({ question: "Q3?", answer: "3" }),
  ]);
  const skipped = await loadTask("custom", { data: mixed, skipBad: true });
  assert.deepEqual(skipped.problems.map((p) => p.text), ["Q1?", "Q3?"]);
  assert.deepEqual(skipped.skipped.map((s) => [s.line, s.reason.slice(0, 28)]), [[2, 'problem "1": its text holds ']]);
  // a file of which nothing reads (another format, or not JSON at all) is refused, not run as no problems
  const none = jsonl(tmp(), "none.jsonl", ["bad", "worse"]);
  await assert.rejects(
    loadTask("gsm8k", { data: none, skipBad: true }),
    /none\.jsonl: every record skipped as malformed \(.*none\.jsonl:1: not valid JSON/,
  );
  assert.equal(skippedText(skipped.skipped), `skipped 1 malformed records (${mixed}:2)`);
  // tabs and line breaks as text: a problem's lines, a table, CRLF, words that begin like a command's tail (and
  // "u" after a line break: \\nu is refused in answers only), a trailing line break after an answer
  const fine = jsonl(tmp(), "fine.jsonl", [
    JSON.stringify({ question: "Line one.\r\nThe next\tcolumn\nnot a command\nu = 3", answer: "1\n" }),
    JSON.stringify({ question: "A list:\nnumber one\nrho-like\ttimes two", answer: "2" }),
  ]);
  assert.equal((await loadTask("custom", { data: fine })).problems.length, 2);
});

Deno.test("AMC answers written as floats, OlympiadBench answers as a list inside a string", async () => {
  const dir = tmp();
  const amc = jsonl(dir, "amc.jsonl", [
    '{"id": 0, "problem": "p", "answer": 27.0}',
    '{"id": 1, "problem": "q", "answer": 3.5}',
  ]);
  const a = await loadTask("amc23", { data: amc });
  assert.deepEqual(a.problems.map((p) => p.golds), [["27"], ["3.5"]]);
  const ob = jsonl(dir, "ob.jsonl", [
    JSON.stringify({ id: 7, question: "q", final_answer: "['$\\\\frac{1}{2}$']", is_multiple_answer: false }),
    JSON.stringify({ id: 8, question: "r", final_answer: ["$1$", "$3$"], is_multiple_answer: true }),
  ]);
  const o = await loadTask("olympiadbench", { data: ob });
  assert.deepEqual(o.problems.map((p) => p.golds), [["\\frac{1}{2}"], ["1, 3"]]);
});

Deno.test("OlympiadBench's and physics' golds lose their math dollars only: an escaped \\$ (money) stays", async () => {
  // generated golds: pieces with and without escaped dollars, in math dollars or bare, as a list or a list's text
  const pieces = ["\\$", "5", " ", "x", "\\frac{1}{2}", "\\$ 2.00", "+", "\\\\", "\\%"];
  let seed = 7;
  const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length];
  const bodies = ["\\$5", "\\$ 1.50", "\\\\$x", ...Array.from({ length: 40 }, () => pick() + pick() + pick())]
    .filter((b) => b.trim() && !b.trim().endsWith("\\\\"));
  for (const [i, body] of bodies.entries()) {
    const written = i % 2 ? `$${body}$` : body, want = body.trim().replace(/^\\\\\$/, "\\\\");
    for (const final_answer of [[written], `['${written.replaceAll("\\", "\\\\")}']`]) {
      const f = jsonl(tmp(), "ob.jsonl", [
        JSON.stringify({ id: 1, question: "q", final_answer, is_multiple_answer: false }),
      ]);
      const ob = await loadTask("olympiadbench", { data: f });
      assert.deepEqual(ob.problems[0].golds, [want], JSON.stringify(final_answer));
      const physics = await loadTask("olympiadbench-physics", { data: f });
      assert.ok(physics.problems[0].golds[0].startsWith(`${want} ⟦`), JSON.stringify(final_answer));
    }
  }
});

Deno.test("OlympiadBench's final_answer: what was found said (missing, not a list of quoted answers, empty)", async () => {
  const cases: [unknown, RegExp][] = [
    // LIMO's reduced copy: id, question, answer
    [undefined, /:1: missing field "final_answer" \(the record holds "id", "question", "is_multiple_answer"\)$/],
    ["[0,1]", /:1: field "final_answer" is the text "\[0,1\]", not a list of quoted answers \(an interval\? write it/],
    ["['a', b]", /:1: field "final_answer" is the text "\['a', b\]", not a list of quoted answers/],
    ["[]", /:1: field "final_answer" is an empty list$/],
    [[], /:1: field "final_answer" is an empty list$/],
    [["1", 2], /:1: field "final_answer" must be a list of texts, got a list holding 2$/],
    [["$ $"], /:1: field "final_answer" holds an empty answer$/],
    [7, /:1: field "final_answer" must be a list of texts, got 7$/],
  ];
  for (const [final_answer, said] of cases) {
    const f = jsonl(tmp(), "ob.jsonl", [
      JSON.stringify({ id: 1, question: "q", final_answer, is_multiple_answer: false }),
    ]);
    for (const task of ["olympiadbench", "olympiadbench-physics"]) {
      await assert.rejects(loadTask(task, { data: f }), said, `${task} ${JSON.stringify(final_answer)}`);
    }
  }
  // a list's text as Python writes it, and one answer as text, are read
  const f = jsonl(tmp(), "ob.jsonl", [
    JSON.stringify({ id: 1, question: "q", final_answer: `[ '$1$', "$2$" ,]`, is_multiple_answer: true }),
    JSON.stringify({ id: 2, question: "q", final_answer: "$(0, 1]$", is_multiple_answer: false }),
  ]);
  assert.deepEqual((await loadTask("olympiadbench", { data: f })).problems.map((p) => p.golds), [["1, 2"], ["(0, 1]"]]);
});

Deno.test("OlympiadBench's is_multiple_answer and context are read only as what they must be, else refused by file, line and field", async () => {
  // several answers: true makes one gold of all (each required), false alternatives; any other value would turn
  // one into the other silently ("True" is not true)
  const several = ["$1$", "$3$"], one = ["$2$"];
  const ok: [unknown, string[], string[]][] = [
    [true, several, ["1, 3"]],
    [false, several, ["1", "3"]],
    [true, one, ["2"]],
    [null, one, ["2"]],
    [undefined, one, ["2"]],
  ];
  for (const [flag, answers, golds] of ok) {
    const f = jsonl(tmp(), "ob.jsonl", [
      JSON.stringify({ id: 1, question: "q", final_answer: answers, is_multiple_answer: flag }),
    ]);
    assert.deepEqual((await loadTask("olympiadbench", { data: f })).problems[0].golds, golds, String(flag));
  }
  const wrong: unknown[] = ["True", "False", "true", 1, 0, "", [], {}, [true]];
  for (const task of ["olympiadbench", "olympiadbench-physics"]) {
    for (const flag of [...wrong, ...task === "olympiadbench" ? [] : [null, undefined]]) {
      for (const answers of [several, one]) {
        const f = jsonl(tmp(), "ob.jsonl", [
          JSON.stringify({ id: 1, question: "q", final_answer: ["$5$"], is_multiple_answer: false }),
          JSON.stringify({ id: 2, question: "q", final_answer: answers, is_multiple_answer: flag }),
        ]);
        await assert.rejects(
          loadTask(task, { data: f }),
          (e: Error) =>
            e instanceof InputError &&
            e.message.startsWith(`${f}:2: `) && e.message.includes('field "is_multiple_answer"'),
          `${task} ${JSON.stringify(flag)} ${answers}`,
        );
      }
    }
  }
  // a parquet column of integers (read as bigints) is refused as any other value, not a TypeError
  const pq = join(tmp(), "ob.parquet");
  writeFileSync(
    pq,
    new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: "question", data: ["q"], type: "STRING" },
        { name: "final_answer", data: ['["$1$", "$3$"]'], type: "STRING" },
        { name: "is_multiple_answer", data: [1n], type: "INT64" },
      ],
    })),
  );
  await assert.rejects(
    loadTask("olympiadbench", { data: pq }),
    /field "is_multiple_answer" must be true or false, got 1$/,
  );
  // where it would decide between required and alternative answers, it must be there
  const missing = jsonl(tmp(), "ob.jsonl", [JSON.stringify({ id: 1, question: "q", final_answer: several })]);
  await assert.rejects(
    loadTask("olympiadbench", { data: missing }),
    /ob\.jsonl:1: missing field "is_multiple_answer": final_answer lists 2 answers/,
  );
  // a context not text is refused, not dropped from the problem
  for (const context of [["c"], { c: 1 }, true]) {
    const f = jsonl(tmp(), "ob.jsonl", [
      JSON.stringify({ id: 1, context, question: "q", final_answer: one, is_multiple_answer: false }),
    ]);
    for (const task of ["olympiadbench", "olympiadbench-physics"]) {
      await assert.rejects(loadTask(task, { data: f }), /ob\.jsonl:1: field "context" must be text/, task);
    }
  }
});

dataTest("the --data-dir layout, and the expected count guards a truncated set", async () => {
  const r = await loadTask("aime25", { dataDir: DATA_DIR });
  assert.equal(r.problems.length, 30);
  assert.deepEqual(r.problems.slice(0, 3).map((p) => p.golds[0]), ["70", "588", "16"]);
  const dir = tmp();
  mkdirSync(join(dir, "amc23"));
  jsonl(join(dir, "amc23"), "test.jsonl", ['{"id": 0, "problem": "p", "answer": 1.0}']);
  await assert.rejects(loadTask("amc23", { dataDir: dir }), /1 records, task amc23 has 40/);
  await assert.rejects(loadTask("aime24", { dataDir: tmp() }), /aime24\/test\.jsonl: no such file \(--data-dir /);
});

Deno.test("unknown tasks and missing sources get a clear error", async () => {
  await assert.rejects(loadTask("mmlu"), /unknown task "mmlu"; known: limo, limo-512, gsm8k/);
  await assert.rejects(loadTask("aime24", { hub: "nonsense" }), /--hub: expected hf:OWNER\/NAME\[@REVISION\]\[:FILE\]/);
  assert.ok(Object.keys(TASKS).length >= 10);
});

/** A hub cache as @huggingface/hub lays it out: datasets--OWNER--NAME/{refs/main, snapshots/SHA/FILE}. */
function fakeCache(lines: string[]): { cache: string; sha: string } {
  const cache = tmp(), sha = "0123456789abcdef0123456789abcdef01234567";
  const root = join(cache, "datasets--GAIR--LIMO");
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(join(root, "snapshots", sha), { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha);
  writeFileSync(join(root, "snapshots", sha, "limo.jsonl"), lines.join("\n") + "\n");
  return { cache, sha };
}

const noNetwork = (() => Promise.reject(new Error("network unreachable"))) as typeof fetch;

Deno.test("hub: the cached snapshot is used offline, and when the hub cannot be reached", async () => {
  const { cache, sha } = fakeCache(Array.from({ length: 817 }, (_, i) => limoLine(i)));
  assert.equal(
    cachedFile(cache, "GAIR/LIMO", "limo.jsonl"),
    join(cache, "datasets--GAIR--LIMO", "snapshots", sha, "limo.jsonl"),
  );
  assert.equal(cachedFile(cache, "GAIR/LIMO", "limo.jsonl", sha), cachedFile(cache, "GAIR/LIMO", "limo.jsonl"));
  const offline = await loadTask("limo", { hubOptions: { cacheDir: cache, offline: true } });
  assert.equal(offline.problems.length, 817);
  const unreachable = await hubFile("GAIR/LIMO", "limo.jsonl", { cacheDir: cache, fetch: noNetwork });
  assert.equal(unreachable, offline.files[0]);
});

Deno.test("hub: nothing cached and no network is one clear error", async () => {
  const empty = tmp();
  await assert.rejects(
    hubFile("GAIR/LIMO", "limo.jsonl", { cacheDir: empty, offline: true }),
    /hf:GAIR\/LIMO: limo\.jsonl \(revision main\) is not in the cache .*\(HF_HUB_OFFLINE=1\)/,
  );
  await assert.rejects(
    hubFile("GAIR/LIMO", "limo.jsonl", { cacheDir: empty, fetch: noNetwork }),
    /hf:GAIR\/LIMO: cannot download limo\.jsonl .* not in the cache/,
  );
});

Deno.test("fields JSON cannot carry exactly, or of the wrong kind, are refused by file, line and field", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-fields-"));
  const cases: [string, RegExp][] = [
    ['{"question": "q", "answer": true}', /:1: field "answer" must be text or a number, got true/],
    ['{"question": "q", "answer": [1, 2]}', /:1: field "answer" must be text or a number, got a list/],
    ['{"id": {"a": 1}, "question": "q", "answer": "1"}', /:1: field "id" must be text or a number, got an object/],
    [
      `{"question": "${"x".repeat(200_001)}", "answer": "1"}`,
      /:1: field "question" is 200001 characters long; at most 200000/,
    ],
  ];
  for (const [line, message] of cases) {
    const file = jsonl(dir, "bad.jsonl", [line]);
    await assert.rejects(() => loadTask("limo", { data: file }), message, line.slice(0, 60));
  }
  writeFileSync(join(dir, "lists.json"), JSON.stringify({ meta: [1, 2], rows: [{ question: "q", answer: "1" }] }));
  await assert.rejects(
    () => loadTask("limo", { data: join(dir, "lists.json") }),
    /lists\.json: an object holding several lists \("meta", "rows"\); expected one list of records, or one under "data"/,
  );
  writeFileSync(join(dir, "data.json"), JSON.stringify({ meta: [1, 2], data: [{ question: "q", answer: "1" }] }));
  assert.equal((await loadTask("limo", { data: join(dir, "data.json") })).problems.length, 1);
  const ok = await loadTask("limo", { data: jsonl(dir, "ok.jsonl", ['{"id": 12, "question": "q", "answer": 0.5}']) });
  assert.deepEqual([ok.problems[0].id, ok.problems[0].golds], ["12", ["0.5"]]);
  // Numbers as the file wrote them, not as the nearest double prints.
  const exact = await loadTask("limo", {
    data: jsonl(dir, "exact.jsonl", [
      '{"id": 9007199254740993, "question": "q", "answer": 0.12345678901234567890123}',
      '{"id": 2, "question": "q", "answer": 1e400}',
      '{"id": 3, "question": "q", "answer": 1.0000000000000000001}',
    ]),
  });
  assert.deepEqual(exact.problems.map((p) => [p.id, p.golds[0]]), [
    ["9007199254740993", "0.12345678901234567890123"],
    ["2", "1e400"],
    ["3", "1.0000000000000000001"],
  ]);
});

Deno.test("--task custom: one's own data with its field names, no registry entry", async () => {
  const dir = tmp();
  jsonl(dir, "mine.jsonl", [
    '{"uid": "a1", "prompt": "What is 1/2 + 1/2?", "final": "1"}',
    '{"uid": "a2", "prompt": "Halve 3.", "final": "\\\\frac{3}{2}"}',
  ]);
  const data = join(dir, "mine.jsonl");
  const r = await loadTask("custom", { data, fields: parseFields("question=prompt,answer=final,id=uid") });
  assert.deepEqual(
    r.problems.map((p) => [p.task, p.id, p.text, p.golds]),
    [["custom", "a1", "What is 1/2 + 1/2?", ["1"]], ["custom", "a2", "Halve 3.", ["\\frac{3}{2}"]]],
  );
  // the default names, and ids from the line when there is no id field
  jsonl(dir, "plain.jsonl", ['{"question": "q?", "answer": "7"}']);
  assert.deepEqual((await loadTask("custom", { data: join(dir, "plain.jsonl") })).problems[0].id, "0");
  await assert.rejects(loadTask("custom", { data }), /mine\.jsonl:1: .*"question"/);
  await assert.rejects(
    loadTask("custom"),
    /task custom has no hub copy to fetch by default \(its data: your file .*\): give them with --data FILE or --hub hf:REPO:FILE$/,
  );
  await assert.rejects(
    loadTask("aime24"),
    /task aime24 has no hub copy to fetch by default \(its data: QwenLM\/Qwen2\.5-Math evaluation\/data\/aime24 .*\): give them with --data FILE, --data-dir DIR \(holding aime24\/test\.jsonl\) or --hub/,
  );
  await assert.rejects(
    loadTask("limo", { data: "/nonexistent/limo.jsonl" }),
    /\/nonexistent\/limo\.jsonl: no such file or folder; without --data, task limo is read from the hub \(hf:GAIR\/LIMO\)/,
  );
  // an id field named but in no record; an empty question; a limit past the set: each said
  await assert.rejects(
    loadTask("custom", { data, fields: parseFields("question=prompt,answer=final,id=uuid") }),
    /--fields id=uuid: no record has a field "uuid" \(.*mine\.jsonl holds "uid", "prompt", "final"\)/,
  );
  jsonl(dir, "empty-q.jsonl", ['{"question": "", "answer": "7"}']);
  await assert.rejects(
    loadTask("custom", { data: join(dir, "empty-q.jsonl") }),
    /empty-q\.jsonl:1: field "question" is empty/,
  );
  const limited = await loadTask("custom", {
    data,
    fields: parseFields("question=prompt,answer=final,id=uid"),
    limit: 100,
  });
  assert.deepEqual([limited.problems.length, limited.notes], [2, ["--limit 100: custom has 2 problems"]]);
  jsonl(dir, "empty-id.jsonl", ['{"id": " ", "question": "q?", "answer": "7"}']);
  await assert.rejects(
    loadTask("custom", { data: join(dir, "empty-id.jsonl") }),
    /empty-id\.jsonl:1: field "id" is empty/,
  );
  await assert.rejects(
    loadTask("gsm8k", { data, fields: parseFields("question=prompt") }),
    /--fields goes with --task custom/,
  );
  for (const bad of ["prompt", "question=", "answer=a,answer=b", "solution=s"]) {
    assert.throws(() => parseFields(bad), /--fields: /, bad);
  }
  // one column as question and answer: every prompt would hold its own gold
  for (const same of ["question=answer", "question=x,answer=x"]) {
    assert.throws(() => parseFields(same), /--fields: question and answer are both the field "\w+"/, same);
  }
});
