/**
 * Grading off the hot path: workers grade while generation goes on, and every grading has a time limit
 * (a symbolic comparison that runs away is stopped: its worker is replaced and the answer counts as wrong,
 * with timed_out set so that the record says why). Programs of code problems run in the code runner's
 * sandboxes, as many at once as it allows.
 */
import { GRADER_VERSION, type ProblemGrade } from "./grader.ts";
import { gradeProgram } from "../code/grade.ts";
import type { CodeGrade, CodeSpec } from "../code/problem.ts";
import type { CodeRunner } from "../code/runner.ts";

export interface GradeJob {
  generated: string;
  golds: readonly string[];
  grading: "single" | "list";
}

export interface GradeResult extends ProblemGrade {
  ms: number;
  timed_out: boolean;
  /** the grader failed on this input (it counts as wrong); why */
  error?: string;
}

interface Pending {
  id: number;
  timeoutMs: number;
  job: GradeJob;
  resolve: (r: GradeResult) => void;
}

class Slot {
  worker!: Worker;
  busy?: Pending;
  timer?: ReturnType<typeof setTimeout>;
  constructor(private readonly pool: GradePool) {
    this.start();
  }
  start() {
    this.worker = new Worker(this.pool.opts.worker ?? new URL("./pool_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.worker.onmessage = (e) =>
      this.finish(e.data.error ? { ...failed(0, false), error: e.data.error } : { ...e.data.result, timed_out: false });
    // A worker that dies (out of memory, an uncaught error) fails its answer, saying so, and is replaced.
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.restart();
      this.finish({ ...failed(0, false), error: `the grading worker died: ${e.message || "no message"}` });
    };
  }
  restart() {
    this.worker.terminate();
    this.start();
  }
  run(p: Pending) {
    this.busy = p;
    this.worker.postMessage({ id: p.id, job: p.job });
    this.timer = setTimeout(() => {
      this.restart();
      this.finish(failed(p.timeoutMs, true));
    }, p.timeoutMs);
  }
  finish(r: GradeResult) {
    clearTimeout(this.timer);
    const p = this.busy;
    this.busy = undefined;
    p?.resolve(r);
    this.pool.next(this);
  }
}

function failed(ms: number, timedOut: boolean): GradeResult {
  return {
    extracted: null,
    extracted_lenient: null,
    equal_strict: false,
    equal_lenient: false,
    score_strict: 0,
    score_lenient: 0,
    grader: GRADER_VERSION,
    ms,
    timed_out: timedOut,
  };
}

export class GradePool {
  readonly #slots: Slot[];
  readonly #queue: Pending[] = [];
  #next = 0;

  /** `worker`: the worker's module (tests give one that fails); `code`: where programs run (code problems) */
  constructor(
    readonly opts: { workers?: number; timeoutMs?: number; worker?: string; code?: CodeRunner } = {},
  ) {
    this.#slots = Array.from({ length: opts.workers ?? 2 }, () => new Slot(this));
  }

  /** Grades `job` in a worker; past `timeoutMs` (default: the pool's) it counts as wrong and timed out. */
  grade(job: GradeJob, timeoutMs = this.opts.timeoutMs ?? 10_000): Promise<GradeResult> {
    return new Promise((resolve) => {
      this.#queue.push({ id: this.#next++, timeoutMs, job, resolve });
      const idle = this.#slots.find((s) => !s.busy);
      if (idle) this.next(idle);
    });
  }

  /** Runs `program` (undefined: none was written) on a code problem's tests. */
  gradeCode(spec: CodeSpec, program: string | undefined): Promise<CodeGrade> {
    if (!this.opts.code) throw new Error("grading a code problem needs a code runner (GradePool's `code`)");
    return gradeProgram(spec, program, this.opts.code);
  }

  /** @internal a slot asks for its next job */
  next(slot: Slot) {
    const p = this.#queue.shift();
    if (p) slot.run(p);
  }

  close(): void {
    for (const s of this.#slots) s.worker.terminate();
  }
}
