/**
 * Layouts: where a run's workers read and where their finished steps go. Each one is a strategy with three
 * parts: a worker's view, what committing a finished step does, and the finisher's transcript.
 *
 *  - combined:    prompt, finished steps, [others' header], others' unfinished steps by id, [own header], own step
 *  - contiguous:  prompt, [others' header], others' blocks, [own header], own block (steps stay put)
 *  - interleaved: prompt, finished steps, own step (others' steps are seen once finished)
 *  - independent: prompt, the worker's own finished steps, own step (sequential and self-consistency)
 *
 * Headers appear with the collaboration text only; without it one worker's view is exactly a plain sequence.
 * `reencodingSteps` turns a layout with a shared history into the paper's "re-encode" ablation.
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import type { FinisherStart, PlannedRow, StepRecord } from "./solver.ts";
import type { Worker } from "./worker.ts";

/** The protocol texts as token ids (tokenized once per model). */
export interface ProtocolIds {
  othersHeader: number[];
  ownHeader: number[];
  marker: number[];
  finisherSuffix: number[];
  redundancyCheck: number[];
  stepPrefix(name: string, step: number): number[];
}

/** What a layout reads and changes of its run. */
export interface Team {
  readonly cache: KVCache;
  readonly prompt: Block;
  readonly headers: { readonly others: Block; readonly own: Block; readonly marker: Block };
  /** the finished steps every worker sees, in commit order */
  readonly history: Block[];
  readonly workers: readonly Worker[];
  readonly steps: readonly StepRecord[];
  /** the headers, step prefixes and redundancy checks are written */
  readonly collab: boolean;
  readonly ids: ProtocolIds;
  /** after the prompt, the finished steps as one chain in write order (what the exact finisher reads), and their ids */
  readonly transcript: readonly Block[];
  readonly transcriptIds: readonly number[];
}

/** The finisher's start, and the tokens its view holds after the prompt (the transcript already written). */
export type FinisherPlan = FinisherStart & { written: number[] };

export interface Layout {
  readonly name: string;
  /** a worker's view, in order */
  view(t: Team, w: Worker): Block[];
  /**
   * Where a finished step goes once its finishing token is written (undefined: it stays in the worker's block,
   * and the next step follows in the same block); rows that write it again, if any.
   */
  readonly commit?: (t: Team, w: Worker) => PlannedRow[];
  /** a finished step's finishing token is written into its block in the worker's old view */
  readonly finishingRow: boolean;
  /** the exact finisher keeps a transcript chain of the finished steps */
  readonly chain: boolean;
  /** an answer written by one worker ends the run; otherwise only that worker (and they vote) */
  readonly sharedAnswer: boolean;
  /** the generated text, in transcript order */
  text(t: Team): string;
  /** the finisher's start: `fork` reads the workers' own blocks; otherwise the transcript, re-encoded */
  finisher(t: Team, fork: boolean): FinisherPlan;
  /** finished steps are written a second time (a transcript chain or re-encoded steps) */
  readonly copiesSteps: boolean;
  /** the most tokens the exact finisher encodes anew, when the workers have written `written` in steps of about `step` */
  finisherTail(written: number, workers: number, step: number): number;
}

const others = (t: Team, w: Worker) => t.workers.filter((x) => x !== w).map((x) => x.own);
/** Others' blocks, then the worker's own, with the headers between them when the text is on. */
const page = (t: Team, w: Worker) =>
  t.collab ? [t.headers.others, ...others(t, w), t.headers.own, w.own] : [...others(t, w), w.own];

/** A layout where the workers write one shared page: one answer for the team, one transcript. */
function sharedPage(name: string, view: Layout["view"], history: boolean): Layout {
  return {
    name,
    view,
    commit: history ? (t, w) => (t.history.push(w.own), []) : undefined,
    finishingRow: true,
    chain: history,
    copiesSteps: history,
    // With a history it encodes only the unfinished steps (a few steps' worth each); without, everything.
    finisherTail: (written, workers, step) => (history ? Math.min(written, workers * 4 * step) : written),
    sharedAnswer: true,
    text: (t) => t.steps.map((s) => s.text).join("") + t.workers.map((w) => w.detector.text).join("\n\n"),
    finisher(t, fork) {
      const { prompt, headers: h, ids } = t, ws = t.workers;
      // The workers' own blocks, no encoding at all (not identical to a re-encode: keys carry their writer's view).
      if (fork) {
        return {
          before: [prompt, ...t.history, h.others, ...ws.flatMap((w) => [w.own, h.marker])],
          first: [...ids.finisherSuffix],
          written: [],
        };
      }
      // The transcript chain (encoded once, in commit order), then the unfinished tail and the suffix.
      const unfinished = ws.flatMap((w) => [...(history ? w.stepIds : w.trace), ...ids.marker]);
      return {
        before: [prompt, ...t.transcript],
        first: [...ids.othersHeader, ...unfinished, ...ids.finisherSuffix],
        written: [...t.transcriptIds],
      };
    },
  };
}

export const LAYOUTS: Record<string, Layout> = {
  combined: sharedPage("combined", (t, w) => [t.prompt, ...t.history, ...page(t, w)], true),
  contiguous: sharedPage("contiguous", (t, w) => [t.prompt, ...page(t, w)], false),
  interleaved: sharedPage("interleaved", (t, w) => [t.prompt, ...t.history, w.own], true),
  independent: {
    name: "independent",
    view: (t, w) => [t.prompt, ...w.history, w.own],
    commit: (_t, w) => (w.history.push(w.own), []),
    finishingRow: true,
    chain: false,
    copiesSteps: false,
    finisherTail: (written) => written,
    sharedAnswer: false,
    text: (t) => t.workers.map((w) => w.traceText).join("\n\n"),
    finisher(t, fork) {
      // Traces one after another: the first is already a chain in write order (its unwritten tokens follow in
      // the tail); the others are encoded after it.
      const [w0, ...rest] = t.workers, suffix = t.ids.finisherSuffix;
      if (fork) {
        return {
          before: [t.prompt, ...t.workers.flatMap((w) => [...w.history, w.own])],
          first: [...suffix],
          written: [],
        };
      }
      const unwritten = w0.unwritten;
      return {
        before: [t.prompt, ...w0.history, w0.own],
        first: [...unwritten, ...rest.flatMap((w) => w.trace), ...suffix],
        written: w0.trace.slice(0, w0.trace.length - unwritten.length),
      };
    },
  },
};

/**
 * The paper's "re-encode" ablation over a layout with a shared history: a finished step (its finishing token
 * included) is written again after the history instead of keeping the keys its writer computed, and its old
 * block goes back to the pool. The history is then a chain read in write order, the exact finisher's own.
 */
export function reencodingSteps(base: Layout): Layout {
  if (!base.chain) {
    throw new RangeError(`reencode-steps needs a layout with a shared history, not ${base.name}`);
  }
  return {
    ...base,
    name: `${base.name}:reencode-steps`,
    finishingRow: false,
    chain: false,
    commit(t, w) {
      t.cache.free(w.own);
      const block = t.cache.newBlock(`${w.name}.${w.step}.history`);
      t.history.push(block);
      return [{ block, view: [t.prompt, ...t.history], tokens: w.stepIds, logits: "none" }];
    },
    finisher(t, fork) {
      const f = base.finisher(t, fork);
      return fork ? f : { ...f, before: [t.prompt, ...t.history] };
    },
  };
}
