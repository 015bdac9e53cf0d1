/**
 * The control the demo model's effect is measured against (its model card, tests/harness/bench/demo_effect_test.ts):
 * `hidden-steps`, the combined layout with the others' unfinished steps taken out of every worker's view and
 * the headers kept, so a worker still sees a team's page, just not what the others are writing now. It is not
 * one of the bench's layouts (a user has no reason to run it): registering it here makes `hogwild:N:hidden-steps`
 * parse for the test and for this command, which runs the bench with it:
 *
 *   deno run -A tools/demo-model/control.ts [bench flags] --methods hogwild:2:hidden-steps,…
 */
import { runMain } from "../../engine/errors.ts";
import { LAYOUTS } from "../../harness/generation/layouts.ts";

export const CONTROL = "hidden-steps";

/** Adds the control to LAYOUTS (once). */
export function registerControl(): void {
  LAYOUTS[CONTROL] ??= {
    ...LAYOUTS.combined,
    name: CONTROL,
    view: (t, w) => [t.prompt, ...t.history, ...(t.collab ? [t.headers.others, t.headers.own] : []), w.own],
  };
}

if (import.meta.main) {
  registerControl();
  if (Deno.args.some((a) => a === "--help" || a === "-h")) {
    console.log(`usage: deno run -A tools/demo-model/control.ts [bench flags]: deno task bench with the control layout
  (hogwild:N:${CONTROL}) registered; the bench's flags follow.\n`);
  }
  const { bench } = await import("../../cli/bench.ts"); // only the command needs the bench
  await runMain(() => bench(Deno.args));
}
