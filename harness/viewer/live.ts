/**
 * A bench's runs as they happen, for the viewer: after each pass, what each run's writers added and the steps
 * they finished, as events (a page that connects mid-run first gets every run's state so far). A text that does
 * not go on from what was sent (a method that cuts a text back) is sent again whole, with `reset`.
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

  /** Every run in flight, as a start and one pass with all its text so far. */
  snapshot(): LiveEvent[] {
    return [...this.#runs].flatMap(([key, t]) => [
      { type: "start" as const, key, run: this.run, ...t.head },
      {
        type: "pass" as const,
        key,
        run: this.run,
        pass: t.solver.passes,
        append: t.solver.texts().slice(),
        steps: t.solver.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass })),
        names: t.solver.names(),
        reset: true,
      },
    ]);
  }
}
