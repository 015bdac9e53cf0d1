/**
 * The runs against the model's trained context, before any pass. The engine refuses a pass past
 * max_position_embeddings only when that pass comes: hours into a bench, the runs in flight lost. Each method's
 * family knows the fewest positions its run needs by the largest budget (Family.minPositions, a lower bound), so
 * a method that cannot fit is refused here, on each task's longest problem, and one that could fit never is.
 */
import { check } from "../../engine/errors.ts";
import type { Problem } from "../../tasks/problem.ts";
import { problemName } from "./problem_check.ts";

export interface ContextCheck {
  methods: readonly string[];
  problems: readonly Problem[];
  /** the largest budget, in passes */
  budget: number;
  /** the model's max_position_embeddings (undefined: its config names none), and where it was read */
  limit: number | undefined;
  limitFrom: string;
  /** --allow-long-context: nothing to check */
  allowed: boolean;
  /** the tokens of a problem's text (which problem of a task is the longest) */
  tokens: (text: string) => number;
  /** the family's bound for `method`'s run of `problem` (its job's context) */
  bound: (problem: Problem, method: string) => number;
}

/** Refuses the first method whose run of a task's longest problem cannot fit the model's positions. */
export function checkContext(c: ContextCheck): void {
  if (c.allowed || c.limit === undefined) return;
  const longest = new Map<string, { problem: Problem; tokens: number }>();
  for (const problem of c.problems) {
    const tokens = c.tokens(problem.text), was = longest.get(problem.task);
    if (!was || tokens > was.tokens) longest.set(problem.task, { problem, tokens });
  }
  for (const { problem } of longest.values()) {
    for (const method of c.methods) {
      const need = c.bound(problem, method);
      check(
        need <= c.limit,
        `method ${method} at the largest of --budgets, ${c.budget} passes: a run of ${problemName(problem)} needs ` +
          `${need} positions at least (its prompt and what the method's writers write into one view by then), more ` +
          `than the model's max_position_embeddings ${c.limit} (${c.limitFrom}), so the bench would stop mid-run: ` +
          "lower --budgets or the workers, or allow it (--allow-long-context)",
      );
    }
  }
}
