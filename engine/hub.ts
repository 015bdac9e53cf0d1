/**
 * Files from the Hugging Face hub (models such as Qwen/QwQ-32B, data sets such as GAIR/LIMO) through
 * @huggingface/hub, into the standard cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub),
 * usable offline once there: with HF_HUB_OFFLINE=1, or when the hub cannot be reached, the cached snapshot
 * of refs/<revision> is read.
 */
import { downloadFileToCacheDir, getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError } from "./errors.ts";

export type RepoType = "model" | "dataset";

export interface HubOptions {
  type?: RepoType;
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
  /** the user's hub token (gated models); default: HF_TOKEN, else the file `huggingface-cli login` writes */
  accessToken?: string;
  /** for tests: the network, as @huggingface/hub sees it */
  fetch?: typeof fetch;
}

/** The token a user gave the hub tools: HF_TOKEN, else HF_HOME/token (~/.cache/huggingface/token). */
export function hubToken(): string | undefined {
  const env = Deno.env.get("HF_TOKEN")?.trim();
  if (env) return env;
  const home = Deno.env.get("HF_HOME") ?? join(Deno.env.get("HOME") ?? "", ".cache", "huggingface");
  try {
    return readFileSync(join(home, "token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function hubCacheDir(): string {
  return Deno.env.get("HF_HUB_CACHE") ??
    (Deno.env.get("HF_HOME") ? join(Deno.env.get("HF_HOME")!, "hub") : getHFHubCachePath());
}

/** The cached copy of `path` in `repo` at `revision` (a branch, tag or commit), if any. */
export function cachedFile(
  cacheDir: string,
  repo: string,
  path: string,
  revision = "main",
  type: RepoType = "dataset",
): string | undefined {
  const root = join(cacheDir, getRepoFolderName({ name: repo, type }));
  const ref = join(root, "refs", revision);
  const commit = existsSync(ref)
    ? readFileSync(ref, "utf8").trim()
    : /^[0-9a-f]{40}$/.test(revision)
    ? revision
    : undefined;
  if (!commit) return undefined;
  const file = join(root, "snapshots", commit, path);
  return existsSync(file) ? file : undefined;
}

/** A local path to `path` of `repo` (a data set unless opts.type says model): downloaded into the cache, or the cached copy offline. */
export async function hubFile(repo: string, path: string, opts: HubOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const revision = opts.revision ?? "main";
  const type = opts.type ?? "dataset";
  const cached = cachedFile(cacheDir, repo, path, revision, type);
  const offline = opts.offline ?? Deno.env.get("HF_HUB_OFFLINE") === "1";
  if (offline) {
    if (cached) return cached;
    throw new InputError(
      `hf:${repo}: ${path} (revision ${revision}) is not in the cache ${cacheDir}, and the hub is off (HF_HUB_OFFLINE=1)`,
    );
  }
  try {
    const accessToken = opts.accessToken ?? hubToken();
    return await downloadFileToCacheDir({
      repo: { type, name: repo },
      path,
      revision,
      cacheDir,
      fetch: opts.fetch,
      ...(accessToken ? { accessToken } : {}),
    });
  } catch (e) {
    const message = (e as Error).message;
    if (/\b(401|403)\b|gated|unauthori[sz]ed|forbidden/i.test(message)) {
      throw new InputError(
        `hf:${repo}: the hub refused ${path} (${message}): the ${type} is gated or private; accept its terms at ` +
          `https://huggingface.co/${
            type === "dataset" ? "datasets/" : ""
          }${repo} and give a token (HF_TOKEN, or huggingface-cli login)`,
      );
    }
    if (cached) {
      console.error(`hf:${repo}: the hub is unreachable (${(e as Error).message}); using the cached ${cached}`);
      return cached;
    }
    throw new InputError(
      `hf:${repo}: cannot download ${path} (${(e as Error).message}) and it is not in the cache ${cacheDir}`,
    );
  }
}

/**
 * A hub model as a local folder (its snapshot in the cache): config, generation config, tokenizer files and
 * the weights (one file, or the shards an index names). Files a model does not have are skipped.
 */
export async function hubModel(repo: string, opts: HubOptions = {}): Promise<string> {
  const o = { ...opts, type: "model" as const };
  const config = await hubFile(repo, "config.json", o);
  for (const f of ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]) {
    await hubFile(repo, f, o).catch(() => undefined);
  }
  const index = await hubFile(repo, "model.safetensors.index.json", o).catch(() => undefined);
  if (index) {
    const map = JSON.parse(readFileSync(index, "utf8")).weight_map as Record<string, string>;
    for (const shard of new Set(Object.values(map))) await hubFile(repo, shard, o);
  } else {
    await hubFile(repo, "model.safetensors", o);
  }
  return dirname(config);
}

/** What --model names, as something Engine.load takes: a folder, random:SHAPE, or a hub id (fetched into the cache). */
export async function modelFolder(model: string): Promise<string> {
  if (model.startsWith("random:") || existsSync(model)) return model;
  if (/^[./~]/.test(model) || !/^[\w.-]+\/[\w.-]+$/.test(model)) {
    throw new InputError(
      /^[./~]/.test(model) // a path, by its look
        ? `--model ${model}: no such folder`
        : `--model ${model}: no such folder, and not a hub id (OWNER/NAME) or random:SHAPE`,
    );
  }
  return await hubModel(model);
}
