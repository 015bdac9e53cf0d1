/**
 * Run folders as the viewer reads them: run.json, records.jsonl and traces.jsonl, re-read when they change
 * (a bench appending, a resume, a merge), never written. Only those three files of the folders given are read,
 * and only where they resolve inside their folder (a symlink pointing out is not followed: said as an error).
 */
import { Buffer } from "node:buffer";
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { check, InputError, oneLine } from "../../engine/errors.ts";
import { loadProtocol, type Protocol, protocolFile } from "../generation/prompts.ts";
import { protocolHash } from "../bench/run_key.ts";
import {
  type BenchRecord,
  checkOneGrader,
  checkPlanned,
  checkRecordLines,
  checkTraceLines,
  readLinesFrom,
  recordKey,
  type TraceLine,
} from "../bench/rundir.ts";

export interface RunData {
  name: string;
  meta: Record<string, unknown>;
  records: BenchRecord[];
  traces: Map<string, TraceLine>;
  /**
   * the run's protocol (its step heads left out of the measures, its redundancy check marked in the workers' text),
   * or why it is not known (runProtocol)
   */
  protocol: Protocol | string;
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
 * grow to hundreds of MB, and the viewer reads on every change), and the whole file again when it was replaced,
 * cut, or rewritten in place where bytes sampled over what was read differ (the project's own rewrites rename;
 * an edit by hand that keeps the file's length and falls between the samples shows once the viewer restarts).
 */
class Tail<T> {
  lines: T[] = [];
  #at?: { ino: number; end: number; print: string };

  /**
   * Reads what was appended, and gives it to `take` with the count of lines above it, `reset` when the file is
   * another (every line given). Any error, the read's or `take`'s, forgets the file: the next call reads it whole.
   */
  update(file: string, take: (added: T[], before: number, reset: boolean) => void): void {
    try {
      const st = statSync(file), at = this.#at;
      const same = at !== undefined && at.ino === st.ino && st.size >= at.end && fingerprint(file, at.end) === at.print;
      const before = same ? this.lines.length : 0;
      const { lines, end } = readLinesFrom<T>(file, same ? at.end : 0, before);
      take(lines, before, !same);
      this.lines = same ? this.lines.concat(lines) : lines;
      this.#at = { ino: st.ino, end, print: fingerprint(file, end) };
    } catch (e) {
      this.lines = [], this.#at = undefined;
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
  #seen = new Set<string>();
  #traces = new Tail<TraceLine>();
  #byKey = new Map<string, TraceLine>();
  readonly name: string;

  constructor(readonly dir: string) {
    this.name = basename(dir);
  }

  /** The path of a run file, if there is one; one that is not a plain file inside the folder is an error. */
  #file(name: string): string | undefined {
    const path = join(this.dir, name);
    if (!existsSync(path)) return undefined;
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
    check(existsSync(this.dir), `${this.dir}: the run folder is gone (moved or removed)`);
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
    const data: RunData = {
      name: this.name,
      meta,
      records: records ? this.#readRecords(records, meta.planned) : [],
      traces: traces ? this.#readTraces(traces) : new Map(),
      protocol,
    };
    this.#cache = { stamp, data };
    return data;
  }

  #readRecords(file: string, planned: unknown): BenchRecord[] {
    this.#records.update(file, (added, before, reset) => {
      if (reset) this.#seen = new Set();
      checkRecordLines(file, added, this.#seen, before);
    });
    const list = this.#records.lines;
    checkPlanned(file, list, planned), checkOneGrader([{ name: file, records: list }]); // as plot refuses them
    return list;
  }

  #readTraces(file: string): Map<string, TraceLine> {
    this.#traces.update(file, (added, before, reset) => {
      if (reset) this.#byKey = new Map();
      checkTraceLines(file, added, before);
      for (const t of added) this.#byKey.set(recordKey(t), t);
    });
    return new Map(this.#byKey);
  }
}
