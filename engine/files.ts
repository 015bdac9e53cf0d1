/**
 * The project's two ways of writing a file that will be read back: replaced whole, atomically (a temporary
 * beside it, synced, renamed over it: a kill or a full disk leaves the old file or the new one, never part of
 * one), or whole lines appended (one write, synced); and the lines read back a piece at a time. Files are made
 * by Deno's own calls, which respect the umask (node:fs's appendFileSync makes them rw-rw-rw-). A failure is
 * one InputError naming the file.
 */
import { basename, dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError, oneLine } from "./errors.ts";

/**
 * A seam for tests: called with the file's path before every write; what it throws fails that write (a full
 * disk, say), so that a test can show that a failure at any write of a run loses nothing.
 */
export const writeSeam: { before?: (file: string) => void } = {};

const fault = (file: string) => writeSeam.before?.(file);

function failure(file: string, e: unknown): InputError {
  const message = oneLine((e as Error).message ?? String(e));
  const full = /os error 28|ENOSPC|No space left/i.test(message)
    ? "the disk is full; free space and run the same command again"
    : /os error 27|EFBIG|File too large/i.test(message)
    ? "the file would pass the file-size limit (ulimit -f); raise it and run the same command again"
    : message;
  return new InputError(`${file}: cannot write it (${full})`);
}

function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  for (let at = 0; at < data.length;) at += f.writeSync(data.subarray(at));
}

const bytes = (data: string | Uint8Array) => (typeof data === "string" ? new TextEncoder().encode(data) : data);

/**
 * What is at `path` (its stat, through links), or undefined where nothing usable is (not there, a path through a
 * file, a link to nothing): the one look at a path a user gave, or one made from it, before it is used. Deno's own
 * calls (existsSync too) throw for an empty path, and, under a task's permissions (not -A), for a path that only
 * --allow-all reaches (/proc, /sys, most of /dev): those are an InputError naming `flag` and the path, never a
 * stack trace. `want`: what the flag takes, for the advice.
 */
export function pathInfo(path: string, flag?: string, want = "file"): Deno.FileInfo | undefined {
  const named = (p: string) => (flag ? `${flag} ${p}` : p);
  if (path === "") throw new InputError(`${named('""')}: an empty path; name a ${want}`);
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new InputError(
        `${named(path)}: this command may not read it (under a task's permissions Deno gives /proc, /sys and most ` +
          `/dev paths to --allow-all alone); name a ${want} outside them`,
      );
    }
    // a NUL byte, which no path holds
    if (e instanceof TypeError) throw new InputError(`${named(JSON.stringify(path))}: not a path (${e.message})`);
    return undefined;
  }
}

/** Whether something is at `path` (pathInfo: never Deno's throw). */
export const pathExists = (path: string, flag?: string): boolean => pathInfo(path, flag) !== undefined;

/**
 * A command's path flags (values by flag name, as parseFlags gives them; each with what it takes: "file",
 * "folder", …), those given checked before any work: pathInfo's refusals, naming the flag. Whether the path is
 * there and of the right kind stays its reader's to say.
 */
export function checkPathFlags(values: Record<string, unknown>, flags: Record<string, string>): void {
  for (const [name, want] of Object.entries(flags)) {
    const v = values[name];
    for (const path of Array.isArray(v) ? v : [v]) if (typeof path === "string") pathInfo(path, `--${name}`, want);
  }
}

/**
 * Why `file` cannot be replaced, or undefined: the rename would put a file in place of a device or a pipe
 * (/dev/null, as root: gone for every program), or fail on a folder.
 */
function notReplaceable(file: string): string | undefined {
  let kind: Deno.FileInfo;
  try {
    kind = Deno.statSync(file);
  } catch (e) {
    // a path through a file (FILE/x) can never be made
    if (e instanceof Deno.errors.NotADirectory) return "a path through a file, not a folder";
    return undefined; // not there yet: made
  }
  return kind.isFile
    ? undefined
    : `not a regular file (${kind.isDirectory ? "a folder" : "a device or a pipe"}); name a file`;
}

/**
 * A command's output files, by flag, checked before any work (a bad one found after it would lose the work):
 * each replaceable, in a folder that is there, no two the same file (the later write would silently replace the
 * earlier), and none an input's file or inside an input's folder (it would replace the data it was made from, or
 * be read as data the next time).
 */
export function checkOutputFiles(
  outputs: Record<string, string | undefined>,
  inputs: Record<string, string | undefined> = {},
): void {
  const read = Object.entries(inputs).flatMap(([flag, path]) => {
    if (path === undefined) return [];
    try {
      return [{ flag, path, real: Deno.realPathSync(path), folder: Deno.statSync(path).isDirectory }];
    } catch {
      return []; // not there: its own command says so
    }
  });
  const seen = new Map<string, string>();
  for (const [flag, file] of Object.entries(outputs)) {
    if (file === undefined) continue;
    // given empty: not the flag left out (its output would go to stdout, or nowhere, unsaid)
    if (file === "") throw new InputError(`${flag} "": an empty name; name a file`);
    // a name ending in a separator names a folder, which path.resolve would quietly drop
    if (/[\\/]$/.test(file)) throw new InputError(`${flag} ${file}: names a folder; name a file`);
    const why = notReplaceable(file);
    if (why) throw new InputError(`${flag} ${file}: ${why}`);
    const dir = dirname(resolve(file));
    let real: string;
    try {
      real = Deno.realPathSync(dir);
    } catch {
      real = "";
    }
    if (!real || !Deno.statSync(real).isDirectory) throw new InputError(`${flag} ${file}: no folder ${dir}`);
    // the file's own links resolved too: two names of one file are one output
    let key = join(real, basename(file));
    try {
      key = Deno.realPathSync(key);
    } catch {
      // not there yet: its folder's real path names it
    }
    const other = seen.get(key);
    if (other) throw new InputError(`${other} and ${flag} name one file (${file}); give each its own`);
    for (const i of read) {
      if (key === i.real || (i.folder && key.startsWith(i.real + "/"))) {
        throw new InputError(
          `${flag} ${file}: ${i.folder ? "inside" : "is"} ${i.flag} ${i.path}, which it reads; write elsewhere`,
        );
      }
    }
    seen.set(key, flag);
  }
}

/**
 * `values` as JSON lines for replaceFile, each made as it is written: a run's records as one string would pass the
 * longest string V8 holds (512 MiB), and as a list of strings would hold their worth again.
 */
export function* jsonLines(values: Iterable<unknown>): Generator<string> {
  for (const v of values) yield JSON.stringify(v) + "\n";
}

let temps = 0;

/**
 * The temporary a replacement of `file` is written to, beside it: its own to this write (the process's id, a count
 * and a random part: two processes, or two hosts on one shared disk, replacing one file never share one, which
 * made one's rename fail and could interleave their bytes). `isTempOf` tells one from its name.
 */
function tempName(file: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${file}.${Deno.pid}-${++temps}-${random}.tmp`;
}

/** What tempName puts after the name of the file a temporary replaces. */
const TEMP_END = /\.\d+-\d+-[0-9a-z]+\.tmp$/;

/** Whether `name` (a name in a folder, no path) is a temporary of a replacement of the file named `of`. */
export function isTempOf(name: string, of: string): boolean {
  const end = name.slice(of.length);
  return name.startsWith(of) && end.match(TEMP_END)?.[0] === end ||
    name === `${of}.tmp`; // an older version's
}

/**
 * Removes the temporaries that replacements of `file` left (a writer killed mid-write): only by the one process
 * that alone writes `file` (a folder's lock held), never where another may be writing one now.
 */
export function removeStrayTemps(file: string): void {
  const name = basename(file);
  removeTemps(dirname(file), (temp) => isTempOf(temp, name));
}

/**
 * Removes the temporaries of replacements of any file in `dir` last written more than `ageMs` ago: for a folder
 * several processes write without a lock (the judge's reply cache), where a temporary that old is a killed
 * writer's (a replacement takes moments, never hours).
 */
export function removeOldTemps(dir: string, ageMs: number): void {
  const now = Date.now();
  removeTemps(dir, (temp, path) => {
    // a temporary of some file, last written that long ago
    const at = TEMP_END.test(temp.slice(1)) ? Deno.statSync(path).mtime?.getTime() : undefined;
    return at !== undefined && now - at > ageMs;
  });
}

/** Removes the files of `dir` that `which` picks (by name and path); a file gone meanwhile, or no `dir`, is none. */
function removeTemps(dir: string, which: (name: string, path: string) => boolean): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isFile) continue;
    const path = join(dir, e.name);
    try {
      if (which(e.name, path)) Deno.removeSync(path);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Replaces `file` whole, atomically (through a symbolic link: the file it names); `data` may come in parts (lines
 * too many to join into one string), made as they are written (a copy of a file's lines that never holds them all;
 * they may be read from `file` itself).
 */
export function replaceFile(file: string, data: string | Uint8Array | Iterable<string | Uint8Array>): void {
  // a link is kept and its file replaced (traces put on another disk stay there, not copied over the link)
  let real = file;
  try {
    if (Deno.lstatSync(file).isSymlink) real = Deno.realPathSync(file);
  } catch {
    // not there yet, or a link to nothing: made where it is named
  }
  const tmp = tempName(real);
  const why = notReplaceable(file);
  if (why) throw new InputError(`${file}: ${why}`);
  try {
    fault(file);
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const parts = typeof data === "string" || data instanceof Uint8Array ? [data] : data;
      for (const part of parts) writeAll(f, bytes(part));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, real);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was made
    }
    throw failure(file, e);
  }
}

/**
 * Appends `text` (whole lines, ending in "\n") to `file`, creating it. A write that fails part-way is taken back
 * (the file cut to its size before): space freed a moment later would let the next append land after a torn line,
 * in the middle of the file, where no reader can skip it.
 */
export function appendLines(file: string, text: string): void {
  let size: number | undefined, written = 0;
  try {
    size = pathInfo(file)?.size ?? 0;
    fault(file);
    const f = Deno.openSync(file, { append: true, create: true }), data = bytes(text);
    try {
      while (written < data.length) written += f.writeSync(data.subarray(written));
      f.syncSync();
    } finally {
      f.close();
    }
  } catch (e) {
    try {
      // only where this write's bytes are the file's end: another writer's line appended meanwhile (two judges on
      // one folder) is never cut
      if (size !== undefined && written > 0 && pathInfo(file)?.size === size + written) Deno.truncateSync(file, size);
    } catch {
      // left torn: the writer stops at this error, and a resume cuts a torn last line
    }
    throw failure(file, e);
  }
}

/**
 * Cuts `file` (through a link: the file it names) to its first `size` bytes, durably (synced): the lines before it
 * kept where they are, with no copy (a resume's traces, GBs). `same`: the file as it was when `size` was found in it
 * (its inode, size and modification time); another file there, or this one changed since, is refused, never cut.
 */
export function cutFile(file: string, size: number, same: FileStamp): void {
  let f: Deno.FsFile | undefined;
  try {
    fault(file);
    f = Deno.openSync(file, { write: true });
  } catch (e) {
    throw failure(file, e);
  }
  try {
    if (!sameStamp(stamp(f.statSync()), same)) {
      throw new InputError(`${file}: replaced or changed while it was read; run the same command again`);
    }
    try {
      f.truncateSync(size);
      f.syncSync();
    } catch (e) {
      throw failure(file, e);
    }
  } finally {
    f.close();
  }
}

/**
 * Refuses a folder named where a file is read (a case file, a data file): opening one succeeds, and the read
 * then fails with EISDIR. Devices and pipes are read (/dev/stdin); a path not there is left to the read to say.
 */
export function checkNotFolder(file: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch {
    return;
  }
  if (info.isDirectory) throw new InputError(`${file}: not a file (a folder); name a file`);
}

/**
 * Each line of `file` (its bytes without the newline, a copy of its own), read `chunkBytes` (16 MiB) at a time,
 * so that a file past what one string holds (V8's 512 MiB) reads as a small one does. A last line without its
 * newline is given only when `unterminated` (a data file's last line; in a file written by appends, a kill's).
 * `from`: the byte to start at (a line's first: a reader following appends). A line past `maxLineBytes` (512 MiB,
 * what one string holds) is an error naming it: a stream without newlines (/dev/zero) ends there, not at memory's end.
 */
export function* fileLines(
  file: string,
  o: { chunkBytes?: number; unterminated?: boolean; from?: number; maxLineBytes?: number } = {},
): Generator<Uint8Array> {
  checkNotFolder(file);
  const f = openToRead(file);
  const most = o.maxLineBytes ?? 2 ** 29;
  try {
    if (o.from) f.seekSync(o.from, Deno.SeekMode.Start);
    const chunk = new Uint8Array(o.chunkBytes ?? 1 << 24);
    let carry: Uint8Array[] = [], carried = 0, line = 0, at = o.from ?? 0; // the line's number and first byte
    const tooLong = () =>
      new InputError(
        `${o.from ? `${file}: the line at byte ${at}` : `${file}:${line + 1}`}: a line longer than ${
          most % 2 ** 20 ? `${most} bytes` : `${most / 2 ** 20} MiB`
        }; expected one JSON text a line`,
      );
    for (let n = f.readSync(chunk); n; n = f.readSync(chunk)) {
      const buf = chunk.subarray(0, n);
      let start = 0;
      for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
        if (carried + i - start > most) throw tooLong();
        const piece = buf.subarray(start, i);
        yield carry.length ? concat([...carry, piece]) : piece.slice();
        at += carried + piece.length + 1;
        carry = [];
        carried = 0;
        line++;
        start = i + 1;
      }
      if (start < n) {
        carried += n - start;
        if (carried > most) throw tooLong();
        carry.push(buf.slice(start));
      }
    }
    if (o.unterminated && carry.length) yield concat(carry);
  } finally {
    f.close();
  }
}

/**
 * The bytes of `file` in each range [start, end) of `ranges`, one range at a time, in the order given (lines found
 * by fileLines' offsets, read again without reading the file whole). `same`: the file as it was when the ranges
 * were found (its inode, size and change time), checked on the file opened: offsets into another file, or into
 * this one rewritten, would copy other bytes.
 */
export function* fileRanges(
  file: string,
  ranges: Iterable<readonly [number, number]>,
  same?: FileStamp,
): Generator<Uint8Array> {
  const f = openToRead(file);
  try {
    if (same && !sameStamp(stamp(f.statSync()), same)) {
      throw new InputError(`${file}: replaced or changed while it was read; run the same command again`);
    }
    for (const [start, end] of ranges) {
      const out = new Uint8Array(end - start);
      f.seekSync(start, Deno.SeekMode.Start);
      for (let at = 0; at < out.length;) {
        const n = f.readSync(out.subarray(at));
        if (!n) throw new InputError(`${file}: shorter than when it was read (cut or replaced meanwhile?)`);
        at += n;
      }
      yield out;
    }
  } finally {
    f.close();
  }
}

/** What tells a file from another, or from itself rewritten: its inode, size and modification time. */
export interface FileStamp {
  ino: number | null;
  size: number;
  mtime: number | undefined;
}

export const stamp = (i: Deno.FileInfo): FileStamp => ({ ino: i.ino, size: i.size, mtime: i.mtime?.getTime() });

export const sameStamp = (a: FileStamp, b: FileStamp) => a.ino === b.ino && a.size === b.size && a.mtime === b.mtime;

/**
 * A file of an npm package of the import map, from its root (the folder above its entry point that holds
 * package.json; a package of files alone, fonts, resolves to an entry point that is not there).
 */
export function packageFile(pkg: string, file: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, file);
}

function openToRead(file: string): Deno.FsFile {
  try {
    return Deno.openSync(file, { read: true });
  } catch (e) {
    throw new InputError(`${file}: cannot read (${oneLine((e as Error).message)})`);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}
