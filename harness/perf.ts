/**
 * deno task perf: the engine's speed, as ratios to the hardware floor.
 *
 * For a model shape (random weights made in memory: no file) and R workers that share one context of C cached
 * tokens, each with its own short block (the Hogwild! decode shape), it times one forward pass (one new
 * token per row) with tinybench and prints the median ms, the bytes a pass must read at the least (weights
 * as stored, packed ones included, less the experts its tokens do not route to; + the KV of every distinct
 * block, once), the floor (bytes / measured copy bandwidth), the ratio, the
 * bandwidth achieved (bytes / time) and the time against the first worker count at the same context.
 *
 *   deno task perf [--model random:qwen2.5-0.5b] [--device cpu|cuda] [--cuda gemm=mma,pdl=1] [--workers 1,2,4,8]
 *                  [--context 512,4096]
 *                  [--iterations 8] [--json FILE] [--skip-engine] [--skip-harness]
 *   deno task perf --paper-table [--model …] [--device …]   the paper's Table 1 on this device (paperTable)
 *
 * Then the harness's own cost per forward pass, with a backend that does nothing (plans are built and
 * checked, tokens decoded, steps detected, commits and bookkeeping done) for 1-8 workers and 1-32 problems
 * at once: it must stay a small part of a real pass (under 0.4 ms at 8 workers: 2% of ~20 ms for 32B on an H100).
 *
 * GPU machines have no node: tools/device-check.sh runs this file there with a carried Deno and node_modules.
 */
import { replaceFile } from "../engine/files.ts";
import paper from "./reference/paper.json" with { type: "json" };
import { Bench } from "tinybench";
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import type { ModelConfig } from "../engine/config.ts";
import { modelFolder } from "../engine/hub.ts";
import { type Device, Engine } from "../engine/model.ts";
import { loadNative } from "../engine/native.ts";
import { KVCache } from "../engine/cache.ts";
import { commitPlan, encodePlan, type Row } from "../engine/plan.ts";
import { TextTokenizer } from "../engine/tokenizer.ts";
import { parseMethod, runSpec } from "./methods.ts";
import { Run } from "./run.ts";
import { step, type StepModel } from "./schedule.ts";
import { codeGradingPerf } from "./code_perf.ts";
import { decodeShape, OWN_TOKENS } from "./decode_shape.ts";

function list(v: string, flag: string): number[] {
  return v.split(",").map((x) =>
    parseInteger(x, `--${flag}: expected comma-separated positive integers; in "${v}"`, 1)
  );
}

const USAGE = `usage: deno task perf [--model random:qwen2.5-0.5b] [--device cpu|cuda] [--cuda gemm=mma,pdl=1,…]
                      [--workers 1,2,4,8] [--context 512,4096] [--iterations 8] [--json FILE]
                      [--skip-engine] [--skip-harness]
       deno task perf --paper-table [--model …] [--device …] [--iterations 8]
  the engine's time per forward pass against the hardware floor, then the harness's own cost per pass;
  --paper-table: the paper's Table 1 on this device beside the paper's L40S rows
       deno task perf --code-grading [--model …] [--device …] [--seconds 10]
  programs graded per second (sandboxed and not), and the engine's passes per second with and without grading`;

async function main() {
  const { values } = parseFlags({
    model: { type: "string", default: "random:qwen2.5-0.5b" },
    device: { type: "string", default: "cpu" },
    cuda: { type: "string" },
    workers: { type: "string", default: "1,2,4,8" },
    context: { type: "string", default: "512,4096" },
    iterations: { type: "string", default: "8" },
    json: { type: "string" },
    "skip-engine": { type: "boolean" },
    "skip-harness": { type: "boolean" },
    "paper-table": { type: "boolean" },
    "code-grading": { type: "boolean" },
    seconds: { type: "string", default: "10" },
  }, USAGE);
  if (values["paper-table"]) return void await paperTable(values);
  if (values["code-grading"]) {
    return void await codeGradingPerf(values, parseInteger(values.seconds, "--seconds", 1, 3600));
  }
  const workers = list(values.workers, "workers"), contexts = list(values.context, "context");
  const report: Record<string, unknown> = {};
  if (!values["skip-engine"]) report.engine = await enginePerf(values, workers, contexts);
  if (!values["skip-harness"]) report.harness = await harnessPerf(workers);
  if (values.json) replaceFile(values.json, JSON.stringify(report, null, 1));
}

/**
 * The bytes of the experts a pass of `tokens` new tokens does not read (a mixture of experts reads only those
 * its tokens route to): with routing near uniform, as random routers make it, E·(1 − k/E)^tokens experts of
 * each sparse layer go unread on average. Expert weights counted in bf16, as random weights are made.
 */
export function unreadExpertBytes(c: ModelConfig, tokens: number): number {
  if (!c.moe) return 0;
  const { experts: E, topK: k, intermediate, sparseLayers } = c.moe;
  return sparseLayers.length * E * (1 - k / E) ** tokens * 3 * intermediate * c.hidden * 2;
}

/** The device's copy bandwidth (read + write, bytes/s): the floor every pass is measured against. */
function floorBandwidth(device: string): number {
  check(device === "cpu" || device === "cuda", `--device: expected cpu or cuda, got "${device}"`);
  const native = loadNative(), gpu = native.cudaInfo();
  check(
    device === "cpu" || gpu.deviceCount > 0,
    `--device cuda: no usable GPU (${gpu.compiled ? gpu.error : "the native library was built without CUDA"})`,
  );
  return device === "cuda" ? native.deviceCopyBandwidth(1 << 30, 9) : native.copyBandwidth(512 << 20, 7);
}

async function enginePerf(
  values: { model: string; device: string; iterations: string; cuda?: string },
  workers: number[],
  contexts: number[],
) {
  const cuda = values.device === "cuda";
  const iterations = list(values.iterations, "iterations")[0];
  const native = loadNative(), bandwidth = floorBandwidth(values.device);
  const t0 = performance.now();
  const engine = await Engine.load(await modelFolder(values.model), {
    device: values.device as Device,
    tokenizer: false,
    cuda: values.cuda,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  const c = engine.config;
  const kvBytesPerToken = c.layers * 2 * c.kvHeads * c.headDim * (cuda ? 2 : 4); // bf16 on a GPU, float32 on the CPU
  const embedBytes = c.vocab * c.hidden * 2;
  // A pass reads every weight once, except the embedding table when it is not also the LM head.
  const weightBytes = engine.native.weightBytes - (c.tiedEmbeddings ? 0 : embedBytes);

  console.log(`# perf: ${values.model} on ${engine.native.device} (${native.threads()} threads)`);
  console.log(
    `weights ${(engine.native.weightBytes / 1e9).toFixed(3)} GB (loaded in ${loadSeconds.toFixed(1)} s); ` +
      `KV ${(kvBytesPerToken / 1024).toFixed(1)} KiB/token; copy bandwidth ${
        (bandwidth / 1e9).toFixed(1)
      } GB/s (read + write, median of 7)`,
  );
  console.log(
    `each worker: the shared context block + its own ${OWN_TOKENS}-token block; one new token per worker per pass; median of ${iterations} passes\n`,
  );
  const base = `vs ${workers[0]} worker${workers[0] > 1 ? "s" : ""}`; // the cost of more workers on one context
  console.log(
    `| workers | context | ms/pass (median) | MB read/pass | floor ms | ratio to floor | GB/s achieved | ${base} | tokens/s |`,
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const results: {
    workers: number;
    context: number;
    ms: number;
    bytes: number;
    floorMs: number;
    ratio: number;
    gbPerS: number;
    vsFirst: number;
  }[] = [];
  // One cache for every configuration (its blocks freed after each): a 32B model's weights and the largest
  // configuration's KV must fit on the card together, not every configuration's at once.
  const cache = engine.newCache({ tokens: Math.max(...contexts) + Math.max(...workers) * (OWN_TOKENS + 16) + 64 });
  for (const C of contexts) {
    for (const R of workers) {
      const ms = await timePass(engine, cache, C, R, iterations);
      const bytes = weightBytes - unreadExpertBytes(c, R) + (C + R * (OWN_TOKENS + 1)) * kvBytesPerToken; // every block once
      const floorMs = bytes / bandwidth * 1000;
      const first: number = results.find((r) => r.context === C)?.ms ?? ms;
      results.push({
        workers: R,
        context: C,
        ms,
        bytes,
        floorMs,
        ratio: ms / floorMs,
        gbPerS: bytes / ms / 1e6,
        vsFirst: ms / first,
      });
      console.log(
        `| ${R} | ${C} | ${ms.toFixed(2)} | ${(bytes / 1e6).toFixed(0)} | ${floorMs.toFixed(2)} | ${
          (ms / floorMs).toFixed(2)
        } | ` +
          `${(bytes / ms / 1e6).toFixed(0)} | ${(ms / first).toFixed(2)} | ${(R / ms * 1000).toFixed(1)} |`,
      );
    }
  }
  return { model: values.model, device: engine.native.device, bandwidth, results };
}

// Imported, not read from a file: the device kit's bundle carries it.
const TABLE1 = paper.table1 as {
  source: string;
  card: string;
  contexts: number[];
  tokens_per_s: Record<string, number[]>;
  latency_ms: Record<string, number[]>;
  generate_s: Record<string, number[]>;
};

/**
 * The paper's Table 1 on this device, beside the paper's own rows: tokens per second and latency per forward
 * pass for 1, 2 and 4 workers over 1k–16k cached tokens (measured), and the time to generate N tokens summed
 * over workers (the measured latencies, interpolated, summed over the N / workers passes of a cache growing
 * from empty to N).
 */
async function paperTable(values: { model: string; device: string; iterations: string; cuda?: string }) {
  const iterations = list(values.iterations, "iterations")[0], contexts = TABLE1.contexts, workers = [1, 2, 4];
  floorBandwidth(values.device); // refuses a missing GPU before loading
  const engine = await Engine.load(await modelFolder(values.model), {
    device: values.device as Device,
    tokenizer: false,
    cuda: values.cuda,
  });
  const cache = engine.newCache({ tokens: Math.max(...contexts) + 4 * (OWN_TOKENS + 16) + 64 });
  const points = [0, ...contexts];
  const latency = new Map<number, number[]>();
  for (const R of workers) {
    const ms: number[] = [];
    for (const C of points) ms.push(await timePass(engine, cache, C, R, iterations));
    latency.set(R, ms);
  }
  const at = (R: number, c: number) => {
    const ms = latency.get(R)!, k = Math.max(1, points.findIndex((p) => p >= c));
    const [c0, c1] = [points[k - 1], points[k] ?? points[k - 1]];
    return c1 === c0 ? ms[k - 1] : ms[k - 1] + (ms[k] - ms[k - 1]) * Math.min(1, (c - c0) / (c1 - c0));
  };
  const generate = (R: number, N: number) => {
    let ms = 0;
    for (let i = 0; i < N / R; i++) ms += at(R, i * R);
    return ms / 1000;
  };
  const here = `${engine.native.device === "cuda" ? loadNative().cudaInfo().name : "this CPU"}, ${values.model}`;
  console.log(
    `# The paper's Table 1 on ${here} (median of ${iterations} passes), beside ${TABLE1.card} (${TABLE1.source})\n`,
  );
  console.log(`| metric | workers | where | ${contexts.join(" | ")} |`);
  console.log(`|---|---:|---|${contexts.map(() => "---:").join("|")}|`);
  const row = (metric: string, R: number, where: string, xs: number[], digits: number) =>
    console.log(`| ${metric} | ${R} | ${where} | ${xs.map((x) => x.toFixed(digits)).join(" | ")} |`);
  const ours = (f: (R: number, c: number, i: number) => number) => (R: number) =>
    contexts.map((c, i) => f(R, c, i + 1));
  const metrics: [string, (R: number) => number[], Record<string, number[]>, number][] = [
    ["tokens/s", ours((R, _c, i) => R * 1000 / latency.get(R)![i]), TABLE1.tokens_per_s, 1],
    ["latency/forward (ms)", ours((R, _c, i) => latency.get(R)![i]), TABLE1.latency_ms, 1],
    ["time to generate N tokens (s)", ours((R, c) => generate(R, c)), TABLE1.generate_s, 1],
  ];
  for (const [metric, mine, paper, digits] of metrics) {
    for (const R of workers) {
      row(metric, R, "here", mine(R), digits);
      row(metric, R, TABLE1.card, paper[String(R)], digits);
    }
  }
}

/** The median ms of one pass of R workers over a shared C-token context, each with its own short block. */
async function timePass(engine: Engine, cache: KVCache, C: number, R: number, iterations: number): Promise<number> {
  const shape = decodeShape(engine, cache, C, R);
  const bench = new Bench({ iterations, time: 0, warmupIterations: 2, warmupTime: 0 });
  bench.add("pass", shape.pass);
  await bench.run();
  const r = bench.tasks[0].result;
  shape.free();
  if (r.state !== "completed") throw new Error(`benchmark ${R} workers × ${C}: ${r.state}`);
  return r.latency.p50;
}

/** A backend that does nothing but what the harness needs of one: plans checked, pages reserved, tokens out. */
class NullModel implements StepModel {
  #at = 0;
  constructor(readonly ids: number[]) {}
  forwardSample(cache: KVCache, rows: readonly Row[]): number[] {
    encodePlan(cache, rows);
    commitPlan(rows);
    return rows.map((r) => (r.sampler ? this.ids[this.#at++ % this.ids.length] : -1));
  }
}

async function harnessPerf(workerCounts: number[]) {
  const tok = TextTokenizer.qwen3();
  // Text with sentence ends and blank lines, so that steps end and commit as they do in real runs.
  const ids = tok.encode(
    Array.from(
      { length: 40 },
      (_, i) => `Step ${i}: we compute the sum of the first ${i + 3} squares, which gives a number we check twice.\n\n`,
    ).join(""),
  );
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  console.log(`\n# the harness's own cost per forward pass (a backend that does nothing), median of 400 passes\n`);
  console.log("| workers | problems | ms/pass (median) | µs per worker row |");
  console.log("|---:|---:|---:|---:|");
  const results = [];
  for (const w of workerCounts) {
    for (const problems of [1, 8, 32]) {
      const cache = new KVCache({ bytes: 0, pages: 1 << 22, pageSize: 16 });
      const model = new NullModel(ids);
      const runs = Array.from(
        { length: problems },
        (_, i) =>
          new Run(
            cache,
            runSpec(parseMethod(`hogwild:${w}`), `Problem ${i}: add the numbers.`, i, {
              tokenizer: tok,
              generation,
              budgets: [1_000_000],
              finisherTokens: 16,
            }),
          ),
      );
      for (let i = 0; i < 50; i++) step(model, cache, runs); // past the prefill
      const bench = new Bench({ iterations: 400, time: 0, warmupIterations: 20, warmupTime: 0 });
      bench.add("pass", () => void step(model, cache, runs));
      await bench.run();
      const ms = bench.tasks[0].result.state === "completed" ? bench.tasks[0].result.latency.p50 : NaN;
      results.push({ workers: w, problems, ms });
      console.log(`| ${w} | ${problems} | ${ms.toFixed(3)} | ${(1000 * ms / (w * problems)).toFixed(1)} |`);
    }
  }
  return results;
}

if (import.meta.main) runMain(main);
