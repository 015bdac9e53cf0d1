/**
 * harness/report/merge.ts: shards whose specs differ are refused, naming each field that differs with both values;
 * the same spec with its fields in another order (written by another commit) merges.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { bigRun, dataPairs, root, runCli, underHeap } from "../../helpers.ts";
import { mergeShards } from "../../../harness/report/merge.ts";

/** A shard folder of a run that planned no records: run.json with `spec` (and its shard), empty records and traces. */
function shard(base: string, index: number, spec: Record<string, unknown>, meta = {}): string {
  const dir = join(base, `shard-${index}-of-2`);
  mkdirSync(dir);
  const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["sequential"], budgets: [8], seeds: [1] };
  const run = { spec: { ...spec, shard: { index, count: 2 } }, spec_full: full, planned: [], ...meta };
  writeFileSync(join(dir, "run.json"), JSON.stringify(run));
  writeFileSync(join(dir, "records.jsonl"), "");
  writeFileSync(join(dir, "traces.jsonl"), "");
  return dir;
}

Deno.test("merge names each field where the shards' specs differ, with both values; key order is no difference", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-"));
  const spec = { model: "m", grader: "g/7", sampling: { temperature: 0.6, top_p: 0.95 }, seeds: [1] };
  const a = shard(base, 0, spec);
  mkdirSync(join(base, "other"));
  const b = shard(join(base, "other"), 1, { ...spec, grader: "g/6", seeds: [1, 2] });
  const r = await runCli("cli/merge.ts", [a, b, "--out", join(base, "merged")]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    `error: ${b}: its spec differs from ${a}'s (grader: ${a} has "g/7", ${b} "g/6"; seeds: ${a} has [1], ${b} ` +
      "[1,2]); merge takes the shards of one run",
  );
  assert.ok(!existsSync(join(base, "merged")), "nothing written");
  // the same spec, its fields (and its sampling's) written in another order
  mkdirSync(join(base, "reordered"));
  const c = shard(join(base, "reordered"), 1, {
    seeds: [1],
    sampling: { top_p: 0.95, temperature: 0.6 },
    grader: "g/7",
    model: "m",
  });
  const ok = await runCli("cli/merge.ts", [a, c, "--out", join(base, "merged")]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /merge: 0 records from 2 shards/);
});

Deno.test("merge of shards whose data differ names the data flags that chose it, or says the same flags read other data", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-data-"));
  const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["sequential"], budgets: [8], seeds: [1] };
  const a = shard(base, 0, { data: "aaa" }, { spec_full: { ...full, data: "/d/x.jsonl", limit: 5 } });
  mkdirSync(join(base, "b"));
  const b = shard(join(base, "b"), 1, { data: "bbb" }, { spec_full: { ...full, data: "/d/x.jsonl", limit: 6 } });
  const r = await runCli("cli/merge.ts", [a, b, "--out", join(base, "merged")]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`the flags that chose the data: --limit: ${a} has 5, ${b} 6\\); merge takes the shards of one run`),
  );
  mkdirSync(join(base, "c"));
  const c = shard(join(base, "c"), 1, { data: "bbb" }, { spec_full: { ...full, data: "/d/x.jsonl", limit: 5 } });
  const same = await runCli("cli/merge.ts", [a, c, "--out", join(base, "merged")]);
  assert.equal(same.code, 2, same.stderr);
  assert.match(same.stderr, /the task data's content differs: the same data flags \(--data \/d\/x\.jsonl, --limit 5\)/);
});

Deno.test("merge of shards that read their data from other paths: the same data merges; other data is said as content unless other flags chose it", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-paths-"));
  for (const [i, { name, a, b, changed, limit }] of dataPairs().entries()) {
    const here = join(base, String(i));
    mkdirSync(join(here, "b"), { recursive: true });
    const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["sequential"], budgets: [8], seeds: [1] };
    const [x, y] = [[here, a, 0] as const, [join(here, "b"), b, 1] as const].map(([at, s, i]) =>
      shard(at, i, s.spec, { spec_full: { ...full, ...s.spec_full } })
    );
    const merged = mergeShards([x, y], join(here, "merged"));
    if (!changed) {
      await merged;
      continue;
    }
    const e = await merged.then(() => undefined, (e: Error) => e);
    assert.ok(e, `${name}: merged`);
    if (limit) {
      assert.match(e.message, new RegExp(`the flags that chose the data: .*--limit: ${x} has 5, ${y} 6`), name);
    } else {
      assert.match(e.message, /the task data's content differs/, name);
      assert.doesNotMatch(e.message, /the flags that chose the data/, name);
    }
  }
});

Deno.test("merge keeps what the loader said of the data (run.json data_notes) in the merged folder and its summary, each task's finisher limit and the protocol", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-notes-"));
  const notes = {
    data_notes: ["limo: /d/limo.jsonl: 3 records, task limo has 817: these results are not limo's whole set"],
    finisher_tokens: { limo: 16 },
    protocol: { stepPrefix: "**{name} [{step}]:** " }, // (as recorded: the viewer reads it)
  };
  const dirs = [0, 1].map((i) => shard(base, i, { model: "m" }, notes));
  const out = join(base, "merged");
  const r = await runCli("cli/merge.ts", [...dirs, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const merged = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
  assert.deepEqual(merged.data_notes, notes.data_notes);
  assert.deepEqual(merged.finisher_tokens, notes.finisher_tokens);
  assert.deepEqual(merged.protocol, notes.protocol, "the run's protocol, as the viewer reads it");
  assert.match(readFileSync(join(out, "summary.md"), "utf8"), /- limo: \/d\/limo\.jsonl: 3 records, task limo has 817/);
  // shards finished with other limits (two versions' defaults) are two runs
  const limits = mkdtempSync(join(tmpdir(), "hogwild-merge-limits-"));
  const two = [0, 1].map((i) => shard(limits, i, { model: "m" }, { finisher_tokens: { limo: 16 * (i + 1) } }));
  const refused = await runCli("cli/merge.ts", [...two, "--out", join(limits, "merged")]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /finisher_tokens: limo was 16, now 32\); merge takes the shards of one run/);
});

Deno.test("merge's summary says what each shard's does: the greedy methods' line and a shard's cost-model fit warning, naming the shard", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-warnings-"));
  const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0 };
  const fit = (median_rel_error: number) => ({
    coef: [0.1, 0.1, 0, 0, 0, 0],
    fit: { passes: 31, shapes: 31, median_rel_error, p90_rel_error: 0.9 },
  });
  const dirs = [0, 1].map((i) =>
    shard(base, i, { model: "m" }, {
      spec_full: {
        model: "m",
        device: "cpu",
        tasks: ["t"],
        methods: ["sc:2", "sequential"],
        budgets: [8],
        seeds: [1],
      },
      sampling,
      cost_model: fit(i === 1 ? 0.4 : 0.05),
    })
  );
  const out = join(base, "merged");
  const r = await runCli("cli/merge.ts", [...dirs, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(summary, /The writers decode greedily \(temperature 0\)\. \*\*sc:2 runs with greedy decoding/);
  assert.match(
    summary,
    new RegExp(`Warning: the cost model of shard ${dirs[1]} predicts its own 31 calibration passes`),
  );
  assert.doesNotMatch(summary, new RegExp(`shard ${dirs[0]}`), "the shard whose fit is fine");
});

Deno.test("merge of shards whose traces pass the heap copies them a line at a time", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-big-"));
  const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["hogwild:2"], budgets: [1], seeds: [1] };
  // 2 × 150 MB of traces: never held at once, as text (the heap) or as bytes (what the process grew by)
  const dirs = [0, 1].map((index) => {
    const dir = join(base, `shard-${index}`);
    bigRun(dir, {
      n: 150,
      kb: 1000,
      from: 150 * index,
      runJson: { spec: { shard: { index, count: 2 } }, spec_full: full },
    });
    return dir;
  });
  try {
    const out = join(base, "merged");
    const { out: said, grew } = await underHeap(
      64,
      `import { mergeShards } from "${root}harness/report/merge.ts";
      console.log((await mergeShards(${JSON.stringify(dirs)}, ${JSON.stringify(out)})).records);`,
    );
    assert.equal(said.trim(), "300");
    // about 150 MiB (the plots' and the heap's own), and 320 where the traces were held
    assert.ok(grew < 200, `the merge grew by ${grew} MiB`);
    const traces = (dir: string) => readFileSync(join(dir, "traces.jsonl"));
    assert.ok(traces(out).equals(Buffer.concat(dirs.map(traces))), "the shards' traces, in order, byte for byte");
  } finally {
    rmSync(base, { recursive: true });
  }
});

Deno.test("merge of shards an older grader graded names theirs in the summary; a shard of two graders is refused", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-grader-"));
  const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["hogwild:2"], budgets: [1], seeds: [1] };
  /** Shard `index` of 2, its records graded by `graders` (one a record). */
  const graded = (name: string, index: number, graders: string[]) => {
    const dir = join(base, name, `shard-${index}`);
    bigRun(dir, { n: 2, kb: 1, from: 2 * index, runJson: { spec: { shard: { index, count: 2 } }, spec_full: full } });
    const file = join(dir, "records.jsonl");
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l, i) => ({
      ...JSON.parse(l),
      grader: graders[i],
    }));
    writeFileSync(file, lines.map((l) => JSON.stringify(l) + "\n").join(""));
    return dir;
  };
  try {
    // shards run before an update of the grader, merged after it
    const old = [0, 1].map((i) => graded("old", i, ["hogwild-grader/3", "hogwild-grader/3"]));
    const out = join(base, "merged");
    const r = await runCli("cli/merge.ts", [...old, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(out, "summary.md"), "utf8"), /Accuracy is the strict verdict of hogwild-grader\/3 /);
    const mixed = [graded("mixed", 0, ["hogwild-grader/3", "hogwild-grader/4"]), graded("mixed", 1, ["x", "x"])];
    const refused = await runCli("cli/merge.ts", [...mixed, "--out", join(base, "mixed-merged")]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /shard-0: records graded by several grader versions \(hogwild-grader\/3, hogwild-grader\/4\)/,
    );
  } finally {
    rmSync(base, { recursive: true });
  }
});

Deno.test("merge's summary says where its shards ran at different commits of the project (or Deno versions), naming each; one commit, nothing", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-commits-"));
  const versions = (project: string, deno = "2.9.6") => ({ versions: { deno, project, grader: "g/7" } });
  const dirs = [
    shard(base, 0, { model: "m" }, versions("aaaa111")),
    shard(base, 1, { model: "m" }, versions("bbbb222")),
  ];
  const out = join(base, "merged");
  const r = await runCli("cli/merge.ts", [...dirs, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  assert.match(
    summary,
    new RegExp(
      `\\*\\*Its shards ran at different commits of the project: shard ${dirs[0]} at aaaa111, shard ${dirs[1]} at ` +
        "bbbb222\\.\\*\\*",
    ),
  );
  // one commit (and one Deno): no word; another Deno alone is said too
  const same = mkdtempSync(join(tmpdir(), "hogwild-merge-commits-"));
  const one = [0, 1].map((i) => shard(same, i, { model: "m" }, versions("aaaa111")));
  assert.equal((await runCli("cli/merge.ts", [...one, "--out", join(same, "merged")])).code, 0);
  assert.doesNotMatch(readFileSync(join(same, "merged", "summary.md"), "utf8"), /different commits|Deno versions/);
  const deno = mkdtempSync(join(tmpdir(), "hogwild-merge-commits-"));
  const two = [0, 1].map((i) => shard(deno, i, { model: "m" }, versions("aaaa111", `2.${i}.0`)));
  assert.equal((await runCli("cli/merge.ts", [...two, "--out", join(deno, "merged")])).code, 0);
  assert.match(
    readFileSync(join(deno, "merged", "summary.md"), "utf8"),
    /different Deno versions: shard .* at 2\.0\.0/,
  );
});

/** Shards 0 and 1 of 2 of a run of 2 records each under `base` (named shard-I), with their traces. */
function tracedShards(base: string): string[] {
  const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["hogwild:2"], budgets: [1], seeds: [1] };
  return [0, 1].map((index) => {
    const dir = join(base, `shard-${index}`);
    bigRun(dir, { n: 2, kb: 1, from: 2 * index, runJson: { spec: { shard: { index, count: 2 } }, spec_full: full } });
    return dir;
  });
}

Deno.test("merge never deletes an OUT.partial it did not make: shards kept inside it are refused as inputs, another folder there is refused and kept, a killed merge's is replaced", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-partial-"));
  const snapshot = (dir: string) =>
    Object.fromEntries(
      Deno.readDirSync(dir).map((e) => [e.name, e.isFile ? readFileSync(join(dir, e.name), "utf8") : "folder"]),
    );
  try {
    // the shards written under Q.partial (bench --shard i/2 --out Q.partial), merged into Q
    const inside = tracedShards(join(base, "q.partial"));
    const before = inside.map(snapshot);
    const r = await runCli("cli/merge.ts", [...inside, "--out", join(base, "q")]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `error: merge: ${inside[0]} lies inside ${join(base, "q.partial")}, where merge writes --out ${
        join(base, "q")
      } before it is whole; move the folder out of it, or give another --out`,
    );
    assert.deepEqual(inside.map(snapshot), before, "the shards are kept as they were");
    assert.ok(!existsSync(join(base, "q")), "nothing written");
    // a bench's own run folder at OUT.partial (bench --out X.partial), merging other shards into X
    const shards = tracedShards(join(base, "s"));
    const partial = join(base, "x.partial");
    bigRun(partial, { n: 1, kb: 1 });
    const kept = snapshot(partial);
    const other = await runCli("cli/merge.ts", [...shards, "--out", join(base, "x")]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(
      other.stderr,
      new RegExp(
        `^error: --out ${join(base, "x")}: ${partial} exists and is not a merge's or rescore's unfinished folder ` +
          `\\(it holds records\\.jsonl, run\\.json, traces\\.jsonl\\); move it away, or give another --out\n$`,
      ),
    );
    assert.deepEqual(snapshot(partial), kept, "kept as it was");
    // a merge killed mid-write left its marked OUT.partial: the next one replaces it, and the folder written is whole
    const killed = join(base, "k.partial");
    mkdirSync(killed);
    writeFileSync(join(killed, "partial.lock"), "2147483646 elsewhere\n");
    writeFileSync(join(killed, "records.jsonl"), '{"task": "t", "prob');
    const again = await runCli("cli/merge.ts", [...shards, "--out", join(base, "k")]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!existsSync(killed), "the killed merge's folder is gone");
    assert.ok(!existsSync(join(base, "k", "partial.lock")), "the marker does not stay in the folder written");
    assert.equal(readFileSync(join(base, "k", "traces.jsonl"), "utf8").trim().split("\n").length, 4);
  } finally {
    rmSync(base, { recursive: true });
  }
});

Deno.test("two merges into one --out: the second is refused while the first writes, naming it, and the folder written is one merge's whole", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-merge-lock-"));
  try {
    const a = tracedShards(join(base, "a")), b = tracedShards(join(base, "b"));
    // a merge writing X: its partial.lock held (here by this process), a file half written
    const out = join(base, "x"), partial = join(base, "x.partial");
    mkdirSync(partial);
    const lock = Deno.openSync(join(partial, "partial.lock"), { read: true, write: true, create: true });
    lock.lockSync(true);
    writeFileSync(join(partial, "partial.lock"), `${Deno.pid} ${hostname()}\n`);
    writeFileSync(join(partial, "records.jsonl"), '{"task": "t", "prob');
    let r;
    try {
      r = await runCli("cli/merge.ts", [...b, "--out", out]);
    } finally {
      lock.close();
    }
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `error: ${partial}: another merge or rescore (process ${Deno.pid} on ${hostname()}) is writing --out ${out} ` +
        "here; wait for it to end, or give another --out\n",
    );
    assert.equal(readFileSync(join(partial, "records.jsonl"), "utf8"), '{"task": "t", "prob', "its files kept");
    assert.ok(!existsSync(out));
    rmSync(partial, { recursive: true });
    // two merges at once, of two runs (one of 2 records a shard, one of 3): one writes X whole, the other is refused
    const c = [0, 1].map((index) => {
      const dir = join(base, "c", `shard-${index}`);
      const full = { model: "m", device: "cpu", tasks: ["t"], methods: ["hogwild:2"], budgets: [1], seeds: [1] };
      bigRun(dir, { n: 3, kb: 1, from: 3 * index, runJson: { spec: { shard: { index, count: 2 } }, spec_full: full } });
      return dir;
    });
    const [one, two] = await Promise.all([a, c].map((dirs) => runCli("cli/merge.ts", [...dirs, "--out", out])));
    assert.deepEqual([one.code, two.code].sort(), [0, 2], one.stderr + two.stderr);
    const refused = one.code ? one : two;
    assert.match(refused.stderr, /is writing --out|exists and is not an empty folder/);
    const records = readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").length;
    assert.equal(records, one.code ? 6 : 4, "the records of the merge that succeeded");
    assert.equal(readFileSync(join(out, "traces.jsonl"), "utf8").trim().split("\n").length, records, "and its traces");
    assert.ok(!existsSync(partial) && !existsSync(join(out, "partial.lock")));
  } finally {
    rmSync(base, { recursive: true });
  }
});
