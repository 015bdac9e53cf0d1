/**
 * What each worker's view held at a pass, replayed from a trace with the run's own layout
 * (harness/generation/layouts.ts) over labelled stand-ins for the KV blocks: each finished step is committed
 * where the layout puts it, and the views are the layout's own, so the viewer shows the layouts' real orders,
 * not a copy of them.
 */
import { Block } from "../../engine/cache.ts";
import type { Page } from "../generation/layouts.ts";
import { type Method, methodLayout, parseMethod, replaysViews } from "../generation/methods.ts";
import type { TraceLine } from "../bench/rundir.ts";

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
  const layout = methodLayout(method);
  const names = trace.names ?? trace.workers.map((_, i) => `worker ${i + 1}`);
  // What each stand-in block shows.
  const shown = new Map<Block, ViewBlock>();
  let blocks = 0;
  const newBlock = (label: string) => new Block(blocks++, label);
  const block = (b: ViewBlock) => {
    const x = newBlock(b.label);
    shown.set(x, b);
    return x;
  };
  const steps = (worker: number, first: number, last: number): ViewBlock => ({
    kind: "steps",
    label: names[worker],
    worker,
    steps: [first, last],
  });
  const history: Block[] = [];
  const workers = names.map((name, w) => ({ name, step: 1, own: block(steps(w, 1, 1)), history: [] as Block[] }));
  const page: Page = {
    prompt: block({ kind: "prompt", label: "prompt" }),
    headers: {
      others: block({ kind: "header", label: "others' steps" }),
      own: block({ kind: "header", label: "own step" }),
      marker: block({ kind: "header", label: "…" }),
    },
    history,
    workers,
    collab: method.collab,
  };
  /** Replays one finished step's commit; true where the step stays in the block it was written in. */
  const commit = (s: TraceLine["steps"][number]) => {
    const w = workers[s.worker], first = shown.get(w.own)!.steps![0], own = w.own;
    const c = layout.commit(page, w, newBlock);
    w.step = s.step + 1;
    if (!c) {
      shown.set(w.own, steps(s.worker, first, s.step + 1)); // the next step follows in the same block
      return false;
    }
    shown.set(c.block, steps(s.worker, first, s.step));
    (c.into === "shared" ? history : w.history).push(c.block);
    w.own = block(steps(s.worker, s.step + 1, s.step + 1));
    return c.block === own;
  };
  // a worker that stopped before `pass` (an end of sequence, its answer) writes no next step: that block never was
  const views = () => {
    const stopped = new Set(workers.filter((_, i) => (trace.ended?.[i] ?? Infinity) < pass).map((w) => w.own));
    const writing = new Set(workers.map((w) => w.own));
    return workers.map((w) =>
      layout.view(page, w).filter((b) => !stopped.has(b)).map((b) =>
        writing.has(b) ? { ...shown.get(b)!, writing: true } : shown.get(b)!
      )
    );
  };
  // Each step ended before `pass` committed, in the order the steps ended: those of earlier passes first.
  for (const s of trace.steps.filter((s) => s.pass < pass - 1)) commit(s);
  // Those committed in `pass` itself: a step kept in its block gets its finishing token there in the worker's
  // view before any of this pass's commits, and without a step prefix to write the worker samples its next token
  // from that row (harness/generation/run.ts decodeRows): that worker's view is still the one before them.
  const before = views(), late = new Set<number>();
  for (const s of trace.steps.filter((s) => s.pass === pass - 1)) {
    if (commit(s) && !method.collab) late.add(s.worker);
  }
  return views().map((v, w) => late.has(w) ? before[w] : v);
}
