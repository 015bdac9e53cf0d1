/**
 * The judge's work over run folders: every trace × judge run that has no line in its folder's judge.jsonl yet
 * (its prompt built once per trace), then the replies asked for and appended as they come (deno task judge),
 * and the summary's bars read back.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pathExists, pathInfo } from "../../engine/files.ts";
import { check, InputError } from "../../engine/errors.ts";
import { hasQwenVocabulary, shapeConfig } from "../../engine/shapes.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import {
  checkTraceLines,
  eachLine,
  lineAt,
  readRecords,
  readRunJson,
  recordKey,
  type Span,
  type TraceLine,
  unfinishedRecords,
} from "../bench/rundir.ts";
import { Halt, type Judge, JudgeRequestError, type Reply, UnjudgeableError } from "./client.ts";
import { judgePrompt, type JudgeTemplate, mergedTranscript } from "./prompt.ts";
import type { Bar } from "./chart.ts";
import { groupScore, JudgeFile, type LineJudge, lineScore, type TraceScore, traceScores } from "./scores.ts";

/**
 * What identifies a judge's lines across folders: the judge, where it runs, its prompt's version, the prefix it
 * read; each folder's lines add the tokenizer that cut its prefixes (pendingWork's `keys`).
 */
export type JudgeKey = Required<Omit<LineJudge, "tokenizer">>;

/** A tokenizer's identity in judge.jsonl: a hash of its tokenizer.json and tokenizer_config.json as on disk. */
function tokenizerId(tok: TextTokenizer): string {
  const hash = createHash("sha256");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
    const file = join(tok.source, f);
    if (pathExists(file)) hash.update(f).update(readFileSync(file));
  }
  return `tokenizer.json@${hash.digest("hex").slice(0, 12)}`;
}

/**
 * The tokenizer that counts a run's prefixes: --tokenizer's folder, else the run's own model's. A random:SHAPE
 * of the Qwen families counts with the real Qwen tokenizer, as the engine runs those shapes.
 */
function runTokenizer(dir: string, override?: string): TextTokenizer {
  const model = override ??
    ((readRunJson(dir).model as { source?: unknown } | undefined)?.source as string | undefined);
  const where = override ? `--tokenizer ${override}` : `${dir}: the run's model ${model}`;
  check(typeof model === "string", `${dir}/run.json: no model.source; give --tokenizer DIR (the model's folder)`);
  if (model.startsWith("random:")) {
    check(
      hasQwenVocabulary(shapeConfig(model.slice("random:".length))),
      `${where}: random weights with no tokenizer; give --tokenizer DIR`,
    );
    return TextTokenizer.qwen3();
  }
  const info = pathInfo(model, override ? "--tokenizer" : undefined, "folder");
  check(
    info,
    `${where} is not on this machine, and its tokenizer counts the workers' prefixes: give --tokenizer DIR (a folder with its tokenizer.json)`,
  );
  check(info.isDirectory, `${where}: not a folder; give --tokenizer DIR (a folder with its tokenizer.json)`);
  const tok = TextTokenizer.fromDir(model);
  check(tok, `${where}: no tokenizer.json to count the workers' prefixes; give --tokenizer DIR`);
  return tok;
}

/** What names a trace: its record's key. */
export type TraceHead = Pick<TraceLine, "task" | "problem_id" | "method" | "seed">;

/** One reply to get: a trace, a judge run, and its prompt, built when asked (judgeAll). */
export interface Work {
  file: JudgeFile;
  /** the judge's key in this folder (its tokenizer's) */
  key: LineJudge;
  trace: TraceHead;
  run: number;
  /**
   * the prompt and each worker's tokens shown, and whether every worker's text is empty (nothing to judge): built
   * from the trace read again, once for all its runs
   */
  prompt: () => { prompt: string; tokens: number[]; empty: boolean };
}

/**
 * `make`'s value for `n` calls, made at the first and let go at the last: a trace's prompt is held while its runs
 * are asked for, not from the start (every trace's prompt at once passes the heap on a large run).
 */
function sharedBy<T>(n: number, make: () => T): () => T {
  let made: T | undefined, calls = 0;
  return () => {
    const value = made ?? make();
    made = ++calls < n ? value : undefined;
    return value;
  };
}

/**
 * Runs `fn` over `items`, at most `n` at once. The first error stops it: `halt` set, no item started after, and the
 * calls in flight finished (their replies are paid for: recorded) before it is thrown.
 */
async function pool<T>(items: readonly T[], n: number, halt: Halt, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0, error: { e: unknown } | undefined;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (!halt.stopped && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (e) {
        error ??= { e };
        halt.stop();
      }
    }
  }));
  if (error) throw error.e;
}

/**
 * Every run folder's traces (two or more writers, of `methods` if given) and the replies they still lack; `empty`:
 * a line for each folder with no such trace, saying why. None in any folder is refused: a table and chart of
 * nothing, exit 0, would read as done (a mistyped glob, a folder of sequential runs). `unfinished`: what is
 * unfinished of each folder whose run is ("3 of 6 planned records"), by folder.
 */
export function pendingWork(
  dirs: readonly string[],
  o: { runs: number; line: JudgeKey; template: JudgeTemplate; methods?: string[]; tokenizer?: string },
): {
  files: Map<string, JudgeFile>;
  traces: Map<string, TraceHead[]>;
  /** each folder's judge key: `line` and the tokenizer that cuts its prefixes */
  keys: Map<string, LineJudge>;
  work: Work[];
  empty: string[];
  unfinished: Map<string, string>;
} {
  const { runs, line, template, methods } = o, prefix = line.prefix_tokens;
  const files = new Map<string, JudgeFile>(), traces = new Map<string, TraceHead[]>();
  const keys = new Map<string, LineJudge>();
  const work: Work[] = [], empty: string[] = [], unfinished = new Map<string, string>();
  const judgeable = new Set<string>(); // the methods with traces of two or more workers, in any folder
  try {
    planWork();
  } catch (e) {
    for (const f of files.values()) f.close(); // the folders taken so far given back
    throw e;
  }
  return { files, traces, keys, work, empty, unfinished };

  function planWork() {
    for (const dir of dirs) {
      const records = readRecords(dir), done = new Set(records.map(recordKey));
      const left = unfinishedRecords(records.length, pathExists(join(dir, "run.json")) ? readRunJson(dir) : {});
      if (left) unfinished.set(dir, left);
      // each recorded trace's head, writers and span (a trace twice: its last): never the folder's traces at once
      const traceFile = join(dir, "traces.jsonl");
      const recorded = new Map<string, { head: TraceHead; writers: number; span: Span }>();
      if (pathExists(traceFile)) {
        let i = 0;
        for (const { line: t, span } of eachLine<TraceLine>(traceFile)) {
          checkTraceLines(traceFile, [t], i++);
          const key = recordKey(t), { task, problem_id, method, seed } = t;
          if (done.has(key)) {
            recorded.set(key, { head: { task, problem_id, method, seed }, writers: t.workers.length, span });
          }
        }
      }
      const all = [...recorded].filter(([, t]) => t.writers >= 2);
      for (const [, t] of all) judgeable.add(t.head.method);
      const own = all.filter(([, t]) => !methods || methods.includes(t.head.method));
      if (own.length === 0) {
        empty.push(`${dir}: no trace to judge: ${whyNone(done.size, [...recorded.values()], all.map(([, t]) => t))}`);
      }
      // read first without the lock: a folder judged already is only read (a read-only mount, another judge's)
      let file = new JudgeFile(dir, false);
      files.set(dir, file);
      traces.set(dir, own.map(([, t]) => t.head));
      if (own.length === 0) continue;
      // the tokenizer is part of the key: another one cuts other prefixes (a line of another is not this one's)
      const tokenizer = runTokenizer(dir, o.tokenizer);
      const judgeKey: LineJudge = { ...line, tokenizer: tokenizerId(tokenizer) };
      keys.set(dir, judgeKey);
      const unaskedOf = (head: TraceHead) =>
        Array.from({ length: runs }, (_, run) => run).filter((run) => !file.has({ ...head, ...judgeKey, run }));
      if (own.some(([, { head }]) => unaskedOf(head).length)) {
        // work to write: judge.jsonl is this command's until it closes it (another judge at once is refused),
        // read again under the lock
        file = new JudgeFile(dir, true);
        files.set(dir, file);
      }
      for (const [key, { head, span }] of own) {
        const unasked = unaskedOf(head);
        if (unasked.length === 0) continue;
        const prompt = sharedBy(unasked.length, () => {
          const trace = lineAt<TraceLine>(traceFile, span, key);
          const transcript = mergedTranscript(trace, tokenizer, prefix);
          return {
            prompt: judgePrompt(template, trace, transcript),
            tokens: transcript.tokens,
            empty: trace.workers.every((w) => w.trim() === ""),
          };
        });
        for (const run of unasked) work.push({ file, key: judgeKey, trace: head, run, prompt });
      }
    }
    // a method named that no folder has would judge nothing and say nothing
    for (const m of methods ?? []) {
      check(
        judgeable.has(m),
        `--methods ${m}: no trace of two or more workers in the run folders (they have ${
          [...judgeable].join(", ") || "none"
        })`,
      );
    }
    check(
      empty.length < dirs.length,
      `judge: nothing to judge in the run folders given (traces of two or more writers with a record): ${
        empty.join("; ")
      }`,
    );
  }
}

/** Why a folder has no trace to judge: no records, no traces of them, traces of one writer, or none asked for. */
function whyNone(
  records: number,
  recorded: readonly { head: TraceHead; writers: number }[],
  all: readonly { head: TraceHead }[],
): string {
  const methods = (ts: readonly { head: TraceHead }[]) => [...new Set(ts.map((t) => t.head.method))].join(", ");
  if (records === 0) return "no records yet";
  if (recorded.length === 0) return `${records} records, and no trace of them in traces.jsonl`;
  if (all.length === 0) {
    return `its ${recorded.length} traces with a record have one writer each (${methods(recorded)})`;
  }
  return `none of the methods asked for (it has ${methods(all)})`;
}

/**
 * Asks `judge` for every reply of `work`, `concurrency` at once, each appended to its folder as it comes. A prompt
 * the judge can never read is appended too, as such (`unjudgeable`, no reply, no score), and listed; so is, without
 * a request, a trace whose workers all wrote nothing (`empty`): no judge can rate a collaboration in no text.
 */
export async function judgeAll(
  judge: Judge,
  work: readonly Work[],
  concurrency: number,
): Promise<{ got: number; failures: string[]; unjudgeable: string[]; empty: string[] }> {
  const failures: string[] = [], unjudgeable: string[] = [], empty: string[] = [];
  // replies recorded after a stop: the requests in flight when another's error stopped the command
  let got = 0, late = 0;
  const halt = new Halt();
  try {
    await pool(work, concurrency, halt, judgeOne);
  } finally {
    if (halt.stopped) console.error(`judge: stopping: ${late} replies in flight recorded`);
  }
  return { got, failures, unjudgeable, empty };

  async function judgeOne(w: Work) {
    const { task, problem_id, method, seed } = w.trace;
    const key = { task, problem_id, method, seed, run: w.run, ...w.key };
    // a trace's key is its folder's alone
    const named = (e: Error) =>
      `${dirname(w.file.file)}: ${recordKey(w.trace).replaceAll("\t", " / ")}, judge run ${w.run}: ${e.message}`;
    let prompt: string, tokens: number[], blank: boolean, reply: Reply;
    try {
      // its trace read now: one changed since (a resume's rewrite) is this trace's failure, not every reply's
      ({ prompt, tokens, empty: blank } = w.prompt());
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      failures.push(named(e));
      return;
    }
    if (blank) {
      // a score of no text would be a guess about nothing: recorded as unjudgeable, no request paid for
      const why = "every worker's text is empty: nothing to judge (not sent)";
      w.file.append({ ...key, reply: "", unjudgeable: why, score: null, tokens });
      empty.push(named(new Error(why)));
      return;
    }
    try {
      reply = await judge.reply(prompt, w.run, halt);
    } catch (e) {
      if (e instanceof UnjudgeableError) {
        w.file.append({ ...key, reply: "", unjudgeable: e.message, score: null, tokens });
        if (halt.stopped) late++;
        unjudgeable.push(named(e));
        return;
      }
      if (!(e instanceof JudgeRequestError)) throw e;
      failures.push(named(e));
      return;
    }
    w.file.append({
      ...key,
      reply: reply.text,
      ...(reply.cut ? { cut: true } : {}),
      ...(reply.model === undefined ? {} : { model: reply.model }),
      score: lineScore(reply.text, reply.cut),
      tokens,
    });
    if (halt.stopped) late++;
    if (++got % 25 === 0) console.error(`judge: ${got}/${work.length} replies`);
  }
}

/**
 * The summary's bars: per run folder and method (or setting, in --settings' order: `settings` maps a method to
 * its label), the mean of its traces' scores by this judge; every trace's score (those with no run recorded: none,
 * 0 runs); and the unfinished runs (what
 * pendingWork found of each), named as the bars name them, as the bench's plots name them.
 */
export function judgedBars(
  dirs: readonly string[],
  files: Map<string, JudgeFile>,
  traces: Map<string, TraceHead[]>,
  o: {
    /** each folder's judge key (pendingWork's) */
    keys: Map<string, LineJudge>;
    runs: number;
    settings?: Map<string, string>;
    unfinished?: Map<string, string>;
  },
): { bars: Bar[]; all: TraceScore[]; unfinished: string[] } {
  // a folder by its name, or by its path where two share a name
  const short = dirs.map((d) => basename(resolve(d)));
  const names = short.map((n, i) => (short.indexOf(n) !== short.lastIndexOf(n) ? dirs[i] : n));
  const bars: Bar[] = [];
  const all = dirs.flatMap((dir, i) => {
    const folder = traces.get(dir)!, judged = new Set(folder.map(recordKey));
    const key = o.keys.get(dir);
    const scores = key === undefined
      ? [] // no trace of this folder judged
      : traceScores(files.get(dir)!.lines, key, o.runs).filter((t) => judged.has(recordKey(t)));
    const byKey = new Map(scores.map((s) => [recordKey(s), s]));
    const order = o.settings ? [...o.settings.keys()] : [...new Set(folder.map((t) => t.method))].sort();
    for (const method of order) {
      const mine = scores.filter((s) => s.method === method);
      bars.push({
        ...groupScore(mine),
        run: names[i],
        setting: o.settings?.get(method) ?? method,
        method,
        incomplete: folder.filter((t) => t.method === method && (byKey.get(recordKey(t))?.runs ?? 0) < o.runs).length,
        runsUnscored: mine.reduce((n, s) => n + s.unscored, 0),
      });
    }
    // the traces with no run recorded yet too (every reply failed): none of their runs, as the chart counts them
    return [
      ...scores,
      ...folder.filter((t) => !byKey.has(recordKey(t))).map((t) => ({ ...t, score: null, runs: 0, unscored: 0 })),
    ];
  });
  const unfinished = dirs.flatMap((d, i) => {
    const left = o.unfinished?.get(d);
    return left ? [dirs.length > 1 ? `${names[i]} (${left})` : left] : [];
  });
  return { bars, all, unfinished };
}
