/**
 * A bench's jobs: every problem × method × seed of its tasks (this shard's problems only), each named by its
 * record's key.
 */
import type { Problem } from "../../tasks/problem.ts";
import { loadTask, taskSpec } from "../../tasks/registry.ts";
import { loadLcbTexts } from "../../tasks/code/lcb.ts";
import { skippedText } from "../../tasks/records.ts";
import type { BenchSpec } from "./spec.ts";
import { recordKey } from "./rundir.ts";

/** One run of the bench: a problem, a method and a seed, and the finisher's tokens of the problem's task. */
export interface Job {
  problem: Problem;
  method: string;
  seed: number;
  finisherTokens: number;
}

/** A job's record key (rundir.ts): what run.json plans and records.jsonl holds once. */
export const keyOf = (j: Job) =>
  recordKey({ task: j.problem.task, problem_id: j.problem.id, method: j.method, seed: j.seed });

/** The finisher's token limit of `task`'s runs: --finisher-tokens, else the task's own. */
export const finisherTokensOf = (spec: BenchSpec, task: string): number =>
  spec.finisherTokens ?? taskSpec(task).finisherTokens;

/** The job of `problem`, `method` and `seed`, with its task's finisher tokens. */
export const jobOf = (spec: BenchSpec, problem: Problem, method: string, seed: number): Job => ({
  problem,
  method,
  seed,
  finisherTokens: finisherTokensOf(spec, problem.task),
});

/**
 * Every problem × method × seed of the spec's tasks (this shard's problems only), every problem loaded, and what
 * the loader said of the data (records skipped, a part of a set), each line led by its task: on stderr, and for
 * run.json and summary.md, so that the folder keeps it.
 */
export async function loadJobs(spec: BenchSpec): Promise<{ jobs: Job[]; problems: Problem[]; notes: string[] }> {
  const jobs: Job[] = [], all: Problem[] = [], notes: string[] = [];
  for (const id of spec.tasks) {
    const loaded = await loadTask(id, {
      data: spec.data,
      dataDir: spec.dataDir,
      hub: spec.hub,
      skipBad: spec.skipBad,
      fields: spec.fields,
      ...(id === "lcb"
        ? { lcbDates: spec.lcbDates, lcbTexts: spec.lcbPrompt === undefined ? undefined : loadLcbTexts(spec.lcbPrompt) }
        : {}),
      limit: spec.limit,
      // the smallest seed: --seeds is a set, so its order changes no problem
      seed: Math.min(...spec.seeds),
      synthetic: taskSpec(id).generate ? spec.synthetic : undefined,
    });
    const said = [...loaded.skipped.length ? [skippedText(loaded.skipped)] : [], ...loaded.notes];
    for (const note of said) console.error(`${id}: ${note}`), notes.push(`${id}: ${note}`);
    for (const p of loaded.problems) all.push(p);
    const problems = loaded.problems.filter((_, i) => !spec.shard || i % spec.shard.count === spec.shard.index);
    for (const problem of problems) {
      for (const method of spec.methods) {
        for (const seed of spec.seeds) jobs.push(jobOf(spec, problem, method, seed));
      }
    }
  }
  return { jobs, problems: all, notes };
}
