/**
 * The method registry (docs/methods.md, "Methods"): every family of methods, one file each under
 * harness/generation/methods/, listed in FAMILIES; and what the families share: a method's common shape, the readers of
 * an id's parts, and the run of workers over a layout (runSpec) that Hogwild! and the baselines are.
 * A method is data (its `Method`); its family's solver carries it out.
 */
import { type GenerationConfig, resolveSampling, type SamplingFlags } from "../../engine/config.ts";
import { check } from "../../engine/errors.ts";
import type { SamplingOptions } from "../../engine/sampler.ts";
import type { FinisherSettings } from "./finisher.ts";
import type { KVCache } from "../../engine/cache.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import type { Grading } from "../../tasks/problem.ts";
import { type AnswerFormat, BOXED } from "./answer_format.ts";
import {
  type CodeTexts,
  DEFAULT_NAMES,
  fieldTexts,
  type FileText,
  forbiddenIds,
  loadCodeTexts,
  loadProtocol,
  promptIds,
  promptsFile,
  type Protocol,
  protocolFile,
  renderTemplate,
  stepOpening,
  type TemplateFiles,
  templateOf,
  templateTexts,
} from "./prompts.ts";
import { type Layout, LAYOUTS, type ProtocolIds, reencodingSteps } from "./layouts.ts";
import { type FinisherMode, leastPositions, Run, type RunSpec } from "./run.ts";
import { problemSeed, type Solver } from "./solver.ts";
import { hogwild } from "./methods/hogwild.ts";
import { sequential } from "./methods/sequential.ts";
import { sc } from "./methods/sc.ts";
import { sot } from "./methods/sot.ts";
import { deepconf } from "./methods/deepconf.ts";
import { leap } from "./methods/leap.ts";
import { groupthink } from "./methods/groupthink.ts";

export { hogwildLayouts } from "./methods/hogwild.ts";

/**
 * Every family, in the order --help lists them. A function, read when first called: a family's file imports
 * this module and is evaluated before it, so at its top level a family may name this module's function
 * declarations (hoisted, as `solver: runSolver`) but call nothing of it; its hooks may use all of it.
 */
const FAMILIES = (): Family[] =>
  families ??= [
    family(hogwild),
    family(sequential),
    family(sc),
    family(sot),
    family(deepconf),
    family(leap),
    family(groupthink),
  ];
let families: Family[] | undefined;

/** What every method is: its one name, its workers, its family, and the settings of a run of workers over a layout. */
export interface Method {
  id: string;
  workers: number;
  /** its family's name (Family.name) */
  family: string;
  /** a name in LAYOUTS */
  layout: string;
  /** finished steps are written again after the history (the paper's "re-encode" ablation) */
  reencodeSteps: boolean;
  /** the collaboration text: its prompt template, headers, step prefixes and redundancy checks */
  collab: boolean;
  /** with the collaboration text, no redundancy checks (hogwild's `no-check`): the narrower reading of the paper's ablation */
  noChecks?: boolean;
  /** a worker ends at an end-of-sequence id; otherwise that id is never sampled and workers write to the budget */
  stopAtEos: boolean;
  /** the protocol's forbidden tokens (and BOS) are never sampled by workers */
  forbidTokens: boolean;
  earlyStop: boolean;
  finisher: FinisherMode;
}

/** What a family's check may read of the experiment (the bench's spec has these fields and more). */
export interface Experiment {
  /** the checkpoints, in forward passes */
  budgets: readonly number[];
  /** the user's text files by family name (--texts NAME=FILE) */
  texts?: Readonly<Record<string, string>>;
}

/**
 * A family of methods: one file under harness/generation/methods/ and one line in FAMILIES. `M` is its own method type:
 * the common fields and the family's own settings; its hooks get the method as its parser made it.
 */
export interface Family<M extends Method = Method> {
  /** the `family` of its methods */
  name: string;
  /** the first parts of the ids it reads (`hogwild` of `hogwild:2`) */
  prefixes: readonly string[];
  /** its spellings, as --help and error messages print them */
  grammar: () => string[];
  /** a method from any spelling of its id; parseMethod then refuses every spelling but the method's one name */
  parse: (id: MethodId) => M;
  /** the run of one problem */
  solver: (cache: KVCache, method: M, problem: string, seed: number, ctx: RunContext) => Solver;
  /** refuses the method under the experiment's settings (bench, before any work) */
  checkSpec?: (method: M, spec: Experiment) => void;
  /**
   * the most rows that sample in one pass of one run of it, under the experiment's settings (absent: its workers,
   * one row each): what the bench's calibration times a pass of (harness/bench/calibrate.ts)
   */
  passRows?: (method: M, spec: Experiment) => number;
  /**
   * the fewest positions a pass of its run of `problem` needs on the way to the last of `ctx.budgets`, its writers
   * writing to it: a lower bound (a run that could fit is never refused), which the bench holds against the
   * model's max_position_embeddings before any pass (harness/bench/context_check.ts)
   */
  minPositions: (method: M, problem: string, ctx: RunContext) => number;
  /** the viewer replays its workers' views pass by pass, over `method.layout` (harness/viewer/views.ts) */
  replaysViews: boolean;
  /**
   * what a writer reads of the other writers' text as they write: "all" (their tokens as written, or their steps
   * once finished: the collaboration judge's rubric tells the judge so), a few words saying what it reads, or absent:
   * nothing (independent writers). The judge names beside its table the methods whose writers do not read "all".
   */
  peersRead?: string;
  /**
   * its own texts, if it has any: the user's file (--texts NAME=FILE) or its default one (harness/generation/prompts/), read
   * and checked (a bad file refused naming it and the field); the run key holds what it returns
   */
  texts?: (file?: string) => unknown;
  /** the methods it brings to `--methods compare` (every family on one model, task and grid), for these budgets */
  compared?: (budgets: readonly number[]) => string[];
  /** it answers code tasks too: its texts and answers assume no boxed answer (the answer format decides) */
  codeTasks?: boolean;
  /**
   * its paths start from one prompt and differ only by their draws: decoded greedily, they are one text N times
   * (a vote of one path's answer at N times its cost), which the bench says aloud
   */
  samplesAlike?: boolean;
  /**
   * a checkpoint's vote counted again from its paths, where the record holds all the vote rests on (a plain
   * majority: rescore recounts it under today's grouping, voteKey of the problem's `grading`); undefined, or no
   * hook: it rests on what records do not keep (confidences), and stays as the run counted it
   */
  recountVote?: (method: M, paths: readonly (string | null)[], grading: Grading) => string | null | undefined;
  /**
   * its finisher reads a transcript of token ids that --finisher-input text can read as text (a run over a layout,
   * runSpec's): a family with a solver of its own reads blocks, not one transcript
   */
  transcriptFinisher?: boolean;
  /**
   * bumped when its runs write other records from the same inputs (absent: 1); the run key holds the versions
   * above 1 of its methods' families, so that no folder resumes across the change
   */
  version?: number;
  /**
   * why its runs depend on the grid's largest budget, not only on the budgets up to a checkpoint (a geometry laid
   * out by it): its checkpoint at budget b in a grid that ends at one budget is another run than at b in a grid that
   * ends at another, which compare and plot say where folders' grids end differently. Absent: a checkpoint is the
   * same whatever budgets follow it (tests/harness/generation/methods_test.ts holds every family to what it says)
   */
  gridEnd?: string;
}

/** A family behind the common type: its hooks get its own method, the family's own fields read again from the id. */
function family<M extends Method>(f: Family<M>): Family {
  const own = (m: Method): M => ({ ...f.parse(new MethodId(m.id)), ...m });
  const checkSpec = f.checkSpec, recountVote = f.recountVote, passRows = f.passRows;
  return {
    ...f,
    solver: (cache, m, problem, seed, ctx) => f.solver(cache, own(m), problem, seed, ctx),
    minPositions: (m, problem, ctx) => f.minPositions(own(m), problem, ctx),
    checkSpec: checkSpec && ((m, spec) => checkSpec(own(m), spec)),
    passRows: passRows && ((m, spec) => passRows(own(m), spec)),
    recountVote: recountVote && ((m, paths, grading) => recountVote(own(m), paths, grading)),
  };
}

/** A method's id in its parts, `name:count:options…`, with the readers the families' parsers share. */
export class MethodId {
  readonly name: string;
  /** the part after the first ":" (a count), if any */
  readonly n?: string;
  readonly opts: readonly string[];

  constructor(readonly id: string) {
    const [name, n, ...opts] = id.split(":");
    this.name = name, this.n = n, this.opts = opts;
  }

  /** the count after the name, in plain digits: 1..`most` (default 12: workers, a name each) */
  count(most = DEFAULT_NAMES.length, noun = "worker count"): number {
    const k = /^[1-9][0-9]*$/.test(this.n ?? "") ? Number(this.n) : NaN;
    check(k >= 1 && k <= most, `method ${this.id}: ${this.name} needs a ${noun} 1..${most} (e.g. ${this.name}:2)`);
    return k;
  }

  /**
   * The flags given (words of `known`), in `known`'s order; settings (`name=value`, names of `settings`) are read
   * by setting() and integer(). Every option known and each at most once.
   */
  options(known: readonly string[], settings: readonly string[] = []): string[] {
    const opts = this.opts, id = this.id, keys = opts.map(settingName);
    for (const k of keys) check(keys.indexOf(k) === keys.lastIndexOf(k), `method ${id}: option "${k}" given twice`);
    const all = [...known, ...settings.map((s) => `${s}=…`)].join(", ");
    for (const o of opts) {
      check(
        o.includes("=") ? settings.includes(settingName(o)) : known.includes(o),
        `method ${id}: unknown option "${o}"; options: ${all}`,
      );
    }
    return known.filter((o) => opts.includes(o)); // the grammar's order
  }

  /** the text of setting `name` (`name=value`), if given */
  setting(name: string): string | undefined {
    const o = this.opts.find((o) => o.includes("=") && settingName(o) === name);
    return o?.slice(name.length + 1);
  }

  /** setting `name` as one of `values`; `dflt` when it is not given */
  choice<T extends string>(name: string, values: readonly T[], dflt: T): T {
    const v = this.setting(name);
    if (v === undefined) return dflt;
    check(
      (values as readonly string[]).includes(v),
      `method ${this.id}: ${name} must be ${values.slice(0, -1).join(", ")} or ${values.at(-1)}, got "${v}"`,
    );
    return v as T;
  }

  /** setting `name` as a whole number in lo..hi written in plain digits; `dflt` when it is not given */
  integer(name: string, dflt: number, lo: number, hi: number): number {
    const v = this.setting(name);
    if (v === undefined) return dflt;
    const x = /^(0|[1-9][0-9]*)$/.test(v) ? Number(v) : NaN;
    check(x >= lo && x <= hi, `method ${this.id}: ${name} must be an integer in ${lo}..${hi}, got "${v}"`);
    return x;
  }
}

/**
 * Where a path of independent writers ends (`stop=`, one spelling in every family that takes it): `box`, at its
 * first finished step holding an answer (the Hogwild! paper's early stop, its code's should_finish_reasoning);
 * `end`, at its end of sequence or the budget, its answer at a checkpoint the last one it has written so far (as
 * code that reads a trace's whole text for its answer does).
 */
export const STOPS = ["box", "end"] as const;
export type Stop = typeof STOPS[number];

/**
 * The `stop=` setting of id `p` (`dflt` where not given): whether its paths stop at their first box
 * (Method.earlyStop), and the id's part (none for the default; each family writes it last).
 */
export function stopSetting(p: MethodId, dflt: Stop): { earlyStop: boolean; id: string[] } {
  const stop = p.choice("stop", STOPS, dflt);
  return { earlyStop: stop === "box", id: stop === dflt ? [] : [`stop=${stop}`] };
}

/** Refuses methods that cannot answer a code task when the run has one (bench, before any work). */
export function checkCodeTasks(methods: readonly Method[], codeTask: string | undefined): void {
  if (codeTask === undefined) return;
  const able = FAMILIES().filter((f) => f.codeTasks).map((f) => f.name);
  for (const m of methods) {
    check(
      able.includes(m.family),
      `method ${m.id}: its texts ask for a boxed answer; task ${codeTask} (a code task) runs with the families ` +
        able.join(", "),
    );
  }
}

/**
 * Refuses, under --finisher-input text, a method whose finisher reads no transcript of ids (bench, before any
 * work): a fork finisher reads the workers' blocks, a family of its own solver its own blocks (one with no
 * finisher is left as it is).
 */
export function checkFinisherInput(methods: readonly Method[], input: FinisherInput): void {
  if (input === "ids") return;
  for (const m of methods) {
    check(
      m.finisher === "none" || (familyOf(m).transcriptFinisher === true && m.finisher === "reencode"),
      `method ${m.id}: --finisher-input text re-encodes a transcript of ids, and ${
        m.finisher === "fork" ? "its fork finisher reads the workers' blocks" : "its finisher reads no such transcript"
      }; run it without the flag`,
    );
  }
}

/**
 * `--methods compare`: each family's methods for the comparison of them all, in the registry's order; on a code
 * task, those of the families that answer code tasks.
 */
export const comparedMethods = (budgets: readonly number[], code = false): string[] =>
  FAMILIES().filter((f) => !code || f.codeTasks).flatMap((f) => f.compared?.(budgets) ?? []);

const settingName = (o: string) => (o.includes("=") ? o.slice(0, o.indexOf("=")) : o);

/** Every method name and option, as --help and errors print it. */
export const methodGrammar = (): string[] => FAMILIES().flatMap((f) => f.grammar());

/** The baselines' shape: independent writers under the plain prompt, free to stop. */
export function baseline(
  family: string,
  id: string,
  workers: number,
  earlyStop: boolean,
  finisher: FinisherMode,
): Method {
  return {
    id,
    workers,
    family,
    layout: "independent",
    reencodeSteps: false,
    collab: false,
    stopAtEos: true,
    forbidTokens: false,
    earlyStop,
    finisher,
  };
}

/**
 * A method by its id. Each method has one name: options in the grammar's order, each at most once, defaults
 * left out (`hogwild:2`, not `hogwild:2:combined`), counts in plain digits; any other spelling is refused with
 * the one to use, so that a method cannot run twice under two names.
 */
export function parseMethod(id: string): Method {
  const p = new MethodId(id);
  const f = FAMILIES().find((f) => f.prefixes.includes(p.name));
  check(f, `unknown method "${id}"; methods: ${methodGrammar().join(", ")}`);
  const m = f.parse(p);
  check(m.id === id, `method ${id}: write it as ${m.id} (each method has one name)`);
  return m;
}

function familyOf(method: Method): Family {
  const f = FAMILIES().find((f) => f.name === method.family);
  check(f, `method ${method.id}: unknown family "${method.family}"`);
  return f;
}

/** The solver of `method` for a problem's text, with seed `seed`, on `cache`. */
export function newSolver(cache: KVCache, method: Method, problem: string, seed: number, ctx: RunContext): Solver {
  return familyOf(method).solver(cache, method, problem, problemSeed(seed, problem), ctx);
}

/** Every family's name, in the registry's order. */
export const familyNames = (): string[] => FAMILIES().map((f) => f.name);

/** The family of method id `id` (its first part, as MethodId reads it), undefined for one no family reads. */
export function familyName(id: string): string | undefined {
  return FAMILIES().find((f) => f.prefixes.includes(id.split(":")[0]))?.name;
}

/**
 * What a writer of method `id` reads of the other writers' text as they write (its family's `peersRead`): "all", a
 * few words, "nothing"; undefined for an id no family reads (a method of an older folder: nothing known to say).
 */
export function peersRead(id: string): string | undefined {
  const name = familyName(id);
  const f = FAMILIES().find((f) => f.name === name);
  return f && (f.peersRead ?? "nothing");
}

/** The versions above 1 of the families of `methods`, by family name (the run key's `methods_version`). */
export function familyVersions(methods: readonly Method[]): Record<string, number> {
  const used = FAMILIES().filter((f) => (f.version ?? 1) > 1 && methods.some((m) => m.family === f.name));
  return Object.fromEntries(used.map((f) => [f.name, f.version!]));
}

/**
 * Why method `id`'s runs depend on the grid's largest budget (its family's `gridEnd`), or undefined where they do
 * not, or where no family reads the id (a method of an older folder: nothing known to say).
 */
export function gridEndDependence(id: string): string | undefined {
  const name = familyName(id);
  return FAMILIES().find((f) => f.name === name)?.gridEnd;
}

/** The methods of `ids` whose paths are one text N times when the writers decode greedily (Family.samplesAlike). */
export function alikeWhenGreedy(ids: readonly string[]): string[] {
  return ids.filter((id) => {
    const m = parseMethod(id);
    return m.workers > 1 && familyOf(m).samplesAlike === true;
  });
}

/**
 * Method `id`'s vote counted again from a checkpoint's paths of a problem graded as `grading` (Family.recountVote);
 * undefined: it cannot be.
 */
export function recountedVote(
  id: string,
  paths: readonly (string | null)[],
  grading: Grading,
): string | null | undefined {
  const m = parseMethod(id);
  return familyOf(m).recountVote?.(m, paths, grading);
}

/** Refuses `method` under the experiment's settings (its family's check), before any work. */
export function checkMethod(method: Method, spec: Experiment): void {
  familyOf(method).checkSpec?.(method, spec);
}

/** The most rows that sample in one pass of one run of `method` (its family's passRows, else its workers). */
export function passRows(method: Method, spec: Experiment): number {
  return familyOf(method).passRows?.(method, spec) ?? method.workers;
}

/** The fewest positions a pass of `method`'s run of `problem` needs by the last of `ctx.budgets` (its family's bound). */
export function minPositions(method: Method, problem: string, ctx: RunContext): number {
  return familyOf(method).minPositions(method, problem, ctx);
}

/** Whether the viewer replays the workers' views of `method`'s runs (workers over its layout). */
export function replaysViews(method: Method): boolean {
  return familyOf(method).replaysViews;
}

/** What every run of an experiment shares: the model's texts and settings. */
export interface RunContext extends TemplateFiles {
  tokenizer: TextTokenizer;
  generation: GenerationConfig;
  protocol?: Protocol;
  names?: string[];
  budgets: number[];
  finisherTokens: number;
  redundancyEvery?: number;
  /** the sampling settings named (each one left out: the model's generation_config's; see resolveSampling) */
  sampling?: SamplingFlags;
  /** each family's own texts by its name, as familyTexts read them (default: its own file) */
  texts?: Readonly<Record<string, unknown>>;
  /** how the problem's answer is written (default: boxed) */
  answer?: AnswerFormat;
  /** the code tasks' protocol text (default: harness/generation/prompts/code.json) */
  codeTexts?: CodeTexts;
  /** what the finisher reads: the writers' ids joined (default), or their text encoded again (--finisher-input) */
  finisherInput?: FinisherInput;
}

/** --finisher-input: the writers' ids joined, or the official code's re-encode of the transcript's text. */
export const FINISHER_INPUTS = ["ids", "text"] as const;
export type FinisherInput = typeof FINISHER_INPUTS[number];

/** The text that ends the finisher's transcript, opening the answer in the problem's format. */
export function finisherCue(ctx: RunContext, protocol: Protocol): string {
  return ctx.answer?.id === "code" ? (ctx.codeTexts ?? loadCodeTexts()).finisherSuffix : protocol.finisherSuffix;
}

/** The names of the families that have texts of their own (--texts NAME=FILE). */
export const textFamilies = (): string[] => FAMILIES().filter((f) => f.texts).map((f) => f.name);

/**
 * The texts of each family of `methods` that has its own, by family name: `files`' (--texts) or its default file's.
 * A file for a family that none of the methods belongs to is refused (it would change nothing).
 */
export function familyTexts(
  methods: readonly Method[],
  files: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  const used = FAMILIES().filter((f) => f.texts && methods.some((m) => m.family === f.name));
  for (const name of Object.keys(files)) {
    check(
      used.some((f) => f.name === name),
      `--texts ${name}=${files[name]}: no method of the run is of family ${name}`,
    );
  }
  return Object.fromEntries(used.map((f) => [f.name, f.texts!(files[f.name])]));
}

/**
 * Every text a run's files give the model as written, each named by its file (and field): the protocol's, the
 * templates for each answer format's suffix, the code texts, and each family's (`families` as familyTexts read
 * them, from `familyFiles` or NAME.json of harness/generation/prompts/). What the commands check against the
 * model's tokenizer once it is known.
 */
export function runTexts(o: {
  protocol: Protocol;
  protocolFile?: string;
  templates: TemplateFiles;
  suffixes: readonly string[];
  codeTexts?: CodeTexts;
  families?: Readonly<Record<string, unknown>>;
  familyFiles?: Readonly<Record<string, string>>;
}): FileText[] {
  return [
    ...fieldTexts(protocolFile(o.protocolFile), o.protocol),
    ...templateTexts(o.templates, o.suffixes),
    ...(o.codeTexts ? fieldTexts(promptsFile("code.json"), o.codeTexts) : []),
    ...Object.entries(o.families ?? {}).flatMap(([name, texts]) =>
      fieldTexts(promptsFile(`${name}.json`, o.familyFiles?.[name]), texts as object)
    ),
  ];
}

/** A family's texts in a run: those the bench read (familyTexts), else its default file's. */
export function textsOf<T>(ctx: RunContext, family: string, load: (file?: string) => T): T {
  return (ctx.texts?.[family] as T | undefined) ?? load();
}

export function protocolIds(tok: TextTokenizer, p: Protocol, finisherSuffix = p.finisherSuffix): ProtocolIds {
  return {
    othersHeader: tok.encode(p.othersHeader),
    ownHeader: tok.encode(p.ownHeader),
    marker: tok.encode(p.marker),
    finisherSuffix: tok.encode(finisherSuffix),
    // the first step's opening encoded with its prefix, and the check with the prefix it follows: the tokens a
    // model would write across the two ("**" " Quick", not "**" " " "Quick")
    stepPrefix: (name, step) => tok.encode(stepOpening(p, name, step)),
    checkedPrefix: (name, step) => tok.encode(stepOpening(p, name, step) + p.redundancyCheck),
  };
}

/** The writers' sampling: the settings the context names, the rest the model's generation_config's. */
export function runSampling(ctx: RunContext): Omit<SamplingOptions, "suppress"> {
  return resolveSampling(ctx.generation, ctx.sampling);
}

/**
 * What a family's own run (a Solver subclass of its own, not a Run over a layout) takes from the
 * experiment as every such run does: its writers' sampling and stops, the checkpoints, the finisher and the
 * protocol's transcript ends.
 */
export interface OwnRunSettings {
  sampling: SamplingOptions;
  seed: number;
  /** ids that end a writer (not written) */
  stopIds: number[];
  /** checkpoints, in passes, ascending */
  budgets: number[];
  finisher: FinisherSettings;
  /** after each unfinished text in the finisher's transcript */
  marker: number[];
  finisherSuffix: number[];
  decoder: () => (id: number) => string;
}

export function ownRunSettings(ctx: RunContext, seed: number): OwnRunSettings {
  const tok = ctx.tokenizer, eos = ctx.generation.eosTokenIds, protocol = ctx.protocol ?? loadProtocol();
  return {
    sampling: { ...runSampling(ctx), suppress: [] },
    seed,
    stopIds: eos,
    budgets: ctx.budgets,
    finisher: {
      eosIds: eos,
      maxTokens: ctx.finisherTokens,
      suppress: [],
      decoder: () => tok.decoder(),
      format: ctx.answer ?? BOXED,
    },
    marker: tok.encode(protocol.marker),
    finisherSuffix: tok.encode(finisherCue(ctx, protocol)),
    decoder: () => tok.decoder(),
  };
}

/**
 * The bound of a family of workers over a layout whose workers all write from the first pass: the largest view
 * by the last budget's pass (leastPositions).
 */
export function runPositions(method: Method, problem: string, ctx: RunContext): number {
  return leastPositions(runSpec(method, problem, 0, ctx), ctx.budgets[ctx.budgets.length - 1]);
}

/** The solver of a family of workers over a layout (Hogwild! and the baselines): a Run of runSpec. */
export function runSolver(cache: KVCache, method: Method, problem: string, seed: number, ctx: RunContext): Solver {
  return new Run(cache, runSpec(method, problem, seed, ctx));
}

/** The layout `method`'s workers run over: the one it names, its steps re-encoded under `reencode-steps`. */
export function methodLayout(method: Method): Layout {
  const layout = LAYOUTS[method.layout];
  check(layout, `method ${method.id}: unknown layout "${method.layout}"; layouts: ${Object.keys(LAYOUTS).join(", ")}`);
  return method.reencodeSteps ? reencodingSteps(layout) : layout;
}

/** The run of `method` on a problem's text, with seed `seed`. */
export function runSpec(method: Method, problem: string, seed: number, ctx: RunContext): RunSpec {
  const tok = ctx.tokenizer, g = ctx.generation;
  const protocol = ctx.protocol ?? loadProtocol();
  const names = (ctx.names ?? DEFAULT_NAMES).slice(0, method.workers);
  check(
    names.length === method.workers,
    `method ${method.id}: ${method.workers} workers but only ${names.length} names`,
  );
  const answer = ctx.answer ?? BOXED;
  const template = templateOf(method.collab ? "collab" : "plain", ctx, answer.templateSuffix);
  const eos = g.eosTokenIds;
  const forbidden = [
    ...(method.forbidTokens
      ? [...forbiddenIds(tok, protocol.forbidden).ids, ...(g.bosTokenId !== undefined ? [g.bosTokenId] : [])]
      : []),
    ...(method.stopAtEos ? [] : eos),
  ];
  const layout = methodLayout(method);
  return {
    prompt: promptIds(tok, renderTemplate(template, problem, names)),
    workers: names,
    layout,
    collab: method.collab,
    redundancyEvery: method.collab && !method.noChecks ? ctx.redundancyEvery ?? 1024 : 0,
    sampling: { ...runSampling(ctx), suppress: [...new Set(forbidden)] },
    seed,
    stopIds: method.stopAtEos ? eos : [],
    eosIds: eos,
    budgets: ctx.budgets,
    earlyStop: method.earlyStop,
    finisher: method.finisher,
    finisherTokens: ctx.finisherTokens,
    finisherSuppress: [],
    decoder: () => tok.decoder(),
    ids: protocolIds(tok, protocol, finisherCue(ctx, protocol)),
    // a method with no finisher (sequential-no-early-stop) reads nothing either way
    ...(ctx.finisherInput === "text" && method.finisher === "reencode"
      ? {
        finisherText: {
          encode: (s) => tok.encode(s),
          decode: (ids) => tok.decode(ids),
          suffix: finisherCue(ctx, protocol),
        },
      }
      : {}),
    answer,
  };
}
