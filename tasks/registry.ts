/**
 * The tasks, as data: each entry says where its problems come from, how records become problems, how they
 * are graded, and how many tokens the finisher may use to state the answer.
 *
 * Sources, in order of precedence: a local file or folder (--data), a hub file (hf:REPO[:FILE]), the
 * --data-dir layout (DIR/<folder>/<files>, as in the project's shared data), else the task's hub default.
 */
import { join } from "node:path";
import { check, InputError } from "../engine/errors.ts";
import { hubFileList, type HubOptions, hubRef } from "../engine/hub.ts";
import { isRepoPath } from "../engine/download.ts";
import { pathExists } from "../engine/files.ts";
import type { Problem } from "./problem.ts";
import {
  brokenEscape,
  dataFiles,
  type EachRecord,
  idField,
  numberedId,
  type OneByOne,
  type RawRecord,
  readRecords,
  recordAt,
  shown,
  type Skipped,
  textField,
} from "./records.ts";
import { type SyntheticOptions, syntheticProblems } from "./synthetic.ts";
import { chainProblems } from "./chains.ts";
import { physicsErrorProblem, physicsGold } from "./grading/physics.ts";
import { type LcbDates, lcbOneByOne, lcbProblems, type LcbTexts } from "./code/lcb.ts";

export interface TaskSpec {
  id: string;
  description: string;
  /** greedy tokens the finisher may spend on the answer */
  finisherTokens: number;
  /** where the data comes from */
  source: string;
  /** the folder and files in the --data-dir layout */
  dataDir?: { folder: string; files: string[] };
  /** the default hub source: `file`, then `rest` for a set kept in several files (LiveCodeBench's release) */
  hub?: { repo: string; file: string; rest?: string[] };
  /** records in the complete set: a load of the whole set with another count is refused */
  expected?: number;
  /** the task is the set's first `take` problems (checked against `expected` as the whole set is) */
  take?: number;
  /** the set it reads when another task's (gsm8k-x5 groups gsm8k's questions): `expected` is that set's count */
  reads?: string;
  /** the records' problems, each record's made by `each` (which may skip one its fields refuse: --skip-bad) */
  problems(records: RawRecord[], o: LoadOptions, each: EachRecord): Problem[];
  /**
   * Where each problem is one record's, in file order: the task read record by record, so that --limit N reads
   * no record past its Nth problem (a task with `take`, or one that combines records, has none)
   */
  record?(o: LoadOptions): OneByOne<Problem>;
  /** its answers are programs, run on tests (grading "code"): only the methods that answer code tasks run it */
  code?: boolean;
  /** a generated task: its problems from the knobs (nothing is read) */
  generate?(o: SyntheticOptions): Problem[];
  /** the seed shapes its problems from the data (a seeded grouping), as it does a generated task's */
  seeded?: boolean;
}

export interface LoadOptions {
  /** a local file or folder (.jsonl, .json, .parquet) */
  data?: string;
  /** hf:REPO[:FILE] */
  hub?: string;
  /** a folder in the shared-data layout */
  dataDir?: string;
  hubOptions?: HubOptions;
  /** skip malformed records (and count them) instead of failing */
  skipBad?: boolean;
  /** the first N problems */
  limit?: number;
  /** for seeded groupings (gsm8k-x5) and the synthetic task */
  seed?: number;
  synthetic?: Partial<SyntheticOptions>;
  /** the custom task's field names (parseFields) */
  fields?: Fields;
  /** --task lcb: the contest dates it takes (undefined: the paper's window, PAPER_DATES) */
  lcbDates?: LcbDates;
  /** --task lcb: the texts around each problem (undefined: tasks/code/lcb_prompt.json) */
  lcbTexts?: LcbTexts;
}

/** Which record fields hold a custom data set's question, answer and id. */
export interface Fields {
  question: string;
  answer: string;
  id: string;
}

const DEFAULT_FIELDS: Fields = { question: "question", answer: "answer", id: "id" };

/** --fields question=NAME,answer=NAME,id=NAME (each optional; defaults question, answer, id). */
export function parseFields(v: string, flag = "--fields"): Fields {
  const out = { ...DEFAULT_FIELDS };
  const seen = new Set<string>();
  for (const part of v.split(",")) {
    const m = /^(question|answer|id)=(.+)$/.exec(part.trim());
    check(m, `${flag}: expected question=NAME,answer=NAME,id=NAME (any of them), got "${part}"`);
    check(!seen.has(m[1]), `${flag}: ${m[1]} is given twice`);
    seen.add(m[1]);
    out[m[1] as keyof Fields] = m[2].trim();
  }
  // one column as both would hand every problem its own gold answer in its text
  check(out.question !== out.answer, `${flag}: question and answer are both the field "${out.answer}"`);
  return out;
}

export interface Loaded {
  task: TaskSpec;
  problems: Problem[];
  /** where the records were read */
  files: string[];
  skipped: Skipped[];
  /**
   * The set's problem count where --limit stopped the read before its end (the problems read and one a record
   * after them, counted, not read), undefined where not known (lcb: the records not read have dates); absent
   * where every record was read (the problems made are the set)
   */
  total?: number | undefined;
  /** what the caller must say (a named set read from a file that is not all of it; texts given twice) */
  notes: string[];
}

function single(id: string, text: string, gold: string): Problem {
  return { id, task: "", text, golds: [gold], grading: "single" };
}

/** 27.0 -> "27": AMC answers are written as floats. */
function numberText(v: string): string {
  return /^-?\d+\.0+$/.test(v) ? v.replace(/\.0+$/, "") : v;
}

/** A Python list's text of quoted answers, ['a', "b"] (a trailing comma allowed), and its items one by one. */
const QUOTED = String.raw`'((?:[^'\\]|\\[^])*)'|"((?:[^"\\]|\\[^])*)"`;
const LIST_TEXT = new RegExp(String.raw`^\[\s*(?:(?:${QUOTED})\s*(?:,\s*(?:${QUOTED})\s*)*,?\s*)?\]$`);

/** OlympiadBench's final_answer: a list, or a list written inside a string ("['$2$']"), or one answer as text. */
function answerList(r: RawRecord): string[] {
  const at = `${recordAt(r)}: field "final_answer"`;
  let v = r.value.final_answer;
  check(
    v !== undefined && v !== null,
    `${recordAt(r)}: missing field "final_answer" (the record holds ${
      Object.keys(r.value).map((k) => `"${k}"`).join(", ")
    })`,
  );
  if (typeof v === "string") {
    // A Python list's text: ['a', "b"], its backslashes and quotes escaped as Python writes them; other text that
    // opens a bracket (an interval, [0,1]) is neither one answer nor a list: said, not guessed
    const t = v.trim();
    check(
      !t.startsWith("[") || LIST_TEXT.test(t),
      `${at} is the text ${JSON.stringify(t)}, not a list of quoted answers (an interval? write it as a list ` +
        `of one: ["[0,1]"])`,
    );
    v = t.startsWith("[")
      ? [...t.matchAll(new RegExp(QUOTED, "g"))].map((m) => (m[1] ?? m[2]).replace(/\\([^])/g, "$1"))
      : [t];
  }
  check(Array.isArray(v), `${at} must be a list of texts, got ${shown(v)}`);
  check(v.length > 0, `${at} is an empty list`);
  const other = v.find((x) => typeof x !== "string");
  check(other === undefined, `${at} must be a list of texts, got a list holding ${shown(other)}`);
  // math dollars only: an escaped \$ is money, part of the answer (\\ before a dollar is a line break, then math)
  const answers = (v as string[]).map((x) => x.replace(/(\\[^])|\$/g, (_, escaped) => escaped ?? "").trim());
  check(answers.every((a) => a !== ""), `${at} holds an empty answer`);
  return answers;
}

/**
 * An id-less maths record's number: its place among every record read, from 1, so that a set kept in two files
 * (aime25's) numbers no two alike; in a one-file set without blank lines its line, as these sets were numbered
 * before (a blank line, which is no record, now shifts the ids after it by one).
 */
const numbered = (r: RawRecord) => r.index + 1;

/** A task whose problems are its records', one a record: its `problems` and its `record` from one maker. */
const oneEach = (make: (r: RawRecord, o: LoadOptions) => Problem): Pick<TaskSpec, "problems" | "record"> => ({
  problems: (rs, o, each) => each(rs, (r) => make(r, o)),
  record: (o) => ({ make: (r) => make(r, o) }),
});

const limo: TaskSpec = {
  id: "limo",
  description: "LIMO: 817 curated competition-level problems (the paper's main task in v4)",
  finisherTokens: 16,
  source: "GAIR/LIMO on the Hugging Face hub (limo.jsonl; fields question, solution, answer)",
  dataDir: { folder: "limo", files: ["limo.jsonl"] },
  hub: { repo: "GAIR/LIMO", file: "limo.jsonl" },
  expected: 817,
  ...oneEach((r) => single(idField(r, "id", r.index), textField(r, ["question", "problem"]), textField(r, ["answer"]))),
};

const gsm8kGold = (r: RawRecord) => {
  const a = textField(r, ["answer"]);
  const m = /####\s*(.+)\s*$/.exec(a);
  check(m, `${recordAt(r)}: field "answer" has no "#### " final answer`);
  return m[1].replace(/,/g, "").trim();
};

const gsm8k: TaskSpec = {
  id: "gsm8k",
  description: "GSM8K test split: 1319 grade-school word problems",
  finisherTokens: 16,
  source: "openai/grade-school-math (MIT); on the hub: openai/gsm8k",
  dataDir: { folder: "gsm8k", files: ["test.jsonl"] },
  hub: { repo: "openai/gsm8k", file: "main/test-00000-of-00001.parquet" },
  expected: 1319,
  ...oneEach((r) => single(String(r.index), textField(r, ["question"]), gsm8kGold(r))),
};

export const X5_GROUPS = 128, X5_SIZE = 5;

const gsm8kX5: TaskSpec = {
  ...gsm8k,
  id: "gsm8k-x5",
  reads: "gsm8k",
  seeded: true,
  // its problems group records: each needs the whole set
  record: undefined,
  description:
    "GSM8K×5: 128 samples of 5 distinct GSM8K test questions answered together (seeded grouping), scored as the fraction right",
  finisherTokens: 64,
  problems: (rs, o, each) => {
    const base = gsm8k.problems(rs, o, each);
    check(
      base.length >= X5_GROUPS * X5_SIZE,
      `gsm8k-x5 needs ${X5_GROUPS * X5_SIZE} GSM8K questions, got ${base.length}`,
    );
    // A seeded shuffle (the paper's grouping is unpublished), then consecutive groups: no question twice.
    const order = base.map((_, i) => i);
    // In 32-bit arithmetic throughout (a float product lost bits past 2^53, and two seeds grouped alike); for
    // seeds below 3.4 million, where it was exact, the same groups as before.
    let s = Math.imul((o.seed ?? 0) >>> 0, 2654435761 | 0) + 12345;
    for (let i = order.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return Array.from({ length: X5_GROUPS }, (_, g) => {
      const qs = order.slice(g * X5_SIZE, (g + 1) * X5_SIZE).map((i) => base[i]);
      const text = `Solve the ${X5_SIZE} problems below. Give the ${X5_SIZE} answers in order, separated by commas, ` +
        `in one box: \\boxed{answer 1, answer 2, answer 3, answer 4, answer 5}.\n\n` +
        qs.map((q, k) => `Problem ${k + 1}: ${q.text}`).join("\n\n");
      return {
        id: `x5-s${o.seed ?? 0}-${g}:${qs.map((q) => q.id).join("+")}`,
        task: "",
        text,
        golds: qs.map((q) => q.golds[0]),
        grading: "list" as const,
      };
    });
  },
};

const math500: TaskSpec = {
  id: "math500",
  description: "MATH-500: the 500-problem MATH test subset of PRM800K",
  finisherTokens: 32,
  source: "openai/prm800k (MIT), MATH (Hendrycks et al.); on the hub: HuggingFaceH4/MATH-500",
  dataDir: { folder: "math500", files: ["test.jsonl"] },
  hub: { repo: "HuggingFaceH4/MATH-500", file: "test.jsonl" },
  expected: 500,
  ...oneEach((r) => single(idField(r, "unique_id", numbered(r)), textField(r, ["problem"]), textField(r, ["answer"]))),
};

/** A competition set: records with an id, a problem text and one answer (numbers given as text). */
const competition = (o: Omit<TaskSpec, "problems" | "finisherTokens">): TaskSpec => ({
  ...o,
  finisherTokens: 16,
  ...oneEach((r) =>
    single(idField(r, "id", numbered(r)), textField(r, ["problem", "question"]), numberText(textField(r, ["answer"])))
  ),
});

const aime24 = competition({
  id: "aime24",
  description: "AIME 2024 I and II: 30 problems, integer answers 0-999",
  source: "QwenLM/Qwen2.5-Math evaluation/data/aime24 (MIT harness; MAA problems)",
  dataDir: { folder: "aime24", files: ["test.jsonl"] },
  expected: 30,
});

const aime25 = competition({
  id: "aime25",
  description: "AIME 2025 I and II: 30 problems (the paper averages 10 seeds)",
  source: "GAIR-NLP/AIME-Preview eval/data/aime (MAA problems; the --data-dir layout); on the hub: math-ai/aime25",
  dataDir: { folder: "aime25", files: ["test2025-I.jsonl", "test2025-II.jsonl"] },
  hub: { repo: "math-ai/aime25", file: "test.jsonl" },
  expected: 30,
});

const amc23 = competition({
  id: "amc23",
  description: "AMC 2023 (12A/12B): 40 problems; answers are stored as floats",
  source: "QwenLM/Qwen2.5-Math evaluation/data/amc23 (MIT harness; MAA problems)",
  dataDir: { folder: "amc23", files: ["test.jsonl"] },
  expected: 40,
});

const olympiadbench: TaskSpec = {
  id: "olympiadbench",
  description: "OlympiadBench, maths, English, open-ended (OE_TO_maths_en_COMP): 675 problems; multiple answers, units",
  finisherTokens: 64,
  source: "OlympiadBench (He et al., 2024) via QwenLM/Qwen2.5-Math evaluation/data/olympiadbench",
  dataDir: { folder: "olympiadbench", files: ["test.jsonl"] },
  expected: 675,
  ...oneEach((r) => {
    const answers = answerList(r);
    const context = optionalText(r, "context") === undefined ? "" : `${textField(r, ["context"])}\n\n`;
    // Several answers make one gold, compared as a set; a single answer may be given in any listed form.
    const golds = severalAnswers(r, answers.length) ? [answers.join(", ")] : answers;
    return {
      id: idField(r, "id", numbered(r)),
      task: "",
      text: context + textField(r, ["question", "problem"]),
      golds,
      grading: "single" as const,
    };
  }),
};

/** OlympiadBench's optional fields (null, or missing, in many records), as text. */
function optionalText(r: RawRecord, name: string): string | undefined {
  const v = r.value[name];
  check(
    v === null || v === undefined || typeof v === "string" || typeof v === "number",
    `${recordAt(r)}: field "${name}" must be text, a number or null`,
  );
  return v === null || v === undefined || String(v).trim() === "" ? undefined : String(v).trim();
}

/**
 * OlympiadBench's is_multiple_answer: true or false, as the source writes it; missing or null only where one answer
 * is `listed` (it changes nothing there; physics' prompt always reads it). Anything else ("True") would silently
 * make required answers alternatives.
 */
function severalAnswers(r: RawRecord, listed?: number): boolean {
  const v = r.value.is_multiple_answer, optional = listed === 1;
  if (typeof v === "boolean") return v;
  const hint = listed !== undefined && listed > 1
    ? `: final_answer lists ${listed} answers, each required (true) or alternatives (false)?`
    : "";
  check(v !== undefined || optional, `${recordAt(r)}: missing field "is_multiple_answer"${hint}`);
  check(
    v === undefined || (v === null && optional),
    `${recordAt(r)}: field "is_multiple_answer" must be true or false, got ${shown(v)}`,
  );
  return false;
}

/** What the model is told beside the problem: the unit to leave out of the box, several answers in one box. */
function physicsNote(unit: string | undefined, several: boolean): string {
  const notes = [
    several ? "This problem has several answers: give them all in one \\boxed{}, separated by commas." : "",
    unit ? `Express the answer in ${unit}, and write the unit after the box, not inside it.` : "",
  ].filter((x) => x);
  return notes.length ? `\n\n${notes.join(" ")}` : "";
}

const olympiadbenchPhysics: TaskSpec = {
  id: "olympiadbench-physics",
  description: "OlympiadBench, physics, English, open-ended (OE_TO_physics_en_COMP): 236 problems; units, " +
    "per-problem tolerances, graded as the official judge does",
  finisherTokens: 64,
  source: "OlympiadBench (He et al., 2024) on the Hugging Face hub: Hothan/OlympiadBench, config OE_TO_physics_en_COMP",
  dataDir: { folder: "olympiadbench-physics", files: ["OE_TO_physics_en_COMP.parquet"] },
  hub: { repo: "Hothan/OlympiadBench", file: "OlympiadBench/OE_TO_physics_en_COMP/OE_TO_physics_en_COMP.parquet" },
  expected: 236,
  ...oneEach((r) => {
    // The judge reads the first listed answer only; several answers are written in it, comma-separated.
    const answer = answerList(r)[0];
    const unit = optionalText(r, "unit"), context = optionalText(r, "context"), id = idField(r, "id", numbered(r));
    // the judge compares a Tuple answer without the problem's error; any other reads it, so it must read as meant
    const error = /Tuple/.test(optionalText(r, "answer_type") ?? "") ? undefined : optionalText(r, "error");
    const problem = physicsErrorProblem(answer, error);
    check(!problem, `${recordAt(r)}: problem ${id}: field "error" ${problem}`);
    return {
      id,
      task: "",
      text: (context ? `${context}\n\n` : "") + textField(r, ["question"]) +
        physicsNote(unit, severalAnswers(r)),
      golds: [physicsGold({ answer, error, unit })],
      grading: "single" as const,
    };
  }),
};

const LCB_FILES = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl"];

const lcb: TaskSpec = {
  id: "lcb",
  description: "LiveCodeBench code generation, release_v5 (880 problems from LeetCode, AtCoder and Codeforces); by " +
    "default the paper's window, contest dates 2024-08-01..2025-02-01 (279 problems by the paper's count; the " +
    "loader prints how many it took; --lcb-dates FROM:TO for others); the answer is a Python program, graded by " +
    "running it on the problem's tests in the sandbox",
  finisherTokens: 1024,
  code: true,
  source: "livecodebench/code_generation_lite on the Hugging Face hub; release_v5 is its files test.jsonl to " +
    "test5.jsonl (LiveCodeBench's README and loading script); or a local copy in the same format (--data FILE|DIR)",
  dataDir: { folder: "lcb", files: LCB_FILES },
  hub: { repo: "livecodebench/code_generation_lite", file: LCB_FILES[0], rest: LCB_FILES.slice(1) },
  expected: 880,
  problems: (rs, o, each) => lcbProblems(rs, o.lcbDates, o.lcbTexts, each),
  record: (o) => lcbOneByOne(o.lcbDates, o.lcbTexts),
};

const synthetic: TaskSpec = {
  id: "synthetic",
  description:
    "Synthetic: generated multi-part arithmetic problems with exact answers (knobs: parts, digits, count, seed)",
  finisherTokens: 24,
  source: "generated by tasks/synthetic.ts: nothing to download",
  problems: () => [],
  generate: syntheticProblems,
};

const chains: TaskSpec = {
  id: "chains",
  description:
    "Chains: parts of one-digit additions, answered part by part by name (the demo model's task; knobs: parts, " +
    "digits = the longest chain - 1, count, seed)",
  finisherTokens: 24,
  source: "generated by tasks/chains.ts: nothing to download",
  problems: () => [],
  generate: chainProblems,
};

const custom: TaskSpec = {
  id: "custom",
  description: "Your own problems: one record a problem with its question and final answer (--fields names them; " +
    "graded as the maths tasks are)",
  finisherTokens: 32,
  source: "your file (--data FILE: .jsonl, .json or .parquet) or a hub file (--hub hf:OWNER/NAME:FILE)",
  problems: (rs, o, each) => {
    checkIdField(rs, o, 0);
    return each(rs, customProblem(o));
  },
  record: (o) => ({
    make: customProblem(o),
    done: (rs, problems, unread) => (checkIdField(rs, o, unread), problems.length + unread),
  }),
};

// numbered by its place among every record read: a record skipped (--skip-bad) renumbers no later one
function customProblem(o: LoadOptions): (r: RawRecord) => Problem {
  const f = o.fields ?? DEFAULT_FIELDS;
  return (r) => single(idField(r, f.id, r.index), textField(r, [f.question]), textField(r, [f.answer]));
}

/**
 * An id field named but in no record (a typo) would number the problems instead, silently: refused. Where --limit
 * stopped the read (`unread` records after it not read), of the records read.
 */
function checkIdField(rs: readonly RawRecord[], o: LoadOptions, unread: number): void {
  const f = o.fields ?? DEFAULT_FIELDS;
  check(
    f.id === DEFAULT_FIELDS.id || rs.length === 0 || rs.some((r) => r.value[f.id] != null),
    `--fields id=${f.id}: ${
      unread
        ? `none of the ${rs.length} records read (--limit ${o.limit}; the ${unread} after them not read)`
        : "no record"
    } has a field "${f.id}" (${rs[0]?.file ?? "the data"} holds ${
      Object.keys(rs[0]?.value ?? {}).map((k) => `"${k}"`).join(", ")
    })`,
  );
}

export const TASKS: Record<string, TaskSpec> = Object.fromEntries(
  [
    limo,
    {
      ...limo,
      id: "limo-512",
      description:
        "LIMO, the first 512 problems (the paper's v1 ran 512 LIMO problems without saying which: the first 512 are a guess)",
      take: 512,
    },
    gsm8k,
    gsm8kX5,
    math500,
    aime24,
    aime25,
    amc23,
    olympiadbench,
    olympiadbenchPhysics,
    lcb,
    synthetic,
    chains,
    custom,
  ]
    .map((t) => [t.id, t]),
);

/**
 * --parts, --digits and --count (`knobs` of them given) shape a generated task's problems: refused where no task
 * named is one (a data set's would be ignored), and all three needed for two generated tasks. An unknown task is left to the caller's own error.
 */
export function checkGeneratedKnobs(ids: readonly string[], knobs: number): void {
  const generated = Object.values(TASKS).filter((t) => t.generate).map((t) => t.id).sort();
  check(
    knobs === 0 || ids.some((id) => !(id in TASKS) || generated.includes(id)),
    `--parts, --digits and --count go with the generated tasks (${
      generated.join(", ")
    }); a data set's first N problems: --limit N`,
  );
  // one set of knobs serves them all: each task's own defaults cannot all hold, so each knob is given
  const mine = ids.filter((id) => generated.includes(id));
  check(
    knobs === 3 || mine.length < 2,
    `--task ${mine.join(",")}: generated tasks share --parts, --digits and --count (their defaults differ: ${
      mine.map((id) => `${id} ${Object.entries(GENERATED_DEFAULTS[id]).map(([k, v]) => `${k} ${v}`).join(", ")}`)
        .join("; ")
    }): give all three, or run the tasks apart`,
  );
}

/** --seed (tasks load): refused for a task whose problems it does not shape (a data set's, read as it is). */
export function checkSeedFlag(id: string): void {
  const t = taskSpec(id);
  const seeded = Object.values(TASKS).filter((t) => t.generate || t.seeded).map((t) => t.id).sort();
  check(
    t.generate || t.seeded,
    `--seed: task ${id} reads its problems as they are, the seed would change nothing (it shapes ${seeded.join(", ")})`,
  );
}

/**
 * --data, --data-dir, --hub and --skip-bad for the tasks `ids` (the bench's and `tasks load`'s one rule):
 * refused where every task is generated (they would be keyed, yet read by nothing), one source at most, and
 * --data or --hub for one task only (a file is one task's data). An unknown task is refused by its name.
 */
export function checkDataFlags(
  ids: readonly string[],
  o: Pick<LoadOptions, "data" | "hub" | "dataDir" | "skipBad">,
): void {
  const sources = [o.data, o.dataDir, o.hub].filter((x) => x !== undefined);
  check(
    ids.some((t) => !taskSpec(t).generate) || (!sources.length && !o.skipBad),
    `--data, --data-dir, --hub and --skip-bad go with a data set's task; ${ids.join(", ")} ${
      ids.length > 1 ? "are" : "is"
    } generated`,
  );
  check(sources.length <= 1, "give at most one of --data, --data-dir and --hub");
  check(!(o.data || o.hub) || ids.length === 1, "--data and --hub name one task's data: give a single --task");
}

export function taskSpec(id: string): TaskSpec {
  const t = TASKS[id];
  if (!t) throw new InputError(`unknown task "${id}"; known: ${Object.keys(TASKS).join(", ")}`);
  return t;
}

async function sourceFiles(t: TaskSpec, o: LoadOptions): Promise<string[]> {
  if (o.data) {
    try {
      return dataFiles(o.data);
    } catch (e) {
      // a path mistyped where the task has a hub copy: say that leaving it out fetches that
      if (!(e instanceof InputError) || !t.hub || !/no such file/.test(e.message)) throw e;
      throw new InputError(`${e.message}; without --data, task ${t.id} is read from the hub (hf:${t.hub.repo})`);
    }
  }
  if (o.hub) {
    const m = /^hf:([^:]*)(?::(.*))?$/.exec(o.hub);
    check(m, `--hub: expected hf:OWNER/NAME[@REVISION][:FILE], got "${o.hub}"`);
    const id = hubRef(m[1]);
    check(typeof id !== "string", `--hub ${o.hub}: ${m[1]} is not a hub id (OWNER/NAME[@REVISION]: ${id})`);
    // the file's own name in the repository: none of its parts empty, "." or ".." (out of the snapshot)
    check(
      m[2] === undefined || isRepoPath(m[2]),
      `--hub ${o.hub}: ${JSON.stringify(m[2])} is not a file of the repository (an empty, "." or ".." part)`,
    );
    const files = m[2] ? [m[2]] : t.hub && [t.hub.file, ...t.hub.rest ?? []];
    check(files, `--hub ${o.hub}: name the file (hf:OWNER/NAME:FILE); task ${t.id} has no default file`);
    // the revision (a commit, tag or branch) recorded as given with --hub, as --model's is
    return await hubFileList(id.repo, files, { ...o.hubOptions, ...id.revision ? { revision: id.revision } : {} });
  }
  if (o.dataDir) {
    check(t.dataDir, `task ${t.id} has no place in the --data-dir layout; give --data FILE or --hub hf:REPO:FILE`);
    const files = t.dataDir.files.map((f) => join(o.dataDir!, t.dataDir!.folder, f));
    const missing = files.find((f) => !pathExists(f, "--data-dir"));
    check(
      missing === undefined,
      `${missing}: no such file (--data-dir ${o.dataDir} holds task ${t.id}'s data as ${
        t.dataDir.files.map((f) => `${t.dataDir!.folder}/${f}`).join(", ")
      })${t.hub ? `; without --data-dir, task ${t.id} is read from the hub (hf:${t.hub.repo})` : ""}`,
    );
    return files;
  }
  const layout = t.dataDir &&
    `, --data-dir DIR (holding ${t.dataDir.files.map((f) => `${t.dataDir!.folder}/${f}`).join(", ")})`;
  check(
    t.hub,
    `task ${t.id} has no hub copy to fetch by default (its data: ${t.source}): give them with --data FILE${
      layout ?? ""
    } or --hub hf:REPO:FILE`,
  );
  return await hubFileList(t.hub.repo, [t.hub.file, ...t.hub.rest ?? []], o.hubOptions);
}

/** The generated tasks' knobs when none is given: chains's are the demo model's problems. */
export const GENERATED_DEFAULTS: Readonly<Record<string, { parts: number; digits: number; count: number }>> = {
  chains: { parts: 4, digits: 2, count: 100 },
  synthetic: { parts: 2, digits: 1, count: 6 },
};

/** The bench's default seed, and so the seed generated and regrouped problems take when none is given. */
export const DEFAULT_SEED = 1;

/**
 * The problems of task `id`, from the source the options name; with no seed or knobs given, the ones the bench
 * runs by default (so `deno task tasks load` shows the default run's problems).
 */
/** A made problem (a task's `each` may make other things: parts a problem is built from). */
const isProblem = (x: unknown): x is Problem =>
  x !== null && typeof x === "object" && typeof (x as Problem).text === "string" && Array.isArray((x as Problem).golds);

export async function loadTask(id: string, options: LoadOptions = {}): Promise<Loaded> {
  const o = { ...options, seed: options.seed ?? DEFAULT_SEED };
  const t = taskSpec(id);
  check(!o.fields || t === custom, `--fields goes with --task custom (task ${t.id} knows its own fields)`);
  check(!(o.lcbDates || o.lcbTexts) || t === lcb, `--lcb-dates and --lcb-prompt go with --task lcb, not ${t.id}`);
  const loaded = t.generate ? generated(t, o) : await fromData(t, o);
  // the set's size: its problems, or where --limit stopped the read, as counted (unknown: undefined)
  const n = "total" in loaded ? loaded.total : loaded.problems.length;
  if (o.limit && n !== undefined && o.limit > n) loaded.notes.push(`--limit ${o.limit}: ${t.id} has ${n} problems`);
  // a part of the set, as a part-file is: the folder must say so, or its title reads as the whole set's
  if (o.limit && (n === undefined || o.limit < n)) {
    loaded.notes.push(
      `--limit ${o.limit}: the first ${o.limit} of ${t.id}'s ${
        n === undefined ? "problems (the records after them not read)" : `${n} problems`
      }: these results are not ${t.id}'s whole set`,
    );
  }
  return { ...loaded, problems: o.limit ? loaded.problems.slice(0, o.limit) : loaded.problems };
}

/** A generated task's problems, from its knobs. */
function generated(t: TaskSpec, o: LoadOptions & { seed: number }): Loaded {
  // a file named for a generated task would be recorded as the run's data and never read
  check(
    !o.data && !o.hub,
    `--data and --hub: task ${t.id} is generated, it reads no data (--task custom reads a file)`,
  );
  const so = { ...GENERATED_DEFAULTS[t.id], seed: o.seed, ...o.synthetic };
  const most = t.id === "chains" ? 8 : 26;
  // named by the flags that set them (the bench's and tasks load's --parts, --digits, --count)
  check(
    Number.isInteger(so.parts) && so.parts >= 1 && so.parts <= most,
    `--parts: ${t.id} takes 1..${most} parts, got ${so.parts}`,
  );
  check(
    Number.isInteger(so.digits) && so.digits >= 1 && so.digits <= 6,
    `--digits: ${t.id} takes 1..6 digits, got ${so.digits}`,
  );
  check(
    Number.isInteger(so.count) && so.count >= 1 && so.count <= 1_000_000,
    `--count: ${t.id} makes 1..1000000 problems, got ${so.count}`,
  );
  return { task: t, problems: t.generate!(so), files: [], skipped: [], notes: [] };
}

/** A data set's problems, from the source the options name. */
async function fromData(t: TaskSpec, o: LoadOptions): Promise<Loaded> {
  const files = await sourceFiles(t, o);
  // A record the task's field readers refuse, or whose maths problem a broken escape spoils, is malformed as one
  // that is not JSON is: with --skip-bad, skipped and counted with its line. Each problem's record is kept, for an
  // id collision's error.
  const refused: Loaded["skipped"] = [], origin = new WeakMap<object, RawRecord>();
  const each: EachRecord = (rs, make) =>
    rs.flatMap((r) => {
      try {
        const made = make(r);
        if (made && typeof made === "object") origin.set(made, r);
        const broken = !t.code && isProblem(made) ? brokenEscape(made) : undefined;
        if (broken) {
          throw new InputError(
            `${recordAt(r)}: problem "${
              (made as Problem).id
            }": ${broken} (a broken escape: \\times written with one backslash?)`,
          );
        }
        return [made];
      } catch (e) {
        if (!o.skipBad || !(e instanceof InputError)) throw e;
        const at = `${recordAt(r)}: `;
        refused.push({
          file: r.file,
          line: r.line,
          ...r.unit ? { unit: r.unit } : {},
          reason: e.message.startsWith(at) ? e.message.slice(at.length) : e.message,
        });
        return [];
      }
    });
  // --limit N where each problem is one record's: each record made as it is read, and the read stopped at the
  // Nth problem; the records after it are counted (for the set's count), neither parsed nor checked
  const oneByOne = o.limit && t.take === undefined ? t.record?.(o) : undefined, made: Problem[] = [];
  const enough = oneByOne && ((r: RawRecord) => {
    for (const p of each([r], (r) => oneByOne.make(r))) if (p) made.push(p);
    return made.length >= o.limit!;
  });
  const { records, skipped, unread } = await readRecords(files, { skipBad: o.skipBad, ...enough ? { enough } : {} });
  const notes: string[] = [];
  const n = records.length + skipped.length + unread;
  if (t.expected !== undefined && n !== t.expected) {
    const count = `${files.join(", ")}: ${n} records, task ${t.id} ${
      t.take ? `takes the first ${t.take} of` : t.reads ? `reads ${t.reads}, which has` : "has"
    } ${t.expected}`;
    // The project's own layout must hold the whole set; a file the user names may be a part, said aloud.
    check(o.data || o.hub, count);
    notes.push(
      t.take && n >= t.take && n < t.expected
        ? `${count}: its first ${t.take} are ${t.id} only if the file keeps the set's order`
        : n < t.expected
        ? `${count}: these results are not ${t.id}'s whole set`
        : `${count}: more than its whole set (a folder of several copies, or another split?)`,
    );
  }
  let problems: Problem[], total: number | undefined;
  if (oneByOne) {
    problems = made;
    total = oneByOne.done ? oneByOne.done(records, made, unread) : made.length + unread;
  } else {
    // The set's first `take` records (a skipped one among them leaves its place empty: the next is not the set's)
    const taken = t.take === undefined ? records : records.filter((r) => r.index < t.take!);
    problems = t.problems(taken, o, each);
  }
  // in the files' order, whichever reader refused them (not JSON, or a field); of the set's first `take` only
  const inTake = t.take === undefined ? skipped : skipped.filter((s) => s.index < t.take!);
  const malformed = [...inTake, ...refused].sort((a, b) =>
    files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line
  );
  check(
    problems.length || !malformed.length,
    `${files.join(", ")}: every record skipped as malformed (${malformed[0] && recordAt(malformed[0])}: ${
      malformed[0]?.reason
    })`,
  );
  if (t.take && malformed.length) {
    const lost = `${malformed.length} of the first ${t.take} records skipped as malformed`;
    notes.push(`${files.join(", ")}: ${lost}: ${t.id} here is ${problems.length} problems`);
  }
  const ids = new Map<string, Problem>(), texts = new Map<string, string>(), twins: string[] = [];
  for (const p of problems) {
    const first = ids.get(p.id);
    check(!first, `${files.join(", ")}: problem id "${p.id}" appears twice${first && whereTwice(first, p, files)}`);
    ids.set(p.id, p);
    const twin = texts.get(p.text);
    if (twin !== undefined) twins.push(`"${twin}" and "${p.id}"`);
    else texts.set(p.text, p.id);
  }
  if (twins.length) {
    notes.push(`${files.join(", ")}: ${twins.length} problems repeat an earlier one's text (${twins[0]}): each counts`);
  }
  return {
    task: t,
    problems: problems.map((p) => ({ ...p, task: t.id })),
    files,
    skipped: malformed,
    ...unread ? { total } : {},
    notes,
  };

  /** Where two problems with one id came from, and whether one's id is a number its record's position gave it. */
  function whereTwice(a: Problem, b: Problem, files: string[]): string {
    const ra = origin.get(a), rb = origin.get(b);
    if (!ra || !rb) return "";
    const numbered = numberedId(ra) !== undefined || numberedId(rb) !== undefined;
    const where = (r: RawRecord) => files.length > 1 ? recordAt(r) : `${r.unit ?? "line"} ${r.line}`;
    const said = (r: RawRecord, p: Problem) => {
      const key = numberedId(r);
      return key === undefined
        ? `${where(r)} names "${p.id}"`
        : `${where(r)} has no "${key}" and was numbered ${p.id} by its place among the records read`;
    };
    return `: ${said(ra, a)}; ${said(rb, b)}${numbered ? " (give every record an id, or none)" : ""}`;
  }
}
