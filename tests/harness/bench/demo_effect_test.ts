/**
 * Hogwild!'s effect, as CI checks it on the demo model (engine/models/hogwild-demo): on held-out chains
 * problems two workers state more parts than one in the same forward passes, and more than two workers whose
 * views keep the team's page but not the others' unfinished steps (the control, tools/demo-model/control.ts),
 * paired by problem. The model takes a part at random once the parts named in the others' steps are out, so
 * no name tells two workers apart: the gain goes through the shared cache, and this test fails if a worker's
 * view loses the others' steps (tests/mutants: view-drops-others-steps).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { KVCache } from "../../../engine/cache.ts";
import { Engine } from "../../../engine/model.ts";
import { DEMO_MODEL } from "../../../harness/bench/spec.ts";
import { newSolver, parseMethod, type RunContext } from "../../../harness/generation/methods.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { chainProblems } from "../../../tasks/chains.ts";
import { gradeProblem } from "../../../tasks/grading/grader.ts";
import { CONTROL, registerControl } from "../../../tools/demo-model/control.ts";

const BUDGET = 32;
const problems = chainProblems({ parts: 4, digits: 2, count: 60, seed: 1 });

/** Each problem's score (the fraction of its parts stated right) at BUDGET passes. */
async function scores(engine: Engine, method: string): Promise<number[]> {
  const cache: KVCache = engine.newCache({ tokens: 1 << 17 });
  const ctx: RunContext = {
    tokenizer: engine.tokenizer!,
    generation: engine.generation,
    collabTemplate: join(DEMO_MODEL, "prompts", "collab.txt"),
    plainTemplate: join(DEMO_MODEL, "prompts", "plain.txt"),
    budgets: [BUDGET],
    finisherTokens: 24,
  };
  const runs = problems.map((p) => newSolver(cache, parseMethod(method), p.text, 1, ctx));
  await runAll(engine, cache, runs);
  return runs.map((run, i) => {
    const answer = run.checkpoints.find((c) => c.budget === BUDGET)?.answer;
    return gradeProblem(problems[i], answer ? `\\boxed{${answer}}` : "").score_strict;
  });
}

/**
 * The 99% interval of the mean paired difference a − b (normal approximation), stricter than the usual 95%: the
 * test passes only when both comparisons exclude no effect.
 */
function pairedInterval(a: number[], b: number[]): [number, number] {
  const d = a.map((x, i) => x - b[i]), n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return [mean - 2.576 * sd / Math.sqrt(n), mean + 2.576 * sd / Math.sqrt(n)];
}

Deno.test("demo model: hogwild:2 states more parts than sequential, and than workers blind to the others' unfinished steps", async () => {
  registerControl();
  const engine = await Engine.load(DEMO_MODEL);
  const sequential = await scores(engine, "sequential");
  const hogwild = await scores(engine, "hogwild:2");
  const control = await scores(engine, `hogwild:2:${CONTROL}`);
  const mean = (x: number[]) => (100 * x.reduce((a, b) => a + b, 0) / x.length).toFixed(1) + "%";
  console.log(
    `${problems.length} problems of 4 parts at ${BUDGET} passes: sequential ${mean(sequential)}, hogwild:2 ${
      mean(hogwild)
    }, hogwild:2:${CONTROL} ${mean(control)}`,
  );
  for (const [name, other] of [["sequential", sequential], [`hogwild:2:${CONTROL}`, control]] as const) {
    const [lo, hi] = pairedInterval(hogwild, other);
    assert.ok(lo > 0, `hogwild:2 − ${name}: 99% interval [${lo.toFixed(3)}, ${hi.toFixed(3)}] does not exclude 0`);
  }
});
