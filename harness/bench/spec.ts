/**
 * The benchmark's spec: flags parsed, checked and completed with defaults before any work starts. With no
 * flags at all it is the embedded default: the project's demo model (engine/models/hogwild-demo) on the
 * chains task it was trained for, 100 problems of 4 parts, the main methods, small budgets, on the CPU.
 */
import { check, InputError, parseAddress, parseFlags, parseInteger } from "../../engine/errors.ts";
import { checkPathFlags, pathInfo } from "../../engine/files.ts";
import { loadNative } from "../../engine/native.ts";
import { parseSamplingFlags, type SamplingFlags } from "../../engine/config.ts";
import {
  checkFinisherInput,
  comparedMethods,
  FINISHER_INPUTS,
  methodGrammar,
  parseMethod,
  textFamilies,
} from "../generation/methods.ts";
import { MIN_KV_TOKENS } from "../generation/schedule.ts";
import {
  checkDataFlags,
  checkGeneratedKnobs,
  DEFAULT_SEED,
  type Fields,
  GENERATED_DEFAULTS,
  parseFields,
  taskSpec,
} from "../../tasks/registry.ts";
import { type LcbDates, parseLcbDates } from "../../tasks/code/lcb.ts";

export interface BenchSpec {
  model: string;
  device: "cpu" | "cuda";
  tasks: string[];
  methods: string[];
  budgets: number[];
  seeds: number[];
  limit?: number;
  concurrency: number;
  /** KV cache capacity in tokens (default: enough for `concurrency` runs of the largest method) */
  kvTokens?: number;
  out: string;
  shard?: { index: number; count: number };
  data?: string;
  dataDir?: string;
  hub?: string;
  skipBad: boolean;
  /** --task custom: the record fields of the question, answer and id */
  fields?: Fields;
  finisherTokens?: number;
  /** the finisher reads the transcript's text encoded again (absent: the writers' ids, as every older folder) */
  finisherInput?: "text";
  redundancyEvery: number;
  /** the sampling settings named by flags (the rest: the model's generation_config's) */
  sampling?: SamplingFlags;
  synthetic: { parts: number; digits: number; count: number };
  collabTemplate?: string;
  plainTemplate?: string;
  /** the code tasks' templates (a maths template never serves them) */
  collabCodeTemplate?: string;
  plainCodeTemplate?: string;
  protocol?: string;
  /** families' own texts files, by family name (--texts NAME=FILE,…) */
  texts?: Record<string, string>;
  /** the CUDA backend's options, every one ("gemm=auto,attention=auto,graphs=8,pdl=0,profile=0") */
  cuda?: string;
  /** serve the viewer, live, while the bench runs (and after, until Ctrl-C) */
  view?: { port?: number; hostname?: string };
  /** passes may go past the model's max_position_embeddings (refused otherwise) */
  allowLongContext?: boolean;
  /** --task lcb: the contest dates it takes (default: the paper's window) */
  lcbDates?: LcbDates;
  /** --task lcb: the texts around each problem (default: tasks/code/lcb_prompt.json) */
  lcbPrompt?: string;
  /** code tasks: model-written programs run without the sandbox (README, "Code tasks and the sandbox") */
  unsafeExec?: boolean;
  /** code tasks: programs graded at once [2] */
  codeWorkers?: number;
}

/** The project's demo model (engine/models/hogwild-demo/README.md), as --model names it from the repository. */
export const DEMO_MODEL = "engine/models/hogwild-demo";

/** The default run's methods: the paper's main ones that the demo model was trained for. */
const DEFAULT_METHODS = "hogwild:2,hogwild:4,sequential,sequential-no-early-stop,sc:2";

export const HELP = `deno task bench [flags]: methods × tasks × budgets, resumable, with accuracy-versus-time curves.

  --model DIR|HF-ID|random:SHAPE  a model folder, a hub model id (downloaded into the HF cache, offline
                                  once there) or random weights of a known shape
                                  [engine/models/hogwild-demo: the demo model]
  --task ID[,ID]                  tasks (deno task tasks list)                       [chains]
  --methods LIST                  ${methodGrammar().join(",\n                                  ")}
                                  [${DEFAULT_METHODS}];
                                  compare: every family's, same budgets (${comparedMethods([128]).join(",")}
                                  at the default budgets; on a code task those that answer code)
  --budgets A:B:S | A,B,…         checkpoints in forward passes (A to B step S)     [8:128:8]
  --seeds 1,2                     sampling seeds (each problem × method × seed is one record)   [1]
  --limit N                       the first N problems of each task                   [all]
  --concurrency P                 runs in flight at once, sharing forward passes      [4]
  --device cpu|cuda                                                                   [cpu]
  --cuda KEY=VALUE,…              the CUDA backend: gemm=auto|own|cublas|mma, attention=auto|simple,
                                  graphs=N (a shape is captured once it has held N passes;
                                  0: none), pdl=0|1, profile=0|1 (recorded in run.json)
                                  [gemm=auto,attention=auto,graphs=8,pdl=0,profile=0]
  --kv-tokens N                   KV cache capacity in tokens, 1024..2^31 (on a GPU: 256 KiB a token for a 32B
                                  model)
                                  [the largest run's bound (its prompt, budgets and texts) times the
                                  concurrency, or all that fits]; a run starts only while its bound is
                                  free, so a smaller cache means fewer runs at a time
  --out results/NAME              the run's folder (resumed when it exists)          [results/default]
  --shard i/n                     this machine's share of the problems (Slurm job arrays: read from
                                  SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT); writes to OUT/shard-i-of-n
  --data FILE|DIR, --data-dir DIR, --hub hf:OWNER/NAME[@REVISION][:FILE], --skip-bad      where task data comes from
  --fields question=NAME,answer=NAME,id=NAME   --task custom: your data's field names  [question, answer, id]
  --finisher-tokens M             the finisher's limit                                [the task's]
  --finisher-input ids|text       what the finisher reads: the writers' ids joined, or the transcript's
                                  text encoded again with its suffix, as the official code (a prefill of
                                  the whole transcript at every checkpoint)                      [ids]
  --redundancy-every K            tokens between redundancy checks                    [1024]
  --temperature T --top-k K --top-p P --min-p M   sampling: each one not given is the model's generation_config's
                                  (transformers' default where it has none: top-k 50) [the generation_config's]
  --parts K --digits D --count N  the generated tasks' knobs     [chains: 4, 2, 100; synthetic: 2, 1, 6]
  --collab-prompt FILE --plain-prompt FILE --protocol FILE   your own prompt texts (maths tasks)
  --collab-code-prompt FILE --plain-code-prompt FILE   the code tasks' templates (a maths one never serves them)
                                  [the model folder's prompts/collab.txt, plain.txt, collab-code.txt and
                                  plain-code.txt where it has them]
  --texts FAMILY=FILE[,FAMILY=FILE]  a method family's own texts (${textFamilies().join(", ")})
                                  [harness/generation/prompts/FAMILY.json]
  --allow-long-context            let passes go past the model's max_position_embeddings (refused otherwise; a
                                  method that cannot fit by the largest budget, before any pass)
  --lcb-dates FROM:TO             --task lcb: contest dates (YYYY-MM-DD, inclusive; either may be empty)
                                  [2024-08-01:2025-02-01, the paper's 279 problems of release_v5]
  --lcb-prompt FILE               --task lcb: the texts around each problem, in tasks/code/lcb_prompt.json's
                                  format (e.g. LiveCodeBench's own sentences)     [tasks/code/lcb_prompt.json]
  --code-workers N                code tasks: programs graded at once, each in its own sandbox        [2]
  --unsafe-exec                   code tasks: run model-written programs WITHOUT the sandbox (bubblewrap);
                                  only for code you trust (README, "Code tasks and the sandbox")
  --view [--view-port N] [--view-host H]   watch the workers write in a browser (deno task view, live)
                                  [port 8470, host 127.0.0.1]
  --help                          this text`;

/** The bench's flags (cli/bench.ts passes them on). */
export const OPTIONS = {
  model: { type: "string" },
  device: { type: "string" },
  cuda: { type: "string" },
  view: { type: "boolean" },
  "view-port": { type: "string" },
  "view-host": { type: "string" },
  task: { type: "string" },
  methods: { type: "string" },
  budgets: { type: "string" },
  seeds: { type: "string" },
  limit: { type: "string" },
  concurrency: { type: "string" },
  "kv-tokens": { type: "string" },
  out: { type: "string" },
  shard: { type: "string" },
  data: { type: "string" },
  "data-dir": { type: "string" },
  hub: { type: "string" },
  "skip-bad": { type: "boolean" },
  fields: { type: "string" },
  "finisher-tokens": { type: "string" },
  "finisher-input": { type: "string" },
  "redundancy-every": { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  parts: { type: "string" },
  digits: { type: "string" },
  count: { type: "string" },
  "collab-prompt": { type: "string" },
  "plain-prompt": { type: "string" },
  "collab-code-prompt": { type: "string" },
  "plain-code-prompt": { type: "string" },
  protocol: { type: "string" },
  texts: { type: "string" },
  "allow-long-context": { type: "boolean" },
  "lcb-dates": { type: "string" },
  "lcb-prompt": { type: "string" },
  "code-workers": { type: "string" },
  "unsafe-exec": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function int(v: string | undefined, flag: string, min = 1, max?: number): number | undefined {
  return v === undefined ? undefined : parseInteger(v, `--${flag}`, min, max);
}

/**
 * --cuda KEY=VALUE,…: the CUDA backend's options in their canonical text (the native core reads them: a bad one is
 * named by the flag), refused without --device cuda (the CPU takes none: ignored, it would be a silent no-op). The
 * one reader of the bench and perf.
 */
export function parseCudaFlag(text: string | undefined, device: string): string | undefined {
  let cuda: string | undefined;
  try {
    cuda = text === undefined ? undefined : loadNative().deviceOptions(text);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`--cuda: ${(e as Error).message}`);
  }
  check(text === undefined || device === "cuda", "--cuda goes with --device cuda (the CPU takes no options)");
  return cuda;
}

/**
 * The largest --kv-tokens: 2^31 tokens are terabytes of keys and values for any model (the demo model's 2 KiB a
 * token, a 32B model's 256 KiB), which no device holds; a larger one is a typo, refused before the model loads.
 */
const MAX_KV_TOKENS = 2 ** 31;

/** Sampling seeds are 32-bit: a larger one would write the same text as another seed under another name. */
const MAX_SEED = 2 ** 32 - 1;

export function parseBudgets(v: string): number[] {
  const range = /^([^:]*):([^:]*):([^:]*)$/.exec(v);
  let list: number[];
  if (range) {
    const [a, b, s] = range.slice(1).map((x) => {
      try {
        return parseInteger(x, "--budgets", 1);
      } catch {
        return NaN;
      }
    });
    check(s > 0 && b >= a, `--budgets ${v}: expected START:STOP:STEP with 0 < START ≤ STOP and STEP > 0 (integers)`);
    check((b - a) / s < 10000, `--budgets ${v}: more than 10000 checkpoints`);
    // a stop the steps pass over would end the curve short of it without a word
    const over = a + Math.floor((b - a) / s) * s;
    check(
      over === b,
      `--budgets ${v}: the steps from ${a} pass over ${b} (they stop at ${over}); give ${a}:${over}:${s} or ` +
        `${a}:${over + s}:${s}, or a list`,
    );
    list = [];
    for (let x = a; x <= b; x += s) list.push(x);
  } else {
    check(!v.includes(":"), `--budgets: expected START:STOP:STEP or a list of positive integers, got "${v}"`);
    list = v.split(",").map((x) => parseInteger(x, `--budgets: expected START:STOP:STEP or a list; in "${v}"`, 1));
    // a set, as seeds and methods are: one listed twice is refused, not dropped without a word
    const twice = [...new Set(list.filter((x, i) => list.indexOf(x) !== i))];
    check(twice.length === 0, `--budgets: a budget is listed twice (${twice.join(", ")})`);
  }
  return list.sort((a, b) => a - b);
}

function parseShard(v: string | undefined): BenchSpec["shard"] {
  const env = (k: string) => Deno.env.get(k);
  let from = "--shard";
  if (v === undefined && env("SLURM_ARRAY_TASK_ID") !== undefined && env("SLURM_ARRAY_TASK_COUNT") !== undefined) {
    const slurm = (k: string) => parseInteger(env(k)!, k);
    const step = env("SLURM_ARRAY_TASK_STEP");
    check(
      step === undefined || step === "1",
      `SLURM_ARRAY_TASK_STEP=${step}: a stepped job array (--array=A-B:S) leaves shards out; use a step of 1 or --shard i/n`,
    );
    const min = env("SLURM_ARRAY_TASK_MIN") === undefined ? 0 : slurm("SLURM_ARRAY_TASK_MIN");
    const id = slurm("SLURM_ARRAY_TASK_ID"), count = slurm("SLURM_ARRAY_TASK_COUNT");
    check(
      id >= min && id - min < count,
      `SLURM_ARRAY_TASK_ID=${id}: outside the array (SLURM_ARRAY_TASK_MIN ${min}, SLURM_ARRAY_TASK_COUNT ${count})`,
    );
    v = `${id - min}/${count}`;
    from = "the Slurm array's variables";
  }
  if (v === undefined) return undefined;
  const m = /^([^/]*)\/([^/]*)$/.exec(v);
  check(m, `${from}: expected i/n with 0 ≤ i < n, got "${v}"`);
  const index = parseInteger(m[1], `${from} (i of i/n)`), count = parseInteger(m[2], `${from} (n of i/n)`, 1);
  check(index < count, `${from}: expected i/n with 0 ≤ i < n, got "${v}"`);
  return { index, count };
}

/** --texts NAME=FILE,…: a file per family with texts of its own, each family once. */
function parseTexts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const at = part.indexOf("="),
      [name, file] = at < 0 ? [part.trim(), ""] : [part.slice(0, at), part.slice(at + 1)].map((s) => s.trim());
    check(
      textFamilies().includes(name) && file,
      `--texts: expected FAMILY=FILE with FAMILY one of ${textFamilies().join(", ")}, got "${part}"`,
    );
    check(!(name in out), `--texts: ${name} is given twice`);
    pathInfo(file, "--texts");
    out[name] = file;
  }
  return out;
}

/** The spec from command-line flags; null when --help was asked for. */
export function parseBenchSpec(args: string[]): BenchSpec | null {
  const { values: f } = parseFlags(OPTIONS, "run `deno task bench --help` for the flags", args);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, {
    model: "model folder, hub id or random:SHAPE",
    out: "folder",
    data: "file or folder",
    "data-dir": "folder",
    "collab-prompt": "file",
    "plain-prompt": "file",
    "collab-code-prompt": "file",
    "plain-code-prompt": "file",
    protocol: "file",
    "lcb-prompt": "file",
  });
  if (f.help) return null;
  const tasks = (f.task ?? "chains").split(",").map((t) => t.trim());
  for (const t of tasks) taskSpec(t);
  check(new Set(tasks).size === tasks.length, "--task: a task is listed twice");
  const budgets = parseBudgets(f.budgets ?? "8:128:8");
  const methods = f.methods === "compare"
    ? comparedMethods(budgets, tasks.some((t) => taskSpec(t).code))
    : (f.methods ?? DEFAULT_METHODS).split(",").map((m) => m.trim());
  check(
    !methods.includes("compare"),
    "--methods: compare stands alone (--methods compare runs the whole comparison; add methods by their ids instead)",
  );
  for (const m of methods) parseMethod(m);
  check(new Set(methods).size === methods.length, "--methods: a method is listed twice");
  const finisherInput = f["finisher-input"] ?? "ids";
  check(
    (FINISHER_INPUTS as readonly string[]).includes(finisherInput),
    `--finisher-input: expected ${FINISHER_INPUTS.join(" or ")}, got "${finisherInput}"`,
  );
  checkFinisherInput(methods.map(parseMethod), finisherInput as typeof FINISHER_INPUTS[number]);
  const seeds = (f.seeds ?? String(DEFAULT_SEED)).split(",").map((s) => int(s, "seeds", 0, MAX_SEED)!);
  check(new Set(seeds).size === seeds.length, "--seeds: a seed is listed twice");
  const device = f.device ?? "cpu";
  check(device === "cpu" || device === "cuda", `--device: expected cpu or cuda, got "${device}"`);
  const cuda = parseCudaFlag(f.cuda, device);
  checkDataFlags(tasks, { data: f.data, hub: f.hub, dataDir: f["data-dir"], skipBad: f["skip-bad"] });
  check(
    tasks.includes("lcb") || (f["lcb-dates"] === undefined && f["lcb-prompt"] === undefined),
    "--lcb-dates and --lcb-prompt go with --task lcb",
  );
  // The generated tasks' knobs default to the first generated task's (chains: the demo model's problems).
  checkGeneratedKnobs(tasks, [f.parts, f.digits, f.count].filter((x) => x !== undefined).length);
  const generated = GENERATED_DEFAULTS[tasks.find((t) => t in GENERATED_DEFAULTS) ?? "chains"];
  const sampling = parseSamplingFlags(f);
  check(
    f.view || (f["view-port"] === undefined && f["view-host"] === undefined),
    "--view-port and --view-host go with --view",
  );
  return {
    cuda,
    view: f.view
      ? parseAddress(f["view-port"], f["view-host"], { port: "--view-port", host: "--view-host" })
      : undefined,
    model: f.model ?? DEMO_MODEL,
    device,
    tasks,
    methods,
    budgets,
    seeds,
    limit: int(f.limit, "limit"),
    concurrency: int(f.concurrency, "concurrency") ?? 4,
    kvTokens: int(f["kv-tokens"], "kv-tokens", MIN_KV_TOKENS, MAX_KV_TOKENS),
    out: f.out ?? "results/default",
    shard: parseShard(f.shard),
    data: f.data,
    dataDir: f["data-dir"],
    hub: f.hub,
    skipBad: f["skip-bad"] ?? false,
    fields: f.fields === undefined ? undefined : parseFields(f.fields),
    finisherTokens: int(f["finisher-tokens"], "finisher-tokens", 1, 1 << 20),
    // absent for ids, so that every older folder's key reads as ids and resumes
    ...(finisherInput === "text" ? { finisherInput: "text" as const } : {}),
    redundancyEvery: int(f["redundancy-every"], "redundancy-every", 0) ?? 1024,
    // only the settings named: each one left out is the model's (resolveSampling), as in transformers
    sampling,
    synthetic: {
      parts: int(f.parts, "parts") ?? generated.parts,
      digits: int(f.digits, "digits") ?? generated.digits,
      count: int(f.count, "count") ?? generated.count,
    },
    collabTemplate: f["collab-prompt"],
    plainTemplate: f["plain-prompt"],
    ...(f["collab-code-prompt"] !== undefined ? { collabCodeTemplate: f["collab-code-prompt"] } : {}),
    ...(f["plain-code-prompt"] !== undefined ? { plainCodeTemplate: f["plain-code-prompt"] } : {}),
    protocol: f.protocol,
    texts: f.texts === undefined ? undefined : parseTexts(f.texts),
    ...(f["allow-long-context"] ? { allowLongContext: true } : {}),
    ...(f["lcb-dates"] !== undefined ? { lcbDates: parseLcbDates(f["lcb-dates"], "--lcb-dates") } : {}),
    ...(f["lcb-prompt"] !== undefined ? { lcbPrompt: f["lcb-prompt"] } : {}),
    ...(f["unsafe-exec"] ? { unsafeExec: true } : {}),
    ...(f["code-workers"] !== undefined ? { codeWorkers: int(f["code-workers"], "code-workers", 1, 64) } : {}),
  };
}
