/**
 * A run on disk (results/NAME/): run.json (what the run is), records.jsonl (append-only: one line per
 * problem × method × seed, written whole once graded) and traces.jsonl (what the workers wrote). A run that
 * was killed at any moment resumes: a half-written last line is cut off, records already there are not run
 * again, so every record is present exactly once. A changed spec is refused, naming what differs.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { check, InputError, oneLine } from "../../engine/errors.ts";
import {
  appendLines,
  cutFile,
  fileLines,
  fileRanges,
  type FileStamp,
  isTempOf,
  pathExists,
  pathInfo,
  removeStrayTemps,
  replaceFile,
  sameStamp,
  stamp,
} from "../../engine/files.ts";
import { COST_TERMS, isPackedPass, OLD_TERM_COUNTS, packedFields } from "./cost.ts";
import type { Checkpoint } from "../generation/solver.ts";
import type { CodeVerdict } from "../../tasks/code/problem.ts";
import type { Grading } from "../../tasks/problem.ts";
import { CODE_GRADER_VERSION } from "../../tasks/code/grade.ts";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";
import { GENERATED_DEFAULTS } from "../../tasks/registry.ts";
import { comparedKeys, keyAbsence, keyField, staleVersions, versionChanges } from "./run_key.ts";

/** A run's checkpoint with its grade. */
export interface RecordCheckpoint extends Checkpoint {
  equal_strict: boolean;
  equal_lenient: boolean;
  score_strict: number;
  score_lenient: number;
  timed_out?: boolean;
  /** the grader failed on this answer (it counts as wrong): why */
  grader_error?: string;
  /** self-consistency: the majority vote's verdict */
  vote_equal_strict?: boolean;
  /** and its score, on the scale of score_strict (a list task's fraction of parts right) */
  vote_score_strict?: number;
  /** independent paths: each path's own answer's verdict, and the mean of their scores (the papers' Pass@1) */
  paths_equal_strict?: boolean[];
  paths_score_strict?: number;
  /** paths whose grading timed out or failed (each counted wrong); absent when none */
  paths_grader_errors?: number;
  /** a code problem: how the program fared on its tests (tasks/code/problem.ts) */
  verdict?: CodeVerdict;
  /** a code problem: tests not passed (the first failure and every test after it) */
  tests_failed?: number;
  /** a code problem: why it failed, briefly */
  verdict_detail?: string;
}

export interface BenchRecord {
  task: string;
  problem_id: string;
  method: string;
  seed: number;
  golds: string[];
  grading: Grading;
  /** a code problem: its tests (public and private) */
  tests?: number;
  checkpoints: RecordCheckpoint[];
  steps: number;
  /** the last checkpoint's times: alone (predicted) and shared (measured) */
  solo_ms: number;
  shared_ms: number;
  grader: string;
}

export interface TraceLine {
  task: string;
  problem_id: string;
  method: string;
  seed: number;
  /** the problem's text (traces written before this field lack it) */
  problem?: string;
  /** who wrote each text: the workers' names (or another family's writers: an outline, its points, …) */
  names?: string[];
  /** each writer's text */
  workers: string[];
  /** each writer's text is its steps in step order, then the step it was still writing (docs/run-files.md) */
  steps: { worker: number; step: number; pass: number; text: string; inserted?: true }[];
  /** wall time of each pass the run took part in (ms; shared passes counted whole) */
  pass_ms: number[];
  /** per writer, the pass in which it stopped before the run's end, else null (methods whose views are replayed) */
  ended?: (number | null)[];
  /** what the method decided, for a reader to check (a filter's inputs: confidences, a threshold, its stops) */
  audit?: Record<string, unknown>;
}

export function recordKey(r: { task: string; problem_id: string; method: string; seed: number }): string {
  return [r.task, r.problem_id, r.method, r.seed].join("\t");
}

/** Whether a file written by appends ends inside a line (its last byte not a newline). */
function tornLastLine(file: string): boolean {
  const size = statSync(file).size;
  if (size === 0) return false;
  const fd = openSync(file, "r"), last = new Uint8Array(1);
  try {
    readSync(fd, last, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return last[0] !== 0x0a;
}

/**
 * Whether a file written by appends (absent: none) holds a line that is not empty, ended by its newline (a record,
 * as readLines counts them): read up to its first such line, nothing parsed.
 */
function holdsLine(file: string): boolean {
  if (!pathExists(file)) return false;
  for (const bytes of fileLines(file)) if (bytes.length) return true;
  return false;
}

/**
 * Reads a JSONL file written by appends, a line at a time (a file past 512 MiB too). A last line without its
 * newline (a kill, or a write in progress) is cut off the file when `repair`, and only left unread otherwise
 * (readers that must not write: the viewer). `whole`: a file written by hand, not by appends (human scores): its
 * last line counts without a newline.
 */
export function readLines<T>(file: string, repair = true, whole = false, each?: (line: T) => T): T[] {
  if (!pathExists(file)) return [];
  const { lines, end } = readLinesFrom<T>(file, 0, 0, whole, each);
  if (repair && end < statSync(file).size) truncateSync(file, end);
  return lines;
}

/**
 * The whole lines of `file` from byte `from` (a line's first; `before`: the records above it, for the line
 * numbers errors name), and `end`: the byte after the last newline, where the next read starts. `each`: what is
 * kept of a line, made from it as it is parsed (the line as parsed is not held past it).
 */
function readLinesFrom<T>(
  file: string,
  from: number,
  before: number,
  unterminated = false,
  each: (line: T) => T = (line) => line,
): { lines: T[]; end: number } {
  const decoder = new TextDecoder(), lines: T[] = [];
  let end = from;
  for (const bytes of fileLines(file, { from, unterminated })) {
    end += bytes.length + 1;
    if (bytes.length) lines.push(each(parseLine<T>(file, before + lines.length, decoder.decode(bytes))));
  }
  return { lines, end };
}

/** Where a line of a file lies: its bytes [start, end), its newline at `end`. */
export interface Span {
  start: number;
  end: number;
}

/**
 * Each whole line of `file` parsed, one at a time, with where it lies (from byte `from`, a line's first; `before`:
 * the lines above it, for the line numbers errors name): a reader that keeps a little of each line (its key, its
 * span to read it again by lineAt) never holds the file's worth of them (a run's traces pass what a heap holds).
 */
export function* eachLine<T>(file: string, from = 0, before = 0): Generator<{ line: T; span: Span }> {
  const decoder = new TextDecoder();
  let i = before, at = from;
  for (const bytes of fileLines(file, { from })) {
    const span = { start: at, end: at + bytes.length };
    at = span.end + 1;
    if (bytes.length) yield { line: parseLine<T>(file, i++, decoder.decode(bytes)), span };
  }
}

/** The line of `file` at `span` (eachLine's) parsed again; `key`: the record key it was read with, checked. */
export function lineAt<T extends { task: string; problem_id: string; method: string; seed: number }>(
  file: string,
  span: Span,
  key: string,
): T {
  const [bytes] = fileRanges(file, [[span.start, span.end]]);
  let line: T | undefined;
  try {
    line = parseLine<T>(file, 0, new TextDecoder().decode(bytes));
  } catch {
    // below
  }
  check(
    line && recordKey(line) === key,
    `${file}: changed while it was read (its line of ${key.replaceAll("\t", " / ")} moved); read it again`,
  );
  return line;
}

function parseLine<T>(file: string, i: number, l: string): T {
  let v: unknown;
  try {
    v = JSON.parse(l);
  } catch {
    throw new InputError(`${file}:${i + 1}: not a JSON record (the file was changed by hand?)`);
  }
  const r = v as Record<string, unknown> | null;
  check(
    r !== null && typeof r === "object" && !Array.isArray(r) && typeof r.task === "string" &&
      typeof r.problem_id === "string" && typeof r.method === "string" && Number.isInteger(r.seed),
    `${file}:${i + 1}: not a record of this project (task, problem_id, method, seed; the file was changed by hand?)`,
  );
  return v as T;
}

/**
 * A trace line's key fields at its start, as the bench writes them (JSON.stringify of a TraceLine: task,
 * problem_id, method, seed first): each string's JSON text, and the seed's digits (an integer's, as JSON writes it).
 */
const KEY_HEAD =
  /^\{"task":("(?:[^"\\]|\\.)*"),"problem_id":("(?:[^"\\]|\\.)*"),"method":("(?:[^"\\]|\\.)*"),"seed":(-?(?:0|[1-9]\d*))[,}]/;
/** How much of a line's start is decoded to find its key: far more than any key's fields take. */
const KEY_HEAD_BYTES = 4096;
/** The key fields' names. */
const KEY_NAMES = new Set(["task", "problem_id", "method", "seed"]);
/** The longest spelling of a key field's name in JSON (each character a \uXXXX escape): a longer name is another. */
const KEY_NAME_BYTES = 2 + 6 * 10;

/** Whether the quote at `q` is escaped: an odd number of backslashes before it (from `from` on). */
function escapedAt(bytes: Uint8Array, q: number, from: number): boolean {
  let n = 0;
  while (q - 1 - n >= from && bytes[q - 1 - n] === 0x5c) n++;
  return n % 2 === 1;
}

/**
 * Whether `bytes` hold, from byte `from` on, an object member named as a key field, however it is spelt (escapes,
 * white space around it): a key field written twice (JSON.parse keeps the last), or another line's opening (a torn
 * line an append ran on from). A member's name is the one place an unescaped quote is followed, past white space, by
 * a colon; inside a string a quote is escaped. A scan for colons, no parse of the line: only a short name is parsed.
 */
function keyFieldAgain(bytes: Uint8Array, from: number, decoder: TextDecoder): boolean {
  const space = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
  for (let i = bytes.indexOf(0x3a, from); i >= 0; i = bytes.indexOf(0x3a, i + 1)) {
    let q = i - 1;
    while (q >= from && space(bytes[q])) q--;
    if (q < from || bytes[q] !== 0x22 || escapedAt(bytes, q, from)) continue;
    // the name's opening quote, within the longest spelling of a key field's name
    let o = q - 1;
    while (o >= from && q - o < KEY_NAME_BYTES && !(bytes[o] === 0x22 && !escapedAt(bytes, o, from))) o--;
    if (o < from || bytes[o] !== 0x22) continue;
    try {
      if (KEY_NAMES.has(JSON.parse(decoder.decode(bytes.subarray(o, q + 1))))) return true;
    } catch {
      return true; // a name JSON cannot read: the whole line's parse says so
    }
  }
  return false;
}

/**
 * The record key of a trace line (`bytes`, line `i` of `file` counted from 0), read from its first fields where they
 * are as the bench writes them (KEY_HEAD), with no parse of the rest (a trace is MBs of text); else, or where the line
 * does not end as an object or names a key field again (keyFieldAgain), parsed whole, with parseLine's errors. A line
 * that is not JSON past its key is not found here: its readers' parse says it, by its line (the viewer, the judge).
 */
function lineKey(file: string, i: number, bytes: Uint8Array, decoder: TextDecoder): string {
  const m = KEY_HEAD.exec(decoder.decode(bytes.subarray(0, KEY_HEAD_BYTES)));
  // its length in bytes is its text's encoded (bytes not UTF-8 in it, decoded as U+FFFD: parsed whole)
  const end = m && !m[0].includes("\ufffd") && new TextEncoder().encode(m[0]).length;
  if (m && end && bytes[bytes.length - 1] === 0x7d && !keyFieldAgain(bytes, end - 1, decoder)) {
    try {
      // each field's text a JSON string (its escapes read as JSON reads them); a raw control character refused so
      const [task, problem_id, method] = [m[1], m[2], m[3]].map((t) => JSON.parse(t) as string);
      return recordKey({ task, problem_id, method, seed: Number(m[4]) });
    } catch {
      // below: parsed whole, refused by its line
    }
  }
  return recordKey(parseLine<TraceLine>(file, i, decoder.decode(bytes)));
}

/**
 * records.jsonl's lines, each with checkpoints as the curves, plots and viewer read them; one copy of each text
 * and of each list of plain values among them (sharedValues).
 */
export function readRecordLines(file: string, repair = true): BenchRecord[] {
  const share = sharedValues();
  const records = readLines<BenchRecord>(file, repair, false, share);
  checkRecordLines(file, records, new Set(), 0);
  return records;
}

/**
 * A line's reader that keeps one copy of each text and each list of plain values (numbers, texts, booleans, null)
 * that its lines repeat, in place of the copies JSON.parse makes: a record's task, method, grader and golds, its
 * checkpoints' answers, sources, votes, tokens and paths' answers and verdicts recur across checkpoints, seeds and
 * methods, and held once each a folder's records take a fraction of the heap (records.jsonl of 2.75 GB took more
 * than Deno's 4 GiB read as parsed: plot, compare and the bench's report died). Objects stay each line's own; the
 * lists shared are frozen (a reader that changed one would change every record holding it: it throws instead).
 * Values are as parsed (any shape: the checks read them after).
 */
export function sharedValues(): <T>(line: T) => T {
  const texts = new Map<string, string>(), lists = new Map<string, unknown[]>();
  const plain = (x: unknown) => x === null || (typeof x !== "object" && !Object.is(x, -0));
  const share = (v: unknown): unknown => {
    if (typeof v === "string") {
      const s = texts.get(v);
      if (s !== undefined) return s;
      texts.set(v, v);
      return v;
    }
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = share(v[i]);
      if (!v.every(plain)) return v;
      const key = JSON.stringify(v), list = lists.get(key);
      if (list) return list;
      lists.set(key, Object.freeze(v) as unknown[]);
      return v;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = share(o[k]);
    return o;
  };
  return <T>(line: T) => share(line) as T;
}

/**
 * Records as the curves read them, each once: `seen` holds the keys of the lines above them (`before` of them),
 * and gets theirs.
 */
export function checkRecordLines(file: string, records: readonly BenchRecord[], seen: Set<string>, before: number) {
  records.forEach((r, j) => {
    const k = recordKey(r), i = before + j;
    check(!seen.has(k), `${file}:${i + 1}: the record ${k.replaceAll("\t", " / ")} appears twice`);
    seen.add(k);
    // answers are texts: the votes (maj@k) and the viewer read them as such
    const text = (x: unknown) => x === null || typeof x === "string";
    // a score is a share of the answer right, a time or a count is never negative, budgets grow: a record
    // edited out of them would plot (compare printed an accuracy of 700%)
    const share = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;
    const ok = Array.isArray(r.checkpoints) && r.checkpoints.length > 0 && // a record is graded at a budget at least
      r.checkpoints.every((c, j) =>
        c !== null && typeof c === "object" && Number.isInteger(c.budget) && c.budget > 0 &&
        (j === 0 || c.budget > r.checkpoints[j - 1]?.budget) &&
        [c.passes, c.solo_ms, c.shared_ms].every((x) => Number.isFinite(x) && x >= 0) &&
        [c.score_strict, c.score_lenient].every(share) &&
        [c.vote_score_strict, c.paths_score_strict].every((x) => x === undefined || share(x)) &&
        text(c.answer) && (c.vote === undefined || text(c.vote)) &&
        (c.writer === undefined || c.writer === null || Number.isInteger(c.writer)) &&
        (c.paths === undefined || (Array.isArray(c.paths) && c.paths.every(text)))
      );
    check(ok, `${file}:${i + 1}: a record whose "checkpoints" are not this project's (the file was changed by hand?)`);
    // its grader's version: what plot and compare match across folders, and what rescore says it regraded
    check(
      typeof r.grader === "string" && r.grader !== "",
      `${file}:${i + 1}: a record without its "grader" (the version that graded it; the file was changed by hand?)`,
    );
  });
}

/**
 * Trace lines as the viewer reads them (`before`: the lines above them, for the line numbers errors name): each
 * writer's text and name, its finished steps (a writer's index, step, pass and text) and its passes' times.
 * What a method adds (`audit`) is its own to check.
 */
export function checkTraceLines(file: string, traces: readonly TraceLine[], before: number): void {
  traces.forEach((t, j) => {
    const strings = (x: unknown) => Array.isArray(x) && x.every((v) => typeof v === "string");
    const writers = Array.isArray(t.workers) ? t.workers.length : 0;
    const wrong = !strings(t.workers)
      ? `"workers" is not a list of texts`
      : t.names !== undefined && !(strings(t.names) && t.names.length === writers)
      ? `"names" is not a name for each of its ${writers} writers`
      : t.problem !== undefined && typeof t.problem !== "string"
      ? `"problem" is not a text`
      : !(Array.isArray(t.pass_ms) && t.pass_ms.every((ms) => Number.isFinite(ms)))
      ? `"pass_ms" is not a list of times`
      : t.ended !== undefined &&
          !(Array.isArray(t.ended) && t.ended.length === writers &&
            t.ended.every((p) => p === null || Number.isInteger(p)))
      ? `"ended" is not a pass or null for each of its ${writers} writers`
      : !Array.isArray(t.steps)
      ? `"steps" is not a list`
      : undefined;
    const step = wrong
      ? -1
      : t.steps.findIndex((s) =>
        !(s !== null && typeof s === "object" && Number.isInteger(s.worker) && s.worker >= 0 && s.worker < writers &&
          Number.isInteger(s.step) && Number.isInteger(s.pass) && typeof s.text === "string")
      );
    check(
      !wrong && step < 0,
      `${file}:${before + j + 1}: a trace whose ${
        wrong ?? `step ${step + 1} is not a step of one of its ${writers} writers (worker, step, pass, text)`
      } (the file was changed by hand?)`,
    );
  });
}

/**
 * The lines of traces.jsonl `file` (absent: none) that are the traces of records `done`, as bytes, each with its
 * newline: the traces of records that never got written (a kill between the two appends) are dropped, as is a torn
 * last line; the lines kept are kept as they are (a trace twice: its last, in its first's place). `whole`: the file
 * is those lines already. `cut`: where they are the file's first lines, as they lie (a kill's torn line or orphan
 * traces at its end, the usual case), the byte they end at: the file cut there (cutFile, with `same`) is them,
 * with no copy of gigabytes. The one filter of a resume and of rescore.
 */
export function recordsTraces(
  file: string,
  done: ReadonlySet<string>,
): { lines: Iterable<Uint8Array>; whole: boolean; cut?: number; same?: FileStamp } {
  if (!pathExists(file)) return { lines: [], whole: true };
  const kept = new Map<string, Span>(), same = stamp(Deno.statSync(file));
  let lines = 0, next = 0;
  // the kept lines so far are the file's first, as they lie (`prefix`: the byte after them) until a line is dropped,
  // a blank one passed, or a trace comes twice; a kept one after that makes them another file
  let prefix = 0, broken = false, prefixed = true;
  const decoder = new TextDecoder();
  let at = 0;
  // each line's key alone (lineKey: its first fields, the MBs of text after them unparsed)
  for (const bytes of fileLines(file)) {
    const span = { start: at, end: at + bytes.length };
    at = span.end + 1;
    if (!bytes.length) continue;
    const key = lineKey(file, lines, bytes, decoder);
    lines++;
    if (span.start !== next) broken = true; // blank lines before it
    next = span.end + 1;
    if (!done.has(key)) broken = true;
    else if (broken || kept.has(key)) prefixed = false, broken = true;
    else prefix = next;
    if (done.has(key)) kept.set(key, span);
  }
  // the lines are read again by their offsets: the file must be the one they were found in
  check(
    sameStamp(stamp(Deno.statSync(file)), same),
    `${file}: changed while it was read (another command writing it?); run the same command again`,
  );
  const whole = kept.size === lines && next === same.size;
  return {
    // read again one line at a time as they are written: the kept lines never held at once (5 GB of traces)
    lines: fileRanges(file, [...kept.values()].map((s) => [s.start, s.end + 1]), same),
    whole,
    ...!whole && prefixed ? { cut: prefix, same } : {},
  };
}

/**
 * An output folder's path is usable: a folder, or creatable as one (its nearest existing parent a writable
 * folder). Checked before any work, so that a bad --out costs nothing; the folder is not made here: a command
 * refused later leaves nothing behind. Writable is tried (a file made and removed): access() calls a folder on a
 * read-only mount writable.
 */
export function checkOutFolder(dir: string, flag = "--out"): void {
  check(dir.trim() !== "", `${flag}: expected a folder's path, got "${dir}"`);
  let here = resolve(dir);
  while (!pathExists(here, flag) && dirname(here) !== here) here = dirname(here);
  check(
    pathInfo(here, flag)?.isDirectory,
    `${flag} ${dir}: ${here === resolve(dir) ? "exists and" : here} is not a folder`,
  );
  const probe = join(here, `.hogwild-write-probe-${Deno.pid}-${crypto.randomUUID()}`);
  try {
    Deno.openSync(probe, { write: true, createNew: true }).close();
    Deno.removeSync(probe);
  } catch (e) {
    const why = oneLine((e as Error).message).replace(/ \(os error \d+\).*$/, "");
    throw new InputError(
      `${flag} ${dir}: ${
        here === resolve(dir) ? `not writable (${why})` : `cannot create the folder (${here} is not writable: ${why})`
      }`,
    );
  }
}

/**
 * A run folder's path is usable: an output folder (checkOutFolder) whose run files, where they exist, are files,
 * and that no other bench holds.
 */
export function checkRunFolder(dir: string, flag = "--out"): void {
  checkOutFolder(dir, flag);
  if (!pathExists(dir)) return;
  checkNotLocked(dir);
  for (const f of ["run.json", "records.jsonl", "traces.jsonl"]) {
    const p = join(dir, f);
    check(pathInfo(p, flag)?.isFile !== false, `${flag} ${dir}: ${f} is not a file`);
  }
  // a run's files go into a folder of their own: a new one, an empty one, or a run folder to resume (one
  // killed as it started holds only its lock, or a run.json being written)
  check(
    pathExists(join(dir, "run.json")) || readdirSync(dir).every((f) => f === "run.lock" || isTempOf(f, "run.json")),
    `${flag} ${dir}: holds other files and no run.json; name a new or empty folder, or a run folder to resume`,
  );
}

/**
 * The run's model as the run's summary names it: the --model given, from run.json's spec_full (a local model
 * folder's path as given: the key leaves it out, holding the folder's content, run_key.ts flagsKey); a run.json
 * without spec_full, its key's; else the model's source. summary.md and the viewer read it here.
 */
export function runModel(run: { spec?: unknown; spec_full?: unknown; model?: unknown }): string | undefined {
  const named = (x: unknown, field: string) => {
    const v = x !== null && typeof x === "object" ? (x as Record<string, unknown>)[field] : undefined;
    return typeof v === "string" && v ? v : undefined;
  };
  return named(run.spec_full, "model") ?? named(run.spec, "model") ?? named(run.model, "source");
}

/** "3 of 6 planned records" for a folder that holds fewer records than its run.json plans (an unfinished run). */
export function unfinishedRecords(records: number, meta: Record<string, unknown>): string | undefined {
  const planned = Array.isArray(meta.planned) ? meta.planned.length : undefined;
  return planned !== undefined && records < planned ? `${records} of ${planned} planned records` : undefined;
}

/**
 * Names for run folders shown side by side (plot's legends, the viewer's run list): each folder's own name, and
 * where folders share it, the shortest end of its path that no other's path ends with (a/x/run, b/x/run, y/run).
 */
export function runNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => resolve(d).split(sep));
  const end = (p: string[], k: number) => p.slice(-k).join(sep);
  return parts.map((p, i) => {
    let k = 1;
    while (k < p.length && parts.some((q, j) => j !== i && end(q, k) === end(p, k))) k++;
    return end(p, k);
  });
}

/**
 * The run folders a command reads, each once: one named twice (a trailing slash, a link to it, another spelling)
 * would count its runs twice (plot, judge) or serve them as two runs (view). A folder not there is left to the
 * command's own check.
 */
export function checkFoldersOnce(
  dirs: readonly string[],
  command: string,
  /** what the refusal tells the user to do instead */
  advice = "name each run folder once",
): void {
  const seen = new Map<string, string>();
  for (const d of dirs) {
    let real = resolve(d);
    try {
      real = realpathSync(d);
    } catch {
      // not there: said by the command's own reading
    }
    const first = seen.get(real);
    check(first === undefined, `${command}: ${d} is named twice (it is ${first}); ${advice}`);
    seen.set(real, d);
  }
}

/** The file a merge or rescore makes first in OUT.partial: the folder is one of theirs (NewRunFolder). */
const PARTIAL_MARK = "partial.lock";

/** The real path of `p`, or undefined where it is not there (or not to be looked at). */
function realOrNone(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * For a command that writes a new run folder (merge, rescore), before any work: `out` must be absent or an empty
 * folder, creatable (checkOutFolder: not under a file, its parent writable), and so must OUT.partial, where
 * NewRunFolder fills it: absent, empty, or an unfinished one a merge or rescore left (its mark); never another
 * folder (a bench's run written as X.partial), which would be replaced. No folder `inputs` (what the command
 * reads) may be OUT.partial or inside it.
 */
export function checkNewRunFolder(out: string, command: string, inputs: readonly string[] = []): void {
  // a link would be replaced by the folder written (renamed over it), not followed: refused before the work
  let link = false;
  try {
    link = Deno.lstatSync(out).isSymlink;
  } catch {
    // not there (or not to be looked at: said below)
  }
  check(!link, `--out ${out}: a symbolic link; name the folder itself (${command} writes a new run folder)`);
  check(
    !pathExists(out, "--out") || (pathInfo(out)?.isDirectory && readdirSync(out).length === 0),
    `--out ${out}: exists and is not an empty folder; ${command} writes a new run folder`,
  );
  checkOutFolder(out);
  const partial = `${resolve(out)}.partial`;
  checkOutFolder(partial);
  const real = realOrNone(partial);
  if (real === undefined) return;
  for (const input of inputs) {
    const r = realOrNone(input);
    check(
      r === undefined || (r !== real && !r.startsWith(real + "/")),
      `${command}: ${input} ${r === real ? "is" : `lies inside ${partial},`} where ${command} writes --out ${out} ` +
        `before it is whole; ${r === real ? "rename the folder" : "move the folder out of it"}, or give another --out`,
    );
  }
  const held = readdirSync(partial);
  check(
    held.length === 0 || held.includes(PARTIAL_MARK),
    `--out ${out}: ${partial} exists and is not a merge's or rescore's unfinished folder (it holds ${
      held.sort().slice(0, 5).join(", ")
    }${held.length > 5 ? `, … ${held.length} in all` : ""}); move it away, or give another --out`,
  );
}

/**
 * A new run folder written whole by this process (merge, rescore): filled in OUT.partial, then renamed to OUT, so
 * that a kill leaves no half-written run folder. Claimed before the command's work (checkNewRunFolder, then
 * OUT.partial made and its lock taken, PARTIAL_MARK: the folder's mark as a merge's or rescore's, held until OUT
 * is written, so that a second merge or rescore into OUT is refused, naming it); an unfinished one a killed merge
 * or rescore left is emptied and taken; any other folder there is refused, never deleted. `release` (in a
 * `finally`) removes OUT.partial unless written, and the folders made for it.
 */
export class NewRunFolder {
  #written = false;
  #released = false;

  private constructor(
    readonly out: string,
    readonly partial: string,
    /** the folders made above OUT.partial, deepest first */
    readonly made: readonly string[],
    /** gives back OUT.partial's lock, removing its file where it still is */
    readonly unlock: () => void,
  ) {}

  static claim(out: string, command: string, inputs: readonly string[] = []): NewRunFolder {
    for (let attempt = 0;; attempt++) {
      checkNewRunFolder(out, command, inputs);
      const partial = `${resolve(out)}.partial`, made: string[] = [];
      for (let d = dirname(partial); !pathExists(d); d = dirname(d)) made.push(d);
      const marked = pathExists(join(partial, PARTIAL_MARK));
      try {
        mkdirSync(partial, { recursive: true });
      } catch (e) {
        throw new InputError(`--out ${out}: cannot create ${partial} (${oneLine((e as Error).message)})`);
      }
      let unlock: () => void;
      try {
        unlock = lockFolder(partialLock(partial, out));
      } catch (e) {
        removeEmpty([partial, ...made]);
        // the holder has just written OUT (its OUT.partial gone): the check says so
        if (!pathExists(partial) && attempt < 3) continue;
        throw e;
      }
      const folder = new NewRunFolder(out, partial, made, unlock);
      try {
        // under the lock: what else is there is a killed merge's or rescore's (it was marked), or another's
        // written since the check (it was not)
        const held = readdirSync(partial).filter((f) => f !== PARTIAL_MARK);
        check(
          marked || held.length === 0,
          `--out ${out}: ${partial} is being written by another command (${held.slice(0, 5).join(", ")}); ` +
            "move it away, or give another --out",
        );
        for (const f of held) rmSync(join(partial, f), { recursive: true });
      } catch (e) {
        folder.#written = true; // another's: left as it is
        folder.release();
        if (e instanceof InputError) throw e;
        throw new InputError(`--out ${out}: cannot empty ${partial} (${oneLine((e as Error).message)})`);
      }
      return folder;
    }
  }

  /** `fill` writes the run's files into OUT.partial; then it becomes OUT. */
  async write<T>(fill: (dir: string) => Promise<T>): Promise<T> {
    const result = await fill(this.partial);
    check(
      !pathExists(this.out) || (pathInfo(this.out)?.isDirectory && readdirSync(this.out).length === 0),
      `--out ${this.out}: written by another command while this one worked; nothing of this one's is kept`,
    );
    if (pathExists(this.out)) rmdirSync(this.out);
    // renamed while its lock is held (a contender finds it held, or gone), then the lock's file that came along
    renameSync(this.partial, this.out);
    this.#written = true;
    try {
      Deno.removeSync(join(this.out, PARTIAL_MARK));
    } finally {
      this.release();
    }
    return result;
  }

  /** OUT.partial removed unless written (a command refused after its claim leaves nothing behind), its lock given back. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#written) return this.unlock();
    try {
      for (const f of readdirSync(this.partial)) {
        if (f !== PARTIAL_MARK) rmSync(join(this.partial, f), { recursive: true, force: true });
      }
    } finally {
      this.unlock();
      removeEmpty([this.partial, ...this.made]);
    }
  }
}

/** Each of `dirs` removed in order while it is empty (another's file there: it and those above stay). */
function removeEmpty(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}

/** checkRunFolder, then the folder made. */
function makeRunFolder(dir: string, flag = "--out"): void {
  checkRunFolder(dir, flag);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`${flag} ${dir}: cannot create the folder (${(e as Error).message})`);
  }
}

/** JSON with every object's keys sorted: two specs written by code that orders its fields otherwise compare equal. */
const canonical = (v: unknown) =>
  JSON.stringify(v, (_, x) => (isObject(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));

/**
 * The fields of two run keys that differ, by content (key order aside), each with both values:
 * "k: was A, now B", or with the two words given for was and now ("k: X has A, Y B"). A field one key lacks is
 * named by what its absence means (keyAbsence: a default the key leaves out, or a folder from before the field).
 * Older keys are read as today's (comparedKeys: a model folder's path, the sampling flags, given `resolved`).
 */
export function differences(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  [was, now]: [string, string] = ["was", "now"],
  /** each key's run.json `sampling` (comparedKeys) */
  resolved?: readonly [unknown, unknown],
): string[] {
  [a, b] = comparedKeys(a, b, resolved);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const value = (o: Record<string, unknown>, k: string) =>
    o[k] !== undefined ? shortened(o[k]) : keyAbsence(k) ? `${keyAbsence(k)} (absent)` : "absent";
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) =>
    `${keyField(k)}: ${was} ${value(a, k)}, ${now} ${value(b, k)}${listChange(a[k], b[k]) ?? ""}`
  );
}

/**
 * Where two long lists differ (both cut in the middle, they would hide it: 23 methods and 24 look the same), the
 * items only one of them has, or that they hold the same items in another order.
 */
function listChange(x: unknown, y: unknown): string | undefined {
  if (!Array.isArray(x) || !Array.isArray(y) || Math.min(canonical(x).length, canonical(y).length) <= 200) {
    return undefined;
  }
  const [xs, ys] = [new Set(x.map(canonical)), new Set(y.map(canonical))];
  const onlyX = x.filter((v) => !ys.has(canonical(v))), onlyY = y.filter((v) => !xs.has(canonical(v)));
  const said = [
    ...(onlyY.length ? [`${shortened(onlyY)} only in the second`] : []),
    ...(onlyX.length ? [`${shortened(onlyX)} only in the first`] : []),
  ];
  return ` (${said.join(", ") || "the same items, in another order or counted otherwise"})`;
}

/** A value as JSON, cut in the middle past 200 characters (a list of 10,000 budgets would be a 60 KB line). */
function shortened(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined || s.length <= 200
    ? String(s)
    : `${s.slice(0, 120)} … ${s.slice(-60)} (${s.length} characters)`;
}

/** The spec's fields that choose a run's problems (not keyed: the data's hash is), a generated task's knobs too. */
const DATA_FLAGS = ["data", "dataDir", "hub", "limit", "fields", "skipBad", "lcbDates", "parts", "digits", "count"];
/** The tasks whose problems are generated, from the smallest seed and the knobs below. */
const GENERATED_TASKS: readonly unknown[] = Object.keys(GENERATED_DEFAULTS);
/** The generated tasks' knobs: spec_full holds them under `synthetic` */
const GENERATED = ["parts", "digits", "count"];
/** Those that say only where the data is read from: the same file by another spelling, or a node's own copy. */
const DATA_PATHS = ["data", "dataDir"];

/**
 * The data-choosing flags (those of `names`) as run.json's spec_full has them, by flag name: those that apply to its
 * tasks. spec_full holds the generated tasks' knobs (their defaults) whatever the tasks, so they count only where a
 * generated task is among them (or where spec_full names no tasks); the other flags are there only when given, and
 * only with the tasks they serve (--fields with custom, --lcb-dates with lcb: refused otherwise).
 */
function dataFlags(full: unknown, names = DATA_FLAGS): Record<string, unknown> {
  const f = (full ?? {}) as Record<string, unknown>, generated = (f.synthetic ?? {}) as Record<string, unknown>;
  const knobs = !Array.isArray(f.tasks) || f.tasks.some((t) => GENERATED_TASKS.includes(t));
  return Object.fromEntries(
    names.filter((k) => knobs || !GENERATED.includes(k))
      .map((k) => [`--${kebab(k)}`, (GENERATED.includes(k) ? generated : f)[k] ?? "not given"]),
  );
}

/**
 * --seeds as a data-choosing flag, by name, where spec_full's tasks include a generated one: its problems are made
 * from the smallest seed (jobs.ts); none otherwise (a data set is read as it is).
 */
function seedFlag(full: unknown): Record<string, unknown> {
  const f = (full ?? {}) as { tasks?: unknown; seeds?: unknown };
  const made = Array.isArray(f.tasks) ? f.tasks.filter((t) => GENERATED_TASKS.includes(t)) : [];
  const seeds = Array.isArray(f.seeds) && f.seeds.length && f.seeds.every(Number.isFinite) ? f.seeds : undefined;
  return made.length && seeds
    ? { [`--seeds (its smallest makes ${made.join(", ")}'s problems)`]: Math.min(...seeds) }
    : {};
}

/** Two run.json's parts that a refusal reads: the key and the flags as parsed. */
interface KeyAndFlags {
  spec?: Record<string, unknown>;
  spec_full?: unknown;
}

/**
 * What made two keys' data hashes differ (a resume's, a merge's shards'), from their spec_full, as a refusal says it:
 * the data-choosing flags that differ, or, where they differ at most in the data's paths, the data's content
 * (`content`: a file edited, another node's copy; a path is never the cause, the hash being the problems';
 * `paths`: whether those differ). None where the data is the same, or where a run.json lacks its spec_full.
 */
export function dataDifference(
  a: KeyAndFlags,
  b: KeyAndFlags,
  words?: [string, string],
): { line: string; content: boolean; paths: boolean } | undefined {
  if (canonical(a.spec?.data) === canonical(b.spec?.data) || a.spec_full === undefined || b.spec_full === undefined) {
    return undefined;
  }
  const choosing = DATA_FLAGS.filter((k) => !DATA_PATHS.includes(k));
  const chosen = differences(
    { ...dataFlags(a.spec_full, choosing), ...seedFlag(a.spec_full) },
    { ...dataFlags(b.spec_full, choosing), ...seedFlag(b.spec_full) },
    words,
  );
  const paths = differences(dataFlags(a.spec_full, DATA_PATHS), dataFlags(b.spec_full, DATA_PATHS), words);
  if (chosen.length) {
    return {
      line: `the flags that chose the data: ${[...paths, ...chosen].sort().join(", ")}`,
      content: false,
      paths: false,
    };
  }
  const given = Object.entries(dataFlags(a.spec_full, paths.length ? choosing : DATA_FLAGS))
    .filter(([, v]) => v !== "not given" && v !== false)
    .map(([f, v]) => v === true ? f : `${f} ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return {
    line: paths.length
      ? `the task data's content differs: the data read holds other problems (read from ${paths.join(", ")}${
        given.length ? `; the same ${given.join(", ")}` : ""
      })`
      : `the task data's content differs: the same data flags (${
        given.join(", ") || "none: each task's own data"
      }) read other problems`,
    content: true,
    paths: paths.length > 0,
  };
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The key's fields that are this project's rules, not the user's flags: no flag brings an old value back. */
const RULES = [
  "prompt_format",
  "grader",
  "code_grader",
  "timing",
  "generation",
  "methods_version",
  "model_defaults",
  "weights_file",
];

/**
 * What a user can do about a key that differs: the same flags, unless the project's rules changed since; where the
 * data's content changed under the same flags (`data`; `paths`: read from other paths), the data as it was (`flags`:
 * whether flags differ too).
 */
function remedy(
  stored: Record<string, unknown>,
  spec: Record<string, unknown>,
  data: { content: boolean; paths: boolean; flags: boolean },
): string {
  const rules = RULES.filter((k) =>
    k === "methods_version"
      ? versionChanges(stored, spec).length > 0 || staleVersions(stored)
      // the project's reading of one config file changed (another file is the model's business)
      : k === "model_defaults"
      ? canonical(stored[k]) !== canonical(spec[k]) &&
        canonical(stored["model file config.json"]) === canonical(spec["model file config.json"])
      // the same folder's weights, read from another file: the project's choice changed (run_key.ts weightsRead)
      : k === "weights_file"
      ? canonical(stored[k]) !== canonical(spec[k]) && canonical(stored.weights) === canonical(spec.weights)
      // keyed where the run samples or writes programs, and absent from folders before it: a flag explains it
      // coming or going only where the sampling flags differ
      : k === "generation"
      ? (k in stored && k in spec && canonical(stored[k]) !== canonical(spec[k])) ||
        (k in spec && !(k in stored) && !("sampling_used" in stored) &&
          canonical(stored.sampling) === canonical(spec.sampling))
      : canonical(stored[k]) !== canonical(spec[k])
  );
  // Before generation 2 every folder stored all four settings, resolved; since, a sampled folder is keyed with
  // its generation and stores the flags given (all four given is a new folder too).
  const oldSampling = isObject(stored.sampling) && Object.keys(stored.sampling).length === 4 &&
    Number(stored.sampling.temperature) > 0 && !("generation" in stored) &&
    canonical(stored.sampling) !== canonical(spec.sampling);
  if (!rules.length && !oldSampling) {
    return !data.content
      ? "use the same flags to resume it, or another --out"
      : data.flags
      ? "use the same flags, with the task data as it was, to resume it, or another --out"
      : `${data.paths ? "" : "the flags are the same: "}resume it with the task data as it was, or use another --out`;
  }
  return `the folder was made by an earlier version of this project (${
    [...rules, ...(oldSampling ? ["sampling"] : [])].join(", ")
  }: ${
    oldSampling
      ? "sampling flags are now kept as given, each one not given being the model's generation_config's; "
      : ""
  }its rules then made other records), so no flags resume it here: use another --out, or the project's commit in its run.json's "versions"`;
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
const numbers = (o: Record<string, unknown>, keys: readonly string[]) => keys.every((k) => Number.isFinite(o[k]));

/**
 * The tasks whose finisher token limit (run.json's finisher_tokens) differs between two folders' runs, as a line;
 * undefined where none does or either does not say (a folder from before the field).
 */
export function finisherLimitsChanged(a: unknown, b: unknown): string | undefined {
  if (!isObject(a) || !isObject(b)) return undefined;
  const changed = Object.keys(a).filter((t) => t in b && a[t] !== b[t]);
  return changed.length
    ? `finisher_tokens: ${changed.map((t) => `${t} was ${a[t]}, now ${b[t]}`).join(", ")}`
    : undefined;
}

/** The fields of a run.json that resume, merge and the summary read back, as this project writes them. */
export function checkMeta(file: string, m: Record<string, unknown>): void {
  const cost = m.cost_model;
  check(
    cost === undefined ||
      (isObject(cost) && Array.isArray(cost.coef) &&
        ([...OLD_TERM_COUNTS, COST_TERMS.length] as number[]).includes(cost.coef.length) &&
        cost.coef.every((c) => Number.isFinite(c) && c >= 0) && isObject(cost.fit) &&
        numbers(cost.fit, ["passes", "median_rel_error", "p90_rel_error"]) &&
        (cost.fit.shapes === undefined || Number.isInteger(cost.fit.shapes)) &&
        (cost.fit.fragmented === undefined ||
          (isObject(cost.fit.fragmented) && Number.isInteger(cost.fit.fragmented.shapes) &&
            numbers(cost.fit.fragmented, ["median_rel_error"]))) &&
        (cost.passes === undefined ||
          (Array.isArray(cost.passes) && cost.passes.length === cost.fit.passes &&
            cost.passes.every((p) => isPackedPass(p, packedFields((cost.coef as unknown[]).length)))))),
    `${file}: "cost_model" is damaged (expected ${COST_TERMS.length} coefficients ≥ 0 (${
      OLD_TERM_COUNTS.join(" or ")
    } in a folder of an earlier version), its fit and, where kept, its timed passes: as many as the fit counts, ` +
      "each [rows, tokens, attention, kv, logits, logprobs, segments, blocks, ms] (without segments and blocks where " +
      "the coefficients are fewer)); delete that field to calibrate again (the solo times of the records already " +
      "there came from the old model)",
  );
  const invocations = m.invocations;
  check(
    invocations === undefined ||
      (Array.isArray(invocations) &&
        invocations.every((i) =>
          isObject(i) && typeof i.started === "string" && isObject(i.cost_error) &&
          numbers(i, ["seconds", "records", "passes", "passes_per_s", "rows_per_pass", "problems_per_hour"]) &&
          numbers(i, ["outside_passes", "runs_at_once"]) && numbers(i.cost_error, ["median", "p90"])
        )),
    `${file}: "invocations" is not a list of this project's invocations (delete the field: it only reports)`,
  );
  check(
    m.shards === undefined || (Array.isArray(m.shards) && m.shards.every(isObject)),
    `${file}: "shards" is not a list of this project's shards`,
  );
  // a merged folder's shards keep their own cost models and invocations (summary.md and plot read them)
  for (const [i, s] of ((m.shards ?? []) as Record<string, unknown>[]).entries()) {
    checkMeta(`${file} (shards[${i}])`, s);
  }
  check(m.spec === undefined || isObject(m.spec), `${file}: "spec" is not an object`);
  check(
    m.sampling === undefined || (isObject(m.sampling) && numbers(m.sampling, ["temperature", "topK", "topP", "minP"])),
    `${file}: "sampling" is not the writers' sampling (temperature, topK, topP, minP)`,
  );
  check(
    !isObject(m.sampling) || m.sampling.unapplied === undefined || isObject(m.sampling.unapplied),
    `${file}: "sampling.unapplied" is not the generation_config's settings by field (delete it: it only reports)`,
  );
  check(
    m.planned === undefined || (Array.isArray(m.planned) && m.planned.every((k) => typeof k === "string")),
    `${file}: "planned" is not a list of record keys`,
  );
  check(
    m.data_notes === undefined || (Array.isArray(m.data_notes) && m.data_notes.every((k) => typeof k === "string")),
    `${file}: "data_notes" is not a list of lines (delete the field: it only reports)`,
  );
  check(
    m.finisher_tokens === undefined ||
      (isObject(m.finisher_tokens) &&
        Object.values(m.finisher_tokens).every((n) => Number.isInteger(n) && (n as number) > 0)),
    `${file}: "finisher_tokens" is not each task's token limit (delete the field: it only reports)`,
  );
}

/*
 * One bench writes to a folder at a time: it holds an OS lock (flock) on its open run.lock for its life, and the
 * kernel gives it back when the process ends, however it ends (killed, a node's job requeued). No process id is
 * judged alive or gone: a bench in another PID namespace or on another host would read ours as gone. The file
 * names its holder (process id and host) for the refusal only. Where the filesystem gives no locks, the file's
 * existence is the lock, and one left by a killed bench is never taken over: the refusal says to remove it.
 * The holder never opens run.lock a second time: where flock is done by fcntl locks (NFS), closing any other
 * descriptor of the file would drop its lock.
 */

/**
 * Who run.lock says holds it: "process PID on HOST" (without the host: an older bench's file). Read while it is
 * held, an empty file is a bench that has taken the lock and not yet written its line.
 */
function holderOf(file: string): string {
  const name = basename(file);
  let text = "";
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    // gone, or unreadable: named by no one
  }
  const m = /^(\d+)(?: (\S+))?$/.exec(text);
  return m ? `process ${m[1]}${m[2] ? ` on ${m[2]}` : ""}` : text ? `not named in ${name}` : "a process starting now";
}

/** Whether `f`'s lock was taken (`none`: the filesystem gives no locks, why: NFS without lockd, Lustre without flock). */
function tryLock(f: Deno.FsFile, exclusive: boolean): { held: boolean; none?: string } {
  try {
    return { held: f.tryLockSync(exclusive) };
  } catch (e) {
    return { held: false, none: oneLine((e as Error).message) };
  }
}

/** Whether `f` is the file at `path` now (a holder's release removes it: a lock on a removed file holds nothing). */
function isAt(f: Deno.FsFile, path: string): boolean {
  try {
    const [open, now] = [f.statSync(), Deno.statSync(path)];
    return open.ino === now.ino && open.dev === now.dev;
  } catch {
    return false;
  }
}

/**
 * A lock of a run folder: its file, and for the refusal what holds it and what it writes. A bench holds run.lock
 * (the whole folder); a judge command judge.lock (judge.jsonl: the bench never writes it, nor the judge the rest).
 */
interface FolderLock {
  dir: string;
  /** the lock file's name in the folder */
  name: string;
  /** "bench", "judge" */
  who: string;
  /** what its holder writes: "to this folder" */
  writes: string;
  /** the refusal's other way out: "give another --out" */
  instead?: string;
}

const benchLock = (dir: string): FolderLock => ({
  dir,
  name: "run.lock",
  who: "bench",
  writes: "to this folder",
  instead: "give another --out",
});

/** A merge's or rescore's lock of the OUT.partial it fills (NewRunFolder): its file is the folder's mark. */
const partialLock = (partial: string, out: string): FolderLock => ({
  dir: partial,
  name: PARTIAL_MARK,
  who: "merge or rescore",
  writes: `--out ${out} here`,
  instead: "give another --out",
});

const judgeLock = (dir: string): FolderLock => ({
  dir,
  name: "judge.lock",
  who: "judge",
  writes: "this folder's judge.jsonl",
});

/** The refusal of a folder another process holds (`none`: the filesystem gives no locks, why). */
function heldError(lock: FolderLock, holder: string, none?: string): InputError {
  const { dir, who } = lock, file = join(dir, lock.name);
  return new InputError(
    none === undefined
      ? `${dir}: another ${who} (${holder}) is writing ${lock.writes}` +
        (lock.instead
          ? `; wait for it to end, or ${lock.instead}`
          : ` (it holds ${file}); wait for it to end, then run the same command again`)
      : `${dir}: ${file} names a ${who} (${holder}), and this filesystem gives no file locks (${none}), so ` +
        `whether it still runs cannot be told; wait for it to end, or if none runs on this folder, remove ${file}`,
  );
}

/**
 * The bench that holds `dir`'s lock, as run.lock names it (`none`: the filesystem gives no locks, why: the file
 * may be one a killed bench left), or undefined: none does. Called by no holder (see above).
 */
function holding(dir: string): { holder: string; none?: string } | undefined {
  const file = join(dir, benchLock(dir).name);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(file, { read: true });
  } catch {
    return undefined; // no lock file: no holder
  }
  try {
    const { held, none } = tryLock(f, false); // a shared lock: refused only while a bench holds the exclusive one
    return held ? undefined : { holder: holderOf(file), none };
  } finally {
    f.close();
  }
}

/** The bench writing to `dir` ("process PID on HOST", as run.lock names it), or undefined: none is. */
export function lockedBy(dir: string): string | undefined {
  const h = holding(dir);
  return h && (h.none === undefined ? h.holder : `${h.holder}, or one killed; no file locks here: see its run.lock`);
}

/** Refuses `dir` while another bench holds it (before any work; RunDir.open takes the lock itself). */
export function checkNotLocked(dir: string): void {
  const h = holding(dir);
  if (h) throw heldError(benchLock(dir), h.holder, h.none);
}

/**
 * Takes `dir`'s lock (a bench's run.lock, a judge's judge.lock) until the release it returns (or the process's
 * end), or refuses while another process holds it.
 */
function lockFolder(lock: FolderLock): () => void {
  const file = join(lock.dir, lock.name);
  const cannot = (e: unknown) =>
    new InputError(`${file}: cannot take the folder's lock (${oneLine((e as Error).message)})`);
  for (let attempt = 0; attempt < 10; attempt++) {
    let f: Deno.FsFile, created = true;
    try {
      f = Deno.openSync(file, { read: true, write: true, createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw cannot(e);
      try {
        f = Deno.openSync(file, { read: true, write: true });
        created = false;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue; // its holder gave it back meanwhile
        throw cannot(e);
      }
    }
    const { held, none } = tryLock(f, true);
    const mine = held || (none !== undefined && created); // no locks here: the file made is the lock, one found another's
    if (!mine || !isAt(f, file)) {
      f.close();
      if (!mine) throw heldError(lock, holderOf(file), none);
      continue; // won on a file its holder has just removed: again, on the file there now
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        // removed while held: a contender that opened this file before finds it is not run.lock any more (isAt)
        if (isAt(f, file)) Deno.removeSync(file);
      } finally {
        f.close();
      }
    };
    try {
      f.truncateSync(0);
      f.writeSync(new TextEncoder().encode(`${Deno.pid} ${hostname()}\n`));
    } catch (e) {
      release(); // a full disk: no file left to be read as a lock
      throw cannot(e);
    }
    return release;
  }
  throw new InputError(`${file}: cannot take the folder's lock (it was replaced 10 times as it was taken)`);
}

/**
 * Takes `dir`'s judge.lock for a judge command that appends to its judge.jsonl (one at a time: one starting
 * cuts a torn last line, which may be the line another is appending, and two would pay for one reply twice), or
 * refuses naming the lock file; returns the release.
 */
export function lockJudgeFile(dir: string): () => void {
  return lockFolder(judgeLock(dir));
}

export class RunDir {
  readonly done = new Set<string>();
  readonly #records: string;
  readonly #traces: string;
  /** the error of an append that failed: every later one fails with it */
  #failed?: Error;

  private constructor(readonly dir: string) {
    this.#records = join(dir, "records.jsonl");
    this.#traces = join(dir, "traces.jsonl");
  }

  /**
   * Creates the folder, or resumes it when its run.json holds the same spec. The folder is this process's until
   * close(): a second bench on it is refused (both would run every pending record and append it twice).
   */
  static open(dir: string, spec: Record<string, unknown>, meta: Record<string, unknown>): RunDir {
    makeRunFolder(dir);
    const release = lockFolder(benchLock(dir));
    try {
      // the folder is this process's alone now: what a killed writer left half-written is no one's (engine/files.ts)
      for (const f of ["run.json", "records.jsonl", "traces.jsonl"]) removeStrayTemps(join(dir, f));
      const run = RunDir.#open(dir, spec, meta);
      run.#release = release;
      return run;
    } catch (e) {
      release();
      throw e;
    }
  }

  #release = () => {};

  /** Lets another process open the folder. */
  close(): void {
    this.#release();
  }

  static #open(dir: string, spec: Record<string, unknown>, meta: Record<string, unknown>): RunDir {
    const runFile = join(dir, "run.json");
    if (pathExists(runFile)) {
      let stored: {
        spec?: Record<string, unknown>;
        spec_full?: unknown;
        sampling?: unknown;
        finisher_tokens?: unknown;
      };
      try {
        stored = JSON.parse(readFileSync(runFile, "utf8"));
      } catch {
        throw new InputError(`${runFile}: not valid JSON; remove the folder or choose another --out`);
      }
      check(
        stored !== null && typeof stored === "object" && !Array.isArray(stored) && typeof stored.spec === "object",
        `${runFile}: not a run.json of this project (no "spec"); remove the folder or choose another --out`,
      );
      checkMeta(runFile, stored as Record<string, unknown>);
      const diff = differences(stored.spec ?? {}, spec, undefined, [stored.sampling, meta.sampling]);
      // the key holds the data's hash, not the flags that chose it: name those that changed, or say the data did
      const flags = diff.some((d) => !d.startsWith("data:"));
      const data = dataDifference(stored, { spec, spec_full: meta.spec_full });
      if (data) diff.push(data.line);
      // the limits the answers were finished with (not keyed: a task's own limit is in no key); a changed one
      // (another version's default) would finish this folder's records two ways
      const limits = finisherLimitsChanged(stored.finisher_tokens, meta.finisher_tokens);
      if (limits) diff.push(limits);
      // A folder whose run never wrote a record (its start failed: a bad flag, a model that would not load)
      // holds nothing to mix with: it is started again with the new spec, not locked to the old one.
      // (whether a record line is there: its first read, none parsed; the records are read once, below)
      const empty = !holdsLine(join(dir, "records.jsonl"));
      check(
        diff.length === 0 || empty,
        `${dir} holds a run with another spec (${diff.join("; ")}); ${
          remedy(stored.spec ?? {}, spec, { content: data?.content ?? false, paths: data?.paths ?? false, flags })
        }`,
      );
      if (diff.length) replaceFile(runFile, JSON.stringify({ spec, ...meta }, null, 1) + "\n");
    } else {
      replaceFile(runFile, JSON.stringify({ spec, ...meta }, null, 1) + "\n");
    }
    const run = new RunDir(dir);
    if (!pathExists(run.#records)) appendLines(run.#records, ""); // every run folder has one, if empty (a shard)
    const records = readRecordLines(run.#records);
    checkPlanned(run.#records, records, meta.planned);
    // the records already there are this grader's: the bench's own appended to another's would mix them
    const graderOf = (r: BenchRecord) => r.grading === "code" ? CODE_GRADER_VERSION : GRADER_VERSION;
    const other = records.findIndex((r) => r.grader !== graderOf(r));
    check(
      other < 0,
      `${run.#records}:${other + 1}: a record graded by ${records[other]?.grader}, not this bench's ` +
        `${other < 0 ? "" : graderOf(records[other])}; rescore the folder first (deno task rescore)`,
    );
    checkBudgets(run.#records, records, spec.budgets);
    for (const r of records) run.done.add(recordKey(r));
    const traces = recordsTraces(run.#traces, run.done);
    // the lines kept the file's first: cut there in place (a LIMO-sized folder's traces are GBs to copy)
    if (traces.cut !== undefined) cutFile(run.#traces, traces.cut, traces.same!);
    else if (!traces.whole) replaceFile(run.#traces, traces.lines);
    return run;
  }

  /** run.json as it is now. */
  meta(): Record<string, unknown> {
    return JSON.parse(readFileSync(join(this.dir, "run.json"), "utf8"));
  }

  /** Adds fields to run.json, atomically (a kill leaves the old file or the new one, never half of one). */
  updateMeta(patch: Record<string, unknown>): void {
    replaceFile(join(this.dir, "run.json"), JSON.stringify({ ...this.meta(), ...patch }, null, 1) + "\n");
  }

  /**
   * Appends a finished problem: its trace, then its record (the record is what counts as done). After a failed
   * append every later one fails with its error: a line it could not take back must stay the file's last.
   */
  append(record: BenchRecord, trace: TraceLine): void {
    if (this.#failed) throw this.#failed;
    const k = recordKey(record);
    if (this.done.has(k)) throw new Error(`record ${k} written twice`);
    try {
      appendLines(this.#traces, JSON.stringify(trace) + "\n");
      appendLines(this.#records, JSON.stringify(record) + "\n");
    } catch (e) {
      throw this.#failed = e as Error;
    }
    this.done.add(k);
  }

  records(): BenchRecord[] {
    return readRecordLines(this.#records);
  }
}

/**
 * A run folder's records, each one its run.json planned (where run.json lists them), for the commands that
 * only read it (plot, merge, rescore, solo-check, compare, judge): a torn last line is left where it is, unread
 * and said on stderr (the folder's bench repairs it when it resumes; a live bench may still be writing it).
 */
export function readRecords(dir: string): BenchRecord[] {
  checkReadFolder(dir);
  const file = join(dir, "records.jsonl");
  check(pathExists(file), `${dir}: no records.jsonl (not a run folder?)`);
  const records = readRecordLines(file, false);
  if (tornLastLine(file)) {
    console.error(
      `note: ${file}: its last line is not complete (a bench writing it, or one killed mid-write): left out; ` +
        "the bench resumed on this folder runs that record again",
    );
  }
  if (pathExists(join(dir, "run.json"))) {
    const run = readRunJson(dir);
    checkPlanned(file, records, run.planned),
      checkBudgets(file, records, (run.spec as { budgets?: unknown } | undefined)?.budgets);
  }
  return records;
}

/**
 * Every record checkpointed at the run's budgets (`budgets`: its key's; a key without them, nothing to check): a
 * record of another run (its key planned here too) would bring that run's budgets and times into the curves.
 */
export function checkBudgets(file: string, records: readonly BenchRecord[], budgets: unknown): void {
  if (!Array.isArray(budgets)) return;
  const want = JSON.stringify(budgets);
  const alien = records.findIndex((r) => JSON.stringify(r.checkpoints.map((c) => c.budget)) !== want);
  check(
    alien < 0,
    `${file}:${alien + 1}: a record checkpointed at ${
      alien < 0 ? "" : shortened(records[alien].checkpoints.map((c) => c.budget))
    }, not this run's budgets ${shortened(budgets)} (the file was changed by hand?)`,
  );
}

/**
 * The problem text of each of `dir`'s traces that holds one (traces.jsonl's `problem`; older traces lack it), by
 * record key: read a line at a time, only the text kept (a run's traces grow to hundreds of MB).
 */
export function traceTexts(dir: string): Map<string, string> {
  const file = join(dir, "traces.jsonl"), texts = new Map<string, string>();
  if (!pathExists(file)) return texts;
  for (const { line } of eachLine<TraceLine>(file)) {
    if (typeof line.problem === "string") texts.set(recordKey(line), line.problem);
  }
  return texts;
}

/** Records shown together, by the name errors give them: a run folder (plot, the viewer) or a method of one (compare). */
export interface GradedSide {
  name: string;
  records: readonly BenchRecord[];
}

/**
 * Records drawn or compared side by side were graded by one grader version (one for code, one for the rest):
 * within a side (a record appended by hand, a folder half rescored) and across sides (a folder beside its own
 * rescore would show the same answers as two accuracies). The one check of plot, compare and the viewer.
 */
export function checkOneGrader(sides: readonly GradedSide[]): void {
  for (const code of [false, true]) {
    const today = code ? CODE_GRADER_VERSION : GRADER_VERSION;
    // code records hold programs, not their tests: rescore cannot grade them again, the bench can (a new folder)
    const again = (names: string[]) =>
      code
        ? `run ${names.join(" and ")} again into a new folder with this grader (code records cannot be rescored)`
        : `rescore ${names.join(" and ")} (deno task rescore)`;
    const graders = sides.map((s) =>
      // in version order (hogwild-grader/4 before /10)
      [...new Set(s.records.filter((r) => (r.grading === "code") === code).map((r) => r.grader))]
        .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    );
    sides.forEach((s, i) =>
      check(
        graders[i].length <= 1,
        `${s.name}: records graded by several grader versions (${graders[i].join(", ")}); ${again([s.name])} first`,
      )
    );
    const graded = sides.map((s, i) => ({ name: s.name, grader: graders[i][0] })).filter((s) => s.grader);
    const other = graded.find((s) => s.grader !== graded[0].grader);
    if (!other) continue;
    const pair = [graded[0], other], stale = pair.filter((s) => s.grader !== today);
    throw new InputError(
      `${pair[0].name} was graded by ${pair[0].grader}, ${other.name} by ${other.grader}; ${
        again((stale.length ? stale : pair).map((s) => s.name))
      } so that both are graded by ${today} (one answer can score otherwise under each grader)`,
    );
  }
}

/**
 * Every record is one its run planned: a record of a method, problem or seed the spec does not have (a file
 * edited or concatenated by hand) would be drawn as if measured. `planned`: run.json's list (absent in old
 * folders: nothing to check against).
 */
export function checkPlanned(file: string, records: readonly BenchRecord[], planned: unknown): void {
  if (planned === undefined) return;
  check(
    Array.isArray(planned) && planned.every((k) => typeof k === "string"),
    `${join(file, "..", "run.json")}: "planned" is not a list of record keys`,
  );
  const set = new Set(planned);
  const extra = records.findIndex((r) => !set.has(recordKey(r)));
  check(
    extra < 0,
    `${file}:${extra + 1}: the record ${
      extra < 0 ? "" : recordKey(records[extra]).replaceAll("\t", " / ")
    } is not one this run planned (the file was changed by hand?)`,
  );
}

/**
 * A run folder named to be read (a command's argument), checked before its files are: "" is refused (its files
 * would be the current folder's), as is what is not a folder (Deno refuses to look for files under a device).
 * One not there is its reader's to say.
 */
export function checkReadFolder(dir: string): void {
  check(pathInfo(dir, undefined, "run folder")?.isDirectory !== false, `${dir}: not a folder; name a run folder`);
}

export function readRunJson(dir: string): Record<string, unknown> {
  checkReadFolder(dir);
  const file = join(dir, "run.json");
  check(pathInfo(file)?.isFile, `${dir}: no run.json (not a run folder?)`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
  }
  check(v !== null && typeof v === "object" && !Array.isArray(v), `${file}: not a run.json of this project`);
  return v as Record<string, unknown>;
}
