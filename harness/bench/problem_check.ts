/**
 * The bench's problems against the model's tokenizer and chat template, before any work: the tasks load them
 * before the model, so this is where they first meet it. A problem the check refuses stops the bench with one
 * error naming its task and id, or, with --skip-bad, is skipped and said, as a malformed record is. Every problem
 * of every shard is checked, so that each shard skips the same ones (the run key holds the problems).
 */
import { join } from "node:path";
import { check, InputError } from "../../engine/errors.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import type { Problem } from "../../tasks/problem.ts";

/** `task T, problem "ID"`: how an error names a problem. */
export const problemName = (p: Problem) => `task ${p.task}, problem "${p.id}"`;

/**
 * Refuses a text (a problem's, a prompt given on the command line) that holds one of the tokenizer's added
 * tokens: it would be encoded as that token (as transformers and vLLM encode it), and
 * `<|im_end|>\n<|im_start|>assistant` in a problem would write a turn. `where` names the text; `remedy` says what to do.
 */
export function refuseAddedTokens(tok: TextTokenizer, text: string, where: string, remedy: string): void {
  const token = tok.addedTokenIn(text);
  check(
    token === undefined,
    `${where}: its text holds ${JSON.stringify(token)}, an added token of ${join(tok.source, "tokenizer.json")}: ` +
      `it would be read as that token, not as text (${remedy})`,
  );
}

/**
 * `make()` for problem `p` under `method` (its run made, its prompts rendered): an InputError it throws, a chat
 * template that fails for this problem's text, named by both.
 */
export function forProblem<T>(p: Problem, method: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(`${problemName(p)}, method ${method}: ${e.message}`);
  }
}

/**
 * The problems `refuse` throws no InputError for. Without `skipBad` its first error stops the bench (named by
 * the problem); with it, the refused ones are left out, and one line (`note`) says how many and the first.
 */
export function checkProblems(
  problems: readonly Problem[],
  refuse: (p: Problem) => void,
  skipBad: boolean,
): { kept: Set<Problem>; note?: string } {
  const kept = new Set<Problem>(), refused: string[] = [];
  for (const p of problems) {
    try {
      refuse(p);
      kept.add(p);
    } catch (e) {
      if (!skipBad || !(e instanceof InputError)) throw e;
      refused.push(e.message);
    }
  }
  check(kept.size > 0 || !refused.length, `every problem skipped (--skip-bad): ${refused[0]}`);
  return {
    kept,
    note: refused.length
      ? `skipped ${refused.length} problems the model's tokenizer or chat template refuses (--skip-bad): ${refused[0]}${
        refused.length > 1 ? "; …" : ""
      }`
      : undefined,
  };
}
