/**
 * deno task grade: the grader from the command line.
 *
 *   grade --pred TEXT --gold TEXT [--mode strict|lenient]      one verdict as JSON
 *   grade --cases FILE.jsonl [--out FILE] [--timeout-ms N]      each line {"pred", "gold", …} gets
 *                                                               {"extracted", "equal_strict", "equal_lenient", "ms"}
 * gold may be a string or a list of accepted strings; other fields pass through.
 */
import { replaceFile } from "../engine/files.ts";
import { readFileSync } from "node:fs";
import { check, InputError, oneLine, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { GradePool } from "./grade_pool.ts";

const USAGE = `usage: deno task grade --pred TEXT --gold TEXT [--mode strict|lenient]
       deno task grade --cases FILE.jsonl [--out FILE] [--timeout-ms 10000]`;

function golds(v: unknown, where: string): string[] {
  if (typeof v === "string" || typeof v === "number") return [String(v)];
  check(
    Array.isArray(v) && v.length > 0 && v.every((g) => typeof g === "string"),
    `${where}: "gold" must be a string or a list of strings`,
  );
  return v as string[];
}

/** A case file: one JSON object a line with "pred" and "gold". */
function readCases(file: string): { v: Record<string, unknown>; golds: string[] }[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  return text.split("\n").map((line, i) => ({ line, n: i + 1 })).filter((c) => c.line.trim() !== "").map(
    ({ line, n }) => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new InputError(`${file}:${n}: not valid JSON (${oneLine((e as Error).message)})`);
      }
      check(
        v && typeof v === "object" && typeof v.pred === "string",
        `${file}:${n}: expected {"pred": text, "gold": …}`,
      );
      return { v, golds: golds(v.gold, `${file}:${n}`) };
    },
  );
}

async function main() {
  const { values: f } = parseFlags({
    pred: { type: "string" },
    gold: { type: "string" },
    mode: { type: "string" },
    cases: { type: "string" },
    out: { type: "string" },
    "timeout-ms": { type: "string", default: "10000" },
  }, USAGE);
  const timeoutMs = parseInteger(f["timeout-ms"], "--timeout-ms", 1);
  check(
    f.mode === undefined || f.mode === "strict" || f.mode === "lenient",
    `--mode: expected strict or lenient, got "${f.mode}"`,
  );
  const pool = new GradePool({ workers: 2, timeoutMs });
  try {
    if (f.cases !== undefined) {
      check(
        f.pred === undefined && f.gold === undefined,
        "give either --cases or --pred and --gold (--help for the usage)",
      );
      const cases = readCases(f.cases);
      const results = await Promise.all(
        cases.map((c) => pool.grade({ generated: c.v.pred as string, golds: c.golds, grading: "single" })),
      );
      const lines = cases.map((c, i) => {
        const r = results[i];
        return JSON.stringify({
          ...c.v,
          extracted: r.extracted,
          equal_strict: r.equal_strict,
          equal_lenient: r.equal_lenient,
          ms: +r.ms.toFixed(2),
          ...(r.timed_out ? { timed_out: true } : {}),
          ...(r.error ? { grader_error: r.error } : {}),
        });
      });
      if (f.out) replaceFile(f.out, lines.join("\n") + "\n");
      else console.log(lines.join("\n"));
      const right = results.filter((r) => r.equal_strict).length;
      console.error(
        `${results.length} graded: ${right} equal (strict), ${
          results.filter((r) => r.equal_lenient).length
        } (lenient), ${results.filter((r) => r.timed_out).length} timed out`,
      );
    } else {
      check(
        f.pred !== undefined && f.gold !== undefined,
        "give --pred and --gold (or --cases FILE; --help for the usage)",
      );
      const r = await pool.grade({ generated: f.pred, golds: [f.gold], grading: "single" });
      const out = {
        extracted: r.extracted,
        extracted_lenient: r.extracted_lenient,
        equal_strict: r.equal_strict,
        equal_lenient: r.equal_lenient,
        ms: +r.ms.toFixed(2),
        grader: r.grader,
        ...(r.error ? { grader_error: r.error } : {}),
      };
      console.log(
        JSON.stringify(f.mode ? { ...out, equal: f.mode === "strict" ? r.equal_strict : r.equal_lenient } : out),
      );
    }
  } finally {
    pool.close();
  }
}

if (import.meta.main) runMain(main);
