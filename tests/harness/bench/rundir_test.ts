/**
 * harness/bench/rundir.ts: its lock (a bench killed and not yet reaped, a zombie, holds nothing) and the
 * differences a refusal names (a long value cut, not a 60 KB line; a field one side lacks by what its absence
 * means, never "undefined").
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { differences, lockedBy, RunDir } from "../../../harness/bench/rundir.ts";
import { flagsKey } from "../../../harness/bench/run_key.ts";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";

Deno.test("a lock held by a live process refuses; by a zombie (killed, not reaped) or a process gone, it does not", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lock-"));
  // a parent that never waits for its child: the child stays a zombie while the parent sleeps
  const parent = new Deno.Command("python3", {
    args: ["-c", "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = parent.stdout.getReader();
    const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    const state = () =>
      new TextDecoder().decode(
        new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(zombie)] }).outputSync().stdout,
      );
    for (let i = 0; i < 100 && !state().startsWith("Z"); i++) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(dir, "run.lock"), `${zombie}\n`);
    assert.equal(lockedBy(dir), undefined, "a zombie's lock is taken over");
    writeFileSync(join(dir, "run.lock"), `${parent.pid}\n`);
    assert.equal(lockedBy(dir), parent.pid, "a live process's lock holds");
  } finally {
    parent.kill();
    await parent.status;
    await parent.stdout.cancel().catch(() => {});
  }
  writeFileSync(join(dir, "run.lock"), `${parent.pid}\n`);
  assert.equal(lockedBy(dir), undefined, "a process gone holds nothing");
});

Deno.test("differences name each field with both values, a long one cut in the middle", () => {
  const budgets = Array.from({ length: 10_000 }, (_, i) => i + 1);
  const [line, ...rest] = differences({ budgets, seeds: [1] }, { budgets: [4, 8], seeds: [1] });
  assert.deepEqual(rest, []);
  assert.ok(line.length < 400, `${line.length} characters`);
  assert.match(line, /^budgets: was \[1,2,3,.* … .*,9999,10000\] \(\d+ characters\), now \[4,8\]$/);
});

Deno.test("a folder refused for other data names the flags that chose it (the key holds only the data's hash)", () => {
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-data-flags-")), "run");
  mkdirSync(dir);
  const full = { data: "/d/aime.jsonl", limit: undefined, skipBad: true };
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: { data: "aaa" }, spec_full: full }));
  writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
  assert.throws(
    () => RunDir.open(dir, { data: "bbb" }, { spec_full: { ...full, limit: 1 } }),
    /another spec \(data: was "aaa", now "bbb"; the flags that chose the data: --limit: was "not given", now 1\)/,
  );
  // the same data reached by other flags (a moved file) is not named: the data is what counts
  assert.throws(
    () => RunDir.open(dir, { data: "aaa", budgets: [8] }, { spec_full: { ...full, data: "/e/aime.jsonl" } }),
    (e: Error) => /\(budgets: was absent, now \[8\]\)/.test(e.message) && !/chose/.test(e.message),
  );
});

Deno.test("a folder refused for another spec says whether flags can resume it: the token rules' version", () => {
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const refusal = (stored: Record<string, unknown>, spec: Record<string, unknown>) => {
    const dir = join(mkdtempSync(join(tmpdir(), "hogwild-remedy-")), "run");
    mkdirSync(dir);
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: stored }));
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    assert.throws(() => RunDir.open(dir, spec, {}), /holds a run with another spec/);
    try {
      RunDir.open(dir, spec, {});
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  const base = { budgets: [4], timing: 2 };
  const earlier = /made by an earlier version of this project \(generation: its rules then made other records\)/;
  // before generation 2: a model whose generation_config samples, no flags; a code folder; the same flags again
  assert.match(refusal(base, { ...base, generation: 2 }), earlier);
  assert.match(refusal({ ...base, code_grader: "c/5" }, { ...base, code_grader: "c/5", generation: 2 }), earlier);
  // today's: the sampling flags make it come or go, and giving them again resumes
  const sampled = { ...base, sampling: { temperature: 0.5 }, generation: 2 };
  assert.match(refusal(sampled, base), /use the same flags to resume it/);
  assert.match(refusal(base, sampled), /use the same flags to resume it/);
  assert.match(refusal({ ...sampled, generation: 1 }, sampled), earlier);
  // a folder whose leap ran at version 3: asking for fewer methods is no remedy (the same flags would meet leap's
  // version today), so it says the folder is an earlier version's, whatever methods are asked for now
  assert.match(
    refusal({ ...base, methods: ["sequential", "leap:2"], methods_version: { leap: 3 } }, {
      ...base,
      methods: ["sequential"],
    }),
    /made by an earlier version of this project \(methods_version: its rules/,
  );
  // the same config file read with another default: the project's reading changed; another file: the model's
  const file = { "model file config.json": "c1" };
  assert.match(
    refusal({ ...base, ...file, model_defaults: { rms_norm_eps: 1e-6 } }, {
      ...base,
      ...file,
      model_defaults: { rms_norm_eps: 1e-5 },
    }),
    /made by an earlier version of this project \(model_defaults: its rules/,
  );
  assert.match(
    refusal({ ...base, ...file }, { ...base, "model file config.json": "c2", model_defaults: { rms_norm_eps: 1e-5 } }),
    /use the same flags to resume it/,
  );
  // a folder holding both model.safetensors and an index, made when the index was read: the project's choice
  const weights = { weights: "w1" };
  assert.match(
    refusal({ ...base, ...weights }, { ...base, ...weights, weights_file: "model.safetensors" }),
    /made by an earlier version of this project \(weights_file: its rules/,
  );
});

Deno.test("a refusal names what an absent field of a key means, never undefined: --finisher-input's ids, a flag not given, a version not kept", () => {
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const refusal = (stored: Record<string, unknown>, spec: Record<string, unknown>) => {
    const dir = join(mkdtempSync(join(tmpdir(), "hogwild-absent-")), "run");
    mkdirSync(dir);
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: stored }));
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    try {
      RunDir.open(dir, spec, {});
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail("resumed");
  };
  // a folder of the default (ids: the field absent, as in every folder before the flag) resumed with text, and back
  const flags = ["--methods", "sequential"];
  const ids = flagsKey(parseBenchSpec(flags)!),
    text = flagsKey(parseBenchSpec([...flags, "--finisher-input", "text"])!);
  assert.match(
    refusal(ids, text),
    /another spec \(finisherInput: was "ids" \(absent\), now "text"\); use the same flags/,
  );
  assert.match(refusal(text, ids), /another spec \(finisherInput: was "text", now "ids" \(absent\)\)/);
  // every field of a key, left out on either side (an older folder, a default not stored): never "undefined", and
  // each field that a default run's key leaves out (a flag not given, a version not kept) named by its meaning
  const full: Record<string, unknown> = {
    ...flagsKey(
      parseBenchSpec([
        ...["--finisher-input", "text", "--finisher-tokens", "7", "--shard", "0/2", "--temperature", "0.5"],
        ...["--methods", "sequential,sc:2"],
      ])!,
    ),
    cuda: "gemm=auto,attention=auto,graphs=8,pdl=0,profile=0",
    unsafeExec: true,
    methods_version: { sc: 2 },
    model_defaults: { rms_norm_eps: 1e-6 },
    weights_file: "model.safetensors",
    generation: 2,
    code_grader: "c/5",
    code_python: "3.12",
    "prompt code": "abc",
    "model file chat_template.jinja": "abc",
  };
  const always = flagsKey(parseBenchSpec([])!);
  for (const k of Object.keys(full)) {
    const { [k]: _, ...without } = full;
    for (const [a, b] of [[full, without], [without, full]]) {
      const lines = differences(a, b);
      assert.equal(lines.length, 1, k);
      assert.ok(!/undefined/.test(lines[0]), lines[0]);
      if (!(k in always)) assert.match(lines[0], /\S \(absent\)/);
    }
  }
});
