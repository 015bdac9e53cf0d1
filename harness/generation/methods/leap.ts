/**
 * Learning from Peers (LeaP, Luo et al., arXiv 2505.07787; docs/methods.md, "Learning from Peers"): N reasoning
 * paths after one shared prompt. After every T reasoning tokens each path writes a short summary of where it
 * stands; once every path still going has one, the summaries are routed by text similarity (dispersed: the least
 * similar peers first, clustered: the most similar, hybrid: half each; at most k) and each path reads its peers'
 * summaries, encoded again in its own sequence, then goes on. Every pass in which a path samples (reasoning or
 * summary) counts toward the budget; the peers' text rides in the reader's next sampling row, so no pass only
 * prefills. A path ends at end of sequence (or the budget), its answer the last \boxed{…} of its own reasoning (the
 * authors' code reads a path's whole output once it ends); `stop=box` ends it at its first step holding one (the
 * Hogwild! paper's early stop). The answer is the paths' majority, a path still going read at a checkpoint as cut
 * there (its last box).
 * `cut` (the authors' code): the unfinished paragraph before the trigger is dropped from the path's cache first.
 * The family (leap:N[:…]), its texts (harness/generation/prompts/leap.json), the routing, and the run itself (LeapRun).
 */
import type { Block, KVCache } from "../../../engine/cache.ts";
import { check } from "../../../engine/errors.ts";
import { Sampler } from "../../../engine/sampler.ts";
import { lastBoxed } from "../../../tasks/grading/answer.ts";
import {
  baseline,
  type Family,
  type Method,
  type OwnRunSettings,
  ownRunSettings,
  type RunContext,
  stopSetting,
  textsOf,
} from "../methods.ts";
import {
  DEFAULT_NAMES,
  fillTemplate,
  loadTemplate,
  promptIds,
  readTexts,
  renderTemplate,
  type TextField,
} from "../prompts.ts";
import { type FinisherStart, pageTokens, type PlannedRow, Solver, writerSeed, type WrittenText } from "../solver.ts";
import { StepDetector } from "../steps.ts";

export type Routing = "dispersed" | "clustered" | "hybrid";
const ROUTINGS: readonly string[] = ["dispersed", "clustered", "hybrid"];

/** A LeaP method: the common fields (a baseline's) and its own settings. */
export interface LeapMethod extends Method {
  routing: Routing;
  /** the most peers' summaries a path reads (at most N-1) */
  topK: number;
  /** reasoning tokens of a path between its summaries (the paper's T) */
  every: number;
  /** the most tokens of a summary */
  summaryTokens: number;
  /** the path's tokens after its last blank line are dropped before the trigger, as the authors' code does */
  cut: boolean;
}

/**
 * What an id leaves out: dispersed routing and top-4 peers (the paper's main setting), a summary every 2048
 * tokens of at most 256 (the authors' code: its turn length and summary limit).
 */
export const LEAP_DEFAULTS = { routing: "dispersed", topK: 4, every: 2048, summaryTokens: 256 } as const;
const GRAMMAR = "leap:N[:clustered|hybrid][:cut][:peers=K][:every=T][:summary=S][:stop=box]";

export const leap: Family<LeapMethod> = {
  name: "leap",
  prefixes: ["leap"],
  grammar: () => [GRAMMAR],
  parse(p) {
    const n = p.count(), flags = p.options([...ROUTINGS, "cut"], ["peers", "every", "summary", "stop"]);
    const d = LEAP_DEFAULTS, stop = stopSetting(p, "end");
    const routings = flags.filter((f) => f !== "cut"), cut = flags.includes("cut");
    check(routings.length <= 1, `method ${p.id}: one routing at most (${routings.join(", ")} given)`);
    check(routings.length === 0 || n > 2, `method ${p.id}: with one peer at most, every routing is the same`);
    check(p.setting("peers") === undefined || n > 1, `method ${p.id}: one path has no peers to read (peers)`);
    const topK = p.integer("peers", Math.min(d.topK, n - 1), 1, n - 1);
    const every = p.integer("every", d.every, 1, 1 << 16);
    const summaryTokens = p.integer("summary", d.summaryTokens, 1, 1 << 16);
    const routing = (routings[0] ?? d.routing) as Routing;
    const id = [
      "leap",
      String(n),
      ...(routing === d.routing ? [] : [routing]),
      ...(cut ? ["cut"] : []),
      ...(topK === Math.min(d.topK, n - 1) ? [] : [`peers=${topK}`]),
      ...(every === d.every ? [] : [`every=${every}`]),
      ...(summaryTokens === d.summaryTokens ? [] : [`summary=${summaryTokens}`]),
      ...stop.id,
    ].join(":");
    // The finisher reads the first path's own blocks as they are (no transcript encoded again).
    return { ...baseline("leap", id, n, stop.earlyStop, "fork"), routing, topK, every, summaryTokens, cut };
  },
  solver: (cache, method, problem, seed, ctx) => new LeapRun(cache, leapSpec(method, problem, seed, ctx)),
  // A path writes a token a pass until its first summary (after T), then may wait for its peers'; `cut` drops
  // an unfinished paragraph from its cache. Its shared prompt block holds all but the prompt's last token.
  minPositions(method, problem, ctx) {
    const prompt = leapSpec(method, problem, 0, ctx).prompt.length, B = ctx.budgets[ctx.budgets.length - 1];
    return prompt - 1 + (method.cut ? 1 : Math.min(B, method.every));
  },
  checkSpec(m, spec) {
    const most = Math.max(...spec.budgets);
    check(
      m.every < most,
      `method ${m.id}: a summary every ${m.every} tokens, but the largest budget is ${most} passes, so no path ` +
        `would ever summarize: give a smaller T (${GRAMMAR})`,
    );
  },
  // Its paths are independent sequences with text inserted, not workers over a layout.
  replaysViews: false,
  peersRead: "the others' summaries, every T tokens",
  samplesAlike: true,
  texts: loadLeap,
  // At least four rounds of summaries within the largest budget: the paper's T (2048) where the grid allows.
  compared: (budgets) => {
    const most = Math.max(...budgets);
    if (most < 2) return []; // a summary comes after T ≥ 1 tokens, before the largest budget: none fits in one pass
    const t = Math.min(LEAP_DEFAULTS.every, 2 ** Math.max(0, Math.floor(Math.log2(most / 4))));
    return [t === LEAP_DEFAULTS.every ? "leap:4" : `leap:4:every=${t}`];
  },
  // 2: routing by python-Levenshtein's ratio, as the authors' code (1 normalised the edit distance by the longer);
  // 3: the majority groups answers by voteKey, the grader's text normalisation (2 by their raw text: `x = 4` and
  // `4` apart); 4: the trigger, summaries and peers' text are steps too, the harness's marked inserted (3's steps
  // held only reasoning, and a cut step could keep cut text); 5: a box then end of sequence is the path's answer (4
  // left the unfinished step unread: the path answered none); 6: a path runs to its end, its answer its last box
  // (stop=end, the authors' code; 5 ended it at its first box, now stop=box); 7: the peers' summaries a path reads
  // lose any added token's text (6 encoded a `</think>` a summary held as that token)
  version: 7,
};

/** The options of an id by kind (routing, k, t, s), each at most once; their values still unread. */
/** LeaP's texts (harness/generation/prompts/leap.json, or the user's file). */
export interface LeapTexts {
  /** written into a path after every T reasoning tokens; its summary follows */
  trigger: string;
  /** opens the peers' summaries in a path */
  peers: string;
  /** the k-th summary a path reads (k from 1), with {{k}} and {{summary}} */
  peer: string;
  /** instead of the summaries when no peer has one */
  noPeers: string;
  /** after the summaries, where the path's own reasoning goes on (not empty: that row must sample) */
  resume: string;
}

/** leap.json's texts as leapSpec fills them, and which may be empty (docs/methods.md). */
const LEAP_FIELDS: Readonly<Record<keyof LeapTexts, TextField>> = {
  trigger: {
    needs: "it asks the path for its summary: empty, the path's next tokens are read as one, unasked (with :cut, " +
      "a row of no tokens)",
  },
  peers: { empty: "the summaries follow the path's own" },
  peer: { holds: ["{{k}}", "{{summary}}"] },
  noPeers: { empty: "the path reads the resume alone" },
  resume: {
    needs: "the path's reasoning resumes after it; with no peers' summaries and an empty noPeers its row would " +
      "hold no tokens",
  },
};

export function loadLeap(file?: string): LeapTexts {
  const { where, texts } = readTexts(file, "leap.json", LEAP_FIELDS);
  // After a blank line (:cut) the trigger is written less its leading line breaks (leapSpec): none would be left.
  check(
    /[^\n]/.test(texts.trigger as string),
    `${where}: field "trigger" holds line breaks alone; it must hold text (after a blank line it is written ` +
      `without its leading line breaks, and so would be empty)`,
  );
  return texts as unknown as LeapTexts;
}

/**
 * The Levenshtein similarity of two texts as the authors' code routes by it (python-Levenshtein's `ratio`): 1 −
 * their insertion-deletion distance over their summed lengths, i.e. 2·LCS / (|a| + |b|) over code points; 1 for
 * two empty texts.
 */
export function similarity(a: string, b: string): number {
  const x = Array.from(a), y = Array.from(b), sum = x.length + y.length;
  if (sum === 0) return 1;
  let row = new Array<number>(y.length + 1).fill(0); // longest common subsequence, a row at a time
  for (let i = 1; i <= x.length; i++) {
    const next = [0];
    for (let j = 1; j <= y.length; j++) {
      next.push(x[i - 1] === y[j - 1] ? row[j - 1] + 1 : Math.max(row[j], next[j - 1]));
    }
    row = next;
  }
  return (2 * row[y.length]) / sum;
}

/**
 * The peers whose summaries path `self` reads, in the order it reads them: dispersed, the `k` least similar to
 * its own; clustered, the `k` most similar; hybrid, the ⌊k/2⌋ least similar, then the most similar of the rest.
 * Equal similarities keep the paths' order. `sim(a, b)`: the similarity of paths a's and b's summaries.
 */
export function route(
  routing: Routing,
  k: number,
  self: number,
  peers: readonly number[],
  sim: (a: number, b: number) => number,
): number[] {
  const others = peers.filter((j) => j !== self);
  const far = [...others].sort((a, b) => sim(self, a) - sim(self, b));
  const near = [...others].sort((a, b) => sim(self, b) - sim(self, a));
  if (routing === "dispersed") return far.slice(0, k);
  if (routing === "clustered") return near.slice(0, k);
  const half = far.slice(0, Math.floor(k / 2));
  return [...half, ...near.filter((j) => !half.includes(j)).slice(0, k - half.length)];
}

/** LeaP's run of a problem. */
export function leapSpec(
  method: LeapMethod,
  problem: string,
  seed: number,
  ctx: RunContext,
  texts: LeapTexts = textsOf(ctx, leap.name, loadLeap),
): LeapSpec {
  const tok = ctx.tokenizer;
  const names = (ctx.names ?? DEFAULT_NAMES).slice(0, method.workers);
  check(names.length === method.workers, `method ${method.id}: ${method.workers} paths but only ${names.length} names`);
  return {
    prompt: promptIds(tok, renderTemplate(loadTemplate("plain", ctx.plainTemplate), problem, [])),
    names,
    routing: method.routing,
    topK: method.topK,
    every: method.every,
    summaryTokens: method.summaryTokens,
    cut: method.cut,
    earlyStop: method.earlyStop,
    trigger: tok.encode(texts.trigger),
    // after a cut the path ends on its blank line: the trigger without its own leading one
    triggerAfterBreak: tok.encode(texts.trigger.replace(/^\n+/, "")),
    reading: (summaries, blank) =>
      tok.encode(
        (blank ? "\n\n" : "") +
          (summaries.length
            ? texts.peers +
              // the peers' summaries are model text: an added token's text in them is taken out (TextTokenizer)
              summaries.map((summary, i) =>
                fillTemplate(texts.peer, { k: String(i + 1), summary: tok.withoutAddedTokens(summary) })
              ).join("")
            : texts.noPeers) +
          texts.resume,
      ),
    ...ownRunSettings(ctx, seed),
  };
}

export interface LeapSpec extends OwnRunSettings {
  /** the plain prompt, whole */
  prompt: number[];
  /** one name per path */
  names: string[];
  routing: Routing;
  topK: number;
  every: number;
  summaryTokens: number;
  cut: boolean;
  /** a reasoning step holding a box ends its path (stop=box); otherwise a path ends at end of sequence */
  earlyStop: boolean;
  trigger: number[];
  triggerAfterBreak: number[];
  /**
   * What a path reads after its summary, as one text encoded: its peers' summaries in order, or that there are
   * none; after a blank line first with `blank` (its summary did not end on a line break).
   */
  reading(summaries: readonly string[], blank: boolean): number[];
}

type Stage = "reason" | "summary" | "wait" | "done";

interface Path {
  index: number;
  name: string;
  block: Block;
  /** tokens to write in its next row */
  next: number[];
  stage: Stage;
  /** reasoning tokens since its last summary */
  since: number;
  /** tokens it sampled (reasoning and summaries) */
  generated: number;
  /** its sequence after the prompt, as text: what it wrote and what was written for it */
  text: string;
  /** its tokens (written and pending, in its block) and text up to the last token that completed a blank line */
  lastBreak: { tokens: number; text: number };
  decode: (id: number) => string;
  sampler: Sampler;
  /** where its current reasoning step ends (the early stop reads that step) */
  step: StepDetector;
  /** its tokens since its last recorded step, and the characters of its text its recorded steps hold */
  stepIds: number[];
  recorded: number;
  steps: number;
  /** its summary this round, and its tokens so far */
  summary: StepDetector;
  summaryTokens: number;
  /** the last box of its own reasoning so far: the step that holds it and the pass that step ended at */
  answer?: { value: string; step: string; pass: number };
}

export class LeapRun extends Solver {
  readonly #s: LeapSpec;
  readonly #prompt: Block;
  #prefilled = false;
  readonly #paths: Path[];

  constructor(cache: KVCache, spec: LeapSpec) {
    super(cache, spec.budgets, spec.finisher);
    if (spec.names.length === 0) throw new RangeError("a LeaP run needs at least one path");
    this.#s = spec;
    this.#prompt = cache.newBlock("prompt");
    // The shared prompt block holds all but the prompt's last token: each path's first row writes that one and samples.
    this.#paths = spec.names.map((name, index) => ({
      index,
      name,
      block: cache.newBlock(name),
      next: spec.prompt.slice(-1),
      stage: "reason",
      since: 0,
      generated: 0,
      text: "",
      lastBreak: { tokens: 1, text: 0 }, // never before the prompt's last token, which the path's block holds
      decode: spec.decoder(),
      sampler: new Sampler(spec.sampling, writerSeed(spec.seed, index)),
      step: new StepDetector(),
      stepIds: [],
      recorded: 0,
      steps: 0,
      summary: new StepDetector(),
      summaryTokens: 0,
    }));
  }

  names(): string[] {
    return this.#paths.map((p) => p.name);
  }
  texts(): string[] {
    return this.#paths.map((p) => p.text);
  }

  protected decodeRows(): PlannedRow[] {
    const rows: PlannedRow[] = [];
    if (!this.#prefilled) {
      this.#prefilled = true;
      rows.push({ block: this.#prompt, view: [this.#prompt], tokens: this.#s.prompt.slice(0, -1), logits: "none" });
    }
    for (const p of this.#paths.filter((p) => p.stage === "reason" || p.stage === "summary")) {
      rows.push({
        block: p.block,
        view: [this.#prompt, p.block],
        tokens: p.next,
        logits: "last",
        sampler: p.sampler,
        take: (id) => this.#take(p, id),
      });
      p.next = [];
    }
    return rows;
  }

  /**
   * Tokens written into a path for it (the trigger, its peers' summaries), kept in its text and recorded as a
   * step marked inserted (no words of the path's own); a cut stops at their end.
   */
  #force(p: Path, ids: readonly number[]) {
    for (const id of ids) this.#append(p, id);
    p.lastBreak = { tokens: p.block.length + p.next.length, text: p.text.length };
    this.#record(p, true);
  }

  /** One token more in the path's next row and its text; its place if it completes a blank line. */
  #append(p: Path, id: number): string {
    const piece = p.decode(id), before = p.text.length;
    p.next.push(id), p.stepIds.push(id), p.text += piece;
    if (p.text.indexOf("\n\n", Math.max(0, before - 1)) !== -1) {
      p.lastBreak = { tokens: p.block.length + p.next.length, text: p.text.length };
    }
    return piece;
  }

  /**
   * The authors' code's cut: the path's tokens after its last blank line (its unfinished paragraph, already
   * counted as generated) leave its cache and its text before the trigger. A token holding a blank line and more
   * text is kept whole (the code cuts the text and encodes it again), and text written for the path is never cut
   * (the code's cut may reach into a resume line that ends without a blank line).
   */
  #cutUnfinished(p: Path) {
    const keep = p.lastBreak.tokens, written = p.block.length, tokens = written + p.next.length - keep;
    if (tokens > p.stepIds.length) throw new Error(`leap: path ${p.name}'s cut reaches past its own step`);
    if (tokens > 0) {
      if (keep < written) this.cache.truncate(p.block, keep);
      p.next = p.next.slice(0, Math.max(0, keep - written));
      p.text = p.text.slice(0, p.lastBreak.text);
      p.stepIds = p.stepIds.slice(0, p.stepIds.length - tokens);
      p.decode = this.#s.decoder();
    }
    // What the step held before the break stays, a step of its own; the cut text is in no step, as in no text.
    if (p.stepIds.length) this.#endStep(p);
    else p.step = new StepDetector();
  }

  #take(p: Path, id: number) {
    const s = this.#s;
    if (s.stopIds.includes(id)) {
      // End of sequence ends a summary early (what it holds is its step), and a path in its reasoning: its
      // unfinished step is a step then, and its box the path's answer (a model ends "\boxed{4}.<eos>").
      if (p.stage === "summary") this.#record(p), p.stage = "wait";
      else {
        if (p.stepIds.length) this.#endStep(p);
        p.stage = "done";
      }
      return;
    }
    p.next = [];
    const piece = this.#append(p, id);
    p.generated++;
    if (p.stage === "summary") {
      if (p.summary.push(piece) || ++p.summaryTokens >= s.summaryTokens) this.#record(p), p.stage = "wait";
      return;
    }
    p.since++;
    if (p.step.push(piece)) this.#endStep(p);
    if (p.stage === "reason" && p.since >= s.every) {
      if (s.cut) {
        // The unfinished paragraph leaves the path (it stays counted as generated); the trigger follows the break.
        this.#cutUnfinished(p);
        if (p.stage !== "reason") return; // what it kept held an answer
        p.stage = "summary", p.summary = new StepDetector(), p.summaryTokens = 0;
        this.#force(p, p.text.endsWith("\n\n") ? s.triggerAfterBreak : s.trigger);
        return;
      }
      // The summary cuts the step short: what it held is a step of its own.
      if (p.stepIds.length) this.#endStep(p);
      if (p.stage === "reason") {
        p.stage = "summary", p.summary = new StepDetector(), p.summaryTokens = 0;
        this.#force(p, s.trigger);
      }
    }
  }

  /**
   * The path's text since its last step, a step of its own in the records: every character of its text is in
   * exactly one step, in order, but the reasoning step it is still writing (docs/run-files.md, "traces.jsonl").
   */
  #record(p: Path, inserted = false) {
    if (p.stepIds.length === 0) return; // a summary ended before its first token
    const text = p.text.slice(p.recorded), ids = p.stepIds, pass = this.passes;
    this.recordStep({ worker: p.index, step: ++p.steps, text, ids, pass, ...(inserted ? { inserted } : {}) });
    p.stepIds = [], p.recorded = p.text.length;
  }

  /**
   * The path's current reasoning step, finished, into the records; a box in it is the path's answer so far,
   * which ends the path under the early stop (stop=box).
   */
  #endStep(p: Path) {
    const text = p.text.slice(p.recorded);
    this.#record(p);
    p.step = new StepDetector();
    const answer = lastBoxed(text);
    if (!answer) return;
    p.answer = { value: answer, step: text, pass: this.passes };
    if (this.#s.earlyStop) p.stage = "done";
  }

  /** Once every path still going has its summary: the routing, and each path reads its peers' summaries. */
  protected override afterTakes() {
    const going = this.#paths.filter((p) => p.stage !== "done");
    if (going.length === 0 || going.some((p) => p.stage !== "wait")) return;
    const s = this.#s, said = new Map(going.map((p) => [p.index, p.summary.text.trim()]));
    const sims = new Map<string, number>();
    const sim = (a: number, b: number) => {
      const key = a < b ? `${a},${b}` : `${b},${a}`;
      if (!sims.has(key)) sims.set(key, similarity(said.get(a)!, said.get(b)!));
      return sims.get(key)!;
    };
    const writers = going.map((p) => p.index);
    for (const p of going) {
      const read = route(s.routing, s.topK, p.index, writers, sim).map((j) => said.get(j)!);
      this.#force(p, s.reading(read, !/\n\s*$/.test(p.summary.text)));
      p.stage = "reason", p.since = 0;
    }
  }

  kvTokens(pageSize: number): number {
    const s = this.#s, B = this.budgets[this.budgets.length - 1], pages = (n: number) => pageTokens(n, pageSize);
    // A summary of S tokens, trimmed and encoded again, is taken as S tokens and a few more; its every token cost
    // a pass, so it holds B at most whatever its limit.
    const read = Math.min(s.topK, s.names.length - 1);
    const inserted = Math.max(
      s.reading(Array(read).fill(""), true).length + read * (Math.min(s.summaryTokens, B) + 8),
      s.reading([], true).length,
    );
    // One sampled token a pass at most; a round after every T of them, each with its trigger and peers' text.
    const rounds = Math.ceil(B / s.every), pending = 1 + Math.max(s.trigger.length, inserted);
    const path = B + 1 + rounds * (s.trigger.length + inserted);
    return pages(s.prompt.length) + s.names.length * pages(path) +
      pages(pending + s.marker.length + s.finisherSuffix.length + s.finisher.maxTokens);
  }

  protected get finished(): boolean {
    return this.#paths.every((p) => p.stage === "done");
  }
  /**
   * The step of the paths' most frequent answer (among equals, the one written first), answers counted together
   * when voteKey (the grader's text normalisation, not its equivalence) reads them alike, as the other votes and
   * maj@k group them.
   */
  protected writtenTexts(): WrittenText[] {
    const answered = this.#paths.flatMap((p, writer) => {
      const a = this.#answer(p);
      return a ? [{ ...a, writer }] : [];
    }).sort((a, b) => a.pass - b.pass);
    const key = this.finisherSettings.format.voteKey;
    const votes = (v: string) => answered.filter((a) => key(a.value) === key(v)).length;
    const best = answered.reduce<typeof answered[number] | undefined>(
      (m, a) => (m === undefined || votes(a.value) > votes(m.value) ? a : m),
      undefined,
    );
    return best ? [{ writer: best.writer, text: best.step }] : [];
  }
  /** After the first path's own sequence: the prompt, its reasoning, its summaries and the peers' it read. */
  protected finisherStart(): FinisherStart {
    const s = this.#s, p = this.#paths[0];
    return {
      before: [this.#prompt, p.block],
      first: [...p.next, ...(p.stage === "done" ? [] : s.marker), ...s.finisherSuffix],
    };
  }
  protected tokens(): number[] {
    return this.#paths.map((p) => p.generated);
  }
  protected override paths(): (string | null)[] {
    return this.#paths.map((p) => this.#answer(p)?.value ?? null);
  }
  /**
   * A path's answer at a checkpoint: the last box of its reasoning, a path still going read as cut there (the
   * authors' code at a token limit of that budget), the reasoning step it is writing included.
   */
  #answer(p: Path): Path["answer"] {
    const writing = p.stage === "reason" ? p.text.slice(p.recorded) : "", value = lastBoxed(writing);
    return value ? { value, step: writing, pass: this.passes } : p.answer;
  }
  protected blocks(): Block[] {
    return [this.#prompt, ...this.#paths.map((p) => p.block)];
  }
}
