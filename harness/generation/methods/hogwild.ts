/**
 * Hogwild!: N workers over the shared cache, each writing its steps where the others see them
 * (docs/methods.md, "Methods" and "Layouts and ablations"): hogwild:N[:layout][:fork][:no-collab|no-check][:reencode-steps].
 */
import { check } from "../../../engine/errors.ts";
import { LAYOUTS } from "../layouts.ts";
import { type Family, type Method, runPositions, runSolver } from "../methods.ts";

/**
 * Hogwild!'s layouts: every one in LAYOUTS whose workers write one shared page, none a history of its own (a
 * new one needs no entry here); combined, the default, first.
 */
export const hogwildLayouts = (): string[] =>
  Object.keys(LAYOUTS).filter((k) => LAYOUTS[k].history !== "own")
    .sort((a, b) => Number(b === "combined") - Number(a === "combined"));

const FLAGS = ["fork", "no-collab", "no-check", "reencode-steps"];

export const hogwild: Family = {
  name: "hogwild",
  prefixes: ["hogwild"],
  grammar: () => [`hogwild:N[:${hogwildLayouts().slice(1).join("|")}][:fork][:no-collab|no-check][:reencode-steps]`],
  parse(p) {
    const shared = hogwildLayouts();
    const workers = p.count(), given = p.options([...shared, ...FLAGS]);
    const layouts = given.filter((o) => shared.includes(o));
    check(layouts.length <= 1, `method ${p.id}: one layout at most (${layouts.join(", ")} given)`);
    const layout = layouts[0] ?? "combined";
    const flags = given.filter((o) => FLAGS.includes(o));
    // The no-collab ablation drops only the text: workers still never stop on their own or write forbidden tokens.
    const m: Method = {
      // One worker has no others to lay out: every layout is the same run, named hogwild:1.
      id: ["hogwild", String(workers), ...(layout === "combined" || workers === 1 ? [] : [layout]), ...flags].join(":"),
      workers,
      family: "hogwild",
      layout,
      reencodeSteps: flags.includes("reencode-steps"),
      collab: !flags.includes("no-collab"),
      noChecks: flags.includes("no-check"),
      stopAtEos: false,
      forbidTokens: true,
      earlyStop: true,
      finisher: flags.includes("fork") ? "fork" : "reencode",
    };
    check(
      !(m.noChecks && !m.collab),
      `method ${p.id}: no-collab drops the redundancy checks with the rest of the text; no-check is the collaboration ` +
        "text without them: give one",
    );
    check(
      !m.reencodeSteps || (m.collab && LAYOUTS[m.layout].history === "shared"),
      `method ${p.id}: reencode-steps needs a history (${
        shared.filter((l) => LAYOUTS[l].history === "shared").join(" or ")
      }) and the collaboration text`,
    );
    return m;
  },
  transcriptFinisher: true,
  solver: runSolver,
  // every worker writes every pass; a view holds all their tokens (combined, contiguous) or its own (interleaved)
  minPositions: runPositions,
  replaysViews: true,
  // the shared cache: every token as written (interleaved: the others' steps once finished)
  peersRead: "all",
  codeTasks: true,
  compared: () => ["hogwild:2", "hogwild:4"],
  // 2: an answer already written is read from each writer's text alone (1 read the workers' texts joined, where
  // one's stray brace could close the box another left open); 3: at a checkpoint on the pass where a step ends,
  // the re-encoding finisher reads that step in the history (2 showed it as an unfinished step, marked cut; `fork`
  // reads the workers' blocks as they are, that step's last token not yet written, as before); 4: the redundancy
  // check is encoded with the step prefix it follows, as one text ("**" " Quick"; 3 encoded the two apart, "**" " "
  // "Quick"); 5: the first pass writes only the header blocks a view or the finisher reads (4 wrote the marker's
  // block under every finisher but the fork's, and every header under `interleaved`, `no-collab`: charged, never read)
  version: 5,
};
