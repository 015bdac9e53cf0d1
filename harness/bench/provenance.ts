/**
 * Where a run's numbers come from, as run.json records it: the model (source, revision, config hash), the
 * versions (Deno, the project's commit, the grader), the machine and the device's options.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathExists } from "../../engine/files.ts";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Engine } from "../../engine/model.ts";
import { loadNative } from "../../engine/native.ts";
import { GRADER_VERSION } from "../../tasks/grading/grader.ts";

/** run.json's model, versions, machine and device_options, in that order, for a run on `device`. */
export function provenance(source: string, engine: Engine, device: string) {
  return {
    model: modelInfo(source, engine),
    versions: { deno: Deno.version.deno, project: git("rev-parse", "HEAD") ?? "unknown", grader: GRADER_VERSION },
    machine: machine(device),
    device_options: device === "cuda" ? engine.deviceOptions : null,
  };
}

function git(...args: string[]): string | undefined {
  try {
    const out = new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function modelInfo(source: string, engine: Engine) {
  const config = join(source, "config.json");
  // random:SHAPE has no file: its config as JSON with sorted keys, so that the hash does not follow code order
  const text = pathExists(config)
    ? readFileSync(config, "utf8")
    : JSON.stringify(engine.config, (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
        )
        : v);
  const snapshot = /snapshots\/([0-9a-f]{40})/.exec(source)?.[1];
  return {
    source,
    revision: snapshot ?? (source.startsWith("random:") ? source : "local folder"),
    config_sha256: createHash("sha256").update(text).digest("hex"),
    family: engine.config.family,
  };
}

function machine(device: string) {
  const cuda = device === "cuda" ? loadNative().cudaInfo() : undefined;
  return {
    os: `${Deno.build.os}-${Deno.build.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gb: +(totalmem() / 2 ** 30).toFixed(1),
    gpu: cuda?.name || null,
  };
}
