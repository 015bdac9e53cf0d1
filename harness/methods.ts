/**
 * Methods by name, and the run a method makes for a problem:
 *   hogwild:N[:combined|contiguous|interleaved][:fork][:no-collab][:reencode-steps]  N workers over the shared
 *                              cache (reencode-steps: the paper's "re-encode" ablation, see run.ts)
 *   sequential                 one worker, the plain prompt, the finisher at checkpoints
 *   sequential-no-early-stop   one worker, only answers the model gave itself count
 *   sc:N[:fork]                self-consistency: N independent workers that share only the prompt; the answer
 *                              from the concatenated traces (finisher), and by majority vote
 *   sot[:N]                    Skeleton-of-Thought: a plan, its points worked out in parallel (all at once, or N
 *                              rows a pass in turns), then one writer goes on after all of it (sot.ts)
 */
import type { GenerationConfig } from "../engine/config.ts";
import { check } from "../engine/errors.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import type { KVCache } from "../engine/cache.ts";
import type { TextTokenizer } from "../engine/tokenizer.ts";
import {
  DEFAULT_NAMES, loadProtocol, loadSot, loadTemplate, promptIds, type Protocol, renderTemplate, singleTokenIds, type SotTexts,
} from "./prompts.ts";
import { type FinisherMode, type Layout, type ProtocolIds, Run, type RunSpec } from "./run.ts";
import type { Solver } from "./schedule.ts";
import { type SotSpec, SotRun } from "./sot.ts";

export interface Method {
  id: string;
  workers: number;
  layout: Layout;
  collab: boolean;
  reencodeSteps: boolean;
  earlyStop: boolean;
  finisher: FinisherMode;
  prompt: "collab" | "plain";
  /** Skeleton-of-Thought: its points' rows per pass (0: all) */
  sot?: { threadsPerPass: number };
}

const LAYOUTS = ["combined", "contiguous", "interleaved"];

export function parseMethod(id: string): Method {
  const [name, n, ...opts] = id.split(":");
  const count = (what: string) => {
    const k = Number(n);
    check(Number.isInteger(k) && k >= 1 && k <= DEFAULT_NAMES.length, `method ${id}: ${what} needs a worker count 1..${DEFAULT_NAMES.length} (e.g. ${name}:2)`);
    return k;
  };
  if (name === "sequential" || name === "sequential-no-early-stop") {
    check(n === undefined, `method ${id}: sequential takes no options`);
    const early = name === "sequential";
    return { id, workers: 1, layout: "independent", collab: false, reencodeSteps: false, earlyStop: early, finisher: early ? "reencode" : "none", prompt: "plain" };
  }
  if (name === "sc") {
    for (const o of opts) check(o === "fork", `method ${id}: unknown option "${o}" (sc takes :fork)`);
    return { id, workers: count("sc"), layout: "independent", collab: false, reencodeSteps: false, earlyStop: true, finisher: opts.includes("fork") ? "fork" : "reencode", prompt: "plain" };
  }
  if (name === "sot") {
    check(opts.length === 0, `method ${id}: sot takes only a thread count (sot or sot:N)`);
    const threads = n === undefined ? 0 : count("sot");
    return {
      id, workers: Math.max(threads, 1), layout: "independent", collab: false, reencodeSteps: false, earlyStop: true, finisher: "reencode", prompt: "plain",
      sot: { threadsPerPass: threads },
    };
  }
  if (name === "hogwild") {
    const m: Method = { id, workers: count("hogwild"), layout: "combined", collab: true, reencodeSteps: false, earlyStop: true, finisher: "reencode", prompt: "collab" };
    for (const o of opts) {
      if (LAYOUTS.includes(o)) m.layout = o as Layout;
      else if (o === "fork") m.finisher = "fork";
      else if (o === "no-collab") (m.collab = false, m.prompt = "plain"); // no collaboration text at all
      else if (o === "reencode-steps") m.reencodeSteps = true;
      else check(false, `method ${id}: unknown option "${o}"; options: ${[...LAYOUTS, "fork", "no-collab", "reencode-steps"].join(", ")}`);
    }
    check(!m.reencodeSteps || (m.collab && m.layout !== "contiguous"), `method ${id}: reencode-steps needs a history (combined or interleaved) and the collaboration text`);
    return m;
  }
  check(false, `unknown method "${id}"; methods: hogwild:N[:layout][:fork][:no-collab][:reencode-steps], sequential, sequential-no-early-stop, sc:N[:fork], sot[:N]`);
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
    stepPrefix: (name, step) => tok.encode(p.stepPrefix.replaceAll("{name}", name).replaceAll("{step}", String(step))),
  };
}

/** The writers' sampling: the context's, else the model's generation_config (greedy when it does not sample). */
function runSampling(ctx: RunContext): Omit<SamplingOptions, "suppress"> {
  const g = ctx.generation;
  return ctx.sampling ?? (g.doSample ? { temperature: g.temperature, topK: g.topK, topP: g.topP, minP: g.minP } : { temperature: 0, topK: 0, topP: 1, minP: 0 });
}

/** The solver of `method` for a problem's text, with seed `seed`, on `cache`. */
export function newSolver(cache: KVCache, method: Method, problem: string, seed: number, ctx: RunContext): Solver {
  return method.sot ? new SotRun(cache, sotSpec(method, problem, seed, ctx)) : new Run(cache, runSpec(method, problem, seed, ctx));
}

/** KV tokens one run of `method` may hold at once, with budgets up to `maxBudget` passes. */
export function kvTokensPerRun(method: Method, maxBudget: number, ctx: { sot?: SotTexts } = {}): number {
  if (!method.sot) return 4096 + method.workers * 2 * (maxBudget + 256);
  const t = ctx.sot ?? loadSot();
  // prompts, each point's prompt and work, the work re-encoded for the continuation (or the finisher), its budget
  return 4096 + t.outlineTokens + t.maxPoints * (2048 + 2 * t.pointTokens) + 2 * maxBudget;
}

/** Skeleton-of-Thought's run of a problem. */
export function sotSpec(method: Method, problem: string, seed: number, ctx: RunContext): SotSpec {
  const tok = ctx.tokenizer, g = ctx.generation, t = ctx.sot ?? loadSot();
  const protocol = ctx.protocol ?? loadProtocol();
  const fill = (text: string, vars: Record<string, string>) => Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{{${k}}}`, v), text);
  const outlineStartIds = tok.encode(t.outlineStart);
  const sampling = runSampling(ctx);
  return {
    outlinePrompt: [...promptIds(tok, fill(t.outline, { problem })), ...outlineStartIds],
    outlineStart: t.outlineStart,
    outlineStartIds,
    pointPrompt: (outline, k, point) => promptIds(tok, fill(t.point, { problem, outline, k: String(k), point })),
    mainPrompt: promptIds(tok, renderTemplate(loadTemplate("plain", ctx.plainTemplate), problem, [])),
    resume: tok.encode(t.resume),
    pointHeader: (k, point) => tok.encode(fill(t.pointHeader, { k: String(k), point })),
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
  check(names.length === method.workers, `method ${method.id}: ${method.workers} workers but only ${names.length} names`);
  const template = loadTemplate(method.prompt, method.prompt === "collab" ? ctx.collabTemplate : ctx.plainTemplate);
  const eos = g.eosTokenIds;
  // Hogwild! workers can neither end their turn nor close their reasoning; the baselines may stop at EOS.
  const forbidden = method.prompt === "collab" ? [...singleTokenIds(tok, protocol.forbidden), ...eos, ...(g.bosTokenId !== undefined ? [g.bosTokenId] : [])] : [];
  const sampling = runSampling(ctx);
  return {
    prompt: promptIds(tok, renderTemplate(template, problem, names)),
    workers: names,
    layout: method.layout,
    collab: method.collab,
    reencodeSteps: method.reencodeSteps,
    redundancyEvery: method.collab ? ctx.redundancyEvery ?? 1024 : 0,
    sampling: { ...sampling, suppress: [...new Set(forbidden)] },
    seed,
    stopIds: method.prompt === "collab" ? [] : eos,
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
