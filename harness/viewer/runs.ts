/**
 * Run folders as the viewer reads them: run.json, records.jsonl and traces.jsonl, re-read when they change
 * (a bench appending, a resume, a merge), never written. Only those three files of the folders given are read (and,
 * for a run.json from before it recorded the run's protocol, the protocol file it names: runProtocol): a
 * link among them is followed inside its folder, and out of it only to a file of its own name (the run's file kept
 * elsewhere, as traces on another disk: docs/run-files.md), never to any other file (a folder copied from elsewhere
 * must not make the viewer read, and serve, what its links name). Such a link is said as an error: the whole run's
 * for run.json or records.jsonl, the traces' alone for traces.jsonl (the curves and records still show).
 */
import { Buffer } from "node:buffer";
import { closeSync, lstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { pathExists } from "../../engine/files.ts";
import { basename, isAbsolute, join, sep } from "node:path";
import { check, InputError, oneLine } from "../../engine/errors.ts";
import { loadProtocol, type Protocol, protocolFile } from "../generation/prompts.ts";
import { protocolHash } from "../bench/run_key.ts";
import {
  type BenchRecord,
  checkBudgets,
  checkOneGrader,
  checkPlanned,
  checkRecordLines,
  checkTraceLines,
  eachLine,
  lineAt,
  recordKey,
  type Span,
  type TraceLine,
} from "../bench/rundir.ts";

export interface RunData {
  name: string;
  meta: Record<string, unknown>;
  records: BenchRecord[];
  /**
   * the same object for every read whose records go on from the last's (lines appended: the records read before
   * are the same objects, in the same places), another once records.jsonl is read whole again: what is kept of a
   * run's records by it (the Records tab's rows) is extended by the records appended, not made again
   */
  lineage: object;
  /**
   * where each record's trace lies in traces.jsonl, by record key: the traces are read one at a time (trace). The
   * one map of the traces' lineage, not a copy a read: a later read's appended traces show in it too
   */
  traces: ReadonlyMap<string, Span>;
  /** the trace of a record key, read from traces.jsonl (a key without one: undefined) */
  trace: (key: string) => TraceLine | undefined;
  /**
   * the run's protocol (its step heads left out of the measures, its redundancy check marked in the workers' text),
   * or why it is not known (runProtocol)
   */
  protocol: Protocol | string;
  /** why the run's traces are not read (traces.jsonl a link the viewer does not follow), if they are not */
  tracesNone?: string;
  /** a folder bench --view is waiting for (the bench makes it once its model is loaded): no run yet, and no error */
  waiting?: true;
}

/** Whether `p` has a protocol's shape (its texts texts, its forbidden list a list of texts). */
function isProtocol(p: unknown): p is Protocol {
  if (p === null || typeof p !== "object" || Array.isArray(p)) return false;
  const x = p as Record<string, unknown>;
  return ["othersHeader", "ownHeader", "marker", "stepPrefix", "redundancyCheck", "finisherSuffix"]
    .every((k) => typeof x[k] === "string") &&
    (x.firstStep === undefined || typeof x.firstStep === "string") &&
    Array.isArray(x.forbidden) && x.forbidden.every((f) => typeof f === "string");
}

/**
 * The protocol a run wrote its traces with, or why it is not known (another protocol's step heads would be counted
 * as the workers' words): run.json's `protocol`, which the bench records, where it is what the run's key hashed.
 * A run.json from before that field: the project's protocol where the run was given none, else the file its
 * --protocol named where that path is absolute; a relative one was the bench's folder's, which run.json does not
 * record, and is never resolved against the viewer's. A file read must still hold what the key hashed.
 */
function runProtocol(meta: Record<string, unknown>): Protocol | string {
  const hash = (meta.spec as Record<string, unknown> | undefined)?.["prompt protocol"];
  if (meta.protocol !== undefined) {
    if (!isProtocol(meta.protocol)) return "run.json's protocol is not a protocol of this project";
    if (hash !== undefined && hash !== protocolHash(meta.protocol)) {
      return "run.json's protocol is not the one its key hashed (edited since?)";
    }
    return meta.protocol;
  }
  const file = ((meta.spec_full ?? meta.spec ?? {}) as { protocol?: string }).protocol;
  if (file !== undefined && !isAbsolute(file)) {
    return `the run's protocol file ${file} was given relative to the folder the bench ran in, which its run.json ` +
      "(from before run.json recorded the protocol) does not say";
  }
  const where = protocolFile(file);
  let protocol: Protocol;
  try {
    protocol = loadProtocol(file);
  } catch (e) {
    return `the run's protocol file ${where} cannot be read (${oneLine((e as Error).message)})`;
  }
  // a folder from before the key hashed the protocol: the file is taken at its word
  if (hash !== undefined && hash !== protocolHash(protocol)) {
    return `the run's protocol file ${where} is no longer what the run read (its hash in run.json differs)`;
  }
  return protocol;
}

/**
 * A file written by appends, followed: each read parses only the lines appended since the last (a run's traces
 * grow to gigabytes, and the viewer reads on every change), and the whole file again when it was replaced, cut,
 * or rewritten in place where bytes sampled over what was read differ (the project's own rewrites rename; a
 * resume cuts in place a tail it does not keep, and appends over it, which the samples find; an edit by hand that
 * keeps the file's length and falls between the samples shows once the viewer restarts). The lines are given one
 * at a time and not kept: what a reader keeps of each is its own (a trace's key and span).
 */
class Tail<T> {
  #count = 0;
  #at?: { ino: number; end: number; print: string };

  /**
   * Gives each line appended since the last call to `take`, with its number (0-based) and span; `reset` first when
   * the file is another (every line given again). Any error, the read's or `take`'s, forgets the file: the next call
   * reads it whole.
   */
  update(file: string, reset: () => void, take: (line: T, i: number, span: Span) => void): void {
    try {
      const st = statSync(file), at = this.#at;
      const same = at !== undefined && at.ino === st.ino && st.size >= at.end && fingerprint(file, at.end) === at.print;
      if (!same) reset(), this.#count = 0;
      let end = same ? at.end : 0;
      for (const { line, span } of eachLine<T>(file, end, this.#count)) {
        take(line, this.#count++, span);
        end = span.end + 1;
      }
      this.#at = { ino: st.ino, end, print: fingerprint(file, end) };
    } catch (e) {
      this.#count = 0, this.#at = undefined;
      throw e;
    }
  }
}

/** Eleven 256-byte windows spread over the first `end` bytes of `file` (its ends included), as latin1 text. */
function fingerprint(file: string, end: number): string {
  const n = Math.min(end, 256), buf = Buffer.alloc(n), fd = openSync(file, "r");
  try {
    return Array.from({ length: 11 }, (_, k) => {
      const got = readSync(fd, buf, 0, n, Math.floor((k * (end - n)) / 10));
      return buf.subarray(0, got).toString("latin1");
    }).join("");
  } finally {
    closeSync(fd);
  }
}

/**
 * How many records a file written by appends holds (its lines ended and not empty, as eachLine reads them), counted
 * without parsing one: for the run list, which polls every run. Counted on from where the last count stopped, and
 * again whole when the file is another, shorter, or rewritten (Tail's test).
 */
class LineCount {
  #at?: { ino: number | null; end: number; count: number; open: boolean; print: string };

  count(file: string): number {
    const st = statSync(file), at = this.#at;
    const same = at !== undefined && at.ino === st.ino && st.size >= at.end && fingerprint(file, at.end) === at.print;
    let end = same ? at.end : 0, count = same ? at.count : 0, open = same ? at.open : false;
    const fd = openSync(file, "r"), buf = Buffer.alloc(1 << 20);
    try {
      for (let n = readSync(fd, buf, 0, buf.length, end); n > 0; n = readSync(fd, buf, 0, buf.length, end)) {
        const bytes = buf.subarray(0, n);
        for (let i = 0; i < n;) {
          const newline = bytes.indexOf(0x0a, i);
          if (newline < 0) {
            open = true;
            break;
          }
          count += +(open || newline > i), open = false, i = newline + 1;
        }
        end += n;
      }
    } finally {
      closeSync(fd);
    }
    this.#at = { ino: st.ino, end, count, open, print: fingerprint(file, end) };
    return count;
  }
}

/** What the run list shows of a run: its run.json and how many records it holds (RunSource.summary). */
export interface RunSummary {
  name: string;
  /** run.json without its plan (a LIMO run's 130,000 keys, held for every run listed) */
  meta: Record<string, unknown>;
  /** how many records run.json plans (its `planned`), if it says */
  planned: number | null;
  records: number;
  tracesNone?: string;
  waiting?: true;
}

/**
 * A run's records checked one at a time, as they are read, as plot checks a whole file (checkPlanned,
 * checkOneGrader, checkBudgets): each appended record costs its own check, not every record's again. A record that
 * fails is checked with the records before it by the whole-file check itself, for its words and line.
 */
class RunChecks {
  readonly #planned?: Set<string>;
  readonly #budgets?: string;
  /** the grader versions met so far, of the records graded by code and of the rest */
  readonly #graders = [new Set<string>(), new Set<string>()];

  constructor(readonly file: string, readonly meta: Record<string, unknown>) {
    const budgets = (meta.spec as { budgets?: unknown } | undefined)?.budgets;
    // a plan that is not a list of keys is refused whatever the records
    checkPlanned(file, [], meta.planned);
    if (meta.planned !== undefined) this.#planned = new Set(meta.planned as string[]);
    if (Array.isArray(budgets)) this.#budgets = JSON.stringify(budgets);
  }

  /** Checks `r`, read after `before` (checked already): the whole-file check's error where it fails. */
  check(before: readonly BenchRecord[], r: BenchRecord): void {
    const graders = this.#graders[+(r.grading === "code")];
    graders.add(r.grader);
    const fails = (this.#planned && !this.#planned.has(recordKey(r))) || graders.size > 1 ||
      (this.#budgets !== undefined && JSON.stringify(r.checkpoints.map((c) => c.budget)) !== this.#budgets);
    if (fails) this.#whole([...before, r]);
  }

  /** Checks every record of `records` (run.json changed). */
  checkAll(records: readonly BenchRecord[]): void {
    this.#whole(records);
    for (const r of records) this.#graders[+(r.grading === "code")].add(r.grader);
  }

  /** plot's checks of a whole file, in its order. */
  #whole(records: readonly BenchRecord[]): void {
    checkPlanned(this.file, records, this.meta.planned);
    checkOneGrader([{ name: this.file, records }]);
    checkBudgets(this.file, records, (this.meta.spec as { budgets?: unknown } | undefined)?.budgets);
  }
}

/** How many runs, and how many bytes of their records.jsonl, a viewer holds read at most (RunCache). */
export const OPEN_RUNS = { runs: 8, bytes: 512 << 20 };

/**
 * The runs whose read a viewer holds (their records, checked, and their traces' spans; the server's rows and
 * charts go with them): at most `runs` of them and `bytes` of their records.jsonl (a record held weighs 1.3–2 times
 * its line), the least recently read let go first, to be read whole again when next asked for. The run read last is
 * held whatever its size. One cache serves every RunSource of a viewer (a folder of hundreds of runs opened one
 * after another held each of them, to the heap's end).
 */
export class RunCache {
  readonly #held = new Map<object, { bytes: number; release: () => void }>();

  constructor(readonly limits: { runs: number; bytes: number } = OPEN_RUNS) {}

  /** `run` was read now, holding `bytes`: the runs read least recently let go while there are too many. */
  touch(run: object, bytes: number, release: () => void): void {
    this.#held.delete(run);
    this.#held.set(run, { bytes, release });
    let total = 0;
    for (const { bytes } of this.#held.values()) total += bytes;
    for (const [other, held] of this.#held) {
      if (other === run || (this.#held.size <= this.limits.runs && total <= this.limits.bytes)) break;
      this.#held.delete(other), total -= held.bytes, held.release();
    }
  }

  /** Whether `run`'s read is held. */
  holds(run: object): boolean {
    return this.#held.has(run);
  }
}

/** The viewer's runs' cache where a RunSource is given none. */
const openRuns = new RunCache();

type RunFile = "run.json" | "records.jsonl" | "traces.jsonl";
/** A run's files where they are read from, and why its traces are not, if they are not. */
type RunFiles = { runJson?: string; records?: string; traces?: string; tracesNone?: string };

export class RunSource {
  #cache?: { stamp: string; data: RunData };
  /** the last read's failure, with the stamp of the files it failed on: not read again until they change */
  #failure?: { stamp: string; error: Error };
  #meta?: { stamp: string; meta: Record<string, unknown> };
  #summary?: { stamp: string; summary: RunSummary };
  #count = new LineCount();
  #parses = 0;
  #records = new Tail<BenchRecord>();
  #recordList: BenchRecord[] = [];
  #seen = new Set<string>();
  #lineage: object = {};
  /** what each record read is checked against (run.json's plan, budgets) and the grader versions met so far */
  #against?: RunChecks;
  #traces = new Tail<TraceLine>();
  #spans = new Map<string, Span>();
  readonly name: string;
  readonly #waited: boolean;
  /** whether the folder was ever there (a folder waited for and then gone is gone) */
  #there = false;

  readonly #held: RunCache;

  /**
   * `waited`: the folder of a bench that has not made it yet (--view): until it exists, the run is waiting.
   * `cache`: the runs held read, with this one (default: the process's, OPEN_RUNS).
   */
  constructor(readonly dir: string, o: { waited?: boolean; cache?: RunCache } = {}) {
    this.name = basename(dir);
    this.#waited = o.waited ?? false;
    this.#held = o.cache ?? openRuns;
  }

  /**
   * Lets go of what a read holds (the cache's choice): the records, the traces' spans, the files' places; the next
   * read is a whole one. The run list's summary is kept (it holds no record).
   */
  #release(): void {
    this.#cache = undefined, this.#meta = undefined;
    this.#records = new Tail(), this.#recordList = [], this.#seen = new Set(), this.#against = undefined;
    this.#lineage = {};
    this.#traces = new Tail(), this.#spans = new Map();
  }

  /** Whether this run's last read is held (not let go for the runs read since). */
  get held(): boolean {
    return this.#held.holds(this);
  }

  /**
   * The path of a run file, if there is one. A link is followed inside the folder, and out of it only to a file of
   * the run file's own name (a run's traces kept on another disk); one that is not a plain file is an error.
   */
  #file(name: RunFile): string | undefined {
    const path = join(this.dir, name);
    if (!pathExists(path)) return undefined;
    const real = realpathSync(path), root = realpathSync(this.dir);
    check(
      real.startsWith(root + sep) || basename(real) === name,
      `${path}: points outside the run folder (to ${real}); not read (a link out of a run folder is followed only ` +
        `to a run's own file, of the same name: …/${name})`,
    );
    check(statSync(real).isFile(), `${path}: not a file`);
    return real;
  }

  /**
   * The run files' paths, and why the traces are not read where they are not: run.json's or records.jsonl's
   * refusal is the run's (thrown), traces.jsonl's the traces' alone.
   */
  #files(): RunFiles {
    const runJson = this.#file("run.json"), records = this.#file("records.jsonl");
    try {
      return { runJson, records, traces: this.#file("traces.jsonl") };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { runJson, records, tracesNone: e.message };
    }
  }

  // a file replaced by another of its size and time (cp -p, rsync -a) is another inode, or a newer change time;
  // a link not followed, by the link's own (another link is another inode)
  #stamp(files: RunFiles): string {
    const of = (st: { size: number; mtimeMs: number; ino: number | null; ctimeMs: number }) =>
      `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
    return [files.runJson, files.records, files.traces].map((p) => p ? of(statSync(p)) : "-")
      .concat(files.tracesNone ? [of(lstatSync(join(this.dir, "traces.jsonl")))] : []).join("|");
  }

  /** How many record and trace lines this source has parsed (a read finding its files as they were: none). */
  get parses(): number {
    return this.#parses;
  }

  /** A folder bench --view waits for (not made yet), or undefined; a folder gone is an error. */
  #waiting(): true | undefined {
    if (!pathExists(this.dir) && this.#waited && !this.#there) return true;
    check(pathExists(this.dir), `${this.dir}: the run folder is gone (moved or removed)`);
    this.#there = true;
  }

  /**
   * What the run list shows: run.json and the records counted, neither records nor traces parsed (a folder of
   * hundreds of runs, polled every few seconds); a run whose last read failed, that failure, until its files change.
   */
  summary(): RunSummary {
    if (this.#waiting()) return { name: this.name, meta: {}, planned: null, records: 0, waiting: true };
    const files = this.#files(), stamp = this.#stamp(files), none = files.tracesNone;
    if (this.#failure?.stamp === stamp) throw this.#failure.error;
    if (this.#summary?.stamp === stamp) return this.#summary.summary;
    const data = this.#cache?.stamp === stamp ? this.#cache.data : undefined;
    const summary = this.#failing(stamp, () => {
      // a run not read keeps no run.json of its own for the list (RunCache bounds what the runs read hold)
      const { planned, ...meta } = data?.meta ?? this.#readMeta(files.runJson, false);
      return {
        name: this.name,
        meta,
        planned: Array.isArray(planned) ? planned.length : null,
        records: data?.records.length ?? (files.records ? this.#count.count(files.records) : 0),
        ...(none ? { tracesNone: none } : {}),
      };
    });
    this.#summary = { stamp, summary };
    return summary;
  }

  /** `f`, its failure kept with `stamp` (the files it failed on). */
  #failing<T>(stamp: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      this.#failure = { stamp, error: e as Error };
      throw e;
    }
  }

  /** run.json, parsed once for each version of the file (`keep`: kept for the next read). */
  #readMeta(runJson: string | undefined, keep = true): Record<string, unknown> {
    const stamp = runJson ? this.#stamp({ runJson }) : "-";
    if (this.#meta?.stamp === stamp) return this.#meta.meta;
    let meta: Record<string, unknown> = {};
    try {
      meta = runJson ? JSON.parse(readFileSync(runJson, "utf8")) : {};
    } catch (e) {
      // written whole, by rename: a copy half there is read again once it changes
      throw new InputError(`${join(this.dir, "run.json")}: not valid JSON (${oneLine((e as Error).message)})`);
    }
    check(
      meta !== null && typeof meta === "object" && !Array.isArray(meta),
      `${join(this.dir, "run.json")}: not a run.json of this project`,
    );
    if (keep) this.#meta = { stamp, meta };
    return meta;
  }

  /** The run as it is on disk now. */
  read(): RunData {
    if (this.#waiting()) {
      const none = new Map<string, Span>();
      const protocol = "the run has not started", lineage = {};
      return {
        name: this.name,
        meta: {},
        records: [],
        lineage,
        traces: none,
        trace: () => undefined,
        protocol,
        waiting: true,
      };
    }
    const files = this.#files(), stamp = this.#stamp(files);
    if (this.#cache?.stamp !== stamp) {
      if (this.#failure?.stamp === stamp) throw this.#failure.error;
      this.#cache = { stamp, data: this.#failing(stamp, () => this.#read(files)) };
    }
    const data = this.#cache.data;
    this.#held.touch(this, files.records ? statSync(files.records).size : 0, () => this.#release());
    return data;
  }

  #read({ runJson, records, traces, tracesNone }: RunFiles): RunData {
    const meta = this.#readMeta(runJson);
    const protocol = runProtocol(meta);
    const spans = traces ? this.#readTraces(traces) : new Map<string, Span>();
    return {
      name: this.name,
      meta,
      records: records ? this.#readRecords(records, meta) : [],
      lineage: records ? this.#lineage : {},
      traces: spans,
      trace: (key) => {
        const span = spans.get(key);
        return span && lineAt<TraceLine>(traces!, span, key);
      },
      protocol,
      ...(tracesNone ? { tracesNone } : {}),
    };
  }

  /**
   * The run's records, the lines appended since the last read parsed and checked (each once, as plot checks a whole
   * file: read once, planned, at the run's budgets, of one grader version); all of them checked again only where
   * run.json changed (another plan or budgets) while records.jsonl only grew.
   */
  #readRecords(file: string, meta: Record<string, unknown>): BenchRecord[] {
    this.#records.update(file, () => {
      this.#recordList = [], this.#seen = new Set(), this.#lineage = {};
      this.#against = new RunChecks(file, meta);
    }, (r, i) => {
      this.#parses++;
      checkRecordLines(file, [r], this.#seen, i);
      this.#against!.check(this.#recordList, r);
      this.#recordList.push(r);
    });
    if (this.#against!.meta !== meta) {
      // run.json changed, the records did not: every record against the new one
      const against = new RunChecks(file, meta);
      against.checkAll(this.#recordList);
      this.#against = against;
    }
    return this.#recordList.slice();
  }

  #readTraces(file: string): Map<string, Span> {
    this.#traces.update(file, () => this.#spans = new Map(), (t, i, span) => {
      this.#parses++;
      checkTraceLines(file, [t], i);
      this.#spans.set(recordKey(t), span);
    });
    // not copied: a poll of a growing run costs its appended traces, not a copy of every span
    return this.#spans;
  }
}
