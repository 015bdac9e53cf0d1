/**
 * tasks/grading/case_file.ts's reader: a line's "pred" is model output, taken as written whatever control
 * characters it holds; the golds and the problem are data-set text, a control character there a broken escape.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../../../engine/errors.ts";
import { gradeCases, readCases } from "../../../tasks/grading/case_file.ts";
import { lenientAnswer } from "../../../tasks/grading/answer.ts";
import { GradePool } from "../../../tasks/grading/pool.ts";

const dir = mkdtempSync(join(tmpdir(), "hogwild-cases-"));
const CODE_LINE = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../fixtures/lcb/cases.jsonl", import.meta.url)), "utf8").split("\n")[0],
);
/** Every control character the broken-escape check refuses (all but tab, line feed and carriage return). */
const CONTROLS = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).filter((c) => !"\t\n\r".includes(c));

function write(lines: unknown[]): string {
  const file = join(dir, "cases.jsonl");
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  return file;
}

Deno.test("a pred holding any control character is read as written, maths and code lines alike", async () => {
  const lines = CONTROLS.flatMap((c) => [
    { pred: `\\boxed{1}${c}`, gold: "1" },
    { ...CODE_LINE, pred: `\`\`\`python\nprint(1)${c}\n\`\`\`` },
  ]);
  const cases = await readCases(write(lines));
  assert.deepEqual(cases.map((c) => c.v.pred), lines.map((l) => l.pred));
  assert.deepEqual(cases.map((c) => c.code !== undefined), lines.map((l) => "problem" in l));
});

Deno.test("a control character in a gold or in the problem is still refused as a broken escape", async () => {
  const problem = CODE_LINE.problem as Record<string, unknown>;
  for (const c of CONTROLS) {
    for (
      const [line, field] of [
        [{ pred: "\\boxed{1}", gold: `1${c}` }, "gold"],
        [{ pred: "\\boxed{1}", gold: ["2", `1${c}`] }, "gold[1]"],
        [{ ...CODE_LINE, problem: { ...problem, question_content: `x${c}` } }, "problem.question_content"],
      ] as [unknown, string][]
    ) {
      await assert.rejects(
        readCases(write([line])),
        (e: Error) => e instanceof InputError && e.message.includes(`:1: field "${field}" holds control characters`),
        `${JSON.stringify(c)} in ${field}`,
      );
    }
  }
});

Deno.test("each maths line carries both extractions, so that a lenient verdict can be audited (generated)", async () => {
  const forms = [
    (x: number) => `The answer is ${x}.`,
    (x: number) => `Final Answer: $${x}$`,
    (x: number) => `so we get $$x = ${x}$$`,
    (x: number) => `\\boxed{${x}}`,
    (x: number) => `\\boxed{${x}`,
    () => "no answer here, sorry about that, none at all",
  ];
  const lines = forms.flatMap((f, i) => [3, 40, 512].map((x) => ({ pred: f(x + i), gold: String(x + i) })));
  const pool = new GradePool({ workers: 2, timeoutMs: 20_000 });
  try {
    const { lines: out } = await gradeCases(await readCases(write(lines)), pool);
    const read = out.map((l) => JSON.parse(l));
    assert.deepEqual(read.map((l) => l.extracted_lenient), lines.map((l) => lenientAnswer(l.pred) ?? null));
    assert.ok(read.some((l) => l.extracted === null && l.extracted_lenient !== null));
    for (const grading of ["list", "parts"]) {
      const [line] = await gradeCases(await readCases(write([{ pred: "A = 3", gold: ["A = 3"], grading }])), pool)
        .then((r) => r.lines.map((l) => JSON.parse(l)));
      assert.equal(line.extracted_lenient, "A = 3", grading);
    }
  } finally {
    pool.close();
  }
});
