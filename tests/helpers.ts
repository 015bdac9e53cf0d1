/** Shared by the tests: fixture paths, reference tensors, and comparisons that report their worst error. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Block, KVCache } from "../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../engine/plan.ts";
import { readHeader, readSmallFile } from "../engine/safetensors.ts";
import type { Script, ScriptRow } from "../engine/script.ts";
import { type Rng, SPEC_FLOATS } from "../engine/sampler.ts";
import { SAMPLE_FIELDS } from "../engine/formats.ts";
import type { TextTokenizer } from "../engine/tokenizer.ts";
import type { StepModel } from "../harness/generation/schedule.ts";
import type { BenchRecord, RecordCheckpoint, TraceLine } from "../harness/bench/rundir.ts";
import type { Solver } from "../harness/generation/solver.ts";
import type { Invocation } from "../harness/bench/timing.ts";
import { GradePool } from "../tasks/grading/pool.ts";
import { InputError } from "../engine/errors.ts";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
/** Every fixture model: each folder of tests/fixtures with a reference.json (a new fixture is its folder alone). */
export const CASES: readonly string[] = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(FIXTURES, e.name, "reference.json")))
  .map((e) => e.name)
  .sort();

/**
 * Who computed a fixture's reference logits, as its reference.json's `reference` says: transformers in float32,
 * or the independent float64 implementation. Anything else is refused: it sets the GPU check's tolerance.
 */
export function referenceKind(name: string): "transformers" | "float64" {
  const file = join(FIXTURES, name, "reference.json");
  const ref = JSON.parse(readFileSync(file, "utf8")).reference;
  if (typeof ref === "string" && /^[^:]*: transformers /.test(ref)) return "transformers";
  if (typeof ref === "string" && /^[^:]*: an independent float64 implementation/.test(ref)) return "float64";
  throw new Error(`${file}: "reference" must say whose logits these are (transformers, or the float64 implementation)`);
}

export function fixtureDir(name: string): string {
  return FIXTURES + name;
}

export function reference(name: string, file = "reference.safetensors") {
  return readSmallFile(`${FIXTURES}${name}/${file}`);
}

/** A tensor as a safetensors file holds it: its dtype name, shape and raw bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** The bytes of a safetensors file holding `tensors` in order (the header padded to 8 bytes, as writers do). */
export function safetensorsBytes(tensors: Iterable<[string, RawTensor]>): Uint8Array {
  const header: Record<string, unknown> = {}, list = [...tensors];
  let at = 0;
  for (const [name, t] of list) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let o = 8 + json.length;
  for (const [, t] of list) out.set(t.data, o), o += t.data.length;
  return out;
}

/**
 * A fixture's model.safetensors with the embedding's rows in reverse order: other weights of the same shapes,
 * all finite (for a folder or a hub that holds two checkpoints that must not be mixed up).
 */
export function reversedEmbedding(name: string): Uint8Array {
  const src = join(FIXTURES, name, "model.safetensors"), bytes = readFileSync(src);
  return safetensorsBytes(
    readHeader(src).map((t): [string, RawTensor] => {
      const data = bytes.subarray(t.offset, t.offset + t.nbytes);
      if (t.name !== "model.embed_tokens.weight") return [t.name, { dtype: t.dtype, shape: t.shape, data }];
      const row = t.nbytes / t.shape[0], out = new Uint8Array(t.nbytes);
      for (let r = 0; r < t.shape[0]; r++) out.set(data.subarray(r * row, (r + 1) * row), t.nbytes - (r + 1) * row);
      return [t.name, { dtype: t.dtype, shape: t.shape, data: out }];
    }),
  );
}

/** max |a - b| over equal-length arrays; throws on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export { Rng } from "../engine/sampler.ts";

export function randInt(rng: { next(): number }, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** A random shared-cache script: blocks that grow across passes, views in random orders with repeats. */
export function randomScript(rng: Rng, vocab: number, maxLen: number): Script {
  const names = Array.from({ length: randInt(rng, 2, 7) }, (_, i) => `b${i}`);
  const exists = new Set<string>();
  const passes: Script["passes"] = [];
  const nPasses = randInt(rng, 3, 8);
  for (let p = 0; p < nPasses; p++) {
    const writers = names.filter(() => rng.next() < 0.5);
    if (writers.length === 0) writers.push(names[randInt(rng, 0, names.length - 1)]);
    for (const w of writers) exists.add(w);
    const rows: ScriptRow[] = writers.map((block) => {
      const others = [...exists].filter((b) => b !== block && rng.next() < 0.7);
      if (others.length && rng.next() < 0.4) others.push(others[randInt(rng, 0, others.length - 1)]); // a repeated block
      const view = [...others, block];
      for (let i = view.length - 1; i > 0; i--) {
        const j = randInt(rng, 0, i);
        [view[i], view[j]] = [view[j], view[i]];
      }
      const n = rng.next() < 0.15 ? randInt(rng, maxLen / 2, maxLen) : rng.next() < 0.5 ? 1 : randInt(rng, 2, 40);
      return { block, view, tokens: Array.from({ length: n }, () => randInt(rng, 0, vocab - 1)) };
    });
    passes.push({ rows });
  }
  return { passes };
}

/**
 * Random passes over gapped views: blocks grow, each row reads a random subset in a random order with random
 * gaps (none, small, or hundreds of positions) and its own block among them, about half of the others read in
 * full (those past its queries among them). `gaps: false`: the same views without `at` or `full`. The rows of
 * each pass, built once so that two engines can replay them.
 */
export function randomGappedPasses(rng: Rng, vocab: number, blocks: number, gaps: boolean) {
  const passes: { block: number; view: number[]; at?: number[]; full?: boolean[]; tokens: number[] }[][] = [];
  const len = new Array(blocks).fill(0);
  for (let p = 0; p < randInt(rng, 3, 7); p++) {
    const writers = [...Array(blocks).keys()].filter(() => rng.next() < 0.5);
    if (writers.length === 0) writers.push(randInt(rng, 0, blocks - 1));
    const next = [...len];
    const rows = writers.map((block) => {
      const n = rng.next() < 0.5 ? 1 : randInt(rng, 2, 60);
      next[block] += n;
      return { block, n };
    });
    passes.push(rows.map(({ block, n }) => {
      const view = [...Array(blocks).keys()].filter((b) => b === block || (len[b] > 0 && rng.next() < 0.7));
      for (let i = view.length - 1; i > 0; i--) {
        const j = randInt(rng, 0, i);
        [view[i], view[j]] = [view[j], view[i]];
      }
      const at: number[] = [];
      let end = 0;
      for (const b of view) {
        const r = rng.next(), gap = r < 0.3 ? 0 : r < 0.8 ? randInt(rng, 1, 20) : randInt(rng, 100, 700);
        at.push(end + gap);
        end += gap + next[b];
      }
      const full = view.map((b) => b !== block && rng.next() < 0.5);
      const tokens = Array.from({ length: n }, () => randInt(rng, 0, vocab - 1));
      return { block, view, ...(gaps ? { at, full } : {}), tokens };
    }));
    for (const [b, l] of next.entries()) len[b] = l;
  }
  return passes;
}

/** deno.json's tasks (`file`: a deno.json, the repository's by default), each as its command line. */
export function taskCommands(file = new URL("../deno.json", import.meta.url).pathname): Record<string, string> {
  const tasks = JSON.parse(readFileSync(file, "utf8")).tasks as Record<string, string | { command: string }>;
  return Object.fromEntries(Object.entries(tasks).map(([name, t]) => [name, typeof t === "string" ? t : t.command]));
}

/** A task's command as `deno run FLAGS FILE`: its flags and its file, or undefined for another kind of command. */
function plainRun(command: string): { flags: string[]; file: string } | undefined {
  const m = /^deno run ((?:--?[\w-]+(?:=\S+)? )+)(\S+\.ts)$/.exec(command);
  return m ? { flags: m[1].trim().split(" "), file: m[2] } : undefined;
}

async function runDeno(
  flags: readonly string[],
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, file, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * Runs a deno.json task's `deno run` command with exactly its permissions (not -A: a permission a command lacks
 * fails here as it would for a user), without the tasks it depends on: its exit code and output.
 */
export function runTask(
  name: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = taskCommands()[name];
  const run = plainRun(command ?? "");
  if (!run) throw new Error(`task ${name}: not a plain "deno run FLAGS FILE" command: ${command}`);
  return runDeno(run.flags, run.file, args);
}

/**
 * A command line built as a test's base flags plus its own: the last value of a flag given twice, the others
 * kept in order (the commands themselves refuse a flag given twice). A flag's value is the next word unless that
 * is a flag too.
 */
export function lastFlagWins(args: readonly string[]): string[] {
  const items: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    const value = args[i].startsWith("--") && i + 1 < args.length && !args[i + 1].startsWith("--");
    items.push(value ? [args[i], args[++i]] : [args[i]]);
  }
  const last = new Map(items.map((it, i) => [it[0].startsWith("--") ? it[0] : `#${i}`, i]));
  return items.filter((it, i) => !it[0].startsWith("--") || last.get(it[0]) === i).flat();
}

/**
 * Runs one of the project's command-line files (`cli/bench.ts`, …) with the permissions of the deno.json task that
 * runs it, as a user gets them: under -A Deno looks at paths that it refuses to under a task's flags ("", /proc,
 * /sys, most of /dev), so a stack trace there went unseen. A file no task runs gets -A. Its exit code and output.
 */
export function runCli(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = Object.values(taskCommands()).map(plainRun).find((r) => r?.file === file.replace(/^\.\//, ""));
  return runDeno(run?.flags ?? ["-A"], file, args, env);
}

/**
 * The project's shared evaluation sets (never committed): HOGWILD_DATA_DIR, else the nearest shared/data
 * beside the repository or beside one of the folders above it (../shared/data for a checkout next to it).
 */
export const DATA_DIR = Deno.env.get("HOGWILD_DATA_DIR") ?? findSharedData();

/** A tokenizer.json's added special token, as the hub's files write one. */
export function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * What a test needs of the machine (the code sandbox: bubblewrap and python3), opened; where it cannot be (an
 * InputError saying why), undefined and one line on stderr, so the tests that need it are skipped, except
 * under CI (CI set), where .ci/run installs it and its absence is a failure, never a skipped test counted green.
 */
export async function openOrSkip<T>(what: string, open: () => Promise<T>): Promise<T | undefined> {
  try {
    return await open();
  } catch (e) {
    if (!(e instanceof InputError) || Deno.env.get("CI")) throw e;
    console.error(`${what}: skipped, the machine cannot run it (${e.message})`);
    return undefined;
  }
}

/** A test that reads the shared data sets: skipped, with one line saying how to get them, where they are not. */
export function dataTest(name: string, fn: () => Promise<void> | void): void {
  const here = existsSync(DATA_DIR);
  if (!here && !warned) {
    warned = true;
    console.error(
      `tests: the shared evaluation sets are not at ${DATA_DIR}, so the tests that read them are skipped; ` +
        "set HOGWILD_DATA_DIR to a copy of them: one folder per task with the files its dataDir names in " +
        "tasks/registry.ts (`deno task tasks list` gives each set's source)",
    );
  }
  Deno.test({ name, ignore: !here, fn });
}
let warned = false;

function findSharedData(): string {
  let dir = fileURLToPath(new URL("../..", import.meta.url));
  for (;;) {
    const candidate = join(dir, "shared", "data");
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return fileURLToPath(new URL("../../shared/data", import.meta.url));
    dir = up;
  }
}

/**
 * A trace that boxes a tentative answer, revises it and ends (Qwen3's end of sequence): 37 tokens, its first
 * step (10 tokens) holding 3, its last box 7. Read at its first box (`stop=box`) it answers 3; run to its end
 * and read whole (`stop=end`, the DeepConf and LeaP papers' code), 7.
 */
export const REVISED = "So the answer is \\boxed{3}.\n\nWait, let me check that again. 3+4 is 7, not 3.\n\n" +
  "So \\boxed{7}.\n\n<|im_end|>";

/**
 * A model whose next tokens the test dictates, per writer: a row's writer is its block's label up to the
 * first "." ("Alice.3" is Alice's); each writer's script is a text, tokenized. It checks and commits every
 * plan as the engine does, and keeps the rows of every pass.
 */
export class ScriptedModel implements StepModel {
  readonly passes: Row[][] = [];
  readonly #queues = new Map<string, number[]>();
  constructor(tok: TextTokenizer, scripts: Record<string, string>) {
    for (const [who, text] of Object.entries(scripts)) this.#queues.set(who, tok.encode(text));
  }
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    this.passes.push(rows.map((r) => ({ ...r, view: [...r.view] })));
    return rows.map((r) => {
      if (!r.sampler) return -1;
      const who = r.block.label.split(".")[0];
      const q = this.#queues.get(who);
      if (!q || q.length === 0) throw new Error(`the script of ${who} ran out`);
      return q.shift()!;
    });
  }
}

/**
 * A model whose next token depends only on the row and on its own sampler, so a run writes the same text
 * whatever runs share its passes, and a text of its own per worker and per run: each row takes one draw
 * from its sampler, as the engine does (a worker's sampler is seeded by its run's seed and its index), and
 * the draw picks the token. A step ends every `every` tokens, on one of several step-ending tokens (so that
 * steps of one token still differ); the finisher closes the box; asked for log-probabilities, each token is as
 * sure as the next. It keeps the peak of pages in use in
 * `peak`, if given, and of the positions a pass reaches (what the engine holds against max_position_embeddings).
 */
export class RowModel implements StepModel {
  readonly #stepEnds: number[];
  readonly #close: number[];
  constructor(tok: TextTokenizer, readonly every: number, readonly peak?: { pages: number; positions?: number }) {
    this.#stepEnds = [".\n\n", "!\n\n", "?\n\n"].map((s) => tok.encode(s)).map((ids) => {
      if (ids.length !== 1) throw new Error("RowModel: a step end that is not one token");
      return ids[0];
    });
    this.#close = tok.encode("4}");
  }
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    const { positions } = encodePlan(cache, rows);
    commitPlan(rows);
    if (this.peak) {
      this.peak.pages = Math.max(this.peak.pages, cache.native.pages - cache.freePages);
      this.peak.positions = Math.max(this.peak.positions ?? 0, positions);
    }
    const spec = new Float32Array(SPEC_FLOATS), U = SAMPLE_FIELDS.indexOf("u");
    return rows.map((r) => {
      if (!r.sampler) return -1;
      r.sampler.draw(spec, 0, 0);
      const u = Math.min(spec[U], 0.999); // a draw in [0, 1), as a float32 may round up to 1
      if (r.block.label === "finisher") return this.#close[Math.min(r.block.length, this.#close.length) - 1];
      const n = r.block.length + r.block.label.length;
      return n % this.every === 0
        ? this.#stepEnds[Math.floor(u * this.#stepEnds.length)]
        : 1000 + Math.floor(u * 50000);
    });
  }
  /** rows that ask for log-probabilities (confidence-weighted votes): each writer's tokens equally sure */
  forwardSampleLogprobs(cache: KVCache, rows: readonly Row[]) {
    const ids = this.forwardSample(cache, rows);
    const logprobs = rows.map((r, i) =>
      r.logprobs
        ? {
          logprob: -1,
          ids: Int32Array.from({ length: r.logprobs }, (_, t) => ids[i] + t),
          logprobs: new Float32Array(r.logprobs).fill(-1),
        }
        : undefined
    );
    return { ids, logprobs };
  }
}

/**
 * A model whose every sampled token is a function of what its row sees (the id and position of every key its last
 * token reads, causal or in full) and of its sampler's draw: any change in what a row or a finisher reads shows in
 * the text, the steps and the answers. Words, step ends, boxes (a digit, then the close) and, at `eosRate`, `eos`;
 * the finisher (greedy) writes a digit and closes its box. `log` keeps, per pass, its rows and what each sampled
 * row's last token saw (with `keepLog`).
 */
export class SeeingModel implements StepModel {
  readonly ids = new Map<Block, number[]>();
  readonly log: { rows: Row[]; seen: ([number, number][] | undefined)[]; ids: number[] }[] = [];
  readonly #words: number[];
  readonly #box: number[];
  readonly #step: number;
  readonly #close: number;
  readonly #digits: number[];
  constructor(
    tok: TextTokenizer,
    readonly o: { stepRate?: number; boxRate?: number; eosRate?: number; eos?: number; keepLog?: boolean } = {},
  ) {
    this.#words = [" alpha", " beta", " gamma", " delta", " the", " sum", " is", " so", " we", " get"]
      .map((w) => tok.encode(w)[0]);
    this.#box = tok.encode("\\boxed{");
    this.#step = tok.encode(".\n\n")[0];
    this.#close = tok.encode("}")[0];
    this.#digits = "123456789".split("").map((d) => tok.encode(d)[0]);
  }

  /** What the last new token of row `r` sees: [position, id] of every key its attention reads. */
  visible(r: Row): [number, number][] {
    const out: [number, number][] = [], own = r.view.indexOf(r.block);
    const starts: number[] = [];
    r.view.forEach((_, k) => starts.push(r.at ? r.at[k] : k === 0 ? 0 : starts[k - 1] + this.#length(r.view[k - 1])));
    const query = starts[own] + this.#length(r.block) - 1;
    r.view.forEach((b, k) => {
      (this.ids.get(b) ?? []).forEach((id, j) => {
        const pos = starts[k] + j;
        if (b === r.block || r.full?.[k] || pos <= query) out.push([pos, id]);
      });
    });
    return out;
  }

  #length(b: Block): number {
    return this.ids.get(b)?.length ?? 0;
  }

  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    // every row writes first (the engine's rule), then each reads
    for (const r of rows) {
      this.ids.set(r.block, [...(this.ids.get(r.block) ?? []).slice(0, r.block.length), ...Array.from(r.tokens)]);
    }
    commitPlan(rows);
    const spec = new Float32Array(SPEC_FLOATS), U = SAMPLE_FIELDS.indexOf("u");
    const seenAll: ([number, number][] | undefined)[] = [];
    const out = rows.map((r) => {
      if (!r.sampler) return (seenAll.push(undefined), -1);
      r.sampler.draw(spec, 0, 0);
      const u = Math.min(spec[U], 0.999);
      const seen = this.visible(r);
      seenAll.push(seen);
      let h = 0x811c9dc5;
      for (const [p, id] of seen) h = Math.imul(Math.imul(h ^ p, 0x01000193) ^ id, 0x01000193);
      h >>>= 0;
      const own = this.ids.get(r.block) ?? [], B = this.#box, last = own[own.length - 1];
      // inside a box: its next token, a digit, then its close
      for (let k = 1; k < B.length; k++) {
        if (own.length >= k && own.slice(-k).every((t, i) => t === B[i])) return B[k];
      }
      if (last === B[B.length - 1]) return this.#digits[h % 9];
      if (this.#digits.includes(last) && own[own.length - 2] === B[B.length - 1]) return this.#close;
      if (r.block.label === "finisher") return this.#digits[h % 9];
      const x = ((h / 2 ** 32) + u) % 1, suppress = new Set(r.sampler.options.suppress);
      const step = this.o.stepRate ?? 0.12, box = this.o.boxRate ?? 0.03, eos = this.o.eosRate ?? 0;
      if (x < eos && this.o.eos !== undefined && !suppress.has(this.o.eos)) return this.o.eos;
      if (x < eos + box) return B[0];
      if (x < eos + box + step) return this.#step;
      const w = Math.floor(((x - eos - box - step) / (1 - eos - box - step)) * this.#words.length);
      return this.#words[w % this.#words.length];
    });
    if (this.o.keepLog) {
      this.log.push({ rows: rows.map((r) => ({ ...r, view: [...r.view] })), seen: seenAll, ids: out });
    }
    return out;
  }

  /** rows that ask for log-probabilities: a confidence from the sampled id alone */
  forwardSampleLogprobs(cache: KVCache, rows: readonly Row[]) {
    const ids = this.forwardSample(cache, rows);
    const logprobs = rows.map((r, i) => {
      if (!r.logprobs) return undefined;
      const v = -(1 + ((ids[i] * 2654435761) >>> 0) % 97 / 40);
      return {
        logprob: v,
        ids: Int32Array.from({ length: r.logprobs }, (_, t) => ids[i] + t),
        logprobs: new Float32Array(r.logprobs).fill(v),
      };
    });
    return { ids, logprobs };
  }
}

/**
 * A graded checkpoint for tests of what reads records (curves, comparisons, plots, solo times): right or wrong
 * at `budget` passes, every other field a plain default unless given.
 */
export function fakeCheckpoint(budget: number, right: boolean, over: Partial<RecordCheckpoint> = {}): RecordCheckpoint {
  return {
    budget,
    passes: budget,
    answer: right ? "4" : "5",
    source: "finisher",
    tokens: [budget],
    solo_ms: 1,
    shared_ms: 1,
    finisher_passes: 0,
    equal_strict: right,
    equal_lenient: right,
    score_strict: +right,
    score_lenient: +right,
    ...over,
  };
}

/** A bench invocation of `records` records with up to `runs_at_once` runs in a pass, every other field a plain default. */
export function fakeInvocation(records: number, runs_at_once: number): Invocation {
  return {
    started: "2026-12-05T00:00:00Z",
    seconds: 1,
    records,
    passes: 1,
    passes_per_s: 1,
    rows_per_pass: 1,
    problems_per_hour: 1,
    outside_passes: 0,
    cost_error: { median: 0, p90: 0 },
    runs_at_once,
  };
}

/** A record of those checkpoints (the last one's times are the record's), every other field a plain default. */
export function fakeRecord(
  head: Pick<BenchRecord, "method" | "problem_id"> & Partial<BenchRecord>,
  checkpoints: RecordCheckpoint[],
): BenchRecord {
  const last = checkpoints[checkpoints.length - 1];
  return {
    task: "t",
    seed: 1,
    golds: ["4"],
    grading: "single",
    steps: 1,
    solo_ms: last?.solo_ms ?? 0,
    shared_ms: last?.shared_ms ?? 0,
    grader: "g",
    ...head,
    checkpoints,
  };
}

/** A trace line (traces.jsonl) of seed 1 of problem "p" of task "t", by Alice and Bob under hogwild:2, but `over`. */
export function fakeTrace(over: Partial<TraceLine> = {}): TraceLine {
  return {
    task: "t",
    problem_id: "p",
    method: "hogwild:2",
    seed: 1,
    names: ["Alice", "Bob"],
    workers: [],
    steps: [],
    pass_ms: [1],
    ...over,
  };
}

/** The trace line a bench writes for a solver's run of `method` (as fakeTrace's problem). */
export function solverTrace(run: Solver, method: string): TraceLine {
  return fakeTrace({
    method,
    names: run.names(),
    workers: run.texts(),
    steps: run.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass, text: s.text })),
    pass_ms: run.passMs,
    ...(run.ended() ? { ended: run.ended()! } : {}),
  });
}

/** A grading pool of one process that takes a job and dies of an error outside any handler ("out of memory"). */
export function dyingGradePool(): GradePool {
  const module = `${Deno.makeTempDirSync({ prefix: "hogwild-grade-dies-" })}/dies.ts`;
  Deno.writeTextFileSync(
    module,
    "console.log('{\"ready\":true}');\n" +
      'for await (const _ of Deno.stdin.readable) setTimeout(() => { throw new Error("out of memory"); });\n',
  );
  return new GradePool({ workers: 1, timeoutMs: 20_000, worker: new URL(`file://${module}`).href });
}

/**
 * Where one data file was read from, and whether its content changed, for a resume and a merge: each path as given
 * (the same, another spelling of it, another folder's copy), with --data or --data-dir, with another --limit or not.
 */
export function dataPairs() {
  const paths: [string, Record<string, string>, Record<string, string>][] = [
    ["the same path", { data: "/d/g.jsonl" }, { data: "/d/g.jsonl" }],
    ["another spelling", { data: "/d/g.jsonl" }, { data: "g.jsonl" }],
    ["another spelling (a folder)", { dataDir: "/d" }, { dataDir: "./d/../d" }],
    ["another folder's copy", { data: "/node1/g.jsonl" }, { data: "/node2/g.jsonl" }],
    ["a file, then its folder", { data: "/d/gsm8k/g.jsonl" }, { dataDir: "/d" }],
  ];
  return paths.flatMap(([where, a, b]) =>
    [false, true].flatMap((changed) =>
      [false, true].map((limit) => ({
        name: `${where}, ${changed ? "changed" : "same"} content${limit ? ", another --limit" : ""}`,
        a: { spec: { data: "aaa" }, spec_full: { ...a, limit: 5, skipBad: false } },
        b: { spec: { data: changed ? "bbb" : "aaa" }, spec_full: { ...b, limit: limit ? 6 : 5, skipBad: false } },
        changed,
        limit,
      }))
    )
  );
}

/**
 * A folder's run.json from before run keys held the sampling used (its key: the sampling flags as given; beside it:
 * `sampling`, resolved with the generation_config), paired with today's key of a run on the same model, and whether
 * the two drew alike: greedy, or the same four settings, whatever flags said so.
 */
export function samplingPairs() {
  const greedy = { temperature: 0, topK: 20, topP: 0.95, minP: 0 }, sampled = { ...greedy, temperature: 0.6 };
  const common = (resolved: { temperature: number }) => ({
    methods: ["hogwild:2"],
    seeds: [0],
    budgets: [8, 16],
    "prompt collab": "aa",
    ...(resolved.temperature > 0 ? { generation: 2 } : {}),
  });
  const flags = (given?: Record<string, number>) => given ? { sampling: given } : {};
  const old = [[undefined, greedy], [{ temperature: 0 }, greedy], [undefined, sampled], [
    { temperature: 0.6 },
    sampled,
  ]];
  const today = [...old, [{ temperature: 0.7 }, { ...sampled, temperature: 0.7 }]];
  return old.flatMap(([givenA, a]) =>
    today.map(([givenB, b]) => {
      const used = b!.temperature > 0 ? b! : { temperature: 0 };
      return {
        name: `${JSON.stringify(givenA ?? "no flag")} drawing at ${a!.temperature} against ${
          JSON.stringify(givenB ?? "no flag")
        } at ${b!.temperature}`,
        run: { spec: { ...common(a!), ...flags(givenA) }, sampling: a },
        key: { ...common(b!), ...flags(givenB), sampling_used: used },
        sampling: b,
        same: a!.temperature === b!.temperature,
      };
    })
  );
}

/**
 * A run folder at `dir` of `n` records of hogwild:2 (problems p{from}, …, as fakeRecord's), each with a trace line
 * of about `kb` KB (traces.jsonl: n × kb KB) whose texts are their steps joined, and `runJson`'s fields in run.json
 * (its planned records unless given): a folder whose traces a reader must not hold at once (underHeap).
 */
export function bigRun(
  dir: string,
  o: { n: number; kb: number; from?: number; runJson?: Record<string, unknown> },
): void {
  Deno.mkdirSync(dir, { recursive: true });
  const ids = Array.from({ length: o.n }, (_, i) => `p${(o.from ?? 0) + i}`);
  const keys = ids.map((id) => ["t", id, "hogwild:2", 1].join("\t"));
  Deno.writeTextFileSync(join(dir, "run.json"), JSON.stringify({ spec: {}, planned: keys, ...o.runJson }));
  const records = ids.map((id) =>
    JSON.stringify(fakeRecord({ method: "hogwild:2", problem_id: id }, [fakeCheckpoint(1, true)]))
  );
  Deno.writeTextFileSync(join(dir, "records.jsonl"), records.join("\n") + "\n");
  // each text a quarter of the line: two writers, each text once in workers and once in its step
  const text = "the workers split the sum and check each other's parts; ".repeat(Math.ceil(o.kb * 1024 / 4 / 56));
  const f = Deno.openSync(join(dir, "traces.jsonl"), { write: true, create: true, truncate: true });
  try {
    for (const id of ids) {
      const texts = [`**Alice [1]:** ${id} ${text}`, `**Bob [1]:** ${id} ${text}`];
      const steps = texts.map((t, w) => ({ worker: w, step: 1, pass: 1, text: t }));
      const line = fakeTrace({ problem_id: id, workers: texts, steps });
      const bytes = new TextEncoder().encode(JSON.stringify(line) + "\n");
      for (let at = 0; at < bytes.length;) at += f.writeSync(bytes.subarray(at));
    }
  } finally {
    f.close();
  }
}

/**
 * A run folder at `dir` of task "t" as a finished run writes it: `problems` × hogwild:2 and sc:2 (with paths and
 * a vote) × `seeds` records, each checkpointed at `budgets` (8, 16, …), its run.json's spec and planned lists them.
 * Answers, golds and tokens recur as a run's do (a problem's answers at each budget and seed are few): a folder
 * whose records a reader must not hold as parsed (underHeap). Deterministic.
 */
export function manyRecords(dir: string, o: { problems: number; seeds: number; budgets: number }): void {
  Deno.mkdirSync(dir, { recursive: true });
  const methods = ["hogwild:2", "sc:2"], seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  const budgets = Array.from({ length: o.budgets }, (_, i) => 8 * (i + 1));
  const keys: string[] = [], lines: string[] = [];
  let draw = 1;
  const next = () => (draw = (draw * 48271) % 2147483647) / 2147483647;
  for (let p = 0; p < o.problems; p++) {
    const golds = ["A", "B", "C", "D"].map((v, i) => `${v} = ${(p * 7 + i * 3) % 50}`);
    const right = golds.join(", "), wrong = golds.map((g) => g.replace(/\d+$/, "?")).join(", ");
    for (const method of methods) {
      for (const seed of seeds) {
        keys.push(["t", `p${p}`, method, seed].join("\t"));
        const checkpoints = budgets.map((budget, i) => {
          const ok = next() < 0.2 + 0.7 * i / budgets.length, answer = ok ? right : wrong;
          const c = fakeCheckpoint(budget, ok, {
            answer,
            tokens: [budget, budget],
            solo_ms: Math.round(budget * 420 + next() * 1000) / 100,
            shared_ms: Math.round(budget * 1970 + next() * 10000) / 100,
            finisher_passes: 16,
          });
          if (method !== "sc:2") return c;
          const paths = [0, 1].map(() => next() < 0.5 ? right : wrong);
          return {
            ...c,
            vote: answer,
            vote_equal_strict: ok,
            vote_score_strict: +ok,
            paths,
            paths_equal_strict: paths.map((x) => x === right),
            paths_score_strict: paths.filter((x) => x === right).length / 2,
          };
        });
        lines.push(JSON.stringify(
          fakeRecord({ task: "t", problem_id: `p${p}`, method, seed, golds, grading: "parts" }, checkpoints),
        ));
      }
    }
  }
  Deno.writeTextFileSync(
    join(dir, "run.json"),
    JSON.stringify({ spec: { tasks: ["t"], methods, seeds, budgets }, planned: keys }),
  );
  Deno.writeTextFileSync(join(dir, "records.jsonl"), lines.join("\n") + "\n");
}

/**
 * Runs `code` (a module's text; it imports the project's files by absolute file URL, `root` below) in a Deno whose
 * heap holds at most `mb` MiB: its stdout, and by how many MiB its resident memory grew past what it was once the
 * imports were loaded (bytes outside the heap count there: a file's lines kept as Uint8Arrays). A heap passed is
 * an error with the end of its stderr ("out of memory"). Linux (/proc/self/status).
 */
export async function underHeap(mb: number, code: string): Promise<{ out: string; grew: number }> {
  const kib = (field: string) => `Number(/${field}:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))[1])`;
  const wrapped = `const __loaded = ${kib("VmRSS")};\n${code}\n` +
    `console.error(\`grew \${(${kib("VmHWM")} - __loaded) / 1024} MiB\`);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--v8-flags=--max-old-space-size=${mb}`, wrapped],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder(), stderr = text.decode(out.stderr);
  const grew = /grew ([\d.]+) MiB/.exec(stderr);
  if (out.code !== 0 || !grew) throw new Error(`exit ${out.code} under a ${mb} MiB heap: ${stderr.slice(-1500)}`);
  return { out: text.decode(out.stdout), grew: Number(grew[1]) };
}

/** The project's root as a file URL with its slash: what underHeap's code imports from. */
export const root = new URL("../", import.meta.url).href;
