/**
 * The viewer's server: one page (harness/viewer/page, no build step), the vega builds from node_modules, and
 * a small JSON API over the run folders given; live passes as server-sent events. Every answer comes from a
 * fixed route: no request names a file, so nothing outside the runs and the page can be reached.
 */
import { readFileSync } from "node:fs";
import { InputError, oneLine } from "../../engine/errors.ts";
import { packageFile } from "../../engine/files.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { curves, duration, specSeeds } from "../report/curves.ts";
import { chartSpecs, runChartOptions } from "../report/charts.ts";
import { type BenchRecord, recordKey, runModel, runNames, type Span, type TraceLine } from "../bench/rundir.ts";
import { type Measures, measuresOrWhy } from "./measures.ts";
import type { RunData, RunSource, RunSummary } from "./runs.ts";
import { viewsAt } from "./views.ts";
import { LiveRuns } from "./live.ts";

/** A live event: a run's new passes (text appended per writer, steps finished), or its end. */
export interface LiveEvent {
  type: "start" | "pass" | "done";
  key: string;
  run: number;
  [field: string]: unknown;
}

export interface ViewerOptions {
  runs: RunSource[];
  port?: number;
  hostname?: string;
  /** the flag that chose the port, for the message when it is taken (default --port) */
  portFlag?: string;
  /** the flag that chose the address, for the message when it cannot be listened on (default --host) */
  hostFlag?: string;
  /** how long one call of the Records tab's list measures traces, the rest at its next calls (ms; default 1000) */
  measureMs?: number;
  /**
   * how far a live page may fall behind (bytes sent it has not read, beyond its snapshot) before it is cut off
   * (default 16 MiB): it reconnects, and starts again from a fresh snapshot
   */
  liveQueueBytes?: number;
}

export interface Viewer {
  url: string;
  publish(event: LiveEvent): void;
  close(): Promise<void>;
}

/** Damaged run folders and failed requests already logged (each once, not at every poll). */
const reported = new Set<string>();
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;
const PAGE = fileURLToPath(new URL("./page/", import.meta.url));
const STATIC: Record<string, [() => string, string]> = {
  "/": [() => join(PAGE, "index.html"), "text/html; charset=utf-8"],
  "/app.js": [() => join(PAGE, "app.js"), "text/javascript; charset=utf-8"],
  "/style.css": [() => join(PAGE, "style.css"), "text/css; charset=utf-8"],
  "/vendor/vega.min.js": [() => packageFile("vega", "build/vega.min.js"), "text/javascript; charset=utf-8"],
  "/vendor/vega-lite.min.js": [
    () => packageFile("vega-lite", "build/vega-lite.min.js"),
    "text/javascript; charset=utf-8",
  ],
};

// Model text is shown with textContent only; the policy is a second wall: no inline script can run.
const HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

const json = (v: unknown) =>
  new Response(JSON.stringify(v), { headers: { ...HEADERS, "content-type": "application/json" } });
const notFound = () => new Response("not found", { status: 404, headers: HEADERS });

const last = (r: BenchRecord) => r.checkpoints[r.checkpoints.length - 1];

/**
 * Each trace's measures while its line, its record and the run's protocol are the ones read: a growing run keeps
 * its traces' spans (runs.ts), so a record appended costs its own measures, not every record's again (and the
 * Records tab reads each trace once, not the run's traces at once).
 */
const measured = new WeakMap<Span, { record?: BenchRecord; protocol: string; value: Measures | string }>();
const protocols = new WeakMap<RunData, string>();

/**
 * A record's measures, or why it has none (measuresOrWhy); null without a trace. `trace`: the trace, if read.
 * `compute` false: undefined where they are not measured yet (the Records tab's list measures for a while a call).
 */
export function measuresOf(
  data: RunData,
  key: string,
  record: BenchRecord | undefined,
  trace?: TraceLine,
  compute = true,
): Measures | string | null | undefined {
  const span = data.traces.get(key);
  if (!span) return null;
  if (!protocols.has(data)) protocols.set(data, JSON.stringify(data.protocol));
  const protocol = protocols.get(data)!, hit = measured.get(span);
  if (hit && hit.record === record && hit.protocol === protocol) return hit.value;
  if (!compute) return undefined;
  const value = measuresOrWhy(trace ?? data.trace(key)!, record, data.protocol);
  measured.set(span, { record, protocol, value });
  return value;
}

const charts = new WeakMap<RunData, unknown>();

/** The Curves tab's charts of the run as read (once: the page asks at every visit of the tab). */
function curvesChart(data: RunData): unknown {
  if (charts.has(data)) return charts.get(data);
  const spec = (data.meta.spec ?? {}) as { tasks?: string[] };
  const points = curves(data.records, specSeeds(data.meta));
  const title = `${runModel(data.meta) ?? data.name} on ${(spec.tasks ?? []).join(", ")}`;
  // what the bench's own charts say of the folder (its doubts, what is unfinished, ungraded answers)
  const chart = points.length
    ? chartSpecs(points, title, runChartOptions(data.records, data.meta as Record<string, unknown>))
    : null;
  charts.set(data, chart);
  return chart;
}

/** A record as the Records tab lists it, before its measures. */
interface Row {
  key: string;
  task: string;
  problem_id: string;
  method: string;
  seed: number;
  answer: string | null;
  correct: boolean;
  score: number;
  grading: BenchRecord["grading"];
  passes: number;
  steps: BenchRecord["steps"];
  solo_ms: BenchRecord["solo_ms"];
}

/** A problem's (task, id, seed) final verdicts so far: its methods disagree where some are right and some not. */
interface Verdicts {
  right: number;
  wrong: number;
}

const disagree = (v: Verdicts) => v.right > 0 && v.wrong > 0;

/**
 * The Records tab's rows of a run's records, as they were read: a growing run's appended records add theirs (its
 * lineage, runs.ts), so a poll of a run a bench is writing costs its new records, not every record's row again.
 */
interface Rows {
  rows: Row[];
  /** each row's problem's verdicts (shared by the rows of a problem) */
  verdicts: Verdicts[];
  byProblem: Map<string, Verdicts>;
  /** each record's place, by its key */
  byKey: Map<string, number>;
  methods: Set<string>;
  tasks: Set<string>;
}

const rowsByLineage = new WeakMap<object, Rows>();

/** The Records tab's filters (its selects and checkbox): a row is listed where each given holds. */
export interface RecordFilter {
  method?: string;
  task?: string;
  verdict?: "correct" | "incorrect" | "partial";
  disagree?: boolean;
}

const VERDICTS: Record<NonNullable<RecordFilter["verdict"]>, (r: Row) => boolean> = {
  correct: (r) => r.correct,
  incorrect: (r) => !r.correct,
  partial: (r) => r.score > 0 && r.score < 1,
};

/** The rows of a window the page asks for: the filtered rows from `offset`, `limit` of them at most. */
export interface RecordWindow extends RecordFilter {
  offset: number;
  limit: number;
}

/** The most rows one call sends (the page asks for 2,000 at a time). */
export const RECORDS_LIMIT = 5000;

/**
 * The window a Records tab's call asks for (`offset`, `limit`, default the first 2,000; `method`, `task`,
 * `verdict`, `disagree=1`), or undefined where a parameter is not one (the whole list is never the default).
 */
export function recordWindow(q: URLSearchParams): RecordWindow | undefined {
  const int = (name: string, fallback: number) => {
    const v = q.get(name);
    if (v === null || v === "") return fallback;
    return /^\d+$/.test(v) ? Number(v) : NaN;
  };
  const offset = int("offset", 0), limit = Math.min(int("limit", 2000), RECORDS_LIMIT);
  const verdict = q.get("verdict") || undefined;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(limit)) return undefined;
  if (verdict !== undefined && !(verdict in VERDICTS)) return undefined;
  return {
    offset,
    limit,
    method: q.get("method") || undefined,
    task: q.get("task") || undefined,
    verdict: verdict as RecordWindow["verdict"],
    disagree: q.get("disagree") === "1",
  };
}

/** The Records tab's rows of a run as read, before their measures: those of the records read before kept. */
function rowsOf(data: RunData): Rows {
  let kept = rowsByLineage.get(data.lineage);
  if (!kept || kept.rows.length > data.records.length) {
    kept = { rows: [], verdicts: [], byProblem: new Map(), byKey: new Map(), methods: new Set(), tasks: new Set() };
    rowsByLineage.set(data.lineage, kept);
  }
  for (let i = kept.rows.length; i < data.records.length; i++) {
    const r = data.records[i], end = last(r), key = recordKey(r), problem = [r.task, r.problem_id, r.seed].join("\t");
    const row: Row = {
      key,
      task: r.task,
      problem_id: r.problem_id,
      method: r.method,
      seed: r.seed,
      answer: end?.answer ?? null,
      correct: !!end?.equal_strict,
      score: end?.score_strict ?? 0,
      grading: r.grading,
      passes: end?.passes ?? 0,
      steps: r.steps,
      solo_ms: r.solo_ms,
    };
    if (!kept.byProblem.has(problem)) kept.byProblem.set(problem, { right: 0, wrong: 0 });
    const verdicts = kept.byProblem.get(problem)!;
    if (row.correct) verdicts.right++;
    else verdicts.wrong++;
    kept.rows.push(row), kept.verdicts.push(verdicts), kept.byKey.set(key, i);
    kept.methods.add(r.method), kept.tasks.add(r.task);
  }
  return kept;
}

/**
 * A window of the Records tab's rows: those its filters keep, from `offset`, at most `limit` (the page asks for
 * what it shows, 2,000 rows at a time: a run of 130,000 records is not sent whole at each call), with how many
 * the filters keep, the run's methods and tasks (the filters' choices), and how many of the window's rows are still
 * `measuring`: the traces of the window's rows are measured `measureMs`' worth a call (a second), in order, and
 * the page asks again until none is left (its rows come at once, their measures filling in).
 */
function recordList(data: RunData, w: RecordWindow, measureMs: number) {
  const { rows, verdicts, methods, tasks } = rowsOf(data), window: number[] = [];
  const verdict = w.verdict && VERDICTS[w.verdict];
  let matched = 0;
  rows.forEach((row, i) => {
    const keep = (!w.method || row.method === w.method) && (!w.task || row.task === w.task) &&
      (!verdict || verdict(row)) && (!w.disagree || disagree(verdicts[i]));
    if (keep && matched++ >= w.offset && window.length < w.limit) window.push(i);
  });
  const until = performance.now() + measureMs;
  let measuring = 0, done = 0;
  const records = window.map((i) => {
    const row = rows[i], r = data.records[i];
    // one trace a call at least: a call always brings the window nearer its end
    let found = measuresOf(data, row.key, r, undefined, false);
    if (found === undefined && (done === 0 || performance.now() < until)) {
      found = measuresOf(data, row.key, r), done++;
    }
    if (found === undefined) measuring++;
    const m = found === undefined || typeof found === "string" ? null : found;
    return {
      ...row,
      disagree: disagree(verdicts[i]),
      overlap: m?.overlap ?? null,
      answer_by: m?.answer_by ?? null,
      measuring: found === undefined,
    };
  });
  return {
    records,
    offset: w.offset,
    total: rows.length,
    matched,
    methods: [...methods],
    tasks: [...tasks],
    measuring,
  };
}

function runInfo(data: RunSummary, id: number, name: string) {
  const spec = (data.meta.spec ?? {}) as Record<string, unknown>;
  return {
    id,
    name,
    model: runModel(data.meta) ?? null,
    device: spec.device ?? null,
    tasks: spec.tasks ?? [],
    methods: spec.methods ?? [],
    records: data.records,
    waiting: data.waiting ?? false,
    // what of the run is not shown, and why (its traces, where traces.jsonl is a link not followed)
    note: data.tracesNone ?? null,
    // how many records run.json plans (the page follows a run with fewer), not the keys: it asks every few seconds
    planned: data.planned,
    gpu: (data.meta.machine as { gpu?: string } | undefined)?.gpu ?? null,
  };
}

/**
 * A live page's stream. What is sent it waits here until it reads, up to a bound past its snapshot; a page that
 * far behind (it stopped reading: a tab asleep, a stalled link) is ended, what it had not read dropped, rather than
 * kept in memory without end: its EventSource reconnects and starts again from a fresh snapshot.
 */
class LivePage {
  readonly stream: ReadableStream<Uint8Array>;
  #queue: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #wake = () => {};
  readonly #bound: number;

  constructor(first: Uint8Array[], bound: number, gone: () => void) {
    // nothing waits in the stream's own queue: a chunk is handed over only when the page reads
    this.stream = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        while (!this.#queue.length && !this.#ended) await new Promise<void>((r) => this.#wake = r);
        const next = this.#queue.shift();
        if (next) this.#bytes -= next.length, c.enqueue(next);
        else c.close();
      },
      cancel: () => (this.end(), gone()),
    }, { highWaterMark: 0 });
    for (const b of first) this.#queue.push(b), this.#bytes += b.length;
    this.#bound = this.#bytes + bound;
  }

  /** Sends `bytes`; false where the page is ended (now, being that far behind, or before). */
  send(bytes: Uint8Array): boolean {
    if (this.#ended) return false;
    this.#queue.push(bytes), this.#bytes += bytes.length, this.#wake();
    if (this.#bytes <= this.#bound) return true;
    this.end();
    return false;
  }

  /** Ends the page's stream now: what it has not read yet is dropped. */
  end(): void {
    this.#ended = true, this.#queue = [], this.#bytes = 0, this.#wake();
  }
}

/** The live feed's side of a viewer: the pages connected, and the runs in flight as the events published make them. */
interface Feed {
  pages: Set<LivePage>;
  runs: LiveRuns;
}

const LIVE_QUEUE_BYTES = 16 << 20;

function handle(req: Request, o: ViewerOptions, feed: Feed): Response {
  const url = new URL(req.url);
  // HEAD is GET without its body (the server sends none to a HEAD); nothing here takes another method
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("method not allowed", { status: 405, headers: { ...HEADERS, allow: "GET, HEAD" } });
  }
  const file = STATIC[url.pathname];
  if (file) {
    return new Response(readFileSync(file[0]()), { headers: { ...HEADERS, "content-type": file[1] } });
  }
  if (url.pathname === "/api/runs") {
    // two folders of one name told apart as plot tells them apart
    const names = runNames(o.runs.map((r) => r.dir));
    // One damaged folder must not hide the others: it is listed with what is wrong with it, where a read of it
    // failed (the list reads run.json and counts the records: a run's damaged lines are found when it is opened)
    return json(o.runs.map((r, i) => {
      try {
        const data = r.summary();
        if (data.tracesNone && !reported.has(data.tracesNone)) {
          console.error(`view: ${data.tracesNone}; the run's curves and records are shown`);
          reported.add(data.tracesNone);
        }
        return runInfo(data, i, names[i]);
      } catch (e) {
        // the run's error names its folder or file already
        const error = oneLine((e as Error).message);
        if (!reported.has(error)) console.error(`view: ${error}`), reported.add(error);
        return { id: i, name: names[i], error, records: 0, tasks: [], methods: [] };
      }
    }));
  }
  if (url.pathname === "/api/live") {
    const headers = { ...HEADERS, "content-type": "text/event-stream" };
    if (req.method === "HEAD") return new Response(null, { headers }); // no page to feed
    const first = [new TextEncoder().encode(`retry: 1000\n\n`), ...feed.runs.snapshot().map(sse)];
    const page = new LivePage(first, o.liveQueueBytes ?? LIVE_QUEUE_BYTES, () => feed.pages.delete(page));
    feed.pages.add(page);
    return new Response(page.stream, { headers });
  }
  const m = /^\/api\/runs\/(\d+)\/(curves|records|record|views)$/.exec(url.pathname);
  const source = m ? o.runs[Number(m[1])] : undefined;
  if (!m || !source) return notFound();
  const data = source.read();
  if (m[2] === "curves") return json(curvesChart(data));
  if (m[2] === "records") {
    const w = recordWindow(url.searchParams);
    return w ? json(recordList(data, w, o.measureMs ?? 1000)) : notFound();
  }
  const key = url.searchParams.get("key") ?? "";
  const at = rowsOf(data).byKey.get(key), record = at === undefined ? undefined : data.records[at];
  const trace = data.trace(key);
  if (!record && !trace) return notFound();
  if (m[2] === "views") {
    const pass = Number(url.searchParams.get("pass"));
    if (!trace || !Number.isInteger(pass) || pass < 1) return notFound();
    return json(viewsAt(trace, Math.min(pass, decodePasses(record, trace))) ?? null);
  }
  const found = measuresOf(data, key, record, trace);
  return json({
    record: record ?? null,
    trace: trace ?? null,
    // no trace: why, where the run's traces are not read
    trace_none: trace ? null : data.tracesNone ?? null,
    // none: why (the page says so)
    ...(typeof found === "string" ? { measures: null, measures_none: found } : { measures: found }),
    // each checkpoint's solo time in summary.md's words (the page has no formatter of its own)
    solo_times: (record?.checkpoints ?? []).map((c) => duration(c.solo_ms / 1000)),
    // the run's protocol not known (runProtocol), the page marks no check rather than a guessed one
    redundancy_check: typeof data.protocol === "string" ? null : data.protocol.redundancyCheck,
    passes: trace ? decodePasses(record, trace) : 0,
  });
}

/**
 * The passes in which a run's writers wrote: its last checkpoint's (the finisher's passes after them are not
 * steps); a run still without its record, every pass of its trace.
 */
function decodePasses(record: BenchRecord | undefined, trace: TraceLine): number {
  return (record && last(record)?.passes) || trace.pass_ms.length;
}

function sse(e: LiveEvent): Uint8Array {
  return new TextEncoder().encode(`data: ${JSON.stringify(e)}\n\n`);
}

/**
 * Which Host headers the viewer answers: its own address, and the loopback names when it listens on loopback,
 * with or without the port. A page of another site whose name is made to resolve to this address (DNS
 * rebinding) sends its own name, and is refused; so is an API request whose Origin is another site. On every
 * interface (0.0.0.0, ::) it answers any address typed as numbers, localhost and this machine's name, and no
 * other name.
 */
export function hostCheck(hostname: string, port: number): (host: string) => boolean {
  const strip = (h: string) => h.replace(new RegExp(`:${port}$`), "");
  if (hostname === "0.0.0.0" || hostname === "::") {
    let own = "";
    try {
      own = Deno.hostname().toLowerCase();
    } catch {
      // without --allow-sys: numbers and localhost only
    }
    return (host) => {
      const h = strip(host);
      return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || /^\[[0-9a-f:.]+\]$/.test(h) || h === "localhost" || h === own;
    };
  }
  const own = hostname.includes(":") ? `[${hostname}]` : hostname;
  const names = new Set(
    LOOPBACK.test(hostname) ? ["127.0.0.1", "localhost", "[::1]", own.toLowerCase()] : [own.toLowerCase()],
  );
  return (host) => names.has(strip(host));
}

function forbidden(req: Request, allowed: (host: string) => boolean): boolean {
  const host = (req.headers.get("host") ?? "").toLowerCase();
  if (!allowed(host)) return true;
  const origin = req.headers.get("origin");
  return origin !== null && new URL(req.url).pathname.startsWith("/api/") && origin.toLowerCase() !== `http://${host}`;
}

/** Starts the viewer; it serves until closed. */
export function serveViewer(o: ViewerOptions): Viewer {
  const feed: Feed = { pages: new Set(), runs: new LiveRuns() };
  let allowed: (host: string) => boolean = () => false;
  const port = o.port ?? 8470, hostname = o.hostname ?? "127.0.0.1";
  const portFlag = o.portFlag ?? "--port", hostFlag = o.hostFlag ?? "--host";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ port, hostname, onListen: () => {} }, serve);
  } catch (e) {
    // whatever stops the listening is one line naming the flag behind it
    throw new InputError(
      e instanceof Deno.errors.AddrInUse
        ? `${portFlag} ${port}: ${hostname}:${port} is in use by another program; choose another (0: any free port)`
        : e instanceof Deno.errors.PermissionDenied
        ? `${portFlag} ${port}: this user may not listen on it (ports below 1024 need root); choose another`
        : e instanceof Deno.errors.AddrNotAvailable
        ? `${hostFlag} ${hostname}: not an address of this machine`
        : `${hostFlag} ${hostname}: cannot listen there (${oneLine((e as Error).message)})`,
    );
  }
  if (!LOOPBACK.test(hostname)) {
    console.error(
      `view: WARNING: listening on ${hostname}, not loopback: anyone who can reach this machine can read these runs`,
    );
  }
  function serve(req: Request): Response {
    if (forbidden(req, allowed)) {
      return new Response("forbidden: this viewer answers only its own address", { status: 403, headers: HEADERS });
    }
    try {
      return handle(req, o, feed);
    } catch (e) {
      // said where `deno task view` runs too (each error once, not at every poll), and sent for the page to show
      const error = oneLine((e as Error).message);
      const path = new URL(req.url).pathname;
      if (!reported.has(error)) console.error(`view: ${path}: ${error}`), reported.add(error);
      return new Response(`error: ${error}`, { status: 500, headers: HEADERS });
    }
  }
  const addr = server.addr as Deno.NetAddr;
  allowed = hostCheck(addr.hostname, addr.port);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${addr.port}/`,
    publish(e) {
      feed.runs.apply(e);
      const bytes = sse(e);
      for (const page of [...feed.pages]) if (!page.send(bytes)) feed.pages.delete(page);
    },
    async close() {
      for (const page of feed.pages) page.end();
      await server.shutdown();
    },
  };
}
