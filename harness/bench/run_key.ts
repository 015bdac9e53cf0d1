/**
 * A run folder is one experiment. Its key (run.json's "spec") holds everything that can change a record, by
 * content, so that a resume never mixes records of two experiments: the flags that change generation or
 * grading (not --out, --concurrency, --kv-tokens or the viewer's, nor where the prompts, data and a model folder
 * were read from, nor the custom task's field names: the data's hash holds what they select), the sampling those
 * flags resolve to, the weights' full hash, the hash of every other file of the model folder (config, generation config,
 * tokenizer, chat template) and the defaults the engine reads into the config where it leaves fields out, each prompt's text, the task data's content, and the versions of the prompt
 * format, the grader, the timing rule, the token rules (where a run samples or writes programs) and the method
 * families that changed their records. RunDir.open refuses a folder whose key differs, naming each field.
 */
import { pathExists, replaceFile } from "../../engine/files.ts";
import { defaultsUsed, readJson } from "../../engine/config.ts";
import { WEIGHT_FILES, weightsFile } from "../../engine/safetensors.ts";
import { localModel } from "../../engine/hub.ts";
import type { SamplingOptions } from "../../engine/sampler.ts";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Problem } from "../../tasks/problem.ts";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";
import { CODE_GRADER_VERSION } from "../../tasks/code/grade.ts";
import { taskSpec } from "../../tasks/registry.ts";
import type { BenchSpec } from "./spec.ts";
import { PROMPT_FORMAT, type Protocol } from "../generation/prompts.ts";
import { familyName, familyVersions, type FinisherInput, parseMethod } from "../generation/methods.ts";
import { GENERATION_VERSION, TIMING_VERSION } from "../generation/solver.ts";

export interface KeyInputs {
  spec: BenchSpec;
  /** the model folder, or random:SHAPE */
  source: string;
  /** every problem of the spec's tasks as loaded, all shards' (so that shards share one key) */
  problems: readonly Problem[];
  /** the texts the runs are given */
  /** `families`: each method family's own texts (methods.ts familyTexts) */
  /** `code`: the code tasks' texts (their templates and finisher suffix), keyed when a code problem runs */
  prompts: {
    collab: string;
    plain: string;
    protocol: Protocol;
    families: Readonly<Record<string, unknown>>;
    code?: unknown;
  };
  /** where the weights' hashes are kept between runs (keyed by path, size and mtime); none: hashed each time */
  weightsCache?: string;
  /** code tasks: the interpreter programs run with (CodeRunner.environment) */
  codeEnvironment?: string;
  /** the writers' sampling, the flags resolved with the model's generation_config (resolveSampling) */
  sampling: Omit<SamplingOptions, "suppress">;
}

/**
 * The flags that do not change what a record is a sample of, and those whose content the key holds instead of
 * their path. `concurrency` and `kvTokens` say which runs share a pass: on the CPU no record's bits depend on
 * it; on the GPU a row's logits do, in their rounding (cuda/NOTES.md), so a resume with other values writes
 * records of the same experiment that an unbroken run would not have written bit for bit (docs/benchmark.md,
 * "Records and the company they keep"). Keying them would refuse such a resume for a difference of rounding.
 */
const NOT_KEYED = [
  "out",
  "concurrency",
  "kvTokens",
  "view",
  "collabTemplate",
  "plainTemplate",
  "collabCodeTemplate",
  "plainCodeTemplate",
  "protocol",
  "texts",
  "data",
  "dataDir",
  "hub",
  "limit",
  "allowLongContext",
  "fields",
  "codeWorkers",
  "lcbPrompt",
  "lcbDates",
] as const;

/**
 * The spec's flags as the key holds them: one form for one experiment (tasks, methods and seeds as sets; a local model
 * folder not at all: the key holds its content, the weights' and files' hashes, so that the same folder by another
 * path (relative, absolute, a link, a node's own copy) is the same run; a hub id and random:SHAPE are kept, they
 * name their model; --limit is the data's business: the data hash holds the problems it selects;
 * --finisher-tokens equal to every task's own limit is the default).
 */
export function flagsKey(spec: BenchSpec): Record<string, unknown> {
  const rest: Record<string, unknown> = {
    ...spec,
    model: localModel(spec.model) ? undefined : spec.model,
    tasks: [...spec.tasks].sort(),
    methods: [...spec.methods].sort(),
    seeds: [...spec.seeds].sort((a, b) => a - b),
  };
  for (const k of NOT_KEYED) delete rest[k];
  if (spec.tasks.every((t) => taskSpec(t).finisherTokens === spec.finisherTokens)) delete rest.finisherTokens;
  return JSON.parse(JSON.stringify(rest));
}

const sha256 = (x: string | Uint8Array) => createHash("sha256").update(x).digest("hex");
/** The run key's hash of the protocol a run read ("prompt protocol"): what the viewer checks its file against. */
export const protocolHash = (p: Protocol): string => sha256(JSON.stringify(p));
const WEIGHTS = /\.(safetensors|gguf|bin|pt|pth)$/;
/** Files of a model folder that are read by nobody: documentation and pictures. */
const UNREAD = /\.(md|png|jpe?g|svg|gif)$|^\.git/;

/**
 * The run key of `i`. `order`: the tasks in the order a folder made before tasks were a set keyed them (their
 * problems hashed in that order too): that folder's key (folderKey), never a new one's.
 */
export function runKey(i: KeyInputs, order?: readonly string[]): Record<string, unknown> {
  const modelFiles: Record<string, string> = {};
  if (pathExists(i.source)) {
    for (const f of readdirSync(i.source).sort()) {
      const path = join(i.source, f);
      if (WEIGHTS.test(f) || UNREAD.test(f) || !statSync(path).isFile()) continue;
      modelFiles[`model file ${f}`] = sha256(readFileSync(path));
    }
  }
  const data = createHash("sha256");
  // The problems by task, in the tasks' order (a set's: sorted), each task's in its data's order: --task a,b and
  // b,a read the same problems. A code problem's tests decide its grade: they are part of its data.
  const tasks = order ?? [...i.spec.tasks].sort(), at = (p: Problem) => tasks.indexOf(p.task);
  for (const p of [...i.problems].sort((a, b) => at(a) - at(b))) {
    data.update(JSON.stringify([p.task, p.id, p.text, p.golds, p.grading, ...(p.code ? [p.code] : [])]) + "\n");
  }
  const code = i.problems.some((p) => p.grading === "code");
  const config = join(i.source, "config.json");
  const defaults = pathExists(config) ? defaultsUsed(readJson(config)) : {};
  const samples = i.sampling.temperature > 0;
  return {
    ...flagsKey(i.spec),
    ...(order ? { tasks: [...order] } : {}),
    // what the writers draw with: the flags as given (`sampling`) can say it otherwise (--temperature 0 on a greedy
    // generation_config, or none), so keys holding this compare it instead (comparedKeys)
    sampling_used: samplingUsed(i.sampling),
    weights: weightsHash(i.source, i.weightsCache),
    ...weightsRead(i.source),
    ...modelFiles,
    // what the engine's reading adds to config.json (absent where it adds nothing: older keys stay as they were)
    ...(Object.keys(defaults).length ? { model_defaults: defaults } : {}),
    "prompt collab": sha256(i.prompts.collab),
    "prompt plain": sha256(i.prompts.plain),
    "prompt protocol": protocolHash(i.prompts.protocol),
    ...Object.fromEntries(
      Object.entries(i.prompts.families).map(([name, texts]) => [`prompt ${name}`, sha256(JSON.stringify(texts))]),
    ),
    ...(code && i.prompts.code ? { "prompt code": sha256(JSON.stringify(i.prompts.code)) } : {}),
    prompt_format: PROMPT_FORMAT,
    data: data.digest("hex"),
    grader: GRADER_VERSION,
    ...(code ? { code_grader: CODE_GRADER_VERSION, code_python: i.codeEnvironment ?? "unknown" } : {}),
    timing: TIMING_VERSION,
    // where the token rules can change a record (a greedy run of boxed answers keeps the key it had)
    ...(samples || code ? { generation: GENERATION_VERSION } : {}),
    ...methodsVersion(i.spec.methods),
  };
}

/**
 * The key run folder `dir` is opened with: today's (runKey), or for a folder made before tasks were a set, whose
 * run.json keys the same tasks in another order than sorted (the order given then, its data hashed in it), the key
 * as it was made then, so that the folder resumes by either order (and its shards, keyed alike, merge).
 */
export function folderKey(dir: string, i: KeyInputs): Record<string, unknown> {
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"))?.spec?.tasks;
  } catch {
    stored = undefined; // none, or not a run.json: RunDir.open says so
  }
  const sorted = [...i.spec.tasks].sort();
  const old = Array.isArray(stored) && stored.length === sorted.length &&
    JSON.stringify([...stored].sort()) === JSON.stringify(sorted) && JSON.stringify(stored) !== JSON.stringify(sorted);
  return runKey(i, old ? stored as string[] : undefined);
}

/** The writers' sampling as a key holds it: greedy, nothing else counts; else all four settings. */
function samplingUsed(s: Pick<SamplingOptions, "temperature" | "topK" | "topP" | "minP">): Record<string, number> {
  return s.temperature > 0
    ? { temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP }
    : { temperature: 0 };
}

/** The finisher input of run key `key`: absent for ids (spec.ts), as in every folder made before the flag. */
export const keyedFinisherInput = (key: Record<string, unknown>): FinisherInput =>
  key.finisherInput === "text" ? "text" : "ids";

/** What a key's field means where the key lacks it (a default left out, a folder made before the field). */
const ABSENT: Readonly<Record<string, string>> = {
  model: "a model folder (held by its content: weights, model files)",
  finisherInput: JSON.stringify(keyedFinisherInput({})),
  finisherTokens: "each task's own limit",
  sampling: "no sampling flag (the model's generation_config)",
  shard: "the whole run",
  cuda: "no --cuda (the backend's defaults)",
  unsafeExec: "false",
  methods_version: "every family at version 1",
  model_defaults: "none",
  weights_file: "the folder's one weights file (a folder holding both, made before the field, read the index)",
  generation: "not keyed (a greedy run without code tasks, or an older folder)",
  code_grader: "no code task",
  code_python: "no code task",
  "prompt code": "no code task",
};

/**
 * What run key field `k` means where a key lacks it, in words for a refusal ("" where nothing is known: then it
 * is only absent, never "undefined").
 */
export function keyAbsence(k: string): string {
  return ABSENT[k] ?? (k.startsWith("model file ") ? "no such file in the model folder" : "");
}

/**
 * Two run keys as they are compared (resume, merge, compare, solo-check): a key made before a model folder was held
 * by content alone holds the folder's path as `model`. Against a key without `model` (a folder) that path is not
 * compared: the weights' and model files' hashes decide, so such a folder resumes by any path to the same files.
 * (An old key's path and a hub id look alike, "models/x" and "Qwen/Qwen3-8B": a hub id's files are then matched by
 * content too.) random:SHAPE is always compared: it is its weights. Sampling: below; `resolved`: each key's
 * run.json `sampling` (the flags resolved, kept beside the key), what a key from before sampling_used drew with.
 */
export function comparedKeys(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  resolved: readonly [unknown, unknown] = [undefined, undefined],
): [Record<string, unknown>, Record<string, unknown>] {
  const local = (x: Record<string, unknown>) => typeof x.model === "string" && !x.model.startsWith("random:");
  const path = (x: Record<string, unknown>, y: Record<string, unknown>) => local(x) && y.model === undefined;
  // two keys from before (no sampling_used: shards made from two node-local copies): their weights' hashes decide,
  // not where each copy sat; two of today's hold a model only for a hub id or random:SHAPE, compared
  const old = (x: Record<string, unknown>) => local(x) && "weights" in x && !("sampling_used" in x);
  const both = old(a) && old(b);
  let [x, y] = both
    ? [without(a, "model"), without(b, "model")]
    : path(a, b)
    ? [without(a, "model"), b]
    : path(b, a)
    ? [a, without(b, "model")]
    : [a, b];
  // Keys holding the sampling used compare it, not the flags that said it. A key from before holds only the flags;
  // its run.json's resolved sampling, where kept, says what it drew with (--temperature 0 on a greedy model is the
  // same run against either), else its flags are compared.
  [x, y] = [usedFrom(x, resolved[0]), usedFrom(y, resolved[1])];
  const used = "sampling_used" in x && "sampling_used" in y ? "sampling" : "sampling_used";
  return [without(x, used), without(y, used)];
}

/** Key `k` with the sampling used, from run.json's `resolved` sampling where the key is from before the field. */
function usedFrom(k: Record<string, unknown>, resolved: unknown): Record<string, unknown> {
  const s = resolved as Record<string, unknown> | undefined;
  const whole = s !== null && typeof s === "object" &&
    ["temperature", "topK", "topP", "minP"].every((f) => Number.isFinite(s[f]));
  return "sampling_used" in k || !whole ? k : { ...k, sampling_used: samplingUsed(s as unknown as SamplingOptions) };
}

const without = (k: Record<string, unknown>, field: string) => {
  const { [field]: _, ...rest } = k;
  return rest;
};

/** A key's field as a refusal names it: the sampling flags, compared where a key holds no sampling used, as given. */
export const keyField = (k: string): string =>
  k === "sampling" ? "sampling (the flags as given)" : k === "synthetic" ? "synthetic (--parts, --digits, --count)" : k;

/** The family of `method` and its version in run key `key` (1 where the key has none: older, or unchanged). */
export function keyedVersion(key: Record<string, unknown>, method: string): { family: string; version: number } {
  const family = familyName(method) ?? method;
  return { family, version: (key.methods_version as Record<string, number> | undefined)?.[family] ?? 1 };
}

/**
 * The method families both keys ran whose versions differ, each as [family, version in a, version in b]: a family
 * only one key ran differs in its methods, a flag, not in its version (methods_version lists only the families run).
 */
export function versionChanges(a: Record<string, unknown>, b: Record<string, unknown>): [string, number, number][] {
  const versions = (s: Record<string, unknown>) =>
    new Map(((s.methods ?? []) as string[]).map((m) => keyedVersion(s, m)).map((v) => [v.family, v.version]));
  const [va, vb] = [versions(a), versions(b)];
  return [...va.keys()].filter((f) => vb.has(f) && va.get(f) !== vb.get(f)).sort().map((
    f,
  ) => [f, va.get(f)!, vb.get(f)!]);
}

/**
 * Whether a stored key's method families ran at versions other than today's for the same methods (or at methods
 * no family reads any more): then no flags resume it, whatever methods are asked for now.
 */
export function staleVersions(stored: Record<string, unknown>): boolean {
  const methods = Array.isArray(stored.methods) ? stored.methods as string[] : [];
  try {
    return versionChanges(stored, { methods, ...methodsVersion(methods) }).length > 0;
  } catch {
    return true; // a method id this version refuses
  }
}

/** The versions above 1 of the spec's method families (none: no field, so older folders keep their key). */
function methodsVersion(ids: readonly string[]): { methods_version?: Record<string, number> } {
  const v = familyVersions(ids.map(parseMethod));
  return Object.keys(v).length ? { methods_version: v } : {};
}

/**
 * Which weights file the engine reads, where the folder holds both model.safetensors and an index: it read the
 * index until it took model.safetensors first, as transformers does (absent for a folder of one: its key stays).
 */
function weightsRead(source: string): { weights_file?: string } {
  const here = WEIGHT_FILES.filter((f) => pathExists(join(source, f)));
  return here.length > 1 ? { weights_file: weightsFile(source) } : {};
}

/** A file's hash and what must not have changed since: size, mtime, and ctime and inode, which `touch -r` or a
 * copy that keeps mtime (cp -p, rsync -t) cannot set back. */
interface CachedHash {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
}

/**
 * The full SHA-256 of every weights file of a model folder, in name order (random:SHAPE: its name, the
 * weights being made from it). A file's hash is kept in `cacheFile` against its size, mtime, ctime and inode,
 * so 65 GB are read once, not at every resume.
 */
export function weightsHash(source: string, cacheFile?: string): string {
  if (!pathExists(source)) return source;
  let cache: Record<string, CachedHash> = {};
  try {
    if (cacheFile && pathExists(cacheFile)) cache = JSON.parse(readFileSync(cacheFile, "utf8"));
  } catch {
    cache = {}; // a damaged cache is only a cache
  }
  let changed = false;
  const all = createHash("sha256");
  for (const f of readdirSync(source).filter((f) => WEIGHTS.test(f)).sort()) {
    const path = resolve(source, f), st = statSync(path);
    const stamp = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
    let hit = cache[path];
    if (!hit || Object.entries(stamp).some(([k, v]) => hit![k as keyof typeof stamp] !== v)) {
      hit = { ...stamp, sha256: hashFile(path) };
      cache[path] = hit;
      changed = true;
    }
    all.update(`${f}\t${st.size}\t${hit.sha256}\n`);
  }
  if (changed && cacheFile) {
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      replaceFile(cacheFile, JSON.stringify(cache));
    } catch {
      // an unwritable cache costs a re-read next time, nothing else
    }
  }
  return all.digest("hex");
}

function hashFile(path: string): string {
  const h = createHash("sha256"), buf = new Uint8Array(16 << 20), fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
