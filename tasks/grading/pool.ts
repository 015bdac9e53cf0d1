/**
 * Grading off the hot path: worker processes grade while generation goes on, and every grading has a time limit
 * (a symbolic comparison that runs away is stopped: its process is killed and replaced, and the answer counts as
 * wrong, with timed_out set so that the record says why). Processes, not worker threads: Deno cannot stop a
 * thread that is computing (terminate() leaves it spinning, and the program unable to exit). Programs of code
 * problems run in the code runner's sandboxes, as many at once as it allows.
 */
import { fileURLToPath } from "node:url";
import { GRADER_VERSION, type ProblemGrade } from "./grader.ts";
import { encodeLine, lines } from "./pool_protocol.ts";
import { gradeProgram } from "../code/grade.ts";
import type { CodeGrade, CodeSpec } from "../code/problem.ts";
import type { CodeRunner } from "../code/runner.ts";

export interface GradeJob {
  generated: string;
  golds: readonly string[];
  grading: "single" | "list" | "parts";
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
  /** the pool cannot grade at all (no process starts): the caller fails, never records a wrong answer */
  reject: (e: Error) => void;
}

/** A grading's time limit, wall-clock from when a ready process is given the job (grade --timeout-ms sets another). */
export const GRADE_TIMEOUT_MS = 10_000;

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/**
 * Failures in a row after which a slot stops starting processes: processes that die before their ready line, or
 * that die on every job given them with no answer between (a missing part of the grader would otherwise grade
 * every answer wrong, quietly). With every slot given up, the pool fails its callers with the reason.
 */
const MOST_FAILURES = 3;
/** How long a process may take to load before its start counts as failed (it is killed). */
const START_LIMIT_MS = 120_000;

/**
 * One grading process: it says `{"ready":true}` once loaded, then takes a job a line on its stdin and answers a
 * line on its stdout (pool_protocol.ts). A job's time limit runs from when a ready process is given it.
 */
class Slot {
  child!: Deno.ChildProcess;
  #input!: WritableStreamDefaultWriter<Uint8Array>;
  #ready = false;
  #failedStarts = 0;
  #failedJobs = 0;
  /** why this slot gave up starting processes */
  broken?: string;
  busy?: Pending;
  timer?: ReturnType<typeof setTimeout>;
  /** the load's limit: it keeps the program alive only while a job waits for the process */
  #loading?: ReturnType<typeof setTimeout>;
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
        // the packages the caller has (a device kit's node_modules has no others, and no network to fetch them)
        "--node-modules-dir=manual",
        "--allow-read",
        "--allow-env",
        `--config=${CONFIG}`,
        script,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#ready = false;
    this.#input = child.stdin.getWriter();
    // Neither the process nor its pipes keep the program alive: close() ends them, and so does the program's exit.
    child.unref();
    clearTimeout(this.#loading);
    this.#loading = setTimeout(() => this.kill(), START_LIMIT_MS);
    if (!this.busy) Deno.unrefTimer(this.#loading);
    let errors = "";
    const collect = async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) errors = (errors + text).slice(-4096);
    };
    const results = async () => {
      for await (const line of lines(child.stdout)) {
        if (this.child !== child) return;
        this.#line(line);
      }
    };
    Promise.all([collect(), results(), child.status]).then(([, , status]) => {
      if (this.child !== child || this.pool.closed) return;
      // deno-lint-ignore no-control-regex -- the colours of Deno's error line
      const why = errors.replace(/\x1b\[[0-9;]*m/g, "").split("\n").find((l) => l.trim()) ?? `exit code ${status.code}`;
      this.#died(why.trim().slice(0, 300));
    });
  }
  /**
   * The process ended (out of memory, an uncaught error, a failed load, killed at its load's limit): the job it
   * was given fails, saying why; a job still waiting for a ready process waits for the next one.
   */
  #died(reason: string) {
    const sent = this.timer !== undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    const failures = this.#ready ? (sent ? ++this.#failedJobs : this.#failedJobs) : ++this.#failedStarts;
    if (failures >= MOST_FAILURES) {
      clearTimeout(this.#loading);
      this.broken = this.#ready
        ? `the grading process died on ${MOST_FAILURES} jobs in a row: ${reason}`
        : `no grading process starts: ${reason}`;
      const p = this.busy;
      this.busy = undefined;
      p?.reject(new Error(this.broken));
      this.pool.slotBroken();
      return;
    }
    this.start();
    if (this.busy && sent) this.finish({ ...failed(0, false), error: `the grading worker died: ${reason}` });
  }
  /** A line from the process: its ready signal, or the answer to the job it was given; anything else is noise. */
  #line(line: string) {
    let m: { ready?: boolean; id?: number; result?: GradeResult; error?: string };
    try {
      m = JSON.parse(line);
    } catch {
      return; // a stray print: not an answer
    }
    if (m?.ready === true) {
      this.#ready = true;
      this.#failedStarts = 0;
      clearTimeout(this.#loading);
      if (this.busy && this.timer === undefined) this.#send(this.busy);
    } else if (this.busy && this.timer !== undefined && m?.id === this.busy.id) {
      this.#failedJobs = 0;
      this.finish(m.error !== undefined ? { ...failed(0, false), error: m.error } : { ...m.result!, timed_out: false });
    }
  }
  /** Kills the process (a runaway comparison cannot be asked to stop) and starts another. */
  restart() {
    this.kill();
    if (!this.pool.closed) this.start();
  }
  kill() {
    clearTimeout(this.timer);
    clearTimeout(this.#loading);
    this.timer = undefined;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  run(p: Pending) {
    this.busy = p;
    if (this.#ready) this.#send(p);
    else if (this.#loading !== undefined) Deno.refTimer(this.#loading); // the program waits for the load
  }
  #send(p: Pending) {
    this.#input.write(encodeLine({ id: p.id, job: p.job })).catch(() => {
      // the process died: its status says so
    });
    this.timer = setTimeout(() => {
      this.restart();
      this.finish(failed(p.timeoutMs, true));
    }, p.timeoutMs);
  }
  finish(r: GradeResult) {
    clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.busy;
    this.busy = undefined;
    p?.resolve(r);
    if (!this.pool.closed) this.pool.next(this);
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

const CLOSED = "grading stopped: the pool was closed";

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
  grade(job: GradeJob, timeoutMs = this.opts.timeoutMs ?? GRADE_TIMEOUT_MS): Promise<GradeResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve({ ...failed(0, false), error: CLOSED });
      this.#queue.push({ id: this.#next++, timeoutMs, job, resolve, reject });
      const idle = this.#slots.find((s) => !s.busy && !s.broken);
      if (idle) this.next(idle);
      else this.slotBroken();
    });
  }

  /** Runs `program` (undefined: none was written) on a code problem's tests. */
  gradeCode(spec: CodeSpec, program: string | undefined): Promise<CodeGrade> {
    if (!this.opts.code) throw new Error("grading a code problem needs a code runner (GradePool's `code`)");
    return gradeProgram(spec, program, this.opts.code);
  }

  /** @internal a slot asks for its next job */
  next(slot: Slot) {
    if (slot.broken) return;
    const p = this.#queue.shift();
    if (p) slot.run(p);
  }

  /** @internal a slot gave up: with none left, every waiting job fails with the reason (a loop: no recursion) */
  slotBroken() {
    if (this.#slots.some((s) => !s.broken)) return;
    const reason = this.#slots.find((s) => s.broken)!.broken!;
    for (const p of this.#queue.splice(0)) p.reject(new Error(reason));
  }

  closed = false;

  /** Ends the processes; a job still waiting or running fails, saying so (nothing is left pending). */
  close(): void {
    this.closed = true;
    for (const s of this.#slots) {
      s.kill();
      if (s.busy) s.finish({ ...failed(0, false), error: CLOSED });
    }
    for (const p of this.#queue.splice(0)) p.resolve({ ...failed(0, false), error: CLOSED });
  }
}
