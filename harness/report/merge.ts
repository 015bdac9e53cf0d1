/**
 * The shards of one run (--shard i/n) merged into one run folder. Refused unless the shards share their spec,
 * cover 0…n-1 once each, and together hold every planned record once.
 */
import { join } from "node:path";
import { check } from "../../engine/errors.ts";
import { fileLines, jsonLines, pathExists, replaceFile } from "../../engine/files.ts";
import type { BenchSpec } from "../bench/spec.ts";
import {
  checkMeta,
  checkOneGrader,
  dataDifference,
  differences,
  eachLine,
  finisherLimitsChanged,
  NewRunFolder,
  readRecords,
  readRunJson,
  recordKey,
  type TraceLine,
} from "../bench/rundir.ts";
import { report } from "./report.ts";

/** The shards' run.json and records, checked to be one run's shards, each once, with every planned record once. */
function readShards(dirs: string[]) {
  const runs = dirs.map((d) => {
    const run = readRunJson(d), file = join(d, "run.json");
    checkMeta(file, run);
    check(
      run.spec !== undefined && Array.isArray(run.planned),
      `${file}: not a bench run's run.json (no "spec" or "planned")`,
    );
    return {
      dir: d,
      run: run as {
        spec: Record<string, unknown>;
        spec_full: BenchSpec;
        planned: string[];
        invocations?: unknown[];
        cost_model?: unknown;
        model?: unknown;
        sampling?: unknown;
        data_notes?: unknown;
        finisher_tokens?: unknown;
        protocol?: unknown;
        machine?: unknown;
        versions?: unknown;
        device_options?: unknown;
      },
    };
  });
  const { shard: _s0, ...first } = runs[0].run.spec;
  const count = (runs[0].run.spec.shard as { count: number } | undefined)?.count;
  check(count !== undefined, `${dirs[0]}: not a shard (its spec has no shard)`);
  const seen = new Set<number>();
  for (const { dir, run } of runs) {
    const { shard, ...rest } = run.spec as { shard?: { index: number; count: number } };
    check(shard && shard.count === count, `${dir}: not a shard of ${count}`);
    const words: [string, string] = [`${dirs[0]} has`, dir];
    const diff = differences(first, rest, words, [runs[0].run.sampling, run.sampling]);
    // the key holds the data's hash: what chose it, as a resume says it
    const data = dataDifference(runs[0].run, run, words);
    if (data) diff.push(data.line);
    const limits = finisherLimitsChanged(runs[0].run.finisher_tokens, run.finisher_tokens);
    if (limits) diff.push(limits);
    check(
      diff.length === 0,
      `${dir}: its spec differs from ${dirs[0]}'s (${diff.join("; ")}); merge takes the shards of one run`,
    );
    check(!seen.has(shard.index), `${dir}: shard ${shard.index} given twice`);
    seen.add(shard.index);
  }
  const missingShards = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  check(missingShards.length === 0, `shards ${missingShards.join(", ")} of ${count} are missing`);
  // in the shards' order, not the command line's: the merged folder's bytes do not depend on how they were named
  const index = (r: (typeof runs)[number]) => (r.run.spec.shard as { index: number }).index;
  runs.sort((a, b) => index(a) - index(b));
  const byShard = runs.map(({ dir }) => readRecords(dir)), records = byShard.flat();
  // a shard's records of two graders would pool two gradings under one summary (the key names one)
  checkOneGrader(runs.map(({ dir }, i) => ({ name: dir, records: byShard[i] })));
  const keys = new Map<string, number>();
  for (const r of records) keys.set(recordKey(r), (keys.get(recordKey(r)) ?? 0) + 1);
  const doubled = [...keys].filter(([, n]) => n > 1).map(([k]) => k);
  check(doubled.length === 0, `records present twice: ${doubled.slice(0, 3).join("; ").replaceAll("\t", " / ")}`);
  const planned = runs.flatMap(({ run }) => run.planned);
  const plannedSet = new Set(planned);
  const unplanned = records.find((r) => !plannedSet.has(recordKey(r)));
  check(
    !unplanned,
    `a record no shard planned: ${
      unplanned && recordKey(unplanned).replaceAll("\t", " / ")
    } (a shard's records.jsonl was changed?)`,
  );
  const missing = planned.filter((k) => !keys.has(k));
  check(
    missing.length === 0,
    `${missing.length} planned records are missing (the shards are unfinished?), e.g. ${
      missing[0]?.replaceAll("\t", " / ")
    }`,
  );
  // every record's trace too, once: the viewer, trace and judge read them
  const traceFiles: string[] = [];
  for (const [i, { dir }] of runs.entries()) {
    const own = new Set(byShard[i].map(recordKey));
    const file = join(dir, "traces.jsonl");
    // the keys alone: a shard's traces parsed whole would pass the heap (a 5 GB traces.jsonl)
    if (pathExists(file)) traceFiles.push(file);
    const lines = pathExists(file) ? Array.from(eachLine<TraceLine>(file), (l) => recordKey(l.line)) : [];
    const traced = new Set(lines);
    const without = [...own].filter((k) => !traced.has(k)).length;
    check(
      without === 0 && lines.length === own.size,
      `${join(dir, "traces.jsonl")}: ${
        without ? `${without} of the shard's ${own.size} records have no trace` : "traces that are not its records'"
      } (copy the shard's whole folder, or run its command again to mend it)`,
    );
  }
  return { runs, first, records, planned, traceFiles };
}

/**
 * The trace lines of each of `files` (those readShards found), each with its newline, in the order given; one gone
 * since fails the merge (its records would be written without their traces).
 */
function* shardTraces(files: readonly string[]): Generator<Uint8Array> {
  const newline = new Uint8Array([0x0a]);
  for (const file of files) {
    check(pathExists(file), `${file}: gone while merge read the shards (moved or removed meanwhile); nothing written`);
    for (const line of fileLines(file)) {
      if (!line.length) continue;
      yield line;
      yield newline;
    }
  }
}

/** Merges shard folders `dirs` into the new run folder `out`: the records merged and the files written. */
export async function mergeShards(dirs: string[], out: string): Promise<{ records: number; files: string[] }> {
  // before the shards are read (5 GB of traces, maybe), and never a folder among them
  const folder = NewRunFolder.claim(out, "merge", dirs);
  try {
    return await merge(folder, dirs, out);
  } finally {
    folder.release();
  }
}

/** mergeShards' work, written into `folder` (claimed for it). */
async function merge(folder: NewRunFolder, dirs: string[], out: string): Promise<{ records: number; files: string[] }> {
  const { runs, first, records, planned, traceFiles } = readShards(dirs);
  const spec = { ...runs[0].run.spec_full, shard: undefined, out };
  // What each shard ran on stays with it (solo times come from each one's own machine and cost model).
  const shards = runs.map(({ dir, run }) => ({
    dir,
    machine: run.machine,
    versions: run.versions,
    device_options: run.device_options,
    cost_model: run.cost_model,
    invocations: run.invocations ?? [],
  }));
  const run = {
    spec: first,
    spec_full: spec,
    model: runs[0].run.model,
    // one key, one model: the shards resolved one sampling
    sampling: runs[0].run.sampling,
    // every shard loads every problem (the key's data): one loader's notes
    data_notes: runs[0].run.data_notes,
    // one key, one spec: the shards' limits
    finisher_tokens: runs[0].run.finisher_tokens,
    // one key, one protocol (absent where the shards' run.json predates it)
    protocol: runs[0].run.protocol,
    merged_from: runs.map(({ dir }) => dir),
    shards,
    planned,
  };
  const files = await folder.write(async (partial) => {
    replaceFile(join(partial, "run.json"), JSON.stringify(run, null, 1) + "\n");
    replaceFile(join(partial, "records.jsonl"), jsonLines(records));
    // the shards' trace lines copied a line at a time as bytes: never all held (shards' traces pass the heap)
    replaceFile(join(partial, "traces.jsonl"), shardTraces(traceFiles));
    // the summary from the run.json written, as the bench's and rescore's are: its shards' sampling, fits, times
    return await report(partial, spec, records, run);
  });
  return { records: records.length, files };
}
