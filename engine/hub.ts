/**
 * Files from the Hugging Face hub (models such as Qwen/QwQ-32B, data sets such as GAIR/LIMO) into the
 * standard cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub): several at a time, with a
 * progress line, resumed where a cut download stopped (engine/download.ts). Usable offline once there: with
 * HF_HUB_OFFLINE=1, or when the hub cannot be reached, the cached snapshot of refs/<revision> is read.
 * HF_ENDPOINT names another hub (a mirror), as the hub's own tools read it.
 */
import { getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bytesHere, downloadToCache, type Head, head, HubHttpError } from "./download.ts";
import { InputError, oneLine } from "./errors.ts";
import { localConfig, type ModelConfig, readJson, readModelConfig } from "./config.ts";
import { shardFiles } from "./safetensors.ts";

export type RepoType = "model" | "dataset";

export interface HubOptions {
  type?: RepoType;
  revision?: string;
  cacheDir?: string;
  offline?: boolean;
  /** the user's hub token (gated models); default: hubToken() */
  accessToken?: string;
  /** for tests: the network */
  fetch?: typeof fetch;
  /** the hub's address (default: HF_ENDPOINT, else https://huggingface.co) */
  hubUrl?: string;
  /** tries after a dropped or stalled connection, and the first wait (doubled each time): default 5 and 500 ms */
  retries?: number;
  retryWaitMs?: number;
  /** how long the hub may send nothing before a try is given up (default 60 s) */
  stallMs?: number;
  /** files downloaded at once (default 4) */
  parallel?: number;
  /** where progress goes (default: a line on stderr) */
  progress?: (p: DownloadProgress) => void;
}

/**
 * The token a user gave the hub tools, found as huggingface_hub finds it: HF_TOKEN, else the file HF_TOKEN_PATH
 * names, else HF_HOME/token, else ${XDG_CACHE_HOME:-~/.cache}/huggingface/token (where `hf auth login` wrote it).
 */
export function hubToken(): string | undefined {
  const env = Deno.env.get("HF_TOKEN")?.trim();
  if (env) return env;
  const home = Deno.env.get("HF_HOME") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "", ".cache"), "huggingface");
  try {
    return readFileSync(Deno.env.get("HF_TOKEN_PATH") ?? join(home, "token"), "utf8").trim() || undefined;
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

/** Where a batch of downloads stands, for a progress line. */
export interface DownloadProgress {
  repo: string;
  files: number;
  filesDone: number;
  bytes: number;
  bytesDone: number;
  /** bytes this call fetched (not counting what an earlier try left in the cache) */
  fetched: number;
  seconds: number;
  final: boolean;
}

interface Wanted {
  path: string;
  /** a file the repository may not have (a 404 skips it) */
  optional?: boolean;
}

const hubUrl = (o: HubOptions) =>
  (o.hubUrl ?? Deno.env.get("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, "");

/** HubOptions with the commit the revision was found at: asked for in its stead, the ref still written. */
type Pinned = HubOptions & { commit?: string };

function hubRequest(repo: string, path: string, cacheDir: string, o: Pinned, onBytes?: (n: number) => void) {
  const type = o.type ?? "dataset", revision = o.revision ?? "main";
  const prefix = type === "dataset" ? "datasets/" : "";
  return {
    root: join(cacheDir, getRepoFolderName({ name: repo, type })),
    // each segment encoded (huggingface_hub quotes with safe="/"): a # or ? in a name would end the path there
    url: `${hubUrl(o)}/${prefix}${repo}/resolve/${encodeURIComponent(o.commit ?? revision)}/${
      path.split("/").map(encodeURIComponent).join("/")
    }`,
    path,
    revision,
    accessToken: o.accessToken ?? hubToken(),
    fetch: o.fetch,
    retries: o.retries,
    retryWaitMs: o.retryWaitMs,
    stallMs: o.stallMs,
    onBytes,
  };
}

async function pool<T>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await job(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
}

/**
 * Local paths to `files` of `repo` (undefined for an optional file the repository lacks): each asked of the
 * hub (a HEAD), then what the cache lacks downloaded, `parallel` at a time, resumed where an earlier try
 * stopped, with progress. Offline, or with the hub unreachable, the cached snapshot is read. The first answer
 * names the commit the revision is at, and every later file is asked at that commit (as huggingface_hub's
 * snapshot download does): a branch moved meanwhile would split the files over two snapshots. `commit` comes
 * back, for a later call to go on at it.
 */
async function hubFiles(
  repo: string,
  files: Wanted[],
  opts: Pinned,
): Promise<{ paths: (string | undefined)[]; commit?: string }> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const revision = opts.revision ?? "main";
  const type = opts.type ?? "dataset";
  const offline = opts.offline ?? Deno.env.get("HF_HUB_OFFLINE") === "1";
  const out: (string | undefined)[] = files.map(() => undefined);
  const heads: { i: number; head: Head }[] = [];
  const cached = (f: Wanted) => cachedFile(cacheDir, repo, f.path, revision, type);
  let o = opts;
  const ask = async ({ f, i }: { f: Wanted; i: number }) => {
    if (offline) {
      out[i] = cached(f);
      if (out[i] || f.optional) return;
      throw new InputError(
        `hf:${repo}: ${f.path} (revision ${revision}) is not in the cache ${cacheDir}, and the hub is off ` +
          `(HF_HUB_OFFLINE=1): ${whatToDo(repo, f.path, type, revision)}`,
      );
    }
    try {
      const h = await head(hubRequest(repo, f.path, cacheDir, o));
      heads.push({ i, head: h });
      if (o.commit === undefined && h.commit) o = { ...o, commit: h.commit };
    } catch (e) {
      if (e instanceof HubHttpError && e.status === 404 && f.optional) return;
      out[i] = fallback(repo, f.path, type, revision, cacheDir, cached(f), e as Error, hubUrl(opts));
    }
  };
  const asks = files.map((f, i) => ({ f, i }));
  if (o.commit === undefined && asks.length > 1) await ask(asks.shift()!);
  await pool(asks, 8, ask);
  const done = { paths: out, commit: o.commit };
  if (heads.length === 0) return done;
  const progress: DownloadProgress = {
    repo,
    files: heads.length,
    filesDone: 0,
    bytes: heads.reduce((n, h) => n + h.head.size, 0),
    bytesDone: 0,
    fetched: 0,
    seconds: 0,
    final: false,
  };
  const t0 = performance.now();
  const report = opts.progress ?? progressLine();
  const tell = (final = false) => report({ ...progress, seconds: (performance.now() - t0) / 1000, final });
  for (const { i, head: h } of heads) {
    progress.bytesDone += bytesHere(hubRequest(repo, files[i].path, cacheDir, o), h);
  }
  const onBytes = (n: number) => {
    progress.bytesDone += n;
    progress.fetched += n;
    tell();
  };
  await pool(heads, opts.parallel ?? 4, async ({ i, head: h }) => {
    try {
      out[i] = await downloadToCache(hubRequest(repo, files[i].path, cacheDir, o, onBytes), h);
    } catch (e) {
      const kept = bytesHere(hubRequest(repo, files[i].path, cacheDir, o), h);
      out[i] = fallback(repo, files[i].path, type, revision, cacheDir, cached(files[i]), e as Error, hubUrl(opts), [
        kept,
        h.size,
      ]);
    }
    progress.filesDone++;
    tell();
  });
  tell(true);
  return done;
}

/**
 * A failed request: a gated repository says how to get in (at `hub`); otherwise the cached copy, if any, said
 * with the reason (the hub's answer, or no answer). This machine's faults (InputError: an unwritable cache, a
 * download that failed its hash) are said as they are.
 */
function fallback(
  repo: string,
  path: string,
  type: RepoType,
  revision: string,
  cacheDir: string,
  cached: string | undefined,
  e: Error,
  hub: string,
  /** bytes of it already in the cache, of its size */
  kept: [number, number] = [0, 0],
) {
  if (e instanceof InputError) throw e;
  const message = oneLine(e.message);
  const page = `${hub}/${type === "dataset" ? "datasets/" : ""}${repo}`;
  // the hub answers 401 RepoNotFound both for no such repository and for a private one the token cannot see
  if (e instanceof HubHttpError && e.code === "RepoNotFound") {
    throw new InputError(
      `hf:${repo}: the hub has no ${type} ${repo} that this request may see (${message}): check the id ` +
        `(${page}); a private one needs a token of an account that can read it (HF_TOKEN, or hf auth login)`,
    );
  }
  if ((e instanceof HubHttpError && (e.status === 401 || e.status === 403)) || /gated|unauthori[sz]ed/i.test(message)) {
    throw new InputError(
      `hf:${repo}: the hub refused ${path} (${message}): the ${type} is gated or private; accept its terms at ${page} and give a token ` +
        "(HF_TOKEN, or hf auth login)",
    );
  }
  const answered = e instanceof HubHttpError;
  if (cached) {
    const why = answered ? `the hub answered ${path} with ${message}` : `the hub is unreachable (${message})`;
    console.error(`hf:${repo}: ${why}; using the cached ${cached}`);
    return cached;
  }
  // the hub answered: downloading elsewhere would get the same answer
  if (answered && e.status === 404) {
    throw new InputError(
      e.code === "RevisionNotFound"
        ? `hf:${repo}: the hub has no revision ${revision} of ${repo} (${message}): name a branch, tag or commit ` +
          "it has"
        : `hf:${repo}: the hub has no ${path} at revision ${revision} of ${repo} (${message}): name a revision ` +
          `that has it, or give a local copy (${type === "model" ? "--model DIR" : "--data FILE"})`,
    );
  }
  const part = kept[0] > 0
    ? `; ${kept[0]} of its ${kept[1]} bytes are kept in the cache, and the same command goes on from them`
    : "";
  throw new InputError(
    `hf:${repo}: cannot download ${path} (${message}) and it is not in the cache ${cacheDir}${part}: ` +
      whatToDo(repo, path, type, revision),
  );
}

/** What a user can do when a file is neither here nor reachable (`hf`: huggingface_hub's command since 1.0). */
function whatToDo(repo: string, path: string, type: RepoType, revision: string): string {
  const local = type === "model" ? "--model DIR" : "--data FILE";
  // a model needs the whole folder; a data set, the file named; either at the revision asked for
  const what = (type === "model" ? repo : `--repo-type dataset ${repo} ${path}`) +
    (revision === "main" ? "" : ` --revision ${revision}`);
  return `download it where the hub is reachable (hf download ${what}) into this cache, or give a local copy ` +
    `(${local}); HF_ENDPOINT names a mirror, HF_HUB_CACHE the cache`;
}

/**
 * The default progress: on a terminal, one line redrawn (files, bytes, rate, time left); elsewhere a line
 * every 10 s. Silent when the cache already held everything.
 */
function progressLine(): (p: DownloadProgress) => void {
  const tty = Deno.stderr.isTerminal();
  let last = 0, shown = false;
  return (p) => {
    const now = performance.now();
    if (p.fetched === 0 && p.bytesDone === p.bytes) return;
    if (!p.final && now - last < (tty ? 250 : 10_000)) return;
    last = now;
    const rate = p.fetched / Math.max(p.seconds, 1e-3);
    const left = rate > 0 ? (p.bytes - p.bytesDone) / rate : NaN;
    const line = `hf:${p.repo}: ${p.filesDone}/${p.files} files, ${gb(p.bytesDone)}/${gb(p.bytes)}, ${gb(rate)}/s` +
      (p.final ? ` in ${duration(p.seconds)}` : Number.isFinite(left) ? `, ${duration(left)} left` : "");
    if (tty) Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}${p.final ? "\n" : ""}`));
    else if (p.final || shown || p.seconds > 10) console.error(line);
    shown = true;
  };
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function duration(s: number): string {
  return s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;
}

/** A local path to `path` of `repo` (a data set unless opts.type says model): downloaded into the cache, or the cached copy offline. */
export async function hubFile(repo: string, path: string, opts: HubOptions = {}): Promise<string> {
  return (await hubFiles(repo, [{ path }], opts)).paths[0]!;
}

/** hubFile for several files of `repo`, fetched together, at one commit. */
export async function hubFileList(repo: string, paths: readonly string[], opts: HubOptions = {}): Promise<string[]> {
  return (await hubFiles(repo, paths.map((path) => ({ path })), opts)).paths as string[];
}

/**
 * A hub model as a local folder (its snapshot in the cache): config, generation config, tokenizer files, the
 * optional `extra` files and the weights (one file, or the shards an index names, several at a time). Files a
 * model does not have are skipped.
 */
export async function hubModel(repo: string, opts: HubOptions = {}, extra: readonly string[] = []): Promise<string> {
  const o = { ...opts, type: "model" as const };
  const optional = [
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    ...extra,
  ];
  const { paths: got, commit } = await hubFiles(repo, [
    { path: "config.json" },
    ...optional.map((path) => ({ path, optional: true })),
    { path: "model.safetensors.index.json", optional: true },
  ], o);
  const config = got[0]!, index = got.at(-1);
  const shards = index ? shardFiles(index, readJson(index).weight_map) : ["model.safetensors"];
  await hubFiles(repo, shards.map((path) => ({ path })), { ...o, commit }); // the weights at the config's commit
  return dirname(config);
}

/**
 * What --model names, as something Engine.load takes: a folder, random:SHAPE, or a hub id (fetched into the
 * cache, with the files `extra` names where the repository has them: what a caller reads from a model folder
 * beyond the engine's files, such as the prompts a model was trained with).
 */
export async function modelFolder(model: string, extra: readonly string[] = []): Promise<string> {
  if (model.startsWith("random:") || existsSync(model)) return model;
  const { repo, opts } = hubId(model);
  return await hubModel(repo, opts, extra);
}

/** The config of what --model names, without its weights (a hub id: its config.json alone is fetched). */
export async function modelConfigOf(model: string): Promise<ModelConfig> {
  if (model.startsWith("random:") || existsSync(model)) return localConfig(model);
  const { repo, opts } = hubId(model);
  return readModelConfig(dirname(await hubFile(repo, "config.json", { ...opts, type: "model" })));
}

/**
 * OWNER/NAME, or OWNER/NAME@REVISION (a commit, tag or branch: the weights a paper's numbers were made with). A
 * revision may hold "/" (refs/pr/1, a branch team/x): the URL takes it encoded whole, the cache as
 * refs/refs/pr/1 (huggingface_hub's layout); a "." or ".." part would reach out of refs/, and is refused.
 */
function hubId(model: string): { repo: string; opts: HubOptions } {
  const id = /^([\w.-]+\/[\w.-]+)(?:@([\w.-]+(?:\/[\w.-]+)*))?$/.exec(model);
  if (/^[./~]/.test(model) || !id || id[2]?.split("/").some((p) => /^\.+$/.test(p))) {
    throw new InputError(
      /^[./~]/.test(model) // a path, by its look
        ? `--model ${model}: no such folder`
        : `--model ${model}: no such folder, and not a hub id (OWNER/NAME[@REVISION]) or random:SHAPE`,
    );
  }
  return { repo: id[1], opts: id[2] ? { revision: id[2] } : {} };
}
