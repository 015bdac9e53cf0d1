/**
 * One writer of a run: its current block, the step it is writing (steps.ts says where a step ends), the
 * tokens it will write next, and everything it wrote. The run decides where its blocks go (layouts.ts).
 */
import type { Block } from "../../engine/cache.ts";
import type { Sampler } from "../../engine/sampler.ts";
import { StepDetector } from "./steps.ts";

/** What a sampled id did to a worker. */
export type Took = "stopped" | "token" | "step-end";

export class Worker {
  step = 1;
  /** tokens of the current step (prefix, generated, finishing), written or about to be */
  stepIds: number[] = [];
  detector = new StepDetector();
  /** tokens to write in the next pass */
  next: number[] = [];
  /** a sampled token that ends the step: written and committed in the next pass */
  finishing?: number;
  /** its own finished steps (the independent layout) */
  readonly history: Block[] = [];
  /** everything it wrote, in order, and its text */
  readonly trace: number[] = [];
  traceText = "";
  done = false;
  generated = 0;
  /** the confidence of each token it wrote, when its rows ask for log-probabilities (confidence.ts) */
  readonly confidences: number[] = [];
  readonly #decode: (id: number) => string;

  constructor(
    readonly index: number,
    readonly name: string,
    public own: Block,
    readonly sampler: Sampler,
    decoder: () => (id: number) => string,
  ) {
    this.#decode = decoder();
  }

  /** Tokens it will write next that it did not sample (prefixes): written, counted in its step and trace. */
  force(ids: readonly number[]): void {
    this.next.push(...ids);
    this.stepIds.push(...ids);
    this.trace.push(...ids);
    for (const id of ids) {
      const t = this.#decode(id);
      this.detector.push(t);
      this.traceText += t;
    }
  }

  /** A sampled id: a stop id ends the worker (not written); otherwise it joins the step, which it may end. */
  take(id: number, stopIds: readonly number[]): Took {
    if (stopIds.includes(id)) {
      this.done = true;
      return "stopped";
    }
    this.generated++;
    this.stepIds.push(id);
    this.trace.push(id);
    const text = this.#decode(id);
    this.traceText += text;
    if (this.detector.push(text)) return "step-end";
    this.next.push(id);
    return "token";
  }

  /** Its next step, in `block` (a new one, or the same when steps stay put). */
  newStep(block: Block): void {
    this.finishing = undefined;
    this.step++;
    this.own = block;
    this.stepIds = [];
    this.detector = new StepDetector();
  }

  /** Tokens it has decided but not yet written into its blocks. */
  get unwritten(): number[] {
    return this.finishing !== undefined ? [this.finishing] : this.next;
  }
}
