/**
 * Resume, shards and a tight KV cache on runs that write text: the demo model on chains, greedy and sampled
 * with two seeds. A folder that was killed, cut mid-line, split into shards or squeezed holds the same
 * records.jsonl and traces.jsonl as one uninterrupted roomy run, line for line (sorted by record key, with
 * only the clock's fields blanked: `lines`). One reference run of each kind serves every comparison.
 */
import assert from "node:assert/strict";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_MODEL } from "../../../harness/bench/spec.ts";
import { type BenchRecord, recordKey, type TraceLine } from "../../../harness/bench/rundir.ts";
import { lastFlagWins, randInt, Rng, runCli } from "../../helpers.ts";

// Small counts and budgets: seconds a run. Budgets up to 48 passes let hogwild:2 finish some problems.
const GREEDY = [
  "--model",
  DEMO_MODEL,
  "--task",
  "chains",
  "--count",
  "4",
  "--methods",
  "hogwild:2,sequential,sc:2",
  "--budgets",
  "8:48:8",
  "--concurrency",
  "2",
];
// Sampled hot enough that the two seeds write different texts (at 1.0 the demo model is nearly greedy).
const SAMPLED = [
  "--model",
  DEMO_MODEL,
  "--task",
  "chains",
  "--count",
  "3",
  "--methods",
  "hogwild:2,sc:2",
  "--budgets",
  "8:48:8",
  "--temperature",
  "1.5",
  "--seeds",
  "1,2",
  "--concurrency",
  "2",
];

const runBench = (...args: string[]) => runCli("cli/bench.ts", lastFlagWins(args));
const tmp = () => mkdtempSync(join(tmpdir(), "hogwild-text-"));

/** The uninterrupted run of these flags, run once and shared by the tests. */
function reference(args: string[]): () => Promise<string> {
  let dir: Promise<string> | undefined;
  return () =>
    dir ??= (async () => {
      const out = join(tmp(), "whole");
      const r = await runBench(...args, "--out", out);
      assert.equal(r.code, 0, r.stderr);
      return out;
    })();
}
const greedyWhole = reference(GREEDY), sampledWhole = reference(SAMPLED);

type Line = BenchRecord | TraceLine;

/**
 * A run file's lines as they must compare, sorted by record key. Blanked, because the clock sets them: shared_ms
 * and pass_ms (wall times measured), and solo_ms (the folder's cost model's prediction; that model is fitted
 * to passes timed when the folder is created, so another folder has another). pass_ms keeps its length: the
 * passes the run took part in. Everything else, the texts included, must be equal byte for byte.
 */
function lines(dir: string, file: "records.jsonl" | "traces.jsonl", keepSolo = false): string[] {
  const text = readFileSync(join(dir, file), "utf8");
  assert.ok(text === "" || text.endsWith("\n"), `${dir}/${file} ends mid-line`);
  const untimed = (l: Line): Line =>
    "pass_ms" in l ? { ...l, pass_ms: l.pass_ms.map(() => 0) } : {
      ...l,
      solo_ms: keepSolo ? l.solo_ms : 0,
      shared_ms: 0,
      checkpoints: l.checkpoints.map((c) => ({ ...c, solo_ms: keepSolo ? c.solo_ms : 0, shared_ms: 0 })),
    };
  const parse = (l: string, i: number) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(`${dir}/${file}:${i + 1}: not a JSON line (a torn line left in place?)`);
    }
  };
  return text.split("\n").filter((l) => l !== "").map((l, i) => untimed(parse(l, i)))
    .map((l) => [recordKey(l), JSON.stringify(l)]).sort(([a], [b]) => a.localeCompare(b)).map(([, l]) => l);
}

/**
 * The folder holds the reference's records and traces, each once; with `sameCostModel` (a folder resumed from
 * the reference's run.json) their solo times too: the same model's predictions over the same passes.
 */
function assertSameRun(dir: string, want: string, sameCostModel = false) {
  for (const f of ["records.jsonl", "traces.jsonl"] as const) {
    assert.deepEqual(lines(dir, f, sameCostModel), lines(want, f, sameCostModel), f);
  }
}

const parse = <T>(dir: string, file: string): T[] =>
  readFileSync(join(dir, file), "utf8").trim().split("\n").map((l) => JSON.parse(l));

Deno.test("the reference runs write text: answers, steps, correct verdicts; the sampled seeds write different texts", async () => {
  for (const dir of [await greedyWhole(), await sampledWhole()]) {
    const records = parse<BenchRecord>(dir, "records.jsonl"), traces = parse<TraceLine>(dir, "traces.jsonl");
    assert.equal(records.length, 12);
    for (const r of records) {
      assert.ok(r.steps > 0, `${recordKey(r)}: no step`);
      assert.ok(r.checkpoints.every((c) => c.answer !== null), `${recordKey(r)}: a checkpoint without an answer`);
    }
    const right = records.filter((r) => r.checkpoints.at(-1)!.equal_strict).length;
    assert.ok(right > 0, `${dir}: no record answers right at the last budget`);
    for (const t of traces) assert.ok(t.workers.every((w) => w.length > 20), `${recordKey(t)}: a worker wrote nothing`);
  }
  // Each problem × method: seed 1 and seed 2 wrote different texts (else a wrong seed could not show).
  const texts = new Map(parse<TraceLine>(await sampledWhole(), "traces.jsonl").map((t) => [recordKey(t), t.workers]));
  const pairs = [...texts.keys()].filter((k) => k.endsWith("\t1"));
  const differ = pairs.filter((k) => JSON.stringify(texts.get(k)) !== JSON.stringify(texts.get(k.replace(/1$/, "2"))));
  assert.ok(differ.length >= pairs.length / 2, `${differ.length} of ${pairs.length} pairs of seeds differ`);
});

Deno.test("a run killed at random moments resumes into the unbroken run's records and traces, each once", async () => {
  const broken = join(tmp(), "broken");
  const rng = new Rng(42);
  const counts: number[] = [];
  const written =
    () => (existsSync(join(broken, "records.jsonl"))
      ? readFileSync(join(broken, "records.jsonl"), "utf8").split("\n").length - 1
      : 0);
  for (let attempt = 0; attempt < 4; attempt++) {
    const before = written();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/bench.ts", ...GREEDY, "--out", broken],
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (attempt % 2 === 0) {
      // Once the run makes progress (up to 2 minutes on a loaded machine), a random moment later (mid-run, mid-write maybe).
      for (let t = 0; t < 2400 && written() === before; t++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, randInt(rng, 0, 300)));
    } else {
      await new Promise((r) => setTimeout(r, randInt(rng, 200, 2500))); // any moment, start-up included
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // it finished before the kill
    }
    await child.status;
    counts.push(written());
  }
  assert.ok(counts.some((n) => n > 0 && n < 12), `records after each kill: ${counts}`);
  const last = await runBench(...GREEDY, "--out", broken);
  assert.equal(last.code, 0, last.stderr);
  assertSameRun(broken, await greedyWhole());
  console.log(`records after each kill: ${counts.join(", ")}`);
});

/**
 * The sampled run's folder as a kill while appending line `k` leaves it (a trace is appended before its
 * record): `cut` says which file holds half of that line. The same command must finish it into the whole run.
 */
async function resumeAfterHalfLine(cut: "records" | "traces") {
  const whole = await sampledWhole();
  const [records, traces] = ["records.jsonl", "traces.jsonl"].map((f) =>
    readFileSync(join(whole, f), "utf8").split(/(?<=\n)/)
  );
  // Line i of each file is one run's.
  assert.deepEqual(records.map((l) => recordKey(JSON.parse(l))), traces.map((l) => recordKey(JSON.parse(l))));
  const k = 5, half = (l: string) => l.slice(0, Math.floor(l.length / 2));
  const dir = join(tmp(), `half-${cut}`);
  mkdirSync(dir);
  copyFileSync(join(whole, "run.json"), join(dir, "run.json"));
  // Cut in records: trace k is whole, record k half. Cut in traces: trace k half, no record k.
  writeFileSync(
    join(dir, "records.jsonl"),
    [...records.slice(0, k), ...(cut === "records" ? [half(records[k])] : [])].join(""),
  );
  writeFileSync(
    join(dir, "traces.jsonl"),
    [...traces.slice(0, k), cut === "records" ? traces[k] : half(traces[k])].join(""),
  );
  const r = await runBench(...SAMPLED, "--out", dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${k} already there, ${records.length - k} to run`));
  assertSameRun(dir, whole, true);
}

Deno.test("a resume after half a record line cuts it off and finishes into the sampled run's records and traces", () =>
  resumeAfterHalfLine("records"));

Deno.test("a resume after half a trace line cuts it off and finishes into the sampled run's records and traces", () =>
  resumeAfterHalfLine("traces"));

Deno.test("a KV cache too small for --concurrency runs admits fewer at a time, into the roomy run's records and traces", async () => {
  const tight = join(tmp(), "tight");
  // 1152 tokens hold one run of any of GREEDY's methods (their bounds: up to 1040 tokens, a whole page a step
  // block since the bounds count a step's last page whole), sometimes two.
  const r = await runBench(...GREEDY, "--kv-tokens", "1152", "--concurrency", "8", "--out", tight);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the KV cache holds 1152 tokens and a run may need up to \d+: fewer than 8 runs may go/);
  assert.match(readFileSync(join(tight, "summary.md"), "utf8"), /up to [12] runs? shared a pass/);
  assertSameRun(tight, await greedyWhole());
});

Deno.test("shards run apart and merge into the whole run's records and traces; a missing or doubled shard is refused", async () => {
  const base = tmp();
  for (const i of [0, 1, 2]) {
    const r = await runBench(...GREEDY, "--shard", `${i}/3`, "--out", base);
    assert.equal(r.code, 0, r.stderr);
  }
  const merge = (...args: string[]) => runCli("cli/merge.ts", args);
  const shards = [0, 1, 2].map((i) => join(base, `shard-${i}-of-3`));
  const merged = join(base, "merged");
  const ok = await merge(...shards, "--out", merged);
  assert.equal(ok.code, 0, ok.stderr);
  assertSameRun(merged, await greedyWhole());
  const missing = await merge(shards[0], shards[2], "--out", join(base, "m2"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /shards 1 of 3 are missing/);
  const twice = await merge(shards[0], shards[0], shards[1], "--out", join(base, "m3"));
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /shard 0 given twice/);
  assert.ok(!existsSync(join(base, "m3", "records.jsonl")), "a refused merge writes no records");
  // a shard copied back without its traces (or with a trace cut off) would merge into a folder missing them
  const bare = join(base, "bare");
  cpSync(shards[1], bare, { recursive: true });
  const traces = readFileSync(join(bare, "traces.jsonl"), "utf8").trim().split("\n");
  assert.ok(traces.length >= 1);
  writeFileSync(join(bare, "traces.jsonl"), traces.slice(1).map((l) => l + "\n").join(""));
  const untraced = await merge(shards[0], bare, shards[2], "--out", join(base, "m4"));
  assert.equal(untraced.code, 2);
  assert.match(untraced.stderr, /bare\/traces\.jsonl: 1 of the shard's \d+ records have no trace/);
});
