/**
 * N workers solving one problem over the shared cache: Hogwild!, and the baselines on the same machinery
 * (a layout says where workers read and where finished steps go: layouts.ts; docs/methods.md, "The life of a run").
 *
 * A step ends on a blank line after a sentence (steps.ts). The finished step leaves the worker's block with its
 * finishing token: the next pass writes that token into the old block in the worker's old view, and the new
 * step's prefix into a new block in the new view; both in one pass, so no pass is lost. (The reference code
 * writes the finishing token at the head of the worker's next step instead.) The layout says where the step
 * goes (its commit) and what else follows from the run's state; the run alone changes that state.
 */
import { type AnswerFormat, BOXED } from "./answer_format.ts";
import { Block, type KVCache } from "../../engine/cache.ts";
import { Sampler, type SamplingOptions, type TokenLogprobs } from "../../engine/sampler.ts";
import { pathsVote, tokenConfidence } from "./confidence.ts";
import {
  asText,
  type Commit,
  type Header,
  type Layout,
  type NewBlock,
  type Page,
  type ProtocolIds,
  type Team,
  type TranscriptText,
} from "./layouts.ts";
import {
  pageTokens,
  type PlannedRow,
  Solver,
  TYPICAL_STEP,
  writerSeed,
  type Written,
  type WrittenText,
} from "./solver.ts";
import { Worker } from "./worker.ts";

export type FinisherMode = "reencode" | "fork" | "none";

export interface RunSpec {
  /** the whole prompt */
  prompt: number[];
  /** one name per worker */
  workers: string[];
  layout: Layout;
  /** headers, step prefixes and the redundancy check */
  collab: boolean;
  /** generated tokens (all workers) between redundancy checks; 0: never */
  redundancyEvery: number;
  /** the workers' sampling; its suppress list holds the forbidden ids */
  sampling: SamplingOptions;
  seed: number;
  /** ids that end a worker (not written) */
  stopIds: number[];
  /** ids that end the finisher's answer */
  eosIds: number[];
  /** checkpoints, in worker passes, ascending */
  budgets: number[];
  earlyStop: boolean;
  finisher: FinisherMode;
  /**
   * the reencode finisher reads the transcript's text encoded again with the suffix (--finisher-input text, the
   * official code's), not the writers' ids joined (absent: the ids, incremental, no prefill)
   */
  finisherText?: TranscriptText;
  finisherTokens: number;
  /** ids the (greedy) finisher never writes */
  finisherSuppress: number[];
  /** a fresh incremental detokenizer */
  decoder: () => (id: number) => string;
  ids: ProtocolIds;
  /** how answers are written (default: boxed, as the maths tasks) */
  answer?: AnswerFormat;
  /** the workers' rows ask for their top-k log-probabilities; a trace's vote counts `weight` of its token confidences */
  confidence?: { topK: number; weight: (tokenConfidences: readonly number[]) => number };
  /**
   * the answer is always the finisher's, read over every trace, answers written or not (the paper's
   * self-consistency); otherwise an answer already written stands (the last one of the text)
   */
  finisherAlways?: boolean;
}

/**
 * A fresh decoder that has read `context`, its text dropped: the tokens after it decode as they do after the
 * context. The last few tokens are enough: a character is at most 4 bytes, and decoders look back no further.
 */
function decoderAfter(make: () => (id: number) => string, context: readonly number[]): (id: number) => string {
  const decode = make();
  for (const id of context.slice(-8)) decode(id);
  return decode;
}

/**
 * The fewest positions a pass of a run of `spec` needs by its `passes`-th pass, every worker writing since the
 * first (none stopped or held): the largest view its layout builds over stand-ins for the prompt, the headers
 * and each worker's tokens (its first ones, then one a pass at least; the history's share counted in its own
 * block). Later step prefixes, redundancy checks and the finisher only add to it: a lower bound.
 */
export function leastPositions(spec: RunSpec, passes: number): number {
  const block = (length: number, label: string) => Object.assign(new Block(-1, label), { length });
  const ids = spec.ids, collab = spec.collab;
  const page: Page = {
    // without step prefixes a worker's first token is the prompt's last (the Run's constructor)
    prompt: block(collab ? spec.prompt.length : spec.prompt.length - 1, "prompt"),
    headers: {
      others: block(ids.othersHeader.length, "others-header"),
      own: block(ids.ownHeader.length, "own-header"),
      marker: block(ids.marker.length, "marker"),
    },
    history: [],
    workers: spec.workers.map((name) => {
      const first = collab ? ids.stepPrefix(name, 1).length : 1;
      return { name, step: 1, own: block(first + passes - 1, name), history: [] };
    }),
    collab,
  };
  const sum = (bs: readonly Block[]) => bs.reduce((n, b) => n + b.length, 0);
  return Math.max(...page.workers.map((w) => sum(spec.layout.view(page, w))));
}

export class Run extends Solver {
  readonly #s: RunSpec;
  readonly #layout: Layout;
  /** what the layout reads: the blocks and arrays below, which only this run changes */
  readonly #team: Team;
  readonly #workers: Worker[];
  readonly #promptIds: number[];
  /** the finished steps every worker sees, and every committed step's ids, in commit order */
  readonly #history: Block[] = [];
  readonly #transcriptIds: number[] = [];
  /** finished steps waiting for the next pass to commit, and where they go */
  readonly #pending = new Map<Worker, Commit>();
  readonly #newBlock: NewBlock = (label) => this.cache.newBlock(label);
  /** the exact finisher's transcript chain, and the finished steps it has still to write */
  readonly #chain?: Block;
  #chainPending: number[] = [];
  #prefilled = false;
  #sinceCheck = 0;
  // the pass in which each worker stopped (by index), where it did before the run's end
  readonly #ended: number[] = [];
  /** the tokens the current finisher's view holds before its tail */
  #read: number[] = [];

  constructor(cache: KVCache, spec: RunSpec) {
    super(cache, spec.budgets, {
      eosIds: spec.eosIds,
      maxTokens: spec.finisherTokens,
      suppress: spec.finisherSuppress,
      decoder: spec.decoder,
      format: spec.answer ?? BOXED,
    });
    if (spec.workers.length === 0) throw new RangeError("a run needs at least one worker");
    if (spec.finisherText && spec.finisher !== "reencode") {
      throw new RangeError(`a ${spec.finisher} finisher reads no transcript to read as text`);
    }
    this.#s = spec;
    this.#layout = spec.layout;
    // Without step prefixes, each worker's first token comes from its own row: the prompt's last token
    // opens the worker's first block.
    this.#promptIds = spec.collab ? spec.prompt : spec.prompt.slice(0, -1);
    const prompt = cache.newBlock("prompt");
    const headers = {
      others: cache.newBlock("others-header"),
      own: cache.newBlock("own-header"),
      marker: cache.newBlock("marker"),
    };
    // Read as text, the transcript is encoded at each checkpoint: a chain kept as the run goes would go unread.
    if (spec.finisher === "reencode" && !spec.finisherText) this.#chain = spec.layout.transcriptChain(this.#newBlock);
    // The prompt's last token, a worker's first without step prefixes, is read after the prompt: where it ends a
    // character the prompt began, the worker's text starts with that character (a fresh decoder gave U+FFFD).
    const decoder = spec.collab ? spec.decoder : () => decoderAfter(spec.decoder, spec.prompt.slice(0, -1));
    this.#workers = spec.workers.map((name, index) => {
      const w = new Worker(
        index,
        name,
        cache.newBlock(`${name}.1`),
        new Sampler(spec.sampling, writerSeed(spec.seed, index)),
        decoder,
      );
      w.force(spec.collab ? spec.ids.stepPrefix(name, 1) : spec.prompt.slice(-1));
      return w;
    });
    this.#team = {
      prompt,
      headers,
      history: this.#history,
      workers: this.#workers,
      steps: this.steps,
      collab: spec.collab,
      ids: spec.ids,
      transcript: this.#chain ? [this.#chain] : [],
      transcriptIds: this.#transcriptIds,
    };
  }

  /** each worker's text so far (its trace) */
  texts(): string[] {
    return this.#workers.map((w) => w.traceText);
  }
  names(): string[] {
    return this.#workers.map((w) => w.name);
  }
  override ended(): (number | null)[] {
    return this.#workers.map((w) => this.#ended[w.index] ?? null);
  }
  /** a worker's current (unfinished) step text */
  currentStep(i: number): string {
    return this.#workers[i].stepText;
  }

  /**
   * In the finisher's phase, before its first pass: the whole token sequence its first row reads (the
   * prompt, the transcript so far, the suffix). With the exact finisher, that row's logits are those of a
   * plain forward pass over this sequence.
   */
  finisherTranscript(): number[] {
    if (!this.finisher) throw new Error("finisherTranscript: the run is not at a checkpoint");
    return [...this.#read, ...this.finisher.first];
  }

  /** its workers, for a method that decides more of their lives (holds, stops, votes) */
  protected get workers(): readonly Worker[] {
    return this.#workers;
  }

  /** Stops a worker for its method (it writes no more), its pass kept for the trace. */
  protected stopWorker(w: Worker): void {
    w.stop();
    this.#ended[w.index] = this.passes;
  }

  /** A worker that has not started yet: its rows wait (none by default). */
  protected holds(_w: Worker): boolean {
    return false;
  }

  #sampled(w: Worker): Pick<PlannedRow, "logits" | "sampler" | "take" | "logprobs"> {
    const k = this.#s.confidence?.topK;
    return {
      logits: "last",
      sampler: w.sampler,
      ...(k ? { logprobs: k } : {}),
      take: (id, lp) => this.#take(w, id, lp),
    };
  }

  protected decodeRows(): PlannedRow[] {
    const rows: PlannedRow[] = [];
    const t = this.#team, L = this.#layout, collab = this.#s.collab;
    if (!this.#prefilled) {
      this.#prefilled = true;
      rows.push({ block: t.prompt, view: [t.prompt], tokens: this.#promptIds, logits: "none" });
      // only the header blocks a view or the finisher reads: another would be written, charged and never read
      for (const h of this.#headers()) {
        rows.push({ block: t.headers[h], view: [t.headers[h]], tokens: this.#headerIds(h), logits: "none" });
      }
    }
    const active = this.#workers.filter((w) => !w.done && !this.holds(w));
    const committing = active.filter((w) => this.#pending.has(w));
    // A step kept in its own block gets its finishing token there, in the worker's old view (before any commit
    // of this pass); without a prefix to write, the worker's next token is sampled from that row.
    for (const w of committing) {
      if (this.#pending.get(w)!.block !== w.own) continue;
      rows.push({
        block: w.own,
        view: L.view(t, w),
        tokens: [w.finishing!],
        ...(collab ? { logits: "none" } : this.#sampled(w)),
      });
    }
    for (const w of committing) rows.push(...this.#commit(w));
    for (const w of active) {
      const tokens = w.flush();
      if (tokens.length === 0) continue; // its next token is sampled from the finishing row
      rows.push({ block: w.own, view: L.view(t, w), tokens, ...this.#sampled(w) });
    }
    return [...rows, ...this.finisherRows()];
  }

  /** The header blocks its layout's views and finisher read (Layout.headers). */
  #headers(): readonly Header[] {
    return this.#layout.headers(this.#s.collab, this.#s.finisher === "fork");
  }
  #headerIds(h: Header): number[] {
    const ids = this.#s.ids;
    return h === "others" ? ids.othersHeader : h === "own" ? ids.ownHeader : ids.marker;
  }

  /** The transcript chain's pending steps, which also ride along in the finisher's passes. */
  protected override finisherRows(): PlannedRow[] {
    if (!this.#chain || this.#chainPending.length === 0) return [];
    const tokens = this.#chainPending;
    this.#chainPending = [];
    return [{ block: this.#chain, view: [this.#team.prompt, this.#chain], tokens, logits: "none" }];
  }

  /** The worker's current step, finished, into the records. */
  #recordStep(w: Worker) {
    this.recordStep({ worker: w.index, step: w.step, text: w.stepText, ids: [...w.stepIds], pass: this.passes });
  }

  /**
   * A finished step leaves the worker's block for where its commit says: kept as written, or written again
   * into a new block after the history it joins (the old block freed). Its next step begins in a new block.
   */
  #commit(w: Worker): PlannedRow[] {
    const c = this.#pending.get(w)!, t = this.#team, rows: PlannedRow[] = [];
    this.#pending.delete(w);
    this.#recordStep(w);
    if (c.into === "shared") this.#history.push(c.block);
    else w.keep(c.block);
    if (c.block !== w.own) {
      this.cache.free(w.own);
      const history = c.into === "shared" ? t.history : w.history;
      rows.push({ block: c.block, view: [t.prompt, ...history], tokens: w.stepIds, logits: "none" });
    }
    // one at a time: a step's tokens spread into push overflow the stack past about 100k
    for (const id of w.stepIds) {
      if (this.#chain) this.#chainPending.push(id);
      this.#transcriptIds.push(id);
    }
    this.#nextStep(w, this.cache.newBlock(`${w.name}.${w.step + 1}`));
    return rows;
  }

  /** The worker's next step, in `block`, after its prefix when the collaboration text is on. */
  #nextStep(w: Worker, block: Block) {
    w.newStep(block);
    if (this.#s.collab) w.force(this.#prefix(w));
  }

  #prefix(w: Worker): number[] {
    if (this.#s.redundancyEvery > 0 && this.#sinceCheck >= this.#s.redundancyEvery) {
      this.#sinceCheck = 0;
      return this.#s.ids.checkedPrefix(w.name, w.step);
    }
    return this.#s.ids.stepPrefix(w.name, w.step);
  }

  #take(w: Worker, id: number, lp?: TokenLogprobs) {
    const took = w.take(id, this.#s.stopIds, lp && tokenConfidence(lp));
    if (took === "stopped") return void (this.#ended[w.index] = this.passes);
    this.#sinceCheck++;
    if (took === "token") return;
    const format = this.finisherSettings.format;
    const answer = this.#s.earlyStop && format.endsRun ? format.written(w.stepText, true) : undefined;
    if (answer) {
      this.#recordStep(w);
      if (this.#layout.answerEnds(this.#team) === "run") return this.stopEarly(answer, w.index);
      // the step's last token is sampled, not written: the finisher's transcript takes it from there
      w.endStep(id);
      return this.stopWorker(w);
    }
    w.endStep(id);
    const commit = this.#layout.commit(this.#team, w, this.#newBlock);
    if (commit) {
      this.#pending.set(w, commit);
    } else {
      // The step stays in the worker's block: nothing waits for a commit, so the next one follows there at once.
      this.#recordStep(w);
      this.#nextStep(w, w.own);
    }
  }

  kvTokens(pageSize: number, step = TYPICAL_STEP): number {
    const s = this.#s, ids = s.ids, W = s.workers.length, B = this.budgets[this.budgets.length - 1];
    const pages = (n: number) => pageTokens(n, pageSize);
    const steps = Math.ceil(B / step) + 1;
    const prefix = s.collab ? Math.max(...s.workers.map((n) => ids.stepPrefix(n, steps).length)) : 0;
    const check = Math.max(
      ...s.workers.map((n) => ids.checkedPrefix(n, steps).length - ids.stepPrefix(n, steps).length),
    );
    const checks = s.redundancyEvery > 0 ? Math.ceil((W * B) / s.redundancyEvery) * check : 0;
    // What the workers write, and for every step's block a whole page: its last, which it may fill with one
    // token (with half a page, the mean, runs of many short steps outgrew the bound)
    const written = W * (B + 1 + steps * prefix) + checks, blocks = W * steps * pageSize;
    const copies = this.#layout.copies(written + blocks);
    const marks = ids.othersHeader.length + W * ids.marker.length + ids.finisherSuffix.length + s.finisherTokens;
    // Read as text, the finisher encodes the whole transcript anew (and the prompt, where a join merges into it).
    const tail = s.finisher === "none"
      ? 0
      : s.finisher === "fork"
      ? marks
      : s.finisherText
      ? s.prompt.length + written + marks
      : this.#layout.finisherTail(written, W, step) + marks;
    const protocol = this.#headers().reduce((n, h) => n + pages(this.#headerIds(h).length), 0);
    return pages(s.prompt.length) + protocol + pages(written + blocks + copies) + pages(tail) + 2 * pageSize;
  }

  override stepTokens(): number {
    const ws = this.#workers;
    return ws.reduce((n, w) => n + w.generated, 0) / ws.reduce((n, w) => n + w.step, 0);
  }

  protected get finished(): boolean {
    return this.#workers.every((w) => w.done);
  }
  protected writtenTexts(): WrittenText[] {
    return this.#layout.texts(this.#team);
  }
  protected finisherStart() {
    if (this.#s.finisher === "none") return undefined;
    const s = this.#s, t = this.#team, plan = this.#layout.finisher(t, s.finisher === "fork");
    const f = s.finisherText
      ? asText(plan, { block: t.prompt, ids: this.#promptIds }, s.ids.finisherSuffix, s.finisherText)
      : plan;
    this.#read = f.before[0] === t.prompt ? [...this.#promptIds, ...f.written] : f.written;
    return f;
  }
  protected tokens(): number[] {
    return this.#workers.map((w) => w.generated);
  }
  protected override writtenAnswer(): Written | undefined {
    return this.#s.finisherAlways ? undefined : super.writtenAnswer();
  }
  /** Self-consistency's vote over the answers the workers wrote (paths): the majority, or weighted by confidence. */
  protected override vote(): string | null | undefined {
    const answers = this.paths(), weight = this.#s.confidence?.weight;
    if (answers === undefined) return undefined;
    const key = this.finisherSettings.format.voteKey;
    return pathsVote(answers, key, weight && ((i) => weight(this.#workers[i].confidences)));
  }
  /** Self-consistency's traces, each its own answer (a layout whose answer ends the run has no paths). */
  protected override paths(): (string | null)[] | undefined {
    if (this.#layout.answerEnds(this.#team) === "run") return undefined;
    return this.#workers.map((w) => this.ownAnswer(w) ?? null);
  }
  /** The answer a worker's own trace wrote last, in the task's format. */
  protected ownAnswer(w: Worker): string | undefined {
    return this.finisherSettings.format.written(w.traceText, !w.done);
  }
  protected blocks(): Block[] {
    const t = this.#team;
    return [
      t.prompt,
      ...Object.values(t.headers),
      ...t.history,
      ...t.transcript,
      ...this.#workers.flatMap((w) => [...w.history, w.own]),
      // a new block a pending commit holds (written at the next pass)
      ...[...this.#pending].flatMap(([w, c]) => c.block === w.own ? [] : [c.block]),
    ];
  }
}
