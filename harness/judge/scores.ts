/**
 * judge.jsonl, beside a run folder's records: one line per trace × judge run, appended once the judge has
 * replied (a torn last line is cut off, as records.jsonl's), so a killed command resumes where it stopped and
 * nothing is counted twice; and what is read back from it: each trace's score (the mean of its runs' scores),
 * the mean of a group of traces with its 95% interval, and the agreement with human scores.
 */
import { join } from "node:path";
import { check, InputError, oneLine } from "../../engine/errors.ts";
import { appendLines, fileLines, pathInfo } from "../../engine/files.ts";
import { lockJudgeFile, readLines, recordKey } from "../bench/rundir.ts";
import { mean, problemsInterval, standardError } from "../report/stats.ts";
import { pValue } from "../report/compare.ts";
import { pearson } from "./correlation.ts";
import { parseScore } from "./prompt.ts";

type Key = { task: string; problem_id: string; method: string; seed: number };

export interface JudgeLine extends Key {
  /** the judge run, from 0 */
  run: number;
  judge: string;
  /**
   * where it ran: an endpoint's base URL, or "local:" and the model's folder or hub id (two endpoints serving one
   * model name are two judges); absent on a line from before it was keyed: another judge's, never counted as today's
   */
  where?: string;
  prompt_version: string;
  /** --prefix-tokens: each worker's first N tokens were shown (another N is another prompt, judged apart) */
  prefix_tokens: number;
  /** the tokenizer that cut those prefixes: its tokenizer.json's hash (absent: a line from before, as `where`) */
  tokenizer?: string;
  /** the model that replied, as an endpoint's response named it (absent: not named, or a local judge) */
  model?: string;
  /** the judge's reply as it came */
  reply: string;
  /** the reply stopped at the judge's token limit (absent: it ended, or was recorded before this was marked) */
  cut?: boolean;
  /** why this judge can never read the prompt (a local model's positions, an endpoint's context): no reply, no score */
  unjudgeable?: string;
  /** the rubric's score read from the reply; null when it holds none, was cut or is unjudgeable (never guessed) */
  score: number | null;
  /** tokens of each worker's block the judge was shown */
  tokens: number[];
}

/** A line's score: the reply's, by the one reader (prompt.ts parseScore); none from a reply cut at the limit. */
export const lineScore = (reply: string, cut: boolean | undefined): number | null => (cut ? null : parseScore(reply));

/** What names a judge's lines in a folder: the judge, where it ran, the prompt's version, the prefix and its tokenizer. */
export type LineJudge = Pick<JudgeLine, "judge" | "where" | "prompt_version" | "prefix_tokens" | "tokenizer">;

const judgeKey = (l: LineJudge) =>
  JSON.stringify([l.judge, l.where ?? null, l.prompt_version, l.prefix_tokens, l.tokenizer ?? null]);

const lineKey = (l: Pick<JudgeLine, keyof Key | "run"> & LineJudge) => [recordKey(l), l.run, judgeKey(l)].join("\t");

/** judge.jsonl of a run folder: its lines (each trace × run × judge × prompt once), and appends. */
export class JudgeFile {
  readonly file: string;
  readonly lines: JudgeLine[] = [];
  readonly #done = new Set<string>();
  /** the error of an append that failed */
  #failed?: Error;
  /** gives the folder's judge.lock back; undefined: read only */
  #release?: () => void;

  /**
   * `write`: for a command that appends: the folder's judge.lock taken first (another judge writing it is refused,
   * naming the lock), then a torn last line cut. Otherwise read only: nothing cut (it may be a line another judge is
   * appending now), only left unread, and no append.
   */
  constructor(dir: string, write: boolean) {
    this.file = join(dir, "judge.jsonl");
    if (write) this.#release = lockJudgeFile(dir);
    try {
      this.#read(write);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Gives the folder back to other judges (no append after). */
  close(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  #read(repair: boolean): void {
    readLines<JudgeLine>(this.file, repair).forEach((l, i) => {
      check(
        Number.isInteger(l.run) && typeof l.judge === "string" && typeof l.prompt_version === "string" &&
          typeof l.reply === "string" && (l.score === null || Number.isFinite(l.score)),
        `${this.file}:${i + 1}: not a judge line of this project (run, judge, prompt_version, reply, score)`,
      );
      // A local judge once refused a trace holding an added token's text (a worker's </think>); it reads it as text
      // now: such a line is no judgment by today's rule, and the run is asked again (the line stays in the file).
      if (typeof l.unjudgeable === "string" && FORMER_ADDED_TOKEN_REFUSAL.test(l.unjudgeable)) return;
      // Two commands on one folder at once could both append a trace's run: the first line counts. Its score is
      // read again from its reply, so a line written by an older reader is counted by today's rule.
      if (!this.#done.has(lineKey(l))) this.lines.push({ ...l, score: lineScore(l.reply, l.cut) });
      this.#done.add(lineKey(l));
    });
  }

  has(l: Parameters<typeof lineKey>[0]): boolean {
    return this.#done.has(lineKey(l));
  }

  /** Appends a reply's line; after a failed append every later one fails with its error (as RunDir.append). */
  append(l: JudgeLine): void {
    if (this.#failed) throw this.#failed;
    if (!this.#release) throw new Error(`${this.file}: opened read only, or closed`);
    if (this.has(l)) return;
    try {
      appendLines(this.file, JSON.stringify(l) + "\n");
    } catch (e) {
      throw this.#failed = e as Error;
    }
    this.lines.push(l);
    this.#done.add(lineKey(l));
  }
}

/** What a local judge recorded for a prompt holding one of its added tokens, before it read such text as text. */
const FORMER_ADDED_TOKEN_REFUSAL =
  /: the judge's prompt: its text holds .*, an added token of .*: it would be read as that token/;

export interface TraceScore extends Key {
  /** the mean of its runs' scores; null when no run's reply held one */
  score: number | null;
  runs: number;
  /** runs whose reply held no score */
  unscored: number;
}

/** Each trace's score from one judge (where it ran, prompt version, prefix and tokenizer), over runs 0 … runs − 1. */
export function traceScores(lines: readonly JudgeLine[], judge: LineJudge, runs: number): TraceScore[] {
  const byTrace = new Map<string, JudgeLine[]>(), key = judgeKey(judge);
  for (const l of lines) {
    if (judgeKey(l) !== key || l.run >= runs) continue;
    const k = recordKey(l);
    byTrace.set(k, [...(byTrace.get(k) ?? []), l]);
  }
  return [...byTrace.values()].map((ls) => {
    const scored = ls.flatMap((l) => (l.score === null ? [] : [l.score]));
    const { task, problem_id, method, seed } = ls[0];
    return {
      task,
      problem_id,
      method,
      seed,
      score: scored.length ? mean(scored) : null,
      runs: ls.length,
      unscored: ls.length - scored.length,
    };
  });
}

export interface GroupScore {
  /** traces with a score */
  n: number;
  /** their problems (task and problem id): the clusters the interval counts */
  problems: number;
  /** per problem the mean of its traces' scores (its seeds), then the mean over problems (the report's avg) */
  mean: number;
  /**
   * the 95% interval, the report's own (harness/report/stats.ts problemsInterval): clustered by problem, Student's t
   * within 1–6 widened to Wilson's near a bound; absent below two problems
   */
  lo?: number;
  hi?: number;
  /** traces whose runs held no score at all */
  unscored: number;
}

/**
 * A group's mean and interval as the report computes a method's (stats.ts): a trace's seeds of one problem are not
 * independent draws, so each problem's mean over its traces is one value, the error clustered by problem.
 */
export function groupScore(traces: readonly TraceScore[]): GroupScore {
  const byProblem = new Map<string, number[]>();
  for (const t of traces) {
    if (t.score === null) continue;
    const k = JSON.stringify([t.task, t.problem_id]);
    byProblem.set(k, [...(byProblem.get(k) ?? []), t.score]);
  }
  const means = [...byProblem.values()].map(mean), se = standardError(means);
  const scores = [...byProblem.values()].flat(), n = scores.length;
  // within the rubric; its ends alone (1 or 6): right-or-wrong answers, as the report reads them
  const binary = scores.every((s) => s === 1 || s === 6);
  const ci = se === undefined ? undefined : problemsInterval(means, se, { n, binary }, 1, 6);
  return {
    n,
    problems: means.length,
    mean: means.length ? mean(means) : NaN,
    ...(ci === undefined ? {} : { lo: ci[0], hi: ci[1] }),
    unscored: traces.length - n,
  };
}

/** Human scores: a JSONL file, task, problem_id, method, seed and a number in score per line. */
export type HumanScore = Key & { score: number };

/** The human scores of `file`, each line checked (read before any judging, so a bad file costs nothing). */
export function readHumanScores(file: string): HumanScore[] {
  const info = pathInfo(file, "--human");
  check(info, `--human ${file}: no such file`);
  check(
    info.isFile,
    `--human ${file}: not a file (${info.isDirectory ? "a folder" : "a device or a pipe"}); name a file`,
  );
  // written by hand or a script, not appended to: a last line without its newline is a line; blank lines skipped,
  // every line named by its own number in the file
  const human: HumanScore[] = [], lineOf = new Map<string, number>(), decoder = new TextDecoder();
  let n = 0;
  for (const bytes of fileLines(file, { unterminated: true })) {
    const text = decoder.decode(bytes), at = `--human ${file}:${++n}`;
    if (text.trim() === "") continue;
    const h = humanLine(text, at);
    // one score per trace: a trace given twice would be paired twice (n and p both wrong)
    const first = lineOf.get(recordKey(h));
    check(first === undefined, `${at}: the trace of line ${first} again (one score per trace)`);
    lineOf.set(recordKey(h), n);
    human.push(h);
  }
  // an empty file would pair nothing, and print an r of NaN
  check(human.length > 0, `--human ${file}: holds no scores`);
  return human;
}

/** What each field of a human score holds, and how a value is checked. */
const HUMAN_FIELDS = {
  task: ["a text", (v: unknown) => typeof v === "string"],
  problem_id: ["a text", (v: unknown) => typeof v === "string"],
  method: ["a text", (v: unknown) => typeof v === "string"],
  seed: ["a whole number", (v: unknown) => Number.isInteger(v)],
  score: ["a number", (v: unknown) => typeof v === "number" && Number.isFinite(v)],
} as const;

/** One line of a human-scores file, each field checked; `at` (`--human FILE:N`) names it in the refusal. */
function humanLine(text: string, at: string): HumanScore {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${at}: not JSON (${oneLine((e as Error).message)}); expected one object a line`);
  }
  const names = Object.keys(HUMAN_FIELDS).join(", ");
  check(
    v !== null && typeof v === "object" && !Array.isArray(v),
    `${at}: expected a JSON object (${names}), got ${Array.isArray(v) ? "an array" : JSON.stringify(v)}`,
  );
  const o = v as Record<string, unknown>;
  for (const [field, [kind, ok]] of Object.entries(HUMAN_FIELDS)) {
    check(field in o, `${at}: no "${field}" (${kind}); each line holds ${names}`);
    check(ok(o[field]), `${at}: "${field}": expected ${kind}, got ${JSON.stringify(o[field])}`);
  }
  return o as unknown as HumanScore;
}

/**
 * Refuses a human score whose trace is in two of the run folders (`traces`: each folder's traces judged), before
 * any judging: it could be paired with either folder's score. Traces the file does not name may be in several.
 */
export function checkHumanTraces(file: string, human: readonly HumanScore[], traces: Map<string, readonly Key[]>) {
  const folders = new Map<string, string[]>();
  for (const [dir, ts] of traces) {
    for (const t of ts) folders.set(recordKey(t), [...(folders.get(recordKey(t)) ?? []), dir]);
  }
  human.forEach((h, i) => {
    const dirs = folders.get(recordKey(h)) ?? [];
    check(
      dirs.length < 2,
      `--human ${file}:${i + 1}: the trace ${recordKey(h).replaceAll("\t", " / ")} is in two of the run folders ` +
        `given (${dirs.join(", ")}); give one of them, or a file of its traces only`,
    );
  });
}

/**
 * Human scores against the judge's trace scores: Pearson's r over the traces both scored, with how many human
 * scores had no judge score to pair with, and how many name a trace with fewer than `runs` judge runs recorded
 * (`short`: then there is no r yet, as no chart is drawn over such traces: its score would change with the rest).
 */
export function humanAgreement(human: readonly HumanScore[], judged: readonly TraceScore[], runs: number) {
  // a human trace in two folders was refused before the judging (checkHumanTraces); others may be in several
  const wanted = new Set(human.map(recordKey)), byKey = new Map<string, TraceScore>();
  for (const t of judged) if (wanted.has(recordKey(t))) byKey.set(recordKey(t), t);
  const pairs: [number, number][] = [];
  let short = 0;
  for (const h of human) {
    const t = byKey.get(recordKey(h));
    if (t && t.runs < runs) short++;
    else if (t && t.score !== null) pairs.push([h.score, t.score]);
  }
  const sides = { human: pairs.map((p) => p[0]), judge: pairs.map((p) => p[1]) };
  return {
    ...pearson(sides.human, sides.judge),
    runs,
    short,
    unpaired: human.length - pairs.length - short,
    /** the sides whose scores are all one value (no r) */
    flat: (["human", "judge"] as const).filter((s) => sides[s].length && sides[s].every((x) => x === sides[s][0])),
  };
}

/** The agreement as a line: r and p where there is one; too few pairs, or a side all equal, said so (never NaN). */
export function agreementText(a: ReturnType<typeof humanAgreement>): string {
  if (a.short) {
    return `human vs judge: no r yet: ${a.short} of the ${a.short + a.unpaired + a.n} human scores' traces have ` +
      `fewer than ${a.runs} judge runs recorded (as the chart, not drawn over them; the same command asks for the ` +
      "missing runs)";
  }
  const left = a.unpaired ? ` (${a.unpaired} human scores without a judge score left out)` : "";
  if (a.n < 3) return `human vs judge: ${a.n} traces paired, too few for Pearson's r (3 at least)${left}`;
  if (a.flat.length) {
    return `human vs judge: n = ${a.n} traces, no r: the ${a.flat.join(" and the ")} scores are all equal${left}`;
  }
  // the report's p formatter: three decimals, more where they would round across 0.05 or 0.01
  return `human vs judge: r = ${a.r.toFixed(3)}, p = ${pValue(a.p)}, n = ${a.n} traces${left}`;
}
