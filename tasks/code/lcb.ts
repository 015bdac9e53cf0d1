/**
 * LiveCodeBench (code_generation_lite): its records as code problems. Each record holds the statement, the
 * starter code (LeetCode's `class Solution` signature, or "" for a program reading stdin), public tests as JSON
 * text and private tests as JSON text or as base64(zlib(pickle(JSON text))), and `metadata.func_name` for
 * problems graded by calling a method. Problems are chosen by contest date as LiveCodeBench's loader chooses
 * them (benchmarks/code_generation.py: `start <= contest_date <= end`, the bounds read as midnight); the default
 * is the paper's window.
 */
import { inflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { check, InputError } from "../../engine/errors.ts";
import { fillTemplate, textsFile } from "../texts.ts";
import type { Problem } from "../problem.ts";
import { type EachRecord, everyRecord, type OneByOne, type RawRecord, recordAt, textField } from "../records.ts";
import { unpickleString } from "./pickle.ts";
import type { CodeSpec, CodeTest } from "./problem.ts";

/** Contest dates, YYYY-MM-DD, both inclusive; a side left out is open. */
export interface LcbDates {
  from?: string;
  to?: string;
}

/** The paper's LiveCodeBench subset (2024.08–2025.02, QwQ-32B's evaluation window): 279 problems of release_v5. */
export const PAPER_DATES: LcbDates = { from: "2024-08-01", to: "2025-02-01" };

/** --lcb-dates FROM:TO (YYYY-MM-DD:YYYY-MM-DD, either side may be empty: "2024-08-01:", ":" for every date). */
export function parseLcbDates(v: string, flag: string): LcbDates {
  const m = /^([^:]*):([^:]*)$/.exec(v);
  check(m, `${flag}: expected FROM:TO with dates YYYY-MM-DD (either may be empty), got "${v}"`);
  const [from, to] = [m[1], m[2]].map((d) => {
    check(d === "" || validDate(d), `${flag}: "${d}" is not a date YYYY-MM-DD`);
    return d || undefined;
  });
  check(!from || !to || from <= to, `${flag}: ${from} is after ${to}`);
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

function validDate(d: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m) return false;
  const t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return t.getUTCFullYear() === +m[1] && t.getUTCMonth() === +m[2] - 1 && t.getUTCDate() === +m[3];
}

/** What the model reads around a problem (tasks/code/lcb_prompt.json, or the user's file in its format). */
export interface LcbTexts {
  /** the whole text, with {{content}}, {{instruction}} and {{code}} */
  question: string;
  /** the instruction for a program that reads stdin */
  stdin: string;
  /** the instruction for completing starter code */
  starter: string;
  /** the code block's text where there is no starter code */
  placeholder: string;
}

export function loadLcbTexts(file?: string): LcbTexts {
  const where = file ?? new URL("./lcb_prompt.json", import.meta.url).pathname;
  const texts = textsFile(where, {
    question: ["{{content}}", "{{instruction}}", "{{code}}"],
    stdin: [],
    starter: [],
    placeholder: [],
  });
  return texts as unknown as LcbTexts;
}

/**
 * The problems of `records` whose contest date falls in `dates` (undefined: the paper's window), in file
 * order; prints how many it took. Records outside the window are checked for their date only. `each` makes a
 * record's date and problem (the loader's skips a record they refuse, with --skip-bad).
 */
export function lcbProblems(
  records: RawRecord[],
  dates: LcbDates = PAPER_DATES,
  texts = loadLcbTexts(),
  each: EachRecord = everyRecord,
): Problem[] {
  const within = inDates(dates);
  const chosen = each(records, (r) => ({ r, d: contestDate(r) })).filter(({ d }) => within(d)).map(({ r }) => r);
  checkChosen(chosen.length, records.length, dates);
  const problems = each(chosen, (r) => lcbProblem(r, texts));
  said(problems, `${chosen.length} of ${records.length} problems`, dates);
  return problems;
}

/**
 * lcbProblems record by record, for --limit N (the loader stops reading at the Nth problem): a record's date is
 * read, and only a record in `dates` is made a problem, its tests decoded. Read to the end, it says and checks
 * what lcbProblems does; stopped before, what it took of the records read.
 */
export function lcbOneByOne(dates: LcbDates = PAPER_DATES, texts = loadLcbTexts()): OneByOne<Problem> {
  const within = inDates(dates);
  return {
    make: (r) => within(contestDate(r)) ? lcbProblem(r, texts) : undefined,
    done: (records, problems, unread) => {
      if (!unread) {
        checkChosen(problems.length, records.length, dates);
        said(problems, `${problems.length} of ${records.length} problems`, dates);
        return problems.length;
      }
      said(
        problems,
        `the first ${problems.length} problems of ${records.length} records read (--limit; the ${unread} after ` +
          "them not read)",
        dates,
      );
      return undefined;
    },
  };
}

/** Whether a contest date (contestDate's text) falls in `dates`. */
function inDates(dates: LcbDates): (d: string) => boolean {
  const from = dates.from ? `${dates.from}T00:00:00.000000` : "", to = dates.to ? `${dates.to}T00:00:00.000000` : "";
  return (d) => (!from || from <= d) && (!to || d <= to);
}

const windowText = (dates: LcbDates) => `${dates.from ?? "the first"}..${dates.to ?? "the last"}`;

function checkChosen(chosen: number, records: number, dates: LcbDates): void {
  check(
    chosen > 0,
    `lcb: none of the ${records} problems has a contest date in ${
      windowText(dates)
    } (--lcb-dates FROM:TO; ":" for all)`,
  );
}

/** Prints how many problems were taken (`taken`), and those without private tests. */
function said(problems: readonly Problem[], taken: string, dates: LcbDates): void {
  console.error(`lcb: ${taken}, contest dates ${windowText(dates)}`);
  // a copy that lost its private tests loads and grades on the samples alone: pass@1 too high, said here
  const samplesOnly = problems.filter((p) => p.code!.tests.length === p.code!.publicTests);
  if (samplesOnly.length) {
    console.error(
      `note: lcb: ${samplesOnly.length} of ${problems.length} problems have no private tests (graded on their ` +
        `public tests alone: ${samplesOnly.slice(0, 3).map((p) => p.id).join(", ")}${
          samplesOnly.length > 3 ? ", …" : ""
        }); a copy of the data set that lost them?`,
    );
  }
}

/** One record as a problem (no date window): its id is the record's question_id. */
export function lcbProblem(r: RawRecord, texts: LcbTexts = loadLcbTexts()): Problem {
  const at = `${recordAt(r)}`;
  const id = textField(r, ["question_id"]);
  const content = textField(r, ["question_content"]);
  const starter = r.value.starter_code;
  check(typeof starter === "string", `${at}: field "starter_code" must be text (empty for a stdin program)`);
  for (const [name, known] of Object.entries(KINDS)) {
    const v = r.value[name];
    check(known.includes(v as string), `${at}: field "${name}" must be one of ${known.join(", ")}, got ${show(v)}`);
  }
  const metadata = jsonField(r, "metadata");
  check(
    metadata && typeof metadata === "object" && !Array.isArray(metadata),
    `${at}: field "metadata" must hold a JSON object`,
  );
  // LiveCodeBench reads `metadata.get("func_name")`: null is no name, as a missing one is
  const funcName = (metadata as Record<string, unknown>).func_name ?? undefined;
  check(
    funcName === undefined || (typeof funcName === "string" && /^[A-Za-z_]\w*$/.test(funcName)),
    `${at}: field "metadata": func_name must be a Python name, got ${show(funcName)}`,
  );
  const mode = funcName === undefined ? "stdin" : "functional";
  const pub = tests(r, "public_test_cases", jsonField(r, "public_test_cases"), mode);
  const priv = tests(r, "private_test_cases", privateTests(r), mode);
  check(pub.length + priv.length > 0, `${at}: the problem has no tests`);
  const code: CodeSpec = {
    mode,
    ...(funcName === undefined ? {} : { funcName: funcName as string }),
    starter,
    tests: [...pub, ...priv],
    publicTests: pub.length,
  };
  const text = fillTemplate(texts.question, {
    content,
    instruction: starter ? texts.starter : texts.stdin,
    code: starter || texts.placeholder,
  });
  return { id, task: "", text, golds: [], grading: "code", code };
}

/** The values LiveCodeBench's loader accepts (its Platform and Difficulty enums). */
const KINDS: Record<string, string[]> = {
  platform: ["leetcode", "codeforces", "atcoder"],
  difficulty: ["easy", "medium", "hard"],
};

/** A field's value in a message, briefly. */
function show(v: unknown): string {
  if (v === undefined) return "nothing";
  try {
    return JSON.stringify(v).slice(0, 60);
  } catch {
    return String(v).slice(0, 60);
  }
}

/**
 * The record's contest_date as a sortable text (YYYY-MM-DDTHH:MM:SS.ffffff), from the ISO forms Python's
 * datetime.fromisoformat reads without a time zone (LiveCodeBench compares it with naive dates).
 */
function contestDate(r: RawRecord): string {
  const v = r.value.contest_date;
  const m = typeof v === "string"
    ? /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?$/.exec(v)
    : null;
  check(
    m && validDate(m[1]) && +(m[2] ?? 0) < 24 && +(m[3] ?? 0) < 60 && +(m[4] ?? 0) < 60,
    `${recordAt(r)}: field "contest_date" must be an ISO date and time without a zone ` +
      `(2024-08-03T00:00:00), got ${show(v)}`,
  );
  return `${m[1]}T${m[2] ?? "00"}:${m[3] ?? "00"}:${m[4] ?? "00"}.${(m[5] ?? "").padEnd(6, "0")}`;
}

/** A field holding JSON text, parsed. */
function jsonField(r: RawRecord, name: string): unknown {
  const v = r.value[name];
  check(typeof v === "string", `${recordAt(r)}: field "${name}" must be JSON text, got ${show(v)}`);
  try {
    return JSON.parse(v);
  } catch {
    throw new InputError(`${recordAt(r)}: field "${name}" is not valid JSON`);
  }
}

/** The largest decompressed private tests read (a corrupt or hostile record must not exhaust memory). */
const MAX_PRIVATE_BYTES = 512 << 20;

/** private_test_cases: JSON text, else (as LiveCodeBench tries next) base64 of zlib of a pickled JSON text. */
function privateTests(r: RawRecord): unknown {
  const at = `${recordAt(r)}: field "private_test_cases"`;
  const v = r.value.private_test_cases;
  check(typeof v === "string", `${at} must be text, got ${show(v)}`);
  try {
    return JSON.parse(v);
  } catch {
    // not JSON: the compressed form
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.from(v, "base64"), { maxOutputLength: MAX_PRIVATE_BYTES });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new InputError(`${at}: its zlib data decompresses past ${MAX_PRIVATE_BYTES >> 20} MiB, the most read`);
    }
    throw new InputError(`${at} is neither JSON nor base64 of zlib data (${(e as Error).message})`);
  }
  const text = unpickleString(raw, at);
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`${at}: the pickled text is not valid JSON`);
  }
}

/** A test list: [{input, output, testtype}], each testtype the problem's mode; functional tests hold JSON. */
function tests(r: RawRecord, name: string, list: unknown, mode: CodeSpec["mode"]): CodeTest[] {
  const at = `${recordAt(r)}: field "${name}"`;
  check(Array.isArray(list), `${at} must hold a list of tests`);
  return list.map((x: unknown, i) => {
    const where = `${at}, test ${i + 1}`;
    const t = (x && typeof x === "object" ? x : {}) as Record<string, unknown>;
    check(
      typeof t.input === "string" && typeof t.output === "string",
      `${where}: expected {"input": text, "output": text, "testtype": …}`,
    );
    check(
      t.testtype === mode,
      `${where}: testtype ${show(t.testtype)}, but the problem is ${mode} (` +
        (mode === "stdin" ? `metadata has no func_name)` : `metadata names func_name)`),
    );
    if (mode === "functional") {
      // The driver reads each input line as one JSON argument; the output is compared as JSON.
      t.input.split("\n").forEach((arg, k) => json(arg, `${where}: input line ${k + 1}`));
      json(t.output, `${where}: output`);
    }
    return { input: t.input, output: t.output };
  });
}

function json(text: string, where: string): void {
  try {
    JSON.parse(text);
  } catch {
    throw new InputError(`${where} is not valid JSON`);
  }
}
