/**
 * The teacher: a scripted model (the harness's StepModel seam) that plays the demo task the way the demo
 * model should learn to, reading only what a row's view holds, as text. Run through the real harness (its
 * layouts, step prefixes, redundancy checks, finishers), it writes the training examples: at each decision a
 * row's whole view, then the tokens the teacher writes next.
 *
 * The policy. A worker starting a step reads the problem's parts, the parts already stated ("A = 14."), and
 * the parts others are working on (the part named first in their unfinished steps). While a worker listed
 * before it (by name) shows an unfinished step that names no part yet, it writes a hold (" Look", at most
 * four): they started at the same pass, and a pass later their choice is in its view. Then it takes the first
 * free part, or, half the time (its own seeded draw), any free part at random: no name predicts the part an
 * earlier worker took, so only the others' steps in the view keep two workers off the same one, while greedy
 * decoding still has one clear choice (the first free part) to make. It works the chain one addition at a time; with nothing free it waits; once
 * every part is stated, it writes the answer. The finisher states each part's value where the view has it,
 * "?" where not.
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../../engine/plan.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import { DEFAULT_NAMES } from "../../harness/generation/prompts.ts";
import type { StepModel } from "../../harness/generation/schedule.ts";
import type { Chain } from "../../tasks/chains.ts";

export interface Example {
  ids: number[];
  /** where the teacher's tokens begin */
  start: number;
  /** the length of the prompt (instructions and problem) the view begins with */
  prompt: number;
}

/**
 * One run as the shared cache holds it, for training through the cache itself: every token in the order the
 * passes wrote it, with its block (numbered in the run), its index in the block, its pass and its row; each
 * row's view as blocks and offsets and its first new token's view position, in engine/plan.ts's terms. A
 * token attends to the keys its row's view places at or before it, written at its pass or before, each at
 * its offset in that view: train.py rebuilds every token's attention from this as the engine computes it,
 * and tests/engine/demo_model_test.ts replays records through the engine to check that it does.
 */
export interface RunRecord {
  ids: number[];
  block: number[];
  pos: number[];
  pass: number[];
  row: number[];
  /** per row: the view position of its first new token */
  row_q: number[];
  /** per row r: its view is view_block/view_offset[row_view_start[r] .. row_view_start[r + 1]) */
  row_view_start: number[];
  view_block: number[];
  view_offset: number[];
  /** per token: the teacher's next token after it (the row's last token), -1 where nothing is learned */
  target: number[];
  /** per token: the teacher's decision its target belongs to (a number unique in the run), -1 where none */
  plan: number[];
}

function problemParts(text: string): Chain[] {
  const m = /Let ([A-H] be [^.]*)\. Find/.exec(text);
  if (!m) return [];
  return m[1].split(/; let /).map((s) => {
    const [name, expr] = s.split(" be ");
    return { name, terms: expr.split(" + ").map(Number) };
  });
}

/**
 * The text of working one part: each prefix of its chain with its sum, then its value. Every prefix is copied
 * whole from the problem (or the prefix before it), so a small model copies the terms as an induction head
 * does, by the two tokens before each; reading the next term of a running sum from the problem was ten times
 * slower to learn (measured: 98% against 41% of terms copied right after a thousand steps).
 */
export function partText(p: Chain): string {
  const sums = p.terms.slice(1).map((_, k) => {
    const prefix = p.terms.slice(0, k + 2);
    return `${prefix.join(" + ")} = ${prefix.reduce((a, b) => a + b, 0)}`;
  });
  return ` ${p.name}: ${sums.join(", ")}. ${p.name} = ${p.terms.reduce((a, b) => a + b, 0)}.`;
}

const stated = (text: string) => new Map([...text.matchAll(/([A-H]) = (\d+)\./g)].map((m) => [m[1], m[2]]));

/** The hold a worker writes while one named before it has not yet named its part; and the most in a row. */
export const HOLD = " Look";
const MAX_HOLDS = 4;

/** What an unfinished step's text has decided: the part it names, "other" (a wait or an answer), or nothing yet. */
function decision(step: string): string | undefined {
  const body = step.replace(/^\s*(?:no\.)?/, "").replace(/^(?:\s*Look\b)*/, "").trim();
  if (body === "") return undefined;
  return /^([A-H])\b/.exec(body)?.[1] ?? "other";
}

/**
 * What the teacher writes next for a row whose view reads `view`; `pick` draws in [0, 1) (a draw under 1/2
 * takes the first free part, else a second draw picks among them; the first when it always draws 0).
 */
export function policy(view: string, ownName: string | undefined, pick: () => number = () => 0): string {
  const parts = problemParts(view);
  if (parts.length === 0) return "<|end|>";
  const values = stated(view);
  // The answer names each part (the list grader reads the labels away): a value is then copied from after
  // its name, as an induction head does, not found by counting commas.
  const answer = (value: (p: Chain) => string) => parts.map((p) => `${p.name} = ${value(p)}`).join(", ");
  if (view.endsWith("\\boxed{")) return `${answer((p) => values.get(p.name) ?? "?")}}`;
  if (view.endsWith("}") || view.trimEnd().endsWith("\\boxed{")) return "<|end|>";
  const check = /\(yes\/no\): $/.test(view) ? " no." : "";
  const others = view.includes("### Unfinished steps of the others")
    ? view.slice(view.lastIndexOf("### Unfinished steps of the others"), view.lastIndexOf("<...>"))
    : "";
  const unfinished = [...others.matchAll(/\*\*(\w+) \[\d+\]:\*\*([^*]*)/g)].map((m) => ({
    who: m[1],
    decided: decision(m[2]),
  }));
  const claimed = new Set(unfinished.map((u) => u.decided).filter((d) => d && d !== "other"));
  const order = (n: string) => DEFAULT_NAMES.indexOf(n);
  const holds = /(?: Look)*$/.exec(view)![0].length / HOLD.length;
  const waitFor = ownName !== undefined &&
    unfinished.some((u) => u.decided === undefined && order(u.who) < order(ownName));
  if (waitFor && holds < MAX_HOLDS) return `${check}${HOLD}`;
  const free = parts.filter((p) => !values.has(p.name) && !claimed.has(p.name));
  if (free.length === 0 && parts.every((p) => values.has(p.name))) {
    return `${check} Answer: \\boxed{${answer((p) => values.get(p.name)!)}}.\n\n`;
  }
  if (free.length === 0) {
    return `${check} Waiting for ${[...claimed][0] ?? parts.find((p) => !values.has(p.name))!.name}.\n\n`;
  }
  const k = pick() < 0.5 ? 0 : Math.floor(pick() * free.length);
  return `${check}${partText(free[k])}\n\n`;
}

/**
 * A slip: the step a careless worker might write instead of `planned`, working a part other than the one the
 * policy picked (one already stated or begun by another, or one further on), or undefined when `planned` does
 * not work a part. `pick` draws in [0, 1).
 */
export function slip(view: string, planned: string, pick: () => number): string | undefined {
  const m = /^( no\.)? ([A-H]):/.exec(planned);
  const others = problemParts(view).filter((p) => p.name !== m?.[2]);
  if (!m || others.length === 0) return undefined;
  return `${m[1] ?? ""}${partText(others[Math.floor(pick() * others.length)])}\n\n`;
}

/** The teacher as a StepModel: it plans at each decision and records the example, then feeds its plan. */
export class Teacher implements StepModel {
  readonly examples: Example[] = [];
  /** the runs as the cache holds them, by their prompt block (the first of every view of a run) */
  readonly runs = new Map<Block, RunRecord>();
  readonly #blocks = new Map<Block, number[]>();
  /** each run's blocks, numbered in the order its rows name them */
  readonly #runBlocks = new Map<RunRecord, Map<Block, number>>();
  /** the run whose rows wrote each block */
  readonly #writer = new Map<Block, RunRecord>();
  #plans = 0;
  #pass = 0;
  /**
   * What each writer has yet to write, by the run (its prompt block) and the writer's name: a plan outlives
   * its block, since a step that ends without a prefix to write goes on from the old block into a new one.
   */
  readonly #queues = new Map<Block, Map<string, { ids: number[]; plan: number }>>();

  /**
   * `slips`: the share of part-working steps written as a slip (slip()), not recorded: the later decisions
   * then start from the views a model's own mistakes make (a part worked twice, one left undone) and learn
   * to recover, which the perfect play alone never shows. `pick` draws in [0, 1) (seeded by the caller).
   */
  constructor(readonly tok: TextTokenizer, readonly slips = 0, readonly pick: () => number = Math.random) {}

  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    const records = rows.map((r) => this.#record(r, rows));
    commitPlan(rows);
    for (const r of rows) {
      if (!this.#blocks.has(r.block)) this.#blocks.set(r.block, []);
      this.#blocks.get(r.block)!.push(...Array.from(r.tokens));
    }
    this.#pass++;
    return rows.map((r, i) => {
      if (!r.sampler) return -1;
      const own = /^(\w+)\.\d+$/.exec(r.block.label)?.[1];
      if (!this.#queues.has(r.view[0])) this.#queues.set(r.view[0], new Map());
      const queues = this.#queues.get(r.view[0])!, writer = own ?? r.block.label;
      let q = queues.get(writer);
      if (!q || q.ids.length === 0) {
        const ids = r.view.flatMap((b) => this.#blocks.get(b) ?? []);
        const view = this.tok.decode(ids), planned = policy(view, own, this.pick);
        const slipped = this.slips > 0 && this.pick() < this.slips ? slip(view, planned, this.pick) : undefined;
        q = {
          ids: this.tok.encode(slipped ?? planned),
          plan: slipped === undefined ? this.#plans++ : -1,
        };
        queues.set(writer, q);
        if (slipped === undefined) {
          this.examples.push({
            ids: [...ids, ...q.ids],
            start: ids.length,
            prompt: this.#blocks.get(r.view[0])!.length,
          });
        }
      }
      const next = q.ids.shift()!;
      records[i].run.target[records[i].last] = q.plan < 0 ? -1 : next;
      records[i].run.plan[records[i].last] = q.plan;
      return next;
    });
  }

  /** Appends a row's new tokens to its run's record (before the pass commits: offsets use the new lengths). */
  #record(r: Row, rows: readonly Row[]) {
    const run = this.#run(r.view[0]), numbers = this.#runBlocks.get(run)!;
    for (const b of r.view) if (!numbers.has(b) && b !== r.block && this.#writer.has(b)) this.#import(run, b);
    const newLength = (b: Block) => b.length + rows.reduce((n, o) => n + (o.block === b ? o.tokens.length : 0), 0);
    this.#writer.set(r.block, run);
    const row = this.#addRow(run, r.view, r.block, r.block.length, newLength);
    for (let t = 0; t < r.tokens.length; t++) {
      this.#addToken(run, r.tokens[t], r.block, r.block.length + t, this.#pass, row);
    }
    return { run, last: run.ids.length - 1 };
  }

  #run(key: Block): RunRecord {
    if (!this.runs.has(key)) {
      const run: RunRecord = {
        ids: [],
        block: [],
        pos: [],
        pass: [],
        row: [],
        row_q: [],
        row_view_start: [0],
        view_block: [],
        view_offset: [],
        target: [],
        plan: [],
      };
      this.runs.set(key, run);
      this.#runBlocks.set(run, new Map());
    }
    return this.runs.get(key)!;
  }

  #number(run: RunRecord, b: Block): number {
    const numbers = this.#runBlocks.get(run)!;
    if (!numbers.has(b)) numbers.set(b, numbers.size);
    return numbers.get(b)!;
  }

  #addRow(run: RunRecord, view: readonly Block[], own: Block, ownLength: number, length: (b: Block) => number): number {
    let offset = 0;
    for (const b of view) {
      if (b === own) run.row_q.push(offset + ownLength);
      run.view_block.push(this.#number(run, b));
      run.view_offset.push(offset);
      offset += length(b);
    }
    run.row_view_start.push(run.view_block.length);
    return run.row_q.length - 1;
  }

  #addToken(run: RunRecord, id: number, b: Block, pos: number, pass: number, row: number) {
    run.ids.push(id);
    run.block.push(this.#number(run, b));
    run.pos.push(pos);
    run.pass.push(pass);
    run.row.push(row);
    run.target.push(-1);
    run.plan.push(-1);
  }

  /**
   * A block another run wrote (a header the harness writes once, alone, and places in many views): its tokens
   * join this run as they were written, each pass a row that views the block alone.
   */
  #import(run: RunRecord, b: Block) {
    const from = this.#writer.get(b)!, k = this.#runBlocks.get(from)!.get(b)!;
    const rowOf = new Map<number, number>();
    for (let t = 0; t < from.ids.length; t++) {
      if (from.block[t] !== k) continue;
      const r = from.row[t];
      const view = from.view_block.slice(from.row_view_start[r], from.row_view_start[r + 1]);
      if (view.length !== 1) throw new Error(`teacher: block ${b.label || b.id} of another run has a view of its own`);
      if (!rowOf.has(r)) rowOf.set(r, this.#addRow(run, [b], b, from.pos[t], () => 0));
      this.#addToken(run, from.ids[t], b, from.pos[t], from.pass[t], rowOf.get(r)!);
    }
  }
}
