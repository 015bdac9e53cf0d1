/** The viewer's server: its routes, what it refuses to serve, and that it never writes to a run folder. */
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { RunSource } from "../../../harness/viewer/runs.ts";
import { loadProtocol } from "../../../harness/generation/prompts.ts";
import { protocolHash } from "../../../harness/bench/run_key.ts";
import { hostCheck, measuresOf, serveViewer } from "../../../harness/viewer/server.ts";
import { recordKey } from "../../../harness/bench/rundir.ts";
import { CHECK, writeRun } from "./run_fixture.ts";
import { bigRun, root, underHeap } from "../../helpers.ts";

/** A raw HTTP request, so that paths and headers reach the server exactly as written (no client normalising `..`). */
async function raw(port: number, path: string, headers = "Host: 127.0.0.1\r\n"): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`));
  const buf = new Uint8Array(256);
  const n = await conn.read(buf);
  conn.close();
  return Number(/^HTTP\/1\.1 (\d+)/.exec(new TextDecoder().decode(buf.subarray(0, n ?? 0)))?.[1]);
}

Deno.test("viewer server: runs, records, a record and its views; everything else is 404", async () => {
  const { dir, records } = writeRun(4);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const port = Number(new URL(viewer.url).port);
    const get = async (p: string) => await (await fetch(new URL(p, viewer.url))).json();
    assert.equal(new URL(viewer.url).hostname, "127.0.0.1");
    const [run] = await get("/api/runs");
    assert.equal(run.records, records);
    const { records: list, measuring } = await get("/api/runs/0/records");
    assert.equal(list.length, records);
    assert.equal(measuring, 0, "a small run's traces measured in the first call");
    assert.equal(list.filter((r: { disagree: boolean }) => r.disagree).length, 12); // every problem: one method right
    const key = list.find((r: { method: string }) => r.method === "hogwild:2").key;
    const one = await get(`/api/runs/0/record?key=${encodeURIComponent(key)}`);
    assert.deepEqual(one.trace.names, ["Alice", "Bob"]);
    assert.equal(one.passes, 32, "the decode passes: the finisher's after them show no view");
    // each checkpoint's solo time as summary.md writes it (a demo run's tens of ms, not "0.04")
    assert.deepEqual(one.solo_times, ["40 ms", "80 ms", "120 ms", "160 ms"]);
    const views = (pass: number) => get(`/api/runs/0/views?key=${encodeURIComponent(key)}&pass=${pass}`);
    assert.deepEqual(await views(35), await views(32));
    assert.deepEqual(await views(1000), await views(32));
    assert.equal(one.redundancy_check, CHECK);
    assert.equal((await get(`/api/runs/0/views?key=${encodeURIComponent(key)}&pass=3`)).length, 2);
    const curves = await get("/api/runs/0/curves");
    assert.ok(curves.steps && curves.time);
    for (
      const path of [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/vendor/../deno.json",
        "/api/runs/0/../../../etc/passwd",
        "/api/runs/1/records",
        "/api/runs/0/record?key=..%2Frun.json",
        "//etc/passwd",
        "/etc/passwd",
        `/${dir}/run.json`,
        "/page/app.js",
        "/harness/viewer/page/index.html",
      ]
    ) {
      assert.equal(await raw(port, path), 404, path);
    }
    assert.equal(await raw(port, "/"), 200);
    assert.equal(await raw(port, "/vendor/vega-lite.min.js"), 200);
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: a run whose cost model its bench doubted says so under the solo-time chart, as plot does", async () => {
  const { dir } = writeRun(2);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const curves = async () => JSON.stringify(await (await fetch(new URL("/api/runs/0/curves", viewer.url))).json());
    assert.doesNotMatch(await curves(), /not reliable/);
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    const fit = { passes: 40, shapes: 40, median_rel_error: 0.6, p90_rel_error: 0.9 };
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, cost_model: { coef: [1, 0, 0, 0, 0, 0], fit } }));
    const doubted = JSON.parse(await curves());
    assert.match(JSON.stringify(doubted.time), /the solo times are not reliable/);
    assert.doesNotMatch(JSON.stringify(doubted.steps), /not reliable/);
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: measures read the run's own protocol file, and none where it is gone or changed since", async () => {
  const { dir } = writeRun(1);
  const file = join(dir, "..", "protocol.json"), meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
  writeFileSync(file, JSON.stringify(loadProtocol()));
  const spec = { ...meta.spec, "prompt protocol": protocolHash(loadProtocol(file)) };
  writeFileSync(
    join(dir, "run.json"),
    JSON.stringify({ ...meta, spec, spec_full: { ...meta.spec_full, protocol: file } }),
  );
  // a viewer started anew each time (a run's folder is read again when its own files change)
  const record = async (method: string) => {
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
    try {
      const get = async (p: string) => await (await fetch(new URL(p, viewer.url))).json();
      const key = (await get("/api/runs/0/records")).records.find((r: { method: string }) => r.method === method).key;
      return await get(`/api/runs/0/record?key=${encodeURIComponent(key)}`);
    } finally {
      await viewer.close();
    }
  };
  const read = await record("hogwild:2");
  assert.ok(read.measures && read.redundancy_check === CHECK, JSON.stringify(read.measures_none));
  // gone: the viewer read the project's in its place, and took its heads for the run's (here the same:
  // the silent case is a run whose protocol added a firstStep)
  rmSync(file);
  const gone = await record("hogwild:2");
  assert.equal(gone.measures, null);
  assert.match(gone.measures_none, /protocol\.json cannot be read .*: the heads of its steps are not known/);
  // edited since the run (its hash differs): the heads the run wrote are not known, so no measures
  writeFileSync(file, JSON.stringify({ ...loadProtocol(), redundancyCheck: "Am I repeating someone? " }));
  const edited = await record("hogwild:2");
  assert.equal(edited.measures, null);
  assert.equal(edited.redundancy_check, null);
  assert.match(edited.measures_none, /protocol\.json is no longer what the run read \(its hash in run\.json differs\)/);
  // a method without the collaboration text needs no protocol
  assert.ok((await record("sequential")).measures);
});

Deno.test("viewer server: reads a run as it grows and never writes to it; symlinks out of the folder are not followed but said", () => {
  const { dir } = writeRun(2);
  const records = join(dir, "records.jsonl");
  const before = readFileSync(records, "utf8");
  // a bench in the middle of writing a line: the viewer leaves it alone (no repair, no truncation)
  appendFileSync(records, '{"task":"synthetic","problem_id":"half');
  const source = new RunSource(dir);
  assert.equal(source.read().records.length, 6);
  assert.equal(readFileSync(records, "utf8"), before + '{"task":"synthetic","problem_id":"half');
  const next = JSON.parse(before.split("\n")[0]);
  writeFileSync(records, before + JSON.stringify({ ...next, seed: 99 }) + "\n");
  assert.equal(source.read().records.length, 7, "the appended line is read");
  // traces.jsonl pointing outside the folder: not read
  const outside = join(dir, "..", "secret.jsonl");
  writeFileSync(outside, readFileSync(join(dir, "traces.jsonl")));
  unlinkSync(join(dir, "traces.jsonl"));
  symlinkSync(outside, join(dir, "traces.jsonl"));
  const mtime = statSync(records).mtimeMs;
  const linked = new RunSource(dir).read();
  assert.match(
    linked.tracesNone ?? "",
    /traces\.jsonl: points outside the run folder \(to .*secret\.jsonl\); not read/,
  );
  assert.equal(linked.traces.size, 0);
  assert.equal(statSync(records).mtimeMs, mtime);
});

Deno.test("viewer server: a growing run is read from where the last read stopped; a file rewritten in place is read whole", () => {
  const { dir } = writeRun(2);
  const records = join(dir, "records.jsonl"), traces = join(dir, "traces.jsonl"), source = new RunSource(dir);
  const text = readFileSync(records, "utf8"), lines = text.trim().split("\n"), first = source.read();
  const traceLine = readFileSync(traces, "utf8").trim().split("\n")[0];
  const line = (seed: number) => JSON.stringify({ ...JSON.parse(lines[0]), seed }) + "\n";
  appendFileSync(records, line(7));
  appendFileSync(traces, JSON.stringify({ ...JSON.parse(traceLine), seed: 7 }) + "\n");
  const grown = source.read();
  assert.equal(grown.records.length, 7);
  assert.equal(grown.traces.size, 7);
  // what was read is kept, not parsed again (the same objects)
  assert.ok(grown.records.slice(0, 6).every((r, i) => r === first.records[i]));
  // rewritten in place, longer (same inode, as `cat other > records.jsonl` does): read whole, not from the old end
  const changed = lines.map((l) => l.replace('"seed":1', '"seed":5')).join("\n") + "\n";
  writeFileSync(records, changed + line(8));
  const again = source.read();
  assert.deepEqual(again.records.map((r) => r.seed), [5, 5, 5, 5, 5, 5, 8]);
  // cut shorter: read whole
  writeFileSync(records, lines.slice(0, 2).join("\n") + "\n");
  assert.equal(source.read().records.length, 2);
  // a line appended twice is refused, at its line; mended, the run reads again
  appendFileSync(records, lines[1] + "\n");
  assert.throws(() => source.read(), /records\.jsonl:3: the record .* appears twice/);
  writeFileSync(records, lines.slice(0, 3).join("\n") + "\n");
  assert.equal(source.read().records.length, 3);
});

Deno.test("viewer server: a records file swapped for one of its size and time is read anew; a folder gone is said", () => {
  const { dir } = writeRun(2);
  const records = join(dir, "records.jsonl"), source = new RunSource(dir);
  const text = readFileSync(records, "utf8"), first = source.read().records[0];
  // the same bytes but one answer changed, put in place by rename with the old times (as rsync -a does)
  const [line0, ...rest] = text.split("\n"), was = `"answer":"${first.checkpoints.at(-1)!.answer}"`;
  const swapped = [line0.replaceAll(was, '"answer":"99"'), ...rest].join("\n");
  assert.equal(swapped.length, text.length);
  const { atime, mtime } = statSync(records), tmp = join(dir, "new.tmp");
  writeFileSync(tmp, swapped);
  utimesSync(tmp, atime, mtime);
  renameSync(tmp, records);
  assert.equal(source.read().records[0].checkpoints.at(-1)!.answer, "99");
  rmSync(dir, { recursive: true });
  assert.throws(() => source.read(), /the run folder is gone/);
});

Deno.test("viewer server: records of two grader versions are refused, as plot refuses them", () => {
  const { dir } = writeRun(2);
  const records = join(dir, "records.jsonl"), lines = readFileSync(records, "utf8").trim().split("\n");
  const other = JSON.stringify({ ...JSON.parse(lines[0]), grader: "hogwild-grader/1" });
  writeFileSync(records, [other, ...lines.slice(1)].join("\n") + "\n");
  assert.throws(() => new RunSource(dir).read(), /records graded by several grader versions/);
});

Deno.test("viewer server: another site's name (DNS rebinding) or another Origin on the API is refused", async () => {
  const { dir } = writeRun(2);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const port = Number(new URL(viewer.url).port);
    for (const host of ["127.0.0.1", `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      assert.equal(await raw(port, "/api/runs", `Host: ${host}\r\n`), 200, host);
    }
    for (
      const headers of [
        `Host: evil.example:${port}\r\n`,
        `Host: evil.example\r\n`,
        `Host: 127.0.0.1.evil.example:${port}\r\n`,
        "",
        `Host: 127.0.0.1:${port}\r\nOrigin: http://evil.example:${port}\r\n`,
        `Host: localhost:${port}\r\nOrigin: http://127.0.0.1:${port}.evil.example\r\n`,
      ]
    ) {
      assert.equal(await raw(port, "/api/runs", headers), 403, headers);
      assert.equal(await raw(port, "/api/live", headers), 403, headers);
    }
    assert.equal(await raw(port, "/", `Host: evil.example:${port}\r\n`), 403);
    assert.equal(await raw(port, "/api/runs", `Host: localhost:${port}\r\nOrigin: http://localhost:${port}\r\n`), 200);
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: a damaged run folder is listed with what is wrong; the healthy ones still show", async () => {
  const healthy = writeRun(2), nullRun = writeRun(2), badRecords = writeRun(2);
  writeFileSync(join(nullRun.dir, "run.json"), "null");
  appendFileSync(join(badRecords.dir, "records.jsonl"), "{not json}\n");
  const viewer = serveViewer({ runs: [healthy, nullRun, badRecords].map((r) => new RunSource(r.dir)), port: 0 });
  const error = console.error, logged: string[] = [];
  console.error = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    const list = async () => {
      const res = await fetch(new URL("/api/runs", viewer.url));
      assert.equal(res.status, 200);
      return await res.json();
    };
    const runs = await list();
    assert.equal(runs[0].records, healthy.records);
    assert.equal(runs[0].error, undefined);
    assert.match(runs[1].error, /run\.json: not a run\.json of this project/);
    // the list counts lines and parses none: a damaged line is found when the run is opened, and listed from then
    assert.deepEqual([runs[2].error, runs[2].records], [undefined, badRecords.records + 1]);
    const opened = await fetch(new URL("/api/runs/2/records", viewer.url));
    assert.equal(opened.status, 500);
    await opened.body?.cancel();
    assert.match((await list())[2].error, /records\.jsonl:\d+: not a JSON record/);
    await list();
    assert.equal(logged.length, 2, "each damaged folder logged once");
    assert.match(logged.join("\n"), /view: .*run\.json: not a run\.json/);
  } finally {
    console.error = error;
    await viewer.close();
  }
});

Deno.test("viewer server: a damaged trace line, a record's answer that is not a text, a run.json not JSON: named by file and line, on the API and the terminal", async () => {
  const edit = (file: string, line: number, change: (x: Record<string, unknown>) => void) => {
    const lines = readFileSync(file, "utf8").split("\n");
    const x = JSON.parse(lines[line - 1]);
    change(x);
    lines[line - 1] = JSON.stringify(x);
    writeFileSync(file, lines.join("\n"));
  };
  const damaged: [string, (dir: string) => void, RegExp][] = [
    [
      "no steps",
      (d) => edit(join(d, "traces.jsonl"), 2, (t) => delete t.steps),
      /traces\.jsonl:2: a trace whose "steps" is not a list/,
    ],
    [
      "no workers",
      (d) => edit(join(d, "traces.jsonl"), 3, (t) => delete t.workers),
      /traces\.jsonl:3: a trace whose "workers" is not a list of texts/,
    ],
    [
      "a step's worker out of range",
      (d) => edit(join(d, "traces.jsonl"), 1, (t) => void ((t.steps as { worker: number }[])[4].worker = 7)),
      /traces\.jsonl:1: a trace whose step 5 is not a step of one of its 2 writers/,
    ],
    [
      "a numeric answer",
      (d) => edit(join(d, "records.jsonl"), 2, (r) => void ((r.checkpoints as { answer: unknown }[])[3].answer = 42)),
      /records\.jsonl:2: a record whose "checkpoints" are not this project's/,
    ],
    ["run.json not JSON", (d) => writeFileSync(join(d, "run.json"), '{"spec": '), /run\.json: not valid JSON/],
  ];
  const runs = damaged.map(([, damage]) => {
    const { dir } = writeRun(1);
    damage(dir);
    return new RunSource(dir);
  });
  const viewer = serveViewer({ runs, port: 0 });
  const error = console.error, logged: string[] = [];
  console.error = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    for (const [i, [what, , message]] of damaged.entries()) {
      for (const route of ["records", "curves"]) {
        const res = await fetch(new URL(`/api/runs/${i}/${route}`, viewer.url));
        assert.equal(res.status, 500, `${what}: ${route}`);
        assert.match(await res.text(), message, `${what}: ${route}`);
      }
      assert.match(logged.join("\n"), message, `${what}: said where the viewer runs`);
    }
    // once read, each is listed with its error
    const listed = await (await fetch(new URL("/api/runs", viewer.url))).json();
    for (const [i, [what, , message]] of damaged.entries()) assert.match(listed[i].error ?? "", message, what);
  } finally {
    console.error = error;
    await viewer.close();
  }
});

Deno.test("viewer server: a port in use is one error naming the flag that chose it", () => {
  const { dir } = writeRun(1);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    assert.throws(
      () => serveViewer({ runs: [new RunSource(dir)], port, portFlag: "--view-port" }),
      new RegExp(`^InputError: --view-port ${port}: 127\\.0\\.0\\.1:${port} is in use by another program`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("viewer on every interface: numbers, localhost and this machine's name, never another name", () => {
  // Listening on 0.0.0.0 needs more than the tests' network permission: the check itself, as the server uses it.
  const ok = hostCheck("0.0.0.0", 8470);
  for (
    const host of [
      "127.0.0.1:8470",
      "10.1.2.3:8470",
      "10.1.2.3",
      "[::1]:8470",
      "localhost:8470",
      `${Deno.hostname()}:8470`,
    ]
  ) {
    assert.ok(ok(host.toLowerCase()), host);
  }
  for (const host of ["attacker.example:8470", "attacker.example", "10.1.2.3.nip.io:8470", "127.0.0.1:9999", ""]) {
    assert.ok(!ok(host), host);
  }
  const loop = hostCheck("127.0.0.1", 8470);
  assert.ok(loop("localhost:8470") && loop("127.0.0.1") && !loop("10.1.2.3:8470") && !loop("evil.example:8470"));
});

Deno.test("viewer server: a growing run's records keep their measures (a record appended costs its own, not every record's again)", () => {
  const { dir } = writeRun(2);
  const source = new RunSource(dir), first = source.read();
  const of = (data: typeof first) => data.records.map((r) => measuresOf(data, recordKey(r), r));
  const before = of(first);
  assert.ok(before.every((m) => m !== null && typeof m === "object"), "measures, not reasons");
  const [record, trace] = ["records.jsonl", "traces.jsonl"].map((f) =>
    JSON.parse(readFileSync(join(dir, f), "utf8").split("\n")[0])
  );
  appendFileSync(join(dir, "traces.jsonl"), JSON.stringify({ ...trace, seed: 99 }) + "\n");
  appendFileSync(join(dir, "records.jsonl"), JSON.stringify({ ...record, seed: 99 }) + "\n");
  const grown = source.read(), after = of(grown);
  assert.notEqual(grown, first, "read again");
  assert.equal(after.length, before.length + 1);
  before.forEach((m, i) => assert.equal(after[i], m, `record ${i}: the same measures, not computed again`));
  assert.deepEqual(after.at(-1), before[0], "the appended record's own, like the one it copies");
});

Deno.test("viewer server: a run whose traces pass the heap is read, its traces read one at a time for their measures", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-view-big-")), "run");
  bigRun(dir, { n: 100, kb: 1000 }); // 100 MB of traces under a 64 MiB heap: their keys and spans held, not them
  try {
    const { out } = await underHeap(
      64,
      `import { RunSource } from "${root}harness/viewer/runs.ts";
      import { measuresOf } from "${root}harness/viewer/server.ts";
      import { recordKey } from "${root}harness/bench/rundir.ts";
      const data = new RunSource(${JSON.stringify(dir)}).read();
      const measures = data.records.map((r) => measuresOf(data, recordKey(r), r));
      console.log(JSON.stringify({
        records: data.records.length,
        traces: data.traces.size,
        measured: measures.filter((m) => m !== null && typeof m === "object" && m.overlap === 1).length,
        p7: data.trace(${JSON.stringify(["t", "p7", "hogwild:2", 1].join("\t"))}).workers[0].slice(0, 17),
      }));`,
    );
    assert.deepEqual(JSON.parse(out), { records: 100, traces: 100, measured: 100, p7: "**Alice [1]:** p7" });
  } finally {
    rmSync(dirname(dir), { recursive: true });
  }
});

Deno.test("viewer server: the Records tab's list comes at once, its measures filling in over the calls that follow", async () => {
  const { dir, records } = writeRun(3);
  // no time to measure in: each call measures one trace, as a large run's does a second's worth
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0, measureMs: 0 });
  try {
    const get = async () => await (await fetch(new URL("/api/runs/0/records", viewer.url))).json();
    const calls = [];
    for (let list = await get();; list = await get()) {
      calls.push(list);
      assert.equal(list.records.length, records, "every record listed at each call");
      assert.equal(list.measuring, list.records.filter((r: { measuring: boolean }) => r.measuring).length);
      if (list.measuring === 0) break;
      assert.ok(calls.length <= records, "each call measures one trace at least");
    }
    assert.deepEqual(calls.map((c) => c.measuring), [...Array(records).keys()].reverse());
    const pending = calls[0].records.find((r: { measuring: boolean }) => r.measuring);
    assert.deepEqual([pending.overlap, pending.answer_by], [null, null], "not measured yet: nothing shown as measured");
    // the measures filled in are the ones measured at once
    const data = new RunSource(dir).read();
    const direct = data.records.map((r) => measuresOf(data, recordKey(r), r) as { overlap: number; answer_by: string });
    assert.deepEqual(
      calls.at(-1).records.map((r: { overlap: number; answer_by: string }) => [r.overlap, r.answer_by]),
      direct.map((m) => [m.overlap, m.answer_by]),
    );
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: a live page that stops reading is cut off once it is a bound behind (it reconnects to a fresh snapshot); a page that reads gets every event", async () => {
  const { dir } = writeRun(1);
  const bound = 1 << 20, event = 64 << 10, count = 512; // 32 MiB published, 1 MiB allowed behind
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0, liveQueueBytes: bound });
  const port = Number(new URL(viewer.url).port);
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // (the connection closed with the response: its end is seen as the end of the connection)
    const request = "GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    await stalled.write(new TextEncoder().encode(request));
    // its first bytes read (it is connected), then no more
    const head = new Uint8Array(4096), decoder = new TextDecoder();
    let got = "";
    while (!got.includes("retry:")) got += decoder.decode(head.subarray(0, (await stalled.read(head)) ?? 0));
    const reading = await fetch(new URL("/api/live", viewer.url));
    const reader = reading.body!.getReader();
    let received = 0, text = "";
    const readAll = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        const parts = text.split("\n\n");
        text = parts.pop()!;
        received += parts.filter((p) => p.startsWith("data: ")).length;
      }
    })();
    const append = ["x".repeat(event)];
    for (let i = 0; i < count; i++) {
      viewer.publish({ type: "pass", key: "k", run: 0, pass: i, append, steps: [], names: ["A"] });
      // the reading page keeps up: it is never behind by more than this event
      while (received <= i) await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(received, count, "the reading page got every event");
    // the stalled page: what it did not read was not kept for it; its feed ends (well before 32 MiB)
    let behind = 0;
    const ended = (async () => {
      const buf = new Uint8Array(1 << 16);
      try {
        for (let n = await stalled.read(buf); n !== null; n = await stalled.read(buf)) behind += n;
      } catch {
        // reset: ended too
      }
      return true;
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((r) => timer = setTimeout(() => r(false), 30_000));
    const cut = await Promise.race([ended, late]);
    clearTimeout(timer);
    assert.equal(cut, true, `the stalled page was kept (${behind} bytes read)`);
    assert.ok(behind < (count * event) / 2, `${behind} bytes`);
    await reader.cancel(), await readAll;
  } finally {
    try {
      stalled.close();
    } catch { /* closed */ }
    await viewer.close();
  }
});

Deno.test("viewer server: bench --view's run folder not made yet is waited for, not gone; a folder gone is said once, its path once", async () => {
  const { dir, records } = writeRun(1);
  const later = join(dirname(dir), "later"), never = join(dirname(dir), "never");
  const viewer = serveViewer({ runs: [new RunSource(later, { waited: true }), new RunSource(never)], port: 0 });
  const error = console.error, logged: string[] = [];
  console.error = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    const get = async (p: string) => {
      const res = await fetch(new URL(p, viewer.url));
      assert.equal(res.status, 200, p);
      return await res.json();
    };
    const [waiting, gone] = await get("/api/runs");
    assert.deepEqual([waiting.waiting, waiting.error, waiting.records], [true, undefined, 0]);
    assert.match(gone.error, /never: the run folder is gone/);
    assert.equal(await get("/api/runs/0/curves"), null, "no curves yet, and no error");
    assert.deepEqual((await get("/api/runs/0/records")).records, []);
    // the bench made its folder: read as any run
    renameSync(dir, later);
    const [made] = await get("/api/runs");
    assert.deepEqual([made.waiting, made.error, made.records], [false, undefined, records]);
    // gone once seen: said
    rmSync(later, { recursive: true });
    assert.match((await get("/api/runs"))[0].error, /later: the run folder is gone/);
    assert.deepEqual(logged, [
      `view: ${never}: the run folder is gone (moved or removed)`,
      `view: ${later}: the run folder is gone (moved or removed)`,
    ]);
  } finally {
    console.error = error;
    await viewer.close();
  }
});

Deno.test("viewer server: a run of a local model folder names its model as summary.md does (the key leaves the folder's path out)", async () => {
  const { dir } = writeRun(1);
  const file = join(dir, "run.json"), meta = JSON.parse(readFileSync(file, "utf8"));
  // as the bench writes it for --model engine/models/hogwild-demo: the key holds the folder's content, not its path
  const { model: _, ...keyed } = meta.spec;
  writeFileSync(
    file,
    JSON.stringify({ ...meta, spec: keyed, spec_full: { ...meta.spec_full, model: "engine/models/hogwild-demo" } }),
  );
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const get = async (p: string) => await (await fetch(new URL(p, viewer.url))).json();
    assert.equal((await get("/api/runs"))[0].model, "engine/models/hogwild-demo");
    assert.match(JSON.stringify((await get("/api/runs/0/curves")).steps), /engine\/models\/hogwild-demo on synthetic/);
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: run folders of one name are told apart by the shortest end of their paths that differs", async () => {
  const made = [0, 1, 2].map(() => writeRun(1).dir);
  const base = mkdtempSync(join(tmpdir(), "hogwild-view-twins-"));
  const dirs = ["a/x/run", "b/x/run", "b/y/run", "b/other"].map((d) => join(base, d));
  for (const d of dirs.slice(0, 3)) mkdirSync(dirname(d), { recursive: true });
  made.forEach((m, i) => renameSync(m, dirs[i]));
  renameSync(writeRun(1).dir, dirs[3]);
  const viewer = serveViewer({ runs: dirs.map((d) => new RunSource(d)), port: 0 });
  try {
    const runs = await (await fetch(new URL("/api/runs", viewer.url))).json();
    assert.deepEqual(runs.map((r: { name: string }) => r.name), ["a/x/run", "b/x/run", "y/run", "other"]);
  } finally {
    await viewer.close();
  }
});

/** A raw request of `method`: the status line, the headers (lower-case names) and the body as received. */
async function rawMethod(port: number, method: string, path: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
  );
  const chunks: Uint8Array[] = [], buf = new Uint8Array(1 << 16);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) chunks.push(buf.slice(0, n));
  conn.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const [head, ...body] = text.split("\r\n\r\n");
  const [status, ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status: Number(status.split(" ")[1]), headers, body: body.join("\r\n\r\n") };
}

Deno.test("viewer server: HEAD is answered as GET without its body; another method is 405 naming the ones allowed", async () => {
  const { dir } = writeRun(1);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const port = Number(new URL(viewer.url).port);
    for (const path of ["/", "/app.js", "/api/runs", "/api/runs/0/curves"]) {
      const get = await rawMethod(port, "GET", path), head = await rawMethod(port, "HEAD", path);
      assert.equal(head.status, 200, path);
      assert.equal(head.headers["content-type"], get.headers["content-type"], path);
      assert.equal(head.body, "", path);
      assert.ok(get.body.length > 0, path);
    }
    assert.equal((await rawMethod(port, "HEAD", "/nothing")).status, 404);
    const live = await rawMethod(port, "HEAD", "/api/live");
    assert.deepEqual([live.status, live.headers["content-type"], live.body], [200, "text/event-stream", ""]);
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const res = await rawMethod(port, method, "/api/runs");
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, "GET, HEAD", method);
    }
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: the run's protocol is read from its run.json; an older run.json's relative --protocol is never resolved against the viewer's folder", async () => {
  const { dir } = writeRun(1);
  const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")), protocol = loadProtocol();
  const hash = protocolHash(protocol);
  const write = (extra: Record<string, unknown>) =>
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({
        ...meta,
        spec: { ...meta.spec, "prompt protocol": hash },
        spec_full: { ...meta.spec_full, protocol: "prompts/protocol.json" }, // relative to where the bench ran
        ...extra,
      }),
    );
  const record = async () => {
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
    try {
      const get = async (p: string) => await (await fetch(new URL(p, viewer.url))).json();
      const key = (await get("/api/runs/0/records")).records.find((r: { method: string }) => r.method === "hogwild:2")
        .key;
      return await get(`/api/runs/0/record?key=${encodeURIComponent(key)}`);
    } finally {
      await viewer.close();
    }
  };
  // recorded: read from run.json, wherever the file it came from is
  write({ protocol });
  const recorded = await record();
  assert.ok(recorded.measures && recorded.redundancy_check === CHECK, JSON.stringify(recorded.measures_none));
  // recorded, but not what the key hashed (edited by hand): not taken
  write({ protocol: { ...protocol, redundancyCheck: "Am I repeating someone? " } });
  assert.match((await record()).measures_none, /run\.json's protocol is not the one its key hashed/);
  // an older run.json: a relative path is the bench's folder's, which run.json does not record; a file of that
  // path under the viewer's folder is not taken for it
  write({});
  const cwd = Deno.cwd(), here = mkdtempSync(join(tmpdir(), "hogwild-view-cwd-"));
  mkdirSync(join(here, "prompts"));
  writeFileSync(join(here, "prompts", "protocol.json"), JSON.stringify(protocol));
  Deno.chdir(here);
  try {
    const older = await record();
    assert.equal(older.measures, null);
    assert.match(older.measures_none, /prompts\/protocol\.json was given relative to the folder the bench ran in/);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("viewer server: the Records tab's list is sent a window at a time, filtered on the server: a call's bytes are bounded by its window, not the run", async () => {
  const small = writeRun(4), large = writeRun(100); // 12 and 300 records
  const viewer = serveViewer({ runs: [new RunSource(small.dir), new RunSource(large.dir)], port: 0 });
  type Row = { key: string; method: string; task: string; correct: boolean; score: number; disagree: boolean };
  type List = { records: Row[]; total: number; matched: number; methods: string[]; tasks: string[] };
  try {
    const text = async (run: number, query: string) =>
      await (await fetch(new URL(`/api/runs/${run}/records?${query}`, viewer.url))).text();
    const get = async (run: number, query: string) => JSON.parse(await text(run, query)) as List;
    // ten rows of a run of 12 and of one of 300: the same bytes, give or take a row's digits
    const [few, many] = [await text(0, "limit=10"), await text(1, "limit=10")];
    assert.ok(many.length < few.length * 1.2, `${many.length} bytes for 10 rows of 300, ${few.length} of 12`);
    // (the whole list of the large run, as it was sent at every call: 25 times more)
    assert.ok((await text(1, "limit=300")).length > many.length * 20);
    // the windows make the whole list, in the records' order
    const whole = await get(1, "limit=300");
    assert.deepEqual([whole.total, whole.matched, whole.records.length], [300, 300, 300]);
    const windows: Row[] = [];
    for (let offset = 0; offset < 300; offset += 64) {
      windows.push(...(await get(1, `offset=${offset}&limit=64`)).records);
    }
    assert.deepEqual(windows.map((r) => r.key), whole.records.map((r) => r.key));
    assert.deepEqual(whole.methods, ["hogwild:2", "hogwild:3:contiguous", "sequential"]);
    assert.deepEqual(whole.tasks, [...new Set(whole.records.map((r) => r.task))]);
    // the filters are the server's: what a window holds is what the page filtered out of the whole list before
    const filters: [string, (r: Row) => boolean][] = [
      ["method=sequential", (r) => r.method === "sequential"],
      ["method=hogwild:2&verdict=correct", (r) => r.method === "hogwild:2" && r.correct],
      ["verdict=incorrect", (r) => !r.correct],
      ["verdict=partial", (r) => r.score > 0 && r.score < 1],
      ["disagree=1&method=sequential", (r) => r.disagree && r.method === "sequential"],
      [`task=${encodeURIComponent(whole.tasks[0])}`, (r) => r.task === whole.tasks[0]],
      ["task=none", () => false],
    ];
    for (const [query, keep] of filters) {
      const want = whole.records.filter(keep), got = await get(1, `${query}&limit=7&offset=3`);
      assert.deepEqual([got.total, got.matched], [300, want.length], query);
      assert.deepEqual(got.records.map((r) => r.key), want.slice(3, 10).map((r) => r.key), query);
    }
    // what is not a window or a filter is refused, not taken as the whole list
    for (const bad of ["offset=-1", "limit=x", "limit=1.5", "verdict=maybe"]) {
      assert.equal((await fetch(new URL(`/api/runs/1/records?${bad}`, viewer.url))).status, 404, bad);
    }
  } finally {
    await viewer.close();
  }
  // a call measures the traces of its window's rows (one a call here), not the run's: the rows the page shows
  const slow = serveViewer({ runs: [new RunSource(large.dir)], port: 0, measureMs: 0 });
  try {
    const measuring = async (query: string) =>
      (await (await fetch(new URL(`/api/runs/0/records?${query}`, slow.url))).json()).measuring;
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await measuring("limit=3"));
    assert.deepEqual(first, [2, 1, 0, 0]);
    assert.equal(await measuring("offset=3&limit=3"), 2, "the next window's traces not measured by the first's calls");
  } finally {
    await slow.close();
  }
});

Deno.test("viewer server: a growing run costs its appended lines, not the run: the records read before are not parsed, checked or listed again", async () => {
  const { dir } = writeRun(101); // 303 records; the last, problem 100's sequential, is its only right one
  const files = ["records.jsonl", "traces.jsonl"].map((f) => join(dir, f));
  const [records, traces] = files.map((f) => readFileSync(f, "utf8").trim().split("\n"));
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
  run.planned = records.map((l) => recordKey(JSON.parse(l))); // the plan checked too
  writeFileSync(join(dir, "run.json"), JSON.stringify(run));
  // the bench has written all but the last
  files.forEach((f, i) => writeFileSync(f, [records, traces][i].slice(0, -1).join("\n") + "\n"));
  const source = new RunSource(dir);
  const viewer = serveViewer({ runs: [source], port: 0 });
  try {
    type Row = { key: string; disagree: boolean; measuring: boolean };
    const list = async (q: string) =>
      (await (await fetch(new URL(`/api/runs/0/records?${q}`, viewer.url))).json()) as {
        records: Row[];
        total: number;
        measuring: number;
      };
    while ((await list("limit=5000")).measuring > 0); // every trace measured: what the spy below sees is the rest
    const first = await list("offset=297&limit=10");
    assert.deepEqual(first.records.map((r) => r.disagree), [true, true, true, false, false]);
    // a spy on every field of the records read: anything that looks at one of them again counts
    let touched = 0;
    for (const r of source.read().records) {
      for (const [k, v] of Object.entries(r)) {
        Object.defineProperty(r, k, { get: () => (touched++, v), enumerable: true, configurable: true });
      }
    }
    const parses = source.parses;
    files.forEach((f, i) => appendFileSync(f, [records, traces][i].at(-1) + "\n"));
    const grown = await list("offset=297&limit=10");
    assert.equal(grown.total, 303);
    assert.equal(source.parses, parses + 2, "the appended record and trace parsed, nothing else");
    // the appended record lists its problem's disagreement on the rows of its problem listed before
    assert.deepEqual(grown.records.map((r) => r.disagree), [true, true, true, true, true, true]);
    assert.equal(touched, 0, "the records read before were not looked at again (checked, listed, counted)");
    // its record is found without a look at the others
    const key = recordKey(JSON.parse(records.at(-1)!));
    const one = await (await fetch(new URL(`/api/runs/0/record?key=${encodeURIComponent(key)}`, viewer.url))).json();
    assert.equal(one.record.problem_id, "synthetic-100");
    assert.equal(touched, 0, "a record found by its key, not by a look at every record");
  } finally {
    await viewer.close();
  }
});

Deno.test("viewer server: a growing run's appended records are checked as a whole file is, each error at its line; a run.json changed checks them all again", () => {
  const { dir } = writeRun(3);
  const file = join(dir, "records.jsonl"), lines = readFileSync(file, "utf8").trim().split("\n");
  const runFile = join(dir, "run.json"), run = JSON.parse(readFileSync(runFile, "utf8"));
  run.planned = lines.map((l) => recordKey(JSON.parse(l)));
  run.spec.budgets = JSON.parse(lines[0]).checkpoints.map((c: { budget: number }) => c.budget);
  writeFileSync(runFile, JSON.stringify(run));
  const source = new RunSource(dir), seven = lines.slice(0, 7).join("\n") + "\n";
  /** what a read of the whole folder, by a viewer that never saw it, says */
  const whole = () => {
    try {
      new RunSource(dir).read();
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail("the whole folder was read");
  };
  const line = (patch: (r: Record<string, unknown>) => void) => {
    const r = JSON.parse(lines[7]);
    patch(r);
    return JSON.stringify(r) + "\n";
  };
  const faults: [string, RegExp][] = [
    [line((r) => r.seed = 9), /records\.jsonl:8: the record .* is not one this run planned/],
    [line((r) => r.grader = "hogwild-grader/1"), /records graded by several grader versions/],
    [
      line((r) => (r.checkpoints as { budget: number }[]).forEach((c) => c.budget *= 2)),
      /records\.jsonl:8: a record checkpointed at .*, not this run's budgets/,
    ],
    [lines[3] + "\n", /records\.jsonl:8: the record .* appears twice/],
  ];
  for (const [appended, error] of faults) {
    writeFileSync(file, seven);
    assert.equal(source.read().records.length, 7);
    appendFileSync(file, appended);
    const said = whole();
    assert.match(said, error);
    assert.throws(() => source.read(), (e: Error) => e.message === said);
    // mended by a good line in its place: read on
    writeFileSync(file, seven + lines[7] + "\n");
    assert.equal(source.read().records.length, 8);
  }
  // run.json changed while the records only grew: the records read before are checked against it too
  run.planned = run.planned.slice(1);
  writeFileSync(runFile, JSON.stringify(run));
  appendFileSync(file, lines[8] + "\n");
  assert.match(whole(), /records\.jsonl:1: the record .* is not one this run planned/);
  assert.throws(() => source.read(), (e: Error) => e.message === whole());
});
