/**
 * Simple measures of collaboration, from a record's trace (docs/viewer.md, "Collaboration measures"):
 *  - overlap: for each pair of writers, the share of one's word 4-grams that also occur in the other's text,
 *    averaged over ordered pairs: how much the workers repeat each other (0 for one writer);
 *  - mentions: how often a writer names another in its own text (the step headers not counted);
 *  - steps: finished steps per writer;
 *  - answer_by: who wrote the final answer: the finisher, or the writer the solver read it from (answerWriter).
 * Each over the writers' own words: text the harness inserted (a step marked so) is no writer's.
 */
import type { BenchRecord, TraceLine } from "../bench/rundir.ts";
import { escapeRegExp as escape } from "../../tasks/texts.ts";
import { ownText, writerParts } from "../bench/trace.ts";
import { answerFormat } from "../generation/answer_format.ts";
import { type Method, methodLayout, parseMethod, replaysViews } from "../generation/methods.ts";
import { lastWritten } from "../generation/solver.ts";

export interface Measures {
  overlap: number;
  mentions: number[];
  steps: number[];
  answer_by: string | null;
}

/** The step headers the run's protocol writes (its stepPrefix, with {name} and {step}), for these writers. */
function headers(stepPrefix: string, names: readonly string[]): RegExp {
  const [before, after] = escape(stepPrefix).split(escape("{name}"));
  if (after === undefined) return /$^/g; // a prefix without names: nothing to take out
  const each = names.map((n) => before + escape(n) + after.replace(escape("{step}"), "\\d+"));
  return new RegExp(each.join("|"), "gu");
}

function grams(text: string, header: RegExp, n = 4): Set<string> {
  const words = text.replace(header, " ").toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) out.add(words.slice(i, i + n).join(" "));
  return out;
}

/**
 * The measures of one record's trace; `stepPrefix`: the run's protocol's (its headers are not the workers' words).
 * Null for a trace whose texts are not their steps joined (docs/run-files.md): its own words cannot be told apart.
 */
export function measures(
  trace: TraceLine,
  record?: BenchRecord,
  stepPrefix = "**{name} [{step}]:** ",
): Measures | null {
  const own = trace.workers.map((_, w) => ownText(trace, w));
  if (own.some((t) => t === undefined)) return null;
  const texts = own as string[];
  const names = trace.names ?? texts.map((_, i) => `worker ${i + 1}`);
  const header = headers(stepPrefix, names);
  const sets = texts.map((t) => grams(t, header));
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
  const mentions = texts.map((t, w) => {
    const body = t.replace(header, " ");
    return names.reduce((n, name, o) => o === w ? n : n + (body.match(word(name))?.length ?? 0), 0);
  });
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
