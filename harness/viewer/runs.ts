/**
 * Run folders as the viewer reads them: run.json, records.jsonl and traces.jsonl, re-read when they change
 * (a bench appending, a resume, a merge), never written. Only those three files of the folders given are read,
 * and only where they resolve inside their folder (a symlink pointing out is not followed).
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { check } from "../../engine/errors.ts";
import { loadProtocol } from "../generation/prompts.ts";
import {
  type BenchRecord,
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
}

export class RunSource {
  #cache?: { stamp: string; data: RunData };
  readonly name: string;

  constructor(readonly dir: string) {
    this.name = basename(dir);
  }

  /** The path of a run file, if it is a plain file inside the folder. */
  #file(name: string): string | undefined {
    const path = join(this.dir, name);
    if (!existsSync(path)) return undefined;
    const real = realpathSync(path), root = realpathSync(this.dir);
    return real.startsWith(root + sep) && statSync(real).isFile() ? real : undefined;
  }

  #stamp(): string {
    return ["run.json", "records.jsonl", "traces.jsonl"].map((f) => {
      const p = this.#file(f);
      if (!p) return "-";
      const st = statSync(p);
      return `${st.size}:${st.mtimeMs}`;
    }).join("|");
  }

  /** The run as it is on disk now. */
  read(): RunData {
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
    let redundancyCheck: string;
    try {
      redundancyCheck = loadProtocol(spec.protocol).redundancyCheck;
    } catch {
      redundancyCheck = loadProtocol().redundancyCheck; // the user's protocol file has moved
    }
    const list = records ? readRecordLines(records, false) : [];
    if (records) checkPlanned(records, list, meta.planned);
    const data: RunData = {
      name: this.name,
      meta,
      records: list,
      traces: new Map((traces ? readLines<TraceLine>(traces, false) : []).map((t) => [recordKey(t), t])),
      redundancyCheck,
    };
    this.#cache = { stamp, data };
    return data;
  }
}
