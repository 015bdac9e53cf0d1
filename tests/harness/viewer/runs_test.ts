/** Run folders as the viewer reads them (harness/viewer/runs.ts): links, the run list's summary, failures kept. */
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunCache, RunSource } from "../../../harness/viewer/runs.ts";
import { measuresOf, serveViewer } from "../../../harness/viewer/server.ts";
import { recordKey } from "../../../harness/bench/rundir.ts";
import { writeRun } from "./run_fixture.ts";

/** `file` of run folder `dir` moved to `to` and linked from where it was (as a run's traces kept on another disk). */
function moveAndLink(dir: string, file: string, to: string): void {
  renameSync(join(dir, file), to);
  symlinkSync(to, join(dir, file));
}

Deno.test("runs: a run file kept elsewhere by a link (traces on another disk) is the run's file, read as one", () => {
  const { dir, records } = writeRun(2);
  const disk = join(mkdtempSync(join(tmpdir(), "hogwild-view-disk-")), "run");
  mkdirSync(disk);
  moveAndLink(dir, "traces.jsonl", join(disk, "traces.jsonl"));
  moveAndLink(dir, "records.jsonl", join(disk, "records.jsonl"));
  const data = new RunSource(dir).read();
  assert.equal(data.records.length, records);
  assert.equal(data.traces.size, records);
  assert.equal(data.tracesNone, undefined);
  const r = data.records[0], measures = measuresOf(data, recordKey(r), r);
  assert.ok(measures && typeof measures === "object", String(measures));
});

Deno.test("runs: a link out of the folder to a file that is no run file of that name is not read; the traces' alone leaves the curves and records", async () => {
  const { dir, records } = writeRun(2);
  const elsewhere = mkdtempSync(join(tmpdir(), "hogwild-view-elsewhere-"));
  moveAndLink(dir, "traces.jsonl", join(elsewhere, "secret.jsonl"));
  const data = new RunSource(dir).read();
  assert.equal(data.records.length, records, "the records read");
  assert.equal(data.traces.size, 0, "no trace read");
  assert.match(data.tracesNone ?? "", /traces\.jsonl: points outside the run folder \(to .*secret\.jsonl\)/);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  const error = console.error, logged: string[] = [];
  console.error = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    const get = async (p: string) => {
      const res = await fetch(new URL(p, viewer.url));
      assert.equal(res.status, 200, p);
      return await res.json();
    };
    const [run] = await get("/api/runs");
    assert.equal(run.error, undefined);
    assert.ok((await get("/api/runs/0/curves")).steps, "the curves drawn");
    const list = (await get("/api/runs/0/records")).records;
    assert.equal(list.length, records);
    const one = await get(`/api/runs/0/record?key=${encodeURIComponent(list[0].key)}`);
    assert.ok(one.record && one.trace === null);
    assert.match(one.trace_none, /points outside the run folder/);
    assert.match((await get("/api/runs"))[0].note, /traces\.jsonl: points outside the run folder/);
    assert.equal(logged.filter((l) => /points outside/.test(l)).length, 1, "said once on the terminal");
  } finally {
    console.error = error;
    await viewer.close();
  }
  // records.jsonl or run.json so linked: they are the run, refused whole
  for (const file of ["records.jsonl", "run.json"]) {
    const other = writeRun(1).dir;
    moveAndLink(other, file, join(elsewhere, `${file}.secret`));
    assert.throws(
      () => new RunSource(other).read(),
      new RegExp(`${file.replace(".", "\\.")}: points outside the run folder`),
    );
  }
  // a link to a folder of that name is no run file either
  const odd = writeRun(1).dir, folder = join(mkdtempSync(join(tmpdir(), "hogwild-view-folder-")), "traces.jsonl");
  mkdirSync(folder);
  rmSync(join(odd, "traces.jsonl"));
  symlinkSync(folder, join(odd, "traces.jsonl"));
  assert.match(new RunSource(odd).read().tracesNone ?? "", /traces\.jsonl: not a file/);
});

/** Line `line` (1-based) of `file`, edited. */
function edit(file: string, line: number, change: (x: Record<string, unknown>) => void): void {
  const lines = readFileSync(file, "utf8").split("\n");
  const x = JSON.parse(lines[line - 1]);
  change(x);
  lines[line - 1] = JSON.stringify(x);
  writeFileSync(file, lines.join("\n"));
}

Deno.test("runs: the run list reads run.json and counts the records, parsing neither records nor traces", () => {
  const { dir, records } = writeRun(3);
  edit(join(dir, "traces.jsonl"), 2, (t) => delete t.steps); // damaged: only a whole read says so
  const source = new RunSource(dir);
  const summary = source.summary();
  assert.equal(summary.records, records);
  assert.deepEqual((summary.meta.spec as { tasks: string[] }).tasks, ["synthetic"]);
  assert.equal(source.parses, 0, "no line parsed");
  // a line being written is no record yet; one appended is counted from where the count stopped
  const line = readFileSync(join(dir, "records.jsonl"), "utf8").split("\n")[0];
  appendFileSync(join(dir, "records.jsonl"), line.slice(0, 40));
  assert.equal(source.summary().records, records);
  appendFileSync(join(dir, "records.jsonl"), line.slice(40) + "\n");
  assert.equal(source.summary().records, records + 1);
  // rewritten shorter: counted again
  writeFileSync(join(dir, "records.jsonl"), line + "\n");
  assert.equal(source.summary().records, 1);
  assert.equal(source.parses, 0);
});

Deno.test("runs: a run that could not be read is not read again until one of its files changes; the list says why meanwhile", () => {
  const { dir } = writeRun(2);
  edit(join(dir, "traces.jsonl"), 2, (t) => delete t.steps);
  const source = new RunSource(dir);
  assert.throws(() => source.read(), /traces\.jsonl:2: a trace whose "steps" is not a list/);
  const parses = source.parses;
  assert.ok(parses > 0);
  for (let i = 0; i < 3; i++) {
    assert.throws(() => source.read(), /traces\.jsonl:2: a trace whose "steps" is not a list/);
    assert.throws(() => source.summary(), /traces\.jsonl:2: a trace whose "steps" is not a list/);
  }
  assert.equal(source.parses, parses, "read once, its failure kept");
  edit(join(dir, "traces.jsonl"), 2, (t) => void (t.steps = []));
  assert.equal(source.read().traces.size, 6, "mended: read again");
  assert.ok(source.parses > parses);
});

Deno.test("runs: the viewer's run list over many runs reads no run's records or traces", async () => {
  const runs = Array.from({ length: 20 }, () => new RunSource(writeRun(2).dir));
  const viewer = serveViewer({ runs, port: 0 });
  try {
    const listed = await (await fetch(new URL("/api/runs", viewer.url))).json();
    assert.deepEqual(listed.map((r: { records: number }) => r.records), runs.map(() => 6));
    assert.deepEqual(runs.map((r) => r.parses), runs.map(() => 0));
  } finally {
    await viewer.close();
  }
});

Deno.test("runs: the viewer holds the records of the runs read last, not of every run ever opened (the least recently read let go)", () => {
  // a folder of runs opened one after another, as a reader goes down the list
  const runs = Array.from({ length: 12 }, () => new RunSource(writeRun(2).dir));
  for (const run of runs) assert.equal(run.read().records.length, 6);
  const parses = runs.map((r) => r.parses);
  // the last one read is held: read again, nothing parsed
  runs.at(-1)!.read();
  assert.equal(runs.at(-1)!.parses, parses.at(-1));
  // the first was let go: read again whole (its records and traces parsed again), the same records
  assert.equal(runs[0].read().records.length, 6);
  assert.equal(runs[0].parses, parses[0] * 2, "the first run read again whole: it was not held");
});

Deno.test("runs: a viewer's runs held read are bounded by count and by their records' bytes; the run read last is held whatever its size", () => {
  const dirs = Array.from({ length: 4 }, (_, i) => writeRun(i === 3 ? 6 : 2).dir);
  const size = readFileSync(join(dirs[0], "records.jsonl")).length; // the small runs' (the last is three times it)
  const byCount = new RunCache({ runs: 2, bytes: Infinity });
  const counted = dirs.map((d) => new RunSource(d, { cache: byCount }));
  counted.forEach((r) => r.read());
  assert.deepEqual(counted.map((r) => r.held), [false, false, true, true]);
  counted[2].read(); // read again: the most recent, so the last-but-one is let go first
  counted[0].read();
  assert.deepEqual(counted.map((r) => r.held), [true, false, true, false]);
  const bySize = new RunCache({ runs: 10, bytes: 2 * size });
  const sized = dirs.map((d) => new RunSource(d, { cache: bySize }));
  sized.slice(0, 3).forEach((r) => r.read());
  assert.deepEqual(sized.map((r) => r.held), [false, true, true, false]);
  sized[3].read(); // over the bound alone: held, the others let go
  assert.deepEqual(sized.map((r) => r.held), [false, false, false, true]);
  // one let go reads whole again, as it reads the first time
  const parses = sized[1].parses;
  assert.equal(sized[1].read().records.length, 6);
  assert.equal(sized[1].parses, parses * 2);
  // the run list holds no run's plan (a LIMO run.json's 130,000 keys for each run listed), only how many
  const run = JSON.parse(readFileSync(join(dirs[0], "run.json"), "utf8"));
  writeFileSync(join(dirs[0], "run.json"), JSON.stringify({ ...run, planned: ["a", "b", "c"] }));
  const listed = new RunSource(dirs[0]).summary();
  assert.deepEqual([listed.planned, listed.meta.planned], [3, undefined]);
});
