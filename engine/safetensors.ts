/**
 * Safetensors headers: read and validated here (8 + header bytes per file); the tensor bytes themselves are
 * read by the native core. Single files and sharded checkpoints (`model.safetensors.index.json`).
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readSync } from "node:fs";
import { pathExists, pathInfo } from "./files.ts";
import { join } from "node:path";
import { check, InputError, oneLine } from "./errors.ts";
import { readJson } from "./config.ts";

export type TensorDType = "BF16" | "F16" | "F32" | "F64" | "I32" | "I64" | "F8_E4M3";

export interface TensorInfo {
  name: string;
  file: string;
  /** absolute byte offset of the data in `file` */
  offset: number;
  nbytes: number;
  dtype: TensorDType;
  shape: number[];
}

const SIZES: Record<string, number> = { BF16: 2, F16: 2, F32: 4, F64: 8, I32: 4, I64: 8, F8_E4M3: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

/** Reads one .safetensors file's header and checks every entry against the file's size. */
export function readHeader(file: string): TensorInfo[] {
  let fd: number;
  // stat first: opening a named pipe would wait for a writer forever
  check(pathInfo(file)?.isFile !== false, `${file}: not a file`);
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(`${file}: cannot open (${(e as Error).message})`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new InputError(`${file}: not a file`);
  }
  try {
    const size = fstatSync(fd).size;
    check(size >= 8, `${file}: too short to be a safetensors file (${size} bytes)`);
    const head = new Uint8Array(8);
    readSync(fd, head, 0, 8, 0);
    // compared and printed as the BigInt it is: past 2^53 a Number would print another, rounded length
    const length = new DataView(head.buffer).getBigUint64(0, true), limit = Math.min(MAX_HEADER, size - 8);
    check(
      length >= 2n && length <= BigInt(limit),
      `${file}: header length ${length} does not fit in the file (${size} bytes): expected 2 to ${limit} (${
        limit === MAX_HEADER ? "the most this reader takes" : "the bytes after the length"
      })`,
    );
    const n = Number(length);
    const bytes = new Uint8Array(n);
    check(readSync(fd, bytes, 0, n, 8) === n, `${file}: truncated header`);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new InputError(`${file}: header is not valid JSON (${oneLine((e as Error).message)})`);
    }
    check(json !== null && typeof json === "object" && !Array.isArray(json), `${file}: header is not a JSON object`);
    const twice = namedTwice(new TextDecoder().decode(bytes));
    check(
      twice === undefined,
      `${file}: tensor ${JSON.stringify(twice)} is named twice in the header (JSON keeps only the last): refused, ` +
        "as which of its entries is the tensor is unsaid",
    );
    const dataSize = size - 8 - n;
    const out: TensorInfo[] = [];
    for (const [name, v] of Object.entries(json)) {
      if (name === "__metadata__") continue;
      const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const where = `${file}: tensor "${name}"`;
      check(typeof t?.dtype === "string", `${where}: missing "dtype"`);
      check(
        SIZES[t.dtype as string],
        `${where}: dtype ${t.dtype} is not supported; supported: ${Object.keys(SIZES).join(", ")}`,
      );
      check(
        Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0),
        `${where}: "shape" must be a list of sizes`,
      );
      const off = t.data_offsets;
      check(
        Array.isArray(off) && off.length === 2 && off.every((d) => Number.isInteger(d) && d >= 0),
        `${where}: "data_offsets" must be [begin, end]`,
      );
      const [b, e] = off as number[];
      const shape = t.shape as number[];
      const nbytes = shape.reduce((a, d) => a * d, 1) * SIZES[t.dtype as string];
      check(
        e - b === nbytes,
        `${where}: data_offsets [${b}, ${e}] hold ${e - b} bytes, its shape and dtype need ${nbytes}`,
      );
      check(
        e <= dataSize,
        `${where}: data_offsets end ${e} lies beyond the data (${dataSize} bytes; is the file truncated?)`,
      );
      out.push({ name, file, offset: 8 + n + b, nbytes, dtype: t.dtype as TensorDType, shape });
    }
    checkTiling(file, out, 8 + n, dataSize);
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * A key the top-level object of `text` (valid JSON) holds twice, if any (JSON.parse keeps the last silently).
 * Keys are read as JSON reads them, escapes and all.
 */
function namedTwice(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth !== 1) continue;
      // a key is followed by ":" (after spaces); a value at depth 1 is not
      let j = i + 1;
      while (/\s/.test(text[j])) j++;
      if (text[j] !== ":") continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}

/**
 * The format requires the tensors to tile the data region exactly: in offset order, each begins where the one
 * before ended, the first at 0 and the last at the file's end. A header a byte short, overlapping or swapped
 * offsets, gaps and trailing bytes all break it (and would otherwise load shifted or garbled weights).
 */
function checkTiling(file: string, tensors: readonly TensorInfo[], base: number, dataSize: number): void {
  let at = 0;
  for (const t of [...tensors].sort((a, b) => a.offset - b.offset || a.nbytes - b.nbytes)) {
    const begin = t.offset - base;
    check(
      begin === at,
      begin < at
        ? `${file}: tensor "${t.name}" overlaps the one before it (data_offsets begin ${begin}, the previous ends at ${at})`
        : `${file}: ${
          begin - at
        } bytes before tensor "${t.name}" belong to no tensor (a gap at ${at}; header length off?)`,
    );
    at = begin + t.nbytes;
  }
  check(
    at === dataSize,
    `${file}: ${dataSize - at} bytes after the last tensor belong to none (trailing bytes, or a header length off)`,
  );
}

/** A name that exists as a link, even a broken or looping one (existsSync says no to those). */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The shard files an index's weight_map names, each once: plain file names beside the index (a name that leaves
 * the folder, or a download's snapshot, is refused).
 */
export function shardFiles(index: string, map: unknown): string[] {
  check(map !== null && typeof map === "object" && !Array.isArray(map), `${index}: missing field "weight_map"`);
  const files = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const f of files) {
    check(
      typeof f === "string" && /^[^/\\]+$/.test(f) && f !== "." && f !== "..",
      `${index}: weight_map holds a bad file name ${JSON.stringify(f)}`,
    );
  }
  return files as string[];
}

/**
 * The weights' file names in the order transformers' from_pretrained looks for them
 * (`_get_resolved_checkpoint_files`: the single file, else the index), locally and on the hub alike: the first
 * there is read, the others are not. A folder can hold both (a sharded save into a folder that held one file),
 * and the two can differ: read otherwise, the engine would run other weights than the reference.
 */
export const WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json"] as const;

/**
 * Which of WEIGHT_FILES the checkpoint in `dir` is read from: the first that is a file, as transformers'
 * os.path.isfile (a broken link or a folder is none); else the first there at all, to be read and said what it
 * is; undefined where none is.
 */
export function weightsFile(dir: string): (typeof WEIGHT_FILES)[number] | undefined {
  const at = (f: string) => join(dir, f);
  return WEIGHT_FILES.find((f) => pathInfo(at(f))?.isFile) ??
    WEIGHT_FILES.find((f) => pathExists(at(f)) || isLink(at(f)));
}

/** Every tensor of the checkpoint in `dir`, by name. */
export function readCheckpoint(dir: string): Map<string, TensorInfo> {
  const found = weightsFile(dir), at = (f: string) => join(dir, f);
  check(found !== undefined, `${dir}: no ${WEIGHT_FILES.join(" or ")}`);
  const tensors = new Map<string, TensorInfo>();
  if (found === WEIGHT_FILES[0]) {
    for (const t of readHeader(at(found))) tensors.set(t.name, t);
    return tensors;
  }
  const index = at(found);
  const map = readJson(index).weight_map as Record<string, unknown>;
  for (const f of shardFiles(index, map)) {
    const shard = join(dir, f);
    // an interrupted download or a partial copy: the index that asks for the shard named with it
    check(pathExists(shard), `${shard}: no such file, which ${index} lists in its weight_map`);
    for (const t of readHeader(shard)) {
      const other = tensors.get(t.name)?.file;
      check(other === undefined, `${index}: the tensor ${t.name} is in two shards, ${other} and ${t.file}`);
      tensors.set(t.name, t);
    }
  }
  for (const [name, f] of Object.entries(map)) {
    check(
      tensors.get(name)?.file === join(dir, f as string),
      `${index}: weight_map says ${name} is in ${f}, but that file does not hold it`,
    );
  }
  return tensors;
}

/** Reads a small file's tensors into memory (references, fixtures): F32/F64/I32 as typed arrays. */
export function readSmallFile(
  file: string,
): Map<string, { shape: number[]; data: Float32Array | Float64Array | Int32Array }> {
  const bytes = readFileSync(file);
  const out = new Map();
  for (const t of readHeader(file)) {
    const buf = bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + t.nbytes);
    const data = t.dtype === "F32"
      ? new Float32Array(buf)
      : t.dtype === "F64"
      ? new Float64Array(buf)
      : t.dtype === "I32"
      ? new Int32Array(buf)
      : undefined;
    if (!data) throw new InputError(`${file}: tensor ${t.name} is ${t.dtype}; only F32, F64 and I32 are read here`);
    out.set(t.name, { shape: t.shape, data });
  }
  return out;
}
