/**
 * Files from the Hugging Face hub (models such as Qwen/QwQ-32B, data sets such as GAIR/LIMO) into the
 * standard cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub): several at a time, with a
 * progress line, resumed where a cut download stopped (engine/download.ts). Usable offline once there: with
 * HF_HUB_OFFLINE=1, or when the hub cannot be reached (one try a load), the cached snapshot of refs/<revision> is
 * read.
 * HF_ENDPOINT names another hub (a mirror), as the hub's own tools read it.
 */
import { getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathExists } from "./files.ts";
import { dirname, join } from "node:path";
import { bytesHere, downloadToCache, type Head, head, HubHttpError, isCommit, under, writeRef } from "./download.ts";
import { InputError, oneLine } from "./errors.ts";
import { localConfig, type ModelConfig, readJson, readModelConfig } from "./config.ts";
import { shardFiles, WEIGHT_FILES } from "./safetensors.ts";

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
  /** how long a transfer may send nothing before a try is given up (default 60 s), and a HEAD (default 10 s) */
  stallMs?: number;
  headStallMs?: number;
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
  return hubTokenFound().token;
}

/** hubToken, and where it came from (or where none was found), for a refusal's message. */
export function hubTokenFound(): { token?: string; from: string } {
  const env = Deno.env.get("HF_TOKEN")?.trim();
  if (env) return { token: env, from: "HF_TOKEN" };
  const home = Deno.env.get("HF_HOME") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "", ".cache"), "huggingface");
  const file = Deno.env.get("HF_TOKEN_PATH") ?? join(home, "token");
  try {
    const token = readFileSync(file, "utf8").trim() || undefined;
    return token ? { token, from: `the token file ${file}` } : { from: `HF_TOKEN unset, the token file ${file} empty` };
  } catch {
    return { from: `HF_TOKEN unset, no token file at ${file}` };
  }
}

/** The token a request sends (the caller's, else hubToken's) and where it came from. */
function tokenOf(o: HubOptions): { token?: string; from: string } {
  return o.accessToken !== undefined ? { token: o.accessToken || undefined, from: "the caller" } : hubTokenFound();
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
  const root = repoRoot(repo, { cacheDir, type });
  return inSnapshot(root, cachedCommit(root, revision), path);
}

/**
 * The commit the cache holds `revision` at: what refs/<revision> names, or the revision itself if a commit. A ref
 * naming anything else (a corrupted file, a path) is refused, naming the file: its content is a folder's name.
 */
function cachedCommit(root: string, revision: string): string | undefined {
  const ref = under(under(root, "refs"), revision);
  if (!pathExists(ref)) return isCommit(revision) ? revision : undefined;
  const commit = readFileSync(ref, "utf8").trim();
  if (!isCommit(commit)) {
    throw new InputError(
      `${ref}: names ${JSON.stringify(commit.slice(0, 100))}, not a commit (40 hex digits): the cache's ref is ` +
        "corrupted; remove the file (the next load online writes it anew)",
    );
  }
  return commit;
}

/**
 * huggingface_hub's marker of a file the hub said `commit` lacks (.no_exist/COMMIT/PATH): an optional file marked
 * is absent without asking, online or not.
 */
const noExist = (root: string, commit: string, path: string) => under(under(root, ".no_exist", commit), path);

function markAbsent(root: string, commit: string | undefined, path: string): void {
  if (commit === undefined) return;
  try {
    mkdirSync(dirname(noExist(root, commit, path)), { recursive: true });
    writeFileSync(noExist(root, commit, path), "");
  } catch {
    // a cache that cannot take it (read-only) only loses the shortcut, as in huggingface_hub
  }
}

/**
 * Whether the environment turns the hub off, as huggingface_hub reads it: HF_HUB_OFFLINE, else (unset or empty)
 * TRANSFORMERS_OFFLINE, true when 1, ON, YES or TRUE in any case.
 */
export function offlineByEnv(hubOffline: string | undefined, transformersOffline: string | undefined): boolean {
  const value = hubOffline || transformersOffline;
  return value !== undefined && ["1", "ON", "YES", "TRUE"].includes(value.toUpperCase());
}

/** `path` in the snapshot of `commit`, if there. */
function inSnapshot(root: string, commit: string | undefined, path: string): string | undefined {
  if (commit === undefined) return undefined;
  const file = under(under(root, "snapshots", commit), path);
  return pathExists(file) ? file : undefined;
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
  /** a file the repository may not have (a 404, or a .no_exist marker, skips it) */
  optional?: boolean;
}

const hubUrl = (o: HubOptions) =>
  (o.hubUrl ?? Deno.env.get("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, "");

/**
 * One load of a repository's files (a model's config and tokenizer, then its weights): every file comes from the
 * snapshot of one commit, so that a model never runs with a file of one commit beside another's, or without a
 * file its commit has (a generation config missing is greedy decoding).
 */
interface Load {
  root: string;
  /** the commit the cache held the revision at when the load began (a commit asked for: that commit) */
  cached?: string;
  /**
   * whether an earlier load finished the snapshot of `cached` (a ref names it: finishLoad writes refs/REVISION,
   * refs/COMMIT for a commit asked for), so that a file missing from it is one the repository lacks; a commit's
   * snapshot no ref names may be an interrupted load's
   */
  whole: boolean;
  /**
   * the commit every file comes from: the hub's first answer's (or the revision, a commit), or the cached one
   * when the hub could not give the first file
   */
  commit?: string;
  /** why the hub is not asked again in this load: it gave no answer (one stall, not one a file) */
  unreachable?: string;
}

const repoRoot = (repo: string, o: HubOptions) =>
  join(o.cacheDir ?? hubCacheDir(), getRepoFolderName({ name: repo, type: o.type ?? "dataset" }));

function startLoad(repo: string, o: HubOptions): Load {
  const root = repoRoot(repo, o), revision = o.revision ?? "main";
  const cached = cachedCommit(root, revision);
  return {
    root,
    cached,
    whole: cached !== undefined && refsName(root, cached),
    commit: isCommit(revision) ? revision : undefined,
  };
}

/** Whether a ref of the repository's folder `root` (refs/main, refs/refs/pr/1, refs/COMMIT) names `commit`. */
function refsName(root: string, commit: string, dir = join(root, "refs")): boolean {
  try {
    return Deno.readDirSync(dir).some((e) =>
      e.isDirectory
        ? refsName(root, commit, join(dir, e.name))
        : e.isFile && readFileSync(join(dir, e.name), "utf8").trim() === commit
    );
  } catch {
    return false; // no refs (or none readable): nothing says a load finished
  }
}

/**
 * The ref, once a load has every file of the commit the hub named: written earlier (as each file came), a load
 * cut short would leave it naming a snapshot without some files, which a later offline load would read as a
 * model without them. A commit asked for gets refs/COMMIT (naming itself: huggingface_hub reads it as the
 * commit), the mark that its snapshot is whole.
 */
function finishLoad(o: HubOptions, load: Load): void {
  const revision = o.revision ?? "main";
  if (load.commit && (load.commit === revision || load.commit !== cachedCommit(load.root, revision))) {
    writeRef(load.root, revision, load.commit);
  }
}

function hubRequest(
  repo: string,
  path: string,
  cacheDir: string,
  o: HubOptions,
  commit?: string,
  onBytes?: (n: number) => void,
) {
  const type = o.type ?? "dataset", revision = o.revision ?? "main";
  const prefix = type === "dataset" ? "datasets/" : "";
  return {
    root: repoRoot(repo, { ...o, cacheDir }),
    // each segment encoded (huggingface_hub quotes with safe="/"): a # or ? in a name would end the path there
    url: `${hubUrl(o)}/${prefix}${repo}/resolve/${encodeURIComponent(commit ?? revision)}/${
      path.split("/").map(encodeURIComponent).join("/")
    }`,
    path,
    revision,
    accessToken: tokenOf(o).token,
    fetch: o.fetch,
    retries: o.retries,
    retryWaitMs: o.retryWaitMs,
    stallMs: o.stallMs,
    headStallMs: o.headStallMs,
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
 * Local paths to `files` of `repo` (undefined for an optional file the repository lacks), all from the snapshot
 * of `load`'s commit: each asked of the hub (a HEAD) unless that snapshot holds it, then what the cache lacks
 * downloaded, `parallel` at a time, resumed where an earlier try stopped, with progress. The first answer names
 * the commit (as huggingface_hub's snapshot download does), and every later file is asked at it: a branch moved
 * meanwhile would split the files over two snapshots. Where the hub cannot give the first file, the load reads
 * the cached snapshot of the revision, every file of it; where it cannot give a later one, that file is not
 * taken from another commit: the load fails, naming it. Offline, the cached snapshot is read.
 */
async function hubFiles(
  repo: string,
  files: Wanted[],
  opts: HubOptions,
  load: Load,
): Promise<(string | undefined)[]> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const revision = opts.revision ?? "main";
  const type = opts.type ?? "dataset";
  const offline = opts.offline ?? offlineByEnv(Deno.env.get("HF_HUB_OFFLINE"), Deno.env.get("TRANSFORMERS_OFFLINE"));
  const out: (string | undefined)[] = files.map(() => undefined);
  const heads: { i: number; head: Head }[] = [];
  const absent: string[] = [];
  const say = { repo, type, revision, cacheDir, hub: hubUrl(opts), load, token: tokenOf(opts) };
  const ask = async ({ f, i }: { f: Wanted; i: number }) => {
    if (offline) {
      load.commit ??= load.cached;
      out[i] = inSnapshot(load.root, load.commit, f.path);
      if (out[i] || f.optional) return;
      throw new InputError(
        `hf:${repo}: ${f.path} (revision ${revision}) is not in the cache ${cacheDir}, and the hub is off ` +
          `(HF_HUB_OFFLINE=1): ${whatToDo(repo, f.path, type, revision)}`,
      );
    }
    // a file the commit's snapshot holds is that file (its bytes were checked as they came): nothing to ask
    out[i] = inSnapshot(load.root, load.commit, f.path);
    if (out[i] || (f.optional && load.commit && pathExists(noExist(load.root, load.commit, f.path)))) return;
    let e = new Error(`the hub is unreachable: ${load.unreachable}`);
    if (load.unreachable === undefined) {
      // the first file, held in the cached snapshot: a HEAD that gets no answer is not tried again (the cache
      // answers, as huggingface_hub's does), so that an unreachable hub costs one stall
      const held = load.commit === undefined && inSnapshot(load.root, load.cached, f.path) !== undefined;
      try {
        const h = await head({ ...hubRequest(repo, f.path, cacheDir, opts, load.commit), held });
        sameCommit(say, f.path, h.commit);
        heads.push({ i, head: h });
        load.commit ??= h.commit;
        return;
      } catch (err) {
        e = err as Error;
        if (e instanceof HubHttpError) sameCommit(say, f.path, e.commit);
        // marked under the commit the hub's answer names (huggingface_hub's .no_exist): sameCommit made it the load's
        if (refused(say, f, e) === "absent") return markAbsent(load.root, (e as HubHttpError).commit, f.path);
        if (!(e instanceof HubHttpError)) load.unreachable ??= oneLine(e.message);
      }
    }
    // the hub could not say. The first file: the whole load goes to the cached snapshot, or to none
    const first = load.commit === undefined;
    load.commit ??= load.cached;
    out[i] = inSnapshot(load.root, load.commit, f.path);
    if (out[i] && first) {
      console.error(
        e instanceof HubHttpError
          ? `hf:${repo}: the hub answered ${f.path} with ${oneLine(e.message)}; using the cached snapshot of ` +
            `${revision} (commit ${load.commit})`
          : `hf:${repo}: the hub is unreachable (${oneLine(e.message)}); using the cached snapshot of ${revision} ` +
            `(commit ${load.commit}), not asking the hub again in this load (HF_HUB_OFFLINE=1: not at all)`,
      );
    }
    if (out[i]) return;
    // An optional file missing from the snapshot an earlier load finished, with the hub out of reach: absent
    // (`hf download` leaves no marker of what a repository lacks). Not when the hub answered (a 503 is no word
    // on the file), nor for the sampling settings: a snapshot an older load or a filtered download left short
    // of them would run greedy; HF_HUB_OFFLINE=1 reads the cache as it is.
    const unsaid = !(e instanceof HubHttpError) && f.path !== "generation_config.json";
    if (f.optional && unsaid && load.commit !== undefined && load.commit === load.cached && load.whole) {
      return void absent.push(f.path);
    }
    throw cannotDownload(say, f.path, e, undefined, f.optional);
  };
  const asks = files.map((f, i) => ({ f, i }));
  if (load.commit === undefined && asks.length > 1) await ask(asks.shift()!);
  await pool(asks, 8, ask);
  if (absent.length > 0) {
    console.error(
      `hf:${repo}: ${absent.join(", ")}: not in the cached snapshot ${load.commit}, and the hub cannot say whether ` +
        `the ${type} has them: taken as absent`,
    );
  }
  if (heads.length === 0) return out;
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
  const request = (i: number, onBytes?: (n: number) => void) =>
    hubRequest(repo, files[i].path, cacheDir, opts, load.commit, onBytes);
  for (const { i, head: h } of heads) progress.bytesDone += bytesHere(request(i), h);
  const onBytes = (n: number) => {
    progress.bytesDone += n;
    progress.fetched += n;
    tell();
  };
  await pool(heads, opts.parallel ?? 4, async ({ i, head: h }) => {
    try {
      // under the load's commit: the one every answer named (sameCommit)
      out[i] = await downloadToCache(request(i, onBytes), { ...h, commit: load.commit ?? h.commit });
    } catch (e) {
      refused(say, { path: files[i].path }, e as Error);
      throw cannotDownload(say, files[i].path, e as Error, [bytesHere(request(i), h), h.size]);
    }
    progress.filesDone++;
    tell();
  });
  tell(true);
  return out;
}

/** What a failure's message needs to say. */
interface Said {
  repo: string;
  type: RepoType;
  revision: string;
  cacheDir: string;
  /** the hub's address, for a gated repository's page */
  hub: string;
  load: Load;
  /** the token the requests send, and where it came from */
  token: { token?: string; from: string };
}

/**
 * An answer naming another commit than the load's (the first answer's, or the commit asked for): the branch moved
 * between two requests (or a mirror answers with its head whatever is asked). Its file is not placed beside the
 * others (a model would run with one file of each commit, or without one its commit has): the load stops.
 */
function sameCommit({ repo, revision, load }: Said, path: string, commit: string | undefined): void {
  if (commit === undefined || load.commit === undefined || commit === load.commit) return;
  throw new InputError(
    `hf:${repo}: the hub answered ${path} at commit ${commit}, but this load's files come from commit ${load.commit}` +
      `${isCommit(revision) ? " (the revision asked for)" : ` (what ${revision} named at the load's first answer)`}: ` +
      `${isCommit(revision) ? "the hub does not keep to the commit asked" : `${revision} moved mid-download`}; ` +
      `nothing of commit ${commit} was kept; run the same command again, which resolves ${revision} anew`,
  );
}

/**
 * A failed request the hub decided: said as it is (a gated or unknown repository, no such revision, no such
 * file), or "absent" for an optional file the repository lacks. This machine's faults (InputError: an unwritable
 * cache, a download that failed its hash) are said as they are. Otherwise (a busy or failing hub, no answer) it
 * returns: the hub could not say.
 */
function refused({ repo, type, revision, hub, token }: Said, f: Wanted, e: Error): "absent" | undefined {
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
  if (
    e instanceof HubHttpError && (e.status === 401 || e.status === 403 || /gated|unauthori[sz]ed/i.test(message))
  ) {
    // which token went (none, HF_TOKEN's, a file's): a refused token is not fixed by "give a token"
    const sent = token.token ? `the token sent (from ${token.from})` : `no token was sent (${token.from})`;
    const gated = e.code === "GatedRepo" || /gated|restricted/i.test(e.hubMessage ?? "");
    const give = "give a token of an account that can read it (HF_TOKEN, or hf auth login)";
    const advice = !token.token
      ? `the ${type} is ${gated ? "gated" : "gated or private"}; ${
        gated ? `accept its terms at ${page} and ` : ""
      }${give}`
      : gated
      ? `has no access to the gated ${type}: accept its terms at ${page} with that token's account (a request may ` +
        "wait for the authors' grant), or give another token"
      : e.status === 401
      ? `was refused: expired or invalid? make a new one (${hub}/settings/tokens) and set it (HF_TOKEN, or hf ` +
        "auth login)"
      : `may not read this ${type} (a fine-grained token without it, or an account without access): check the ` +
        `token's permissions and the ${type}'s page (${page})`;
    throw new InputError(
      `hf:${repo}: the hub refused ${f.path} (${message}): ${sent}${token.token ? " " : "; "}${advice}`,
    );
  }
  if (!(e instanceof HubHttpError) || e.status !== 404) return undefined;
  if (e.code === "RevisionNotFound") {
    throw new InputError(
      `hf:${repo}: the hub has no revision ${revision} of ${repo} (${message}): name a branch, tag or commit it has`,
    );
  }
  // Only the hub's own word (X-Error-Code: EntryNotFound, as huggingface_hub reads it) says the commit lacks the
  // file: a bare 404 comes from anywhere (a proxy, a mirror not synced yet), and taking it for absent would mark a
  // generation config (the sampling) or the weights absent for good
  if (e.code !== "EntryNotFound") {
    throw new InputError(
      `hf:${repo}: the hub answered ${f.path} with ${message}, without the hub's word that the ${type} lacks it ` +
        `(X-Error-Code: EntryNotFound), from ${hub}: a proxy's, or a mirror's not synced yet? nothing is taken ` +
        `as absent; run the same command again once it serves the file, or ${whatToDo(repo, f.path, type, revision)}`,
    );
  }
  if (f.optional) return "absent";
  // the hub answered (the revision is there: RevisionNotFound above): the file's name is what to check, and
  // downloading elsewhere would get the same answer
  throw new InputError(
    `hf:${repo}: the ${type} ${repo} has no file ${f.path} at revision ${revision} (${message}): check the file's ` +
      `name (its files: ${page}/tree/${encodeURIComponent(revision)}), or give a local copy (${
        type === "model" ? "--model DIR" : "--data FILE"
      })`,
  );
}

/**
 * A file the hub could not give (busy, failing, no answer) that the snapshot in use lacks: the commit is named
 * where the hub named it in this load (the cache's older snapshot is no stand-in: HF_HUB_OFFLINE=1 reads that
 * one whole, by choice).
 */
function cannotDownload(
  { repo, type, revision, cacheDir, load }: Said,
  path: string,
  e: Error,
  /** bytes of it already in the cache, of its size */
  kept: [number, number] = [0, 0],
  /** a file the repository may lack, missing from the cached snapshot this load reads */
  optional = false,
): InputError {
  // the commit, where the cache holds another: the file is wanted there, not at the cached one
  const at = load.commit !== undefined && load.cached !== undefined && load.commit !== load.cached
    ? ` at commit ${load.commit}`
    : "";
  const part = kept[0] > 0
    ? `; ${kept[0]} of its ${kept[1]} bytes are kept in the cache, and the same command goes on from them`
    : "";
  const older = at
    ? `; HF_HUB_OFFLINE=1 reads the cache's snapshot of ${revision} instead (commit ${load.cached}), whole`
    : optional && load.cached !== undefined
    ? `; HF_HUB_OFFLINE=1 reads the cache's snapshot (commit ${load.cached}) as it is, without it`
    : "";
  return new InputError(
    `hf:${repo}: cannot download ${path}${at} (${oneLine(e.message)}) and it is not in the cache ${cacheDir}${part}: ` +
      whatToDo(repo, path, type, revision) + older,
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
  return (await hubFileList(repo, [path], opts))[0];
}

/** hubFile for several files of `repo`, fetched together, at one commit. */
export async function hubFileList(repo: string, paths: readonly string[], opts: HubOptions = {}): Promise<string[]> {
  const load = startLoad(repo, opts);
  const got = await hubFiles(repo, paths.map((path) => ({ path })), opts, load);
  finishLoad(opts, load);
  return got as string[];
}

/**
 * A hub model as a local folder (its snapshot in the cache): config, generation config, tokenizer files, the
 * optional `extra` files and the weights (model.safetensors, else the shards its index names, several at a
 * time). Files a model does not have are skipped.
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
  const load = startLoad(repo, o);
  // the weights as transformers asks them (WEIGHT_FILES): model.safetensors with the config, the index only
  // where the repository lacks it (then required: a model without weights is said so there)
  const [single, index] = WEIGHT_FILES;
  const got = await hubFiles(
    repo,
    [
      { path: "config.json" },
      ...optional.map((path) => ({ path, optional: true })),
      { path: single, optional: true },
    ],
    o,
    load,
  );
  const config = got[0]!;
  if (got.at(-1) === undefined) {
    const [map] = await hubFiles(repo, [{ path: index }], o, load);
    const shards = shardFiles(map!, readJson(map!).weight_map);
    await hubFiles(repo, shards.map((path) => ({ path })), o, load); // the weights at the config's commit
  }
  finishLoad(o, load);
  return dirname(config);
}

/** Whether --model names a local folder (by path: it exists here), not random:SHAPE or a hub id. */
export const localModel = (model: string): boolean => !model.startsWith("random:") && pathExists(model, "--model");

/**
 * What --model names, as something Engine.load takes: a folder, random:SHAPE, or a hub id (fetched into the
 * cache, with the files `extra` names where the repository has them: what a caller reads from a model folder
 * beyond the engine's files, such as the prompts a model was trained with).
 */
export async function modelFolder(model: string, extra: readonly string[] = []): Promise<string> {
  if (model.startsWith("random:") || localModel(model)) return model;
  const { repo, opts } = hubId(model);
  return await hubModel(repo, opts, extra);
}

/** The config of what --model names, without its weights (a hub id: its config.json alone is fetched). */
export async function modelConfigOf(model: string): Promise<ModelConfig> {
  if (model.startsWith("random:") || localModel(model)) return localConfig(model);
  const { repo, opts } = hubId(model);
  const o = { ...opts, type: "model" as const };
  // the ref not moved: a snapshot holding config.json alone would be read offline as the whole model
  const [config] = await hubFiles(repo, [{ path: "config.json" }], o, startLoad(repo, o));
  return readModelConfig(dirname(config!));
}

/** Why `id` is not a hub id: not OWNER/NAME, as huggingface_hub's validate_repo_id checks it (else undefined). */
export function repoIdProblem(id: string): string | undefined {
  // validate_repo_id's REPO_ID_REGEX with the namespace required: each part starts and ends with a letter, digit
  // or _ (Python's \b), the name at most 96 characters
  if (!/^\w(?:[\w.-]*\w)?\/\w(?:[\w.-]{0,94}\w)?$/.test(id)) {
    return "OWNER/NAME: letters, digits, '_', '-' and '.', each part starting and ending with a letter, digit or " +
      "'_', the name at most 96 characters";
  }
  // the cache's folder is OWNER--NAME: a/b--c and a--b/c would share one
  if (id.includes("--") || id.includes("..")) return "-- and .. are not allowed in a hub id";
  if (id.endsWith(".git")) return "a hub id does not end in .git";
  return undefined;
}

/**
 * OWNER/NAME, or OWNER/NAME@REVISION (a commit, tag or branch: the weights a paper's numbers were made with). A
 * revision may hold "/" (refs/pr/1, a branch team/x): the URL takes it encoded whole, the cache as
 * refs/refs/pr/1 (huggingface_hub's layout); a "." or ".." part would reach out of refs/, and is refused.
 */
function hubId(model: string): { repo: string; opts: HubOptions } {
  if (/^[./~]/.test(model)) throw new InputError(`--model ${model}: no such folder`); // a path, by its look
  const id = hubRef(model);
  if (typeof id === "string") {
    throw new InputError(
      `--model ${model}: no such folder, and not a hub id (OWNER/NAME[@REVISION]) or random:SHAPE: ${id}`,
    );
  }
  return { repo: id.repo, opts: id.revision ? { revision: id.revision } : {} };
}

/**
 * OWNER/NAME[@REVISION], the one reader of hub ids (--model's, --hub's): the id as huggingface_hub takes it
 * (repoIdProblem), the revision one whose "/"-parts hold letters, digits, "_", "-" and "." and are none of them
 * "." or ".." (refs/REVISION stays in refs/). A string: why it is not one.
 */
export function hubRef(text: string): { repo: string; revision?: string } | string {
  const at = text.indexOf("@");
  const repo = at < 0 ? text : text.slice(0, at), revision = at < 0 ? undefined : text.slice(at + 1);
  const bad = repoIdProblem(repo);
  if (bad) return bad;
  if (
    revision !== undefined && !/^[\w.-]+(?:\/[\w.-]+)*$/.test(revision) ||
    revision?.split("/").some((p) => /^\.+$/.test(p))
  ) {
    return `the revision ${JSON.stringify(revision)} is not a branch, tag or commit name`;
  }
  return revision === undefined ? { repo } : { repo, revision };
}
