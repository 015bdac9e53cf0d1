/**
 * harness/bench/rundir.ts: its lock (the OS's, whatever process id its file names; contenders released together) and the
 * differences a refusal names (a long value cut, not a 60 KB line; a field one side lacks by what its absence
 * means, never "undefined").
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkFoldersOnce,
  checkNewRunFolder,
  differences,
  lockedBy,
  readRecords,
  recordsTraces,
  RunDir,
  runModel,
  runNames,
} from "../../../harness/bench/rundir.ts";
import { InputError } from "../../../engine/errors.ts";
import { flagsKey } from "../../../harness/bench/run_key.ts";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";
import {
  bigRun,
  dataPairs,
  fakeCheckpoint,
  fakeRecord,
  fakeTrace,
  manyRecords,
  root,
  samplingPairs,
  underHeap,
} from "../../helpers.ts";
import { cutFile, writeSeam } from "../../../engine/files.ts";
import { familyVersions, parseMethod } from "../../../harness/generation/methods.ts";
import { GRADER_VERSION } from "../../../tasks/grading/grader.ts";

/** A process other than this one holding `dir`'s lock (flock, as the bench takes it), its file naming `named`. */
async function foreignHolder(dir: string, named: string) {
  const holder = new Deno.Command("python3", {
    args: [
      "-c",
      "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\nf.truncate(0)\n" +
      "f.write(sys.argv[2]); f.flush()\nprint('held', flush=True)\ntime.sleep(60)",
      join(dir, "run.lock"),
      named,
    ],
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /held/);
  reader.releaseLock();
  return {
    async end() {
      holder.kill();
      await holder.status;
      await holder.stdout.cancel().catch(() => {});
    },
  };
}

Deno.test("the lock is the OS's, not a process id: a live holder refuses whatever its file names (another PID namespace's or host's id, none yet); once it is gone the folder is taken", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lock-"));
  // a process id no process here has (as another namespace's or host's bench reads), and an empty file (a bench
  // that has the file but not yet its line)
  for (const named of ["2147483646 elsewhere\n", "2147483646\n", ""]) {
    const holder = await foreignHolder(dir, named);
    try {
      const who = named ? /process 2147483646( on elsewhere)?/ : /a process starting now/;
      assert.match(lockedBy(dir) ?? "free", who);
      const refused = new RegExp(`another bench \\(${who.source}\\) is writing`);
      assert.throws(() => RunDir.open(dir, { x: 1 }, { planned: [] }), refused);
    } finally {
      await holder.end();
    }
    assert.equal(lockedBy(dir), undefined, "a process gone holds nothing");
  }
  // a file naming a live process that holds no lock (this one's parent) holds nothing either
  writeFileSync(join(dir, "run.lock"), `${Deno.ppid} ${hostname()}\n`);
  const run = RunDir.open(dir, { x: 1 }, { planned: [] });
  assert.equal(readFileSync(join(dir, "run.lock"), "utf8"), `${Deno.pid} ${hostname()}\n`, "the file names its holder");
  run.close();
  assert.ok(!existsSync(join(dir, "run.lock")), "the lock is given back");
});

Deno.test("where the filesystem gives no file locks, the file is the lock: one found is never taken over, and the refusal says to remove it", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-nolock-"));
  const tryLockSync = Deno.FsFile.prototype.tryLockSync;
  Deno.FsFile.prototype.tryLockSync = () => {
    throw new Error("Function not implemented (os error 38)"); // Lustre mounted without flock
  };
  try {
    const run = RunDir.open(dir, { x: 1 }, { planned: [] });
    const refused = new RegExp(
      `run\\.lock names a bench \\(process ${Deno.pid} on [^)]+\\), and this filesystem gives no file locks ` +
        `\\(Function not implemented \\(os error 38\\)\\), so whether it still runs cannot be told; wait for it ` +
        `to end, or if none runs on this folder, remove .*run\\.lock$`,
    );
    assert.throws(() => RunDir.open(dir, { x: 1 }, { planned: [] }), refused);
    assert.match(lockedBy(dir) ?? "free", /^process \d+ on .*, or one killed; no file locks here: see its run\.lock$/);
    run.close();
    assert.ok(!existsSync(join(dir, "run.lock")), "the lock is given back");
    // left by a bench killed (here or on another host: a process id says nothing there)
    writeFileSync(join(dir, "run.lock"), "2147483646 elsewhere\n");
    assert.throws(
      () => RunDir.open(dir, { x: 1 }, { planned: [] }),
      /names a bench \(process 2147483646 on elsewhere\)/,
    );
    assert.equal(readFileSync(join(dir, "run.lock"), "utf8"), "2147483646 elsewhere\n", "not taken over");
  } finally {
    Deno.FsFile.prototype.tryLockSync = tryLockSync;
  }
});

/** A script that opens `dir` at agreed times (`trials`, `period` ms apart, each held `hold` ms), one JSON line each. */
const CONTENDER = `
import { RunDir } from "${new URL("../../../harness/bench/rundir.ts", import.meta.url).href}";
const [dir, trials, period, hold] = [Deno.args[0], ...Deno.args.slice(1).map(Number)];
const now = () => performance.timeOrigin + performance.now();
console.log("ready");
const t0 = Number(new TextDecoder().decode((await Deno.stdin.readable.getReader().read()).value).trim());
for (let t = 0; t < trials; t++) {
  const at = t0 + t * period;
  if (at - now() > 5) await new Promise((r) => setTimeout(r, at - now() - 5));
  while (now() < at) { /* all contenders released together */ }
  try {
    const run = RunDir.open(dir, { x: 1 }, { planned: [] });
    const from = now();
    while (now() < from + hold) { /* held */ }
    const to = now();
    run.close();
    console.log(JSON.stringify({ t, from, to }));
  } catch (e) {
    console.log(JSON.stringify({ t, refused: (e as Error).message }));
  }
}
`;

/** How a script outside the project runs with its imports. */
const RUN = ["run", "-A", "--config", fileURLToPath(new URL("../../../deno.json", import.meta.url))];

Deno.test("contenders released together: never two hold the folder at once, and each one refused names the holder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lock-race-"));
  const script = join(dir, "..", `${basename(dir)}-contender.ts`);
  writeFileSync(script, CONTENDER);
  const [processes, trials, period, hold] = [4, 40, 120, 20], SKEW_MS = 4;
  const children = Array.from(
    { length: processes },
    () =>
      new Deno.Command(Deno.execPath(), {
        args: [...RUN, script, join(dir, "run"), String(trials), String(period), String(hold)],
        stdin: "piped",
        stdout: "piped",
      }).spawn(),
  );
  // each says "ready" once loaded; then all get one start time
  const readers = children.map((c) => c.stdout.pipeThrough(new TextDecoderStream()).getReader());
  const texts = await Promise.all(readers.map(async (r) => {
    let text = "";
    while (!text.includes("\n")) text += (await r.read()).value ?? assert.fail("a contender ended unready");
    return text;
  }));
  const t0 = `${performance.timeOrigin + performance.now() + 300}\n`;
  for (const c of children) {
    const w = c.stdin.getWriter();
    await w.write(new TextEncoder().encode(t0));
    await w.close();
  }
  const held: { t: number; from: number; to: number }[] = [];
  const refused: { t: number; refused: string }[] = [];
  for (const [i, r] of readers.entries()) {
    for (let chunk = await r.read(); !chunk.done; chunk = await r.read()) texts[i] += chunk.value;
    const [ready, ...lines] = texts[i].trim().split("\n");
    assert.equal(ready, "ready");
    for (const o of lines.map((l) => JSON.parse(l))) (o.refused === undefined ? held : refused).push(o);
  }
  for (const c of children) assert.equal((await c.status).code, 0);
  held.sort((a, b) => a.from - b.from);
  // each process's clock is its own (timeOrigin + now): a few ms of skew between two is no overlap, where two
  // holders released together would overlap by most of a hold
  const overlap = held.findIndex((h, i) => i > 0 && h.from < held[i - 1].to - SKEW_MS);
  assert.equal(overlap, -1, `two held the folder at once (trial ${held[overlap]?.t} and ${held[overlap - 1]?.t})`);
  // every trial was contended (all but the winner refused), each refusal the holder's
  assert.equal(held.length + refused.length, processes * trials);
  assert.ok(refused.length >= trials, `${refused.length} refusals in ${trials} trials: no contention`);
  // (one that took it a moment ago has not yet written its line)
  const holder = /another bench \((process \d+ on [^)]+|a process starting now)\) is writing to this folder/;
  for (const r of refused) assert.match(r.refused, holder);
});

const unshared = new Deno.Command("unshare", { args: ["-r", "-p", "-f", "--mount-proc", "true"], stderr: "null" })
  .outputSync().success;

Deno.test({
  name: "a bench in another PID namespace (a container, another node's job) is refused while one here holds the folder",
  ignore: !unshared, // unprivileged namespaces off: the test above holds a process id none has
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-lock-ns-"));
    const script = join(dir, "..", `${basename(dir)}-contender.ts`);
    writeFileSync(script, CONTENDER);
    const run = RunDir.open(join(dir, "run"), { x: 1 }, { planned: [] });
    try {
      const other = new Deno.Command("unshare", {
        args: ["-r", "-p", "-f", "--mount-proc", Deno.execPath(), ...RUN, script, join(dir, "run"), "1", "0", "0"],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const w = other.stdin.getWriter();
      await w.write(new TextEncoder().encode("0\n"));
      await w.close();
      const out = new TextDecoder().decode((await other.output()).stdout).split("\n");
      assert.equal(out[0], "ready");
      assert.match(JSON.parse(out[1]).refused ?? out[1], /another bench \(process \d+ on .+\) is writing/);
    } finally {
      run.close();
    }
  },
});

Deno.test("differences name each field with both values, a long one cut in the middle", () => {
  const budgets = Array.from({ length: 10_000 }, (_, i) => i + 1);
  const [line, ...rest] = differences({ budgets, seeds: [1] }, { budgets: [4, 8], seeds: [1] });
  assert.deepEqual(rest, []);
  assert.ok(line.length < 400, `${line.length} characters`);
  assert.match(line, /^budgets: was \[1,2,3,.* … .*,9999,10000\] \(\d+ characters\), now \[4,8\]$/);
});

Deno.test("a key's model folder is its content: an older key's path is not compared against a folder's key; random:SHAPE and hub ids are", () => {
  const content = { weights: "w", "model file config.json": "c" };
  const folder = { ...content }, old = { ...content, model: "engine/models/hogwild-demo" };
  assert.deepEqual(differences(old, folder), []);
  assert.deepEqual(differences(folder, { ...content, model: "/elsewhere/hogwild-demo" }), []);
  assert.deepEqual(differences(old, { ...folder, weights: "v" }), ['weights: was "w", now "v"'], "its content is");
  assert.deepEqual(differences({ ...content, model: "random:qwen3-demo" }, folder), [
    'model: was "random:qwen3-demo", now a model folder (held by its content: weights, model files) (absent)',
  ]);
  // today's keys (with sampling_used) hold a model only for a hub id or random:SHAPE: compared
  const today = { ...content, sampling_used: { temperature: 0 } };
  assert.deepEqual(differences({ ...today, model: "Q/N@a" }, { ...today, model: "Q/N@b" }), [
    'model: was "Q/N@a", now "Q/N@b"',
  ]);
  // two keys from before (no sampling_used; a path and a hub id look alike): shards made from two node-local
  // copies of one folder merge, their weights' hashes deciding
  const before = (model: string, weights = "w") => ({ ...content, weights, model });
  assert.deepEqual(differences(before("/node1/demo"), before("/node2/demo")), []);
  assert.deepEqual(differences(before("/node1/demo"), before("/node2/demo", "v")), ['weights: was "w", now "v"']);
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
  // the same flags reading other data (a data file edited): said so, and the same flags are no remedy
  assert.throws(
    () => RunDir.open(dir, { data: "bbb" }, { spec_full: full }),
    (e: Error) =>
      e.message.includes(
        `another spec (data: was "aaa", now "bbb"; the task data's content differs: the same data flags ` +
          `(--data /d/aime.jsonl, --skip-bad) read other problems); the flags are the same: resume it with ` +
          "the task data as it was, or use another --out",
      ),
  );
  assert.throws(
    () => RunDir.open(dir, { data: "bbb", budgets: [8] }, { spec_full: full }),
    /the task data's content differs.*; use the same flags, with the task data as it was, to resume it, or another --out/,
  );
  // the same data reached by other flags (a moved file) is not named: the data is what counts
  assert.throws(
    () => RunDir.open(dir, { data: "aaa", budgets: [8] }, { spec_full: { ...full, data: "/e/aime.jsonl" } }),
    (e: Error) => /\(budgets: was absent, now \[8\]\)/.test(e.message) && !/chose/.test(e.message),
  );
});

Deno.test("a resume refused for other data blames the content where the data flags differ only in where the data was read from, and the flags where they choose other problems", () => {
  const record = fakeRecord({ method: "sequential", problem_id: "p", grader: GRADER_VERSION }, [
    fakeCheckpoint(8, true),
  ]);
  const base = mkdtempSync(join(tmpdir(), "hogwild-data-paths-"));
  for (const [i, { name, a, b, changed, limit }] of dataPairs().entries()) {
    const dir = join(base, String(i));
    mkdirSync(dir);
    writeFileSync(join(dir, "run.json"), JSON.stringify(a));
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    if (!changed) {
      RunDir.open(dir, b.spec, { spec_full: b.spec_full }).close(); // the same problems: resumed
      continue;
    }
    let e = new Error("resumed");
    try {
      RunDir.open(dir, b.spec, { spec_full: b.spec_full }).close();
    } catch (thrown) {
      e = thrown as Error;
    }
    if (limit) {
      assert.match(e.message, /the flags that chose the data: .*--limit: was 5, now 6/, name);
      assert.match(e.message, /use the same flags to resume it, or another --out$/, name);
    } else {
      assert.match(e.message, /the task data's content differs/, name);
      assert.doesNotMatch(e.message, /the flags that chose the data|use the same flags to resume it/, name);
      assert.match(e.message, /resume it with the task data as it was, or use another --out$/, name);
    }
  }
});

Deno.test("keys holding the sampling used compare it, not the flags as given; an older key's flags are compared, said as given", () => {
  const greedy = { temperature: 0 }, sampled = { temperature: 0.6, topK: 20, topP: 0.95, minP: 0 };
  // --temperature 0 on a greedy generation_config, or --temperature 0.6 where the config says 0.6: the same run
  assert.deepEqual(differences({ sampling_used: greedy }, { sampling: greedy, sampling_used: greedy }), []);
  assert.deepEqual(
    differences({ sampling_used: sampled, generation: 2 }, {
      sampling: { temperature: 0.6 },
      sampling_used: sampled,
      generation: 2,
    }),
    [],
  );
  assert.deepEqual(differences({ sampling_used: greedy }, { sampling_used: { ...sampled, temperature: 0.7 } }), [
    'sampling_used: was {"temperature":0}, now {"temperature":0.7,"topK":20,"topP":0.95,"minP":0}',
  ]);
  // a key made before (no sampling_used): the flags as given decide, and the refusal says so
  assert.deepEqual(differences({}, { sampling_used: greedy }), []);
  assert.deepEqual(differences({}, { sampling: greedy, sampling_used: greedy }), [
    "sampling (the flags as given): was no sampling flag (the model's generation_config) (absent), now " +
    '{"temperature":0}',
  ]);
});

Deno.test("a folder from before keys held the sampling used resumes by its run.json's sampling: the same draws, by any flags, as compare reads it", () => {
  const record = fakeRecord({ method: "hogwild:2", problem_id: "p", grader: GRADER_VERSION }, [
    fakeCheckpoint(8, true),
    fakeCheckpoint(16, true), // samplingPairs' budgets
  ]);
  const base = mkdtempSync(join(tmpdir(), "hogwild-old-sampling-"));
  for (const [i, { name, run, key, sampling, same }] of samplingPairs().entries()) {
    const dir = join(base, String(i));
    mkdirSync(dir);
    writeFileSync(join(dir, "run.json"), JSON.stringify(run));
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    let refused = "";
    try {
      RunDir.open(dir, key, { sampling }).close();
    } catch (e) {
      refused = (e as Error).message;
    }
    assert.equal(refused === "", same, `${name}: ${refused}`);
    if (refused) assert.match(refused, /another spec \(.*sampling_used: was /, name);
  }
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

Deno.test("a deepconf or leap folder from before stop=end (its ids then stopped a path at its first box) is refused on resume, as the project's rules", () => {
  const methods = ["deepconf:4", "leap:4", "sc:2"];
  const record = { task: "chains", problem_id: "p", method: "leap:4", seed: 1, checkpoints: [] };
  const today = { budgets: [4], timing: 2, methods, methods_version: familyVersions(methods.map(parseMethod)) };
  // sc kept its default (stop=box): its version and its folders stay as they were
  const before = { ...today, methods_version: { ...today.methods_version, deepconf: 5, leap: 5 } };
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-stop-")), "run");
  mkdirSync(dir);
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: before }));
  writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
  assert.throws(
    () => RunDir.open(dir, today, {}),
    /another spec \(methods_version: was \{"sc":\d+,"deepconf":5,"leap":5\}, now \{"sc":\d+,"deepconf":\d+,"leap":\d+\}\); the folder was made by an earlier version of this project \(methods_version: its rules then made other records\), so no flags resume it/,
  );
});

Deno.test("a folder whose baselines and Hogwild! runs wrote header blocks no row read (sequential 1, sc 4, deepconf 6, hogwild 4) is refused on resume, as the project's rules", () => {
  const methods = ["hogwild:2", "sequential", "sc:2", "deepconf:4"];
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const versions = familyVersions(methods.map(parseMethod));
  assert.ok(versions.hogwild >= 5 && versions.sequential >= 2 && versions.sc >= 5 && versions.deepconf >= 7);
  const today = { budgets: [4], timing: 2, methods, methods_version: versions };
  // sequential at 1: absent from the key, as every folder before it kept it
  const before = { ...today, methods_version: { hogwild: 4, sc: 4, deepconf: 6 } };
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-headers-")), "run");
  mkdirSync(dir);
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: before }));
  writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
  assert.throws(
    () => RunDir.open(dir, today, {}),
    /another spec \(methods_version: was \{"hogwild":4,"sc":4,"deepconf":6\}, now \{.*"sequential":\d+.*\}\); the folder was made by an earlier version of this project \(methods_version: its rules then made other records\), so no flags resume it/,
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
  const flags = ["--methods", "sequential"],
    versions = { methods_version: familyVersions([parseMethod("sequential")]) };
  const ids = { ...flagsKey(parseBenchSpec(flags)!), ...versions },
    text = { ...flagsKey(parseBenchSpec([...flags, "--finisher-input", "text"])!), ...versions };
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

Deno.test("a resume's and rescore's trace filter over traces past the heap: lines copied one at a time, in place, those without a record dropped, a trace twice its last in its first's place", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-traces-big-")), file = join(dir, "traces.jsonl");
  bigRun(dir, { n: 300, kb: 1000 }); // 300 MB of traces, under a 64 MiB heap
  const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
  const again = JSON.stringify({ ...JSON.parse(lines[5]), pass_ms: [2] }); // p5 traced again after a kill
  appendFileSync(file, again + "\n" + lines[7].slice(0, 1000)); // and a torn line
  const done = Array.from({ length: 300 }, (_, i) => `p${i}`).filter((id) => id !== "p3");
  try {
    const { out, grew } = await underHeap(
      64,
      `import { recordsTraces, recordKey } from "${root}harness/bench/rundir.ts";
      import { replaceFile } from "${root}engine/files.ts";
      const done = new Set(${JSON.stringify(done)}.map((id) => ["t", id, "hogwild:2", 1].join("\\t")));
      const kept = recordsTraces(${JSON.stringify(file)}, done);
      console.log(kept.whole);
      replaceFile(${JSON.stringify(file)}, kept.lines); // in place, as a resume does`,
    );
    assert.equal(out.trim(), "false");
    // about 110 MiB (the heap's own, lines read and not yet collected), and 330 where the kept lines were held
    assert.ok(grew < 150, `the filter grew by ${grew} MiB`);
    const expected = lines.map((l, i) => i === 5 ? again : l).filter((_, i) => i !== 3);
    assert.ok(readFileSync(file, "utf8") === expected.join("\n") + "\n", "the kept lines, as they were");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("plot's, compare's and the report's reader holds a folder's records in less heap than their bytes: each recurring text and list held once, the records as parsed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-records-big-"));
  // 59 MB of records (10,400 × 16 checkpoints): as parsed they took 110 MiB of heap (a 100 MiB heap ran out),
  // now about 45 (with the 25 of the reader's imports: 2.75 GB of records passed Deno's 4 GiB)
  manyRecords(dir, { problems: 260, seeds: 20, budgets: 16 });
  const file = join(dir, "records.jsonl"), lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
  try {
    const { out } = await underHeap(
      90,
      `import { readRecords } from "${root}harness/bench/rundir.ts";
      import { curves } from "${root}harness/report/curves.ts";
      const records = readRecords(${JSON.stringify(dir)}), points = curves(records);
      console.log(JSON.stringify([records.length, points.length, points[31]]));
      // the records as their lines hold them, first, middle and last
      for (const i of [0, 5200, records.length - 1]) console.log(JSON.stringify(records[i]));`,
    );
    const [counts, ...some] = out.trim().split("\n");
    const [n, points, last] = JSON.parse(counts);
    assert.deepEqual([n, points, last.method, last.budget, last.n], [10_400, 32, "sc:2", 128, 5200]);
    assert.deepEqual(some, [lines[0], lines[5200], lines[10_399]]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("the records' shared texts and lists are each record's values: one list frozen (a reader that changed it would change every record's), texts and -0 kept as parsed", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-records-shared-"));
  try {
    const keys = [1, 2].map((seed) => ["t", "p", "hogwild:2", seed].join("\t"));
    const cp = (answer: string | null) => fakeCheckpoint(8, true, { answer, tokens: [8, 8] });
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: {}, planned: keys }));
    writeFileSync(
      join(dir, "records.jsonl"),
      [1, 2].map((seed) =>
        JSON.stringify(fakeRecord({ problem_id: "p", method: "hogwild:2", seed }, [cp(seed === 1 ? "7" : null)]))
      ).join("\n").replace('"tokens":[8,8]', '"tokens":[8,-0]') + "\n",
    );
    const [a, b] = readRecords(dir);
    assert.equal(a.golds, b.golds, "one golds list");
    assert.ok(Object.isFrozen(a.golds));
    assert.throws(() => (a.golds as string[]).push("5"), TypeError);
    assert.ok(Object.is(a.checkpoints[0].tokens[1], -0), "-0 as parsed");
    assert.notEqual(a.checkpoints[0].tokens, b.checkpoints[0].tokens, "[8, -0] is not [8, 8]");
    assert.deepEqual([a.checkpoints[0].answer, b.checkpoints[0].answer], ["7", null]);
    assert.notEqual(a.checkpoints[0], b.checkpoints[0], "a record's objects are its own");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("the trace filter reads its kept lines again from the file it found them in: one replaced or grown meanwhile is refused, never copied by the old offsets", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-traces-moved-")), file = join(dir, "traces.jsonl");
  bigRun(dir, { n: 24, kb: 1 });
  const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
  const done = new Set(Array.from({ length: 19 }, (_, i) => ["t", `p${i}`, "hogwild:2", 1].join("\t")));
  for (
    const change of [
      // the same lines in another order, renamed over it (another command's rewrite)
      () => {
        writeFileSync(join(dir, "new"), [...lines.slice(1), lines[0]].join("\n") + "\n");
        renameSync(join(dir, "new"), file);
      },
      () => appendFileSync(file, lines[3] + "\n"), // a line appended
    ]
  ) {
    writeFileSync(file, lines.join("\n") + "\n");
    const kept = recordsTraces(file, done);
    change();
    assert.throws(
      () => [...kept.lines],
      /traces\.jsonl: replaced or changed while it was read; run the same command again/,
    );
  }
  writeFileSync(file, lines.join("\n") + "\n");
  const copied = new TextDecoder().decode(Buffer.concat([...recordsTraces(file, done).lines]));
  assert.equal(copied, lines.slice(0, 19).join("\n") + "\n", "unchanged: its records' lines");
  rmSync(dir, { recursive: true });
});

Deno.test("records edited out of what a run writes are refused by every reader (scores outside [0, 1], negative times or passes, budgets not growing or not the run's), naming the line", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-records-edited-")), file = join(dir, "records.jsonl");
  bigRun(dir, { n: 3, kb: 1, runJson: { spec: { budgets: [1, 2] } } });
  const lines = readFileSync(file, "utf8").split("\n").slice(0, -1).map((l) => JSON.parse(l));
  const write = (second: Record<string, unknown>) =>
    writeFileSync(file, [lines[0], second, lines[2]].map((r) => JSON.stringify(r)).join("\n") + "\n");
  const at = (budget: number, over: Record<string, unknown> = {}) => fakeCheckpoint(budget, true, over);
  const ok = [at(1), at(2)];
  for (const r of lines) r.checkpoints = ok; // the run's budgets, [1, 2]
  write({ ...lines[1], checkpoints: [at(1, { score_strict: 0.5, score_lenient: 1, passes: 0, solo_ms: 0 }), at(2)] });
  assert.equal(readRecords(dir).length, 3, "in range: read");
  const bad: [string, unknown][] = [];
  for (const field of ["score_strict", "score_lenient", "vote_score_strict", "paths_score_strict"]) {
    for (const v of [7, -0.1, 1.0001]) bad.push([field, v]);
  }
  for (const field of ["passes", "solo_ms", "shared_ms"]) for (const v of [-3, -0.001]) bad.push([field, v]);
  for (const v of [0, -8]) bad.push(["budget", v]);
  for (const [field, value] of bad) {
    write({ ...lines[1], checkpoints: [at(1, { [field]: value }), at(2)] });
    assert.throws(
      () => readRecords(dir),
      /records\.jsonl:2: a record whose "checkpoints" are not this project's \(the file was changed by hand\?\)/,
      `${field} ${value}`,
    );
  }
  for (const budgets of [[2, 1], [1, 1]]) {
    write({ ...lines[1], checkpoints: budgets.map((b) => at(b)) });
    assert.throws(() => readRecords(dir), /records\.jsonl:2: a record whose "checkpoints" are not/, `${budgets}`);
  }
  // growing, but not the run's budgets (another run's record)
  write({ ...lines[1], checkpoints: [at(1), at(3)] });
  assert.throws(
    () => readRecords(dir),
    /records\.jsonl:2: a record checkpointed at \[1,3\], not this run's budgets \[1,2\] \(the file was changed by hand\?\)/,
  );
  rmSync(dir, { recursive: true });
});

Deno.test("a new run folder's --out (merge, rescore) is refused before any work where it could not be made: under a file, a file, a folder not empty, its .partial a file", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-new-run-"));
  writeFileSync(join(dir, "file"), "");
  mkdirSync(join(dir, "full"));
  writeFileSync(join(dir, "full", "x"), "");
  writeFileSync(join(dir, "taken.partial"), "mine");
  mkdirSync(join(dir, "empty-target"));
  symlinkSync(join(dir, "empty-target"), join(dir, "link"));
  symlinkSync(join(dir, "nothing"), join(dir, "dangling"));
  const refused: [string, RegExp][] = [
    ...["m", "a/b", "a/b/c"].map((p): [string, RegExp] => [join(dir, "file", p), /file is not a folder/]),
    [join(dir, "file"), /exists and is not an empty folder/],
    [join(dir, "full"), /exists and is not an empty folder/],
    [join(dir, "taken"), /taken\.partial: exists and is not a folder/],
    // a link (to an empty folder, or to nothing) would be renamed over once the work is done: refused before it
    [join(dir, "link"), /link: a symbolic link; name the folder itself/],
    [join(dir, "dangling"), /dangling: a symbolic link; name the folder itself/],
  ];
  for (const [out, message] of refused) {
    assert.throws(
      () => checkNewRunFolder(out, "merge"),
      (e) => e instanceof InputError && e.message.startsWith("--out ") && message.test(e.message),
      out,
    );
  }
  mkdirSync(join(dir, "empty"));
  for (const out of [join(dir, "new"), join(dir, "new", "deeper"), join(dir, "full", "..", "empty")]) {
    checkNewRunFolder(out, "merge");
  }
  assert.equal(readFileSync(join(dir, "taken.partial"), "utf8"), "mine", "a file named like the scratch is kept");
  rmSync(dir, { recursive: true });
});

Deno.test("run folders named twice (a trailing slash, a link, another spelling) are refused, naming the second; distinct ones pass", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-twice-"));
  for (const d of ["a", "b"]) mkdirSync(join(dir, d));
  symlinkSync(join(dir, "a"), join(dir, "link"));
  const a = join(dir, "a");
  for (const again of [a, a + "/", join(dir, "b", "..", "a"), join(dir, "link")]) {
    assert.throws(
      () => checkFoldersOnce([a, join(dir, "b"), again], "view"),
      (e) =>
        e instanceof InputError &&
        e.message === `view: ${again} is named twice (it is ${a}); name each run folder once`,
      again,
    );
  }
  checkFoldersOnce([a, join(dir, "b"), join(dir, "missing")], "view"); // a missing one is its command's to say
  rmSync(dir, { recursive: true });
});

Deno.test("a run folder whose append failed takes no more appends: a line it could not take back stays the file's last", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-append-fail-"));
  const run = RunDir.open(dir, { x: 1 }, { planned: [] });
  const problem = (id: string) => fakeRecord({ method: "sequential", problem_id: id }, [fakeCheckpoint(8, true)]);
  try {
    run.append(problem("p1"), fakeTrace({ problem_id: "p1", method: "sequential" }));
    // the write fails, and the bytes it wrote cannot be cut (a filesystem refusing the truncate too)
    const truncate = Deno.truncateSync;
    writeSeam.before = (f) => {
      if (f.endsWith("records.jsonl")) appendFileSync(f, '{"task":"t","prob');
      throw new Error("Input/output error (os error 5)");
    };
    Deno.truncateSync = () => {
      throw new Error("Input/output error (os error 5)");
    };
    try {
      assert.throws(
        () => run.append(problem("p2"), fakeTrace({ problem_id: "p2", method: "sequential" })),
        /os error 5/,
      );
    } finally {
      writeSeam.before = undefined, Deno.truncateSync = truncate;
    }
    // the disk works again: the next append is refused with the first error, never written after the torn line
    assert.throws(() => run.append(problem("p3"), fakeTrace({ problem_id: "p3", method: "sequential" })), /os error 5/);
    assert.equal(readFileSync(join(dir, "records.jsonl"), "utf8").split("\n").length, 2, "one line, then the torn one");
  } finally {
    run.close();
  }
});

Deno.test("a refusal names what differs where a long list's JSON is cut, and a generated task's knob by its flag", () => {
  // methods as a long list: cut in the middle, the two looked the same but for their length
  const methods = Array.from({ length: 23 }, (_, i) => `hogwild:${i + 2}:interleaved`);
  for (
    const [now, said] of [
      [[...methods, "hogwild:4"], '["hogwild:4"] only in the second'],
      [methods.slice(1), '["hogwild:2:interleaved"] only in the first'],
      [[...methods].reverse(), "the same items, in another order or counted otherwise"],
    ] as const
  ) {
    const [line] = differences({ methods }, { methods: now });
    assert.match(line, /^methods: was \[.* … .*\] \(\d+ characters\), now /);
    assert.ok(line.endsWith(` (${said})`), line);
  }
  assert.deepEqual(differences({ methods: ["a"] }, { methods: ["a", "b"] }), ['methods: was ["a"], now ["a","b"]']);
  // --count on a generated task changes its problems: the flag named, not "the same data flags"
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const dir = join(mkdtempSync(join(tmpdir(), "hogwild-generated-flags-")), "run");
  mkdirSync(dir);
  const full = { synthetic: { parts: 4, digits: 2, count: 2 } };
  const key = (count: number) => ({ data: `h${count}`, synthetic: { ...full.synthetic, count } });
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: key(2), spec_full: full }));
  writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
  assert.throws(
    () => RunDir.open(dir, key(3), { spec_full: { synthetic: { ...full.synthetic, count: 3 } } }),
    (e: Error) =>
      e.message.includes("the flags that chose the data: --count: was 2, now 3") &&
      e.message.includes("synthetic (--parts, --digits, --count): was") && !e.message.includes("the same data flags"),
  );
});

Deno.test("a refusal for other data names only the flags that apply to the run's tasks (a generated task's knobs not for custom)", () => {
  const record = { task: "custom", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  /** The refusal of a resume whose data hash differs: stored run.json from `was`, the resume's from `now`. */
  const refusal = (was: string[], now = was) => {
    const dir = join(mkdtempSync(join(tmpdir(), "hogwild-data-applies-")), "run");
    mkdirSync(dir);
    const spec = (args: string[]) => parseBenchSpec([...args, "--methods", "sequential", "--budgets", "8"])!;
    writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: { data: "aaa" }, spec_full: spec(was) }));
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    try {
      RunDir.open(dir, { data: "bbb" }, { spec_full: spec(now) }).close();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("resumed");
  };
  const custom = ["--task", "custom", "--data", "/d/c1.jsonl"];
  const edited = refusal(custom);
  assert.ok(edited.includes("the task data's content differs: the same data flags (--data /d/c1.jsonl) read"), edited);
  assert.doesNotMatch(edited, /--parts|--digits|--count/);
  // read from elsewhere: the paths named, no "same" flag beside them
  const moved = refusal(custom, ["--task", "custom", "--data", "/e/c1.jsonl"]);
  assert.ok(moved.includes('(read from --data: was "/d/c1.jsonl", now "/e/c1.jsonl")'), moved);
  assert.doesNotMatch(moved, /--parts|--digits|--count/);
  // a generated task among the run's: its knobs choose its problems, so they are named
  const mixed = refusal(["--task", "custom,chains", "--data-dir", "/d"]);
  assert.ok(mixed.includes("the same data flags (--data-dir /d, --parts 4, --digits 2, --count 100) read"), mixed);
});

Deno.test("runModel: the --model given (a local folder's path, which the key leaves out), else the key's, else the source", () => {
  const spec = parseBenchSpec(["--model", "engine/models/hogwild-demo"])!;
  assert.equal(flagsKey(spec).model, undefined, "the key holds a local folder by its content");
  assert.equal(runModel({ spec: flagsKey(spec), spec_full: spec }), "engine/models/hogwild-demo");
  assert.equal(runModel({ spec: { model: "Qwen/Qwen3-8B" } }), "Qwen/Qwen3-8B", "a run.json before spec_full");
  assert.equal(runModel({ spec: {}, model: { source: "/models/qwen3" } }), "/models/qwen3");
  assert.equal(runModel({ spec: { model: 3 } }), undefined, "no name, rather than a damaged one");
});

Deno.test("runNames: a folder's name, and where folders share it the shortest end of each path that no other ends with", () => {
  assert.deepEqual(runNames(["/r/a/x/run", "/r/b/x/run", "/r/b/y/run", "/r/b/other"]), [
    "a/x/run",
    "b/x/run",
    "y/run",
    "other",
  ]);
  assert.deepEqual(runNames(["/run", "/x/run"]), ["/run", "x/run"], "a path that is the end of another's");
  assert.deepEqual(runNames(["qwq"]), ["qwq"]);
});

Deno.test("a resume whose generated task's problems changed with --seeds (the smallest seed makes them) names --seeds, not the data", () => {
  const record = { task: "chains", problem_id: "p", method: "sequential", seed: 1, checkpoints: [] };
  const full = (seeds: number[], tasks = ["chains"]) => ({
    tasks,
    seeds,
    synthetic: { parts: 4, digits: 2, count: 2 },
  });
  const open = (stored: number[], now: number[], tasks?: string[]) => {
    const dir = join(mkdtempSync(join(tmpdir(), "hogwild-seeds-data-")), "run");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({ spec: { data: `h${Math.min(...stored)}`, seeds: stored }, spec_full: full(stored, tasks) }),
    );
    writeFileSync(join(dir, "records.jsonl"), JSON.stringify(record) + "\n");
    return () =>
      RunDir.open(dir, { data: `h${Math.min(...now)}`, seeds: now }, { spec_full: full(now, tasks) }).close();
  };
  assert.throws(
    open([1], [2]),
    (e: Error) =>
      e.message.includes("seeds: was [1], now [2]") &&
      e.message.includes(
        "the flags that chose the data: --seeds (its smallest makes chains's problems): was 1, now 2",
      ) && !e.message.includes("the task data's content differs"),
  );
  // a data set's problems are read as they are: the seed chose none, the content is said
  assert.throws(open([1], [2], ["gsm8k"]), (e: Error) => e.message.includes("the task data's content differs"));
});

/** `bigRun`'s folder as a bench of this grader resumes it: run.json's spec `{}`, its records this grader's. */
function resumable(dir: string, o: { n: number; kb: number }): string[] {
  bigRun(dir, o);
  const file = join(dir, "records.jsonl");
  const records = readFileSync(file, "utf8").split("\n").slice(0, -1).map((l) => JSON.parse(l));
  writeFileSync(file, records.map((r) => JSON.stringify({ ...r, grader: GRADER_VERSION }) + "\n").join(""));
  return JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).planned;
}

/** What `f` passed to JSON.parse: each text's length, as a list (the spy is taken off after). */
function parsed<T>(f: () => T): { value?: T; error?: unknown; texts: string[] } {
  const parse = JSON.parse, texts: string[] = [];
  JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    texts.push(String(text));
    return parse(text, reviver);
  };
  try {
    return { value: f(), texts };
  } catch (error) {
    return { error, texts };
  } finally {
    JSON.parse = parse;
  }
}

Deno.test("a resume parses records.jsonl once, and a folder refused for another spec none of its records (one record line is enough to know it holds a run)", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-open-parses-"));
  try {
    const planned = resumable(dir, { n: 40, kb: 1 });
    const records = (texts: string[]) => texts.filter((t) => t.startsWith('{"task"') && t.includes('"checkpoints"'));
    const same = parsed(() => RunDir.open(dir, {}, { planned }));
    assert.ok(same.value, String(same.error));
    same.value.close();
    assert.equal(same.value.done.size, 40);
    assert.equal(records(same.texts).length, 40, "each record parsed once");
    const other = parsed(() => RunDir.open(dir, { x: 1 }, { planned }));
    assert.match(String(other.error), /holds a run with another spec \(x: was absent, now 1\)/);
    assert.equal(records(other.texts).length, 0, "refused without parsing the records");
    // a folder whose records file holds no record line (a torn one at most) is started again with the new spec
    writeFileSync(join(dir, "records.jsonl"), '\n{"task":"t","probl');
    writeFileSync(join(dir, "traces.jsonl"), "");
    const empty = RunDir.open(dir, { x: 1 }, { planned });
    empty.close();
    assert.equal(empty.done.size, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).spec, { x: 1 });
    assert.equal(readFileSync(join(dir, "records.jsonl"), "utf8"), "\n", "the torn line cut");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("a resume after a kill cuts traces.jsonl in place where the lines kept are its first (a torn last line, traces of records never written), and rewrites it only to drop a line inside or keep a trace's last", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-open-cut-")), file = join(dir, "traces.jsonl");
  try {
    const planned = resumable(dir, { n: 12, kb: 4 });
    const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
    const records = readFileSync(join(dir, "records.jsonl"), "utf8").split("\n").slice(0, -1);
    const resume = (traces: string, recs: string[], want: string[], inPlace: boolean, why: string) => {
      writeFileSync(file, traces);
      writeFileSync(join(dir, "records.jsonl"), recs.map((l) => l + "\n").join(""));
      const ino = Deno.statSync(file).ino;
      const run = RunDir.open(dir, {}, { planned });
      run.close();
      assert.ok(
        readFileSync(file, "utf8") === want.map((l) => l + "\n").join(""),
        `${why}: the lines kept, as they were`,
      );
      assert.equal(Deno.statSync(file).ino === ino, inPlace, `${why}: ${inPlace ? "cut in place" : "rewritten"}`);
    };
    const all = lines.map((l) => l + "\n").join("");
    resume(all + lines[3].slice(0, 500), records, lines, true, "a torn last line");
    // killed between the trace's append and its record's: the last two traces have no record
    resume(all, records.slice(0, 10), lines.slice(0, 10), true, "traces of records never written");
    resume(all + lines[0].slice(0, 99), records.slice(0, 11), lines.slice(0, 11), true, "both");
    resume(all, records, lines, true, "nothing to drop");
    // a trace without its record inside the file (its lines after it are kept): rewritten
    resume(all, records.filter((_, i) => i !== 4), lines.filter((_, i) => i !== 4), false, "a line inside");
    // a trace twice (p2 run again after a kill before its record): its last kept, in its first's place
    const again = JSON.stringify({ ...JSON.parse(lines[2]), pass_ms: [2] });
    const twice = lines.map((l, i) => i === 2 ? again : l);
    resume(all + again + "\n", records, twice, false, "a trace twice");
    // cut only in the file the lines were found in: one grown or replaced since is refused, never cut
    writeFileSync(file, all + lines[0].slice(0, 99));
    const found = recordsTraces(file, new Set(planned));
    assert.equal(found.cut, all.length);
    appendFileSync(file, "x");
    assert.throws(() => cutFile(file, found.cut!, found.same!), /traces\.jsonl: replaced or changed while it was read/);
    assert.equal(readFileSync(file, "utf8"), all + lines[0].slice(0, 99) + "x", "left as it was");
  } finally {
    rmSync(dir, { recursive: true });
  }
});
Deno.test("the trace filter reads each trace's key, not its text: no trace parsed whole where it starts with the key as the bench writes it; other orders and escapes keyed by a full parse, a line not JSON refused by its number", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-trace-keys-")), file = join(dir, "traces.jsonl");
  try {
    bigRun(dir, { n: 6, kb: 20 });
    const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
    const key = (id: string) => ["t", id, "hogwild:2", 1].join("\t");
    const done = new Set(["p0", "p2", "p3", "p5"].map(key));
    const { value, texts } = parsed(() => recordsTraces(file, done));
    assert.ok(value && !value.whole);
    assert.ok(texts.every((t) => t.length < 100), `no trace parsed whole (${Math.max(...texts.map((t) => t.length))})`);
    const copied = () => new TextDecoder().decode(Buffer.concat([...recordsTraces(file, done).lines]));
    assert.equal(copied(), [0, 2, 3, 5].map((i) => lines[i] + "\n").join(""));
    // keys written otherwise: in another order, with escapes, a seed not an integer's text, a key field twice
    const odd = [
      { problem_id: "p2", task: "t", method: "hogwild:2", seed: 1, workers: ["x"] },
      { task: "t", problem_id: 'q"\\\u00e9\u2028', method: "hogwild:2", seed: 1 },
    ].map((o) => JSON.stringify(o));
    odd.push('{"task":"\\u0074","problem_id":"p\\u0033","method":"hogwild:2","seed":1}');
    odd.push('{"task":"t","problem_id":"p5","method":"hogwild:2","seed":1.0,"x":1}');
    odd.push('{"task":"t","problem_id":"p9","method":"hogwild:2","seed":1,"problem_id":"p0"}');
    // a key field again however it is spelt (the review's forgeries): escaped, with white space around its name
    const H = '{"task":"t","problem_id":"p9","method":"hogwild:2","seed":1';
    odd.push(`${H},"se\\u0065d":2,"workers":[]}`, `${H},"pr\\u006fblem_id" :"p6"}`, `${H}, "problem_id":"p7"}`);
    odd.push(`${H},\t"problem_id"  :"p8"}`, `${H},"audit":{ "seed":9}, "problem_id":"p10"}`);
    writeFileSync(file, odd.map((l) => l + "\n").join(""));
    const twice = [["t", "p9", "hogwild:2", 2].join("\t"), ...["p6", "p7", "p8", "p10"].map(key)];
    const keys = new Set([key("p2"), key('q"\\\u00e9\u2028'), key("p3"), key("p5"), key("p0"), ...twice]);
    const kept = new TextDecoder().decode(Buffer.concat([...recordsTraces(file, keys).lines]));
    assert.equal(kept, odd.map((l) => l + "\n").join(""), "every line keyed as JSON.parse reads it");
    assert.equal(recordsTraces(file, new Set([key("p9")])).whole, false, "p9's key field written twice: the last");
    // a line that is no JSON, or a torn line an append ran on from (its key's line, then another's whole)
    for (const bad of ["not json", lines[1].slice(0, 300) + lines[2], lines[1].slice(0, -1)]) {
      writeFileSync(file, [lines[0], bad, lines[3]].map((l) => l + "\n").join(""));
      assert.throws(
        () => recordsTraces(file, done),
        /traces\.jsonl:2: not a JSON record \(the file was changed by hand\?\)/,
        bad.slice(0, 40),
      );
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
