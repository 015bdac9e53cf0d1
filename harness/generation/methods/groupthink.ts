/**
 * Group Think (Hsu et al., arXiv 2505.11107), its local form (docs/methods.md, "Group Think"): N thinkers of one
 * model write one token each per pass, and a thinker's next token reads the prompt, its own tokens and every
 * other thinker's tokens up to the same count (those written in this pass included: they were sampled in the
 * pass before, which is the paper's rule). Each thinker's tokens are one block at a slot of positions of its
 * own, its header and one token per pass of the largest budget long: thinker n's slot starts at the prompt's
 * length plus n slots, in every view, as the paper places them (engine/plan.ts `at`). A reader reads the
 * others' blocks in full (`full`), those whose slots lie past its own query included.
 * The family (groupthink:N[:lead]): its methods, its texts (harness/generation/prompts/groupthink.json), its run.
 */
import type { Block, KVCache } from "../../../engine/cache.ts";
import { check } from "../../../engine/errors.ts";
import { Sampler } from "../../../engine/sampler.ts";
import { lastBoxed } from "../../../tasks/grading/answer.ts";
import {
  baseline,
  type Family,
  type Method,
  type OwnRunSettings,
  ownRunSettings,
  type RunContext,
  textsOf,
} from "../methods.ts";
import { DEFAULT_NAMES, fillTemplate, promptIds, readTexts, renderTemplate, type TextField } from "../prompts.ts";
import { type FinisherStart, pageTokens, type PlannedRow, Solver, writerSeed, type WrittenText } from "../solver.ts";
import { StepDetector } from "../steps.ts";

/** A Group Think method: the common fields (a baseline's) and where its answer comes from. */
export interface GroupThinkMethod extends Method {
  /** the first thinker alone answers (its boxed steps, its finisher); otherwise the whole group does */
  lead: boolean;
}

export const groupthink: Family<GroupThinkMethod> = {
  name: "groupthink",
  prefixes: ["groupthink"],
  grammar: () => ["groupthink:N[:lead]"],
  parse(p) {
    const n = p.count(), lead = p.options(["lead"]).length > 0;
    check(n >= 2, `method ${p.id}: groupthink needs 2 or more thinkers (one thinker alone is sequential)`);
    return { ...baseline("groupthink", `groupthink:${n}${lead ? ":lead" : ""}`, n, true, "fork"), lead };
  },
  solver: (cache, method, problem, seed, ctx) => new GroupThinkRun(cache, groupThinkSpec(method, problem, seed, ctx)),
  // Every slot is a whole largest budget long from the first pass: the last thinker's header is written past
  // all the others' slots then.
  minPositions(method, problem, ctx) {
    const s = groupThinkSpec(method, problem, 0, ctx);
    return s.prompt.length + (s.names.length - 1) * s.slot + s.headers[s.headers.length - 1].length;
  },
  // Its thinkers read slotted views of their own, not a layout's.
  replaysViews: false,
  peersRead: "all",
  texts: loadGroupThink,
  compared: () => ["groupthink:4"],
  gridEnd: "each thinker's slot is the grid's largest budget long, so every position between thinkers, and every " +
    "token, depends on it",
  // 2: an answer already written is read from each thinker's text alone (1 read them joined, where one's stray
  // brace could close the box another left open); 3: the finisher reads every thinker's last sampled id after its
  // block (2 left each out, but the lead's under `lead`: sampled before the checkpoint, written only at the next pass)
  version: 3,
};

/** Group Think's texts (harness/generation/prompts/groupthink.json, or the user's file). */
export interface GroupThinkTexts {
  /** the shared prompt, with {{problem}} (and {{count}}, {{names}}) */
  prompt: string;
  /** the opening of each thinker's text, with {{name}} */
  header: string;
}

/** groupthink.json's texts as groupThinkSpec fills them: each holds a placeholder, so neither is ever empty. */
const GROUPTHINK_FIELDS: Readonly<Record<keyof GroupThinkTexts, TextField>> = {
  prompt: { holds: ["{{problem}}"], fills: ["{{names}}", "{{count}}"] }, // renderTemplate's
  header: { holds: ["{{name}}"] },
};

export function loadGroupThink(file?: string): GroupThinkTexts {
  const { texts } = readTexts(file, "groupthink.json", GROUPTHINK_FIELDS);
  return texts as unknown as GroupThinkTexts;
}

export interface GroupThinkSpec extends OwnRunSettings {
  /** the shared prompt, one block at position 0 */
  prompt: number[];
  names: string[];
  /** each thinker's opening, the first tokens of its block */
  headers: number[][];
  /** positions a thinker's block may fill: its header and one token per pass of the largest budget */
  slot: number;
  lead: boolean;
}

/** Group Think's run of a problem, from its texts (default: harness/generation/prompts/groupthink.json). */
export function groupThinkSpec(
  method: GroupThinkMethod,
  problem: string,
  seed: number,
  ctx: RunContext,
  texts: GroupThinkTexts = textsOf(ctx, groupthink.name, loadGroupThink),
): GroupThinkSpec {
  const tok = ctx.tokenizer;
  const names = (ctx.names ?? DEFAULT_NAMES).slice(0, method.workers);
  check(names.length === method.workers, `method ${method.id}: ${method.workers} thinkers but ${names.length} names`);
  const headers = names.map((name) => tok.encode(fillTemplate(texts.header, { name })));
  return {
    prompt: promptIds(tok, renderTemplate(texts.prompt, problem, names)),
    names,
    headers,
    slot: Math.max(...headers.map((h) => h.length)) + ctx.budgets[ctx.budgets.length - 1],
    lead: method.lead,
    ...ownRunSettings(ctx, seed),
  };
}

interface Thinker {
  block: Block;
  /** at a checkpoint, its last sampled id (not yet written in its slot), written for the finisher after its block */
  last: Block;
  /** tokens to write in the next pass: its header, then the id sampled last */
  next: number[];
  ids: number[];
  text: string;
  decode: (id: number) => string;
  sampler: Sampler;
  /** its current step (steps end as in Hogwild! runs; the early stop reads them) */
  detector: StepDetector;
  stepIds: number[];
  steps: number;
  done: boolean;
}

export class GroupThinkRun extends Solver {
  readonly #s: GroupThinkSpec;
  readonly #prompt: Block;
  #promptWritten = false;
  readonly #thinkers: Thinker[];
  /** the finisher's first pass: each thinker's last sampled id, written after its block */
  #lastRows: PlannedRow[] = [];

  constructor(cache: KVCache, spec: GroupThinkSpec) {
    super(cache, spec.budgets, spec.finisher);
    this.#s = spec;
    this.#prompt = cache.newBlock("prompt");
    this.#thinkers = spec.names.map((name, i) => ({
      block: cache.newBlock(name),
      last: cache.newBlock(`${name}.last`),
      next: [...spec.headers[i]],
      ids: [],
      text: "",
      decode: spec.decoder(),
      sampler: new Sampler(spec.sampling, writerSeed(spec.seed, i)),
      detector: new StepDetector(),
      stepIds: [],
      steps: 0,
      done: false,
    }));
  }

  /** Thinker `reader`'s view: the prompt at 0, then every thinker's slot of `slot` positions in order, the others' read in full. */
  view(reader: number): { view: Block[]; at: number[]; full: boolean[] } {
    const p = this.#s.prompt.length, slot = this.#s.slot;
    return {
      view: [this.#prompt, ...this.#thinkers.map((t) => t.block)],
      at: [0, ...this.#thinkers.map((_, k) => p + k * slot)],
      full: [false, ...this.#thinkers.map((_, k) => k !== reader)],
    };
  }

  names(): string[] {
    return this.#s.names;
  }
  texts(): string[] {
    return this.#thinkers.map((t) => t.text);
  }

  protected decodeRows(): PlannedRow[] {
    const rows: PlannedRow[] = [];
    if (!this.#promptWritten) {
      this.#promptWritten = true;
      rows.push({ block: this.#prompt, view: [this.#prompt], tokens: this.#s.prompt, logits: "none" });
    }
    for (const [i, t] of this.#thinkers.entries()) {
      if (t.done) continue;
      const tokens = t.next;
      t.next = [];
      rows.push({ block: t.block, ...this.view(i), tokens, sampler: t.sampler, take: (id) => this.#take(i, id) });
    }
    return rows;
  }

  #take(i: number, id: number) {
    const t = this.#thinkers[i];
    if (this.#s.stopIds.includes(id)) {
      t.done = true;
      return;
    }
    const text = t.decode(id);
    t.ids.push(id);
    t.text += text;
    t.next = [id];
    t.stepIds.push(id);
    if (!t.detector.push(text)) return;
    const step = t.detector.text, answer = lastBoxed(step);
    this.recordStep({ worker: i, step: ++t.steps, text: step, ids: t.stepIds, pass: this.passes });
    t.detector = new StepDetector();
    t.stepIds = [];
    if (answer && (!this.#s.lead || i === 0)) this.stopEarly(answer, i);
  }

  kvTokens(pageSize: number): number {
    const s = this.#s, pages = (n: number) => pageTokens(n, pageSize);
    const tail = 1 + s.marker.length + s.finisherSuffix.length + s.finisher.maxTokens;
    return pages(s.prompt.length) + s.names.length * (pages(s.slot) + pages(1)) + pages(tail);
  }

  protected get finished(): boolean {
    return this.#thinkers.every((t) => t.done);
  }
  protected writtenTexts(): WrittenText[] {
    const texts = this.texts().map((text, writer) => ({ writer, text }));
    return this.#s.lead ? texts.slice(0, 1) : texts;
  }
  /**
   * The lead: the others' blocks, then its own, continued by its unwritten last id; or every thinker's block in
   * order. The finisher's view packs its blocks end to end (FinisherStart places no gaps: every block lies below
   * its queries). A thinker's last sampled id is not in its block yet (its next pass writes it there): each is
   * written, in the finisher's first pass, into a block of its own right after its thinker's block (finisherRows),
   * in the finisher's view; the lead's (under `lead`) opens the finisher's tail instead.
   */
  protected finisherStart(): FinisherStart {
    const s = this.#s, [lead, ...others] = this.#thinkers, before = [this.#prompt];
    this.#lastRows = [];
    for (const t of s.lead ? others : this.#thinkers) {
      before.push(t.block);
      this.cache.truncate(t.last, 0); // the last checkpoint's
      if (t.next.length === 0) continue; // it ended: its last id was an end of sequence, not written
      before.push(t.last);
      this.#lastRows.push({ block: t.last, view: [...before], tokens: t.next, logits: "none" });
    }
    return s.lead
      ? { before: [...before, lead.block], first: [...lead.next, ...s.finisherSuffix] }
      : { before, first: [...s.marker, ...s.finisherSuffix] };
  }
  /** The thinkers' last ids, in the finisher's first pass (its view reads them). */
  protected override finisherRows(): PlannedRow[] {
    const rows = this.#lastRows;
    this.#lastRows = [];
    return rows;
  }
  protected tokens(): number[] {
    return this.#thinkers.map((t) => t.ids.length);
  }
  protected blocks(): Block[] {
    return [this.#prompt, ...this.#thinkers.flatMap((t) => [t.block, t.last])];
  }
}
