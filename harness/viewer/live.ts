/**
 * A bench's runs as they happen, for the viewer: after each pass, what each run's writers added and the steps
 * they finished, as events (LiveTap, on the bench's side), and every run in flight as those events built it
 * (LiveRuns, on the viewer's: a page that connects mid-run first gets every run's state so far, without asking the
 * bench). A text that does not go on from what was sent (a method that cuts a text back) is sent again whole, with
 * `reset`.
 */
import type { Solver } from "../generation/solver.ts";
import type { LiveEvent } from "./server.ts";

interface Tracked {
  solver: Solver;
  head: Record<string, unknown>;
  /** each writer's text as last sent */
  sent: string[];
  steps: number;
}

export class LiveTap {
  readonly #runs = new Map<string, Tracked>();

  constructor(readonly publish: (e: LiveEvent) => void, readonly run = 0) {}

  track(key: string, head: { task: string; problem_id: string; method: string; seed: number }, solver: Solver): void {
    const t: Tracked = { solver, head: { ...head, names: solver.names() }, sent: [], steps: 0 };
    this.#runs.set(key, t);
    this.publish({ type: "start", key, run: this.run, ...t.head });
  }

  /** After a pass: each run's new text and finished steps. */
  tick(): void {
    for (const [key, t] of this.#runs) this.#send(key, t);
  }

  /** A run is over: what its last pass added (a run ends inside the pass, before the tick), then its end. */
  finish(key: string): void {
    const t = this.#runs.get(key);
    if (!t) return;
    this.#send(key, t);
    this.#runs.delete(key);
    this.publish({ type: "done", key, run: this.run });
  }

  #send(key: string, t: Tracked): void {
    const texts = t.solver.texts();
    const reset = texts.some((x, i) => !x.startsWith(t.sent[i] ?? ""));
    const append = reset ? texts : texts.map((x, i) => x.slice(t.sent[i]?.length ?? 0));
    const steps = t.solver.steps.slice(t.steps).map((s) => ({ worker: s.worker, step: s.step, pass: s.pass }));
    if (!reset && append.every((a) => a === "") && steps.length === 0) return;
    t.sent = texts;
    t.steps += steps.length;
    const names = t.solver.names();
    this.publish({
      type: "pass",
      key,
      run: this.run,
      pass: t.solver.passes,
      append,
      steps,
      names,
      ...(reset ? { reset } : {}),
    });
  }
}

interface Shown {
  run: number;
  head: Record<string, unknown>;
  pass: number;
  texts: string[];
  steps: unknown[];
  names: unknown;
}

/**
 * The runs in flight as the events published so far make them: what a page that connects now must be sent first
 * (a start and one pass with all the text so far, each). Built from the events alone, on the viewer's side: the
 * bench's thread is not asked.
 */
export class LiveRuns {
  readonly #runs = new Map<string, Shown>();

  apply(e: LiveEvent): void {
    if (e.type === "done") return void this.#runs.delete(e.key);
    if (e.type === "start") {
      const { type: _, key: __, run, ...head } = e;
      return void this.#runs.set(e.key, { run, head, pass: 0, texts: [], steps: [], names: head.names });
    }
    const shown = this.#runs.get(e.key);
    if (!shown) return;
    const append = (e.append ?? []) as string[];
    const n = Math.max(shown.texts.length, append.length);
    shown.texts = Array.from({ length: n }, (_, i) => (e.reset ? "" : shown.texts[i] ?? "") + (append[i] ?? ""));
    shown.steps.push(...((e.steps ?? []) as unknown[]));
    shown.pass = e.pass as number;
    shown.names = e.names;
  }

  /** Every run in flight, as a start and one pass with all its text so far. */
  snapshot(): LiveEvent[] {
    return [...this.#runs].flatMap(([key, s]) => [
      { type: "start" as const, key, run: s.run, ...s.head },
      {
        type: "pass" as const,
        key,
        run: s.run,
        pass: s.pass,
        append: s.texts.slice(),
        steps: s.steps.slice(),
        names: s.names,
        reset: true,
      },
    ]);
  }
}
