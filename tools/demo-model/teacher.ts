/**
 * The teacher: a scripted model (the harness's StepModel seam) that plays the demo task the way the demo
 * model should learn to, reading only what a row's view holds, as text. Run through the real harness (its
 * layouts, step prefixes, redundancy checks, finishers), it writes the training examples: at each decision a
 * row's whole view, then the tokens the teacher writes next.
 *
 * The policy. A worker starting a step reads the problem's parts, the parts already stated ("A = 14."), and
 * the parts others are working on (the first "X:" of their unfinished steps); it takes the first free part,
 * skipping one for every other worker listed before it (by name) who has not chosen yet (they start at the
 * same pass and would choose the same); it works the chain one addition at a time; with nothing free it waits;
 * once every part is stated, it writes the answer. The finisher states each part's value where the view has
 * it, "?" where not.
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../../engine/plan.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import { DEFAULT_NAMES } from "../../harness/prompts.ts";
import type { StepModel } from "../../harness/schedule.ts";
import type { Chain } from "../../tasks/chains.ts";

export interface Example {
  ids: number[];
  /** where the teacher's tokens begin */
  start: number;
  /** the length of the prompt (instructions and problem) the view begins with */
  prompt: number;
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

/** What the teacher writes next for a row whose view reads `view`. */
export function policy(view: string, ownName: string | undefined): string {
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
  const unfinished = [...others.matchAll(/\*\*(\w+) \[\d+\]:\*\*([^*]*)/g)].map((m) => ({ who: m[1], text: m[2] }));
  const claimed = new Set(unfinished.map((u) => /\b([A-H]):/.exec(u.text)?.[1]).filter((x) => x));
  const order = (n: string) => DEFAULT_NAMES.indexOf(n);
  const undecided =
    unfinished.filter((u) =>
      !/\b[A-H]:|Waiting|Answer/.test(u.text) && ownName !== undefined && order(u.who) < order(ownName)
    ).length;
  const free = parts.filter((p) => !values.has(p.name) && !claimed.has(p.name));
  if (free.length === 0 && parts.every((p) => values.has(p.name))) {
    return `${check} Answer: \\boxed{${answer((p) => values.get(p.name)!)}}.\n\n`;
  }
  const pick = free[undecided];
  if (!pick) return `${check} Waiting for ${[...claimed][0] ?? parts.find((p) => !values.has(p.name))!.name}.\n\n`;
  return `${check}${partText(pick)}\n\n`;
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
  readonly #blocks = new Map<Block, number[]>();
  /**
   * What each writer has yet to write, by the run (its prompt block) and the writer's name: a plan outlives
   * its block, since a step that ends without a prefix to write goes on from the old block into a new one.
   */
  readonly #queues = new Map<Block, Map<string, number[]>>();

  /**
   * `slips`: the share of part-working steps written as a slip (slip()), not recorded: the later decisions
   * then start from the views a model's own mistakes make (a part worked twice, one left undone) and learn
   * to recover, which the perfect play alone never shows. `pick` draws in [0, 1) (seeded by the caller).
   */
  constructor(readonly tok: TextTokenizer, readonly slips = 0, readonly pick: () => number = Math.random) {}

  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    for (const r of rows) {
      if (!this.#blocks.has(r.block)) this.#blocks.set(r.block, []);
      this.#blocks.get(r.block)!.push(...Array.from(r.tokens));
    }
    return rows.map((r) => {
      if (!r.sampler) return -1;
      const own = /^(\w+)\.\d+$/.exec(r.block.label)?.[1];
      if (!this.#queues.has(r.view[0])) this.#queues.set(r.view[0], new Map());
      const queues = this.#queues.get(r.view[0])!, writer = own ?? r.block.label;
      let q = queues.get(writer);
      if (!q || q.length === 0) {
        const ids = r.view.flatMap((b) => this.#blocks.get(b) ?? []);
        const view = this.tok.decode(ids), planned = policy(view, own);
        const slipped = this.slips > 0 && this.pick() < this.slips ? slip(view, planned, this.pick) : undefined;
        q = this.tok.encode(slipped ?? planned);
        queues.set(writer, q);
        if (slipped === undefined) {
          this.examples.push({ ids: [...ids, ...q], start: ids.length, prompt: this.#blocks.get(r.view[0])!.length });
        }
      }
      return q.shift()!;
    });
  }
}
