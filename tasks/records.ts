/**
 * Raw records from local files: JSONL, JSON (a list, or an object holding one) and parquet (hyparquet).
 * A malformed record is one error naming the file and line (record, for a JSON list; row, for parquet: recordAt),
 * or, when the caller asks, skipped and counted; a data set is never silently wrong.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import {
  asyncBufferFromFile,
  type FileMetaData,
  parquetMetadataAsync,
  type ParquetParsers,
  parquetReadObjects,
  parquetSchema,
} from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { check, InputError, oneLine } from "../engine/errors.ts";
import { checkNotFolder, fileLines } from "../engine/files.ts";
import { loneSurrogate } from "./texts.ts";

/** Where a record is: its file and its 1-based line (JSONL), or record of a JSON list, or row (parquet). */
export interface Place {
  file: string;
  /** 1-based line (JSONL), record (JSON list) or row (parquet) */
  line: number;
  /** what `line` counts, where it is not a line */
  unit?: "record" | "row";
}

/** A place as messages say it: FILE:LINE for JSONL, "FILE record N" or "FILE row N" where N is no line. */
export const recordAt = (p: Place): string => p.unit ? `${p.file} ${p.unit} ${p.line}` : `${p.file}:${p.line}`;

export interface RawRecord extends Place {
  /** 0-based position among every record read, skipped ones included: a skipped record shifts no later one */
  index: number;
  value: Record<string, unknown>;
}

/** A record skipped as malformed (--skip-bad), and why. */
export interface Skipped extends Place {
  reason: string;
}

export interface ReadOptions {
  /** skip malformed records and count them instead of failing */
  skipBad?: boolean;
  /** read every file as JSONL, whatever its name (a case file, /dev/stdin) */
  jsonl?: boolean;
  /** top-level fields holding model output (a case file's "pred"): any text is its own, no broken escape */
  modelText?: readonly string[];
  /**
   * Called with each record kept, in order: true once the caller has what it needs (--limit's first N problems).
   * The records after that one are then counted (`unread`), never parsed or checked: a JSONL file's rest by a scan
   * of its bytes for lines that are not blank, a later .json file by its list's length, a parquet file by its rows.
   */
  enough?: (r: RawRecord) => boolean;
}

export interface ReadResult {
  records: RawRecord[];
  /** `index`: its position among every record read, as a record's */
  skipped: (Skipped & { index: number })[];
  /** records after the one `enough` stopped at: counted, not read (0 where every record was read) */
  unread: number;
}

const KINDS = [".jsonl", ".json", ".parquet"];

/** The data files of a path: the file itself, or a folder's .jsonl/.json/.parquet files by name. */
export function dataFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(`${path}: no such file or folder`);
  }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path).filter((f) => KINDS.includes(extname(f))).sort().map((f) => join(path, f));
  check(files.length > 0, `${path}: holds no .jsonl, .json or .parquet file`);
  return files;
}

export async function readRecords(files: readonly string[], opts: ReadOptions = {}): Promise<ReadResult> {
  const out: ReadResult = { records: [], skipped: [], unread: 0 };
  let stopped = false;
  const bad = (at: Place, reason: string) => {
    if (!opts.skipBad) throw new InputError(`${recordAt(at)}: ${reason}`);
    out.skipped.push({ ...at, index: out.records.length + out.skipped.length, reason });
  };
  const add = (at: Place, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(at, "expected a JSON object");
    // Some public copies carry broken escapes: "\frac" written with one backslash decodes to a form feed.
    const spoiled = badText(v, opts.modelText);
    if (spoiled) return bad(at, `field "${spoiled.field}" ${spoiled.reason}`);
    const r = { ...at, index: out.records.length + out.skipped.length, value: v as Record<string, unknown> };
    out.records.push(r);
    if (opts.enough?.(r)) stopped = true;
  };
  /** a whole file's records, each checked until the caller has enough, the rest counted */
  const addAll = (list: readonly unknown[], at: (i: number) => Place) => {
    list.forEach((r, i) => stopped ? out.unread++ : add(at(i), r));
  };
  for (const file of files) {
    checkNotFolder(file);
    const ext = opts.jsonl ? ".jsonl" : extname(file);
    const before = out.records.length + out.skipped.length + out.unread;
    if (ext === ".parquet") {
      if (stopped) {
        out.unread += await parquetRows(file);
        check(out.unread > before, `${file}: holds no records`);
        continue;
      }
      let rows: Record<string, unknown>[], inexact: Map<string, string>;
      try {
        const buffer = await asyncBufferFromFile(file);
        inexact = inexactColumns(await parquetMetadataAsync(buffer));
        rows = await parquetReadObjects({ file: buffer, compressors, parsers: STRICT_TEXT });
      } catch (e) {
        throw new InputError(`${file}: not a readable parquet file (${(e as Error).message})`);
      }
      check(rows.length > 0, `${file}: holds no records`);
      addAll(rows, (i) => {
        if (inexact.size && rows[i] && typeof rows[i] === "object") INEXACT.set(rows[i], inexact);
        return { file, line: i + 1, unit: "row" };
      });
      continue;
    }
    if (ext === ".json") {
      const text = readUtf8(file);
      let v: unknown;
      try {
        v = parseKeepingNumbers(text);
      } catch (e) {
        throw new InputError(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
      }
      check(
        Array.isArray(v) || (v !== null && typeof v === "object"),
        `${file}: expected a JSON list of records (or an object holding one)`,
      );
      // An object: its one list, or its list under "data" (the hub's layout) when it holds several.
      const lists = Array.isArray(v) ? [] : Object.entries(v as object).filter(([, x]) => Array.isArray(x));
      const list = Array.isArray(v) ? v : lists.length === 1 ? lists[0][1] : lists.find(([k]) => k === "data")?.[1];
      check(
        Array.isArray(list),
        lists.length > 1
          ? `${file}: an object holding several lists (${
            lists.map(([k]) => `"${k}"`).join(", ")
          }); expected one list of records, or one under "data"`
          : `${file}: expected a JSON list of records (or an object holding one)`,
      );
      addAll(list, (i) => ({ file, line: i + 1, unit: "record" }));
      check(out.records.length + out.skipped.length + out.unread > before, `${file}: holds no records`);
      continue;
    }
    check(ext === ".jsonl", `${file}: expected a .jsonl, .json or .parquet file`);
    let i = 0;
    for (const bytes of fileLines(file, { unterminated: true })) {
      const line = i++;
      // past what the caller needs: a line is counted by its bytes, neither decoded nor parsed
      if (stopped) {
        if (!blankLine(bytes)) out.unread++;
        continue;
      }
      const raw = utf8Line(bytes, file, line);
      if (raw.trim() === "") continue;
      let v: unknown;
      try {
        v = parseKeepingNumbers(raw);
      } catch (e) {
        bad({ file, line: line + 1 }, `not valid JSON (${oneLine((e as Error).message)})`);
        continue;
      }
      add({ file, line: line + 1 }, v);
    }
    check(out.records.length + out.skipped.length + out.unread > before, `${file}: holds no records`);
  }
  return out;
}

/** A parquet file's row count, from its metadata alone (a file past --limit's records: counted, not read). */
async function parquetRows(file: string): Promise<number> {
  try {
    return Number((await parquetMetadataAsync(await asyncBufferFromFile(file))).num_rows);
  } catch (e) {
    throw new InputError(`${file}: not a readable parquet file (${(e as Error).message})`);
  }
}

/**
 * Whether a line's bytes are blank as `text.trim() === ""` says of its text: ASCII white space alone, or (where a
 * byte past ASCII comes first) its text trimmed to nothing. A record's line, which opens with "{", is not decoded.
 */
function blankLine(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) continue;
    return b >= 0x80 ? new TextDecoder().decode(bytes).trim() === "" : false;
  }
  return true;
}

/**
 * A parquet file's number columns whose values do not print as the numbers stored were written (a 32-bit float's
 * 0.1 reads 0.10000000149011612 as a double; a decimal's scale is lost): by column, what it is. A field read as
 * text from one of them is refused (textField).
 */
function inexactColumns(meta: FileMetaData): Map<string, string> {
  const out = new Map<string, string>();
  for (const { element: e } of parquetSchema(meta).children) {
    const logical = e.logical_type?.type;
    if (e.type === "FLOAT") out.set(e.name, "a 32-bit float");
    else if (logical === "FLOAT16") out.set(e.name, "a 16-bit float");
    else if (logical === "DECIMAL" || e.converted_type === "DECIMAL") out.set(e.name, "a parquet decimal");
  }
  return out;
}

const INEXACT = new WeakMap<object, Map<string, string>>();

/**
 * Each JSON number's text as the file wrote it, by the object holding it: a gold answer 0.1234567890123456789
 * or an id 9007199254740993 is read as written, not as the nearest double (which prints otherwise).
 */
const NUMBER_TEXT = new WeakMap<object, Map<string, string>>();

function parseKeepingNumbers(text: string): unknown {
  try {
    return JSON.parse(text, function (this: object, key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === "number" && context?.source !== undefined) {
        if (!NUMBER_TEXT.has(this)) NUMBER_TEXT.set(this, new Map());
        NUMBER_TEXT.get(this)!.set(key, context.source);
      }
      return value;
    });
  } catch (e) {
    // A reviver recurses: values nested past the stack are parsed without it (no record nests its fields so).
    if (e instanceof RangeError) return JSON.parse(text);
    throw e;
  }
}

/** Records given no id of their own, by the field it was looked for in: numbered by position (idField). */
const NUMBERED = new WeakMap<object, string>();

/** The field a record had no id in, when its problem's id is its position (a collision's error says so). */
export const numberedId = (r: RawRecord): string | undefined => NUMBERED.get(r.value);

/**
 * Maps records to what a task makes of each (its field readers throw an InputError naming the record's line).
 * The loader's may skip a record refused so (--skip-bad) and count it; by default every record is made.
 */
/** The line a loader says of what --skip-bad skipped: how many, and the first few places. */
export function skippedText(skipped: readonly Place[]): string {
  const first = skipped.slice(0, 3).map(recordAt).join(", ");
  return `skipped ${skipped.length} malformed records (${first}${skipped.length > 3 ? ", …" : ""})`;
}

export type EachRecord = <T>(rs: readonly RawRecord[], make: (r: RawRecord) => T) => T[];

/**
 * A task whose problems are its records', each of one record, in file order: read so, --limit N stops reading at
 * its Nth problem (ReadOptions.enough).
 */
export interface OneByOne<P> {
  /** a record's problem; undefined: the record is none of the task's (lcb's outside its dates) */
  make(r: RawRecord): P | undefined;
  /**
   * Once read (`unread`: the records after the last one read, counted, not read): the checks of the records read
   * that a whole read makes of them all, and what is said of them. Returns the set's problem count (undefined
   * where the records not read leave it unknown); by default, those made and one a record not read.
   */
  done?(records: readonly RawRecord[], problems: readonly P[], unread: number): number | undefined;
}
export const everyRecord: EachRecord = (rs, make) => rs.map((r) => make(r));

/**
 * A JSONL file's line (read by fileLines, in pieces: a file past what one string can hold, ~512 MiB, as
 * LiveCodeBench's release files come near, reads as well as a small one), decoded alone. Bytes that are not UTF-8
 * are an error naming the line (0-based `line`), never replacement characters.
 */
function utf8Line(bytes: Uint8Array, file: string, line: number): string {
  const at = `${file}:${line + 1}`;
  return utf8Text(bytes, () => at, (mib) => `${at}: a line of ${mib} MiB is ${TOO_LONG}`);
}

const MiB = 2 ** 20;

/** A .json file's contents; bytes that are not UTF-8 are an error naming the line, never replacement characters. */
function readUtf8(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  const tooLong = (mib: number) => `${file}: ${mib} MiB is ${TOO_LONG}; write it as .jsonl (one record per line)`;
  return utf8Text(bytes, () => `${file}:${firstBadLine(bytes)}`, tooLong);
}

const TOO_LONG = "more than one JSON text can hold here";

/**
 * `bytes` as text. Decoding fails alike for bytes that are not UTF-8 and for a text longer than one string holds
 * (V8's ~512 MiB): the first is said at `badAt()`, the second by `tooLong(MiB)`.
 */
function utf8Text(bytes: Uint8Array, badAt: () => string, tooLong: (mib: number) => string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    check(!isUtf8(bytes), tooLong(Math.round(bytes.length / MiB)));
    throw new InputError(`${badAt()}: not valid UTF-8`);
  }
}

/** Whether `bytes` are UTF-8, decoded a MiB at a time: no string as long as theirs is made. */
function isUtf8(bytes: Uint8Array): boolean {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    for (let at = 0; at < bytes.length; at += MiB) decoder.decode(bytes.subarray(at, at + MiB), { stream: true });
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/** The 1-based line of the first bytes that are not UTF-8 (no character spans a newline: each line alone). */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1, start = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0 && isUtf8(bytes.subarray(start, i)); i = bytes.indexOf(0x0a, start)) {
    line++, start = i + 1;
  }
  return line;
}

// deno-lint-ignore no-control-regex -- control characters are exactly what it looks for
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * A parquet text value whose bytes are not UTF-8, as the reader leaves it (hyparquet's own decoder would give
 * U+FFFD in their place, silently): the record is refused by its row and field (badText).
 */
const NOT_UTF8 = Object.freeze({ notUtf8: true });

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const strictText = (bytes: Uint8Array): string | typeof NOT_UTF8 => {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return NOT_UTF8;
  }
};

/** hyparquet's decoders of text and JSON columns, strict: bytes that are not UTF-8 become NOT_UTF8. */
const STRICT_TEXT = {
  stringFromBytes: (bytes: Uint8Array) => bytes && strictText(bytes),
  jsonFromBytes: (bytes: Uint8Array) => {
    const text = bytes && strictText(bytes);
    return typeof text === "string" ? JSON.parse(text) : text;
  },
} as unknown as Partial<ParquetParsers>;

/**
 * The first text in a record that is spoiled, by its field's path (`solution`, `final_answer[1]`): bytes that are
 * not UTF-8 (parquet), or a control character (not a tab or line break). Iterative, for deep nesting. The
 * top-level fields `unchecked` are left out.
 */
function badText(v: object, unchecked: readonly string[] = []): { field: string; reason: string } | undefined {
  const stack = Object.entries(v).filter(([k]) => !unchecked.includes(k)).map(([k, x]): [unknown, string] => [x, k])
    .reverse();
  while (stack.length) {
    const [x, field] = stack.pop()!;
    if (x === NOT_UTF8) return { field, reason: "is not valid UTF-8" };
    if (typeof x === "string") {
      const lone = loneSurrogate(x);
      if (lone) return { field, reason: lone };
      const c = CONTROL.exec(x);
      if (c) {
        const code = `U+${c[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`;
        return {
          field,
          reason: `holds control characters (${code}): a broken escape such as \\frac written with one backslash?`,
        };
      }
    }
    // in reverse, so that the first spoiled text in the record's order is the one said
    if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) stack.push([x[i], `${field}[${i}]`]);
    } else if (x && typeof x === "object") {
      const inner = Object.entries(x);
      for (let i = inner.length - 1; i >= 0; i--) stack.push([inner[i][1], `${field}.${inner[i][0]}`]);
    }
  }
  return undefined;
}

/**
 * LaTeX commands whose backslash and first letter, written with one backslash in JSON, decode to a tab or a line
 * feed, and whose rest no text puts after one (the whole run of letters): `\nu`, `\ne`, `\ni` are left out, a
 * line may start with "u = 3". None of the shared data sets' problems holds one.
 */
const ESCAPED_COMMANDS: Record<string, readonly string[]> = {
  "\t": [
    "times",
    "theta",
    "text",
    "textbf",
    "textit",
    "textrm",
    "texttt",
    "textsf",
    "textstyle",
    "textup",
    "textnormal",
    "tan",
    "tanh",
    "tau",
    "to",
    "tt",
    "triangle",
    "triangleq",
    "tfrac",
    "tilde",
    "top",
    "tbinom",
    "therefore",
  ],
  "\n": ["neq", "neg", "nabla", "not", "nmid", "ngeq", "nleq", "nexists", "newline", "nolimits", "nonumber", "notin"],
};

/** An answer (one line) holding a tab or line break, said; a line break after it is the file's, not the answer's. */
export function brokenAnswer(gold: string): string | undefined {
  const m = /[\t\n\r]/.exec(gold.trimEnd());
  return m ? `holds a ${JSON.stringify(m[0])} (${JSON.stringify(gold)})` : undefined;
}

/**
 * A maths problem spoiled by a broken escape ("\times" written in JSON with one backslash is a tab and "imes"),
 * said, or undefined. Its answers are one line, so a tab or line break in one is broken (a gold "\nu" would be
 * graded as a line break and "u"); in its text, a carriage return before a letter, or a tab or line feed before
 * the rest of a command above. Code problems are not read so: their samples hold any text.
 */
export function brokenEscape(p: { text: string; golds: readonly string[] }): string | undefined {
  for (const g of p.golds) {
    const broken = brokenAnswer(g);
    if (broken) return `its answer ${broken}`;
  }
  const cr = /\r[A-Za-z]/.exec(p.text);
  if (cr) return `its text holds a "\\r" before "${cr[0][1]}"`;
  for (const [, white, rest] of p.text.matchAll(/([\t\n])([A-Za-z]+)/g)) {
    if (ESCAPED_COMMANDS[white].includes(JSON.stringify(white)[2] + rest)) {
      return `its text holds a ${JSON.stringify(white)} before "${rest}"`;
    }
  }
  return undefined;
}

/** A field's value in a message: a list or an object by its kind, any other as JSON writes it (a bigint as text). */
export function shown(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (typeof v === "bigint") return String(v);
  return v !== null && typeof v === "object" ? "an object" : JSON.stringify(v) ?? String(v);
}

/**
 * The longest text a field may hold: far above any benchmark problem (OlympiadBench's longest is ~5,000
 * characters), far below what would exhaust memory before a prompt is checked against the model's context.
 */
export const MAX_TEXT = 200_000;

/**
 * A field of a record that must be a non-empty string or a number, given as text exactly as the file wrote it
 * (0.1234567890123456789 stays so; a double would print 0.12345678901234568). The first of `names` present.
 */
export function textField(r: RawRecord, names: readonly string[]): string {
  const at = recordAt(r);
  for (const n of names) {
    const v = r.value[n];
    if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) continue;
    if (typeof v === "string") {
      check(v.length <= MAX_TEXT, `${at}: field "${n}" is ${v.length} characters long; at most ${MAX_TEXT}`);
      return v;
    }
    if (typeof v === "bigint") return String(v); // a parquet INT64 (the hub's ids): exact as it is
    check(typeof v === "number", `${at}: field "${n}" must be text or a number, got ${shown(v)}`);
    const written = NUMBER_TEXT.get(r.value)?.get(n);
    if (written !== undefined) return written;
    const inexact = INEXACT.get(r.value)?.get(n);
    check(
      inexact === undefined,
      `${at}: field "${n}" is ${inexact} column: its numbers are not the ones written (0.1 in 32 bits reads ` +
        "0.10000000149011612); store the column as text, or as 64-bit floats",
    );
    // A number with no text (parquet): exact only where a double is.
    check(
      Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v)),
      `${at}: field "${n}" holds a number a double cannot carry exactly (${
        Number.isFinite(v) ? "past 2^53" : "out of range"
      }); write it as text`,
    );
    return String(v);
  }
  const empty = names.find((n) => r.value[n] !== undefined && r.value[n] !== null);
  throw new InputError(
    empty === undefined
      ? `${at}: missing field ${names.map((n) => `"${n}"`).join(" or ")}`
      : `${at}: field "${empty}" is empty`,
  );
}

/** A record's id: its field `key` (text, or a number JSON carries exactly), else `fallback` (its place among the records). */
export function idField(r: RawRecord, key: string, fallback: number): string {
  const v = r.value[key];
  if (v === undefined || v === null) {
    NUMBERED.set(r.value, key);
    return String(fallback);
  }
  check(
    typeof v !== "string" || v.trim() !== "",
    `${recordAt(r)}: field "${key}" is empty (an id names its problem)`,
  );
  return textField(r, [key]);
}
