/**
 * harness/judge/scores.ts: a human-scores file with no scores is refused, and the agreement is said as r and p only
 * where there is one: too few pairs, or a side whose scores are all equal, are said so, never printed as NaN.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../../../engine/errors.ts";
import { seedStats } from "../../../harness/report/stats.ts";
import { pValue } from "../../../harness/report/compare.ts";
import {
  agreementText,
  groupScore,
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
      const text = agreementText(humanAgreement(human, judged, 3));
      assert.doesNotMatch(text, /NaN/, `${n} ${flat}: ${text}`);
      assert.match(text, / \(1 human scores without a judge score left out\)$/);
      if (n < 3) {
        assert.match(text, new RegExp(`^human vs judge: ${n} traces paired, too few for Pearson's r \\(3 at least\\)`));
      } else if (flat !== "none") {
        assert.match(text, new RegExp(`^human vs judge: n = ${n} traces, no r: the ${flat} scores are all equal`));
      } else assert.match(text, new RegExp(`^human vs judge: r = -?\\d\\.\\d{3}, p = <?[\\d.]+, n = ${n} traces`));
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
    const file = new JudgeFile(dir, true);
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
    assert.equal(new JudgeFile(dir, false).lines.length, 1);
    file.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

const judgeLine = (i: number, run = 0): JudgeLine => ({
  ...key(i),
  run,
  judge: "j",
  prompt_version: "v",
  prefix_tokens: 4096,
  reply: "SCORE: 4",
  score: 4,
  tokens: [10, 10],
});

Deno.test("judge.jsonl: one writer at a time: a second is refused naming judge.lock, until the first closes; a reader cuts nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-judge-lock-"));
  const file = join(dir, "judge.jsonl"), lock = join(dir, "judge.lock");
  try {
    for (let round = 0; round < 3; round++) {
      const writer = new JudgeFile(dir, true);
      assert.ok(existsSync(lock));
      for (let i = 0; i < 5; i++) writer.append(judgeLine(round * 5 + i));
      // another judge starting now: refused before it reads (its repair could cut the line being appended)
      for (let k = 0; k < 3; k++) {
        assert.throws(
          () => new JudgeFile(dir, true),
          (e) =>
            e instanceof InputError &&
            e.message === `${dir}: another judge (process ${Deno.pid} on ${Deno.hostname()}) is writing this ` +
                `folder's judge.jsonl (it holds ${lock}); wait for it to end, then run the same command again`,
        );
      }
      // a line being appended (no newline yet): a reader leaves it, unread and uncut
      const whole = readFileSync(file, "utf8");
      writeFileSync(file, whole + '{"task": "t", "probl', { flag: "w" });
      const reader = new JudgeFile(dir, false);
      assert.equal(reader.lines.length, (round + 1) * 5);
      assert.equal(readFileSync(file, "utf8"), whole + '{"task": "t", "probl', "the reader cut nothing");
      assert.throws(() => reader.append(judgeLine(99)), /opened read only/);
      writeFileSync(file, whole);
      writer.close();
      assert.ok(!existsSync(lock), "the lock given back");
    }
    // a torn line left by a killed judge: cut by the next writer, which holds the lock
    writeFileSync(file, readFileSync(file, "utf8") + '{"torn');
    const next = new JudgeFile(dir, true);
    assert.equal(next.lines.length, 15);
    assert.ok(readFileSync(file, "utf8").endsWith("}\n"));
    next.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("judge.jsonl: a lock left by a judge killed (its file, no holder) is taken; one held by another process is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-judge-stale-"));
  try {
    writeFileSync(join(dir, "judge.lock"), "2147483646 elsewhere\n"); // no such process holds it
    const f = new JudgeFile(dir, true);
    f.append(judgeLine(0));
    f.close();
    // a process holding it: another judge, in another process
    const script = join(dir, "hold.ts");
    writeFileSync(
      script,
      `import { JudgeFile } from ${
        JSON.stringify(new URL("../../../harness/judge/scores.ts", import.meta.url).href)
      };\n` +
        `const f = new JudgeFile(Deno.args[0], true); console.log("held"); await new Promise((r) => setTimeout(r, 60000)); f.close();\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", fileURLToPath(new URL("../../../deno.json", import.meta.url)), script, dir],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /held/);
    try {
      assert.throws(
        () => new JudgeFile(dir, true),
        (e) => e instanceof InputError && e.message.includes(`another judge (process ${child.pid} on `),
      );
      assert.equal(new JudgeFile(dir, false).lines.length, 1, "reading is never refused");
    } finally {
      child.kill();
      await reader.cancel();
      await child.status;
    }
    // killed: the kernel gave its lock back, its file left; the next judge takes it
    new JudgeFile(dir, true).close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("judge's interval: the report's own, clustered by problem (each problem's mean over its seeds one value), never of zero width", () => {
  const scored = (problem: string, seed: number, score: number | null) => ({
    task: "t",
    problem_id: problem,
    method: "hogwild:2",
    seed,
    score,
    runs: 3,
    unscored: score === null ? 3 : 0,
  });
  // the seeds of one problem are not independent: 2 problems, 3 seeds each, far apart: t on 1 degree of freedom
  const two = groupScore([2, 2, 2].map((s, i) => scored("a", i, s)).concat([5, 5, 5].map((s, i) => scored("b", i, s))));
  assert.deepEqual([two.n, two.problems, two.mean, two.lo, two.hi], [6, 2, 3.5, 1, 6]);
  // one problem under 4 seeds: one cluster, no interval
  const one = groupScore([2, 3, 4, 5].map((s, i) => scored("a", i, s)));
  assert.deepEqual([one.n, one.problems, one.lo, one.hi], [4, 1, undefined, undefined]);
  // every problem at the floor: Wilson's as sure as the traces but one, × (z/t)² (mapped onto [0, 1] and back), not
  // 1.00–1.00: 2 × (1.96/4.303)² = 0.415 traces, an upper end of 1 + 5 × 3.84/(0.415 + 3.84)
  const floor = groupScore(["a", "b", "c"].map((p) => scored(p, 1, 1)));
  assert.equal(floor.lo, 1);
  assert.ok(floor.hi! > 5.5 && floor.hi! < 5.52, `${floor.hi}`);
  // against the report's seedStats over the same scores mapped onto [0, 1]: the same mean and interval
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 200; round++) {
    const traces = Array.from({ length: 2 + Math.floor(rand() * 12) }, (_, i) => {
      const score = rand() < 0.1
        ? null
        : round % 5 === 0
        ? 1 + Math.floor(rand() * 2) * 5
        : 1 + Math.floor(rand() * 16) / 3;
      return scored(`p${Math.floor(rand() * 4)}`, i, score);
    });
    const g = groupScore(traces);
    const samples = traces.flatMap((
      t,
    ) => (t.score === null ? [] : [{ problem: t.problem_id, seed: t.seed, score: (t.score - 1) / 5 }]));
    if (samples.length === 0) continue;
    const report = seedStats(samples, (a) => a);
    assert.ok(Math.abs(g.mean - (1 + 5 * report.avg)) < 1e-9, `round ${round}`);
    assert.equal(g.lo === undefined, report.ci === undefined, `round ${round}`);
    if (report.ci) {
      assert.ok(Math.abs(g.lo! - (1 + 5 * report.ci[0])) < 1e-9 && Math.abs(g.hi! - (1 + 5 * report.ci[1])) < 1e-9);
      assert.ok(g.hi! > g.lo!, `round ${round}: zero width ${g.lo}–${g.hi}`);
    }
  }
});

Deno.test("human agreement: held back while a paired trace lacks some of its judge runs, as the chart is; said how many", () => {
  const human: HumanScore[] = Array.from({ length: 5 }, (_, i) => ({ ...key(i), score: i }));
  const judged = (short: number[]) =>
    Array.from({ length: 5 }, (_, i) => ({
      ...key(i),
      score: (i * 7) % 5,
      runs: short.includes(i) ? 2 : 3,
      unscored: 0,
    }));
  const whole = agreementText(humanAgreement(human, judged([]), 3));
  assert.match(whole, /^human vs judge: r = -?\d\.\d{3}, p = [\d.<]+, n = 5 traces$/);
  const text = agreementText(humanAgreement(human, judged([1, 3]), 3));
  assert.equal(
    text,
    "human vs judge: no r yet: 2 of the 5 human scores' traces have fewer than 3 judge runs recorded (as the " +
      "chart, not drawn over them; the same command asks for the missing runs)",
  );
});

Deno.test("human agreement: p printed by the report's one formatter (compare.ts pValue), never rounded across 0.05 or 0.01", () => {
  const at = (p: number) => ({ r: 0.2, p, n: 100, runs: 3, short: 0, unpaired: 0, flat: [] });
  for (const [p, shown] of [[0.049996, "0.049996"], [0.0099996, "0.0099996"], [0.0768, "0.077"], [0.0004, "<0.001"]]) {
    assert.equal(pValue(p as number), shown);
    assert.equal(
      agreementText(at(p as number) as ReturnType<typeof humanAgreement>),
      `human vs judge: r = 0.200, p = ${shown}, n = 100 traces`,
    );
  }
});

Deno.test("human scores: a line without a field, or with one of the wrong kind, is refused naming --human, its line and the field", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-human-fields-"));
  const file = join(dir, "h.jsonl");
  const row = { task: "chains", problem_id: "p1", method: "hogwild:2", seed: 1, score: 4 };
  const cases: [unknown, string][] = [
    [{ ...row, seed: undefined }, `no "seed" (a whole number)`],
    [{ ...row, seed: "1" }, `"seed": expected a whole number, got "1"`],
    [{ ...row, task: undefined }, `no "task" (a text)`],
    [{ ...row, problem_id: 7 }, `"problem_id": expected a text, got 7`],
    [{ ...row, method: null }, `"method": expected a text, got null`],
    [{ ...row, score: undefined }, `no "score" (a number)`],
    [{ ...row, score: "4" }, `"score": expected a number, got "4"`],
    [[1, 2], "expected a JSON object (task, problem_id, method, seed, score), got an array"],
    ["not json", "not JSON"],
  ];
  for (const [bad, why] of cases) {
    // a blank line before: the line named is the file's own
    writeFileSync(file, `${JSON.stringify(row)}\n\n${typeof bad === "string" ? bad : JSON.stringify(bad)}\n`);
    assert.throws(
      () => readHumanScores(file),
      (e) => e instanceof InputError && e.message.startsWith(`--human ${file}:3: ${why}`),
      why,
    );
  }
  rmSync(dir, { recursive: true });
});
