/**
 * deno task perf --code-grading: what code grading costs the bench. Programs graded per second by the code
 * runner (sandboxed, and without the sandbox, side by side), the engine's passes per second alone, and both
 * at once: the passes a bench keeps while programs are graded beside it, and the programs graded meanwhile.
 * The load is generated: a stdin problem of TESTS tests (a few thousand numbers each) and a right program, so
 * that every graded program runs every test.
 */
import type { Engine } from "../../engine/model.ts";
import { gradeProgram } from "../../tasks/code/grade.ts";
import type { CodeSpec } from "../../tasks/code/problem.ts";
import { CodeRunner } from "../../tasks/code/runner.ts";
import { decodeShape, OWN_TOKENS } from "./decode_shape.ts";
import { loadPerfModel, type PerfModel } from "./engine.ts";

const TESTS = 5, NUMBERS = 5000, ROWS = 4, CONTEXT = 512, CACHE_TOKENS = CONTEXT + ROWS * (OWN_TOKENS + 16) + 64;

/** The generated problem: sum the numbers of each input. */
function problem(): CodeSpec {
  let s = 12345;
  const tests = Array.from({ length: TESTS }, () => {
    const xs = Array.from({ length: NUMBERS }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 1000);
    return { input: `${NUMBERS}\n${xs.join(" ")}\n`, output: `${xs.reduce((a, b) => a + b, 0)}\n` };
  });
  return { mode: "stdin", starter: "", tests, publicTests: 1 };
}
const PROGRAM = "n = int(input())\nprint(sum(map(int, input().split())))\n";

/** Programs graded per second over `seconds`, `workers` at a time (each must pass: a failure is a fault here). */
async function gradeFor(runner: CodeRunner, spec: CodeSpec, seconds: number, workers: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let graded = 0;
  const lane = async () => {
    while (performance.now() < until) {
      const g = await gradeProgram(spec, PROGRAM, runner);
      if (!g.pass) throw new Error(`code perf: the right program failed (${g.verdict}: ${g.detail})`);
      graded++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, lane));
  return graded / ((performance.now() - t0) / 1000);
}

/** Sampled passes per second over `seconds` (ROWS rows on a CONTEXT-token context), run as the bench runs them. */
async function passesFor(engine: Engine, seconds: number): Promise<number> {
  const cache = engine.newCache({ tokens: CACHE_TOKENS });
  const shape = decodeShape(engine, cache, CONTEXT, ROWS);
  const t0 = performance.now(), until = t0 + seconds * 1000;
  let passes = 0;
  while (performance.now() < until) {
    await shape.sampled();
    passes++;
  }
  const rate = passes / ((performance.now() - t0) / 1000);
  shape.free();
  return rate;
}

export async function codeGradingPerf(values: PerfModel, seconds = 10) {
  const workers = 2, spec = problem();
  const { engine } = await loadPerfModel(values, {
    contexts: [CONTEXT],
    most: ROWS,
    cacheTokens: CACHE_TOKENS,
    where: "--code-grading: its context",
  });
  const sandboxed = await CodeRunner.open({ workers });
  const unsafe = await CodeRunner.open({ workers, unsafe: true });
  try {
    console.log(
      `# code grading beside the engine: ${values.model} on ${engine.native.device}, ${ROWS} rows on a ` +
        `${CONTEXT}-token context; a right program on ${TESTS} tests of ${NUMBERS} numbers; ${workers} sandboxes ` +
        `at a time; ${seconds} s each\n`,
    );
    const sandboxedRate = await gradeFor(sandboxed, spec, seconds, workers);
    const unsafeRate = await gradeFor(unsafe, spec, seconds, workers);
    const passes = await passesFor(engine, seconds);
    const [both, during] = await Promise.all([passesFor(engine, seconds), gradeFor(sandboxed, spec, seconds, workers)]);
    console.log("| what runs | passes/s | programs/s | passes vs the engine alone |");
    console.log("|---|---:|---:|---:|");
    console.log(`| grading alone, sandboxed | — | ${sandboxedRate.toFixed(1)} | — |`);
    console.log(`| grading alone, --unsafe-exec | — | ${unsafeRate.toFixed(1)} | — |`);
    console.log(`| the engine alone | ${passes.toFixed(1)} | — | 1.00 |`);
    console.log(
      `| the engine and sandboxed grading | ${both.toFixed(1)} | ${during.toFixed(1)} | ${
        (both / passes).toFixed(2)
      } |`,
    );
    return { passes, both, during, sandboxed: sandboxedRate, unsafe: unsafeRate };
  } finally {
    await sandboxed.close();
    await unsafe.close();
  }
}
