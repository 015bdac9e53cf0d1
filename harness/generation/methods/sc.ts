/**
 * Self-consistency (docs/methods.md, "Methods"): sc:N[:fork][:conf][:stop=end], N independent writers sharing
 * only the prompt; answers from the concatenated traces (the finisher, at every checkpoint) and by vote: the majority, or with `conf` each
 * trace weighted by its confidence (confidence.ts, the paper's lowest group confidence of top-20 log-probabilities
 * over 2048-token groups), nothing filtered or stopped, so that a comparison with the majority isolates the weights.
 * A trace stops at its first step holding a box, as the Hogwild! paper's baseline does (its generation.py);
 * `stop=end` runs it to its end of sequence or the budget, its answer the last box it has written.
 */
import { Run } from "../run.ts";
import { PAPER_TOP_K, PAPER_WINDOW, pathsVote, traceConfidence } from "../confidence.ts";
import { voteKey } from "../answer_format.ts";
import { baseline, type Family, type Method, runPositions, runSpec, stopSetting } from "../methods.ts";

/** A self-consistency method: the common fields (a baseline's) and its vote's weights. */
export interface ScMethod extends Method {
  /** each trace's vote counts its confidence, not 1 */
  weighted: boolean;
}

export const sc: Family<ScMethod> = {
  name: "sc",
  prefixes: ["sc"],
  grammar: () => ["sc:N[:fork][:conf][:stop=end]"],
  parse(p) {
    const k = p.count(), opts = p.options(["fork", "conf"], ["stop"]), fork = opts.includes("fork");
    const stop = stopSetting(p, "box");
    // One sample voted on by itself is sequential's run; its weight changes nothing.
    const weighted = k > 1 && opts.includes("conf");
    if (k === 1 && !fork && stop.earlyStop) {
      return { ...baseline("sequential", "sequential", 1, true, "reencode"), weighted };
    }
    const id = ["sc", String(k), ...(fork ? ["fork"] : []), ...(weighted ? ["conf"] : []), ...stop.id].join(":");
    return { ...baseline("sc", id, k, stop.earlyStop, fork ? "fork" : "reencode"), weighted };
  },
  transcriptFinisher: true,
  // The paper's baseline: "both traces are concatenated and the model answers with the finisher prompt", at
  // every checkpoint (the last box of the concatenation would be the last trace's answer alone).
  solver: (cache, m, problem, seed, ctx) =>
    new Run(cache, {
      ...runSpec(m, problem, seed, ctx),
      finisherAlways: true,
      ...(m.weighted
        ? { confidence: { topK: PAPER_TOP_K, weight: (c) => traceConfidence(c, "lowest", PAPER_WINDOW) } }
        : {}),
    }),
  // a trace still writing at the last budget has written since the first pass, in a view of its own
  minPositions: runPositions,
  // the majority rests on the paths alone; confidence weights are not in the record
  recountVote: (m, paths, grading) => m.weighted ? undefined : pathsVote(paths, (a) => voteKey(a, grading)),
  replaysViews: true,
  samplesAlike: true,
  codeTasks: true,
  // As many traces as the other parallel methods have workers; the weighted vote isolates the confidence.
  compared: () => ["sc:4", "sc:4:conf"],
  // 2: the finisher answers at every checkpoint (1 took the last answer a trace had written); 3: a trace stopped
  // on its answer is whole in the finisher's transcript (2 left out its last token); 4: the vote
  // groups answers by the grader's normalised form, as maj@k does (3 by their text: `x = 4` and `4` apart); 5: on a
  // code task the vote groups programs by their text, line ends alone normalised (4 by the maths normalisation, which
  // strips indentation and assignment targets: programs that differ in them voted as one)
  // 6: its first pass writes the prompt alone (5 wrote Hogwild!'s three header blocks too, read by no row: charged)
  version: 6,
};
