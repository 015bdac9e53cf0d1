/** The harness's own cost per forward pass (deno task perf), measured with a backend that does nothing. */
import { Bench } from "tinybench";
import { KVCache } from "../../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../../engine/plan.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { parseMethod, runSpec } from "../generation/methods.ts";
import { Run } from "../generation/run.ts";
import { step, type StepModel } from "../generation/schedule.ts";

/** A backend that does nothing but what the harness needs of one: plans checked, pages reserved, tokens out. */
class NullModel implements StepModel {
  #at = 0;
  constructor(readonly ids: number[]) {}
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((r) => (r.sampler ? this.ids[this.#at++ % this.ids.length] : -1));
  }
}

/**
 * The harness's own cost per forward pass, with a backend that does nothing (plans built and checked, tokens
 * decoded, steps detected, commits and bookkeeping done) for each worker count and 1, 8 and 32 problems at
 * once: it must stay a small part of a real pass (under 0.4 ms at 8 workers: 2% of ~20 ms for 32B on an H100).
 */
export async function harnessPerf(workerCounts: number[]) {
  const tok = TextTokenizer.qwen3();
  // Text with sentence ends and blank lines, so that steps end and commit as they do in real runs.
  const ids = tok.encode(
    Array.from(
      { length: 40 },
      (_, i) => `Step ${i}: we compute the sum of the first ${i + 3} squares, which gives a number we check twice.\n\n`,
    ).join(""),
  );
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  console.log(`\n# the harness's own cost per forward pass (a backend that does nothing), median of 400 passes\n`);
  console.log("| workers | problems | ms/pass (median) | µs per worker row |");
  console.log("|---:|---:|---:|---:|");
  const results = [];
  for (const w of workerCounts) {
    for (const problems of [1, 8, 32]) {
      const cache = new KVCache({ bytes: 0, pages: 1 << 22, pageSize: 16 });
      const model = new NullModel(ids);
      const runs = Array.from(
        { length: problems },
        (_, i) =>
          new Run(
            cache,
            runSpec(parseMethod(`hogwild:${w}`), `Problem ${i}: add the numbers.`, i, {
              tokenizer: tok,
              generation,
              budgets: [1_000_000],
              finisherTokens: 16,
            }),
          ),
      );
      for (let i = 0; i < 50; i++) await step(model, cache, runs); // past the prefill
      const bench = new Bench({ iterations: 400, time: 0, warmupIterations: 20, warmupTime: 0 });
      bench.add("pass", async () => void await step(model, cache, runs));
      await bench.run();
      const ms = bench.tasks[0].result.state === "completed" ? bench.tasks[0].result.latency.p50 : NaN;
      results.push({ workers: w, problems, ms });
      console.log(`| ${w} | ${problems} | ${ms.toFixed(3)} | ${(1000 * ms / (w * problems)).toFixed(1)} |`);
    }
  }
  return results;
}
