/**
 * Self-consistency (docs/methods.md, "Methods"): sc:N[:fork], N independent writers sharing only the prompt;
 * answers from the concatenated traces (the finisher) and by majority vote.
 */
import { baseline, type Family, runSolver } from "../methods.ts";

export const sc: Family = {
  name: "sc",
  prefixes: ["sc"],
  grammar: () => ["sc:N[:fork]"],
  parse(p) {
    const k = p.count(), fork = p.options(["fork"]).length > 0;
    // One sample voted on by itself is sequential's run.
    if (k === 1 && !fork) return baseline("sequential", "sequential", 1, true, "reencode");
    return baseline("sc", `sc:${k}${fork ? ":fork" : ""}`, k, true, fork ? "fork" : "reencode");
  },
  solver: runSolver,
  replaysViews: true,
};
