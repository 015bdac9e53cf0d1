/**
 * The host side of code execution: a bounded pool of sandboxes (tasks/code/sandbox.ts), one per program, that
 * speaks the driver's protocol (tasks/code/driver.py) and enforces what the driver cannot: each test's wall
 * time, the problem's overall cap, and the bytes the host reads. Expected outputs stay here: the caller's judge
 * sees each test's output as it comes, and the run stops at the first test it rejects.
 *
 * A functional test's `out` is its result as JSON, Python's values encoded thus: None → null, bool → true/false,
 * int → a number when |x| < 2**53 else {"int": "<digits>"}, float → a number, nan/inf/-inf → {"float":
 * "nan"|"inf"|"-inf"}, str → a string, list (and a top-level tuple) → an array, dict → {"dict": [[key, value],
 * ...]}, a numpy scalar as its Python number, a Fraction or finite Decimal → {"ratio": ["<numerator>",
 * "<denominator>"]} (reduced; a Decimal's NaN and infinities as a float's), a complex with no imaginary part as its
 * real part, anything else (a nested tuple, a set, an object) → {"repr": "<type name>"}.
 */
import { check, InputError } from "../../engine/errors.ts";
import { type Exit, Sandbox, type SandboxProcess } from "./sandbox.ts";

export interface ExecLimits {
  /** wall time per test, seconds (LiveCodeBench: 6) */
  testSeconds: number;
  /** address space of the program (RLIMIT_AS) */
  memoryBytes: number;
  /** processes and threads the program may start */
  processes: number;
  /** the largest file it may write, and in the sandbox all its files in /tmp together (and again in /dev/shm) */
  fileBytes: number;
  /** what one test may print */
  outputBytes: number;
}

export interface TestOutcome {
  status: "ok" | "runtime_error" | "memory" | "output_limit" | "timeout";
  /** stdin mode: what the program printed; functional: its result as JSON (see above) */
  out: string;
  /** the last line of the error, ≤ 300 characters */
  error?: string;
  ms: number;
}

export interface RunResult {
  /** set when the program did not compile/load: no test ran */
  compile?: { status: "syntax_error" | "runtime_error" | "timeout"; error: string };
  /** outcomes of the tests run, in order; the run stops after the first the judge rejects or that is not "ok" */
  outcomes: TestOutcome[];
  /** the whole problem ran past its overall cap (LiveCodeBench: (testSeconds + 1) × tests + 5 s) */
  capped?: boolean;
  ms: number;
}

export interface CodeProgram {
  mode: "stdin" | "functional";
  code: string;
  /** the function or Solution method to call (functional) */
  funcName?: string;
}

export interface RunnerOptions {
  /** sandboxes at once (default 2) */
  workers?: number;
  /** run without bubblewrap (--unsafe-exec) */
  unsafe?: boolean;
  /** the interpreter (default /usr/bin/python3) */
  python?: string;
  /** bubblewrap's path (default: bwrap on PATH) */
  bwrap?: string;
  limits?: Partial<ExecLimits>;
}

/** A judge: true when test `i`'s outcome (always "ok") is right. */
export type Judge = (i: number, outcome: TestOutcome) => boolean;

export const DEFAULT_LIMITS: ExecLimits = {
  testSeconds: 6,
  memoryBytes: 4 * 2 ** 30,
  processes: 64,
  fileBytes: 16 * 2 ** 20,
  outputBytes: 64 * 2 ** 20,
};

/**
 * Beyond testSeconds, how much longer the host's own measure of a test may be (from its input written to its result
 * line, less a block of this thread that hid the line: BusyClock; of the load, from "ready" to "loaded") before the
 * test is a timeout, whatever
 * the driver says: the driver's clock, which the program can stop (it runs in the driver's process), never lends
 * it time. The slack covers the pipes and the driver's decoding of the input and encoding of the output (about
 * 10 ms per MiB of output, 20 ms per MiB of one full of newlines: measured here) and the alarm's reaction in a
 * program the driver's own clock stops.
 */
const SLACK_MS = 500;
/** The most a run's deadlines are moved for the time this thread was kept busy, in all. */
const MOST_LATE_MS = 60_000;
/** The busy clock's tick, and the lateness of a tick below which it counts none (a loaded machine's jitter). */
const TICK_MS = 25, JITTER_MS = 20;

/**
 * When this thread was last kept from its event loop (a forward pass, another program's long comparison), measured
 * by a timer that fires late, ticking while a conversation is open. A result line read right after such a block may
 * have come at any time during it: the host's measure of a test ends at the block's start then, not at the reading
 * (and a test's clock starts once its input is written, which a busy thread delays too). The program ran during the
 * block all the same, so only that block is left out, never the thread's busy time at large: a program that stopped
 * the driver's clock gains at most one block a test.
 */
class BusyClock {
  #last = 0;
  #block?: { start: number; end: number };
  #timer?: ReturnType<typeof setInterval>;
  #open = 0;

  open(): void {
    if (this.#open++) return;
    this.#last = performance.now();
    const timer = this.#timer = setInterval(() => this.#tick(), TICK_MS);
    Deno.unrefTimer(timer);
  }

  close(): void {
    if (--this.#open === 0) clearInterval(this.#timer);
  }

  #tick(): void {
    const now = performance.now();
    if (now - this.#last - TICK_MS > JITTER_MS) this.#block = { start: this.#last + TICK_MS, end: now };
    this.#last = now;
  }

  /** The start of the block this thread is coming out of (still unseen by the tick, or seen a tick ago), if any. */
  blockEndingNow(): number | undefined {
    const now = performance.now();
    if (now - this.#last - TICK_MS > JITTER_MS) return this.#last + TICK_MS;
    return this.#block && now - this.#block.end <= 2 * TICK_MS ? this.#block.start : undefined;
  }
}
const busy = new BusyClock();
/** Beyond testSeconds, how long the sandbox may take to start and read its request (no program code runs yet). */
const STARTUP_MS = 2000;
/** Before the one retry of a sandbox that failed to start: a shortage (namespaces, pids, memory) may pass. */
const RETRY_WAIT_MS = 1000;
/** RLIMIT_NOFILE */
const OPEN_FILES = 64;
/** How long a driver that said its last line gets to exit on its own before it is killed. */
const EXIT_WAIT_MS = 1000;
const STDERR_KEPT = 2000;

const DRIVER = new URL("./driver.py", import.meta.url);

export class CodeRunner {
  private active = 0;
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private running = new Map<SandboxProcess, Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly sandbox: Sandbox,
    private readonly driver: string,
    readonly limits: ExecLimits,
    readonly workers: number,
  ) {}

  /** A runner whose sandbox works here; else the one-line InputError saying what to install. */
  static async open(o: RunnerOptions = {}): Promise<CodeRunner> {
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const workers = o.workers ?? 2;
    check(Number.isInteger(workers) && workers >= 1, `code runner: workers: expected an integer ≥ 1, got ${workers}`);
    check(
      Number.isFinite(limits.testSeconds) && limits.testSeconds > 0,
      `code runner: limits.testSeconds: expected a number > 0, got ${limits.testSeconds}`,
    );
    for (const f of ["memoryBytes", "fileBytes", "outputBytes", "processes"] as const) {
      const v = limits[f], least = f === "processes" ? 0 : 1;
      check(
        Number.isSafeInteger(v) && v >= least,
        `code runner: limits.${f}: expected an integer ≥ ${least}, got ${v}`,
      );
    }
    const sandbox = await Sandbox.open({ unsafe: o.unsafe, python: o.python, bwrap: o.bwrap });
    return new CodeRunner(sandbox, await Deno.readTextFile(DRIVER), limits, workers);
  }

  /**
   * What programs run with, as a program sees it: the interpreter's version and numpy's (or "none"); both decide
   * verdicts (a program that imports numpy), so the bench keys its runs by them.
   */
  async environment(): Promise<string> {
    const code = "import sys\ntry:\n    import numpy\n    v = numpy.__version__\nexcept Exception:\n    v = 'none'\n" +
      "print('python ' + sys.version.split()[0] + ', numpy ' + v)";
    const r = await this.run({ mode: "stdin", code }, [""], () => true);
    const o = r.outcomes[0];
    if (r.compile || o?.status !== "ok") throw new Error(`code runner: the environment's probe failed: ${o?.error}`);
    return o.out.trim();
  }

  /**
   * Runs `program` on `inputs` in a fresh sandbox once a worker is free, test after test, calling `judge` on each
   * "ok" outcome; stops at the first outcome that is not "ok" or that the judge rejects (the later tests do not
   * run). Rejects when the runner is closed meanwhile, when the judge throws, and (an InputError) when the sandbox
   * fails before the program runs, twice: that is the machine's fault, no verdict on the program.
   */
  async run(program: CodeProgram, inputs: string[], judge: Judge): Promise<RunResult> {
    if (program.mode === "functional") {
      check(program.funcName, "code runner: a functional program needs funcName (the method to call)");
    }
    await this.slot();
    try {
      return await this.execute(program, inputs, judge);
    } finally {
      this.release();
    }
  }

  /** Kills what still runs (each run's whole process tree) and refuses what waits. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error("code runner: closed"));
    const runs = [...this.running];
    await Promise.all(runs.map(([p]) => p.kill()));
    await Promise.allSettled(runs.map(([, r]) => r));
  }

  private async slot(): Promise<void> {
    if (this.closed) throw new Error("code runner: closed");
    if (this.active < this.workers) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** The slot goes to the first in line, or back to the pool. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next.resolve();
    else this.active--;
  }

  /** One retry for a sandbox that did not start; a second failure stops the caller (nothing may record it). */
  private async execute(program: CodeProgram, inputs: string[], judge: Judge): Promise<RunResult> {
    for (let tries = 1;; tries++) {
      try {
        return await this.attempt(program, inputs, judge);
      } catch (e) {
        if (!(e instanceof SandboxFailure)) throw e;
        if (this.closed) throw new Error("code runner: closed while a program ran");
        if (tries === 2) {
          throw new InputError(`code runner: the sandbox failed twice before the program ran: ${e.message}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_WAIT_MS));
    }
  }

  private async attempt(program: CodeProgram, inputs: string[], judge: Judge): Promise<RunResult> {
    const t0 = performance.now(), l = this.limits;
    const overallMs = ((l.testSeconds + 1) * inputs.length + 5) * 1000;
    // A line holds one test's output JSON-escaped, within the output cap too (and 64 KiB for the rest of the line):
    // the driver reports output_limit rather than send a longer one, and a forged line past it is cut there.
    const lineCap = l.outputBytes + 65536;
    const request = {
      mode: program.mode,
      code: program.code,
      func_name: program.funcName,
      tests: inputs.length,
      output_cap: l.outputBytes,
      line_cap: lineCap,
      test_seconds: l.testSeconds,
      limits: {
        memory: l.memoryBytes,
        cpu: Math.ceil(overallMs / 1000) + 1,
        processes: await this.sandbox.processLimit(l.processes),
        file: l.fileBytes,
        files: OPEN_FILES,
      },
    };
    if (this.closed) throw new Error("code runner: closed");
    const proc = this.sandbox.spawn(["-c", this.driver], l.fileBytes);
    const conversation = new Conversation(proc, lineCap, stderrTail(proc.stderr));
    const done = this.converse(conversation, request, inputs, t0 + overallMs, judge);
    this.running.set(proc, done);
    try {
      const result = await done;
      if (this.closed) throw new Error("code runner: closed while a program ran");
      return { ...result, ms: performance.now() - t0 };
    } finally {
      this.running.delete(proc);
    }
  }

  /**
   * The protocol, from the request to the last line, the process gone when it resolves. Each test's input is sent
   * once the previous test's result is judged (or the program has loaded), and the test is timed from its input
   * written to its result line by this clock (BusyClock), out of the program's reach; the load from "ready" to
   * "loaded".
   */
  private async converse(
    c: Conversation,
    request: unknown,
    inputs: string[],
    overall: number,
    judge: Judge,
  ): Promise<Omit<RunResult, "ms">> {
    const result: Omit<RunResult, "ms"> = { outcomes: [] };
    const testMs = this.limits.testSeconds * 1000;
    let ready = false, loaded = false, current = -1, started = false, finished = false, moved = 0;
    /** When the load or the current test began (this thread's clock), when its time is up, the block it moved for */
    let began = performance.now(), deadline = began + testMs + STARTUP_MS, movedFor: number | undefined;
    const begin = (now: number) => (began = now, deadline = now + testMs + SLACK_MS, movedFor = undefined);
    /** The current test's time, to a line read at `now`: to the start of a block the thread is coming out of */
    const spent = (now: number) => Math.max(busy.blockEndingNow() ?? now, began) - began;
    /** The load (before "loaded"), or test `current`, ends with `status`. */
    const fail = (status: TestOutcome["status"], error: string) => {
      if (current < 0) result.compile = { status: status === "timeout" ? status : "runtime_error", error };
      else result.outcomes.push({ status, out: "", error, ms: spent(performance.now()) });
    };
    /** Test `i` begins: its input goes out; its clock starts, and starts again once the input is written. */
    let test = 0;
    const feed = (i: number) => {
      current = i, started = false;
      const mine = ++test;
      c.send(JSON.stringify(inputs[i]) + "\n").then(() => {
        if (test === mine) begin(performance.now());
      });
      begin(performance.now());
    };
    busy.open();
    c.send(JSON.stringify(request) + "\n");
    try {
      while (true) {
        const event = await c.next(Math.min(deadline, overall));
        const now = performance.now(), blockStart = busy.blockEndingNow();
        if (event === TIMEOUT && blockStart !== undefined && blockStart !== movedFor && moved < MOST_LATE_MS) {
          // Not a verdict: this thread is coming out of a block (the host was not watching); what the driver wrote
          // meanwhile is read first, then the clock judges again, the deadline moved by the block once
          const by = now - Math.max(blockStart, began);
          movedFor = blockStart, moved += by, deadline += by, overall += by;
          continue;
        }
        if (!ready && typeof event !== "string") {
          throw new SandboxFailure(
            event === TIMEOUT
              ? "it did not start in time"
              : event === TOO_LONG
              ? "a protocol line too long"
              : await c.exit(),
          );
        }
        if (event === TIMEOUT) {
          if (overall <= deadline) result.capped = true;
          fail("timeout", current < 0 ? "the program did not load in time" : "time limit exceeded");
          return result;
        }
        if (event === TOO_LONG) {
          fail("output_limit", `a protocol line over ${c.lineCap} bytes`);
          return result;
        }
        if (event === END) {
          const [status, error] = await c.ending(Math.min(deadline, overall));
          fail(status, error);
          return result;
        }
        const m = parse(event);
        if (!ready) {
          if (m?.ready !== true) {
            throw new SandboxFailure(isText(m?.fatal) ? m.fatal : `malformed protocol line: ${event.slice(0, 100)}`);
          }
          // the loading is timed as a test is
          ready = true, begin(now);
          continue;
        }
        if (current < 0 && !loaded && m?.compile !== undefined && isCompile(m.compile) && isText(m.error)) {
          result.compile = { status: m.compile, error: m.error };
          return finished = true, result;
        }
        if (current < 0 && !loaded && m?.loaded === true) {
          loaded = true;
          if (!inputs.length) return finished = true, result;
          feed(0);
          continue;
        }
        if (current >= 0 && !started && m?.start === current) {
          started = true;
          continue;
        }
        if (
          current >= 0 && started && m?.i === current && isStatus(m.status) && isText(m.out) && optionalText(m.error)
        ) {
          const ms = spent(now);
          // read after a deadline moved for a block, but written after the block: past its time all the same
          if (ms > testMs + SLACK_MS) {
            fail("timeout", "time limit exceeded");
            return result;
          }
          const outcome: TestOutcome = { status: m.status, out: m.out, ms };
          if (m.error !== undefined) outcome.error = m.error;
          result.outcomes.push(outcome);
          if (outcome.status !== "ok" || !judge(current, outcome)) return result;
          if (current + 1 === inputs.length) return finished = true, result;
          feed(current + 1);
          continue;
        }
        fail("runtime_error", isText(m?.fatal) ? m.fatal : `malformed protocol line: ${event.slice(0, 100)}`);
        return result;
      }
    } finally {
      busy.close();
      await c.close(finished);
    }
  }
}

/** The sandbox ended or stalled before the driver said it was ready: no program code ran, no verdict. */
class SandboxFailure extends Error {}

const TIMEOUT = Symbol("timeout"), TOO_LONG = Symbol("too long"), END = Symbol("end");
/** A protocol line, or what came instead. */
type Event = string | typeof TIMEOUT | typeof TOO_LONG | typeof END;
type Message = Record<string, unknown>;

/** One run's pipes: the request out, protocol lines in (each within `lineCap` bytes), stderr's tail kept. */
class Conversation {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending?: Promise<ReadableStreamReadResult<Uint8Array>>;
  private lines: string[] = [];
  private partial: Uint8Array[] = [];
  private partialBytes = 0;
  private ended = false;
  private writing: Promise<void> = Promise.resolve();
  private writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(
    private readonly proc: SandboxProcess,
    readonly lineCap: number,
    private readonly stderr: { text(): string; cancel(): void },
  ) {
    this.reader = proc.stdout.getReader();
    this.writer = proc.stdin.getWriter();
  }

  /**
   * A line to the driver (the request, then each test's input), written while the replies are read (a large one
   * would otherwise fill the pipe both ways); the input stays open until the conversation closes.
   */
  send(line: string): Promise<void> {
    const bytes = new TextEncoder().encode(line);
    return this.writing = this.writing.then(() => this.writer.write(bytes))
      .catch(() => {/* the process is gone: its exit tells why */});
  }

  /** The next line, or what came instead before `deadline` (performance.now() time). */
  async next(deadline: number): Promise<Event> {
    while (!this.lines.length) {
      if (this.ended) return END;
      this.pending ??= this.reader.read();
      const timer = delay(deadline - performance.now());
      const got = await Promise.race([this.pending, timer.done]);
      timer.cancel();
      if (got === undefined) return TIMEOUT;
      this.pending = undefined;
      if (got.done) {
        this.ended = true;
        if (this.partialBytes) this.lines.push(this.takeLine());
      } else if (!this.split(got.value)) return TOO_LONG;
    }
    return this.lines.shift()!;
  }

  /** Why the driver stopped talking mid-test: its exit, waited for until `deadline`. */
  async ending(deadline: number): Promise<[TestOutcome["status"], string]> {
    const exit = await this.exited(deadline);
    if (exit === undefined) return ["runtime_error", "the program closed the protocol's pipe"];
    if (exit.signal === "SIGXCPU") return ["timeout", "CPU time limit exceeded (SIGXCPU)"];
    return ["runtime_error", `the program ended the driver (${this.said(exit)})`];
  }

  /** How a sandbox that never got to the program ended (bubblewrap says why on stderr). */
  async exit(): Promise<string> {
    const exit = await this.exited(performance.now() + EXIT_WAIT_MS);
    return exit === undefined ? "it closed the protocol's pipe" : this.said(exit);
  }

  private async exited(deadline: number): Promise<Exit | undefined> {
    const timer = delay(Math.min(deadline - performance.now(), EXIT_WAIT_MS));
    const exit = await Promise.race([this.proc.exited, timer.done]);
    timer.cancel();
    return exit;
  }

  /** "exit code 1: <stderr's last line>" */
  private said(exit: Exit): string {
    const why = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    const said = this.stderr.text().trim().split("\n").pop();
    return `${why}${said ? `: ${said}` : ""}`;
  }

  /** Kills the process tree (a driver that said its last line gets a moment to exit first), frees the pipes. */
  async close(finished: boolean): Promise<void> {
    if (finished) {
      const timer = delay(EXIT_WAIT_MS);
      await Promise.race([this.proc.exited, timer.done]);
      timer.cancel();
    }
    await this.proc.kill();
    this.stderr.cancel();
    await this.reader.cancel().catch(() => {});
    await this.writer.abort().catch(() => {});
    const timer = delay(EXIT_WAIT_MS);
    await Promise.race([this.writing, timer.done]);
    timer.cancel();
  }

  /** Splits a chunk into lines; false once a line grows past the cap (the chunk's rest is never kept). */
  private split(chunk: Uint8Array): boolean {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; from = nl + 1, nl = chunk.indexOf(10, from)) {
      if (!this.add(chunk.subarray(from, nl))) return false;
      this.lines.push(this.takeLine());
    }
    return this.add(chunk.subarray(from));
  }

  private add(bytes: Uint8Array): boolean {
    if (!bytes.length) return true;
    this.partialBytes += bytes.length;
    if (this.partialBytes > this.lineCap) return false;
    this.partial.push(bytes.slice());
    return true;
  }

  private takeLine(): string {
    const whole = new Uint8Array(this.partialBytes);
    let at = 0;
    for (const p of this.partial) whole.set(p, at), at += p.length;
    this.partial = [], this.partialBytes = 0;
    return new TextDecoder().decode(whole);
  }
}

/** The last STDERR_KEPT bytes the sandbox wrote on stderr (the driver silences the program's own). */
function stderrTail(stream: ReadableStream<Uint8Array>): { text(): string; cancel(): void } {
  let kept = new Uint8Array(0);
  const reader = stream.getReader();
  (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const both = new Uint8Array(kept.length + r.value.length);
      both.set(kept), both.set(r.value, kept.length);
      kept = both.slice(-STDERR_KEPT);
    }
  })().catch(() => {});
  return { text: () => new TextDecoder().decode(kept), cancel: () => void reader.cancel().catch(() => {}) };
}

function parse(line: string): Message | undefined {
  try {
    const m = JSON.parse(line);
    return m && typeof m === "object" && !Array.isArray(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

const STATUSES = new Set(["ok", "runtime_error", "memory", "output_limit", "timeout"]);
const isStatus = (s: unknown): s is TestOutcome["status"] => typeof s === "string" && STATUSES.has(s);
const isCompile = (s: unknown): s is NonNullable<RunResult["compile"]>["status"] =>
  s === "syntax_error" || s === "runtime_error" || s === "timeout";
const isText = (s: unknown): s is string => typeof s === "string";
const optionalText = (s: unknown) => s === undefined || typeof s === "string";

function delay(ms: number): { done: Promise<undefined>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<undefined>((resolve) => id = setTimeout(() => resolve(undefined), Math.max(0, ms)));
  return { done, cancel: () => clearTimeout(id) };
}
