/**
 * Simple measures of collaboration, from a record's trace (docs/viewer.md, "Collaboration measures"):
 *  - overlap: for each pair of writers, the share of one's word 4-grams that also occur in the other's text,
 *    averaged over ordered pairs: how much the workers repeat each other (0 for one writer);
 *  - mentions: how often a writer names another in its own text;
 *  - steps: finished steps per writer;
 *  - answer_by: who wrote the final answer: the finisher, or the writer the solver read it from (answerWriter).
 * Each over the writers' own words: text the harness inserted (a step marked so) or wrote at a step's head (its
 * prefix, firstStep, a redundancy check) is no writer's.
 */
import type { BenchRecord, TraceLine } from "../bench/rundir.ts";
import { escapeRegExp as escape } from "../../tasks/texts.ts";
import { ownText, writerParts } from "../bench/trace.ts";
import { answerFormat } from "../generation/answer_format.ts";
import { type Method, methodLayout, parseMethod, replaysViews } from "../generation/methods.ts";
import { loadProtocol, type Protocol, stepOpening } from "../generation/prompts.ts";
import { lastWritten } from "../generation/solver.ts";

export interface Measures {
  overlap: number;
  mentions: number[];
  steps: number[];
  answer_by: string | null;
}

/**
 * How much of the head of step `step` of writer `name` the harness wrote under the collaboration text: its opening
 * (stepOpening, as the run forced it), then the redundancy check the run may force after a later step's; undefined
 * where the step does not open so (a protocol file changed since the run): its own words cannot be told apart.
 */
function harnessHead(p: Protocol, checks: boolean, name: string, step: number, text: string): number | undefined {
  const opening = stepOpening(p, name, step);
  if (!text.startsWith(opening)) return undefined;
  const check = checks && step > 1 && text.startsWith(p.redundancyCheck, opening.length);
  return opening.length + (check ? p.redundancyCheck.length : 0);
}

/**
 * Each text's set of word 4-grams, as numbers: words numbered, word pairs numbered, and a 4-gram the pair of its two
 * pairs (exact: ids below 2^21 and 2^26 are multiplied without loss, a trace holding fewer words than that; an
 * undefined past it). Numbers, not joined strings: a run's thousands of traces measured in seconds, not minutes.
 */
function gramSets(texts: readonly string[]): Set<number>[] | undefined {
  const words = new Map<string, number>(), pairs = new Map<number, number>();
  const id = <K>(m: Map<K, number>, k: K) => m.get(k) ?? (m.set(k, m.size), m.size - 1);
  const sets = texts.map((text) => {
    const ids = (text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []).map((w) => id(words, w));
    const two = ids.slice(0, -1).map((a, i) => id(pairs, a * 2 ** 21 + ids[i + 1]));
    const out = new Set<number>();
    for (let i = 0; i + 2 < two.length; i++) out.add(two[i] * 2 ** 26 + two[i + 2]);
    return out;
  });
  return words.size < 2 ** 21 && pairs.size < 2 ** 26 ? sets : undefined;
}

/**
 * The measures of one record's trace; `protocol`: the run's (the heads of steps it wrote are not the workers' words).
 * Null where the writers' own words cannot be told apart (measuresOrWhy says why).
 */
export function measures(trace: TraceLine, record?: BenchRecord, protocol?: Protocol | string): Measures | null {
  const m = measuresOrWhy(trace, record, protocol);
  return typeof m === "string" ? null : m;
}

/**
 * The measures of one record's trace, or why it has none (the page shows it): a trace whose texts are not their
 * steps joined (docs/run-files.md), whose steps do not open as the protocol writes them, of a method this build
 * does not name, or with the collaboration text where the run's protocol is not known (`protocol`: why not).
 */
export function measuresOrWhy(
  trace: TraceLine,
  record?: BenchRecord,
  protocol: Protocol | string = loadProtocol(),
): Measures | string {
  let method: Method;
  try {
    method = parseMethod(trace.method);
  } catch {
    return `method ${trace.method} is not one this build names`; // whether the harness wrote step heads is its
  }
  const names = trace.names ?? trace.workers.map((_, i) => `worker ${i + 1}`);
  if (method.collab && typeof protocol === "string") return `${protocol}: the heads of its steps are not known`;
  const checks = method.collab && !method.noChecks;
  for (const [w] of trace.workers.entries()) {
    if (!writerParts(trace, w)) return `${names[w]}'s text here is not its steps joined (an older trace)`;
  }
  const own = trace.workers.map((_, w) =>
    method.collab
      ? ownText(trace, w, (step, text) => harnessHead(protocol as Protocol, checks, names[w], step, text))
      : ownText(trace, w)
  );
  const off = own.findIndex((t) => t === undefined);
  if (off >= 0) {
    return `a step of ${names[off]} does not open as the run's protocol writes it (its file changed since?)`;
  }
  const texts = own as string[];
  const sets = gramSets(texts);
  if (!sets) return "its writers' texts hold more distinct words than the overlap counts exactly";
  let sum = 0, pairs = 0;
  for (let a = 0; a < sets.length; a++) {
    for (let b = 0; b < sets.length; b++) {
      if (a === b || sets[a].size === 0) continue;
      let shared = 0;
      for (const g of sets[a]) if (sets[b].has(g)) shared++;
      sum += shared / sets[a].size, pairs++;
    }
  }
  // a name as a word of any script (\b knows only ASCII letters: "Zoë" would not end at its ë)
  const word = (name: string) => new RegExp(`(?<![\\p{L}\\p{N}_])${escape(name)}(?![\\p{L}\\p{N}_])`, "gu");
  const mentions = texts.map((t, w) =>
    names.reduce((n, name, o) => o === w ? n : n + (t.match(word(name))?.length ?? 0), 0)
  );
  const mine = trace.steps.filter((s) => !s.inserted);
  const steps = names.map((_, w) => mine.filter((s) => s.worker === w).length);
  const writer = record && answerWriter(trace, record);
  const answerBy = writer === "finisher" ? writer : typeof writer === "number" ? names[writer] ?? null : null;
  return { overlap: pairs ? sum / pairs : 0, mentions, steps, answer_by: answerBy };
}

/**
 * Who wrote a record's final answer: "finisher", or the index of the writer whose text the solver read it from
 * (its checkpoint's `writer`); null where no one writer did (no answer, a vote) or it is not known. A record from
 * before `writer` is read by the solver's own rule (lastWritten) over its trace, for a method over a layout (whose
 * texts the layout gives); another family's (a solver of its own) is not known.
 */
export function answerWriter(trace: TraceLine, record: BenchRecord): number | "finisher" | null {
  const last = record.checkpoints[record.checkpoints.length - 1];
  if (!last || last.source === "none") return null;
  if (last.source === "finisher") return "finisher";
  if (last.writer !== undefined) return last.writer;
  let method: Method;
  try {
    method = parseMethod(trace.method);
  } catch {
    return null; // a method this build does not name
  }
  if (!replaysViews(method) || last.vote !== undefined) return null; // a vote is no one writer's
  const format = answerFormat(record.grading);
  // an early stop reads the step that ended the run: the last one holding an answer
  if (last.source === "early-stop") {
    return lastWritten(trace.steps.map((s) => ({ writer: s.worker, text: s.text })), format, true)?.writer ?? null;
  }
  const parts = trace.workers.map((_, w) => writerParts(trace, w));
  if (parts.some((p) => p === undefined)) return null;
  const workers = parts.map((p, w) => ({ stepText: p!.rest, traceText: trace.workers[w] }));
  const texts = methodLayout(method).texts({ steps: trace.steps, workers });
  return lastWritten(texts, format, trace.ended?.some((e) => e === null) ?? true)?.writer ?? null;
}
