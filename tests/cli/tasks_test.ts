/** deno task tasks: listing, loading from a source, and bad flags as one line with exit code 2. */
import assert from "node:assert/strict";
import { loadJobs } from "../../harness/bench/jobs.ts";
import { parseBenchSpec } from "../../harness/bench/spec.ts";
import { DATA_DIR, dataTest, runCli } from "../helpers.ts";
import { OPTIONS } from "../../cli/tasks.ts";

async function tasks(...args: string[]) {
  const r = await runCli("cli/tasks.ts", args, { HF_HUB_OFFLINE: "1" });
  return { ...r, stderr: r.stderr.trim() };
}

dataTest("tasks list and load", async () => {
  const list = await tasks("list");
  assert.equal(list.code, 0);
  assert.match(list.stdout, /gsm8k-x5 .*finisher 64 tokens/);
  const load = await tasks("load", "--task", "amc23", "--data-dir", DATA_DIR, "--limit", "3");
  assert.equal(load.code, 0, load.stderr);
  const problems = load.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(problems.length, 3);
  assert.deepEqual(problems[0].golds, ["27"]);
  assert.match(load.stderr, /amc23: 3 problems from .*amc23\/test\.jsonl/);
});

Deno.test("tasks: bad input is one line and exit code 2", async () => {
  for (
    const [args, pattern] of [
      [["load"], /load: --task ID is required/],
      [["load", "--task", "nope"], /unknown task "nope"/],
      [["load", "--task", "limo"], /hf:GAIR\/LIMO: limo\.jsonl \(revision main\) is not in the cache/],
      [["load", "--task", "aime24", "--data", "/nonexistent.jsonl"], /\/nonexistent\.jsonl: no such file or folder/],
      [["load", "--task", "synthetic", "--parts", "x"], /--parts: expected an integer ≥ 0, got "x"/],
      [
        ["load", "--task", "aime24", "--data", "a", "--data-dir", "b"],
        /give at most one of --data, --data-dir and --hub/,
      ],
    ] as [string[], RegExp][]
  ) {
    const r = await tasks(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

Deno.test("tasks load, with no seed or knobs, gives the default run's problems", async () => {
  for (const task of ["chains", "synthetic"]) {
    const load = await tasks("load", "--task", task);
    assert.equal(load.code, 0, load.stderr);
    const loaded = load.stdout.trim().split("\n").map((l) => JSON.parse(l).id);
    const bench = (await loadJobs(parseBenchSpec(["--task", task])!)).problems.map((p) => p.id);
    assert.deepEqual(loaded, bench, task);
  }
});

Deno.test("tasks list: every flag (each of load's) is refused, naming it, never ignored", async () => {
  const flags = Object.entries(OPTIONS).map(([name, o]) => o.type === "string" ? [`--${name}`, "3"] : [`--${name}`]);
  assert.ok(flags.length >= 10, `${flags.length} flags`);
  for (let i = 0; i < flags.length; i += 4) {
    await Promise.all(
      flags.slice(i, i + 4).map(async (flag) => {
        const r = await tasks("list", ...flag);
        assert.equal(r.code, 2, `${flag.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, `error: ${flag[0]}: list takes no flags (it goes with load)`);
      }),
    );
  }
});
