/**
 * Bad run folders, output paths and data as a table: each one line on stderr naming the culprit, exit 2.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeCheckpoint, fakeRecord, runCli } from "../../helpers.ts";

const base = mkdtempSync(join(tmpdir(), "hogwild-badrun-"));
const at = (name: string) => join(base, name);
const SMALL = ["--count", "1", "--methods", "sequential", "--budgets", "4"];

const run = (file: string, args: string[]) => runCli(file, args, { NO_COLOR: "1" });

/** A finished small run, for cases that spoil one. */
async function finished(name: string): Promise<string> {
  const dir = at(name);
  assert.equal((await run("cli/bench.ts", [...SMALL, "--out", dir])).code, 0);
  return dir;
}

const CASES: [string, () => Promise<[string, string[]]> | [string, string[]], RegExp][] = [
  ["--out an existing file", () => {
    writeFileSync(at("file"), "");
    return ["cli/bench.ts", [...SMALL, "--out", at("file")]];
  }, /--out .*file: exists and is not a folder/],
  ["--out under a file", () => {
    writeFileSync(at("file2"), "");
    return ["cli/bench.ts", [...SMALL, "--out", join(at("file2"), "x")]];
  }, /--out .*file2\/x: .*file2 is not a folder/],
  ["run.json holding null", () => {
    mkdirSync(at("nullrun"));
    writeFileSync(join(at("nullrun"), "run.json"), "null");
    return ["cli/bench.ts", [...SMALL, "--out", at("nullrun")]];
  }, /nullrun\/run\.json: not a run\.json of this project \(no "spec"\)/],
  ["run.json holding []", () => {
    mkdirSync(at("listrun"));
    writeFileSync(join(at("listrun"), "run.json"), "[]");
    return ["cli/bench.ts", [...SMALL, "--out", at("listrun")]];
  }, /listrun\/run\.json: not a run\.json of this project/],
  ["a records line holding null", async () => {
    const dir = await finished("nullrecord");
    writeFileSync(join(dir, "records.jsonl"), "null\n", { flag: "a" });
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /records\.jsonl:2: not a record of this project/],
  ["a record of a method the run did not plan (resume)", async () => {
    const dir = await finished("unplanned");
    const line = readFileSync(join(dir, "records.jsonl"), "utf8").replace('"method":"sequential"', '"method":"sc:2"');
    writeFileSync(join(dir, "records.jsonl"), line, { flag: "a" });
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /records\.jsonl:2: the record .* \/ sc:2 \/ 1 is not one this run planned/],
  ["a record of a problem the run did not plan (plot)", async () => {
    const dir = await finished("unplanned-plot");
    const line = readFileSync(join(dir, "records.jsonl"), "utf8").replace(
      /"problem_id":"[^"]*"/,
      '"problem_id":"extra"',
    );
    writeFileSync(join(dir, "records.jsonl"), line, { flag: "a" });
    return ["cli/plot.ts", [dir, "--out", at("plot-out")]];
  }, /records\.jsonl:2: the record chains \/ extra \/ sequential \/ 1 is not one this run planned/],
  ["a record graded by another grader version (resume)", async () => {
    const dir = await finished("othergrader");
    const text = readFileSync(join(dir, "records.jsonl"), "utf8");
    writeFileSync(
      join(dir, "records.jsonl"),
      text.replace(/"grader":"hogwild-grader\/\d+"/, '"grader":"hogwild-grader/4"'),
    );
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /records\.jsonl:1: a record graded by hogwild-grader\/4, not this bench's hogwild-grader\/\d+; rescore/],
  ["a record without its grader (rescore)", async () => {
    const dir = await finished("nograder");
    const text = readFileSync(join(dir, "records.jsonl"), "utf8");
    writeFileSync(join(dir, "records.jsonl"), text.replace(/,"grader":"hogwild-grader\/\d+"/, ""));
    return ["cli/rescore.ts", [dir, "--out", at("nograder-rescored")]];
  }, /nograder\/records\.jsonl:1: a record without its "grader"/],
  ["records of two grader versions (plot)", async () => {
    const dir = at("twograders");
    assert.equal(
      (await run("cli/bench.ts", ["--count", "2", "--methods", "sequential", "--budgets", "4", "--out", dir])).code,
      0,
    );
    const text = readFileSync(join(dir, "records.jsonl"), "utf8");
    writeFileSync(
      join(dir, "records.jsonl"),
      text.replace(/"grader":"hogwild-grader\/\d+"/, '"grader":"hogwild-grader/4"'),
    );
    return ["cli/plot.ts", [dir, "--out", at("plot-two")]];
  }, /twograders: records graded by several grader versions \(hogwild-grader\/4, hogwild-grader\/\d+\); rescore/],
  ["run.json with an empty cost model", async () => {
    const dir = await finished("costless");
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, cost_model: {} }));
    writeFileSync(join(dir, "records.jsonl"), ""); // work left, so that the stored model is used
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /costless\/run\.json: "cost_model" is damaged/],
  ["run.json with invocations that are not a list", async () => {
    const dir = await finished("invocations");
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, invocations: 5 }));
    writeFileSync(join(dir, "records.jsonl"), "");
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /invocations\/run\.json: "invocations" is not a list/],
  ["run.json with invocations [null]", async () => {
    const dir = await finished("nullinvocation");
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, invocations: [null] }));
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /nullinvocation\/run\.json: "invocations" is not a list of this project's invocations/],
  ["run.json with a cost model without its fit", async () => {
    const dir = await finished("fitless");
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, cost_model: { ...meta.cost_model, fit: null } }));
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /fitless\/run\.json: "cost_model" is damaged/],
  [
    "run.json with a cost model whose timed passes are not [rows, tokens, attention, kv, logits, logprobs, ms]",
    async () => {
      const dir = await finished("passless");
      const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
      const passes = [[1, 1, 1, 1, 1, 0]];
      writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, cost_model: { ...meta.cost_model, passes } }));
      return ["cli/bench.ts", [...SMALL, "--out", dir]];
    },
    /passless\/run\.json: "cost_model" is damaged \(.*its timed passes/,
  ],
  ["plot of a merged folder whose shard's cost model is damaged", () => {
    const dir = at("badshardcost");
    mkdirSync(dir);
    const shards = [{ dir: "a", cost_model: {}, invocations: [] }];
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: {}, merged_from: ["a"], shards }));
    writeFileSync(
      join(dir, "records.jsonl"),
      JSON.stringify(fakeRecord({ method: "sequential", problem_id: "p" }, [fakeCheckpoint(8, true)])) + "\n",
    );
    return ["cli/plot.ts", [dir, "--out", at("plot-badshard")]];
  }, /badshardcost\/run\.json \(shards\[0\]\): "cost_model" is damaged/],
  ["plot of a merged folder whose shards are not objects", () => {
    const dir = at("nullshard");
    mkdirSync(dir);
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: {}, merged_from: ["a"], shards: [null] }));
    writeFileSync(
      join(dir, "records.jsonl"),
      JSON.stringify(fakeRecord({ method: "sequential", problem_id: "p" }, [fakeCheckpoint(8, true)])) + "\n",
    );
    return ["cli/plot.ts", [dir, "--out", at("plot-nullshard")]];
  }, /nullshard\/run\.json: "shards" is not a list of this project's shards/],
  ["merge of a shard whose spec is null", async () => {
    const dir = await finished("nullspec");
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, spec: null }));
    return ["cli/merge.ts", [dir, "--out", at("merged-null")]];
  }, /nullspec\/run\.json: "spec" is not an object/],
  ["a record whose checkpoints are null", async () => {
    const dir = await finished("nullcheckpoints");
    const line = readFileSync(join(dir, "records.jsonl"), "utf8").replace(
      /"checkpoints":\[.*\],"steps"/,
      '"checkpoints":null,"steps"',
    );
    writeFileSync(join(dir, "records.jsonl"), line);
    return ["cli/plot.ts", [dir, "--out", at("plot-null")]];
  }, /records\.jsonl:1: a record whose "checkpoints" are not this project's/],
  ["a record with no checkpoints (it would be listed but left out of the curves)", async () => {
    const dir = await finished("nocheckpoints");
    const line = readFileSync(join(dir, "records.jsonl"), "utf8").replace(
      /"checkpoints":\[.*\],"steps"/,
      '"checkpoints":[],"steps"',
    );
    writeFileSync(join(dir, "records.jsonl"), line);
    return ["cli/plot.ts", [dir, "--out", at("plot-empty")]];
  }, /records\.jsonl:1: a record whose "checkpoints" are not this project's/],
  ["a record checkpointed at other budgets (another run's, its key planned here too)", async () => {
    const dir = await finished("otherbudgets");
    const line = readFileSync(join(dir, "records.jsonl"), "utf8").replace('"budget":4', '"budget":8');
    writeFileSync(join(dir, "records.jsonl"), line);
    return ["cli/bench.ts", [...SMALL, "--out", dir]];
  }, /otherbudgets\/records\.jsonl:1: a record checkpointed at \[8\], not this run's budgets \[4\]/],
  [
    "two generated tasks with no knobs (each its own defaults cannot both hold)",
    () => ["cli/bench.ts", [
      "--methods",
      "sequential",
      "--budgets",
      "4",
      "--task",
      "synthetic,chains",
      "--out",
      at("twogen"),
    ]],
    /--task synthetic,chains: generated tasks share --parts, --digits and --count \(their defaults differ: synthetic parts 2, digits 1, count 6; chains parts 4, digits 2, count 100\): give all three/,
  ],
  [
    "--data-dir with a generated task only (keyed, read by nothing)",
    () => ["cli/bench.ts", [...SMALL, "--data-dir", base, "--out", at("gendir")]],
    /--data, --data-dir, --hub and --skip-bad go with a data set's task; chains is generated/,
  ],
  [
    "--skip-bad with a generated task only",
    () => ["cli/bench.ts", [...SMALL, "--skip-bad", "--out", at("genskip")]],
    /--data, --data-dir, --hub and --skip-bad go with a data set's task/,
  ],
  [
    "--cuda on the CPU (keyed, read by nothing)",
    () => ["cli/bench.ts", [...SMALL, "--cuda", "graphs=0", "--out", at("cpucuda")]],
    /--cuda goes with --device cuda/,
  ],
  [
    "--task chains,chains",
    () => ["cli/bench.ts", [...SMALL, "--task", "chains,chains", "--out", at("twice")]],
    /--task: a task is listed twice/,
  ],
  ["records.jsonl a folder", () => {
    mkdirSync(join(at("dirrecords"), "records.jsonl"), { recursive: true });
    return ["cli/bench.ts", [...SMALL, "--out", at("dirrecords")]];
  }, /--out .*dirrecords: records\.jsonl is not a file/],
  ["merge with --out a file", async () => {
    writeFileSync(at("file3"), "");
    return ["cli/merge.ts", [await finished("shardless"), "--out", at("file3")]];
  }, /shardless: not a shard|--out .*file3: exists and is not (a|an empty) folder/],
  ["merge of a folder whose run.json is not JSON", () => {
    mkdirSync(at("badshard"));
    writeFileSync(join(at("badshard"), "run.json"), "{nope");
    return ["cli/merge.ts", [at("badshard"), "--out", at("merged")]];
  }, /badshard\/run\.json: not valid JSON/],
  ["data nested 200000 deep", () => {
    writeFileSync(at("deep.jsonl"), `{"question": ${"[".repeat(200000)}${"]".repeat(200000)}, "answer": "#### 1"}\n`);
    return ["cli/bench.ts", ["--task", "gsm8k", "--data", at("deep.jsonl"), "--out", at("deep")]];
  }, /deep\.jsonl:1: field "question" must be text or a number, got a list/],
];

for (const [name, make, message] of CASES) {
  Deno.test(`refused in one line: ${name}`, async () => {
    const [file, args] = await make();
    const out = args[args.indexOf("--out") + 1], was = existsSync(out);
    const r = await run(file, args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^error: [^\n]*\n$/, "one line");
    assert.equal(existsSync(out), was, `--out ${out} made by a refused run`);
  });
}

Deno.test("a refused bench leaves no --out folder: missing data, the hub unreachable, an unknown method", async () => {
  const env = { NO_COLOR: "1", HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: at("empty-hub-cache") };
  const cases: [string[], RegExp][] = [
    [["--task", "aime25", "--data", at("absent.jsonl")], /absent\.jsonl: no such file or folder/],
    [["--task", "aime25"], /hf:math-ai\/aime25: cannot download .* give a local copy \(--data FILE\)/],
    [["--model", "tiny/absent"], /hf:tiny\/absent: cannot download config\.json .* \(--model DIR\)/],
    [["--methods", "hogwild:2:sideways"], /sideways/],
  ];
  for (const [i, [args, message]] of cases.entries()) {
    const out = join(at(`refused-${i}`), "deeper");
    const r = await runCli("cli/bench.ts", [...args, "--out", out], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(at(`refused-${i}`)), `${args.join(" ")}: left ${at(`refused-${i}`)} behind`);
  }
});
