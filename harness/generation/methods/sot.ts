/**
 * Skeleton-of-Thought, the paper's other parallel baseline, on the same cache, scheduler and checkpoints as
 * Hogwild! runs (docs/methods.md, "Skeleton-of-Thought"): an outline, then one thread per point (their prompts' common
 * beginning one shared block; all at once, or N rows a pass in turns), then the main writer goes on after the
 * plan and the points' work re-encoded. Every pass in which it samples counts toward the budget.
 * The family (sot[:N]): its methods, the spec of a run from the texts (harness/generation/prompts/sot.json or
 * --texts sot=FILE), the check against those texts, and the run itself (SotRun); the viewer replays no views of it.
 */
import type { Block, KVCache } from "../../../engine/cache.ts";
import type { TextTokenizer } from "../../../engine/tokenizer.ts";
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
import { fillTemplate, loadTemplate, promptIds, readTexts, renderTemplate, type TextField } from "../prompts.ts";
import { type FinisherStart, pageTokens, type PlannedRow, Solver, writerSeed, type WrittenText } from "../solver.ts";
import { StepDetector } from "../steps.ts";

/** A Skeleton-of-Thought method: the common fields (a baseline's) and its points' rows per pass. */
export interface SotMethod extends Method {
  /** its points' rows per pass (0: all) */
  threadsPerPass: number;
}

export const sot: Family<SotMethod> = {
  name: "sot",
  prefixes: ["sot"],
  grammar: () => ["sot[:N]"],
  parse(p) {
    check(p.opts.length === 0, `method ${p.id}: sot takes only a thread count (sot or sot:N)`);
    // N below the plan's maxPoints (checkSpec, with the texts): here below the largest a texts file may set.
    const threads = p.n === undefined ? 0 : p.count(MAX_POINTS - 1, "thread count");
    return {
      ...baseline("sot", threads ? `sot:${threads}` : "sot", Math.max(threads, 1), true, "reencode"),
      threadsPerPass: threads,
    };
  },
  solver: (cache, method, problem, seed, ctx) => new SotRun(cache, sotSpec(method, problem, seed, ctx)),
  // Its first pass writes the outline's prompt and the main one; the points and the continuation read a plan of
  // any length (the outline may end at once), so nothing later is sure.
  minPositions(method, problem, ctx) {
    const s = sotSpec(method, problem, 0, ctx);
    return Math.max(s.outlinePrompt.length, s.mainPrompt.length);
  },
  checkSpec(m, spec) {
    const texts = loadSot(spec.texts?.sot);
    check(
      m.threadsPerPass < texts.maxPoints,
      `method ${m.id}: an outline has at most ${texts.maxPoints} points (maxPoints of ${
        spec.texts?.sot ?? "harness/generation/prompts/sot.json"
      }), so every point already runs at once: write it as sot`,
    );
  },
  // Its points' threads, all of the plan's at once (at most its texts' maxPoints), or N a pass.
  passRows: (m, spec) => m.threadsPerPass || loadSot(spec.texts?.sot).maxPoints,
  // Its writers are an outline, points and a continuation, not workers over a layout.
  replaysViews: false,
  peersRead: "the outline (the main writer also the points, once written)",
  texts: loadSot,
  compared: () => ["sot"],
  // 2: a box in a point's work no longer answers the problem (1 took the last point's box, in point order, and
  // asked the finisher nothing after it); 3: no digit follows a point's marker (2 read "1.1 Find A" as a
  // point "1 Find A", "0.5 of 10" as "5 of 10", each a thread), and the re-read plan ends at its last word (2 kept
  // its blank line before the first header's: four newlines); 4: the outline and points put in a prompt lose any
  // added token's text (3 encoded a `</think>` the outline held as that token, in every point's prompt)
  version: 4,
};

/** The largest maxPoints a texts file may set. */
const MAX_POINTS = 64;

/** Skeleton-of-Thought's texts and limits (harness/generation/prompts/sot.json, or the user's file). */
export interface SotTexts {
  /** the outline request, with {{problem}} */
  outline: string;
  /** written for the model at the start of its plan; its points are numbered from 1 */
  outlineStart: string;
  /** a point's prompt, with {{problem}}, {{outline}}, {{k}} and {{point}} */
  point: string;
  /** before point k's work when the work is re-encoded, with {{k}} and {{point}} */
  pointHeader: string;
  /** opens the re-encoded work */
  resume: string;
  /** between the last point's work and the continuation */
  join: string;
  outlineTokens: number;
  pointTokens: number;
  maxPoints: number;
}

/** sot.json's texts as sotSpec fills them, and which may be empty (docs/methods.md). */
type SotText = Exclude<keyof SotTexts, "outlineTokens" | "pointTokens" | "maxPoints">;
const SOT_FIELDS: Readonly<Record<SotText, TextField>> = {
  outline: { holds: ["{{problem}}"] },
  outlineStart: { empty: "the model opens its plan itself" },
  point: { holds: ["{{problem}}", "{{outline}}", "{{k}}", "{{point}}"] },
  pointHeader: {
    fills: ["{{k}}", "{{point}}"],
    needs: "it opens each point's work as the continuation re-reads it: empty, the work runs on from the plan's " +
      "last word and from each point's into the next",
  },
  resume: { empty: "the re-read plan follows the prompt" },
  join: { needs: "it hands the work to the continuation: empty, that goes on writing the last point's work" },
};

export function loadSot(file?: string): SotTexts {
  const { where, texts: p } = readTexts(file, "sot.json", SOT_FIELDS, {
    others: ["outlineTokens", "pointTokens", "maxPoints"],
  });
  // Sizes in tokens and points: bounded so that a typo (1e9) is named here, not found later as a cache too small.
  for (const [k, most] of [["outlineTokens", 1 << 16], ["pointTokens", 1 << 16], ["maxPoints", MAX_POINTS]] as const) {
    check(
      Number.isInteger(p[k]) && (p[k] as number) > 0 && (p[k] as number) <= most,
      `${where}: field "${k}" must be an integer in 1..${most}, got ${JSON.stringify(p[k])}`,
    );
  }
  return p as unknown as SotTexts;
}

/** Skeleton-of-Thought's run of a problem. */
export function sotSpec(method: SotMethod, problem: string, seed: number, ctx: RunContext): SotSpec {
  const tok = ctx.tokenizer, t = textsOf(ctx, sot.name, loadSot);
  const outlineStartIds = tok.encode(t.outlineStart);
  return {
    outlinePrompt: [...promptIds(tok, fillTemplate(t.outline, { problem })), ...outlineStartIds],
    outlineStart: t.outlineStart,
    outlineStartIds,
    // the outline and its points are the model's text: an added token's text in them is taken out, not read as
    // that token (a `</think>` in the outline would close every point's reasoning)
    pointPrompt: (outline, k, point) =>
      promptIds(
        tok,
        fillTemplate(t.point, {
          problem,
          outline: tok.withoutAddedTokens(outline),
          k: String(k),
          point: tok.withoutAddedTokens(point),
        }),
      ),
    mainPrompt: promptIds(tok, renderTemplate(loadTemplate("plain", ctx.plainTemplate), problem, [])),
    resume: tok.encode(t.resume),
    pointHeader: (k, point) =>
      tok.encode(fillTemplate(t.pointHeader, { k: String(k), point: tok.withoutAddedTokens(point) })),
    trimEnd: (ids) => trimEndIds(tok, ids),
    join: tok.encode(t.join),
    threadsPerPass: method.threadsPerPass,
    outlineTokens: t.outlineTokens,
    pointTokens: t.pointTokens,
    maxPoints: t.maxPoints,
    ...ownRunSettings(ctx, seed),
  };
}

export interface SotSpec extends OwnRunSettings {
  /** the outline request, the assistant's turn opened, then the outline's opening */
  outlinePrompt: number[];
  /** the outline's opening, as text and ids: points are read from it and what the writer adds */
  outlineStart: string;
  outlineStartIds: number[];
  /** thread k's whole prompt (k from 1) */
  pointPrompt(outline: string, k: number, point: string): number[];
  /** the plain prompt: the continuation and the finisher read after it */
  mainPrompt: number[];
  /** opens the re-encoded work in the continuation */
  resume: number[];
  /** before point k's work in the re-encoded work */
  pointHeader(k: number, point: string): number[];
  /** ids without their text's trailing whitespace */
  trimEnd(ids: readonly number[]): number[];
  /** after the last point's work, where the continuation takes over */
  join: number[];
  /** rows per pass while the threads run; 0: every unfinished thread */
  threadsPerPass: number;
  outlineTokens: number;
  pointTokens: number;
  maxPoints: number;
}

/**
 * The plan's points: its lines "1. …" or "2) …", in order, at most `max`. No digit follows the marker, so that a
 * sub-point ("1.1 …") or a decimal ("0.5 of …") is no point (no thread, no header) but stays in the plan as
 * written; a label right after it ("1.Add") is one, as the model may write the first after the plan's "1.".
 */
export function parsePoints(outline: string, max: number): string[] {
  const points: string[] = [];
  for (const line of outline.split("\n")) {
    const m = /^\s*\d+\s*[.)](?!\d)\s*(\S.*?)\s*$/.exec(line);
    if (m && points.length < max) points.push(m[1]);
  }
  return points;
}

/**
 * `ids` without their text's trailing whitespace: the model's own ids up to the token that holds the last word;
 * that token, with any before it that hold part of its character, is encoded again without the whitespace it
 * holds (".\n\n" as ".").
 */
function trimEndIds(tok: TextTokenizer, ids: readonly number[]): number[] {
  const decode = tok.decoder(), pieces = ids.map((id) => decode(id));
  let end = ids.length;
  while (end > 0 && /^\s+$/.test(pieces[end - 1])) end--;
  if (end === 0 || pieces[end - 1].trimEnd() === pieces[end - 1]) return ids.slice(0, end);
  let start = end - 1;
  while (start > 0 && pieces[start - 1] === "") start--;
  return [...ids.slice(0, start), ...tok.encode(pieces.slice(start, end).join("").trimEnd())];
}

interface Writer {
  label: string;
  block: Block;
  view: Block[];
  /** tokens to write in the next pass */
  next: number[];
  /** what it generated */
  ids: number[];
  text: string;
  decode: (id: number) => string;
  sampler: Sampler;
  limit: number;
  done: boolean;
}

type Stage = "outline" | "points" | "continue";

export class SotRun extends Solver {
  readonly #s: SotSpec;
  readonly #main: Block;
  #mainWritten = false;
  readonly #outline: Writer;
  #points: string[] = [];
  /** the plan as the continuation and the finisher re-read it, once written: its ids less trailing whitespace */
  #plan?: number[];
  /** the threads' prompts' common beginning, and whether it still has to be written */
  #shared?: { block: Block; ids: number[]; written: boolean };
  #threads: Writer[] = [];
  #cursor = 0;
  #cont?: Writer;
  /** the continuation's current step (steps end as in Hogwild! runs; the early stop reads them) */
  #detector = new StepDetector();
  #stepIds: number[] = [];
  #stage: Stage = "outline";
  #writers = 0;

  constructor(cache: KVCache, spec: SotSpec) {
    super(cache, spec.budgets, spec.finisher);
    this.#s = spec;
    this.#main = cache.newBlock("prompt");
    this.#outline = this.#writer("outline", spec.outlinePrompt, [], spec.outlineTokens);
  }

  /** the plan's points, once the outline is written */
  get points(): readonly string[] {
    return this.#points;
  }

  names(): string[] {
    return ["outline", ...this.#threads.map((_, i) => `point ${i + 1}`), ...(this.#cont ? ["continuation"] : [])];
  }

  texts(): string[] {
    return [
      this.#s.outlineStart + this.#outline.text,
      ...this.#threads.map((t) => t.text),
      ...(this.#cont ? [this.#cont.text] : []),
    ];
  }

  #writer(label: string, first: number[], before: Block[], limit: number): Writer {
    const block = this.cache.newBlock(label), index = this.#writers++;
    return {
      label,
      block,
      view: [...before, block],
      next: [...first],
      ids: [],
      text: "",
      decode: this.#s.decoder(),
      limit,
      done: false,
      sampler: new Sampler(this.#s.sampling, writerSeed(this.#s.seed, index)),
    };
  }

  protected decodeRows(): PlannedRow[] {
    const rows: PlannedRow[] = [];
    if (!this.#mainWritten) {
      this.#mainWritten = true;
      rows.push({ block: this.#main, view: [this.#main], tokens: this.#s.mainPrompt, logits: "none" });
    }
    if (this.#shared && !this.#shared.written) {
      this.#shared.written = true;
      rows.push({ block: this.#shared.block, view: [this.#shared.block], tokens: this.#shared.ids, logits: "none" });
    }
    for (const w of this.#active()) {
      rows.push({
        block: w.block,
        view: w.view,
        tokens: w.next,
        logits: "last",
        sampler: w.sampler,
        take: (id) => this.#take(w, id),
      });
      w.next = [];
    }
    return rows;
  }
  /** The writers of the next pass. */
  #active(): Writer[] {
    if (this.#stage === "outline") return [this.#outline];
    if (this.#stage === "continue") return [this.#cont!];
    const n = this.#s.threadsPerPass, all = this.#threads;
    // In turns: the next n unfinished threads from the cursor, cyclically.
    const order = [...all.slice(this.#cursor), ...all.slice(0, this.#cursor)].filter((t) => !t.done);
    const chosen = n === 0 ? order : order.slice(0, n);
    if (chosen.length) this.#cursor = (all.indexOf(chosen[chosen.length - 1]) + 1) % all.length;
    return chosen;
  }

  #take(w: Writer, id: number) {
    if (this.#s.stopIds.includes(id)) {
      w.done = true;
      return;
    }
    const text = w.decode(id);
    // The plan ends where a paragraph that is not a numbered point begins (that token is not kept).
    if (w === this.#outline && /\n[ \t]*\n\s*[^\d\s]/.test(w.text + text)) {
      w.done = true;
      return;
    }
    w.ids.push(id);
    w.text += text;
    w.next = [id];
    if (w === this.#cont) {
      this.#stepIds.push(id);
      if (this.#detector.push(text)) {
        const step = this.#detector.text, answer = lastBoxed(step);
        this.recordStep({
          worker: this.#writers - 1,
          step: this.steps.length + 1,
          text: step,
          ids: this.#stepIds,
          pass: this.passes,
        });
        this.#detector = new StepDetector();
        this.#stepIds = [];
        if (answer) this.stopEarly(answer, this.#writers - 1);
      }
    }
    if (w.ids.length >= w.limit) w.done = true;
  }

  /** From the outline to the points once it is written, from the points to the continuation once all end. */
  protected override afterTakes() {
    if (this.#stage === "outline" && this.#outline.done) {
      const outline = (this.#s.outlineStart + this.#outline.text).trimEnd();
      this.#points = parsePoints(outline, this.#s.maxPoints);
      // As the points' prompts read it: a header or the join opens with its own blank line.
      this.#plan = this.#s.trimEnd([...this.#s.outlineStartIds, ...this.#outline.ids]);
      this.#stage = "points";
      const prompts = this.#points.map((p, i) => this.#s.pointPrompt(outline, i + 1, p));
      // The common beginning (the problem and the plan, mostly) is written once; each thread keeps at least
      // its last token, so that its first row samples.
      let common = prompts.length > 1 ? Math.min(...prompts.map((p) => p.length - 1)) : 0;
      for (const p of prompts) {
        let i = 0;
        while (i < common && p[i] === prompts[0][i]) i++;
        common = i;
      }
      if (common > 0) {
        this.#shared = { block: this.cache.newBlock("points"), ids: prompts[0].slice(0, common), written: false };
      }
      const before = this.#shared ? [this.#shared.block] : [];
      this.#threads = prompts.map((p, i) =>
        this.#writer(`point${i + 1}`, p.slice(common), before, this.#s.pointTokens)
      );
    }
    if (this.#stage === "points" && this.#threads.every((t) => t.done)) {
      this.#stage = "continue";
      this.#cont = this.#writer("main", [...this.#work(false), ...this.#s.join], [this.#main], Infinity);
    }
  }

  /** The plan and every point's work as ids, after `resume`; with `markers`, each unfinished piece is marked. */
  #work(markers: boolean): number[] {
    const s = this.#s, mark = (w: Writer) => (markers && !w.done ? s.marker : []);
    return [
      ...s.resume,
      ...(this.#plan ?? [...s.outlineStartIds, ...this.#outline.ids, ...mark(this.#outline)]),
      ...this.#threads.flatMap((t, i) => [...s.pointHeader(i + 1, this.#points[i]), ...t.ids, ...mark(t)]),
    ];
  }

  kvTokens(pageSize: number): number {
    const s = this.#s, B = this.budgets[this.budgets.length - 1], pages = (n: number) => pageTokens(n, pageSize);
    // Every sampled token costs a pass: the plan and each point write at most B tokens whatever their limits.
    const plan = Math.min(s.outlineTokens, B), point = Math.min(s.pointTokens, B);
    // A point's prompt is the outline request's problem and plan again, with a line of its own.
    const pointPrompt = s.outlinePrompt.length + plan + 64;
    const work = s.resume.length + s.outlineStartIds.length + plan + s.maxPoints * (64 + point) + s.join.length;
    return pages(s.mainPrompt.length) + pages(s.outlinePrompt.length + plan) + pages(pointPrompt) +
      s.maxPoints * pages(64 + point) + pages(work + B) +
      pages(work + s.marker.length * (s.maxPoints + 1) + s.finisherSuffix.length + s.finisher.maxTokens);
  }

  protected get finished(): boolean {
    return this.#cont?.done ?? false;
  }
  /**
   * The continuation's text only: a point's box answers its point (the points' prompt asks for one), not the
   * problem, so until the continuation writes its own the answer is the finisher's over all the work so far.
   */
  protected writtenTexts(): WrittenText[] {
    // the continuation is the last writer of texts() (names())
    return [{ writer: this.#threads.length + 1, text: this.#cont?.text ?? "" }];
  }
  /** After the continuation, or, before it, after the work so far re-encoded. */
  protected finisherStart(): FinisherStart {
    const s = this.#s;
    return this.#cont
      ? { before: [this.#main, this.#cont.block], first: [...this.#cont.next, ...s.finisherSuffix] }
      : { before: [this.#main], first: [...this.#work(true), ...s.finisherSuffix] };
  }
  protected tokens(): number[] {
    return [this.#outline, ...this.#threads, ...(this.#cont ? [this.#cont] : [])].map((w) => w.ids.length);
  }
  protected blocks(): Block[] {
    return [
      this.#main,
      this.#outline.block,
      ...this.#threads.map((t) => t.block),
      ...(this.#shared ? [this.#shared.block] : []),
      ...(this.#cont ? [this.#cont.block] : []),
    ];
  }
}
