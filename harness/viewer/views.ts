/**
 * What each worker's view held at a pass, replayed from a trace with the run's own layout (harness/generation/layouts.ts)
 * over labelled stand-ins for the KV blocks: the viewer shows the layouts' real orders, not a copy of them.
 */
import type { Block } from "../../engine/cache.ts";
import { LAYOUTS, type Team } from "../generation/layouts.ts";
import { type Method, parseMethod, replaysViews } from "../generation/methods.ts";
import type { TraceLine } from "../bench/rundir.ts";
import type { Worker } from "../generation/worker.ts";

/** One block of a view: the prompt, a protocol header, or a worker's step(s). */
export interface ViewBlock {
  kind: "prompt" | "header" | "steps";
  label: string;
  /** whose steps, and which (first and last step number) */
  worker?: number;
  steps?: [number, number];
  /** being written at this pass */
  writing?: boolean;
}

/** Each worker's view at `pass` (1-based), or undefined for a method whose family has no workers over a layout. */
export function viewsAt(trace: TraceLine, pass: number): ViewBlock[][] | undefined {
  // a method this build does not name (a tool's own layout, as the demo model's control): its steps, no replay
  let method: Method;
  try {
    method = parseMethod(trace.method);
  } catch {
    return undefined;
  }
  if (!replaysViews(method)) return undefined;
  const layout = LAYOUTS[method.layout];
  const names = trace.names ?? trace.workers.map((_, i) => `worker ${i + 1}`);
  const block = (b: ViewBlock) => b as unknown as Block;
  const done = trace.steps.filter((s) => s.pass < pass);
  const count = (w: number) => done.filter((s) => s.worker === w).length;
  // A worker's own block: its current step, or (a layout without a commit: steps stay put) all its steps so far.
  const own = (w: number): ViewBlock => {
    const first = layout.commit ? count(w) + 1 : 1;
    return { kind: "steps", label: names[w], worker: w, steps: [first, count(w) + 1], writing: true };
  };
  const finished = (s: { worker: number; step: number }): ViewBlock => ({
    kind: "steps",
    label: names[s.worker],
    worker: s.worker,
    steps: [s.step, s.step],
  });
  const workers = names.map((name, w) => ({
    name,
    own: block(own(w)),
    history: done.filter((s) => s.worker === w).map((s) => block(finished(s))),
  }));
  const team = {
    prompt: block({ kind: "prompt", label: "prompt" }),
    headers: {
      others: block({ kind: "header", label: "others' steps" }),
      own: block({ kind: "header", label: "own step" }),
      marker: block({ kind: "header", label: "…" }),
    },
    history: done.map((s) => block(finished(s))),
    workers,
    collab: method.collab,
  } as unknown as Team;
  return workers.map((w) => layout.view(team, w as unknown as Worker) as unknown as ViewBlock[]);
}
