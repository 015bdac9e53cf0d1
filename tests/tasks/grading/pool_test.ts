/** Grading off the hot path: workers give the same verdicts as the grader, and a time limit holds. */
import assert from "node:assert/strict";
import { GradePool } from "../../../tasks/grading/pool.ts";
import { gradeProblem } from "../../../tasks/grading/grader.ts";
import { dyingGradePool } from "../../helpers.ts";

Deno.test("the pool grades in workers with the grader's verdicts", async () => {
  const pool = new GradePool({ workers: 2, timeoutMs: 20_000 });
  try {
    const jobs = [
      { generated: "\\boxed{\\frac{1}{2}}", golds: ["0.5"], grading: "single" as const },
      { generated: "\\boxed{(x+1)^2}", golds: ["x^2+2x+1"], grading: "single" as const },
      { generated: "\\boxed{3}", golds: ["4"], grading: "single" as const },
      { generated: "\\boxed{1, 2, 9}", golds: ["1", "2", "3"], grading: "list" as const },
    ];
    const results = await Promise.all(jobs.map((j) => pool.grade(j)));
    results.forEach((r, i) => {
      const { ms: _ms, timed_out, ...verdict } = r;
      assert.equal(timed_out, false);
      assert.deepEqual(verdict, gradeProblem(jobs[i], jobs[i].generated));
    });
    assert.deepEqual(results.map((r) => r.score_strict), [1, 1, 0, 2 / 3]);
  } finally {
    pool.close();
  }
});

Deno.test("a grading that outlives its time limit counts as wrong, says so, and the pool goes on", async () => {
  const pool = new GradePool({ workers: 1, timeoutMs: 20_000 });
  try {
    const r = await pool.grade({
      generated: "\\boxed{(x+1)^5}",
      golds: ["x^5+5x^4+10x^3+10x^2+5x+1"],
      grading: "single",
    }, 1);
    assert.equal(r.timed_out, true);
    assert.equal(r.equal_strict, false);
    const next = await pool.grade({
      generated: "\\boxed{(x+1)^5}",
      golds: ["x^5+5x^4+10x^3+10x^2+5x+1"],
      grading: "single",
    });
    assert.equal(next.timed_out, false);
    assert.equal(next.equal_strict, true);
  } finally {
    pool.close();
  }
});

Deno.test("a grading worker that dies fails its answer with the reason in grader_error, and the pool goes on", async () => {
  const pool = dyingGradePool();
  try {
    const job = { generated: "\\boxed{1}", golds: ["1"], grading: "single" as const };
    for (let i = 0; i < 2; i++) {
      const r = await pool.grade(job);
      assert.equal(r.equal_strict, false);
      assert.equal(r.timed_out, false);
      assert.match(r.error ?? "", /^the grading worker died: .*out of memory/);
    }
  } finally {
    pool.close();
  }
});

Deno.test("a runaway comparison is stopped for good: its process is killed past the time limit, not left computing", async () => {
  // a grading process that computes forever on its first job (as a huge factorial would)
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-grade-spins-" });
  Deno.writeTextFileSync(`${dir}/spins.ts`, "for await (const _ of Deno.stdin.readable) while (true) {}\n");
  const pool = new GradePool({ workers: 1, worker: new URL(`file://${dir}/spins.ts`).href });
  // the processes running that module, by their command lines (ps: /proc itself needs --allow-all)
  const running = () =>
    new TextDecoder().decode(new Deno.Command("ps", { args: ["-eo", "pid=,args="] }).outputSync().stdout).split("\n")
      .filter((l) => l.includes(`${dir}/spins.ts`)).map((l) => l.trim().split(/\s+/)[0]);
  try {
    const graded = pool.grade({ generated: "\\boxed{1}", golds: ["1"], grading: "single" }, 5000);
    let spinning = running();
    for (let i = 0; i < 80 && spinning.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      spinning = running();
    }
    assert.equal(spinning.length, 1, "one process computing");
    assert.equal((await graded).timed_out, true);
    for (let i = 0; i < 100 && running().includes(spinning[0]); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!running().includes(spinning[0]), `process ${spinning[0]} still runs after its time limit`);
  } finally {
    pool.close();
  }
});
