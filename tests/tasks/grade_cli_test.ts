/** deno task grade: one verdict, a file of cases, and bad input as one line with exit code 2. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers.ts";

async function grade(...args: string[]) {
  const r = await runCli("tasks/grade_cli.ts", args);
  return { ...r, stderr: r.stderr.trim() };
}

Deno.test("grade --pred --gold gives one JSON verdict", async () => {
  const r = await grade("--pred", "so \\boxed{\\dfrac{1}{2}}", "--gold", "0.5", "--mode", "strict");
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.extracted, "\\dfrac{1}{2}");
  assert.equal(v.equal_strict, true);
  assert.equal(v.equal, true);
  assert.equal(v.grader, "hogwild-grader/4");
});

Deno.test("grade --cases adds the verdict fields to every line and keeps the others", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const cases = join(dir, "cases.jsonl"), out = join(dir, "out.jsonl");
  writeFileSync(
    cases,
    [
      JSON.stringify({ pred: "\\boxed{12:00}", gold: "1:00", id: "a" }),
      JSON.stringify({ pred: "the answer is 7", gold: ["7", "seven"], id: "b" }),
    ].join("\n") + "\n",
  );
  const r = await grade("--cases", cases, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.id, l.extracted, l.equal_strict, l.equal_lenient]), [[
    "a",
    "12:00",
    false,
    false,
  ], ["b", null, false, true]]);
  assert.ok(lines.every((l) => typeof l.ms === "number"));
});

Deno.test("bad input to grade: one line, exit code 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-grade-"));
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"pred": "\\\\boxed{1}", "gold": "1"}\n{oops\n');
  for (
    const [args, pattern] of [
      [["--cases", bad], /bad\.jsonl:2: not valid JSON/],
      [["--pred", "x"], /give --pred and --gold/],
      [["--pred", "x", "--gold", "y", "--mode", "loose"], /--mode: expected strict or lenient, got "loose"/],
      [["--cases", join(dir, "none.jsonl")], /none\.jsonl: cannot read/],
    ] as [string[], RegExp][]
  ) {
    const r = await grade(...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n")[0].startsWith("error: "), true);
  }
});

Deno.test("answers the symbolic engine cannot settle count as wrong, keep their extraction, and print no stack", async () => {
  const sqrt = "\\sqrt{".repeat(1000) + "2" + "}".repeat(1000);
  for (const [pred, gold] of [["\\boxed{10^{10^{10}}}", "10^{10^{10}}+1"], [`\\boxed{${sqrt}}`, "2"]]) {
    const out = await grade("--pred", pred, "--gold", gold, "--mode", "lenient");
    assert.equal(out.code, 0);
    assert.equal(out.stderr, "", "no stack");
    const r = JSON.parse(out.stdout);
    assert.equal(r.extracted, pred.slice("\\boxed{".length, -1));
    assert.equal(r.extracted_lenient, r.extracted);
    assert.equal(r.equal_strict, false);
    assert.equal(r.equal, false);
  }
});
