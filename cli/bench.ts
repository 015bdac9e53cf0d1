/**
 * deno task bench: methods × tasks × budgets on one model, into a resumable run folder with records,
 * traces, curves, plots and a summary. `deno task bench --help` lists the flags; with none it runs the
 * embedded default (the demo model on 100 held-out chains problems, five methods, budgets 8–128, CPU).
 * The steps are each a file's: the jobs (jobs.ts), the methods against the model's positions
 * (context_check.ts), the KV cache's size (kv_sizing.ts), the cost model (calibrate.ts), the runs (execute.ts),
 * run.json's provenance (provenance.ts), the report (report.ts).
 */
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { pathExists } from "../engine/files.ts";
import { check, InputError, runMain } from "../engine/errors.ts";
import { resolveSampling, unappliedSettings, unappliedWarning } from "../engine/config.ts";
import { modelFolder } from "../engine/hub.ts";
import { KVCache } from "../engine/cache.ts";
import { type Device, Engine } from "../engine/model.ts";
import { type BenchSpec, DEMO_MODEL, HELP, parseBenchSpec } from "../harness/bench/spec.ts";
/** its flags, as parseBenchSpec reads them */
export { OPTIONS } from "../harness/bench/spec.ts";
import { folderKey } from "../harness/bench/run_key.ts";
import {
  checkCodeTasks,
  checkMethod,
  familyTexts,
  minPositions,
  newSolver,
  parseMethod,
  type RunContext,
  runTexts,
} from "../harness/generation/methods.ts";
import {
  forbiddenNote,
  loadCodeTexts,
  loadProtocol,
  MODEL_TEMPLATE_FILES,
  modelTemplates,
  protocolFile,
  templateOf,
} from "../harness/generation/prompts.ts";
import { answerFormat, CODE } from "../harness/generation/answer_format.ts";
import { CodeRunner } from "../tasks/code/runner.ts";
import { taskSpec } from "../tasks/registry.ts";
import { checkRunFolder, readRunJson, RunDir } from "../harness/bench/rundir.ts";
import { costModel } from "../harness/bench/calibrate.ts";
import { greedyNote, report } from "../harness/report/report.ts";
import { execute } from "../harness/bench/execute.ts";
import { exitInterrupted, onInterrupt } from "../harness/bench/interrupt.ts";
import { finisherTokensOf, type Job, jobOf, keyOf, loadJobs } from "../harness/bench/jobs.ts";
import { benchCache } from "../harness/bench/kv_sizing.ts";
import { checkContext } from "../harness/bench/context_check.ts";
import { checkProblems, forProblem, problemName, refuseAddedTokens } from "../harness/bench/problem_check.ts";
import { provenance } from "../harness/bench/provenance.ts";
import { calibratedOn, machineName } from "../harness/bench/timing.ts";
import { watch } from "../harness/viewer/watch.ts";

/** `deno task bench` with these flags (the command line's, for the command). */
/**
 * What can be refused from the flags and files alone, before any work: the protocol, the methods and their
 * texts, each family's check of the settings, the prompt files, a code task's methods and flags.
 */
function checkBeforeWork(spec: BenchSpec) {
  const protocol = loadProtocol(spec.protocol);
  const methods = spec.methods.map(parseMethod);
  const texts = familyTexts(methods, spec.texts);
  for (const m of methods) checkMethod(m, spec);
  promptsOf(spec);
  const codeTask = spec.tasks.find((t) => taskSpec(t).code);
  checkCodeTasks(methods, codeTask);
  check(
    codeTask !== undefined ||
      (!spec.unsafeExec && spec.codeWorkers === undefined && !spec.collabCodeTemplate && !spec.plainCodeTemplate),
    "--unsafe-exec, --code-workers, --collab-code-prompt and --plain-code-prompt go with a code task (lcb)",
  );
  if (codeTask) { for (const kind of ["collab", "plain"] as const) templateOf(kind, spec, CODE.templateSuffix); }
  return { protocol, texts, codeTask };
}

/** The chat templates the runs are given (the spec's files, or the defaults). */
const promptsOf = (spec: BenchSpec) => ({
  collab: templateOf("collab", spec),
  plain: templateOf("plain", spec),
});

/** The same for code tasks: their own templates, and the code texts. */
const codePromptsOf = (spec: BenchSpec, texts: NonNullable<ReturnType<typeof loadCodeTexts>>) => ({
  collab: templateOf("collab", spec, CODE.templateSuffix),
  plain: templateOf("plain", spec, CODE.templateSuffix),
  texts,
});

/**
 * The folder the runs go to: --out, or with --shard its shard's folder under it. --out naming a shard's own
 * folder is refused: a shard inside it would begin over (shard-0-of-2/shard-0-of-2) instead of resuming.
 */
function runFolder(spec: BenchSpec): string {
  if (!spec.shard) return spec.out;
  if (pathExists(join(spec.out, "run.json"))) {
    const own = (readRunJson(spec.out).spec as { shard?: { index: number; count: number } } | undefined)?.shard;
    if (own) {
      throw new InputError(
        `--out ${spec.out}: a shard's run folder (shard ${own.index} of ${own.count}); with --shard, --out names ` +
          `the folder above the shards: --out ${dirname(spec.out)}`,
      );
    }
  }
  return join(spec.out, `shard-${spec.shard.index}-of-${spec.shard.count}`);
}

export async function bench(args: string[]): Promise<void> {
  const spec = parseBenchSpec(args);
  if (!spec) return console.log(HELP);
  const out = runFolder(spec);
  checkRunFolder(out); // before any work, so that a bad --out costs nothing
  const { protocol, texts, codeTask } = checkBeforeWork(spec);
  // Where programs run: a sandbox that cannot start is refused here, naming what to install.
  const code = codeTask === undefined
    ? undefined
    : await CodeRunner.open({ unsafe: spec.unsafeExec, workers: spec.codeWorkers });
  const loaded = await loadJobs(spec); // bad task options fail before the model loads
  const codeTexts = codeTask === undefined ? undefined : loadCodeTexts();
  // The viewer's port is taken before the model loads, so that a port in use costs nothing.
  const live = spec.view ? await watch(out, spec.view) : undefined;
  const source = await modelFolder(spec.model, MODEL_TEMPLATE_FILES);
  // A model folder may ship the prompts it was trained with; they are its defaults (and part of the spec).
  Object.assign(spec, modelTemplates(source, spec));
  // The model's files without its weights: the prompts, problems and context are checked against them before
  // the weights load (minutes for a large model), so that a refusal costs seconds.
  const model = Engine.readFiles(source);
  const tok = model.tokenizer;
  check(tok, `--model ${spec.model}: the benchmark needs a tokenizer (tokenizer.json)`);
  // The prompt files meet the model's tokenizer here: an added token in one would be read as that token in every
  // prompt (a forged turn), so it is refused as a problem's is, naming the file and field.
  for (
    const t of runTexts({
      protocol,
      protocolFile: spec.protocol,
      templates: spec,
      suffixes: codeTask === undefined ? [""] : ["", CODE.templateSuffix],
      codeTexts,
      families: texts,
      familyFiles: spec.texts,
    })
  ) refuseAddedTokens(tok, t.text, t.where, "take it out of the file");
  const ctx: Omit<RunContext, "finisherTokens"> = {
    tokenizer: tok,
    generation: model.generation,
    protocol,
    collabTemplate: spec.collabTemplate,
    plainTemplate: spec.plainTemplate,
    collabCodeTemplate: spec.collabCodeTemplate,
    plainCodeTemplate: spec.plainCodeTemplate,
    budgets: spec.budgets,
    redundancyEvery: spec.redundancyEvery,
    sampling: spec.sampling,
    texts,
    codeTexts,
    finisherInput: spec.finisherInput ?? "ids",
  };
  const jobContext = (j: Job): RunContext => ({
    ...ctx,
    finisherTokens: j.finisherTokens,
    answer: answerFormat(j.problem.grading),
  });
  const solver = (cache: KVCache, j: Job) =>
    newSolver(cache, parseMethod(j.method), j.problem.text, j.seed, jobContext(j));
  // The problems meet the model's tokenizer here: one it refuses, or whose prompt a method's chat template cannot
  // render (each run made on a cache with no pages), stops the bench (or is skipped: --skip-bad) before the run
  // folder opens.
  const empty = new KVCache({ bytes: 0, pages: 0, pageSize: 16 }), seed = Math.min(...spec.seeds);
  const { kept, note } = checkProblems(loaded.problems, (problem) => {
    refuseAddedTokens(
      tok,
      problem.text,
      problemName(problem),
      "take it out of the data, or skip such problems: --skip-bad",
    );
    for (const m of spec.methods) forProblem(problem, m, () => solver(empty, jobOf(spec, problem, m, seed)));
  }, spec.skipBad);
  if (note) console.error(`bench: ${note}`);
  const problems = loaded.problems.filter((p) => kept.has(p)), jobs = loaded.jobs.filter((j) => kept.has(j.problem));
  // A method no run of which fits the model's positions by the largest budget: refused now, not hours in.
  checkContext({
    methods: spec.methods,
    problems,
    budget: Math.max(...spec.budgets),
    limit: model.config.maxPositions,
    limitFrom: source.startsWith("random:") ? "its real checkpoint's" : "config.json",
    allowed: spec.allowLongContext === true,
    tokens: (text) => tok.encode(text).length,
    bound: (problem, m) =>
      forProblem(
        problem,
        m,
        () => minPositions(parseMethod(m), problem.text, jobContext(jobOf(spec, problem, m, seed))),
      ),
  });
  // A forbidden text this vocabulary has no single token for is not suppressed: said once, here.
  const unforbidden = spec.methods.some((m) => parseMethod(m).forbidTokens)
    ? forbiddenNote(tok, protocol, protocolFile(spec.protocol))
    : undefined;
  if (unforbidden) console.error(`bench: note: ${unforbidden}`);
  const sampling = resolveSampling(model.generation, spec.sampling);
  // Seeds feed only the writers' draws: decoded greedily, every seed is the same run, and the statistics over
  // seeds would count it k times (a ± of 0, intervals √k too narrow).
  check(
    sampling.temperature > 0 || spec.seeds.length === 1,
    `--seeds ${spec.seeds.join(",")}: the writers decode greedily (${
      spec.sampling?.temperature === 0
        ? "--temperature 0"
        : spec.model.startsWith("random:")
        ? "a random: model samples only with --temperature"
        : "as the model's generation_config.json says"
    }), so every seed writes the same text and the statistics over seeds would count one run ${spec.seeds.length} ` +
      "times; give --temperature to sample, or one seed",
  );
  const greedy = sampling.temperature === 0 ? greedyNote(spec.methods) : "";
  if (greedy) console.error(`bench: note: ${greedy}`);
  // the generation_config's settings transformers would apply and the writers do not: said, and kept in run.json
  const unapplied = unappliedSettings(model.generation, sampling.temperature);
  const warning = unappliedWarning(model.generation, unapplied);
  if (warning) console.error(warning);
  const key = folderKey(out, {
    spec,
    source,
    problems,
    prompts: { ...promptsOf(spec), protocol, families: texts, code: codeTexts && codePromptsOf(spec, codeTexts) },
    codeEnvironment: await code?.environment(),
    weightsCache: join(Deno.env.get("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "hogwild", "weights-sha256.json"),
    sampling,
  });
  // Freed when the bench ends (`using`), the cache before it: device memory back at once, not at exit.
  using engine = await Engine.load(model, {
    device: spec.device as Device,
    cuda: spec.cuda,
    allowLongContext: spec.allowLongContext,
    longContextAdvice:
      "lower --budgets or shorten the prompts (in a new --out: both are the run's spec), or allow it " +
      "(--allow-long-context, with which this folder resumes)",
  });
  const here = provenance(source, engine, spec.device);
  const dir = RunDir.open(out, key, {
    spec_full: spec,
    ...here,
    sampling: { ...sampling, unapplied },
    started: new Date().toISOString(),
    // derived from the data, which the key holds by content: kept beside it, not in it
    data_notes: [...loaded.notes, ...(note ? [note] : [])],
    // the limit each task's answers were finished with (the key leaves a task's own out): said, not keyed
    finisher_tokens: Object.fromEntries(spec.tasks.map((t) => [t, finisherTokensOf(spec, t)])),
    // the protocol the runs read (the key holds its hash): what the viewer's measures read, wherever the file is
    protocol,
    planned: jobs.map(keyOf),
  });
  // a folder made before run.json recorded it: the same protocol (the key's hash holds it), recorded now
  if (dir.meta().protocol === undefined) dir.updateMeta({ protocol });
  // and one made before it recorded the settings not applied: the same generation_config (the key holds it)
  const stored = dir.meta().sampling;
  if (stored && typeof stored === "object" && !("unapplied" in stored)) {
    dir.updateMeta({ sampling: { ...stored, unapplied } });
  }
  // Ctrl-C (or SIGTERM, SIGHUP) before the runs (calibrating) or after them (the report): the lock goes, and the
  // line says where things stand; while the runs go, execute()'s handler says it with this invocation's throughput.
  const stopListening = onInterrupt((signal) => {
    dir.close();
    exitInterrupted(dir.done.size, jobs.length, out, signal);
  });
  const machine = machineName(here.machine), timedOn = calibratedOn(dir.meta());
  if (dir.meta().cost_model && timedOn !== machine) {
    console.error(
      `bench: this folder's cost model was calibrated on ${timedOn}, and this is ${machine}: the solo times of the ` +
        "records it adds are that machine's model's (a new --out calibrates here)",
    );
  }
  try {
    const pending = jobs.filter((j) => !dir.done.has(keyOf(j)));
    console.error(
      `bench: ${jobs.length} problem × method × seed records in ${out}; ${
        jobs.length - pending.length
      } already there, ${pending.length} to run`,
    );
    // Nothing left to run (a finished run again, or a shard with no problems: it merges as an empty shard).
    if (pending.length) {
      using cache = benchCache(engine, spec, pending, solver);
      const cost = await costModel(dir, engine, cache, spec, pending.length, { ...sampling, suppress: [] }, machine);
      await execute({
        engine,
        cache,
        dir,
        cost,
        solver,
        concurrency: spec.concurrency,
        jobs,
        pending,
        out,
        live,
        code,
      });
    }
    const files = await report(out, spec, dir.records(), dir.meta());
    console.error(`bench: wrote ${files.join(", ")} in ${out}`);
  } finally {
    await stopListening();
    dir.close();
    await code?.close();
  }
  if (spec.model === DEMO_MODEL) { // the demo's run: where to look next
    console.error(
      `The workers' steps, pass by pass:  deno task view ${out}\nA real model:  deno task bench --model ` +
        "Qwen/Qwen3-8B --task aime25 --methods hogwild:2,sequential --budgets 512:8192:512 --device cuda " +
        "--out results/qwen3-8b-aime25",
    );
  }
  if (live?.ended) console.error("bench: done; the viewer had stopped (said above): deno task view serves the folder");
  else if (live) {
    engine.dispose(); // the viewer may stay for hours: the weights' memory (a GPU's) back now, not at Ctrl-C
    console.error(`bench: done; the viewer stays at ${live.url} (Ctrl-C to stop)`);
    await new Promise(() => {});
  }
}

if (import.meta.main) runMain(() => bench(Deno.args));
