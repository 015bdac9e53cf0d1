/**
 * Who wrote a record's answer (measures' answer_by): the writer the solver read it from, recorded in its
 * checkpoint, and for a record from before that field the solver's own rule over the trace: never another rule.
 */
import assert from "node:assert/strict";
import type { TraceLine } from "../../../harness/bench/rundir.ts";
import { answerWriter, measures } from "../../../harness/viewer/measures.ts";
import { KVCache } from "../../../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../../../engine/plan.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../../harness/generation/methods.ts";
import { runAll, type StepModel } from "../../../harness/generation/schedule.ts";
import type { Solver } from "../../../harness/generation/solver.ts";
import { fakeCheckpoint, fakeRecord, Rng } from "../../helpers.ts";

Deno.test("answer by: an unclosed box is no answer; the writer whose text holds the box read is named", () => {
  // Alice opened a box and never closed it; the answer is Bob's (a record from before checkpoints named a writer)
  const trace: TraceLine = {
    task: "t",
    problem_id: "p",
    method: "hogwild:2",
    seed: 1,
    names: ["Alice", "Bob"],
    workers: [
      "**Alice [1]:**  Answer: \\boxed{A = 14, B = 8, C = 24",
      "**Bob [1]:**  Answer: \\boxed{A = 14, B = 8, C = 20}",
    ],
    steps: [],
    pass_ms: [1, 1],
    ended: [null, null],
  };
  const cp = fakeCheckpoint(2, true, { answer: "A = 14, B = 8, C = 20", source: "generated" });
  assert.equal(measures(trace, fakeRecord({ method: "hogwild:2", problem_id: "p" }, [cp]))?.answer_by, "Bob");
  // a checkpoint that names its writer is taken at its word; a vote names none
  const named = fakeRecord({ method: "hogwild:2", problem_id: "p" }, [{ ...cp, writer: 0 }]);
  assert.equal(measures(trace, named)?.answer_by, "Alice");
  const vote = fakeRecord({ method: "hogwild:2", problem_id: "p" }, [{ ...cp, writer: null }]);
  assert.equal(measures(trace, vote)?.answer_by, null);
});

/** Pieces of text the writers draw from: boxes opened, closed, both, and step ends. */
const PIECES = [" \\boxed{", "1", "2", "}", " \\boxed{7}", " so", " and", " {", ".\n\n"];

/** A model whose writers each write random pieces (one piece's tokens in a row); the finisher closes its box. */
class Pieces implements StepModel {
  readonly #queue = new Map<string, number[]>();
  readonly #pieces: number[][];
  readonly #close: number[];
  constructor(tok: TextTokenizer, readonly rng: Rng, readonly stepEnd: number) {
    this.#pieces = PIECES.map((p) => tok.encode(p));
    this.#close = tok.encode("4}");
  }
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((r) => {
      if (!r.sampler) return -1;
      if (r.block.label === "finisher") return this.#close[Math.min(r.block.length, this.#close.length) - 1];
      const writer = r.block.label.split(".")[0];
      let q = this.#queue.get(writer);
      if (!q?.length) {
        const end = this.rng.next() < this.stepEnd;
        q = [...this.#pieces[end ? PIECES.length - 1 : Math.floor(this.rng.next() * (PIECES.length - 1))]];
        this.#queue.set(writer, q);
      }
      return q.shift()!;
    });
  }
}

function traceOf(run: Solver, method: string): TraceLine {
  return {
    task: "t",
    problem_id: "p",
    method,
    seed: 1,
    names: run.names(),
    workers: run.texts(),
    steps: run.steps.map((s) => ({ worker: s.worker, step: s.step, pass: s.pass, text: s.text })),
    pass_ms: run.passMs,
    ...(run.ended() ? { ended: run.ended()! } : {}),
  };
}

Deno.test("answer by: over generated texts the viewer names the writer the solver read the answer from", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const methods = ["hogwild:2", "hogwild:3", "hogwild:3:contiguous", "hogwild:2:interleaved", "hogwild:3:no-collab"];
  const counts = { written: 0, early: 0, oldRuleWrong: 0 };
  for (let seed = 1; seed <= 40; seed++) {
    for (const id of methods) {
      // with and without the early stop: without, finished steps hold boxes of several writers
      for (const earlyStop of [true, false]) {
        const method = { ...parseMethod(id), earlyStop };
        const cache = new KVCache({ bytes: 0, pages: 8192, pageSize: 16 });
        const run = newSolver(cache, method, "What is 2 + 2?", seed, {
          tokenizer: tok,
          generation,
          budgets: [8, 16, 24],
          finisherTokens: 2,
        });
        await runAll(new Pieces(tok, new Rng(seed * 31 + methods.indexOf(id)), earlyStop ? 0.05 : 0.15), cache, [run]);
        const last = run.checkpoints[run.checkpoints.length - 1];
        if (last.source !== "generated" && last.source !== "early-stop") continue;
        const writer = last.writer!, trace = traceOf(run, id), what = `${id} seed ${seed} early stop ${earlyStop}`;
        assert.ok(Number.isInteger(writer), `${what}: the solver named no writer`);
        counts[last.source === "early-stop" ? "early" : "written"]++;
        const record = fakeRecord({ method: id, problem_id: "p" }, [{ ...fakeCheckpoint(24, true), ...last }]);
        assert.equal(measures(trace, record)?.answer_by, trace.names![writer], what);
        // a record from before the field: the solver's rule over the trace finds the same writer
        const { writer: _, ...older } = record.checkpoints[0];
        assert.equal(answerWriter(trace, { ...record, checkpoints: [older] }), writer, what);
        // the rule the viewer had: the latest finished step with a box, else the first text with "\boxed"
        const step = trace.steps.filter((s) => s.text.includes("\\boxed")).sort((a, b) => b.pass - a.pass)[0];
        if ((step ? step.worker : trace.workers.findIndex((t) => t.includes("\\boxed"))) !== writer) {
          counts.oldRuleWrong++;
        }
      }
    }
  }
  // the inputs reach every case: answers read mid-text and early stops, and answers the old rule misnamed
  assert.ok(counts.written >= 20 && counts.early >= 20 && counts.oldRuleWrong >= 5, JSON.stringify(counts));
});
