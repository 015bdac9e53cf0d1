/**
 * Layouts: where a run's workers read and where their finished steps go. Each one is a strategy: a worker's
 * view, what committing a finished step does, what an answer ends, the finisher's transcript and what it all
 * costs in KV. It reads the run's state and changes none of it: a commit returns where the step goes and the
 * run applies it (run.ts), so that the run stays the one writer of its state and the viewer can replay the
 * same layout over stand-in blocks (harness/viewer/views.ts).
 *
 *  - combined:    prompt, finished steps, [others' header], others' unfinished steps by id, [own header], own step
 *  - contiguous:  prompt, [others' header], others' blocks, [own header], own block (steps stay put)
 *  - interleaved: prompt, finished steps, own step (others' steps are seen once finished)
 *  - independent: prompt, the worker's own finished steps, own step (sequential and self-consistency)
 *
 * Headers appear with the collaboration text only; without it one worker's view is exactly a plain sequence.
 * `history` is the one fact the methods read (which layouts Hogwild! offers, which ones `reencode-steps`
 * takes); the builders below derive every method from it. `reencodingSteps` turns a layout with a shared
 * history into the paper's "re-encode" ablation.
 */
import type { Block } from "../../engine/cache.ts";
import type { FinisherStart, StepRecord, WrittenText } from "./solver.ts";

/** The protocol texts as token ids (tokenized once per model). */
export interface ProtocolIds {
  othersHeader: number[];
  ownHeader: number[];
  marker: number[];
  finisherSuffix: number[];
  stepPrefix(name: string, step: number): number[];
  /** a step's prefix with the redundancy check after it, encoded as one text (the tokens a model would write) */
  checkedPrefix(name: string, step: number): number[];
}

/** What a view and a commit read of a worker. */
export interface Member {
  readonly name: string;
  /** the step it is writing */
  readonly step: number;
  /** the block it is writing */
  readonly own: Block;
  /** its own finished steps (the independent layout) */
  readonly history: readonly Block[];
}

/** The protocol's header blocks: the others' header, the worker's own, the marker after an unfinished step. */
export const HEADERS = ["others", "own", "marker"] as const;
export type Header = typeof HEADERS[number];

/** What a view and a commit read of a run: its blocks as they are now. */
export interface Page {
  readonly prompt: Block;
  /** each written once, at the run's first pass, where the layout reads it (Layout.headers) */
  readonly headers: { readonly [h in Header]: Block };
  /** the finished steps every worker sees, in commit order */
  readonly history: readonly Block[];
  readonly workers: readonly Member[];
  /** the headers, step prefixes and redundancy checks are written */
  readonly collab: boolean;
}

/** What the text and the finisher read of a worker besides. */
export interface WorkerState extends Member {
  /** tokens of the current step (prefix, generated, finishing), written or about to be, and its text */
  readonly stepIds: readonly number[];
  readonly stepText: string;
  /** everything it wrote, in order, and its text */
  readonly trace: readonly number[];
  readonly traceText: string;
  /** tokens it has decided but not yet written into its blocks */
  readonly unwritten: readonly number[];
  /** a finished step's last token, sampled: the step's commit waits for the next pass to write it */
  readonly finishing: number | undefined;
}

/**
 * Pieces of text in transcript order, each with its writer, as the texts an answer is read from: a writer's
 * consecutive pieces joined (one worker's whole transcript is one text, as it always was), another writer's never
 * (one writer's stray brace would close the box another left open).
 */
export function writerRuns(pieces: readonly [writer: number, text: string][]): WrittenText[] {
  const runs: WrittenText[] = [];
  pieces.forEach(([writer, text], i) => {
    if (i > 0 && pieces[i - 1][0] === writer) runs[runs.length - 1].text += text;
    else runs.push({ writer, text });
  });
  return runs;
}

/**
 * What the generated texts are read from: the finished steps in transcript order and each worker's texts (a
 * run's team; the viewer's replay of a trace, for records from before a checkpoint's `writer`).
 */
export interface WrittenParts {
  readonly steps: readonly { readonly worker: number; readonly text: string }[];
  readonly workers: readonly { readonly stepText: string; readonly traceText: string }[];
}
/** What the text and the finisher read of a run besides. */
export interface Team extends Page {
  readonly workers: readonly WorkerState[];
  readonly steps: readonly StepRecord[];
  readonly ids: ProtocolIds;
  /** after the prompt, the finished steps as one chain in write order (what the exact finisher reads), and their ids */
  readonly transcript: readonly Block[];
  readonly transcriptIds: readonly number[];
}

/**
 * Where a finished step goes; the run applies it at the pass after its finishing token was sampled. `block`
 * is the worker's own (kept as written: the finishing token goes into it, in the worker's view before the
 * commit) or a new one (the step is written into it again, after the prompt and the history it joins, and
 * the old block goes back to the pool). `into`: the history every worker sees, or the worker's own.
 */
export interface Commit {
  readonly block: Block;
  readonly into: "shared" | "own";
}

/** A new block of the run's cache, by label. */
export type NewBlock = (label: string) => Block;

/**
 * The finisher's start, and the tokens its view holds after the prompt (the transcript already written; all its
 * view holds where `before` has no prompt).
 */
export type FinisherPlan = FinisherStart & { written: number[] };

/** A tokenizer's two ways, and the finisher's suffix as text (--finisher-input text). */
export interface TranscriptText {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  suffix: string;
}

/**
 * A finisher's plan read as the official code reads it (eqimp/hogwild_llm, compile_response_with_s1_finisher):
 * the prompt and the transcript decoded, and that text with the suffix encoded again as one. The ids differ from
 * the writers' where a join merges (".\n\n" then "\n\n###" is ".\n\n\n\n" "###" as one text). The prompt's block is
 * kept where the re-encode begins with its ids; otherwise the finisher encodes it too. `plan` reads the prompt
 * block first, then `written`, and ends its first row with `suffix`.
 */
export function asText(
  plan: FinisherPlan,
  prompt: { block: Block; ids: readonly number[] },
  suffix: readonly number[],
  text: TranscriptText,
): FinisherPlan {
  const body = plan.first.slice(0, plan.first.length - suffix.length);
  if (plan.before[0] !== prompt.block || !suffix.every((id, i) => plan.first[body.length + i] === id)) {
    throw new Error("asText: a finisher plan that does not read the prompt first and end with the suffix");
  }
  const ids = text.encode(text.decode([...prompt.ids, ...plan.written, ...body]) + text.suffix);
  const kept = ids.length > prompt.ids.length && prompt.ids.every((id, i) => ids[i] === id);
  return kept
    ? { before: [prompt.block], first: ids.slice(prompt.ids.length), written: [] }
    : { before: [], first: ids, written: [] };
}

export interface Layout {
  readonly name: string;
  /**
   * Where committed steps are kept: a history the team shares, each worker's own (each writes its own trace and
   * answers alone), or none (a worker's steps stay in its block). The methods read it; the run calls the rest.
   */
  readonly history: "shared" | "own" | "none";
  /** a worker's view, in order */
  view(t: Page, w: Member): Block[];
  /**
   * The header blocks its views (with the collaboration text or without) and its finisher (the fork's, or the
   * transcript's) read, in HEADERS' order: the run writes these alone, once; a block no row reads is never written.
   */
  headers(collab: boolean, fork: boolean): readonly Header[];
  /**
   * Where `w`'s step goes, asked when its finishing token is sampled. Undefined: it stays in the worker's block,
   * and the next step follows there at once, that token at its head.
   */
  commit(t: Page, w: Member, newBlock: NewBlock): Commit | undefined;
  /**
   * The exact finisher's transcript chain, for a layout whose history holds keys computed in its writers' views:
   * the run writes every committed step into it once more, in commit order.
   */
  transcriptChain(newBlock: NewBlock): Block | undefined;
  /** what an answer written in a finished step ends: the run (the team's answer), or only its writer (they vote) */
  answerEnds(t: Team): "run" | "worker";
  /** the generated texts, each one writer's (writerRuns), in transcript order */
  texts(t: WrittenParts): WrittenText[];
  /** the finisher's start: `fork` reads the workers' own blocks; otherwise the transcript, re-encoded */
  finisher(t: Team, fork: boolean): FinisherPlan;
  /** the KV tokens of finished steps written a second time, when the workers' steps take `tokens` */
  copies(tokens: number): number;
  /** the most tokens the exact finisher encodes anew, the workers having written `written` in steps of about `step` */
  finisherTail(written: number, workers: number, step: number): number;
}

const others = (t: Page, w: Member) => t.workers.filter((x) => x !== w).map((x) => x.own);
/** Others' blocks, then the worker's own, with the headers between them when the text is on. */
const page = (t: Page, w: Member) =>
  t.collab ? [t.headers.others, ...others(t, w), t.headers.own, w.own] : [...others(t, w), w.own];

/**
 * A layout where the workers write one shared page: one answer for the team, one transcript. With a history,
 * finished steps join it; without, they stay in their writer's block. `paged`: its views lay the others' steps out
 * as `page` does, between the headers (with the collaboration text).
 */
function sharedPage(name: string, view: Layout["view"], history: boolean, paged: boolean): Layout {
  return {
    name,
    history: history ? "shared" : "none",
    view,
    // The views' headers (with the text); the fork finisher's others' header and a marker after each block. The
    // transcript's finisher writes the others' header and the markers as tokens of its tail, no block.
    headers: (collab, fork) => HEADERS.filter((h) => (paged && collab && h !== "marker") || (fork && h !== "own")),
    commit: history ? (_t, w) => ({ block: w.own, into: "shared" }) : () => undefined,
    // The history's blocks hold keys computed in their writers' views: the exact finisher reads a copy in order.
    transcriptChain: (newBlock) => history ? newBlock("transcript") : undefined,
    answerEnds: () => "run",
    copies: (tokens) => history ? tokens : 0,
    // With a history it encodes only the unfinished steps (a few steps' worth each); without, everything.
    finisherTail: (written, workers, step) => (history ? Math.min(written, workers * 4 * step) : written),
    texts: (t) =>
      writerRuns([
        ...t.steps.map((s): [number, string] => [s.worker, s.text]),
        ...t.workers.map((w, i): [number, string] => [i, w.stepText]),
      ]),
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
      // The transcript chain (encoded once, in commit order), then the unfinished tail and the suffix. A step
      // finished in this pass is the history's already (its commit waits only to write its last token): it
      // follows the chain, in commit order, and its writer's unfinished step is empty.
      const closed = history ? ws.filter((w) => w.finishing !== undefined) : [];
      const unfinished = ws.flatMap((w) => [
        ...(!history ? w.trace : closed.includes(w) ? [] : w.stepIds),
        ...ids.marker,
      ]);
      return {
        before: [prompt, ...t.transcript],
        first: [...closed.flatMap((w) => w.stepIds), ...ids.othersHeader, ...unfinished, ...ids.finisherSuffix],
        written: [...t.transcriptIds],
      };
    },
  };
}

export const LAYOUTS: Record<string, Layout> = {
  combined: sharedPage("combined", (t, w) => [t.prompt, ...t.history, ...page(t, w)], true, true),
  contiguous: sharedPage("contiguous", (t, w) => [t.prompt, ...page(t, w)], false, true),
  interleaved: sharedPage("interleaved", (t, w) => [t.prompt, ...t.history, w.own], true, false),
  independent: {
    name: "independent",
    history: "own",
    view: (t, w) => [t.prompt, ...w.history, w.own],
    // no view and no finisher of independent writers reads a header
    headers: () => [],
    commit: (_t, w) => ({ block: w.own, into: "own" }),
    // A worker's view is a plain sequence: the exact finisher reads the first one's blocks as they are.
    transcriptChain: () => undefined,
    // One worker's answer is the run's; several each answer alone.
    answerEnds: (t) => t.workers.length > 1 ? "worker" : "run",
    copies: () => 0,
    finisherTail: (written) => written,
    texts: (t) => t.workers.map((w, writer) => ({ writer, text: w.traceText })),
    finisher(t, fork) {
      // Traces one after another, each as its writer wrote it, opening with the token its first row read (the
      // prompt's last, without step prefixes: the fork's blocks hold it so too): the first is already a chain in
      // write order (its unwritten tokens follow in the tail); the others are encoded after it. A trace none of
      // whose tokens is written (one its method holds back, not started) is none yet: it adds nothing, as its
      // empty blocks add nothing to the fork's view.
      const [w0, ...rest] = t.workers, suffix = t.ids.finisherSuffix;
      const started = rest.filter((w) => w.trace.length > w.unwritten.length);
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
        first: [...unwritten, ...started.flatMap((w) => w.trace), ...suffix],
        written: w0.trace.slice(0, w0.trace.length - unwritten.length),
      };
    },
  },
};

/**
 * The paper's "re-encode" ablation over a layout with a shared history: a finished step (its finishing token
 * included) is written again after the history into a new block instead of keeping the keys its writer
 * computed, and its old block goes back to the pool. The history is then a chain read in write order, the
 * exact finisher's own.
 */
export function reencodingSteps(base: Layout): Layout {
  if (base.history !== "shared") {
    throw new RangeError(`reencode-steps needs a layout with a shared history, not ${base.name}`);
  }
  return {
    ...base,
    name: `${base.name}:reencode-steps`,
    commit: (_t, w, newBlock) => ({ block: newBlock(`${w.name}.${w.step}.history`), into: "shared" }),
    transcriptChain: () => undefined,
    finisher(t, fork) {
      const f = base.finisher(t, fork);
      return fork ? f : { ...f, before: [t.prompt, ...t.history] };
    },
  };
}
