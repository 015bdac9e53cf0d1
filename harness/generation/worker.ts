/**
 * One writer of a run: its current block, the step it is writing (steps.ts says where a step ends), the
 * tokens it will write next, and everything it wrote. Its state is read-only outside; the run moves it on
 * through the methods below and decides where its blocks go (layouts.ts).
 */
import type { Block } from "../../engine/cache.ts";
import type { Sampler } from "../../engine/sampler.ts";
import { StepDetector } from "./steps.ts";

/** What a sampled id did to a worker. */
export type Took = "stopped" | "token" | "step-end";

export class Worker {
  #own: Block;
  #step = 1;
  #stepIds: number[] = [];
  #detector = new StepDetector();
  /** tokens to write in the next pass */
  #next: number[] = [];
  #finishing?: number;
  readonly #history: Block[] = [];
  readonly #trace: number[] = [];
  #traceText = "";
  #done = false;
  #generated = 0;
  readonly #confidences: number[] = [];
  readonly #decode: (id: number) => string;

  constructor(
    readonly index: number,
    readonly name: string,
    own: Block,
    readonly sampler: Sampler,
    decoder: () => (id: number) => string,
  ) {
    this.#own = own;
    this.#decode = decoder();
  }

  /** the block it is writing */
  get own(): Block {
    return this.#own;
  }
  /** the step it is writing */
  get step(): number {
    return this.#step;
  }
  /** tokens of the current step (prefix, generated, finishing), written or about to be, and its text */
  get stepIds(): readonly number[] {
    return this.#stepIds;
  }
  get stepText(): string {
    return this.#detector.text;
  }
  /** a sampled token that ended the step, to be written with its commit in the next pass */
  get finishing(): number | undefined {
    return this.#finishing;
  }
  /** its own finished steps (the independent layout) */
  get history(): readonly Block[] {
    return this.#history;
  }
  /** everything it wrote, in order, and its text */
  get trace(): readonly number[] {
    return this.#trace;
  }
  get traceText(): string {
    return this.#traceText;
  }
  /** it writes no more */
  get done(): boolean {
    return this.#done;
  }
  /** tokens it sampled (prefixes not counted) */
  get generated(): number {
    return this.#generated;
  }
  /** the confidence of each token it wrote, when its rows ask for log-probabilities (confidence.ts) */
  get confidences(): readonly number[] {
    return this.#confidences;
  }

  /** Tokens it will write next that it did not sample (prefixes): written, counted in its step and trace. */
  force(ids: readonly number[]): void {
    for (const id of ids) {
      this.#next.push(id);
      this.#stepIds.push(id);
      this.#trace.push(id);
      const t = this.#decode(id);
      this.#detector.push(t);
      this.#traceText += t;
    }
  }

  /**
   * A sampled id (with its confidence, when its row asked for log-probabilities): a stop id ends the worker
   * (not written); otherwise it joins the step, which it may end.
   */
  take(id: number, stopIds: readonly number[], confidence?: number): Took {
    if (stopIds.includes(id)) {
      this.#done = true;
      return "stopped";
    }
    if (confidence !== undefined) this.#confidences.push(confidence);
    this.#generated++;
    this.#stepIds.push(id);
    this.#trace.push(id);
    const text = this.#decode(id);
    this.#traceText += text;
    if (this.#detector.push(text)) return "step-end";
    this.#next.push(id);
    return "token";
  }

  /** Its step ended on `id` (in the step and the trace already): written when the step is committed. */
  endStep(id: number): void {
    this.#finishing = id;
  }

  /**
   * Its next step, in `block`: a new one (the finished step left the old one) or the same one, where the
   * finishing token is written at the head of the next step's tokens.
   */
  newStep(block: Block): void {
    if (block === this.#own && this.#finishing !== undefined) this.#next.push(this.#finishing);
    this.#finishing = undefined;
    this.#step++;
    this.#own = block;
    this.#stepIds = [];
    this.#detector = new StepDetector();
  }

  /** A finished step's block joins its own history. */
  keep(block: Block): void {
    this.#history.push(block);
  }

  /** It writes no more (an answer, or its method stopped it). */
  stop(): void {
    this.#done = true;
  }

  /** The tokens to write in this pass, handed over once. */
  flush(): number[] {
    const next = this.#next;
    this.#next = [];
    return next;
  }

  /** Tokens it has decided but not yet written into its blocks. */
  get unwritten(): readonly number[] {
    return this.#finishing !== undefined ? [this.#finishing] : this.#next;
  }
}
