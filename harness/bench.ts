/**
 * deno task bench: methods × tasks × budgets on one model, into a resumable run folder with records,
 * traces, curves, plots and a summary. `deno task bench --help` lists the flags; with none it runs the
 * embedded default (the project's tiny model, the synthetic task, every method, small budgets, CPU).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { cpus, homedir, totalmem } from "node:os";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { check, InputError, runMain } from "../engine/errors.ts";
import { modelFolder } from "../engine/hub.ts";
import { KVCache } from "../engine/cache.ts";
import { type Device, Engine } from "../engine/model.ts";
import { loadNative } from "../engine/native.ts";
import { GradePool } from "../tasks/grade_pool.ts";
import { GRADER_VERSION } from "../tasks/grader.ts";
import { LiveTap } from "./viewer/live.ts";
import { RunSource } from "./viewer/runs.ts";
import { type LiveEvent, serveViewer } from "./viewer/server.ts";
import type { Problem } from "../tasks/problem.ts";
import { loadTask, taskSpec } from "../tasks/registry.ts";
import { type BenchSpec, DEMO_MODEL, HELP, parseBenchSpec } from "./bench_spec.ts";
import { runKey } from "./run_key.ts";
import { checkMethod, newSolver, parseMethod, type RunContext } from "./methods.ts";
import { loadProtocol, loadSot, loadTemplate, modelTemplates } from "./prompts.ts";
import { type BenchRecord, checkRunFolder, recordKey, RunDir, type TraceLine } from "./rundir.ts";
import { type CostOf, eventLoopPause, KVShortage, type PassInfo, step, type StepModel } from "./schedule.ts";
import { calibrate } from "./calibrate.ts";
import type { CostModel } from "./cost.ts";
import { costOf, type Invocation, PassLog } from "./timing.ts";
import { report } from "./report.ts";
import { gradeCheckpoints } from "./grading.ts";
import type { Solver } from "./solver.ts";

interface Job {
  problem: Problem;
  method: string;
  seed: number;
  finisherTokens: number;
}

function git(...args: string[]): string | undefined {
  try {
    const out = new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function modelInfo(source: string, engine: Engine) {
  const config = join(source, "config.json");
  const text = existsSync(config) ? readFileSync(config, "utf8") : JSON.stringify(engine.config);
  const snapshot = /snapshots\/([0-9a-f]{40})/.exec(source)?.[1];
  return {
    source,
    revision: snapshot ?? (source.startsWith("random:") ? source : "local folder"),
    config_sha256: createHash("sha256").update(text).digest("hex"),
    family: engine.config.family,
  };
}

function machine(device: string) {
  const cuda = device === "cuda" ? loadNative().cudaInfo() : undefined;
  return {
    os: `${Deno.build.os}-${Deno.build.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gb: +(totalmem() / 2 ** 30).toFixed(1),
    gpu: cuda?.name || null,
  };
}

function progress(total: number) {
  if (Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({
      format: "bench |{bar}| {value}/{total} records | {pps} passes/s | ETA {eta_formatted}",
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { pps: "0" });
    return { update: (done: number, pps: number) => bar.update(done, { pps: pps.toFixed(1) }), stop: () => bar.stop() };
  }
  let last = 0;
  const t0 = performance.now();
  return {
    update: (done: number, pps: number) => {
      const now = performance.now();
      if (now - last < 10_000 && done < total) return;
      last = now;
      const eta = done ? ((now - t0) / done) * (total - done) / 1000 : NaN;
      console.error(
        `bench: ${done}/${total} records, ${pps.toFixed(1)} passes/s, ${
          Number.isFinite(eta) ? `about ${Math.round(eta)} s left` : "starting"
        }`,
      );
    },
    stop: () => {},
  };
}

/** `deno task bench` with these flags (the command line's, for the command). */
export async function bench(args: string[]): Promise<void> {
  const spec = parseBenchSpec(args);
  if (!spec) return console.log(HELP);
  const out = spec.shard ? join(spec.out, `shard-${spec.shard.index}-of-${spec.shard.count}`) : spec.out;
  checkRunFolder(out); // before any work, so that a bad --out costs nothing
  const protocol = loadProtocol(spec.protocol);
  const sot = loadSot(spec.sotPrompts);
  for (const m of spec.methods.map(parseMethod)) checkMethod(m, spec); // each family's check of the settings
  loadTemplate("collab", spec.collabTemplate), loadTemplate("plain", spec.plainTemplate); // bad prompt files: before any work
  const { jobs, problems } = await loadJobs(spec); // bad task options fail before the model loads
  // The viewer's port is taken before the model loads, so that a port in use costs nothing.
  const live = spec.view ? watch(out, spec.view) : undefined;
  const source = await modelFolder(spec.model);
  // A model folder may ship the prompts it was trained with; they are its defaults (and part of the spec).
  const templates = modelTemplates(source, { collab: spec.collabTemplate, plain: spec.plainTemplate });
  spec.collabTemplate = templates.collab, spec.plainTemplate = templates.plain;
  const engine = await Engine.load(source, {
    device: spec.device as Device,
    cuda: spec.cuda,
    allowLongContext: spec.allowLongContext,
  });
  const tok = engine.tokenizer;
  check(tok, `--model ${spec.model}: the benchmark needs a tokenizer (tokenizer.json)`);
  const key = runKey({
    spec,
    source,
    problems,
    prompts: {
      collab: loadTemplate("collab", spec.collabTemplate),
      plain: loadTemplate("plain", spec.plainTemplate),
      protocol,
      sot,
    },
    weightsCache: join(Deno.env.get("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "hogwild", "weights-sha256.json"),
  });
  const dir = RunDir.open(out, key, {
    spec_full: spec,
    model: modelInfo(source, engine),
    versions: { deno: Deno.version.deno, project: git("rev-parse", "HEAD") ?? "unknown", grader: GRADER_VERSION },
    machine: machine(spec.device),
    device_options: spec.device === "cuda" ? engine.deviceOptions : null,
    started: new Date().toISOString(),
    planned: jobs.map(keyOf),
  });
  try {
    const pending = jobs.filter((j) => !dir.done.has(keyOf(j)));
    console.error(
      `bench: ${jobs.length} problem × method × seed records in ${out}; ${
        jobs.length - pending.length
      } already there, ${pending.length} to run`,
    );
    const ctx: Omit<RunContext, "finisherTokens"> = {
      tokenizer: tok,
      generation: engine.generation,
      protocol,
      collabTemplate: spec.collabTemplate,
      plainTemplate: spec.plainTemplate,
      budgets: spec.budgets,
      redundancyEvery: spec.redundancyEvery,
      sampling: spec.sampling,
      sot,
    };
    const solver = (cache: KVCache, j: Job) =>
      newSolver(cache, parseMethod(j.method), j.problem.text, j.seed, { ...ctx, finisherTokens: j.finisherTokens });
    // Nothing left to run (a finished run again, or a shard with no problems: it merges as an empty shard).
    if (pending.length) {
      const cache = benchCache(engine, spec, pending, solver);
      const cost = costModel(dir, engine, cache, spec, pending.length);
      await execute({ engine, cache, dir, cost, solver, concurrency: spec.concurrency, jobs, pending, out, live });
    }
    const files = await report(out, spec, dir.records(), dir.meta());
    console.error(`bench: wrote ${files.join(", ")} in ${out}`);
  } finally {
    dir.close();
  }
  if (spec.model === DEMO_MODEL) { // the demo's run: where to look next
    console.error(
      `The workers' steps, pass by pass:  deno task view ${out}\nA real model:  deno task bench --model ` +
        "Qwen/Qwen3-8B --task aime25 --methods hogwild:2,sequential --budgets 512:8192:512 --device cuda " +
        "--out results/qwen3-8b-aime25",
    );
  }
  if (live) {
    console.error(`bench: done; the viewer stays at ${live.url} (Ctrl-C to stop)`);
    await new Promise(() => {});
  }
}

/** The viewer over this run folder, fed each pass of the runs in flight. */
function watch(out: string, address: { port: number; hostname: string }): LiveTap & { url: string } {
  let publish: (e: LiveEvent) => void = () => {};
  const tap = new LiveTap((e) => publish(e));
  const viewer = serveViewer({
    runs: [new RunSource(out)],
    ...address,
    snapshot: () => tap.snapshot(),
    portFlag: "--view-port",
  });
  publish = viewer.publish;
  console.error(`bench: watch the workers at ${viewer.url}#tab=live`);
  return Object.assign(tap, { url: viewer.url });
}

/** Runs the pending jobs, grading and writing each record as its run ends; run.json gets this invocation. */
async function execute(o: {
  engine: Engine;
  cache: KVCache;
  dir: RunDir;
  cost: CostModel;
  solver: MakeSolver;
  concurrency: number;
  jobs: Job[];
  pending: Job[];
  out: string;
  live?: LiveTap;
}): Promise<void> {
  const { engine, cache, dir, cost, jobs, pending, out, live } = o;
  const solver: MakeSolver = live
    ? (c, job) => {
      const s = o.solver(c, job);
      live.track(
        keyOf(job),
        { task: job.problem.task, problem_id: job.problem.id, method: job.method, seed: job.seed },
        s,
      );
      return s;
    }
    : o.solver;
  const pool = new GradePool({ workers: 2 });
  const bar = progress(jobs.length);
  let finished = jobs.length - pending.length, written = 0;
  const log = new PassLog(), t0 = performance.now();
  // Ctrl-C: what is written stays (records are whole lines); the runs in flight start again on resume.
  const interrupted = () => {
    console.error(
      `\nbench: interrupted; ${finished} of ${jobs.length} records are in ${out}: the same command resumes there`,
    );
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  const writes: Promise<void>[] = [];
  let lost: unknown, failed: PromiseRejectedResult | undefined;
  try {
    await runJobs(engine, cache, pending, {
      concurrency: o.concurrency,
      solver,
      cost: costOf(cost),
      done: (job, run) => {
        live?.finish(keyOf(job));
        writes.push(
          grade(job, run, pool).then(([record, trace]) => {
            dir.append(record, trace);
            finished++, written++;
          }).catch((e) => {
            lost ??= e;
            throw e;
          }),
        );
      },
      onPass: (info) => {
        if (lost) throw lost; // a record that cannot be written (a full disk): no more work
        log.add(info);
        live?.tick();
        bar.update(finished, log.passes / ((performance.now() - t0) / 1000));
      },
    });
  } finally {
    // Every record being graded lands (or fails) before the pool closes; the first failure is the run's.
    failed = (await Promise.allSettled(writes)).find((r) => r.status === "rejected") as PromiseRejectedResult;
    Deno.removeSignalListener("SIGINT", interrupted);
    bar.update(finished, log.passes / ((performance.now() - t0) / 1000));
    bar.stop();
    pool.close();
    if (!failed) {
      const before = (dir.meta().invocations ?? []) as Invocation[]; // a list: checked by RunDir.open
      dir.updateMeta({ invocations: [...before, log.invocation(written, cost)] });
    }
  }
  if (failed) throw failed.reason;
}

/**
 * The cost model of this run folder: the one in its run.json (a resumed run keeps its calibration, so all its
 * records' solo times come from one model), else calibrated now on the benchmark's cache and stored.
 */
function costModel(dir: RunDir, engine: Engine, cache: KVCache, spec: BenchSpec, pending: number): CostModel {
  const stored = dir.meta().cost_model as CostModel | undefined;
  if (stored) return stored; // checked by RunDir.open
  const workers = Math.max(...spec.methods.map((m) => parseMethod(m).workers));
  const t0 = performance.now();
  let said = t0;
  const { model } = calibrate(engine, cache, {
    context: Math.min(cache.capacityTokens, 2 * spec.budgets[spec.budgets.length - 1] * workers + 2048),
    rows: Math.min(64, spec.concurrency * (workers + 1)),
    // each pending record runs to the largest budget, `concurrency` of them sharing a pass: at most this many
    plannedPasses: Math.ceil(pending / spec.concurrency) * spec.budgets[spec.budgets.length - 1],
    onProgress: (done, total, seconds, bound) => {
      if (performance.now() - said < 5000) return;
      said = performance.now();
      const most = Number.isFinite(bound) ? ` (at most about ${Math.ceil(bound)} s)` : "";
      console.error(`bench: calibrating the cost model: ${done} of ${total} shapes in ${seconds.toFixed(0)} s${most}`);
    },
  });
  console.error(
    `bench: cost model calibrated on ${model.fit.passes} passes in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  dir.updateMeta({ cost_model: model });
  return model;
}

const keyOf = (j: Job) => recordKey({ task: j.problem.task, problem_id: j.problem.id, method: j.method, seed: j.seed });

/** Every problem × method × seed of the spec's tasks (this shard's problems only), and every problem loaded. */
async function loadJobs(spec: BenchSpec): Promise<{ jobs: Job[]; problems: Problem[] }> {
  const jobs: Job[] = [], all: Problem[] = [];
  for (const id of spec.tasks) {
    const loaded = await loadTask(id, {
      data: spec.data,
      dataDir: spec.dataDir,
      hub: spec.hub,
      skipBad: spec.skipBad,
      fields: spec.fields,
      limit: spec.limit,
      seed: spec.seeds[0],
      synthetic: taskSpec(id).generate ? spec.synthetic : undefined,
    });
    if (loaded.skipped.length) console.error(`${id}: skipped ${loaded.skipped.length} malformed records`);
    all.push(...loaded.problems);
    const problems = loaded.problems.filter((_, i) => !spec.shard || i % spec.shard.count === spec.shard.index);
    for (const problem of problems) {
      for (const method of spec.methods) {
        for (const seed of spec.seeds) {
          jobs.push({ problem, method, seed, finisherTokens: spec.finisherTokens ?? loaded.task.finisherTokens });
        }
      }
    }
  }
  return { jobs, problems: all };
}

type MakeSolver<J = Job> = (cache: KVCache, job: J) => Solver;

export interface RunJobsOptions<J> {
  concurrency: number;
  solver: MakeSolver<J>;
  /** a finished run (its blocks already freed) */
  done: (job: J, run: Solver) => void;
  onPass?: (info: PassInfo) => void;
  /** the cost model's prediction, for the runs' solo times */
  cost?: CostOf;
}

/**
 * Runs the jobs to their ends, sharing passes. A run is admitted only while the KV its bound says it may need
 * is free; should the cache still run short (steps much shorter than the bound assumes), runs sit passes out,
 * and if none can go on, the newest is put back in the queue to start again later (it gives the same record:
 * runs are reproducible) and nothing new starts until a run ends.
 */
export async function runJobs<J>(model: StepModel, cache: KVCache, jobs: J[], o: RunJobsOptions<J>): Promise<void> {
  const { concurrency, solver, done } = o;
  const queue = jobs.slice(), active: { job: J; run: Solver; kv: number }[] = [];
  let reserved = 0, hold = false, next: { job: J; run: Solver; kv: number } | undefined, info: PassInfo | undefined;
  const pause = eventLoopPause();
  while (queue.length || active.length || next) {
    while (!hold && active.length < concurrency && (next || queue.length)) {
      if (!next) {
        const job = queue.shift()!, run = solver(cache, job);
        next = { job, run, kv: run.kvTokens(cache.pageSize) };
      }
      if (active.length && reserved + next.kv > cache.capacityTokens) break;
      active.push(next);
      reserved += next.kv;
      next = undefined;
    }
    try {
      info = step(model, cache, active.map((a) => a.run), o.cost);
    } catch (e) {
      if (!(e instanceof KVShortage)) throw e;
      const a = active.pop()!;
      if (active.length === 0) {
        throw new InputError(
          `${e.message}: one run needs more than the whole cache; give a larger --kv-tokens or lower the budgets`,
        );
      }
      a.run.free();
      reserved -= a.kv;
      queue.unshift(a.job);
      hold = true;
      console.error(
        `bench: the KV cache ran short of room for ${
          active.length + 1
        } runs at once; one will start again once another ends`,
      );
      continue;
    }
    for (const a of active.filter((x) => x.run.done)) {
      active.splice(active.indexOf(a), 1);
      reserved -= a.kv;
      hold = false;
      a.run.free();
      done(a.job, a.run);
    }
    if (info) o.onPass?.(info);
    await pause(); // finished gradings land in records.jsonl
  }
}

/**
 * The KV cache: --kv-tokens, or room for --concurrency of the largest runs (by their bounds); when that does
 * not fit on the device, the largest that does, halving down to one run's bound.
 */
function benchCache(engine: Engine, spec: BenchSpec, pending: Job[], solver: MakeSolver): KVCache {
  const pageSize = 16;
  // The bounds depend on the prompt's length and the method, not the seed: one probe each, on a cache with no pages.
  const probe = new KVCache({ bytes: 0, pages: 0, pageSize });
  const bounds = new Map<string, number>();
  for (const j of pending) {
    const key = `${j.problem.task}\t${j.problem.id}\t${j.method}`;
    if (!bounds.has(key)) bounds.set(key, solver(probe, j).kvTokens(pageSize));
  }
  const perRun = Math.max(pageSize, ...bounds.values());
  const cache = newBenchCache(engine, spec.kvTokens, Math.min(pending.length || 1, spec.concurrency) * perRun, perRun);
  if (cache.capacityTokens < perRun) {
    console.error(
      `bench: a run may need up to ${perRun} KV tokens, more than the cache's ${cache.capacityTokens}: such runs go alone, and stop with an error if they run out`,
    );
  } else if (cache.capacityTokens < Math.min(spec.concurrency, pending.length) * perRun) {
    console.error(
      `bench: the KV cache holds ${cache.capacityTokens} tokens and a run may need up to ${perRun}: fewer than ${spec.concurrency} runs may go at a time`,
    );
  }
  return cache;
}

/**
 * The KV cache: `given` tokens (--kv-tokens), or `wanted`; when `wanted` does not fit on the device, the
 * largest that does, halving down to one run's `perRun`.
 */
function newBenchCache(engine: Engine, given: number | undefined, wanted: number, perRun: number): KVCache {
  for (let tokens = given ?? wanted;; tokens = Math.max(perRun, Math.floor(tokens / 2))) {
    try {
      const cache = engine.newCache({ tokens });
      if (given === undefined && tokens < wanted) {
        console.error(`bench: a KV cache of ${wanted} tokens does not fit; using ${tokens}`);
      }
      return cache;
    } catch (e) {
      if (given !== undefined || tokens <= perRun) {
        throw new InputError(
          `a KV cache of ${tokens} tokens does not fit (${(e as Error).message}); ${
            given !== undefined ? "give a smaller --kv-tokens" : "one run needs that much: lower the budgets"
          }`,
        );
      }
    }
  }
}

/** Grades every checkpoint off the generation's path; resolves to the record and the trace to append. */
async function grade(job: Job, run: Solver, pool: GradePool): Promise<[BenchRecord, TraceLine]> {
  const p = job.problem;
  const checkpoints = await gradeCheckpoints(run.checkpoints, p, pool);
  const key = { task: p.task, problem_id: p.id, method: job.method, seed: job.seed };
  const last = run.checkpoints[run.checkpoints.length - 1];
  const record: BenchRecord = {
    ...key,
    golds: p.golds,
    grading: p.grading,
    checkpoints,
    steps: run.steps.length,
    solo_ms: last?.solo_ms ?? 0,
    shared_ms: last?.shared_ms ?? 0,
    grader: GRADER_VERSION,
  };
  const trace: TraceLine = {
    ...key,
    problem: p.text,
    names: run.names(),
    workers: run.texts(),
    steps: run.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass, text: s.text })),
    pass_ms: run.passMs.map((ms) => +ms.toFixed(3)),
  };
  return [record, trace];
}

if (import.meta.main) runMain(() => bench(Deno.args));
