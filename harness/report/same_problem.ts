/**
 * Whether records of two run folders paired by problem id are one problem (solo-check, compare): a key pairs them
 * by id only, and another data file (--task custom without ids, another --limit of a shuffled set) gives an id to
 * another problem.
 */
import { join } from "node:path";
import { pathExists } from "../../engine/files.ts";
import { type BenchRecord, readRunJson, recordKey, traceTexts } from "../bench/rundir.ts";

/** One folder's side of a pairing: its name, and the problem texts its traces hold by record key. */
export interface ProblemTexts {
  dir: string;
  /** from traces.jsonl's `problem` (traces written before that field lack it) */
  texts: ReadonlyMap<string, string>;
}

/**
 * What two folders say of their problems: whether their run keys' data hash is one (the same problems under the
 * same ids; it covers every problem a run selected, so another --limit or task list of the same data differs),
 * and, only where it is not, their traces' problem texts (a run's traces grow to hundreds of MB).
 */
export function problemTexts(dirA: string, dirB: string): { sameData: boolean; a: ProblemTexts; b: ProblemTexts } {
  const data = (dir: string) =>
    pathExists(join(dir, "run.json")) ? (readRunJson(dir).spec as { data?: unknown } | undefined)?.data : undefined;
  const sameData = data(dirA) !== undefined && data(dirA) === data(dirB);
  const texts = (dir: string) => ({ dir, texts: sameData ? new Map<string, string>() : traceTexts(dir) });
  return { sameData, a: texts(dirA), b: texts(dirB) };
}

/**
 * Why `a` (of `x`) and `b` (of `y`), paired by problem id, may be other problems, or undefined: golds and grading
 * must agree, and the problem's text: from both traces, or, where a trace lacks it, from both run keys' data hash
 * being one.
 */
export function problemDifference(
  x: ProblemTexts,
  a: BenchRecord,
  y: ProblemTexts,
  b: BenchRecord,
  sameData: boolean,
): string | undefined {
  const [ta, tb] = [x.texts.get(recordKey(a)), y.texts.get(recordKey(b))];
  return JSON.stringify(a.golds) !== JSON.stringify(b.golds)
    ? `golds ${JSON.stringify(a.golds)} vs ${JSON.stringify(b.golds)}`
    : a.grading !== b.grading
    ? `grading ${a.grading} vs ${b.grading}`
    : ta !== undefined && tb !== undefined
    ? ta !== tb ? "the problem's text differs in traces.jsonl" : undefined
    : !sameData
    ? `traces.jsonl of ${ta === undefined ? x.dir : y.dir} has no problem text for it, and the folders' run.json ` +
      "hold no one data hash: cannot tell it is the same problem"
    : undefined;
}
