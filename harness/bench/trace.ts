/**
 * What a writer's text in a trace is made of (docs/run-files.md, "traces.jsonl"): its finished steps in step
 * order, joined, then the step it was still writing; steps of text the harness inserted are marked. The readers
 * of traces (the viewer's measures, the judge) split a writer's text by these, never by guesses of their own.
 */
import type { TraceLine } from "./rundir.ts";

export type TraceStep = TraceLine["steps"][number];

/**
 * A writer's steps in step order and the rest of its text (the step it was still writing); undefined where its
 * text does not start with its steps joined (a trace that breaks the rule: one written before its family's version that fixed it).
 */
export function writerParts(trace: TraceLine, worker: number): { steps: TraceStep[]; rest: string } | undefined {
  const steps = trace.steps.filter((s) => s.worker === worker).sort((a, b) => a.step - b.step);
  const text = trace.workers[worker] ?? "", finished = steps.map((s) => s.text).join("");
  return text.startsWith(finished) ? { steps, rest: text.slice(finished.length) } : undefined;
}

/**
 * A writer's own words: its text with each step the harness inserted, and the head of each other step the harness
 * wrote (`head`: its length, given the step's number and text; undefined where the step does not open as the harness
 * wrote it), put as one space (no word made across it); undefined as writerParts, or where a step's head is. The
 * rest is the step after the last finished one.
 */
export function ownText(
  trace: TraceLine,
  worker: number,
  head: (step: number, text: string) => number | undefined = () => 0,
): string | undefined {
  const parts = writerParts(trace, worker);
  if (!parts) return undefined;
  const own = (step: number, text: string) => {
    const n = text === "" ? 0 : head(step, text);
    return n === undefined ? undefined : n === 0 ? text : " " + text.slice(n);
  };
  const texts = [
    ...parts.steps.map((s) => s.inserted ? " " : own(s.step, s.text)),
    own((parts.steps.at(-1)?.step ?? 0) + 1, parts.rest),
  ];
  return texts.some((t) => t === undefined) ? undefined : texts.join("");
}
