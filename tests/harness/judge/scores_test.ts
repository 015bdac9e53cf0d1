/**
 * harness/judge/scores.ts: a human-scores file with no scores is refused, and the agreement is said as r and p only
 * where there is one: too few pairs, or a side whose scores are all equal, are said so, never printed as NaN.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../../engine/errors.ts";
import {
  agreementText,
  humanAgreement,
  type HumanScore,
  JudgeFile,
  type JudgeLine,
  readHumanScores,
} from "../../../harness/judge/scores.ts";
import { writeSeam } from "../../../engine/files.ts";

const key = (i: number) => ({ task: "t", problem_id: `p${i}`, method: "hogwild:2", seed: 1 });

Deno.test("human scores: a file with no scores (empty, blank lines) is refused, naming it", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-human-"));
  for (const text of ["", "\n", "\n\n"]) {
    const file = join(dir, "h.jsonl");
    writeFileSync(file, text);
    assert.throws(
      () => readHumanScores(file),
      (e) => e instanceof InputError && e.message === `--human ${file}: holds no scores`,
      JSON.stringify(text),
    );
  }
  rmSync(dir, { recursive: true });
});

Deno.test("human agreement: r and p from 3 pairs on; fewer, or a side all equal, said so (no NaN)", () => {
  for (let n = 0; n <= 5; n++) {
    for (const flat of ["none", "human", "judge"] as const) {
      const human: HumanScore[] = Array.from(
        { length: n + 1 },
        (_, i) => ({ ...key(i), score: flat === "human" ? 3 : i }),
      );
      // the last human score has no judge score: left out, and said
      const judged = Array.from({ length: n }, (_, i) => ({
        ...key(i),
        score: flat === "judge" ? 4 : (i * 7) % 5,
        runs: 3,
        unscored: 0,
      }));
      const text = agreementText(humanAgreement(human, judged));
      assert.doesNotMatch(text, /NaN/, `${n} ${flat}: ${text}`);
      assert.match(text, / \(1 human scores without a judge score left out\)$/);
      if (n < 3) {
        assert.match(text, new RegExp(`^human vs judge: ${n} traces paired, too few for Pearson's r \\(3 at least\\)`));
      } else if (flat !== "none") {
        assert.match(text, new RegExp(`^human vs judge: n = ${n} traces, no r: the ${flat} scores are all equal`));
      } else assert.match(text, new RegExp(`^human vs judge: r = -?\\d\\.\\d{3}, p = [\\d.e-]+, n = ${n} traces`));
    }
  }
});

Deno.test("judge.jsonl: after a failed append every later one fails with its error (a line it could not take back stays last)", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-judge-append-"));
  const line = (run: number): JudgeLine => ({
    task: "t",
    problem_id: "p",
    method: "hogwild:2",
    seed: 1,
    run,
    judge: "j",
    prompt_version: "v",
    prefix_tokens: 4096,
    reply: "Score: 4",
    score: 4,
    tokens: [10, 10],
  });
  try {
    const file = new JudgeFile(dir);
    file.append(line(0));
    writeSeam.before = () => {
      throw new Error("Input/output error (os error 5)");
    };
    try {
      assert.throws(() => file.append(line(1)), /os error 5/);
    } finally {
      writeSeam.before = undefined;
    }
    assert.throws(() => file.append(line(2)), /os error 5/, "the disk works again: refused all the same");
    assert.equal(new JudgeFile(dir).lines.length, 1);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
