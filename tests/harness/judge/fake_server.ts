/** The judge tests' fake OpenAI-compatible server, traces and run folders (tests/harness/judge, tests/cli/judge_test). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TraceLine } from "../../../harness/bench/rundir.ts";

export const DEMO = fileURLToPath(new URL("../../../engine/models/hogwild-demo", import.meta.url));

/** A fake chat-completions server on 127.0.0.1: `reply` answers each request (its body, its number from 0). */
export function fakeServer(reply: (body: Record<string, unknown>, n: number) => Response | Promise<Response>) {
  const bodies: Record<string, unknown>[] = [], auth: (string | null)[] = [], paths: string[] = [];
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    bodies.push(body);
    auth.push(req.headers.get("authorization"));
    paths.push(new URL(req.url).pathname);
    return await reply(body, bodies.length - 1);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    bodies,
    auth,
    paths,
    /** a handler that never answers, until the server closes */
    hang: () => released.then(() => new Response("late", { status: 500 })),
    async close() {
      release();
      await server.shutdown();
    },
  };
}

export const chat = (content: string | null, finish = "stop") =>
  Response.json({ choices: [{ message: { role: "assistant", content }, finish_reason: finish }] });

/** A trace of two workers: Alice's steps finished 1, 2 and one unfinished; Bob's 1 and one unfinished. */
export function trace(id: string, method: string, problem: string): TraceLine {
  const a = ["**Alice [1]:** I take part A: 2 + 3 = 5.\n\n", "**Alice [2]:** Bob has B, so I check it: 4.\n\n"];
  const b = ["**Bob [1]:** I take part B: 1 + 3 = 4.\n\n"];
  return {
    task: "chains",
    problem_id: id,
    method,
    seed: 1,
    problem,
    names: ["Alice", "Bob"],
    workers: [`${a.join("")}**Alice [3]:** Both parts`, `${b.join("")}**Bob [2]:** Alice checked`],
    // in the order they finished: the workers' steps interleave
    steps: [
      { worker: 1, step: 1, pass: 9, text: b[0] },
      { worker: 0, step: 1, pass: 10, text: a[0] },
      { worker: 0, step: 2, pass: 20, text: a[1] },
    ],
    pass_ms: [1, 1],
  };
}

/** A run folder (records, traces, run.json naming the demo model) with the traces given, each with its record. */
export function runFolder(dir: string, traces: TraceLine[], model = DEMO): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "run.json"), JSON.stringify({ spec: {}, model: { source: model } }));
  const record = (t: TraceLine) => ({
    task: t.task,
    problem_id: t.problem_id,
    method: t.method,
    seed: t.seed,
    golds: ["5"],
    grading: "single",
    checkpoints: [{ budget: 8, passes: 8, answer: null, source: "none", tokens: [4, 4], solo_ms: 1, shared_ms: 1 }]
      .map((c) => ({
        ...c,
        finisher_passes: 0,
        equal_strict: false,
        equal_lenient: false,
        score_strict: 0,
        score_lenient: 0,
      })),
    steps: t.steps.length,
    solo_ms: 1,
    shared_ms: 1,
    grader: "hogwild-grader/13",
  });
  writeFileSync(join(dir, "traces.jsonl"), traces.map((t) => JSON.stringify(t) + "\n").join(""));
  writeFileSync(join(dir, "records.jsonl"), traces.map((t) => JSON.stringify(record(t)) + "\n").join(""));
  return dir;
}

/** a key variable that no environment sets */
export const NO_KEY = ["--api-key-env", "HOGWILD_JUDGE_TEST_UNSET_KEY"];

/** The command line of endpoint judge "m" at `url` over `dir`: its cache under `base`, `runs` runs, no key. */
export const endpointArgs = (dir: string, url: string, base: string, runs: number) => [
  dir,
  "--judge",
  url,
  "--judge-model",
  "m",
  "--cache",
  join(base, "cache"),
  "--runs",
  String(runs),
  ...NO_KEY,
];
