/**
 * One problem solved by one method: N workers over the shared cache (Hogwild!), or the baselines on the
 * same machinery. A Run says which rows it wants in the next forward pass (plan) and takes the sampled ids
 * back (accept); a scheduler packs the rows of many runs into one pass.
 *
 * Layouts (a worker's view, in order):
 *  - combined:    prompt, finished steps, [others' header], others' unfinished steps by id, [own header], own step
 *  - contiguous:  prompt, [others' header], others' blocks, [own header], own block (no history: steps stay put)
 *  - interleaved: prompt, finished steps, own step (others' steps are seen once finished)
 *  - independent: prompt, the worker's own finished steps, own step (sequential and self-consistency)
 * Headers, step prefixes ("**Alice [2]:** ") and the redundancy check are the collaboration text; without
 * it, one worker's view is exactly a plain sequence, so Hogwild! with one worker is the sequential baseline.
 *
 * A step ends on a blank line after a sentence (steps.ts). The finished step joins the history together with
 * its finishing token: the next pass writes that token into the old block in the worker's old view, and the
 * new step's prefix into a new block in the new view; both in one pass, so no pass is lost. (The reference
 * code writes the finishing token at the head of the worker's next step instead.)
 *
 * The paper's "re-encode" ablation (reencodeSteps): a finished step joins the history encoded again, after
 * the history before it, instead of keeping the keys and values its writer computed; its old block goes back
 * to the pool. The history is then a chain read in write order, the same as a plain pass over it.
 */
import type { Block, KVCache } from "../engine/cache.ts";
import type { Row } from "../engine/plan.ts";
import { Sampler, type SamplingOptions } from "../engine/sampler.ts";
import { lastBoxed } from "../tasks/answer.ts";
import { Finisher, type FinisherSettings } from "./finisher.ts";
import type { Solver } from "./schedule.ts";
import { StepDetector } from "./steps.ts";

export type Layout = "combined" | "contiguous" | "interleaved" | "independent";
export type FinisherMode = "reencode" | "fork" | "none";

/** The protocol texts as token ids (tokenized once per model). */
export interface ProtocolIds {
  othersHeader: number[];
  ownHeader: number[];
  marker: number[];
  finisherSuffix: number[];
  redundancyCheck: number[];
  stepPrefix(name: string, step: number): number[];
}

export interface RunSpec {
  /** the whole prompt */
  prompt: number[];
  /** one name per worker */
  workers: string[];
  layout: Layout;
  /** headers, step prefixes and the redundancy check */
  collab: boolean;
  /** finished steps join the history encoded again after it (needs a shared history and collab text) */
  reencodeSteps: boolean;
  /** generated tokens (all workers) between redundancy checks; 0: never */
  redundancyEvery: number;
  /** the workers' sampling; its suppress list holds the forbidden ids */
  sampling: SamplingOptions;
  seed: number;
  /** ids that end a worker (not written); workers of a Hogwild! run have them suppressed instead */
  stopIds: number[];
  /** ids that end the finisher's answer */
  eosIds: number[];
  /** checkpoints, in worker passes, ascending */
  budgets: number[];
  earlyStop: boolean;
  finisher: FinisherMode;
  finisherTokens: number;
  /** ids the (greedy) finisher never writes */
  finisherSuppress: number[];
  /** a fresh incremental detokenizer */
  decoder: () => (id: number) => string;
  ids: ProtocolIds;
}

export interface Checkpoint {
  budget: number;
  /** worker passes when the answer was read */
  passes: number;
  answer: string | null;
  source: "early-stop" | "generated" | "finisher" | "none";
  /** what the finisher wrote after the opened \boxed{ */
  finisherText: string;
  finisherPasses: number;
  /** self-consistency: the most frequent of the workers' own answers */
  vote?: string | null;
  /** tokens generated per worker so far */
  tokens: number[];
  /** wall time of the passes this run took part in (shared passes counted whole) */
  wallMs: number;
}

export interface StepRecord {
  worker: number;
  step: number;
  text: string;
  ids: number[];
  /** worker pass at which the step ended */
  pass: number;
}

/** The sampling seed of a run's `index`-th writer: distinct per writer, reproducible per run seed. */
export function writerSeed(seed: number, index: number): number {
  return (seed * 1000003 + index * 7919) >>> 0;
}

/**
 * An answer for the budget grid: the checkpoint at the current passes gets it; once the run is final, so
 * does every budget still without one (the answer stands from then on).
 */
export function recordCheckpoint(into: Checkpoint[], budgets: readonly number[], c: Omit<Checkpoint, "budget">, final: boolean): void {
  for (const budget of budgets) {
    if (into.some((x) => x.budget === budget) || (!final && budget !== c.passes)) continue;
    into.push({ budget, ...c });
  }
}

interface Worker {
  index: number;
  name: string;
  own: Block;
  step: number;
  /** tokens of the current step (prefix, generated, finishing), written or about to be */
  stepIds: number[];
  detector: StepDetector;
  decode: (id: number) => string;
  /** tokens to write in the next pass */
  next: number[];
  /** a sampled token that ends the step: written and committed in the next pass */
  finishing?: number;
  /** independent layout: this worker's finished steps */
  history: Block[];
  /** everything this worker wrote, in order, and its text (self-consistency's traces) */
  trace: number[];
  traceText: string;
  sampler: Sampler;
  done: boolean;
  generated: number;
}

export type Phase = "decode" | "finish" | "done";

export class Run implements Solver {
  readonly steps: StepRecord[] = [];
  readonly checkpoints: Checkpoint[] = [];
  /** wall time of every pass this run took part in, in order (finisher passes included), ms */
  readonly passMs: number[] = [];
  /** called when a step is finished (tracing) */
  onStep?: (s: StepRecord, run: Run) => void;

  readonly #s: RunSpec;
  readonly #cache: KVCache;
  readonly #workers: Worker[];
  readonly #prompt: Block;
  readonly #promptIds: number[];
  readonly #history: Block[] = [];
  readonly #headers: { others: Block; own: Block; marker: Block };
  #chain?: Block;
  #chainPending: number[] = [];
  #prefilled = false;
  /** the workers whose rows carried samplers in the last plan, in row order */
  #sampledOrder: Worker[] = [];
  /** every token appended to the transcript chain */
  #chainAll: number[] = [];
  #phase: Phase = "decode";
  #passes = 0;
  #wallMs = 0;
  #sinceCheck = 0;
  #early: { answer: string } | undefined;
  #final = false;
  #finisher?: Finisher;
  readonly #finisherSettings: FinisherSettings;

  constructor(cache: KVCache, spec: RunSpec) {
    if (spec.workers.length === 0) throw new RangeError("a run needs at least one worker");
    if (spec.reencodeSteps && !(spec.collab && (spec.layout === "combined" || spec.layout === "interleaved"))) {
      throw new RangeError("reencodeSteps needs a shared history (combined or interleaved) and the collaboration text");
    }
    if (spec.budgets.length === 0 || spec.budgets.some((b, i) => !(b > 0) || (i > 0 && b <= spec.budgets[i - 1]))) {
      throw new RangeError("budgets must be positive and ascending");
    }
    this.#s = spec;
    this.#cache = cache;
    this.#finisherSettings = { eosIds: spec.eosIds, maxTokens: spec.finisherTokens, suppress: spec.finisherSuppress, decoder: spec.decoder };
    // Without step prefixes, each worker's first token comes from its own row: the prompt's last token
    // opens the worker's first block.
    this.#promptIds = spec.collab ? spec.prompt : spec.prompt.slice(0, -1);
    this.#prompt = cache.newBlock("prompt");
    this.#headers = { others: cache.newBlock("others-header"), own: cache.newBlock("own-header"), marker: cache.newBlock("marker") };
    // The reencode finisher's transcript chain; with re-encoded steps the history is that chain already.
    if (spec.finisher === "reencode" && this.#sharedHistory && !spec.reencodeSteps) this.#chain = cache.newBlock("transcript");
    this.#workers = spec.workers.map((name, index) => {
      const w: Worker = {
        index, name, own: cache.newBlock(`${name}.1`), step: 1, stepIds: [], detector: new StepDetector(), decode: spec.decoder(),
        next: [], history: [], trace: [], traceText: "", generated: 0, done: false,
        sampler: new Sampler(spec.sampling, writerSeed(spec.seed, index)),
      };
      this.#force(w, spec.collab ? spec.ids.stepPrefix(name, 1) : spec.prompt.slice(-1));
      return w;
    });
  }

  get done(): boolean {
    return this.#phase === "done";
  }
  get passes(): number {
    return this.#passes;
  }
  /** each worker's text so far (its trace) */
  texts(): string[] {
    return this.#workers.map((w) => w.traceText);
  }
  /** a worker's current (unfinished) step text */
  currentStep(i: number): string {
    return this.#workers[i].detector.text;
  }

  get #sharedHistory(): boolean {
    return this.#s.layout === "combined" || this.#s.layout === "interleaved";
  }

  /** Tokens the worker will write next that it did not sample (prefixes): written, counted in its step and trace. */
  #force(w: Worker, ids: number[]) {
    w.next.push(...ids);
    w.stepIds.push(...ids);
    w.trace.push(...ids);
    for (const id of ids) {
      const t = w.decode(id);
      w.detector.push(t);
      w.traceText += t;
    }
  }

  #view(w: Worker): Block[] {
    const { others: ho, own: hw } = this.#headers;
    const collab = this.#s.collab;
    const others = this.#workers.filter((x) => x !== w).map((x) => x.own);
    switch (this.#s.layout) {
      case "independent":
        return [this.#prompt, ...w.history, w.own];
      case "interleaved":
        return [this.#prompt, ...this.#history, w.own];
      case "combined":
        return collab ? [this.#prompt, ...this.#history, ho, ...others, hw, w.own] : [this.#prompt, ...this.#history, ...others, w.own];
      case "contiguous":
        return collab ? [this.#prompt, ho, ...others, hw, w.own] : [this.#prompt, ...others, w.own];
    }
  }

  /** The rows this run wants in the next pass, with a sampler for each row whose next token is sampled. */
  plan(): { rows: Row[]; samplers: (Sampler | undefined)[] } {
    if (this.#phase === "finish") return this.#finisherPlan();
    const rows: Row[] = [], samplers: (Sampler | undefined)[] = [];
    if (!this.#prefilled) {
      this.#prefilled = true;
      rows.push({ block: this.#prompt, view: [this.#prompt], tokens: this.#promptIds, logits: "none" });
      const { others, own, marker } = this.#headers, ids = this.#s.ids;
      for (const [b, t] of [[others, ids.othersHeader], [own, ids.ownHeader], [marker, ids.marker]] as const) {
        rows.push({ block: b, view: [b], tokens: t, logits: "none" });
      }
      samplers.push(undefined, undefined, undefined, undefined);
    }
    const active = this.#workers.filter((w) => !w.done);
    const committing = this.#s.layout === "contiguous" ? [] : active.filter((w) => w.finishing !== undefined);
    // The finishing token goes into the old block, in the worker's old view; then the step joins the history
    // (re-encoded steps: the whole step is written again after the history, the finishing token with it).
    this.#sampledOrder = [];
    for (const w of this.#s.reencodeSteps ? [] : committing) {
      rows.push({ block: w.own, view: this.#view(w), tokens: [w.finishing!], logits: this.#s.collab ? "none" : "last" });
      samplers.push(this.#s.collab ? undefined : w.sampler);
      if (!this.#s.collab) this.#sampledOrder.push(w);
    }
    for (const w of committing) {
      const ids = w.stepIds;
      this.#commit(w);
      if (this.#s.reencodeSteps) {
        const h = this.#history[this.#history.length - 1];
        rows.push({ block: h, view: [this.#prompt, ...this.#history], tokens: ids, logits: "none" });
        samplers.push(undefined);
      }
    }
    for (const w of active) {
      if (w.next.length === 0) continue; // its next token is sampled from the finishing row
      rows.push({ block: w.own, view: this.#view(w), tokens: w.next, logits: "last" });
      samplers.push(w.sampler);
      this.#sampledOrder.push(w);
      w.next = [];
    }
    if (this.#chain && this.#chainPending.length) {
      rows.push({ block: this.#chain, view: [this.#prompt, this.#chain], tokens: this.#chainPending, logits: "none" });
      samplers.push(undefined);
      this.#chainPending = [];
    }
    return { rows, samplers };
  }

  #commit(w: Worker) {
    const record: StepRecord = { worker: w.index, step: w.step, text: w.detector.text, ids: w.stepIds, pass: this.#passes };
    this.steps.push(record);
    this.onStep?.(record, this);
    if (this.#s.reencodeSteps) {
      this.#cache.free(w.own);
      this.#history.push(this.#cache.newBlock(`${w.name}.${w.step}.history`));
    } else {
      (this.#s.layout === "independent" ? w.history : this.#history).push(w.own);
    }
    if (this.#chain) this.#chainPending.push(...w.stepIds);
    if (this.#chain || this.#s.reencodeSteps) this.#chainAll.push(...w.stepIds);
    w.finishing = undefined;
    w.step++;
    w.own = this.#cache.newBlock(`${w.name}.${w.step}`);
    w.stepIds = [];
    w.detector = new StepDetector();
    if (this.#s.collab) this.#force(w, this.#prefix(w));
  }

  #prefix(w: Worker): number[] {
    const ids = this.#s.ids.stepPrefix(w.name, w.step);
    if (this.#s.redundancyEvery > 0 && this.#sinceCheck >= this.#s.redundancyEvery) {
      this.#sinceCheck = 0;
      return [...ids, ...this.#s.ids.redundancyCheck];
    }
    return ids;
  }

  /** The ids sampled for the rows that had samplers, in plan order; `ms`: the pass's wall time. */
  accept(ids: readonly number[], ms: number): void {
    this.#wallMs += ms;
    this.passMs.push(ms);
    if (this.#phase === "finish") return this.#finisherAccept(ids[0]);
    this.#passes++;
    const sampled = this.#sampledOrder;
    if (ids.length !== sampled.length) throw new Error(`run: ${ids.length} ids for ${sampled.length} sampled rows`);
    sampled.forEach((w, i) => this.#take(w, ids[i]));
    this.#afterPass();
  }

  #take(w: Worker, id: number) {
    if (this.#s.stopIds.includes(id)) {
      w.done = true;
      return;
    }
    w.generated++;
    this.#sinceCheck++;
    w.stepIds.push(id);
    w.trace.push(id);
    const text = w.decode(id);
    w.traceText += text;
    const ended = w.detector.push(text);
    if (!ended) {
      w.next.push(id);
      return;
    }
    if (this.#s.earlyStop) {
      const answer = lastBoxed(w.detector.text);
      if (answer) {
        // The team's answer ends a shared run; an independent worker stops alone.
        this.steps.push({ worker: w.index, step: w.step, text: w.detector.text, ids: w.stepIds, pass: this.#passes });
        if (this.#s.layout === "independent") {
          w.done = true;
          if (this.#workers.length === 1) this.#early = { answer };
        } else {
          this.#early = { answer };
        }
        return;
      }
    }
    if (this.#s.layout === "contiguous") {
      // No history: the step stays in the worker's block, the next one follows in the same block.
      const record: StepRecord = { worker: w.index, step: w.step, text: w.detector.text, ids: w.stepIds, pass: this.#passes };
      this.steps.push(record);
      this.onStep?.(record, this);
      w.next.push(id);
      w.step++;
      w.stepIds = [];
      w.detector = new StepDetector();
      if (this.#s.collab) this.#force(w, this.#prefix(w));
      return;
    }
    w.finishing = id;
  }

  #afterPass() {
    const last = this.#s.budgets[this.#s.budgets.length - 1];
    if (this.#early || this.#workers.every((w) => w.done)) {
      this.#final = true;
      return this.#readAnswer();
    }
    if (this.#s.budgets.includes(this.#passes)) this.#readAnswer();
    if (this.#passes >= last && this.#phase === "decode") this.#phase = "done";
  }

  /** The answer at this checkpoint: the early stop's, one already written, or the finisher's. */
  #readAnswer() {
    if (this.#early) return this.#record(this.#early.answer, "early-stop");
    const written = lastBoxed(this.#transcriptText());
    if (written) return this.#record(written, "generated");
    if (this.#s.finisher === "none") return this.#record(null, "none");
    this.#startFinisher();
  }

  /** Records the answer at the current checkpoint (for all later ones too once the run is final). */
  #record(answer: string | null, source: Checkpoint["source"]) {
    const base = {
      passes: this.#passes, answer, source, finisherText: this.#finisher?.text ?? "", finisherPasses: this.#finisher?.passes ?? 0,
      tokens: this.#workers.map((w) => w.generated), wallMs: this.#wallMs,
    };
    const vote = this.#s.layout === "independent" && this.#workers.length > 1 ? { vote: this.#vote() } : {};
    recordCheckpoint(this.checkpoints, this.#s.budgets, { ...base, ...vote }, this.#final);
    this.#finisher = undefined;
    if (this.#final || this.#passes >= this.#s.budgets[this.#s.budgets.length - 1]) this.#phase = "done";
  }

  #vote(): string | null {
    const counts = new Map<string, number>();
    for (const w of this.#workers) {
      const a = lastBoxed(w.traceText);
      if (a) counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    let best: string | null = null, n = 0;
    for (const [a, c] of counts) if (c > n) (best = a, n = c);
    return best;
  }

  /** The transcript's generated text, in transcript order (history, then the unfinished steps). */
  #transcriptText(): string {
    if (this.#s.layout === "independent") return this.#workers.map((w) => w.traceText).join("\n\n");
    return this.steps.map((s) => s.text).join("") + this.#workers.map((w) => w.detector.text).join("\n\n");
  }

  #startFinisher() {
    const ids = this.#s.ids, h = this.#headers;
    this.#phase = "finish";
    const ws = this.#workers;
    const fork = this.#s.finisher === "fork";
    let before: Block[], first: number[];
    if (this.#s.layout === "independent") {
      // Traces one after another: the first is already a chain in write order (its unwritten tokens follow
      // in the tail); the others are encoded after it.
      const [w0, ...rest] = ws;
      before = [this.#prompt, ...(fork ? ws.flatMap((w) => [...w.history, w.own]) : [...w0.history, w0.own])];
      first = fork ? [...ids.finisherSuffix] : [...this.#unwritten(w0), ...rest.flatMap((w) => w.trace), ...ids.finisherSuffix];
    } else if (fork) {
      // The workers' own blocks, no encoding at all (not identical to a re-encode: keys carry their writer's view).
      const history = this.#s.layout === "contiguous" ? [] : this.#history;
      before = [this.#prompt, ...history, h.others, ...ws.flatMap((w) => [w.own, h.marker])];
      first = [...ids.finisherSuffix];
    } else {
      // reencode: prompt + history chain (encoded once, in commit order) + the unfinished tail + the suffix.
      const unfinished = ws.flatMap((w) => [...(this.#s.layout === "contiguous" ? w.trace : w.stepIds), ...ids.marker]);
      before = this.#chain ? [this.#prompt, this.#chain] : this.#s.reencodeSteps ? [this.#prompt, ...this.#history] : [this.#prompt];
      first = [...ids.othersHeader, ...unfinished, ...ids.finisherSuffix];
    }
    this.#finisher = new Finisher(this.#cache, before, first, this.#finisherSettings);
  }

  /** Tokens a worker has decided but not yet written into its blocks. */
  #unwritten(w: Worker): number[] {
    return w.finishing !== undefined ? [w.finishing] : w.next;
  }

  /**
   * In the finisher's phase, before its first pass: the whole token sequence its first row reads (the
   * prompt, the transcript so far, the suffix). With the reencode finisher, that row's logits are those of a
   * plain forward pass over this sequence.
   */
  finisherTranscript(): number[] {
    if (this.#phase !== "finish") throw new Error("finisherTranscript: the run is not at a checkpoint");
    const chain = this.#s.layout === "independent" ? this.#workers[0].trace.slice(0, this.#workers[0].trace.length - this.#unwritten(this.#workers[0]).length) : this.#chainAll;
    return [...this.#promptIds, ...chain, ...this.#finisher!.first];
  }

  get phase(): Phase {
    return this.#phase;
  }

  #finisherPlan(): { rows: Row[]; samplers: (Sampler | undefined)[] } {
    const rows: Row[] = [], samplers: (Sampler | undefined)[] = [];
    if (this.#chain && this.#chainPending.length) {
      rows.push({ block: this.#chain, view: [this.#prompt, this.#chain], tokens: this.#chainPending, logits: "none" });
      samplers.push(undefined);
      this.#chainPending = [];
    }
    const { row, sampler } = this.#finisher!.row();
    rows.push(row);
    samplers.push(sampler);
    return { rows, samplers };
  }

  #finisherAccept(id: number) {
    const answer = this.#finisher!.accept(id);
    if (answer === undefined) return;
    this.#phase = "decode";
    this.#record(answer, "finisher");
  }

  /** The run's blocks back to the pool. */
  free(): void {
    const blocks = [this.#prompt, ...Object.values(this.#headers), ...this.#history, ...(this.#chain ? [this.#chain] : []), ...(this.#finisher ? [this.#finisher.tail] : [])];
    for (const w of this.#workers) blocks.push(...w.history, w.own);
    for (const b of blocks) this.#cache.free(b);
  }
}
