/**
 * Data sets from the Hugging Face hub (e.g. GAIR/LIMO, openai/gsm8k) through @huggingface/hub, into the
 * standard cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), usable offline once there:
 * with HF_HUB_OFFLINE=1, or when the hub cannot be reached, the cached snapshot of refs/<revision> is read.
 */
import { downloadFileToCacheDir, getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../engine/errors.ts";

export interface HubOptions {
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
  /** for tests: the network, as @huggingface/hub sees it */
  fetch?: typeof fetch;
}

export function hubCacheDir(): string {
  return Deno.env.get("HF_HUB_CACHE") ?? (Deno.env.get("HF_HOME") ? join(Deno.env.get("HF_HOME")!, "hub") : getHFHubCachePath());
}

/** The cached copy of `path` in dataset `repo` at `revision` (a branch, tag or commit), if any. */
export function cachedFile(cacheDir: string, repo: string, path: string, revision = "main"): string | undefined {
  const root = join(cacheDir, getRepoFolderName({ name: repo, type: "dataset" }));
  const ref = join(root, "refs", revision);
  const commit = existsSync(ref) ? readFileSync(ref, "utf8").trim() : /^[0-9a-f]{40}$/.test(revision) ? revision : undefined;
  if (!commit) return undefined;
  const file = join(root, "snapshots", commit, path);
  return existsSync(file) ? file : undefined;
}

/** A local path to `path` of dataset `repo`: downloaded into the cache, or the cached copy offline. */
export async function hubFile(repo: string, path: string, opts: HubOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const revision = opts.revision ?? "main";
  const cached = cachedFile(cacheDir, repo, path, revision);
  const offline = opts.offline ?? Deno.env.get("HF_HUB_OFFLINE") === "1";
  if (offline) {
    if (cached) return cached;
    throw new InputError(`hf:${repo}: ${path} (revision ${revision}) is not in the cache ${cacheDir}, and the hub is off (HF_HUB_OFFLINE=1)`);
  }
  try {
    return await downloadFileToCacheDir({ repo: { type: "dataset", name: repo }, path, revision, cacheDir, fetch: opts.fetch });
  } catch (e) {
    if (cached) {
      console.error(`hf:${repo}: the hub is unreachable (${(e as Error).message}); using the cached ${cached}`);
      return cached;
    }
    throw new InputError(`hf:${repo}: cannot download ${path} (${(e as Error).message}) and it is not in the cache ${cacheDir}`);
  }
}
