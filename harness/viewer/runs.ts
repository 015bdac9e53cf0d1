/**
 * Run folders as the viewer reads them: run.json, records.jsonl and traces.jsonl, re-read when they change
 * (a bench appending, a resume, a merge), never written. Only those three files of the folders given are read,
 * and only where they resolve inside their folder (a symlink pointing out is not followed: said as an error).
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { check } from "../../engine/errors.ts";
import { loadProtocol, type Protocol } from "../generation/prompts.ts";
import {
  type BenchRecord,
  checkOneGrader,
  checkPlanned,
  readLines,
  readRecordLines,
  recordKey,
  type TraceLine,
} from "../bench/rundir.ts";

export interface RunData {
  name: string;
  meta: Record<string, unknown>;
  records: BenchRecord[];
  traces: Map<string, TraceLine>;
  /** the protocol's redundancy check text, to mark it in the workers' text */
  redundancyCheck: string;
  /** the protocol's step prefix ({name}, {step}): the headers the measures leave out */
  stepPrefix: string;
}

export class RunSource {
  #cache?: { stamp: string; data: RunData };
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
    } catch {
      meta = {}; // being rewritten (it is written whole, by rename, but a copy may be half there)
    }
    check(
      meta !== null && typeof meta === "object" && !Array.isArray(meta),
      `${join(this.dir, "run.json")}: not a run.json of this project`,
    );
    const spec = (meta.spec_full ?? meta.spec ?? {}) as { protocol?: string };
    let protocol: Protocol;
    try {
      protocol = loadProtocol(spec.protocol);
    } catch {
      protocol = loadProtocol(); // the user's protocol file has moved
    }
    const list = records ? readRecordLines(records, false) : [];
    if (records) checkPlanned(records, list, meta.planned), checkOneGrader(records, list); // as plot refuses them
    const data: RunData = {
      name: this.name,
      meta,
      records: list,
      traces: new Map((traces ? readLines<TraceLine>(traces, false) : []).map((t) => [recordKey(t), t])),
      redundancyCheck: protocol.redundancyCheck,
      stepPrefix: protocol.stepPrefix,
    };
    this.#cache = { stamp, data };
    return data;
  }
}
