/**
 * deno task merge SHARD_DIR… --out DIR: the shards of one run (--shard i/n) into one run folder. Refused
 * unless the shards share their spec, cover 0…n-1 once each, and together hold every planned record once.
 */
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { checkReadFolder } from "../harness/bench/rundir.ts";
import { checkPathFlags } from "../engine/files.ts";
import { mergeShards } from "../harness/report/merge.ts";

export const OPTIONS = { out: { type: "string" } } as const;

async function main() {
  const { values: f, positionals: dirs } = parseFlags(
    OPTIONS,
    "usage: deno task merge SHARD_DIR… --out DIR",
    Deno.args,
    true,
  );
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { out: "folder" });
  dirs.forEach(checkReadFolder);
  check(dirs.length >= 1, "merge: name the shard folders");
  check(f.out, "merge: --out DIR is required");
  const { records, files } = await mergeShards(dirs, f.out);
  console.error(`merge: ${records} records from ${dirs.length} shards into ${f.out} (${files.join(", ")})`);
}

if (import.meta.main) runMain(main);
