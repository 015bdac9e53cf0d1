/**
 * Methods by name (the grammar: methodGrammar; docs/methods.md, "Methods"), and the run a method makes for a problem.
 * A method is data: which layout, which texts, which stops; run.ts and sot.ts carry them out.
 */
import type { GenerationConfig } from "../engine/config.ts";
import { check } from "../engine/errors.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import type { KVCache } from "../engine/cache.ts";
import type { TextTokenizer } from "../engine/tokenizer.ts";
import {
  DEFAULT_NAMES,
  fillTemplate,
  loadProtocol,
  loadSot,
  loadTemplate,
  promptIds,
  type Protocol,
  renderTemplate,
  singleTokenIds,
  type SotTexts,
} from "./prompts.ts";
import { LAYOUTS, type ProtocolIds, reencodingSteps } from "./layouts.ts";
import { type FinisherMode, Run, type RunSpec } from "./run.ts";
import type { Solver } from "./solver.ts";
import { SotRun, type SotSpec } from "./sot.ts";

/**
 * Hogwild!'s layouts: every one in LAYOUTS whose workers write one shared page (a new one needs no entry here);
 * combined, the default, first.
 */
export const hogwildLayouts = (): string[] =>
  Object.keys(LAYOUTS).filter((k) => LAYOUTS[k].sharedAnswer)
    .sort((a, b) => Number(b === "combined") - Number(a === "combined"));

/** Every method name and option, as --help and errors print it. */
export const methodGrammar = (): string[] => [
  `hogwild:N[:${hogwildLayouts().slice(1).join("|")}][:fork][:no-collab][:reencode-steps]`,
  "sequential",
  "sequential-no-early-stop",
  "sc:N[:fork]",
  "sot[:N]",
];

export interface Method {
  id: string;
  workers: number;
  /** a name in LAYOUTS */
  layout: string;
  /** finished steps are written again after the history (the paper's "re-encode" ablation) */
  reencodeSteps: boolean;
  /** the collaboration text: its prompt template, headers, step prefixes and redundancy checks */
  collab: boolean;
  /** a worker ends at an end-of-sequence id; otherwise that id is never sampled and workers write to the budget */
  stopAtEos: boolean;
  /** the protocol's forbidden tokens (and BOS) are never sampled by workers */
  forbidTokens: boolean;
  earlyStop: boolean;
  finisher: FinisherMode;
  /** Skeleton-of-Thought: its points' rows per pass (0: all) */
  sot?: { threadsPerPass: number };
}

const HOGWILD_FLAGS = ["fork", "no-collab", "reencode-steps"];

/** The baselines' shape: independent writers under the plain prompt, free to stop. */
function baseline(id: string, workers: number, earlyStop: boolean, finisher: FinisherMode): Method {
  return {
    id,
    workers,
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
  const m = parseAnySpelling(id);
  check(m.id === id, `method ${id}: write it as ${m.id} (each method has one name)`);
  return m;
}

function parseAnySpelling(id: string): Method {
  const [name, n, ...opts] = id.split(":");
  const count = (what: string) => {
    const k = /^[1-9][0-9]?$/.test(n ?? "") ? Number(n) : NaN;
    check(
      k >= 1 && k <= DEFAULT_NAMES.length,
      `method ${id}: ${what} needs a worker count 1..${DEFAULT_NAMES.length} (e.g. ${name}:2)`,
    );
    return k;
  };
  const once = (known: readonly string[]) => {
    for (const o of opts) check(opts.indexOf(o) === opts.lastIndexOf(o), `method ${id}: option "${o}" given twice`);
    for (const o of opts) check(known.includes(o), `method ${id}: unknown option "${o}"; options: ${known.join(", ")}`);
    return known.filter((o) => opts.includes(o)); // the grammar's order
  };
  if (name === "sequential" || name === "sequential-no-early-stop") {
    check(n === undefined, `method ${id}: sequential takes no options`);
    const early = name === "sequential";
    return baseline(name, 1, early, early ? "reencode" : "none");
  }
  if (name === "sc") {
    const k = count("sc"), fork = once(["fork"]).length > 0;
    // One sample voted on by itself is sequential's run.
    return baseline(
      k === 1 && !fork ? "sequential" : `sc:${k}${fork ? ":fork" : ""}`,
      k,
      true,
      fork ? "fork" : "reencode",
    );
  }
  if (name === "sot") {
    check(opts.length === 0, `method ${id}: sot takes only a thread count (sot or sot:N)`);
    const threads = n === undefined ? 0 : count("sot");
    return {
      ...baseline(threads ? `sot:${threads}` : "sot", Math.max(threads, 1), true, "reencode"),
      sot: { threadsPerPass: threads },
    };
  }
  if (name === "hogwild") {
    const shared = hogwildLayouts();
    const workers = count("hogwild"), given = once([...shared, ...HOGWILD_FLAGS]);
    const layouts = given.filter((o) => shared.includes(o));
    check(layouts.length <= 1, `method ${id}: one layout at most (${layouts.join(", ")} given)`);
    const layout = layouts[0] ?? "combined";
    const flags = given.filter((o) => HOGWILD_FLAGS.includes(o));
    // The no-collab ablation drops only the text: workers still never stop on their own or write forbidden tokens.
    const m: Method = {
      // One worker has no others to lay out: every layout is the same run, named hogwild:1.
      id: ["hogwild", String(workers), ...(layout === "combined" || workers === 1 ? [] : [layout]), ...flags].join(":"),
      workers,
      layout,
      reencodeSteps: flags.includes("reencode-steps"),
      collab: !flags.includes("no-collab"),
      stopAtEos: false,
      forbidTokens: true,
      earlyStop: true,
      finisher: flags.includes("fork") ? "fork" : "reencode",
    };
    check(
      !m.reencodeSteps || (m.collab && LAYOUTS[m.layout].chain),
      `method ${id}: reencode-steps needs a history (${
        shared.filter((l) => LAYOUTS[l].chain).join(" or ")
      }) and the collaboration text`,
    );
    return m;
  }
  check(false, `unknown method "${id}"; methods: ${methodGrammar().join(", ")}`);
}

/** What every run of an experiment shares: the model's texts and settings. */
export interface RunContext {
  tokenizer: TextTokenizer;
  generation: GenerationConfig;
  protocol?: Protocol;
  /** prompt template files (default: harness/prompts/*.txt) */
  collabTemplate?: string;
  plainTemplate?: string;
  names?: string[];
  budgets: number[];
  finisherTokens: number;
  redundancyEvery?: number;
  /** sampling (default: the model's generation_config; greedy when it does not sample) */
  sampling?: Omit<SamplingOptions, "suppress">;
  /** Skeleton-of-Thought's texts (default: harness/prompts/sot.json) */
  sot?: SotTexts;
}

export function protocolIds(tok: TextTokenizer, p: Protocol): ProtocolIds {
  return {
    othersHeader: tok.encode(p.othersHeader),
    ownHeader: tok.encode(p.ownHeader),
    marker: tok.encode(p.marker),
    finisherSuffix: tok.encode(p.finisherSuffix),
    redundancyCheck: tok.encode(p.redundancyCheck),
    stepPrefix: (name, step) => tok.encode(fillTemplate(p.stepPrefix, { name, step: String(step) }, "{", "}")),
  };
}

/** The writers' sampling: the context's, else the model's generation_config (greedy when it does not sample). */
function runSampling(ctx: RunContext): Omit<SamplingOptions, "suppress"> {
  const g = ctx.generation;
  return ctx.sampling ??
    (g.doSample
      ? { temperature: g.temperature, topK: g.topK, topP: g.topP, minP: g.minP }
      : { temperature: 0, topK: 0, topP: 1, minP: 0 });
}

/** The solver of `method` for a problem's text, with seed `seed`, on `cache`. */
export function newSolver(cache: KVCache, method: Method, problem: string, seed: number, ctx: RunContext): Solver {
  return method.sot
    ? new SotRun(cache, sotSpec(method, problem, seed, ctx))
    : new Run(cache, runSpec(method, problem, seed, ctx));
}

/** Skeleton-of-Thought's run of a problem. */
export function sotSpec(method: Method, problem: string, seed: number, ctx: RunContext): SotSpec {
  const tok = ctx.tokenizer, g = ctx.generation, t = ctx.sot ?? loadSot();
  const protocol = ctx.protocol ?? loadProtocol();
  const outlineStartIds = tok.encode(t.outlineStart);
  const sampling = runSampling(ctx);
  return {
    outlinePrompt: [...promptIds(tok, fillTemplate(t.outline, { problem })), ...outlineStartIds],
    outlineStart: t.outlineStart,
    outlineStartIds,
    pointPrompt: (outline, k, point) =>
      promptIds(tok, fillTemplate(t.point, { problem, outline, k: String(k), point })),
    mainPrompt: promptIds(tok, renderTemplate(loadTemplate("plain", ctx.plainTemplate), problem, [])),
    resume: tok.encode(t.resume),
    pointHeader: (k, point) => tok.encode(fillTemplate(t.pointHeader, { k: String(k), point })),
    join: tok.encode(t.join),
    threadsPerPass: method.sot!.threadsPerPass,
    outlineTokens: t.outlineTokens,
    pointTokens: t.pointTokens,
    maxPoints: t.maxPoints,
    sampling: { ...sampling, suppress: [] },
    seed,
    stopIds: g.eosTokenIds,
    budgets: ctx.budgets,
    finisher: { eosIds: g.eosTokenIds, maxTokens: ctx.finisherTokens, suppress: [], decoder: () => tok.decoder() },
    marker: tok.encode(protocol.marker),
    finisherSuffix: tok.encode(protocol.finisherSuffix),
    decoder: () => tok.decoder(),
  };
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
  const template = method.collab
    ? loadTemplate("collab", ctx.collabTemplate)
    : loadTemplate("plain", ctx.plainTemplate);
  const eos = g.eosTokenIds;
  const forbidden = [
    ...(method.forbidTokens
      ? [...singleTokenIds(tok, protocol.forbidden), ...(g.bosTokenId !== undefined ? [g.bosTokenId] : [])]
      : []),
    ...(method.stopAtEos ? [] : eos),
  ];
  const layout = LAYOUTS[method.layout];
  check(layout, `method ${method.id}: unknown layout "${method.layout}"; layouts: ${Object.keys(LAYOUTS).join(", ")}`);
  return {
    prompt: promptIds(tok, renderTemplate(template, problem, names)),
    workers: names,
    layout: method.reencodeSteps ? reencodingSteps(layout) : layout,
    collab: method.collab,
    redundancyEvery: method.collab ? ctx.redundancyEvery ?? 1024 : 0,
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
    ids: protocolIds(tok, protocol),
  };
}
