/**
 * deno task rescore: a run folder graded again by today's grader, nothing regenerated, nothing of the old
 * verdicts kept, and the new folder the bench's own (it resumes it with nothing to run).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";
import type { BenchRecord } from "../../harness/bench/rundir.ts";
import { runCli } from "../helpers.ts";

const SPEC = ["--methods", "sequential,sc:2", "--budgets", "48:96:48", "--count", "3"];
const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n");

Deno.test("rescore grades every record again, keeps the run's answers, times and traces, and the bench resumes the new folder", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-rescore-"));
  const run = join(base, "run");
  const b = await runCli("cli/bench.ts", [...SPEC, "--out", run]);
  assert.equal(b.code, 0, b.stderr);
  const original = lines(join(run, "records.jsonl")).map((l) => JSON.parse(l) as BenchRecord);
  assert.ok(original.some((r) => r.checkpoints.some((c) => c.equal_strict)), "some answers are right");
  assert.ok(original.some((r) => r.checkpoints.some((c) => c.vote !== undefined)), "sc:2 votes");
  /** A copy of the run whose records are `each` of the run's. */
  const copyRun = (name: string, each: (r: BenchRecord) => unknown) => {
    const dir = join(base, name);
    cpSync(run, dir, { recursive: true });
    writeFileSync(join(dir, "records.jsonl"), original.map((r) => JSON.stringify(each(r)) + "\n").join(""));
    return dir;
  };
  /** A copy as an older grader left it: each checkpoint with `older`'s verdicts over its own. */
  const olderFolder = (name: string, older: (c: BenchRecord["checkpoints"][number]) => Record<string, unknown>) =>
    copyRun(name, (r) => ({
      ...r,
      grader: "hogwild-grader/1",
      checkpoints: r.checkpoints.map((c) => ({ ...c, ...older(c) })),
    }));
  // An older grader's folder: every verdict flipped, a time-out and an error it no longer makes.
  const old = olderFolder("old", (c) => ({
    equal_strict: !c.equal_strict,
    equal_lenient: !c.equal_lenient,
    score_strict: 1 - c.score_strict,
    score_lenient: 1 - c.score_lenient,
    timed_out: true,
    grader_error: "old",
    // a vote the old grader's grouping picked otherwise: sc:2's majority is counted again from its paths
    ...(c.vote !== undefined ? { vote: "999", vote_equal_strict: !c.vote_equal_strict, vote_score_strict: 0.5 } : {}),
  }));
  const out = join(base, "rescored");
  const r = await runCli("cli/rescore.ts", [old, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`graded by ${GRADER_VERSION} \\(before: hogwild-grader/1\\)`));
  // the old grader's time-outs and errors counted wrong: said beside today's (none), not only as changed verdicts
  assert.match(
    r.stderr,
    /; 0 checkpoints' answers timed out in the grader \(10 s, wall-clock, tried twice\), 0 the grader failed on, and 0 paths' answers either way: each counted wrong \(before: 12 timed out, 12 failed, 0 paths\)/,
  );
  assert.deepEqual(lines(join(out, "records.jsonl")), lines(join(run, "records.jsonl")), "the bench's own verdicts");
  assert.equal(readFileSync(join(out, "traces.jsonl"), "utf8"), readFileSync(join(run, "traces.jsonl"), "utf8"));
  assert.equal(readFileSync(join(out, "curves.csv"), "utf8"), readFileSync(join(run, "curves.csv"), "utf8"));
  assert.doesNotMatch(readFileSync(join(out, "summary.md"), "utf8"), /unfinished/);
  // a grader that moved only the lenient score, the votes and the paths: each count said, the strict one 0
  const quiet = olderFolder("quiet", (c) => ({
    score_lenient: c.score_lenient > 0.5 ? 0 : 1, // every lenient score another (a part score too)
    ...(c.vote !== undefined ? { vote_score_strict: c.vote_score_strict! > 0.5 ? 0 : 1 } : {}),
    ...(c.paths !== undefined ? { paths_score_strict: c.paths_score_strict! > 0.5 ? 0 : 1 } : {}),
  }));
  const q = await runCli("cli/rescore.ts", [quiet, "--out", join(base, "quiet-rescored")]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(
    q.stderr,
    /records with a changed verdict: 0 strict, 6 lenient, 3 vote, 3 paths, e\.g\. chains \/ chains-p4-t3-s1-\d+ \//,
  );
  // a folder cut short says so in its summary, before any figure
  const cut = join(base, "cut");
  cpSync(run, cut, { recursive: true });
  writeFileSync(join(cut, "records.jsonl"), lines(join(run, "records.jsonl")).slice(0, 3).join("\n") + "\n");
  const c = await runCli("cli/rescore.ts", [cut, "--out", join(base, "cut-rescored")]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(
    readFileSync(join(base, "cut-rescored", "summary.md"), "utf8"),
    /^# .*\n\n\*\*An unfinished run: 3 of 6 planned records\.\*\*/,
  );
  // chains before grader 6: its golds a list of bare sums; grading them anew would stamp 6 on the list's rules
  const older = copyRun("older", (r) => ({ ...r, grading: "list", golds: r.golds.map((g) => g.split(" = ")[1]) }));
  const o = await runCli("cli/rescore.ts", [older, "--out", join(base, "older-rescored")]);
  assert.equal(o.code, 2, o.stderr);
  assert.match(
    o.stderr,
    /task chains's problem chains-p4-t3-s1-\d+ holds golds \["\d+",.*\] graded as "list", and this version makes \[\["A = \d+",.*\],"parts"\] of it .* run the bench again into another folder/,
  );
  assert.ok(!existsSync(join(base, "older-rescored")), "nothing written");
  const resumed = await runCli("cli/bench.ts", [...SPEC, "--out", out]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /6 already there, 0 to run/);
});

Deno.test("rescore refuses a folder in use, a non-empty --out, a folder that is not a run, and its own input as --out's OUT.partial", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-rescore-bad-"));
  const run = join(base, "run");
  assert.equal((await runCli("cli/bench.ts", [...SPEC.slice(0, 4), "--count", "1", "--out", run])).code, 0);
  const cases: [string[], RegExp][] = [
    [[run], /--out DIR is required/],
    [[run, "--out", run], /--out .*run: exists and is not an empty folder/],
    [[base, "--out", join(base, "x")], /no run\.json \(not a run folder\?\)/],
    // refused before the grading, not after it (the work lost)
    [[run, "--out", join(base, "afile", "r")], /^error: --out .*afile\/r: .*afile is not a folder\n$/],
  ];
  writeFileSync(join(base, "afile"), "");
  for (const [args, message] of cases) {
    const r = await runCli("cli/rescore.ts", args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  assert.ok(!existsSync(join(base, "afile.partial")));
  // the run written as R.partial, rescored into R: its input is where rescore writes R before it is whole
  const partial = join(base, "r.partial");
  cpSync(run, partial, { recursive: true });
  const own = await runCli("cli/rescore.ts", [partial, "--out", join(base, "r")]);
  assert.equal(own.code, 2, own.stderr);
  assert.equal(
    own.stderr,
    `error: rescore: ${partial} is where rescore writes --out ${join(base, "r")} before it is whole; rename the ` +
      "folder, or give another --out\n",
  );
  for (const f of ["run.json", "records.jsonl", "traces.jsonl"]) {
    assert.equal(readFileSync(join(partial, f), "utf8"), readFileSync(join(run, f), "utf8"), `${f} kept`);
  }
  assert.ok(!existsSync(join(base, "r")));
  // a bench's lock is the OS's on its open run.lock (here this process's), its file naming it
  const lock = Deno.openSync(join(run, "run.lock"), { write: true, create: true });
  lock.lockSync(true);
  writeFileSync(join(run, "run.lock"), `${Deno.pid} ${hostname()}\n`);
  const locked = await runCli("cli/rescore.ts", [run, "--out", join(base, "y")]);
  lock.close();
  assert.match(locked.stderr, new RegExp(`a bench \\(process ${Deno.pid} on ${hostname()}\\) is writing it`));
  // a lock left by a process that is gone, a torn last line, an --out with a trailing slash
  writeFileSync(join(run, "run.lock"), "999999999");
  const torn = readFileSync(join(run, "records.jsonl"), "utf8").trimEnd() + '\n{"task": "cha';
  writeFileSync(join(run, "records.jsonl"), torn);
  const r = await runCli("cli/rescore.ts", [run, "--out", join(base, "z") + "/"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(run, "records.jsonl"), "utf8"), torn, "the source folder is left as it was");
  assert.equal(lines(join(base, "z", "records.jsonl")).length, 2, "the two whole records, the torn one unread");
  assert.ok(!existsSync(join(base, "z", ".partial")) && !existsSync(join(base, "z.partial")));
});

Deno.test("rescore of a killed folder keeps only the traces of the records it keeps, as the bench's resume does, and its shards merge", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-rescore-killed-"));
  const args = [...SPEC.slice(0, 4), "--count", "2", "--shard"];
  for (const i of [0, 1]) assert.equal((await runCli("cli/bench.ts", [...args, `${i}/2`, "--out", base])).code, 0);
  // shard 0 killed between its trace's append and its record's, then while writing the next trace: a trace whose
  // record was never written, and a torn last line
  const shard = join(base, "shard-0-of-2"), traces = lines(join(shard, "traces.jsonl"));
  const orphan = { ...JSON.parse(traces[0]), seed: 9 };
  writeFileSync(
    join(shard, "traces.jsonl"),
    [...traces, JSON.stringify(orphan)].join("\n") + '\n{"task": "cha',
  );
  const rescored = join(base, "rescored", "shard-0-of-2"), other = join(base, "rescored", "shard-1-of-2");
  assert.equal((await runCli("cli/rescore.ts", [shard, "--out", rescored])).code, 0);
  assert.deepEqual(lines(join(rescored, "traces.jsonl")), traces, "the records' traces, nothing else");
  assert.equal((await runCli("cli/rescore.ts", [join(base, "shard-1-of-2"), "--out", other])).code, 0);
  const m = await runCli("cli/merge.ts", [rescored, other, "--out", join(base, "merged")]);
  assert.equal(m.code, 0, m.stderr);
});
