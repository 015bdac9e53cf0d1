/**
 * Run folders as the viewer reads them: run.json, records.jsonl and traces.jsonl, re-read when they change
 * (a bench appending, a resume, a merge), never written. Only those three files of the folders given are read,
 * and only where they resolve inside their folder (a symlink pointing out is not followed: said as an error).
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { pathExists } from "../../engine/files.ts";
import { basename, join, sep } from "node:path";
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
  /** where each record's trace lies in traces.jsonl, by record key: the traces are read one at a time (trace) */
  traces: ReadonlyMap<string, Span>;
  /** the trace of a record key, read from traces.jsonl (a key without one: undefined) */
  trace: (key: string) => TraceLine | undefined;
  /**
   * the run's protocol (its step heads left out of the measures, its redundancy check marked in the workers' text),
   * or why it is not known (runProtocol)
   */
  protocol: Protocol | string;
  /** a folder bench --view is waiting for (the bench makes it once its model is loaded): no run yet, and no error */
  waiting?: true;
}

/**
 * The protocol a run wrote its traces with: the file its run.json names (else the project's), where it still holds
 * what the run's key hashed; else why not. Another protocol's step heads would be counted as the workers' words.
 */
function runProtocol(meta: Record<string, unknown>): Protocol | string {
  const file = ((meta.spec_full ?? meta.spec ?? {}) as { protocol?: string }).protocol;
  const where = protocolFile(file);
  let protocol: Protocol;
  try {
    protocol = loadProtocol(file);
  } catch (e) {
    return `the run's protocol file ${where} cannot be read (${oneLine((e as Error).message)})`;
  }
  const hash = (meta.spec as Record<string, unknown> | undefined)?.["prompt protocol"];
  // a folder from before the key hashed the protocol: the file is taken at its word
  if (hash !== undefined && hash !== protocolHash(protocol)) {
    return `the run's protocol file ${where} is no longer what the run read (its hash in run.json differs)`;
  }
  return protocol;
}

/**
 * A file written by appends, followed: each read parses only the lines appended since the last (a run's traces
 * grow to gigabytes, and the viewer reads on every change), and the whole file again when it was replaced, cut,
 * or rewritten in place where bytes sampled over what was read differ (the project's own rewrites rename; an edit
 * by hand that keeps the file's length and falls between the samples shows once the viewer restarts). The lines
 * are given one at a time and not kept: what a reader keeps of each is its own (a trace's key and span).
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

export class RunSource {
  #cache?: { stamp: string; data: RunData };
  #records = new Tail<BenchRecord>();
  #recordList: BenchRecord[] = [];
  #seen = new Set<string>();
  #traces = new Tail<TraceLine>();
  #spans = new Map<string, Span>();
  readonly name: string;
  readonly #waited: boolean;
  /** whether the folder was ever there (a folder waited for and then gone is gone) */
  #there = false;

  /** `waited`: the folder of a bench that has not made it yet (--view): until it exists, the run is waiting. */
  constructor(readonly dir: string, o: { waited?: boolean } = {}) {
    this.name = basename(dir);
    this.#waited = o.waited ?? false;
  }

  /** The path of a run file, if there is one; one that is not a plain file inside the folder is an error. */
  #file(name: string): string | undefined {
    const path = join(this.dir, name);
    if (!pathExists(path)) return undefined;
    const real = realpathSync(path), root = realpathSync(this.dir);
    check(real.startsWith(root + sep), `${path}: points outside the run folder (to ${real}); not read`);
    check(statSync(real).isFile(), `${path}: not a file`);
    return real;
  }

  // a file replaced by another of its size and time (cp -p, rsync -a) is another inode, or a newer change time
  #stamp(): string {
    return ["run.json", "records.jsonl", "traces.jsonl"].map((f) => {
      const p = this.#file(f);
      if (!p) return "-";
      const st = statSync(p);
      return `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
    }).join("|");
  }

  /** The run as it is on disk now. */
  read(): RunData {
    if (!pathExists(this.dir) && this.#waited && !this.#there) {
      const none = new Map<string, Span>();
      const protocol = "the run has not started";
      return { name: this.name, meta: {}, records: [], traces: none, trace: () => undefined, protocol, waiting: true };
    }
    check(pathExists(this.dir), `${this.dir}: the run folder is gone (moved or removed)`);
    this.#there = true;
    const stamp = this.#stamp();
    if (this.#cache?.stamp === stamp) return this.#cache.data;
    const runJson = this.#file("run.json"), records = this.#file("records.jsonl"), traces = this.#file("traces.jsonl");
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
    const protocol = runProtocol(meta);
    const spans = traces ? this.#readTraces(traces) : new Map<string, Span>();
    const data: RunData = {
      name: this.name,
      meta,
      records: records ? this.#readRecords(records, meta) : [],
      traces: spans,
      trace: (key) => {
        const span = spans.get(key);
        return span && lineAt<TraceLine>(traces!, span, key);
      },
      protocol,
    };
    this.#cache = { stamp, data };
    return data;
  }

  #readRecords(file: string, meta: Record<string, unknown>): BenchRecord[] {
    this.#records.update(file, () => {
      this.#recordList = [], this.#seen = new Set();
    }, (r, i) => {
      checkRecordLines(file, [r], this.#seen, i);
      this.#recordList.push(r);
    });
    const list = this.#recordList.slice();
    // as plot refuses them
    checkPlanned(file, list, meta.planned), checkOneGrader([{ name: file, records: list }]);
    checkBudgets(file, list, (meta.spec as { budgets?: unknown } | undefined)?.budgets);
    return list;
  }

  #readTraces(file: string): Map<string, Span> {
    this.#traces.update(file, () => this.#spans = new Map(), (t, i, span) => {
      checkTraceLines(file, [t], i);
      this.#spans.set(recordKey(t), span);
    });
    return new Map(this.#spans);
  }
}
