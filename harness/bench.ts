/**
 * deno task bench: methods × tasks × budgets on one model, into a resumable run folder with records,
 * traces, curves, plots and a summary. `deno task bench --help` lists the flags; with none it runs the
 * embedded default (the project's tiny model, the synthetic task, every method, small budgets, CPU).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { check, InputError, runMain } from "../engine/errors.ts";
import { hubModel } from "../engine/hub.ts";
import type { KVCache } from "../engine/cache.ts";
import { type Device, Engine } from "../engine/model.ts";
import { loadNative } from "../engine/native.ts";
import { GradePool } from "../tasks/grade_pool.ts";
import { GRADER_VERSION } from "../tasks/grader.ts";
import type { Problem } from "../tasks/problem.ts";
import { loadTask } from "../tasks/registry.ts";
import { type BenchSpec, HELP, parseBenchSpec, resumeKey } from "./bench_spec.ts";
import { curves, curvesCsv, forkAgreement, forkAgreementText, summaryBudgets, summaryTable } from "./curves.ts";
import { kvTokensPerRun, newSolver, parseMethod } from "./methods.ts";
import { writePlots } from "./plots.ts";
import { loadProtocol, loadSot } from "./prompts.ts";
import { type BenchRecord, type RecordCheckpoint, recordKey, RunDir } from "./rundir.ts";
import { step } from "./schedule.ts";
import type { Solver } from "./solver.ts";

interface Job {
  problem: Problem;
  method: string;
  seed: number;
  finisherTokens: number;
}

/** A local model folder for --model: a folder, random:SHAPE, or a hub id (into the HF cache). */
async function modelSource(model: string): Promise<string> {
  if (model.startsWith("random:") || existsSync(model)) return model;
  check(/^[\w.-]+\/[\w.-]+$/.test(model), `--model ${model}: no such folder, and not a hub id (OWNER/NAME) or random:SHAPE`);
  return await hubModel(model);
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
  return { source, revision: snapshot ?? (source.startsWith("random:") ? source : "local folder"), config_sha256: createHash("sha256").update(text).digest("hex"), family: engine.config.family };
}

function machine(device: string) {
  const cuda = device === "cuda" ? loadNative().cudaInfo() : undefined;
  return { os: `${Deno.build.os}-${Deno.build.arch}`, cpus: cpus().length, cpu: cpus()[0]?.model, memory_gb: +(totalmem() / 2 ** 30).toFixed(1), gpu: cuda?.name || null };
}

function progress(total: number) {
  if (Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({ format: "bench |{bar}| {value}/{total} problems | {pps} passes/s | ETA {eta_formatted}", hideCursor: true }, cliProgress.Presets.shades_classic);
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
      console.error(`bench: ${done}/${total} problems, ${pps.toFixed(1)} passes/s, ${Number.isFinite(eta) ? `about ${Math.round(eta)} s left` : "starting"}`);
    },
    stop: () => {},
  };
}

async function main() {
  const spec = parseBenchSpec(Deno.args);
  if (!spec) return console.log(HELP);
  const out = spec.shard ? join(spec.out, `shard-${spec.shard.index}-of-${spec.shard.count}`) : spec.out;
  const protocol = loadProtocol(spec.protocol);
  const sot = loadSot(spec.sotPrompts);
  for (const m of spec.methods) parseMethod(m);

  // Problems first: bad task options fail before the model loads.
  const jobs: Job[] = [];
  for (const id of spec.tasks) {
    const loaded = await loadTask(id, {
      data: spec.data, dataDir: spec.dataDir, hub: spec.hub, skipBad: spec.skipBad, limit: spec.limit, seed: spec.seeds[0],
      synthetic: id === "synthetic" ? spec.synthetic : undefined,
    });
    if (loaded.skipped.length) console.error(`${id}: skipped ${loaded.skipped.length} malformed records`);
    const problems = loaded.problems.filter((_, i) => !spec.shard || i % spec.shard.count === spec.shard.index);
    for (const problem of problems) {
      for (const method of spec.methods) {
        for (const seed of spec.seeds) jobs.push({ problem, method, seed, finisherTokens: spec.finisherTokens ?? loaded.task.finisherTokens });
      }
    }
  }
  const source = await modelSource(spec.model);
  const engine = await Engine.load(source, { device: spec.device as Device });
  const tok = engine.tokenizer;
  check(tok, `--model ${spec.model}: the benchmark needs a tokenizer (tokenizer.json)`);
  const keyOf = (j: Job) => recordKey({ task: j.problem.task, problem_id: j.problem.id, method: j.method, seed: j.seed });
  const dir = RunDir.open(out, resumeKey(spec), {
    spec_full: spec,
    model: modelInfo(source, engine),
    versions: { deno: Deno.version.deno, project: git("rev-parse", "HEAD") ?? "unknown", grader: GRADER_VERSION },
    machine: machine(spec.device),
    started: new Date().toISOString(),
    planned: jobs.map(keyOf),
  });
  const pending = jobs.filter((j) => !dir.done.has(keyOf(j)));
  console.error(`bench: ${jobs.length} problem × method × seed records in ${out}; ${jobs.length - pending.length} already there, ${pending.length} to run`);

  // Each run is admitted only while the KV its method may need at most is free, so the cache never runs
  // out mid-run: a smaller cache (given, or all that fits) means fewer runs at a time, not a crash.
  const maxBudget = spec.budgets[spec.budgets.length - 1];
  const bound = new Map(spec.methods.map((m) => [m, kvTokensPerRun(parseMethod(m), maxBudget, { sot })]));
  const perRun = Math.max(...bound.values());
  const cache = newBenchCache(engine, spec.kvTokens, Math.min(pending.length || 1, spec.concurrency) * perRun, perRun);
  if (cache.capacityTokens < Math.min(spec.concurrency, pending.length) * perRun) {
    console.error(`bench: the KV cache holds ${cache.capacityTokens} tokens and a run may need up to ${perRun}: fewer than ${spec.concurrency} runs may go at a time`);
  }
  let reserved = 0, atOnce = 0;
  const pool = new GradePool({ workers: 2 });
  const ctx = {
    tokenizer: tok, generation: engine.generation, protocol, collabTemplate: spec.collabTemplate, plainTemplate: spec.plainTemplate,
    budgets: spec.budgets, redundancyEvery: spec.redundancyEvery, sampling: spec.sampling, sot,
  };
  const bar = progress(jobs.length);
  let finished = jobs.length - pending.length, passes = 0;
  const t0 = performance.now();
  const writes: Promise<void>[] = [];
  let queue = pending.slice();
  const active: { job: Job; run: Solver }[] = [];
  let yielded = performance.now();
  try {
    while (queue.length || active.length) {
      while (active.length < spec.concurrency && queue.length && (active.length === 0 || reserved + bound.get(queue[0].method)! <= cache.capacityTokens)) {
        const job = queue[0];
        queue = queue.slice(1);
        reserved += bound.get(job.method)!;
        const method = parseMethod(job.method);
        atOnce = Math.max(atOnce, active.length + 1);
        active.push({ job, run: newSolver(cache, method, job.problem.text, job.seed, { ...ctx, finisherTokens: job.finisherTokens }) });
      }
      step(engine, cache, active.map((a) => a.run));
      passes++;
      for (const a of active.filter((x) => x.run.done)) {
        active.splice(active.indexOf(a), 1);
        reserved -= bound.get(a.job.method)!;
        a.run.free();
        writes.push(grade(a.job, a.run, pool).then(([record, trace]) => {
          dir.append(record, trace);
          finished++;
        }));
      }
      bar.update(finished, passes / ((performance.now() - t0) / 1000));
      // Let finished gradings land in records.jsonl (and signals, timers run) about every 20 ms.
      if (performance.now() - yielded > 20) {
        await new Promise((r) => setTimeout(r, 0));
        yielded = performance.now();
      }
    }
    await Promise.all(writes);
  } finally {
    bar.update(finished, passes / ((performance.now() - t0) / 1000));
    bar.stop();
    pool.close();
  }
  await report(out, spec, dir.records(), (performance.now() - t0) / 1000, atOnce || spec.concurrency);
}

/**
 * The KV cache: `given` tokens (--kv-tokens), or `wanted`; when `wanted` does not fit on the device, the
 * largest that does, halving down to one run's `perRun`.
 */
function newBenchCache(engine: Engine, given: number | undefined, wanted: number, perRun: number): KVCache {
  for (let tokens = given ?? wanted;; tokens = Math.max(perRun, Math.floor(tokens / 2))) {
    try {
      const cache = engine.newCache({ tokens });
      if (given === undefined && tokens < wanted) console.error(`bench: a KV cache of ${wanted} tokens does not fit; using ${tokens}`);
      return cache;
    } catch (e) {
      if (given !== undefined || tokens <= perRun) {
        throw new InputError(`a KV cache of ${tokens} tokens does not fit (${(e as Error).message}); ${given !== undefined ? "give a smaller --kv-tokens" : "one run needs that much: lower the budgets"}`);
      }
    }
  }
}

/** Grades every checkpoint off the generation's path; resolves to the record and the trace to append. */
async function grade(job: Job, run: Solver, pool: GradePool): Promise<[BenchRecord, Parameters<RunDir["append"]>[1]]> {
  const p = job.problem;
  const verdict = (answer: string | null | undefined) =>
    pool.grade({ generated: answer ? `\\boxed{${answer}}` : "", golds: p.golds, grading: p.grading });
  const checkpoints: RecordCheckpoint[] = [];
  for (const c of run.checkpoints) {
    const { equal_strict, equal_lenient, score_strict, score_lenient, timed_out } = await verdict(c.answer);
    const cp: RecordCheckpoint = { ...c, equal_strict, equal_lenient, score_strict, score_lenient, ...(timed_out ? { timed_out } : {}) };
    if (c.vote !== undefined) cp.vote_equal_strict = (await verdict(c.vote)).equal_strict;
    checkpoints.push(cp);
  }
  const key = { task: p.task, problem_id: p.id, method: job.method, seed: job.seed };
  const last = run.checkpoints[run.checkpoints.length - 1];
  const record: BenchRecord = { ...key, golds: p.golds, grading: p.grading, checkpoints, steps: run.steps.length, wall_ms: last?.wall_ms ?? 0, grader: GRADER_VERSION };
  const trace = {
    ...key,
    workers: run.texts(),
    steps: run.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass, text: s.text })),
    pass_ms: run.passMs.map((ms) => +ms.toFixed(3)),
  };
  return [record, trace];
}

/** curves.csv, the plots and summary.md, from every record of the folder. */
export async function report(out: string, spec: BenchSpec, records: BenchRecord[], seconds?: number, atOnce = spec.concurrency): Promise<void> {
  const points = curves(records);
  writeFileSync(join(out, "curves.csv"), curvesCsv(points));
  const title = `${spec.model} on ${spec.tasks.join(", ")}`;
  const files = points.length ? await writePlots(out, points, title) : [];
  const budgets = summaryBudgets(spec.budgets);
  const concurrent = atOnce > 1;
  const summary = [
    `# ${title}`,
    "",
    `${records.length} records (problem × method × seed) of ${spec.tasks.join(", ")} with ${spec.model} on ${spec.device}: methods ${spec.methods.join(", ")}; ` +
    `budgets ${spec.budgets[0]}–${spec.budgets[spec.budgets.length - 1]} forward passes (${spec.budgets.length} checkpoints); seeds ${spec.seeds.join(", ")}` +
    `${spec.shard ? `; shard ${spec.shard.index} of ${spec.shard.count}` : ""}. Accuracy is the strict verdict of ${GRADER_VERSION} (lenient in curves.csv), ` +
    `at each checkpoint the answer read by the finisher (or written, or the early stop's). ` +
    (concurrent
      ? `Times: up to ${atOnce} runs shared each forward pass; a run's time is the wall time of the passes it took part in, each counted whole, so it is an upper bound of its time alone.`
      : `Times: runs went one at a time, so a run's time is its own wall time.`) +
    (seconds !== undefined ? ` The run took ${seconds.toFixed(1)} s.` : ""),
    "",
    summaryTable(points, budgets),
    forkAgreementText(forkAgreement(records)),
  ].join("\n");
  writeFileSync(join(out, "summary.md"), summary + "\n");
  console.error(`bench: wrote ${["records.jsonl", "traces.jsonl", "curves.csv", "summary.md", ...files.map((f) => f.split("/").pop())].join(", ")} in ${out}`);
  if (spec.model === "random:qwen3-demo") {
    console.error("This was the embedded default: random weights, so every answer is wrong by design; it shows the whole path runs.\n" +
      "A real model:  deno task bench --model Qwen/Qwen3-8B --task aime25 --data-dir ../shared/data --methods hogwild:2,sequential --budgets 512:8192:512 --device cuda --out results/qwen3-8b-aime25");
  }
}

if (import.meta.main) runMain(main);
