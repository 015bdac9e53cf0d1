/**
 * harness/bench/context_check.ts: generated (method, budget, limit) triples around each family's bound, refused
 * exactly when the bound is past the limit (naming the method, the budget, the bound, the limit and the flag),
 * on each task's longest problem; never with --allow-long-context or a config that names no limit. The bound
 * itself never past what a run reaches: tests/harness/generation/methods_test.ts (minPositions); the bench
 * refusing before any pass: tests/cli/bench_test.ts.
 */
import assert from "node:assert/strict";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { checkContext, type ContextCheck } from "../../../harness/bench/context_check.ts";
import { minPositions, parseMethod } from "../../../harness/generation/methods.ts";
import type { Problem } from "../../../tasks/problem.ts";
import { randInt, Rng } from "../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const METHODS = ["sequential", "hogwild:2", "hogwild:6", "hogwild:2:interleaved", "sc:2", "sot", "leap:2:every=8"];

const problem = (task: string, id: string, text: string) => ({ task, id, text }) as unknown as Problem;

function check(methods: string[], problems: Problem[], budget: number, limit: number | undefined, allowed = false) {
  const c: ContextCheck = {
    methods,
    problems,
    budget,
    limit,
    limitFrom: "config.json",
    allowed,
    tokens: (text) => tok.encode(text).length,
    bound: (p, m) =>
      minPositions(parseMethod(m), p.text, { tokenizer: tok, generation, budgets: [budget], finisherTokens: 4 }),
  };
  return () => checkContext(c);
}

Deno.test("generated (method, budget, limit) around the bound: refused exactly when the bound is past the limit, naming all four and the flag", () => {
  const rng = new Rng(5);
  for (const method of [...METHODS, "groupthink:3", "deepconf:2:online"]) {
    for (let k = 0; k < 4; k++) {
      const budget = randInt(rng, 1, 4000), text = "What is " + Array(randInt(rng, 1, 60)).fill("7").join(" + ") + "?";
      const p = [problem("t", "p1", text)];
      const need = minPositions(parseMethod(method), text, {
        tokenizer: tok,
        generation,
        budgets: [budget],
        finisherTokens: 4,
      });
      for (const limit of [need - 2, need - 1, need, need + 1, need + 50]) {
        const what = `${method} at ${budget} passes, limit ${limit} (bound ${need})`;
        if (limit >= need) {
          check([method], p, budget, limit)();
          continue;
        }
        assert.throws(check([method], p, budget, limit), (e: Error) => {
          assert.ok(e.message.startsWith(`method ${method} at the largest of --budgets, ${budget} passes: `), what);
          assert.match(e.message, new RegExp(`task t, problem "p1" needs ${need} positions at least`), what);
          assert.match(e.message, new RegExp(`max_position_embeddings ${limit} \\(config\\.json\\)`), what);
          assert.match(e.message, /allow it \(--allow-long-context\)$/, what);
          return true;
        });
        check([method], p, budget, limit, true)(); // --allow-long-context
      }
      check([method], p, budget, undefined)(); // a config with no max_position_embeddings
    }
  }
});

Deno.test("each task's longest problem is the one checked: a short one that fits does not hide a long one that does not", () => {
  const short = problem("a", "short", "1 + 1?"), long = problem("a", "long", "What is " + "12 + ".repeat(300) + "1?");
  const other = problem("b", "other", "2 + 2?");
  const ctx = (budget: number) => ({ tokenizer: tok, generation, budgets: [budget], finisherTokens: 4 });
  const needLong = minPositions(parseMethod("hogwild:2"), long.text, ctx(100));
  const needShort = minPositions(parseMethod("hogwild:2"), short.text, ctx(100));
  assert.ok(needShort < needLong);
  assert.throws(check(["hogwild:2"], [short, long, other], 100, needLong - 1), /task a, problem "long"/);
  check(["hogwild:2"], [short, long, other], 100, needLong)();
  // the first method of the list that cannot fit is named
  assert.throws(check(["sequential", "hogwild:6"], [short], 400, 1000), /^InputError: method hogwild:6 /);
});
