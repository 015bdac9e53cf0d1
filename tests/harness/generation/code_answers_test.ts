/**
 * Code answers through the real harness (harness/generation/answer_format.ts): a scripted model writes programs; the
 * checkpoint's answer is the last fenced program written (LiveCodeBench's extraction), else the finisher's,
 * opened by the code texts' ```python suffix and closed by its fence (or cut at its limit); a program drafted
 * mid-thought does not end the run; the code templates are the prompt; the families that assume a boxed answer
 * are refused; and the verdicts land in the checkpoints, each distinct program run once.
 */
import assert from "node:assert/strict";
import { KVCache } from "../../../engine/cache.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { BOXED, CODE } from "../../../harness/generation/answer_format.ts";
import { extractCode } from "../../../tasks/code/extract.ts";
import { gradeCheckpoints } from "../../../harness/bench/grading.ts";
import { checkCodeTasks, newSolver, parseMethod, type RunContext } from "../../../harness/generation/methods.ts";
import { loadCodeTexts } from "../../../harness/generation/prompts.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import type { Checkpoint, Solver } from "../../../harness/generation/solver.ts";
import { GradePool } from "../../../tasks/grading/pool.ts";
import { CodeRunner } from "../../../tasks/code/runner.ts";
import type { CodeSpec } from "../../../tasks/code/problem.ts";
import { openOrSkip, ScriptedModel } from "../../helpers.ts";

const tok = TextTokenizer.qwen3();
const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
const PROBLEM = "Read n and print n + 1.";

async function run(id: string, budgets: number[], scripts: Record<string, string>, finisherTokens = 32) {
  const ctx: RunContext = { tokenizer: tok, generation, budgets, finisherTokens, answer: CODE };
  const cache = new KVCache({ bytes: 0, pages: 4096, pageSize: 16 });
  const solver: Solver = newSolver(cache, parseMethod(id), PROBLEM, 0, ctx);
  const model = new ScriptedModel(tok, scripts);
  await runAll(model, cache, [solver]);
  return { checkpoints: solver.checkpoints, model };
}

const brief = (cs: readonly Checkpoint[]) => cs.map((c) => [c.budget, c.source, c.answer]);

Deno.test("code answers: the last program written counts; before one is written the finisher writes it", async () => {
  const draft = "First try.\n\n```python\nprint(0)\n```\n\nThat is wrong. Better:\n\n```python\nn = int(input())\n" +
    "print(n + 1)\n```\n\nDone.<|im_end|>";
  const budgets = [4, 400];
  const { checkpoints, model } = await run("sequential", budgets, {
    Alice: draft,
    finisher: "n = int(input())\nprint(n)\n```\nignored",
  });
  assert.deepEqual(brief(checkpoints), [
    [4, "finisher", "n = int(input())\nprint(n)"],
    [400, "generated", "n = int(input())\nprint(n + 1)"],
  ]);
  // The program drafted first did not end the run: it went on to the end of sequence.
  const written = model.passes.filter((rows) => rows[0].block.label !== "finisher").length;
  assert.equal(written, tok.encode(draft).length);
  // The finisher's transcript ends with the code texts' suffix, which opens a ```python block.
  const first = model.passes.find((rows) => rows[0].block.label === "finisher")![0].tokens;
  assert.ok(tok.decode(first).endsWith(loadCodeTexts().finisherSuffix), tok.decode(first));
  // The prompt is the code template's (it asks for a ```python block, not a box).
  const prompt = tok.decode(model.passes[0].flatMap((r) => [...Array.from(r.tokens)]));
  assert.match(prompt, /one ```python code block/);
  assert.doesNotMatch(prompt, /boxed/);
});

Deno.test("code answers: an ended trace with a fence quoted in its prose gives its program, sequential and sc alike", async () => {
  const text = "I will answer in one ```python code block.\n```python\nn = int(input())\nprint(n + 1)\n```<|im_end|>";
  const program = "n = int(input())\nprint(n + 1)";
  const seq = await run("sequential", [400], { Alice: text });
  assert.deepEqual(brief(seq.checkpoints), [[400, "generated", program]]);
  // self-consistency's answer is its finisher's; its vote is over the paths' own programs
  const sc = await run("sc:2", [400], { Alice: text, Bob: text, finisher: "print(0)\n```" });
  assert.equal(sc.checkpoints[0].vote, program);
});

Deno.test("code answers: a finisher cut at its limit keeps what it wrote; nothing written gives none", async () => {
  const cut = await run("sequential", [3], { Alice: "Thinking about it", finisher: "print(1) and more and more" }, 4);
  assert.deepEqual(brief(cut.checkpoints), [[
    3,
    "finisher",
    tok.decode(tok.encode("print(1) and more and more").slice(0, 4)),
  ]]);
  const none = await run("sequential", [3], { Alice: "Thinking about it", finisher: "```" }, 4);
  assert.deepEqual(brief(none.checkpoints), [[3, "finisher", null]]);
});

Deno.test("code answers: Hogwild! workers' program in a step is the team's; self-consistency votes on programs", async () => {
  const hw = await run("hogwild:2", [60], {
    Alice: "I will write it.\n\n```python\nprint(int(input()) + 1)\n```\n\nThere it is.\n\n" + " More.".repeat(60),
    Bob: "Let me check the examples by hand." + " Fine.".repeat(60),
  });
  assert.deepEqual(brief(hw.checkpoints), [[60, "generated", "print(int(input()) + 1)"]]);
  const sc = await run("sc:3", [40], {
    Alice: "```python\nprint(2)\n```\n\n" + " x".repeat(40),
    Bob: "```python\nprint(2)\n```\n\n" + " y".repeat(40),
    Carol: "```python\nprint(3)\n```\n\n" + " z".repeat(40),
    finisher: "print(9)\n```",
  });
  assert.equal(sc.checkpoints[0].vote, "print(2)");
  // programs that differ in their indentation are two answers (the maths normaliser read them alike, and the first
  // one's text won: a program none of the others wrote)
  const dedented = "for i in range(2):\n    print(i)\nprint(9)",
    indented = "for i in range(2):\n    print(i)\n    print(9)";
  const by = await run("sc:3", [60], {
    Alice: "```python\n" + dedented + "\n```\n\n" + " x".repeat(60),
    Bob: "```python\n" + indented + "\n```\n\n" + " y".repeat(60),
    Carol: "```python\n" + indented + "\n```\n\n" + " z".repeat(60),
    finisher: "print(9)\n```",
  });
  assert.equal(by.checkpoints[0].vote, indented);
});

Deno.test("code answers: families whose texts ask for a box are refused for a code task, by name", () => {
  const ok = ["hogwild:2", "sequential", "sc:2", "sc:4:conf", "sequential-no-early-stop"].map(parseMethod);
  checkCodeTasks(ok, "lcb");
  for (const id of ["sot", "deepconf:4", "leap:2", "groupthink:2"]) {
    assert.throws(() => checkCodeTasks([parseMethod(id)], "lcb"), /its texts ask for a boxed answer; task lcb/, id);
  }
  checkCodeTasks([parseMethod("sot")], undefined); // no code task: nothing to refuse
  assert.equal(BOXED.written("\\boxed{4} then ```python\nx\n```", false), "4");
});

// where the sandbox cannot run (CI excepted) the verdicts' test is skipped, the reason said once
const sandbox = await openOrSkip("code answers' verdicts", () => CodeRunner.open({ limits: { testSeconds: 2 } }));
await sandbox?.close();

Deno.test({
  name: "code answers: verdicts in the checkpoints, each distinct program run once",
  ignore: sandbox === undefined,
  fn: codeVerdicts,
});

async function codeVerdicts() {
  const runner = await CodeRunner.open({ workers: 2, limits: { testSeconds: 2 } });
  const spec: CodeSpec = {
    mode: "stdin",
    starter: "",
    tests: [{ input: "1\n", output: "2\n" }, { input: "41\n", output: "42\n" }],
    publicTests: 1,
  };
  let runs = 0;
  const counted = { run: (...a: Parameters<CodeRunner["run"]>) => (runs++, runner.run(...a)) } as CodeRunner;
  const pool = new GradePool({ workers: 1, code: counted });
  try {
    const right = "print(int(input()) + 1)", wrong = "print(int(input()))";
    const cp = (budget: number, answer: string | null, vote?: string, paths?: (string | null)[]): Checkpoint => ({
      budget,
      passes: budget,
      answer,
      source: "generated",
      tokens: [budget],
      solo_ms: 0,
      shared_ms: 0,
      finisher_passes: 0,
      ...(vote !== undefined ? { vote } : {}),
      ...(paths !== undefined ? { paths } : {}),
    });
    const graded = await gradeCheckpoints(
      [cp(1, null), cp(2, wrong), cp(3, right, wrong), cp(4, right, right, [right, null, wrong, right])],
      { golds: [], grading: "code", code: spec },
      pool,
    );
    assert.deepEqual(
      graded.map((c) => [c.verdict, c.tests_failed, c.equal_strict, c.score_strict, c.vote_equal_strict]),
      [["no_code", 2, false, 0, undefined], ["wrong_answer", 2, false, 0, undefined], ["passed", 0, true, 1, false], [
        "passed",
        0,
        true,
        1,
        true,
      ]],
    );
    // Each path's own program, graded with the same verdicts (the papers' Pass@1 is their mean)
    assert.deepEqual(
      graded.map((c) => [c.paths_equal_strict, c.paths_score_strict]),
      [[undefined, undefined], [undefined, undefined], [undefined, undefined], [[true, false, false, true], 0.5]],
    );
    assert.equal(runs, 2, "the right and the wrong program ran once each; no program, no run");
  } finally {
    pool.close();
    await runner.close();
  }
}

Deno.test("code answers: a text cut inside a block gives the last closed program, never the prose between", () => {
  const cut = "Draft:\n```python\nprint(0)\n```\nWait, that is wrong. Fixed:\n```python\nn = int(input())\n";
  assert.equal(CODE.written(cut, true), "print(0)");
  assert.equal(CODE.written("Thinking.\n```python\nprint(1)", true), undefined);
  assert.equal(CODE.written(cut + "print(n + 1)\n```\nDone.", true), "n = int(input())\nprint(n + 1)");
  // backticks inside a line open no block: the text is not cut there
  const quoted = "I will answer in one ```python block.\n```python\nprint(1)\n```\nChecking it";
  assert.equal(CODE.written(quoted, true), "print(1)");
  assert.equal(CODE.written(quoted + " once more:\n```python\nprint(", true), "print(1)");
  // fences of other shapes close and open as LiveCodeBench's rule reads them: a closed text reads the same open
  for (
    const text of [
      "```python\nprint(1)\n```\nBetter:\n``` python\nprint(2)\n```\nchecking",
      "```python\nprint(1)\n```\nBetter:\n```python  # fixed\nprint(2)\n```\nchecking",
      "```python\nprint(1)\n``` That is it.\nNow let me check",
      "```python\nprint(1)\n```</think>\nNow",
      "**Alice [2]:** ```python\nprint(1)\n```\n\n**Alice [3]:** done",
    ]
  ) {
    assert.equal(CODE.written(text, true), CODE.written(text, false), JSON.stringify(text));
    assert.ok(CODE.written(text, true)?.startsWith("print("), JSON.stringify(text));
  }
});

Deno.test("code answers: a text that ended is read by LiveCodeBench's rule exactly, stray fences and all", () => {
  // generated: texts with a fence line that opens nothing, each ended, against extract_code's own reading
  const program = "n = int(input())\nprint(n + 1)";
  const block = "```python\n" + program + "\n```";
  const strays = [
    "Restating: the program goes in one ```python code block.", // the instruction quoted on one line
    "<think>\nA draft:\n```python\nprint(n\nno, start again", // a draft left open inside the thinking
    "```", // a lone fence
  ];
  for (const stray of strays) {
    for (const after of ["", "\nDone.", "\n"]) {
      const text = `${stray}\n</think>\nThe answer:\n${block}${after}`;
      assert.equal(CODE.written(text, false), extractCode(text), JSON.stringify(text));
      assert.equal(CODE.written(text, false), program, JSON.stringify(text));
    }
  }
  assert.equal(CODE.written("Thinking.\n```python\nprint(1)", false), undefined, "one fence: no program");
  assert.equal(CODE.written("Empty:\n```python\n```", false), undefined, "an empty block: the finisher's turn");
});
