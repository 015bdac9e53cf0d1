/**
 * harness/bench/run_key.ts: a run folder's key holds every input that can change a record. Each input is enumerated
 * here and changed on its own: its field, and only its field, must change. A new spec field makes the exact
 * list of fields fail until it is placed (in the key, or among the flags that change no record).
 */
import assert from "node:assert/strict";
import { taskSpec } from "../../../tasks/registry.ts";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { DEMO_MODEL, parseBenchSpec } from "../../../harness/bench/spec.ts";
import { loadProtocol, loadTemplate } from "../../../harness/generation/prompts.ts";
import { loadSot } from "../../../harness/generation/methods/sot.ts";
import { folderKey, type KeyInputs, runKey, weightsHash } from "../../../harness/bench/run_key.ts";
import { loadTask } from "../../../tasks/registry.ts";
import { differences } from "../../../harness/bench/rundir.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "hogwild-key-"));

async function inputs(model: string): Promise<KeyInputs> {
  const spec = parseBenchSpec(["--model", model, "--count", "3"])!;
  return {
    spec,
    source: model,
    problems: (await loadTask("chains", { synthetic: spec.synthetic })).problems,
    prompts: {
      collab: loadTemplate("collab"),
      plain: loadTemplate("plain"),
      protocol: loadProtocol(),
      families: { sot: loadSot() },
    },
    sampling: GREEDY,
  };
}

/** The fields that changed between two keys. */
function changed(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) =>
    JSON.stringify(a[k]) !== JSON.stringify(b[k])
  ).sort();
}

const GREEDY = { temperature: 0, topK: 0, topP: 1, minP: 0 };
const SAMPLED = { temperature: 0.5, topK: 50, topP: 1, minP: 0 };

const KEYED_FLAGS = [
  "model",
  "device",
  "tasks",
  "methods",
  "budgets",
  "seeds",
  "shard",
  "skipBad",
  "finisherTokens",
  "redundancyEvery",
  "sampling",
  "synthetic",
  "cuda",
];

Deno.test("the key's fields: the keyed flags, the weights, every model file read, each prompt, the data, the versions", async () => {
  const model = join(tmp(), "model");
  cpSync(DEMO_MODEL, model, { recursive: true });
  const key = runKey(await inputs(model));
  // Flags that are undefined in this spec are absent from the key's JSON; they are checked one by one below.
  const present = KEYED_FLAGS.filter((f) => f in key);
  assert.deepEqual(
    Object.keys(key).sort(),
    [
      ...present,
      "sampling_used",
      "weights",
      "model file config.json",
      "model file generation_config.json",
      "model file tokenizer.json",
      "model file tokenizer_config.json",
      "prompt collab",
      "prompt plain",
      "prompt protocol",
      "prompt sot",
      "prompt_format",
      "data",
      "grader",
      "timing",
      "methods_version", // the default methods' families (hogwild, sequential, sc) changed their records since 1
    ].sort(),
  );
  // Every field of the spec is either keyed or listed as changing no record.
  const spec = parseBenchSpec([
    "--out",
    "x",
    "--collab-prompt",
    "c",
    "--view",
    "--task",
    "gsm8k",
    "--data-dir",
    "d",
    "--kv-tokens",
    "2048",
    "--allow-long-context",
    "--fields",
    "question=q",
  ])!;
  const notKeyed = [
    "out",
    "concurrency",
    "kvTokens",
    "view",
    "collabTemplate",
    "plainTemplate",
    "protocol",
    "texts",
    "data",
    "dataDir",
    "hub",
    "limit",
    "allowLongContext",
    "fields",
  ];
  const fields = [...KEYED_FLAGS, ...notKeyed];
  for (const f of Object.keys(spec)) assert.ok(fields.includes(f), `spec field "${f}" is neither keyed nor excluded`);
});

Deno.test("each input changes its field of the key, and only it", async () => {
  const model = join(tmp(), "model");
  cpSync(DEMO_MODEL, model, { recursive: true });
  const base = await inputs(model), key = runKey(base);
  const flag = (args: string[]) => ({
    ...base,
    // a flag given twice is refused: the case's own --model replaces the base one
    spec: { ...parseBenchSpec([...(args.includes("--model") ? [] : ["--model", model]), "--count", "3", ...args])! },
  });
  const cases: [string, KeyInputs | (() => KeyInputs), string[]][] = [
    ["--device", flag(["--device", "cuda"]), ["device"]],
    ["--task", flag(["--task", "synthetic"]), ["synthetic", "tasks"]],
    ["--methods", flag(["--methods", "sequential"]), ["methods", "methods_version"]],
    ["--methods, every family kept (their versions stay)", flag(["--methods", "hogwild:2,sequential,sc:2"]), [
      "methods",
    ]],
    ["--budgets", flag(["--budgets", "8:64:8"]), ["budgets"]],
    ["--seeds", flag(["--seeds", "2"]), ["seeds"]],
    ["--limit (the data hash holds its problems)", flag(["--limit", "2"]), []],
    ["the model's path spelled otherwise", { ...flag(["--model", `${model}/./`]), source: model }, []],
    // a folder is held by its content: the path it was reached by is no part of the key
    ["the model folder by a relative path", { ...flag(["--model", relative(Deno.cwd(), model)]), source: model }, []],
    ["the model folder by a link", () => {
      const link = join(tmp(), "link");
      symlinkSync(model, link);
      return { ...flag(["--model", link]), source: link };
    }, []],
    ["--shard", flag(["--shard", "0/2"]), ["shard"]],
    ["--skip-bad (with a data set)", flag(["--task", "chains,gsm8k", "--skip-bad"]), ["skipBad", "tasks"]],
    ["--finisher-tokens", flag(["--finisher-tokens", "9"]), ["finisherTokens"]],
    ["--finisher-tokens, the task's own", flag(["--finisher-tokens", String(taskSpec("chains").finisherTokens)]), []],
    ["--redundancy-every", flag(["--redundancy-every", "64"]), ["redundancyEvery"]],
    // a run that samples keys the token rules' version too (a greedy one's records do not depend on them)
    ["--temperature", { ...flag(["--temperature", "0.5"]), sampling: SAMPLED }, [
      "generation",
      "sampling",
      "sampling_used",
    ]],
    // the sampling used is keyed beside the flags as given: a flag saying what the model's config says is no change
    // to it (and keys holding it compare it alone: differences)
    ["--temperature 0", flag(["--temperature", "0"]), ["sampling"]],
    ["a model whose generation_config samples", { ...base, sampling: SAMPLED }, ["generation", "sampling_used"]],
    ["--parts", flag(["--parts", "3"]), ["synthetic"]],
    ["--cuda", flag(["--device", "cuda", "--cuda", "gemm=mma"]), ["cuda", "device"]],
    ["--model", { ...flag(["--model", "elsewhere"]), source: model }, ["model"]],
    ["prompt collab", { ...base, prompts: { ...base.prompts, collab: base.prompts.collab + " " } }, ["prompt collab"]],
    ["prompt plain", { ...base, prompts: { ...base.prompts, plain: base.prompts.plain + " " } }, ["prompt plain"]],
    ["prompt protocol", {
      ...base,
      prompts: { ...base.prompts, protocol: { ...base.prompts.protocol, marker: "!" } },
    }, ["prompt protocol"]],
    ["prompt sot", {
      ...base,
      prompts: { ...base.prompts, families: { sot: { ...base.prompts.families.sot as object, join: "!" } } },
    }, ["prompt sot"]],
    ["a problem's text", {
      ...base,
      problems: base.problems.map((p, i) => (i === 1 ? { ...p, text: p.text + " " } : p)),
    }, ["data"]],
    ["a gold", { ...base, problems: base.problems.map((p, i) => (i === 2 ? { ...p, golds: ["0"] } : p)) }, ["data"]],
    // What changes no record: the run folder, how many runs share passes, the cache, where texts were read from.
    ["--out", flag(["--out", "../elsewhere/run"]), []],
    ["--concurrency", flag(["--concurrency", "16"]), []],
    ["--kv-tokens", flag(["--kv-tokens", "4096"]), []],
    ["--allow-long-context", flag(["--allow-long-context"]), []],
    ["--collab-prompt (same text)", flag(["--collab-prompt", "/some/copy.txt"]), []],
    ["--data-dir (the data hash holds its problems)", flag(["--task", "chains,gsm8k", "--data-dir", "/data"]), [
      "tasks",
    ]],
  ];
  // Methods and seeds are sets: their order changes nothing.
  assert.deepEqual(
    runKey(flag(["--methods", "sequential,hogwild:2", "--seeds", "2,1"])),
    runKey(flag(["--methods", "hogwild:2,sequential", "--seeds", "1,2"])),
  );
  for (const [what, i, fields] of cases) {
    assert.deepEqual(changed(key, runKey(typeof i === "function" ? i() : i)), fields, what);
  }
  assert.deepEqual(differences(key, runKey(flag(["--temperature", "0"]))), [], "greedy either way: one run");
  // The model folder's files, each changed on disk.
  const edits: [string, (text: string) => string, string][] = [
    ["config.json", (t) => t.replace(/"rope_theta":\s*[0-9.e+]+/, '"rope_theta": 12345'), "model file config.json"],
    ["generation_config.json", (t) => t.replace("{", '{"top_k": 3,'), "model file generation_config.json"],
    ["tokenizer.json", (t) => t + " ", "model file tokenizer.json"],
    [
      "tokenizer_config.json",
      (t) => t.replace("{", '{"chat_template": "{{ messages }}",'),
      "model file tokenizer_config.json",
    ],
  ];
  for (const [file, edit, field] of edits) {
    const path = join(model, file), was = readFileSync(path, "utf8");
    writeFileSync(path, edit(was));
    assert.deepEqual(changed(key, runKey(base)), [field], file);
    writeFileSync(path, was);
  }
  writeFileSync(join(model, "chat_template.jinja"), "{{ messages }}");
  assert.deepEqual(changed(key, runKey(base)), ["model file chat_template.jinja"]);
  rmSync(join(model, "chat_template.jinja"));
  // A field the config leaves out is read as its architecture's default: the key holds the value read, so a
  // default corrected in the project is another key for the same file (and a field given is not keyed twice).
  const config = join(model, "config.json"), text = readFileSync(config, "utf8");
  writeFileSync(config, text.replace(/\s*"rms_norm_eps":\s*[0-9.e+-]+,/, ""));
  const defaulted = runKey(base);
  assert.deepEqual(defaulted.model_defaults, { rms_norm_eps: 1e-6 }, "llama's default, as LlamaConfig's");
  assert.deepEqual(changed(key, defaulted), ["model file config.json", "model_defaults"]);
  writeFileSync(config, text);
  // A byte in the middle of the weights (neither the first nor the last MiB).
  const weights = join(model, "model.safetensors"), bytes = readFileSync(weights);
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(weights, bytes);
  assert.ok(changed(key, runKey(base)).includes("weights"));
});

Deno.test("weights' hashes are kept against size, mtime, ctime and inode, and taken again when one changes", async () => {
  const model = join(tmp(), "model"), cache = join(tmp(), "cache", "weights.json");
  cpSync(DEMO_MODEL, model, { recursive: true });
  const first = weightsHash(model, cache);
  assert.ok(existsSync(cache));
  assert.equal(weightsHash(model, cache), first);
  assert.equal(weightsHash(model), first, "the same hash without a cache");
  const weights = join(model, "model.safetensors"), bytes = readFileSync(weights);
  bytes[100] ^= 1;
  writeFileSync(weights, bytes);
  utimesSync(weights, new Date(), new Date(Date.now() + 5000));
  assert.notEqual(weightsHash(model, cache), first);
  // Bytes changed with the same size and the old mtime put back (touch -r, cp -p): the ctime still tells.
  const before = weightsHash(model, cache), st = statSync(weights);
  await new Promise((r) => setTimeout(r, 1100)); // Deno reports ctime in whole seconds; a real edit comes later
  bytes[200] ^= 1;
  writeFileSync(weights, bytes);
  utimesSync(weights, st.atime, st.mtime);
  assert.notEqual(weightsHash(model, cache), before, "a changed file behind an unchanged mtime");
  writeFileSync(cache, "{not json");
  assert.equal(weightsHash(model, cache), weightsHash(model), "a damaged cache is ignored");
  assert.equal(weightsHash("random:qwen3-demo", cache), "random:qwen3-demo");
});

Deno.test("the weights' hash covers whichever weights file the engine reads: a folder holding model.safetensors and an index", async () => {
  const model = join(tmp(), "model");
  cpSync(DEMO_MODEL, model, { recursive: true });
  const w = readFileSync(join(model, "model.safetensors"));
  writeFileSync(join(model, "model-00001-of-00001.safetensors"), w);
  writeFileSync(join(model, "model.safetensors.index.json"), JSON.stringify({ weight_map: {} }));
  let before = weightsHash(model);
  // a byte changed in model.safetensors (the one read), then in the shard (not read: keyed all the same)
  for (const f of ["model.safetensors", "model-00001-of-00001.safetensors"]) {
    const bytes = readFileSync(join(model, f));
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(join(model, f), bytes);
    const after = weightsHash(model);
    assert.notEqual(after, before, f);
    before = after;
  }
  // which of the two the engine reads is keyed (it read the index before): only where the folder holds both,
  // so that a folder of one keeps its key
  const both = runKey(await inputs(model));
  assert.equal(both.weights_file, "model.safetensors");
  assert.equal(runKey(await inputs(DEMO_MODEL)).weights_file, undefined);
});

Deno.test("tasks are a set: --task a,b and b,a make one key, and a folder keyed before by the order given is opened with its own key", async () => {
  const base = await inputs(DEMO_MODEL);
  const knobs = ["--parts", "2", "--digits", "1", "--count", "2"];
  const of = async (tasks: string[]): Promise<KeyInputs> => {
    const spec = parseBenchSpec(["--model", DEMO_MODEL, "--task", tasks.join(","), ...knobs])!;
    // the problems as the bench loads them: task by task, in the order given
    const problems = [];
    for (const t of tasks) problems.push(...(await loadTask(t, { synthetic: spec.synthetic })).problems);
    return { ...base, spec, problems };
  };
  const ab = await of(["synthetic", "chains"]), ba = await of(["chains", "synthetic"]);
  const key = runKey(ab);
  assert.deepEqual(runKey(ba), key);
  assert.deepEqual(key.tasks, ["chains", "synthetic"]);
  // one task's problems in another order are other problems (--limit takes the first N): another key
  assert.deepEqual(changed(key, runKey({ ...ab, problems: [...ab.problems].reverse() })), ["data"]);
  // A folder made before tasks were a set keyed them as given, its problems hashed in that order: its key is
  // the one it is opened with (by either order now), and a folder of today's key keeps it.
  const dir = tmp();
  const data = createHash("sha256");
  for (const p of ab.problems) data.update(JSON.stringify([p.task, p.id, p.text, p.golds, p.grading]) + "\n");
  const old = { ...key, tasks: ["synthetic", "chains"], data: data.digest("hex") };
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: old }));
  for (const i of [ab, ba]) assert.deepEqual(folderKey(dir, i), old);
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: key }));
  for (const i of [ab, ba]) assert.deepEqual(folderKey(dir, i), key);
  assert.deepEqual(folderKey(join(dir, "new"), ba), key);
  // another set of tasks is another key, whatever the folder held
  const one = await of(["chains"]);
  assert.deepEqual(folderKey(dir, one), runKey(one));
  rmSync(dir, { recursive: true });
});
