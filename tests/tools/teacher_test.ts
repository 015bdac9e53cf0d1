/** The demo model's teacher: what it writes next, read from a view's text alone. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chainProblems } from "../../tasks/chains.ts";
import { examples as teacherExamples, heldOut, runRecords, writeTokenizer } from "../../tools/demo-model/make-data.ts";
import { partText, policy, slip } from "../../tools/demo-model/teacher.ts";

const PROBLEM = "Let A be 8 + 2 + 2; let B be 5 + 4; let C be 1 + 1. Find A, B and C.\n";
const others = (...steps: string[]) =>
  `${PROBLEM}\n\n### Unfinished steps of the others\n\n${steps.join("")}<...>\n\n### Your own unfinished step\n\n`;

/** Every step the policy may write for a view: the first free part, or one drawn among at most four. */
const options = (view: string, own: string | undefined) =>
  new Set(
    [[0], ...[0, 1, 2, 3].map((k) => [0.9, k / 4 + 0.01])].map((draws) => policy(view, own, () => draws.shift()!)),
  );

Deno.test("teacher: the first free part or one drawn at random, after a hold while a worker named before it has not chosen", () => {
  assert.equal(partText({ name: "A", terms: [8, 2, 2] }), " A: 8 + 2 = 10, 8 + 2 + 2 = 12. A = 12.");
  // both start at once: Alice (first by name) draws among all three parts; Bob holds until her part shows
  assert.deepEqual(
    options(others("**Bob [1]:** ") + "**Alice [1]:** ", "Alice"),
    new Set([
      `${partText({ name: "A", terms: [8, 2, 2] })}\n\n`,
      `${partText({ name: "B", terms: [5, 4] })}\n\n`,
      `${partText({ name: "C", terms: [1, 1] })}\n\n`,
    ]),
  );
  assert.equal(policy(others("**Alice [1]:** ") + "**Bob [1]:** ", "Bob", () => 0.99), " Look");
  assert.equal(policy(others("**Alice [1]:**  no.") + "**Bob [1]:**  Look", "Bob"), " Look");
  // her first token names B: Bob draws between A and C
  assert.deepEqual(
    [...options(others("**Alice [1]:**  B") + "**Bob [1]:**  Look", "Bob")].map((t) => t.slice(0, 3)).sort(),
    [" A:", " C:"],
  );
  // a wait or an answer is a choice too; and after four holds a worker draws anyway
  assert.match(policy(others("**Alice [3]:**  Waiting") + "**Bob [1]:** ", "Bob"), /^ A:/);
  assert.match(policy(others("**Alice [1]:** ") + "**Bob [1]:**  Look Look Look Look", "Bob"), /^ A:/);
  // A is being worked on, B is stated: C, whoever asks
  assert.deepEqual(
    options(`${PROBLEM} B: 5 + 4 = 9. B = 9.\n\n` + others("**Bob [2]:**  A: 8") + "**Carol [2]:** ", "Carol"),
    new Set([`${partText({ name: "C", terms: [1, 1] })}\n\n`]),
  );
  // nothing free while A is in progress: wait
  assert.equal(
    policy(
      `${PROBLEM} B: 5 + 4 = 9. B = 9. C: 1 + 1 = 2. C = 2.\n\n` + others("**Bob [3]:**  A: 8 +") + "**Alice [3]:** ",
      "Alice",
    ),
    " Waiting for A.\n\n",
  );
  // every part stated: the answer; the redundancy check is answered first
  const done = `${PROBLEM} A = 12. B = 9. C = 2.\n\n`;
  assert.equal(policy(done + "**Alice [4]:** ", "Alice"), " Answer: \\boxed{A = 12, B = 9, C = 2}.\n\n");
  assert.equal(
    policy(done + "**Alice [4]:** Quick check: is someone else already doing what I am doing? (yes/no): ", "Alice"),
    " no. Answer: \\boxed{A = 12, B = 9, C = 2}.\n\n",
  );
});

Deno.test("teacher: through the harness no name predicts a part, and two workers starting together never share one", async () => {
  const tok = writeTokenizer(mkdtempSync(join(tmpdir(), "hogwild-teacher-")));
  const examples = await teacherExamples(tok, 40, 3, Infinity, ["hogwild:2"]);
  const first = new Map<string, string>(); // a problem and a name → the first part it worked
  const firstParts = { Alice: new Set<string>(), Bob: new Set<string>() };
  for (const e of examples) {
    const view = tok.decode(e.ids.slice(0, e.start)), step = tok.decode(e.ids.slice(e.start));
    const who = /\*\*(\w+) \[1\]:\*\* *(?: Look)*$/.exec(view)?.[1] as "Alice" | "Bob" | undefined;
    const part = /^ ([A-H]):/.exec(step)?.[1];
    if (!who || !part) continue;
    const problem = /Let [^\n]*?Find [^.]*\./.exec(view)![0];
    first.set(`${problem} ${who}`, part);
    firstParts[who].add(part);
    const other = first.get(`${problem} ${who === "Alice" ? "Bob" : "Alice"}`);
    assert.notEqual(part, other, `${problem}: both first took ${part}`);
  }
  assert.ok(first.size >= 60, `${first.size} first steps`);
  for (const [who, parts] of Object.entries(firstParts)) {
    assert.ok(parts.size >= 3, `${who} always takes ${[...parts]}`);
  }
});

Deno.test("teacher: the finisher states what the view holds, ? for the rest", () => {
  assert.equal(
    policy(`${PROBLEM} B: 5 + 4 = 9. B = 9.\n\nthe final answer is \\boxed{`, undefined),
    "A = ?, B = 9, C = ?}",
  );
});

Deno.test("teacher: through the real harness, a step that ends without a prefix goes on once (no token written twice)", async () => {
  const tok = writeTokenizer(mkdtempSync(join(tmpdir(), "hogwild-teacher-")));
  const examples = await teacherExamples(tok, 4, 1, Infinity, ["sequential", "sc:2", "hogwild:2"]);
  const texts = examples.map((e) => tok.decode(e.ids.slice(e.prompt)));
  assert.ok(texts.some((t) => /\bB = \d+\.\n\n C: /.test(t)), "a plain run's next step follows the last");
  for (const t of texts) assert.doesNotMatch(t, /\b([A-H]) \1:|Answer Answer/);
});

Deno.test("teacher: a slip works another part than planned, and later decisions recover from it", async () => {
  const planned = policy(others("**Bob [1]:** ") + "**Alice [1]:** ", "Alice"); // A
  assert.equal(slip(PROBLEM, planned, () => 0), `${partText({ name: "B", terms: [5, 4] })}\n\n`);
  assert.equal(slip(PROBLEM, ` no.${planned}`, () => 0.99), ` no.${partText({ name: "C", terms: [1, 1] })}\n\n`);
  assert.equal(slip(PROBLEM, " Waiting for A.\n\n", () => 0), undefined);
  // A worked twice by slips, C left: a recovering worker works C, never answers without it
  assert.match(
    policy(`${PROBLEM} A: 8 + 2 = 10, 8 + 2 + 2 = 12. A = 12.\n\n B = 9.\n\n A = 12.\n\n`, undefined),
    /^ C:/,
  );
  // Through the harness: slipped steps are not examples, yet views hold a part stated twice
  const tok = writeTokenizer(mkdtempSync(join(tmpdir(), "hogwild-teacher-")));
  const clean = await teacherExamples(tok, 30, 2, Infinity, ["sequential"]);
  const slipped = await teacherExamples(tok, 30, 2, Infinity, ["sequential"], 0.5);
  const twice = (t: string) =>
    [...t.matchAll(/([A-H]) = \d+\./g)].some((m, i, all) => all.findIndex((n) => n[1] === m[1]) < i);
  assert.ok(!clean.some((e) => twice(tok.decode(e.ids.slice(e.prompt, e.start)))));
  assert.ok(slipped.some((e) => twice(tok.decode(e.ids.slice(e.prompt, e.start)))), "no view shows a slip");
  // every example recorded is one of the policy's own next steps for its view, never a slip
  for (const e of slipped) {
    assert.ok(options(tok.decode(e.ids.slice(0, e.start)), undefined).has(tok.decode(e.ids.slice(e.start))));
  }
});

Deno.test("teacher: the evaluation problems are held out of the examples", async () => {
  const held = heldOut([2, 3, 4]);
  for (const p of chainProblems({ parts: 4, digits: 2, count: 200, seed: 1 })) assert.ok(held.has(p.text), p.text);
  const tok = writeTokenizer(mkdtempSync(join(tmpdir(), "hogwild-teacher-")));
  const examples = await teacherExamples(tok, 40, 1, 1, ["sequential"]);
  assert.equal(examples.length, 40);
  for (const e of examples) {
    const problem = /Let [^\n]*?Find [^.]*\./.exec(tok.decode(e.ids))![0];
    assert.ok(!held.has(problem), problem);
  }
});

Deno.test("teacher: a run record rebuilds every decision's view as the harness showed it, and its targets are the plans", async () => {
  const tok = writeTokenizer(mkdtempSync(join(tmpdir(), "hogwild-teacher-")));
  const methods = ["hogwild:3"];
  const views = await teacherExamples(tok, 3, 4, Infinity, methods);
  const runs = await runRecords(tok, 3, 4, methods);
  assert.equal(runs.length, 3);
  let k = 0;
  for (const run of runs) {
    const plans = [...new Set(run.plan.filter((p) => p >= 0))].sort((a, b) => a - b);
    for (const plan of plans) {
      const at = run.plan.indexOf(plan), r = run.row[at];
      const qpos = run.row_q[r] + at - run.row.indexOf(r);
      // what the row's query at the decision sees: each view block's tokens written by then, placed at its offset
      const seen: number[] = [];
      for (let e = run.row_view_start[r]; e < run.row_view_start[r + 1]; e++) {
        const tokens = run.ids.map((id, t) => ({ id, t })).filter(({ t }) =>
          run.block[t] === run.view_block[e] && run.pass[t] <= run.pass[at] &&
          run.view_offset[e] + run.pos[t] <= qpos
        ).sort((a, b) => run.pos[a.t] - run.pos[b.t]);
        seen.push(...tokens.map((x) => x.id));
      }
      const example = views[k++];
      assert.deepEqual(seen, example.ids.slice(0, example.start), `decision ${plan}: the view`);
      // the plan's tokens, all of them unless the run stopped while it was being written
      const mine = run.target.map((_, t) => t).filter((t) => run.plan[t] === plan),
        planned = example.ids.slice(example.start);
      assert.deepEqual(mine.map((t) => run.target[t]), planned.slice(0, mine.length), `decision ${plan}: the tokens`);
      const last = Math.max(...run.pass.filter((_, t) => run.target[t] >= 0));
      assert.ok(mine.length === planned.length || run.pass[mine.at(-1)!] === last, `decision ${plan} cut short`);
    }
  }
  assert.equal(k, views.length);
});
