/**
 * The sequential baselines (docs/methods.md, "Methods"): one writer under the plain prompt; `sequential` with
 * the early stop and the finisher at checkpoints, `sequential-no-early-stop` with neither (only the answers
 * the model wrote itself count).
 */
import { check } from "../../../engine/errors.ts";
import { baseline, type Family, runPositions, runSolver } from "../methods.ts";

export const sequential: Family = {
  name: "sequential",
  prefixes: ["sequential", "sequential-no-early-stop"],
  grammar: () => ["sequential", "sequential-no-early-stop"],
  parse(p) {
    check(p.n === undefined, `method ${p.id}: sequential takes no options`);
    const early = p.name === "sequential";
    return baseline("sequential", p.name, 1, early, early ? "reencode" : "none");
  },
  transcriptFinisher: true,
  solver: runSolver,
  minPositions: runPositions,
  replaysViews: true,
  codeTasks: true,
  // The reference every other method is paired against in summary.md.
  compared: () => ["sequential"],
  // 2: its first pass writes the prompt alone (1 wrote Hogwild!'s three header blocks too, read by no row: charged to
  // its solo time)
  version: 2,
};
