/**
 * One hub file into the Hugging Face cache, the way huggingface_hub lays it out (blobs/ETAG,
 * snapshots/COMMIT/PATH → the blob, refs/REVISION → COMMIT), so that either tool reads what the other wrote.
 *
 * Written here rather than taken from @huggingface/hub because that library neither reports progress nor
 * resumes: a 65 GB checkpoint cut at 60 GB would start over. Here the bytes land in blobs/ETAG.incomplete
 * and a later try (in this call, or a later run) asks the hub only for the rest (an HTTP range).
 */
import { replaceFile } from "./files.ts";
import {
  closeSync,
  createReadStream,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { createHash } from "node:crypto";
import { InputError, oneLine } from "./errors.ts";

export interface FileRequest {
  /** the repository's folder in the cache (models--OWNER--NAME) */
  root: string;
  /** e.g. https://huggingface.co/datasets/OWNER/NAME/resolve/REVISION/PATH */
  url: string;
  path: string;
  revision: string;
  accessToken?: string;
  fetch?: typeof fetch;
  /** bytes as they arrive (for a progress line) */
  onBytes?: (n: number) => void;
  /** tries after a dropped connection, each from where the last stopped (default 5) */
  retries?: number;
  /** the wait before the first retry, doubled each time (default 500 ms) */
  retryWaitMs?: number;
  /** how long a transfer may send nothing (no answer, no bytes) before the try is given up (default 60 s) */
  stallMs?: number;
  /** how long a HEAD may go unanswered before the try is given up (default 10 s) */
  headStallMs?: number;
  /** the cache holds a copy to fall back on: a HEAD that gets no answer is not asked again */
  held?: boolean;
}

/** A transfer's stall: its answer or its next bytes, on a slow link or a busy CDN. */
const STALL_MS = 60_000;
/**
 * A HEAD's: a small answer, as huggingface_hub's metadata time-out (HF_HUB_ETAG_TIMEOUT, 10 s) has it, so that an
 * unreachable hub costs 10 s before the cache is read, not a minute.
 */
const HEAD_STALL_MS = 10_000;

/** A file's path in a repository: "/"-parts, none of them empty, "." or ".." (which would reach out of a snapshot). */
export const isRepoPath = (path: string): boolean => path.split("/").every((p) => p !== "" && p !== "." && p !== "..");

/** A commit as the hub names one (and the cache's snapshots/ and refs/ hold): 40 hex digits. */
export const isCommit = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

/**
 * `parts` joined under `folder` (a repository's folder in the cache, or one of its snapshots): whatever the parts
 * hold (a hub's answer, a revision, a file name), the path stays inside it, or the write is refused. The callers
 * check each part where it is read; this is the last word before the disk.
 */
export function under(folder: string, ...parts: string[]): string {
  const path = join(folder, ...parts), top = resolve(folder);
  if (!resolve(path).startsWith(top + sep)) {
    throw new InputError(`${path}: outside the cache's folder ${top} (${JSON.stringify(parts.join("/"))}): refused`);
  }
  return path;
}

/**
 * The commit the hub's answer names (X-Repo-Commit), if any: a path of the cache is made of it (snapshots/COMMIT,
 * .no_exist/COMMIT, refs/REVISION's content), so anything but 40 hex digits is refused, naming the hub and the
 * header, before anything is written.
 */
function answerCommit(res: Response, url: string): string | undefined {
  const commit = res.headers.get("x-repo-commit");
  if (commit === null) return undefined;
  if (!isCommit(commit)) {
    throw new InputError(
      `${new URL(url).origin}: the hub's answer for ${url} names the commit X-Repo-Commit: ${
        JSON.stringify(commit)
      }, which is not a commit (40 hex digits): refused, nothing written; is HF_ENDPOINT a hub?`,
    );
  }
  return commit;
}

/** A connection that stalled: given up after stallMs (headStallMs), and tried again like a dropped one. */
class StallError extends Error {}

/**
 * A watch that gives up once `ms` pass without a poke (each answer or chunk pokes it): its signal goes to fetch,
 * and `within` races the request against it, for a fetch that does not heed the signal (once a request: each race
 * stays attached to the watch until it ends).
 */
function stallWatch(ms: number, what: string) {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(new StallError(`the hub sent nothing for ${ms / 1000} s (${what})`)), ms);
  };
  const stalled = new Promise<never>((_, no) => ctl.signal.addEventListener("abort", () => no(ctl.signal.reason)));
  stalled.catch(() => {});
  poke();
  return {
    signal: ctl.signal,
    poke,
    stop: () => clearTimeout(timer),
    within: <T>(p: Promise<T>) => Promise.race([p, stalled]),
  };
}

/**
 * An answer from the hub that is not the file: the status goes in the message (401/403 mean gated), with the
 * hub's X-Error-Code (RevisionNotFound, EntryNotFound, as huggingface_hub reads it) where it gives one.
 */
export class HubHttpError extends Error {
  readonly status: number;
  readonly code?: string;
  /** the commit the answer names (a 404 says which commit lacks the file) */
  readonly commit?: string;
  /** the wait a busy hub asked for (Retry-After), in ms */
  readonly retryAfterMs?: number;
  /** the hub's own words (X-Error-Message: "Access to model … is restricted", "Invalid credentials …") */
  readonly hubMessage?: string;
  constructor(res: Response) {
    const code = res.headers.get("x-error-code") ?? undefined;
    const said = res.headers.get("x-error-message")?.trim() || undefined;
    super(`${res.status} ${res.statusText || "refused"}${code ? `: ${code}` : ""}${said ? `: ${said}` : ""}`);
    this.hubMessage = said;
    this.status = res.status;
    this.code = code;
    const commit = res.headers.get("x-repo-commit");
    this.commit = commit !== null && isCommit(commit) ? commit : undefined; // headOnce refuses another first
    this.retryAfterMs = retryAfter(res.headers.get("retry-after"));
  }
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

/**
 * A refusal from the host the hub sent a download to (its CDN): an expired signed link, say; no word on the
 * repository (not gated, not missing: the hub's HEAD said the file is there), so asked again through the hub.
 */
class CdnError extends Error {
  constructor(res: Response) {
    super(
      `${res.status} ${res.statusText || "refused"} from ${new URL(res.url).host}, where the hub sent the download`,
    );
  }
}

/** What the hub says of a file before sending it. */
export interface Head {
  commit?: string;
  etag: string;
  size: number;
}

/** A busy hub (429), its fault (5xx), its CDN's refusal or a stalled answer: asked again after a wait. */
const busy = (e: unknown) =>
  (e instanceof HubHttpError && (e.status === 429 || e.status >= 500)) || e instanceof StallError ||
  e instanceof CdnError;

/**
 * The wait before try `attempt` + 1: doubled each time, at most 10 s; longer where a busy hub's Retry-After asks
 * it, up to a minute (a longer one would hold the run for good).
 */
const backoff = (r: FileRequest, attempt: number, e: unknown) =>
  new Promise((ok) =>
    setTimeout(
      ok,
      Math.max(
        Math.min((r.retryWaitMs ?? 500) * 2 ** attempt, 10_000),
        Math.min(e instanceof HubHttpError ? e.retryAfterMs ?? 0 : 0, 60_000),
      ),
    )
  );

export async function head(r: FileRequest, url = r.url, hops = 0): Promise<Head> {
  for (let attempt = 0;; attempt++) {
    try {
      return await headOnce(r, url, hops);
    } catch (e) {
      if (!busy(e) || attempt >= (r.retries ?? 5) || (r.held && e instanceof StallError)) throw e;
      await backoff(r, attempt, e);
    }
  }
}

/**
 * An ETag that can name a blob (blobs/ETAG, blobs/ETAG.incomplete): the hub's sha256 or git sha1, or a mirror's
 * token of letters, digits, "_", "-" and "." that starts with no "." (".", ".." and a hidden name are no file of
 * blobs/), at most 200 characters, and not ending in .incomplete (another blob's part).
 */
const blobName = (etag: string) => /^[\w-][\w.-]{0,199}$/.test(etag) && !etag.endsWith(".incomplete");

async function headOnce(r: FileRequest, url: string, hops: number): Promise<Head> {
  // Not followed: the hub's own answer carries the commit and, for large files, the content's hash and size.
  const watch = stallWatch(r.headStallMs ?? HEAD_STALL_MS, `no answer about ${r.path}`);
  const res = await watch.within((r.fetch ?? fetch)(url, {
    method: "HEAD",
    redirect: "manual",
    headers: { ...auth(r), ...IDENTITY },
    signal: watch.signal,
  })).finally(watch.stop);
  const commit = answerCommit(res, url);
  if (res.status >= 400) throw new HubHttpError(res);
  const h = res.headers;
  const location = h.get("location");
  if (res.status >= 300 && !h.get("x-linked-etag") && !h.get("etag") && location && hops < 5) {
    // a renamed repository; the token goes only to the origin it was given for (as fetch itself does)
    const next = new URL(location, url);
    const same = next.origin === new URL(url).origin;
    return await headOnce(same ? r : { ...r, accessToken: undefined }, next.href, hops + 1);
  }
  const etag = (h.get("x-linked-etag") ?? h.get("etag") ?? "").replace(/^W\//, "").replace(/"/g, "");
  // a size not given is none (Number(null) would read it as 0 bytes)
  const sized = h.get("x-linked-size") ?? h.get("content-length") ?? "";
  const size = /^\d+$/.test(sized) ? Number(sized) : NaN;
  if (!blobName(etag) || !Number.isSafeInteger(size)) {
    throw new Error(
      `the hub's answer for ${r.path} has no usable ETag and size (ETag ${JSON.stringify(etag)}, size ${
        JSON.stringify(sized)
      })`,
    );
  }
  return { commit, etag, size };
}

/**
 * A write into the cache, and the one place its failure is judged: whatever fails it (a read-only or full cache,
 * no permission, a file where a folder should be) is this machine's, said at once naming the cache and what to
 * do, never retried and never taken for the hub being unreachable (which would run on an older cached commit).
 */
function onDisk<T>(r: { root: string }, what: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw diskError(r, what, e);
  }
}

function diskError(r: { root: string }, what: string, e: unknown): InputError {
  const message = oneLine((e as Error).message ?? String(e));
  const full = /ENOSPC|EDQUOT|os error (28|122)|No space left|quota exceeded|disk is full/i.test(
    `${(e as { code?: string }).code} ${message}`,
  );
  return new InputError(
    `${dirname(r.root)}: cannot write ${what} into this Hugging Face cache (${message}): ${
      full
        ? "the disk is full; free space, or set HF_HUB_CACHE to a cache with room"
        : "it is not writable here; set HF_HUB_CACHE to a cache that is (or HF_HUB_OFFLINE=1 to read only what it " +
          "holds)"
    }, then run the same command again`,
  );
}

/**
 * The bytes as they are (huggingface_hub's header too): a hub that gzips a small file would announce the packed
 * size and send bytes fetch unpacks, so that no size or hash matches.
 */
const IDENTITY = { "Accept-Encoding": "identity" };

function auth(r: FileRequest): Record<string, string> {
  return r.accessToken ? { Authorization: `Bearer ${r.accessToken}` } : {};
}

/**
 * An answer that is not the file's bytes (a proxy's error page sent as 200, a range answer for other bytes): no
 * byte of it is written, the bytes already here are kept, and the file is asked again.
 */
class NotTheFile extends Error {}

/** A range answer for other bytes than asked: the next try asks the file whole (the hub's ranges are not kept to). */
class WrongRange extends NotTheFile {}

/**
 * The bytes from `from` on into `file`, whose size the hub announced (`size`): a range is asked where bytes are
 * here, unless `whole` (a hub whose ranges went wrong). Nothing is written, and the bytes here are left as they
 * are, until the answer is known to be the file's: a 206 whose Content-Range is `bytes from-(size − 1)/size`, or a
 * 200 whose Content-Length is `size` (the file from its start: only then are the bytes here dropped). A 200 of
 * another length, or none (an error page a proxy or mirror sent as 200), is not the file, whatever its body.
 */
async function fetchInto(r: FileRequest, file: string, from: number, size: number, whole = false): Promise<void> {
  const asked = whole ? 0 : from;
  const headers = { ...auth(r), ...IDENTITY, ...(asked > 0 ? { Range: `bytes=${asked}-` } : {}) };
  // A hub (or proxy) that stops sending without closing would hang the download for good: each answer and chunk
  // must come within stallMs.
  const watch = stallWatch(r.stallMs ?? STALL_MS, `${r.path} from byte ${asked}`);
  try {
    const res = await watch.within((r.fetch ?? fetch)(r.url, { headers, signal: watch.signal }));
    if (res.status >= 400) {
      throw res.redirected && new URL(res.url).origin !== new URL(r.url).origin
        ? new CdnError(res)
        : new HubHttpError(res);
    }
    const notTheFile = (why: string, Kind = NotTheFile) => {
      res.body?.cancel().catch(() => {});
      return new Kind(
        `the hub answered ${r.path}${asked > 0 ? ` from byte ${asked}` : ""} with ${res.status} and ${why}: not the ` +
          "file; nothing of it written",
      );
    };
    const length = res.headers.get("content-length"), type = res.headers.get("content-type");
    if (res.status === 206) {
      const range = res.headers.get("content-range");
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range ?? "");
      if (!m || Number(m[1]) !== asked || Number(m[2]) !== size - 1 || Number(m[3]) !== size) {
        throw notTheFile(
          `${range === null ? "no Content-Range" : `Content-Range: ${range}`} (bytes ${asked}-${size - 1}/${size} ` +
            "asked); the file is asked whole next",
          WrongRange,
        );
      }
      if (length !== null && length !== String(size - asked)) {
        throw notTheFile(`Content-Length: ${length} for bytes ${asked}-${size - 1}`);
      }
    } else if (res.status === 200) {
      if (length !== String(size)) {
        throw notTheFile(
          `${length === null ? "no Content-Length" : `${length} bytes`}${type ? ` (${type})` : ""}, not the ${size} ` +
            "it announced",
        );
      }
    } else {
      throw notTheFile(`no file (${res.status} ${res.statusText})`);
    }
    if (!res.body) throw new Error(`no body in the hub's answer for ${r.path}`);
    const reader = res.body.getReader();
    // a stall cancels the stream, which ends a read in flight whatever its source does
    watch.signal.addEventListener("abort", () => void reader.cancel(watch.signal.reason).catch(() => {}));
    const fd = onDisk(r, "the download", () => openSync(file, "a+"));
    try {
      // the whole file, of its announced length, where bytes are here: they go, and it is written from its start
      if (asked !== from) {
        onDisk(r, "the download", () => ftruncateSync(fd, 0));
        r.onBytes?.(-from);
      }
      for (;;) {
        const chunk = await reader.read();
        if (watch.signal.aborted) throw watch.signal.reason;
        if (chunk.done) break;
        watch.poke();
        onDisk(r, "the download", () => writeSync(fd, chunk.value));
        r.onBytes?.(chunk.value.byteLength);
      }
    } catch (e) {
      reader.cancel().catch(() => {});
      throw watch.signal.aborted ? watch.signal.reason : e;
    } finally {
      closeSync(fd);
    }
  } finally {
    watch.stop();
  }
}

/** The bytes of the file already in the cache (whole, or an earlier try's part). */
export function bytesHere(r: FileRequest, info: Head): number {
  const blob = under(r.root, "blobs", info.etag);
  if (existsSync(blob) && statSync(blob).size === info.size) return info.size;
  const part = existsSync(`${blob}.incomplete`) ? statSync(`${blob}.incomplete`).size : 0;
  return part <= info.size ? part : 0;
}

/** The blob, downloaded into blobs/ETAG.incomplete (resumed where a try stopped), checked, then renamed. */
async function fetchBlob(r: FileRequest, info: Head, blob: string): Promise<void> {
  onDisk(r, "the download", () => mkdirSync(dirname(blob), { recursive: true }));
  const partial = `${blob}.incomplete`;
  // made here, so that a file of 0 bytes (asked for nothing) is one
  onDisk(r, "the download", () => closeSync(openSync(partial, "a")));
  let whole = false;
  for (let attempt = 0;; attempt++) {
    let at = existsSync(partial) ? statSync(partial).size : 0;
    if (at === info.size) break;
    if (at > info.size) { // not this file's bytes: start again
      onDisk(r, "the download", () => writeFileSync(partial, ""));
      if (attempt > 0) r.onBytes?.(-at); // bytesHere counted none of them on the first
      at = 0;
    }
    try {
      await fetchInto(r, partial, at, info.size, whole);
      const now = statSync(partial).size;
      if (now > info.size) {
        throw new Error(`the hub sent ${now} bytes of ${r.path}, more than the ${info.size} it announced`);
      }
      if (now < info.size) throw new Error(`the transfer of ${r.path} stopped at ${now} of ${info.size} bytes`);
    } catch (e) {
      // this machine's fault (onDisk) is said at once: no wait helps it
      if (e instanceof InputError) throw e;
      if (e instanceof WrongRange) whole = true;
      // a refusal is final; a dropped connection, a busy hub (429) or its fault (5xx) is tried again
      if ((e instanceof HubHttpError && !busy(e)) || attempt >= (r.retries ?? 5)) throw e;
      await backoff(r, attempt, e);
    }
  }
  await verify(r, info, partial);
  onDisk(r, "the download", () => renameSync(partial, blob));
}

/**
 * The downloaded bytes against the hub's ETag: a large file's is its sha256, a small one's git's blob sha1; a
 * transfer that changed a byte is removed, not cached (a later run would take it as whole by its size).
 */
async function verify(r: FileRequest, info: Head, file: string): Promise<void> {
  const kind = /^[0-9a-f]{64}$/.test(info.etag) ? "sha256" : /^[0-9a-f]{40}$/.test(info.etag) ? "sha1" : undefined;
  if (!kind) return; // another hub's tag: nothing to check against
  const hash = createHash(kind);
  if (kind === "sha1") hash.update(`blob ${info.size}\0`);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Uint8Array);
  const got = hash.digest("hex");
  if (got !== info.etag) {
    rmSync(file, { force: true });
    throw new InputError(
      `${r.url}: the downloaded bytes do not match the hub's ${kind} (${info.etag}; got ${got}): removed, not ` +
        "cached; run the same command again",
    );
  }
}

/**
 * The local path of the file (its snapshot link), downloading what the cache does not hold yet. The ref is the
 * caller's to write (writeRef), once its whole load is here.
 */
export async function downloadToCache(r: FileRequest, info: Head): Promise<string> {
  const commit = info.commit ?? (isCommit(r.revision) ? r.revision : undefined);
  if (commit === undefined) {
    throw new InputError(
      `${r.url}: the hub's answer names no commit (X-Repo-Commit): a mirror that omits it cannot be laid out as ` +
        "the cache is; name a commit (40 hex digits) as the revision, or use another mirror",
    );
  }
  // a repository's own index names the files: none may reach out of its snapshot
  if (!isRepoPath(r.path)) {
    throw new InputError(`${r.url}: not a file of the repository (${JSON.stringify(r.path)})`);
  }
  const pointer = under(under(r.root, "snapshots", commit), r.path);
  const blob = under(r.root, "blobs", info.etag);
  if (!existsSync(blob) || statSync(blob).size !== info.size) {
    // one download of a blob at a time, across processes (a shard array sharing a cache; huggingface-cli too:
    // the same lock file); the lock goes with its process, however it ends
    const lockFile = under(dirname(r.root), ".locks", basename(r.root), `${info.etag}.lock`);
    using lock = onDisk(r, "the download's lock", () => {
      mkdirSync(dirname(lockFile), { recursive: true });
      return Deno.openSync(lockFile, { create: true, write: true });
    });
    await lock.lock(true).catch((e) => {
      throw diskError(r, "the download's lock", e);
    });
    if (!existsSync(blob) || statSync(blob).size !== info.size) await fetchBlob(r, info, blob);
  }

  // Another process fetching the same snapshot may make the link or write the ref first: its work is ours.
  if (!existsSync(pointer)) {
    onDisk(r, "the snapshot's link", () => {
      mkdirSync(dirname(pointer), { recursive: true });
      try {
        symlinkSync(relative(dirname(pointer), blob), pointer);
      } catch (e) {
        if ((e as { code?: string }).code !== "EEXIST" && !(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    });
  }
  return pointer;
}

/**
 * refs/REVISION → COMMIT in the repository's folder `root`, as huggingface_hub writes it; another process may
 * write it first, which is as good.
 */
export function writeRef(root: string, revision: string, commit: string): void {
  if (!isCommit(commit)) {
    throw new InputError(`${root}: refs/${revision} would name ${JSON.stringify(commit)}, no commit`);
  }
  const ref = under(under(root, "refs"), revision);
  const current = () => existsSync(ref) && readFileSync(ref, "utf8").trim() === commit;
  if (current()) return;
  onDisk({ root }, "the ref", () => {
    mkdirSync(dirname(ref), { recursive: true });
    try {
      replaceFile(ref, commit);
    } catch (e) {
      if (!current()) throw e;
    }
  });
}
