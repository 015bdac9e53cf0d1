/**
 * What every method's run of one problem shares (docs/methods.md, "The life of a run"): it plans rows for the next
 * pass, takes the sampled ids back, counts its passes and wall time, reads an answer at each checkpoint of
 * the budget grid (the early stop's, one already written, or the finisher's) and records it. Methods say
 * only how their writers fill a pass (run.ts for workers over a layout; other families in their file in
 * harness/generation/methods/).
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import type { Row } from "../../engine/plan.ts";
import type { TokenLogprobs } from "../../engine/sampler.ts";
import { Finisher, type FinisherSettings } from "./finisher.ts";
import type { AnswerFormat } from "./answer_format.ts";

/**
 * The version of how a checkpoint's times are counted, in every run folder's key, so that no folder mixes two
 * rules. 2: a checkpoint counts only its own finisher's passes (1 counted every earlier checkpoint's too). 3: solo
 * times come from a cost model that charges the blocks a pass reads (harness/bench/cost.ts `segments`, `blocks`;
 * 2's model was blind to them, understating most the methods whose views hold many blocks): a folder of 2 keeps
 * its model and is read as it is, but no bench resumes it, and merge and solo-check do not pair it with one of 3.
 */
export const TIMING_VERSION = 3;

/**
 * The version of the writers' and finishers' token rules, in the key of a run folder where they change its
 * records (the run samples, or writes programs), so that no folder mixes two. 2: each problem draws its own
 * stream (problemSeed; 1 gave every problem of a seed the same draws); a finisher's end id is not in its answer.
 */
export const GENERATION_VERSION = 2;

/**
 * A row of a pass; one with a sampler also says what to do with the id sampled for it (and, for a row with
 * `logprobs`, its log-probabilities).
 */
export type PlannedRow = Row & { take?: (id: number, logprobs?: TokenLogprobs) => void };

export type AnswerSource = "early-stop" | "generated" | "finisher" | "none";

/** The answer at one checkpoint of the budget grid, as records.jsonl holds it (before grading). */
export interface Checkpoint {
  budget: number;
  /** the run's passes when the answer was read */
  passes: number;
  answer: string | null;
  source: AnswerSource;
  /** tokens generated per writer so far */
  tokens: number[];
  /** the time it would have taken alone on this device: the cost model over its own rows of each pass, ms */
  solo_ms: number;
  /** wall time of the passes this run took part in (shared passes counted whole), ms */
  shared_ms: number;
  finisher_passes: number;
  /**
   * a "generated" or "early-stop" answer's writer: the index (in texts() and the trace's `names`) of the one whose
   * text it was read from; null where none alone wrote it (a vote); absent otherwise, and in records before it
   */
  writer?: number | null;
  /** self-consistency: the most frequent of the workers' own answers */
  vote?: string | null;
  /**
   * methods whose writers each reason alone to an answer: each one's own answer written so far, null where it
   * has none; their verdicts' mean is the Pass@1 that such methods' papers report
   */
  paths?: (string | null)[];
}

export interface StepRecord {
  worker: number;
  step: number;
  text: string;
  ids: number[];
  /** the run's pass at which the step ended */
  pass: number;
  /** text the harness wrote into the writer's sequence (a trigger, peers' text read), not the model's own */
  inserted?: true;
}

/** A generated text an answer may be read from, and its writer (an index of texts()). */
export interface WrittenText {
  writer: number;
  text: string;
}

/** An answer already written, and who wrote it (null: no one writer, as a vote). */
export interface Written {
  answer: string;
  writer: number | null;
}

/**
 * The answer written last: the last one of the last text holding one, with that text's writer. The one rule for
 * who wrote a written answer: the solver's at a checkpoint, and the viewer's for records from before `writer`.
 */
export function lastWritten(texts: readonly WrittenText[], format: AnswerFormat, open: boolean): Written | undefined {
  for (let i = texts.length - 1; i >= 0; i--) {
    const answer = format.written(texts[i].text, open);
    if (answer !== undefined) return { answer, writer: texts[i].writer };
  }
  return undefined;
}

/**
 * The seed of a run of `problem` under the experiment's seed: each problem draws its own random stream (one
 * stream for every problem made a seed's problems take their first decisions together), the same for every
 * method (their paired comparisons are on common random numbers).
 */
export function problemSeed(seed: number, problem: string): number {
  let h = 0x811c9dc5; // FNV-1a over the text's UTF-8 bytes
  for (const b of new TextEncoder().encode(problem)) h = Math.imul(h ^ b, 0x01000193);
  return (h ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/** The sampling seed of a run's `index`-th writer: distinct per writer, reproducible per run seed. */
export function writerSeed(seed: number, index: number): number {
  return (seed * 1000003 + index * 7919) >>> 0;
}

export type Phase = "decode" | "finish" | "done";

/**
 * The step length the bench's KV bounds assume (generated tokens a step on average, at the least); shorter steps
 * cost more pages (each step a block, its last page part-filled, and a prefix): Solver.kvTokens' `step`.
 */
export const TYPICAL_STEP = 32;

/** `tokens` rounded up to whole pages. */
export function pageTokens(tokens: number, pageSize: number): number {
  return Math.ceil(tokens / pageSize) * pageSize;
}

/** Where the finisher reads from: its view before its own tail, and its first row's tokens. */
export interface FinisherStart {
  before: Block[];
  first: number[];
}

export abstract class Solver {
  readonly steps: StepRecord[] = [];
  readonly checkpoints: Checkpoint[] = [];
  /** wall time of every pass this run took part in, in order (finisher passes included), ms */
  readonly passMs: number[] = [];
  /** called when a step is finished (tracing) */
  onStep?: (s: StepRecord) => void;

  #passes = 0;
  // A checkpoint's time is the decode passes up to it and its own finisher's passes: an earlier checkpoint's
  // finisher is the harness reading that budget, not time a run stopped at this budget would spend.
  #wallMs = 0;
  #soloMs = 0;
  #finisherWallMs = 0;
  #finisherSoloMs = 0;
  #phase: Phase = "decode";
  #final = false;
  #early?: Written;
  #finisher?: Finisher;
  #finisherAnswer?: string | null;
  #rows: PlannedRow[] = [];
  #planned = false;

  protected constructor(
    protected readonly cache: KVCache,
    readonly budgets: readonly number[],
    readonly finisherSettings: FinisherSettings,
  ) {
    if (budgets.length === 0 || budgets.some((b, i) => !(b > 0) || (i > 0 && b <= budgets[i - 1]))) {
      throw new RangeError("budgets must be positive and ascending");
    }
  }

  // What a method says.
  /** the rows of a pass in which its writers decode */
  protected abstract decodeRows(): PlannedRow[];
  /** every writer has ended */
  protected abstract get finished(): boolean;
  /**
   * the generated texts in which an answer may already be written, in the order they were written: each one
   * writer's (a step, or a writer's whole text), never two joined, where one writer's brace or fence would close
   * a box or block another left open
   */
  protected abstract writtenTexts(): WrittenText[];
  /** the answer already written, if any: lastWritten's (a method that votes says its own) */
  protected writtenAnswer(): Written | undefined {
    return lastWritten(this.writtenTexts(), this.finisherSettings.format, !this.finished);
  }
  /** where the finisher reads from; undefined: the method has none */
  protected abstract finisherStart(): FinisherStart | undefined;
  /** tokens generated per writer */
  protected abstract tokens(): number[];
  /** the blocks it holds */
  protected abstract blocks(): Block[];
  /**
   * The most KV tokens (whole pages of `pageSize`) it should hold at once, from its real prompts and budgets;
   * for a method whose writers' steps each cost a block and a prefix, with steps of `step` generated tokens on
   * average (TYPICAL_STEP where not given; at 1, the shortest a step can be). The bench admits runs by it at
   * TYPICAL_STEP (docs/benchmark.md, "KV memory"); a run that alone outgrows the cache is told it at its own
   * steps' mean (stepTokens).
   */
  abstract kvTokens(pageSize: number, step?: number): number;
  /** generated tokens per step so far (each writer's unfinished one counted), for a bound that counts steps */
  stepTokens(): number | undefined {
    return undefined;
  }
  /** rows that ride along in the finisher's passes */
  protected finisherRows(): PlannedRow[] {
    return [];
  }
  /** after the sampled ids of a decode pass are taken */
  protected afterTakes(): void {}
  /** self-consistency's majority vote */
  protected vote(): string | null | undefined {
    return undefined;
  }
  /** each independent path's own answer so far (null: none yet); undefined for a method without such paths */
  protected paths(): (string | null)[] | undefined {
    return undefined;
  }

  get done(): boolean {
    return this.#phase === "done";
  }
  get phase(): Phase {
    return this.#phase;
  }
  /** passes in which its writers decoded (the budget's unit) */
  get passes(): number {
    return this.#passes;
  }
  /** the finisher at work, if any */
  protected get finisher(): Finisher | undefined {
    return this.#finisher;
  }

  /** A finished step, for the records and the trace. */
  protected recordStep(s: StepRecord): void {
    this.steps.push(s);
    this.onStep?.(s);
  }

  /**
   * An answer written by the team: it ends the run and stands for every later checkpoint; `writer`: whose text
   * held it (null: no one writer's, as a vote).
   */
  protected stopEarly(answer: string, writer: number | null): void {
    this.#early = { answer, writer };
  }

  /** The rows it wants in the next pass (the same rows again until they are accepted). */
  plan(): PlannedRow[] {
    if (this.#planned) return this.#rows;
    this.#planned = true;
    const f = this.#finisher;
    const rows = f
      ? [...this.finisherRows(), { ...f.row(), take: (id: number) => void (this.#finisherAnswer = f.accept(id)) }]
      : this.decodeRows();
    this.#rows = rows;
    return rows;
  }

  /**
   * The ids of the pass for the rows of its plan, in order (-1 for a row without a sampler); `ms`: the pass's
   * wall time; `soloMs`: the predicted time of its own rows alone; `logprobs`: per row, those a row asked for.
   */
  accept(ids: readonly number[], ms: number, soloMs = 0, logprobs?: readonly (TokenLogprobs | undefined)[]): void {
    const rows = this.#rows;
    if (ids.length !== rows.length) throw new Error(`run: ${ids.length} ids for ${rows.length} planned rows`);
    this.#rows = [];
    this.#planned = false;
    this.passMs.push(ms);
    const finishing = this.#finisher !== undefined;
    if (finishing) this.#finisherWallMs += ms, this.#finisherSoloMs += soloMs;
    else this.#wallMs += ms, this.#soloMs += soloMs;
    if (!finishing) this.#passes++;
    rows.forEach((r, i) => r.take?.(ids[i], logprobs?.[i]));
    if (finishing) {
      const answer = this.#finisherAnswer;
      this.#finisherAnswer = undefined;
      if (answer !== undefined) this.#record(answer, "finisher");
      return;
    }
    this.afterTakes();
    if (this.#early !== undefined || this.finished) {
      this.#final = true;
      return this.#readAnswer();
    }
    if (this.budgets.includes(this.#passes)) this.#readAnswer();
    if (this.#passes >= this.budgets[this.budgets.length - 1] && !this.#finisher) this.#phase = "done";
  }

  /** The answer at this checkpoint: the early stop's, one already written, or the finisher's. */
  #readAnswer() {
    if (this.#early !== undefined) return this.#record(this.#early.answer, "early-stop", this.#early.writer);
    const written = this.writtenAnswer();
    if (written?.answer) return this.#record(written.answer, "generated", written.writer);
    const start = this.finisherStart();
    if (!start) return this.#record(null, "none");
    this.#finisher = new Finisher(this.cache, start.before, start.first, this.finisherSettings);
    this.#phase = "finish";
  }

  /**
   * Records the answer at the current checkpoint; once the run is final, for every budget still without one
   * (the answer stands from then on).
   */
  #record(answer: string | null, source: AnswerSource, writer?: number | null) {
    const vote = this.vote(), paths = this.paths();
    const c: Omit<Checkpoint, "budget"> = {
      passes: this.#passes,
      answer,
      source,
      ...(writer !== undefined ? { writer } : {}),
      tokens: this.tokens(),
      solo_ms: +(this.#soloMs + this.#finisherSoloMs).toFixed(2),
      shared_ms: +(this.#wallMs + this.#finisherWallMs).toFixed(2),
      finisher_passes: this.#finisher?.passes ?? 0,
      ...(vote !== undefined ? { vote } : {}),
      ...(paths !== undefined ? { paths } : {}),
    };
    for (const budget of this.budgets) {
      if (this.checkpoints.some((x) => x.budget === budget) || (!this.#final && budget !== c.passes)) continue;
      this.checkpoints.push({ budget, ...c });
    }
    this.#finisher = undefined;
    this.#finisherWallMs = this.#finisherSoloMs = 0;
    const last = this.budgets[this.budgets.length - 1];
    this.#phase = this.#final || this.#passes >= last ? "done" : "decode";
  }

  /** Its blocks back to the pool. */
  free(): void {
    for (const b of [...this.blocks(), ...(this.#finisher ? [this.#finisher.tail] : [])]) this.cache.free(b);
  }

  /** What each of its writers wrote, in order. */
  abstract texts(): string[];
  /** who wrote each of texts(), in order */
  abstract names(): string[];
  /**
   * For each writer of texts(), the pass in which it stopped writing (an end of sequence, or its answer), or
   * null where it wrote to the run's end; undefined for a method that does not say (its viewer shows no views).
   */
  ended(): (number | null)[] | undefined {
    return undefined;
  }
  /** What a method decided that its record must let a reader check (a filter's threshold and stops), if any. */
  audit(): Record<string, unknown> | undefined {
    return undefined;
  }
}
