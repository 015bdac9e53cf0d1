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
    // the third death in a row, no answer between: the grader cannot grade, and the caller is told so
    await assert.rejects(pool.grade(job), /the grading process died on 3 jobs in a row: .*out of memory/);
    await assert.rejects(pool.grade(job), /died on 3 jobs in a row/);
  } finally {
    pool.close();
  }
});

Deno.test("a runaway comparison is stopped for good: its process is killed past the time limit, not left computing", async () => {
  // a grading process that computes forever on its first job (as a huge factorial would)
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-grade-spins-" });
  Deno.writeTextFileSync(
    `${dir}/spins.ts`,
    `console.log('{"ready":true}');\nfor await (const _ of Deno.stdin.readable) while (true) {}\n`,
  );
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
    // nothing left computing, even where the pool failed to stop it (its mutant): the test cleans up after itself
    for (const pid of running()) Deno.kill(Number(pid), "SIGKILL");
  }
});

/** A pool of one process running `source` (a module of its own in a temporary folder). */
function poolOf(source: string, timeoutMs = 20_000): GradePool {
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-grade-fake-" });
  Deno.writeTextFileSync(`${dir}/worker.ts`, source);
  return new GradePool({ workers: 1, timeoutMs, worker: new URL(`file://${dir}/worker.ts`).href });
}

const ONE = { generated: "\\boxed{1}", golds: ["1"], grading: "single" as const };
const ANSWER = (extra: string) =>
  `${extra}\nconsole.log('{"ready":true}');\n` +
  "for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {\n" +
  "  const { id } = JSON.parse(line);\n" +
  "  console.log('a stray print, not JSON'); console.log(JSON.stringify({ id: id + 1000, result: {} }));\n" +
  "  console.log(JSON.stringify({ id, result: { equal_strict: true, score_strict: 1, ms: 1 } }));\n}\n";

Deno.test("a grading process's stray lines (not JSON, another job's id) are noise, never an answer", async () => {
  const pool = poolOf(ANSWER(""));
  try {
    const r = await pool.grade(ONE);
    assert.deepEqual([r.equal_strict, r.score_strict, r.timed_out], [true, 1, false]);
  } finally {
    pool.close();
  }
});

Deno.test("the time limit runs from when a loaded process is given the job, not from its start", async () => {
  // a process that takes 1.5 s to load, then answers at once, under a limit of 1 s
  const pool = poolOf(ANSWER("await new Promise((r) => setTimeout(r, 1500));"), 1000);
  try {
    assert.equal((await pool.grade(ONE)).timed_out, false);
  } finally {
    pool.close();
  }
});

Deno.test("a grading process that cannot start fails the caller with its reason after a few tries, never a wrong answer", async () => {
  const pool = poolOf("throw new Error(\"Failed caching npm package 'x@1.0.0'\");\n");
  try {
    await assert.rejects(pool.grade(ONE), /no grading process starts: .*Failed caching npm package 'x@1\.0\.0'/);
    await assert.rejects(pool.grade(ONE), /no grading process starts/);
    // a long queue is failed in a loop (a chain of calls overflowed the stack past ~10,000 jobs)
    const many = Array.from({ length: 20_000 }, () => pool.grade(ONE).then(() => "graded", (e) => e.message));
    const reasons = new Set(await Promise.all(many));
    assert.equal(reasons.size, 1);
    assert.match([...reasons][0], /^no grading process starts/);
  } finally {
    pool.close();
  }
});

Deno.test("close() fails the jobs in flight and waiting at once, and starts nothing after", async () => {
  const pool = poolOf(
    `console.log('{"ready":true}');\nfor await (const _ of Deno.stdin.readable) while (true) {}\n`,
    60_000,
  );
  const t0 = performance.now();
  const running = pool.grade(ONE), waiting = pool.grade(ONE);
  await new Promise((r) => setTimeout(r, 1500));
  pool.close();
  for (const r of await Promise.all([running, waiting, pool.grade(ONE)])) {
    assert.equal(r.error, "grading stopped: the pool was closed");
  }
  assert.ok(performance.now() - t0 < 10_000, "not held until the time limit");
});
