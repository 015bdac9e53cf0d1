/**
 * deno task rescore RUN_DIR --out DIR: a run folder's records graded again by today's grader, into a new run
 * folder, without generating anything: the answers, times and traces stay, a plain majority's vote is counted
 * again from its paths (a weighted one stays: its weights are not kept); every verdict is made anew
 * (nothing of the old one kept), `grader` says the new version, and the key's grader field follows, so that the
 * bench resumes the new folder under this grader. A folder that is a run still in progress is refused.
 */
import { join } from "node:path";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { checkPathFlags, jsonLines, replaceFile } from "../engine/files.ts";
import { GradePool } from "../tasks/grading/pool.ts";
import { GRADER_VERSION } from "../tasks/grading/grader.ts";
import type { BenchSpec } from "../harness/bench/spec.ts";
import { gradeCheckpoints, graderFailures, graderFailuresText, recountVotes } from "../harness/bench/grading.ts";
import { report } from "../harness/report/report.ts";
import { progress } from "../harness/bench/progress.ts";
import {
  type BenchRecord,
  checkMeta,
  checkReadFolder,
  lockedBy,
  NewRunFolder,
  readRecords,
  readRunJson,
  type RecordCheckpoint,
  recordKey,
  recordsTraces,
} from "../harness/bench/rundir.ts";
import { voteScore } from "../harness/report/curves.ts";
import { TIMING_VERSION } from "../harness/generation/solver.ts";
import { loadTask, taskSpec } from "../tasks/registry.ts";

const USAGE = `usage: deno task rescore RUN_DIR --out DIR
  grades every record of RUN_DIR again with this grader (${GRADER_VERSION}) into the new run folder DIR:
  records.jsonl with the new verdicts (a plain majority's vote counted again from its paths; a vote weighed by
  confidences stays as run), traces.jsonl (its records' traces), curves.csv, summary.md and the plots`;

/**
 * A generated task's records must hold the golds and grading this version makes of their problems: grading
 * anew what an older version wrote (chains's golds as a list, before grader 6 named its parts) would stamp
 * today's grader on yesterday's rules.
 */
async function checkGeneratedProblems(dir: string, spec: BenchSpec, records: readonly BenchRecord[]) {
  for (const task of new Set(records.map((r) => r.task))) {
    if (!taskSpec(task).generate) continue;
    const today = await loadTask(task, { seed: Math.min(...spec.seeds), synthetic: spec.synthetic });
    const made = new Map(today.problems.map((p) => [p.id, JSON.stringify([p.golds, p.grading])]));
    const stale = records.find((r) =>
      r.task === task && made.has(r.problem_id) && made.get(r.problem_id) !== JSON.stringify([r.golds, r.grading])
    );
    check(
      stale === undefined,
      `${dir}: task ${task}'s problem ${stale?.problem_id} holds golds ${JSON.stringify(stale?.golds)} graded as ` +
        `"${stale?.grading}", and this version makes ${made.get(stale?.problem_id ?? "")} of it (its golds or ` +
        "grading changed since: docs/tasks-and-grading.md): grading its answers anew would not be today's grade; " +
        "run the bench again into another folder",
    );
  }
}

export const OPTIONS = { out: { type: "string" } } as const;

/** Records graded at once: enough to keep the grading workers busy, few enough that their old copies go soon. */
const WINDOW = 256;

async function main() {
  const { values: f, positionals } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { out: "folder" });
  positionals.forEach(checkReadFolder);
  check(positionals.length === 1, "rescore: name one run folder (--help for the usage)");
  check(f.out, "rescore: --out DIR is required (a new run folder; RUN_DIR is left as it is)");
  // before the grading, whose work a refused --out would lose, and never the folder read
  const folder = NewRunFolder.claim(f.out, "rescore", positionals);
  try {
    await rescore(folder, positionals[0], f.out);
  } finally {
    folder.release();
  }
}

/** Grades `dir`'s records again into `folder` (--out `out`). */
async function rescore(folder: NewRunFolder, dir: string, out: string) {
  const run = readRunJson(dir);
  checkMeta(join(dir, "run.json"), run);
  check(
    typeof run.spec === "object" && run.spec !== null && typeof run.spec_full === "object" && run.spec_full !== null,
    `${dir}/run.json: not a bench run's run.json (no "spec" or "spec_full")`,
  );
  const writer = lockedBy(dir);
  check(writer === undefined, `${dir}: a bench (${writer}) is writing it; rescore it once it is done`);
  const records = readRecords(dir);
  const code = records.find((r) => r.grading === "code");
  check(
    code === undefined,
    `${dir}: records of code task ${code?.task} hold programs, not their tests; grade them again with ` +
      "deno task grade --cases (a line per program with its problem row)",
  );
  await checkGeneratedProblems(dir, run.spec_full as BenchSpec, records);
  // An unfinished run is rescored as it is, said so: its methods may stand on different problems.
  const planned = Array.isArray(run.planned) ? run.planned.length : records.length;
  if (records.length < planned) {
    console.error(`rescore: ${dir} holds ${records.length} of its ${planned} planned records (an unfinished run)`);
  }
  const timing = (run.spec as Record<string, unknown>).timing ?? 1;
  if (timing !== TIMING_VERSION) {
    console.error(
      `rescore: ${dir}'s times were counted by an older rule (timing ${JSON.stringify(timing)}, now ` +
        `${TIMING_VERSION}: docs/run-files.md); the new folder keeps them, and no bench resumes it`,
    );
  }
  const { recounted, kept } = recountVotes(records);
  if (kept.length) {
    console.error(
      `rescore: the votes of ${kept.join(", ")} stay as their run counted them (weighed by confidences, or tied by ` +
        "when each path answered, which the records do not keep): graded anew, but grouped by the old grader's " +
        "normalisation (and so is an answer that is its method's vote or majority)",
    );
  }
  // each verdict counted apart: a grader change that moves only the lenient score, a vote or a path is a change
  const verdicts: [string, (c: RecordCheckpoint) => unknown][] = [
    ["strict", (c) => c.score_strict],
    ["lenient", (c) => c.score_lenient],
    ["vote", voteScore],
    ["paths", (c) => [c.paths_score_strict, c.paths_equal_strict]],
  ];
  // a time-out is no verdict on the answer, yet counts as wrong (and as a change): said apart, beside the old count
  const old = graderFailures(records), changed = verdicts.map(() => 0);
  const was = [...new Set(records.map((r) => r.grader))].join(", "); // in order of first use
  let first = Infinity;
  // Graded a window at a time, each record's changes counted and its old copy let go as its new one comes: a run's
  // records held once (three copies of 20,000 records took 1.6 GB), the grading workers kept busy.
  const pool = new GradePool(), bar = progress(recounted.length, 0, { command: "rescore" });
  const graded: BenchRecord[] = recounted;
  let done = 0;
  try {
    for (let at = 0; at < graded.length; at += WINDOW) {
      await Promise.all(
        graded.slice(at, at + WINDOW).map(async (r, j) => {
          const i = at + j, checkpoints = await gradeCheckpoints(r.checkpoints, r, pool);
          verdicts.forEach(([, of], v) => {
            const before = records[i].checkpoints;
            if (checkpoints.some((c, n) => JSON.stringify(of(c)) !== JSON.stringify(of(before[n])))) {
              changed[v]++, first = Math.min(first, i);
            }
          });
          graded[i] = records[i] = { ...r, checkpoints, grader: GRADER_VERSION };
          bar.update(++done);
        }),
      );
    }
  } finally {
    pool.close(), bar.stop();
  }
  const spec = { ...(run.spec_full as BenchSpec), out };
  const files = await folder.write(async (partial) => {
    replaceFile(
      join(partial, "run.json"),
      JSON.stringify(
        {
          ...run,
          spec: { ...(run.spec as Record<string, unknown>), grader: GRADER_VERSION },
          spec_full: spec,
          rescored: { from: dir, graders_before: was, grader: GRADER_VERSION, at: new Date().toISOString() },
        },
        null,
        1,
      ) + "\n",
    );
    replaceFile(join(partial, "records.jsonl"), jsonLines(graded));
    // the traces of the records kept, as the bench's resume keeps them (a killed folder's orphan or torn trace
    // would make the new folder one that merge and the viewer refuse)
    replaceFile(
      join(partial, "traces.jsonl"),
      recordsTraces(join(dir, "traces.jsonl"), new Set(records.map(recordKey))).lines,
    );
    return await report(partial, spec, graded, run);
  });
  console.error(
    `rescore: ${graded.length} records of ${dir} graded by ${GRADER_VERSION} (before: ${was}) into ${out}; ` +
      `records with a changed verdict: ${verdicts.map(([name], v) => `${changed[v]} ${name}`).join(", ")}${
        first < graded.length ? `, e.g. ${recordKey(graded[first]).replaceAll("\t", " / ")}` : ""
      }; ${graderFailuresText(graderFailures(graded))} (before: ${old.timedOut} timed out, ${old.failed} failed, ` +
      `${old.paths} paths) (${files.join(", ")})`,
  );
}

if (import.meta.main) runMain(main);
