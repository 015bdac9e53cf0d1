/**
 * Grading off the hot path: worker processes grade while generation goes on, and every grading has a time limit
 * (a symbolic comparison that runs away is stopped: its process is killed and replaced, and the answer counts as
 * wrong, with timed_out set so that the record says why). Processes, not worker threads: Deno cannot stop a
 * thread that is computing (terminate() leaves it spinning, and the program unable to exit). Programs of code
 * problems run in the code runner's sandboxes, as many at once as it allows.
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

const ROOT = new URL("../../", import.meta.url);

/** One grading process: a job a line on its stdin, its result a line on its stdout (pool_worker.ts). */
class Slot {
  child!: Deno.ChildProcess;
  #input!: WritableStreamDefaultWriter<Uint8Array>;
  busy?: Pending;
  timer?: ReturnType<typeof setTimeout>;
  constructor(private readonly pool: GradePool) {
    this.start();
  }
  start() {
    const script = this.pool.opts.worker ?? new URL("./pool_worker.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-read",
        "--allow-env",
        `--config=${new URL("deno.json", ROOT).pathname}`,
        script,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#input = child.stdin.getWriter();
    // Neither the process nor its pipes keep the program alive: close() ends them, and so does the program's exit.
    child.unref();
    let errors = "";
    const collect = async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) errors = (errors + text).slice(-4096);
    };
    const results = async () => {
      let buffered = "";
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffered += text;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (this.child !== child) return;
          const m = JSON.parse(line);
          this.finish(m.error ? { ...failed(0, false), error: m.error } : { ...m.result, timed_out: false });
        }
      }
    };
    // A process that dies (out of memory, an uncaught error) fails its answer, saying why, and is replaced.
    Promise.all([collect(), results(), child.status]).then(([, , status]) => {
      if (this.child !== child || this.pool.closed) return;
      // deno-lint-ignore no-control-regex -- the colours of Deno's error line
      const why = errors.replace(/\x1b\[[0-9;]*m/g, "").split("\n").find((l) => l.trim()) ?? `exit code ${status.code}`;
      this.start();
      if (this.busy) {
        this.finish({ ...failed(0, false), error: `the grading worker died: ${why.trim().slice(0, 300)}` });
      }
    });
  }
  /** Kills the process (a runaway comparison cannot be asked to stop) and starts another. */
  restart() {
    this.kill();
    this.start();
  }
  kill() {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  run(p: Pending) {
    this.busy = p;
    this.#input.write(new TextEncoder().encode(JSON.stringify({ id: p.id, job: p.job }) + "\n")).catch(() => {
      // the process died: its status says so
    });
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

  /** `worker`: the grading process's module (tests give one that fails); `code`: where programs run (code problems) */
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

  closed = false;

  close(): void {
    this.closed = true;
    for (const s of this.#slots) s.kill();
  }
}
