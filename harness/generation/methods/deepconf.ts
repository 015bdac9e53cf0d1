/**
 * DeepConf (Fu et al., "Deep Think with Confidence", arXiv 2508.15260; docs/methods.md, "DeepConf"): N
 * independent traces under the plain prompt, as self-consistency's, whose rows also ask for their top-k
 * log-probabilities; each trace's confidence (confidence.ts) filters and weighs the vote.
 *
 * deepconf:N (offline): every trace runs; the vote counts the traces with an answer, keeps the top η% of them
 * by confidence and weighs each by it. deepconf:N:online: the first `warmup` traces run alone;
 * once all have ended, the 100−η percentile of their confidences is the threshold; then the others start, each
 * stopped as soon as its newest group confidence falls below it (its row leaves the pass), and the run ends
 * once the share of the ended traces' vote reaches τ as a trace ends (the paper's consensus). Warm-up first, then the rest, is the
 * paper's order: the threshold must exist before a trace can be stopped. `together` (an ablation on the time
 * axis): every trace starts at once, and the later ones are stopped from the pass the threshold exists.
 *
 * The answer at a checkpoint is that vote (also the record's `vote`), a trace still going read as cut there (the
 * authors' code at a token limit of that budget); where no trace has an answer, the finisher's over every trace. Options, each the paper's setting unless given: `high` (η = 90,
 * DeepConf-high; default η = 10, DeepConf-low), a measure other than the lowest group (offline), `window=W`
 * (group and tail length, 2048), `k=K` (top-k, 20), `warmup=M` (the paper's 16 exceeds any N here: default
 * half the traces), `tau=T` (0.95) or `no-consensus`, `together` (online). A trace runs to its end of sequence
 * or the budget, its answer the last box of its text, its confidence that of all it wrote (the authors' code:
 * extract_answer reads the text after its last "boxed"); `stop=box` ends it at its first step holding a box, as
 * the Hogwild! paper's baselines do.
 */
import type { KVCache } from "../../../engine/cache.ts";
import { check } from "../../../engine/errors.ts";
import { MAX_LOGPROBS } from "../../../engine/plan.ts";
import {
  type Ballot,
  keepTop,
  lowestGroup,
  type Measure,
  MEASURES,
  newestGroup,
  PAPER_TOP_K,
  PAPER_WINDOW,
  percentile,
  traceConfidence,
  weightedVote,
} from "../confidence.ts";
import { baseline, type Family, type Method, type MethodId, runPositions, runSpec, stopSetting } from "../methods.ts";
import { leastPositions, Run, type RunSpec } from "../run.ts";
import type { Written } from "../solver.ts";
import type { Worker } from "../worker.ts";

/** A DeepConf method: the common fields (a baseline's) and the paper's settings. */
export interface DeepConfMethod extends Method {
  online: boolean;
  /** η: the percent of traces kept (offline), or whose percentile 100−η is the threshold (online): 10 or 90 */
  keep: number;
  /** the trace-level confidence (online: always the lowest group, which its stops compare against) */
  measure: Measure;
  /** tokens per group, and of the tail */
  window: number;
  topK: number;
  /** online: the traces that set the threshold (0 offline) */
  warmup: number;
  /** online: the vote's share that ends the run; undefined: never */
  tau?: number;
  /** online: every trace starts at once (not the warm-up first), the later ones stopped once the threshold exists */
  together: boolean;
}

const OTHER_MEASURES = MEASURES.filter((m) => m !== "lowest");
const FLAGS = ["online", "together", "high", ...OTHER_MEASURES, "no-consensus"];
const SETTINGS = ["window", "k", "warmup", "tau", "stop"];
const PAPER_TAU = 0.95;

export const deepconf: Family<DeepConfMethod> = {
  name: "deepconf",
  prefixes: ["deepconf"],
  grammar: () => [
    `deepconf:N[:online[:together]][:high][:${
      OTHER_MEASURES.join("|")
    }][:window=W][:k=K][:warmup=M][:tau=T|:no-consensus][:stop=box]`,
  ],
  parse(p) {
    const n = p.count(), flags = p.options(FLAGS, SETTINGS), stop = stopSetting(p, "end");
    check(n >= 2, `method ${p.id}: deepconf needs 2 traces at least (one trace alone is sequential)`);
    const online = flags.includes("online"), measures = flags.filter((f) => MEASURES.includes(f as Measure));
    check(measures.length <= 1, `method ${p.id}: one measure at most (${measures.join(", ")} given)`);
    check(
      !online || measures.length === 0,
      `method ${p.id}: online stops on group confidences, so its measure is the lowest group (no ${measures[0]})`,
    );
    for (const key of ["warmup", "tau"]) {
      check(online || p.setting(key) === undefined, `method ${p.id}: ${key} needs online`);
    }
    check(online || !flags.includes("no-consensus"), `method ${p.id}: no-consensus needs online`);
    check(online || !flags.includes("together"), `method ${p.id}: together needs online`);
    check(
      !(flags.includes("no-consensus") && p.setting("tau") !== undefined),
      `method ${p.id}: tau or no-consensus, not both`,
    );
    const defaultWarmup = online ? Math.max(1, Math.floor(n / 2)) : 0;
    const window = p.integer("window", PAPER_WINDOW, 1, 1 << 20);
    const topK = p.integer("k", PAPER_TOP_K, 1, MAX_LOGPROBS);
    const warmup = p.integer("warmup", defaultWarmup, 1, n - 1);
    const tau = flags.includes("no-consensus") ? undefined : online ? fraction(p, p.setting("tau")) : undefined;
    const measure = (measures[0] ?? "lowest") as Measure;
    const id = [
      "deepconf",
      String(n),
      ...flags.filter((f) => f === "online" || f === "together" || f === "high"),
      ...measures,
      ...(window !== PAPER_WINDOW ? [`window=${window}`] : []),
      ...(topK !== PAPER_TOP_K ? [`k=${topK}`] : []),
      ...(warmup !== defaultWarmup ? [`warmup=${warmup}`] : []),
      ...(online && tau === undefined
        ? ["no-consensus"]
        : tau !== undefined && tau !== PAPER_TAU
        ? [`tau=${tau}`]
        : []),
      ...stop.id,
    ].join(":");
    return {
      ...baseline("deepconf", id, n, stop.earlyStop, "reencode"),
      online,
      keep: flags.includes("high") ? 90 : 10,
      measure,
      window,
      topK,
      warmup,
      ...(tau !== undefined ? { tau } : {}),
      together: flags.includes("together"),
    };
  },
  transcriptFinisher: true,
  solver: (cache, m, problem, seed, ctx) => new DeepConfRun(cache, runSpec(m, problem, seed, ctx), m),
  // Online, a later trace is held until the warm-up ends and may start at any pass: only the first pass is sure.
  minPositions: (m, problem, ctx) =>
    m.online && !m.together ? leastPositions(runSpec(m, problem, 0, ctx), 1) : runPositions(m, problem, ctx),
  replaysViews: true,
  samplesAlike: true,
  compared: () => ["deepconf:4", "deepconf:4:online"],
  // 2: a trace the threshold stopped has no path answer (1 counted a box it wrote before its stop); 3: a trace
  // stopped on its answer is whole in the finisher's transcript (2 left out its last token); 4: the vote
  // groups answers by the grader's normalised form, as maj@k does (3 by their text: `x = 4` and `4` apart); 5:
  // token confidences on a grid where window sums are exact (4 stopped a trace whose window equalled the threshold);
  // 6: a trace runs to its end, its answer its last box (stop=end, the authors' code; 5 stopped it at its first
  // box, now stop=box); 7: its first pass writes the prompt alone (6 wrote Hogwild!'s three header blocks too, read by
  // no row: charged); 8: during the online warm-up the finisher reads the traces that have started (7 read each
  // held trace as its one forced token, the prompt's last: a blank line each before the closing text)
  version: 8,
};

function fraction(p: MethodId, v: string | undefined): number {
  if (v === undefined) return PAPER_TAU;
  const x = /^[0-9.]+$/.test(v) ? Number(v) : NaN;
  check(x > 0 && x <= 1, `method ${p.id}: tau must be a number in (0, 1], got "${v}"`);
  return x;
}

/** A DeepConf run of one problem: self-consistency's run, its traces held, stopped and voted on by confidence. */
export class DeepConfRun extends Run {
  readonly #m: DeepConfMethod;
  readonly #weight: (tokenConfidences: readonly number[]) => number;
  /** online: the stopping threshold, once every warm-up trace has ended */
  #threshold?: number;
  /** traces stopped by the threshold: they do not vote */
  readonly #stopped = new Set<Worker>();
  /** later traces already seen ended on their own (the consensus is checked as each ends) */
  readonly #ended = new Set<Worker>();

  constructor(cache: KVCache, spec: RunSpec, method: DeepConfMethod) {
    const weight = (c: readonly number[]) => traceConfidence(c, method.measure, method.window);
    super(cache, { ...spec, confidence: { topK: method.topK, weight } });
    this.#m = method;
    this.#weight = weight;
  }

  /** online: the threshold the warm-up set (undefined before, and offline) */
  get threshold(): number | undefined {
    return this.#threshold;
  }
  /** the traces the threshold stopped, by index */
  get stopped(): number[] {
    return this.workers.filter((w) => this.#stopped.has(w)).map((w) => w.index);
  }
  /** each trace's confidence so far */
  confidences(): number[] {
    return this.workers.map((w) => this.#confidence(w));
  }
  /** The filter's inputs, for the trace: each trace's confidence, the threshold and the traces it stopped. */
  override audit(): Record<string, unknown> {
    return {
      // as the filter compared them, unrounded (a threshold on a trace's own confidence is common: tied warm-ups)
      confidence: this.confidences().map((c) => (Number.isFinite(c) ? c : null)),
      ...(this.#m.online ? { threshold: this.#threshold ?? null, stopped: this.stopped } : {}),
    };
  }

  #confidence(w: Worker): number {
    return this.#weight(w.confidences);
  }

  protected override holds(w: Worker): boolean {
    return this.#m.online && !this.#m.together && this.#threshold === undefined && w.index >= this.#m.warmup;
  }

  /** Online: the threshold once the warm-up has ended; then the stops, and the consensus as a trace ends. */
  protected override afterTakes(): void {
    const m = this.#m, warm = this.workers.slice(0, m.warmup);
    if (!m.online) return;
    let fresh = false;
    if (this.#threshold === undefined) {
      if (!warm.every((w) => w.done)) return;
      // From this pass on the later traces are checked (held until now, or, together, running already: those
      // meet every group they wrote, as if the threshold had been there from their start).
      this.#threshold = percentile(warm.map((w) => this.#confidence(w)), 100 - m.keep);
      fresh = true;
    }
    let ended = false;
    for (const w of this.workers.slice(m.warmup)) {
      if (this.#stopped.has(w) || this.#ended.has(w)) continue;
      if (w.done) {
        this.#ended.add(w), ended = true;
        continue;
      }
      const g = (fresh ? lowestGroup : newestGroup)(w.confidences, m.window);
      if (g !== undefined && g < this.#threshold) this.stopWorker(w), this.#stopped.add(w);
    }
    const v = ended && m.tau !== undefined ? this.#tally(true) : undefined;
    if (v && v.share >= m.tau!) this.stopEarly(v.answer, null); // a vote: no one writer's
  }

  /** A trace the threshold stopped has no answer of its own: its paper discards it (a box it wrote is not one). */
  protected override ownAnswer(w: Worker): string | undefined {
    return this.#stopped.has(w) ? undefined : super.ownAnswer(w);
  }

  /**
   * The vote: the traces with an answer (none stopped), each weighed by its confidence; offline the top η% of
   * them, online those at the threshold or above (before it exists, only warm-up traces: `together`'s later
   * ones wait for it). At a checkpoint a trace still going is cut there, as the authors' code cuts a trace at its
   * token limit: its answer the last box it has written, its confidence that of what it wrote; the consensus
   * (`ended`) counts only the traces that have ended.
   */
  #tally(ended = false): { answer: string; share: number } | undefined {
    const m = this.#m, early = m.online && this.#threshold === undefined;
    const ballots: Ballot[] = this.workers.filter((w) =>
      (w.done || !ended) && !this.#stopped.has(w) && !(early && w.index >= m.warmup)
    ).flatMap((w) => {
      const answer = this.ownAnswer(w);
      return answer ? [{ answer, weight: this.#confidence(w) }] : [];
    });
    if (ballots.length === 0) return undefined;
    if (!m.online) {
      const kept = keepTop(ballots.map((b) => b.weight), m.keep);
      return weightedVote(ballots.filter((_, i) => kept[i]), this.finisherSettings.format.voteKey);
    }
    return weightedVote(
      ballots.filter((b) => b.weight >= (this.#threshold ?? -Infinity)),
      this.finisherSettings.format.voteKey,
    );
  }

  protected override vote(): string | null {
    return this.#tally()?.answer ?? null;
  }

  /** The answer the run has written is its vote; none yet: the finisher's. */
  protected override writtenAnswer(): Written | undefined {
    const answer = this.#tally()?.answer;
    return answer === undefined ? undefined : { answer, writer: null }; // a vote: no one writer's
  }
}
