/**
 * deno task tasks: the task registry from the command line.
 *
 *   tasks list                                               every task, its finisher limit and source
 *   tasks load --task ID [--data FILE|DIR | --hub hf:REPO[:FILE] | --data-dir DIR] [--limit N] [--skip-bad]
 *              [--seed S] [--parts K --digits D --count N]    (synthetic knobs)  [--out FILE.jsonl]
 * `load` prints a summary on stderr and the problems as JSONL ({id, task, text, golds, grading}, and a code
 * problem's `code`: how its program runs, and its tests).
 */
import { checkOutputFiles, checkPathFlags, jsonLines, replaceFile } from "../engine/files.ts";
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { checkDataFlags, checkGeneratedKnobs, checkSeedFlag, loadTask, parseFields, TASKS } from "../tasks/registry.ts";
import { loadLcbTexts, parseLcbDates } from "../tasks/code/lcb.ts";
import { skippedText } from "../tasks/records.ts";

const USAGE = `usage: deno task tasks list
       deno task tasks load --task ID [--data FILE|DIR | --hub hf:OWNER/NAME[@REVISION][:FILE] | --data-dir DIR]
                            [--limit N] [--skip-bad] [--seed S] [--parts K] [--digits D] [--count N] [--out FILE]
                            [--fields question=NAME,answer=NAME,id=NAME]   (--task custom: your data's fields)
                            [--lcb-dates FROM:TO] [--lcb-prompt FILE]    (--task lcb: contest dates, the texts)
--skip-bad: a malformed record (not JSON, or a field the task cannot read) is skipped and counted, not an error
--data, --data-dir, --hub and --skip-bad go with a data set's task (a generated task reads no data); --seed with a
  task it shapes (the generated ones, gsm8k-x5's grouping); list takes no flags`;

function int(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : parseInteger(v, `--${flag}`);
}

export const OPTIONS = {
  task: { type: "string" },
  data: { type: "string" },
  hub: { type: "string" },
  "data-dir": { type: "string" },
  limit: { type: "string" },
  "skip-bad": { type: "boolean" },
  seed: { type: "string" },
  parts: { type: "string" },
  digits: { type: "string" },
  count: { type: "string" },
  out: { type: "string" },
  fields: { type: "string" },
  "lcb-dates": { type: "string" },
  "lcb-prompt": { type: "string" },
} as const;

async function main() {
  const { values: f, positionals } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { data: "file or folder", "data-dir": "folder", out: "file", "lcb-prompt": "file" });
  const command = positionals[0];
  check(
    positionals.length === 1 && (command === "list" || command === "load"),
    "expected one command: list or load (--help for the usage)",
  );
  if (command === "list") {
    const given = Object.keys(f).find((k) => f[k as keyof typeof f] !== undefined);
    check(given === undefined, `--${given}: list takes no flags (it goes with load)`);
    for (const t of Object.values(TASKS)) {
      console.log(
        `${t.id.padEnd(14)} finisher ${String(t.finisherTokens).padStart(2)} tokens  ${t.description}\n${
          "".padEnd(14)
        } source: ${t.source}`,
      );
    }
    return;
  }
  check(f.task, "load: --task ID is required (--help for the usage)");
  checkOutputFiles({ "--out": f.out }, { "--data": f.data, "--data-dir": f["data-dir"] });
  checkDataFlags([f.task], { data: f.data, hub: f.hub, dataDir: f["data-dir"], skipBad: f["skip-bad"] });
  const synthetic = { parts: int(f.parts, "parts"), digits: int(f.digits, "digits"), count: int(f.count, "count") };
  checkGeneratedKnobs([f.task], Object.values(synthetic).filter((v) => v !== undefined).length);
  if (f.seed !== undefined) checkSeedFlag(f.task);
  const loaded = await loadTask(f.task, {
    data: f.data,
    hub: f.hub,
    dataDir: f["data-dir"],
    limit: f.limit === undefined ? undefined : parseInteger(f.limit, "--limit", 1),
    skipBad: f["skip-bad"],
    seed: f.seed === undefined ? undefined : parseInteger(f.seed, "--seed", 0, 2 ** 32 - 1),
    synthetic: Object.fromEntries(Object.entries(synthetic).filter(([, v]) => v !== undefined)),
    fields: f.fields === undefined ? undefined : parseFields(f.fields),
    lcbDates: f["lcb-dates"] === undefined ? undefined : parseLcbDates(f["lcb-dates"], "--lcb-dates"),
    lcbTexts: f["lcb-prompt"] === undefined ? undefined : loadLcbTexts(f["lcb-prompt"]),
  });
  // Line by line: a code task's problems carry their tests, more than one string may hold.
  const lines = jsonLines(loaded.problems);
  if (f.out) replaceFile(f.out, lines);
  else {
    for (const line of lines) {
      const b = new TextEncoder().encode(line);
      for (let at = 0; at < b.length;) at += Deno.stdout.writeSync(b.subarray(at));
    }
  }
  console.error(
    `${loaded.task.id}: ${loaded.problems.length} problems from ${loaded.files.join(", ") || "the generator"}` +
      (loaded.skipped.length ? `; ${skippedText(loaded.skipped)}` : ""),
  );
  for (const note of loaded.notes) console.error(`${loaded.task.id}: ${note}`);
}

if (import.meta.main) runMain(main);
