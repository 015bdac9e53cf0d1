/**
 * deno task perf: the engine's speed, as ratios to the hardware floor.
 *
 * For a model shape (random weights made in memory: no file) and R workers that share one context of C cached
 * tokens, each with its own short block (the Hogwild! decode shape), it times one forward pass (one new
 * token per row) with tinybench and prints the median ms, the bytes a pass must read at the least (weights
 * + the KV of every distinct block, once), the floor (bytes / measured copy bandwidth) and the ratio.
 *
 *   deno task perf [--model random:qwen2.5-0.5b] [--device cpu|cuda] [--workers 1,2,4,8] [--context 512,4096]
 *                  [--iterations 8] [--json FILE]
 *
 * On a GPU machine without node, tools/device-check.sh prints the same table through hogwild-replay.
 */
import { writeFileSync } from "node:fs";
import { Bench } from "tinybench";
import { check, parseFlags, runMain } from "../engine/errors.ts";
import { type Device, Engine } from "../engine/model.ts";
import { loadNative } from "../engine/native.ts";

const OWN_TOKENS = 32;

function list(v: string, flag: string): number[] {
  const xs = v.split(",").map(Number);
  check(xs.length > 0 && xs.every((x) => Number.isInteger(x) && x > 0), `--${flag}: expected comma-separated positive integers, got "${v}"`);
  return xs;
}

async function main() {
  const { values } = parseFlags({
    model: { type: "string", default: "random:qwen2.5-0.5b" },
    device: { type: "string", default: "cpu" },
    workers: { type: "string", default: "1,2,4,8" },
    context: { type: "string", default: "512,4096" },
    iterations: { type: "string", default: "8" },
    json: { type: "string" },
  });
  const workers = list(values.workers, "workers"), contexts = list(values.context, "context");
  check(values.device === "cpu" || values.device === "cuda", `--device: expected cpu or cuda, got "${values.device}"`);
  const cuda = values.device === "cuda";
  const iterations = list(values.iterations, "iterations")[0];
  const native = loadNative();
  const bandwidth = cuda ? native.deviceCopyBandwidth(1 << 30, 9) : native.copyBandwidth(512 << 20, 7);
  const t0 = performance.now();
  const engine = await Engine.load(values.model, { device: values.device as Device });
  const loadSeconds = (performance.now() - t0) / 1000;
  const c = engine.config;
  const kvBytesPerToken = c.layers * 2 * c.kvHeads * c.headDim * (cuda ? 2 : 4); // bf16 on a GPU, float32 on the CPU
  const embedBytes = c.vocab * c.hidden * 2;
  // A pass reads every weight once, except the embedding table when it is not also the LM head.
  const weightBytes = engine.native.weightBytes - (c.tiedEmbeddings ? 0 : embedBytes);

  console.log(`# perf: ${values.model} on ${engine.native.device} (${native.threads()} threads)`);
  console.log(`weights ${(engine.native.weightBytes / 1e9).toFixed(3)} GB (loaded in ${loadSeconds.toFixed(1)} s); ` +
    `KV ${(kvBytesPerToken / 1024).toFixed(1)} KiB/token; copy bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (read + write, median of 7)`);
  console.log(`each worker: the shared context block + its own ${OWN_TOKENS}-token block; one new token per worker per pass; median of ${iterations} passes\n`);
  console.log("| workers | context | ms/pass (median) | MB read/pass | floor ms | ratio to floor | tokens/s |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  const results = [];
  for (const C of contexts) {
    for (const R of workers) {
      const cache = engine.newCache({ tokens: C + R * (OWN_TOKENS + 16) + 64 });
      const context = cache.newBlock("context");
      cache.claimForBenchmark(context, C);
      const own = Array.from({ length: R }, (_, i) => {
        const b = cache.newBlock(`row${i}`);
        cache.claimForBenchmark(b, OWN_TOKENS);
        return b;
      });
      const pass = () => {
        engine.forward(cache, own.map((b, i) => ({ block: b, view: [context, ...own.filter((o) => o !== b), b], tokens: [100 + i] })));
        for (const b of own) cache.truncate(b, OWN_TOKENS);
      };
      const bench = new Bench({ iterations, time: 0, warmupIterations: 2, warmupTime: 0 });
      bench.add("pass", pass);
      await bench.run();
      const r = bench.tasks[0].result;
      if (r.state !== "completed") throw new Error(`benchmark ${R} workers × ${C}: ${r.state}`);
      const ms = r.latency.p50;
      const bytes = weightBytes + (C + R * (OWN_TOKENS + 1)) * kvBytesPerToken; // every block once
      const floorMs = bytes / bandwidth * 1000;
      results.push({ workers: R, context: C, ms, bytes, floorMs, ratio: ms / floorMs });
      console.log(`| ${R} | ${C} | ${ms.toFixed(1)} | ${(bytes / 1e6).toFixed(0)} | ${floorMs.toFixed(1)} | ${(ms / floorMs).toFixed(2)} | ${(R / ms * 1000).toFixed(1)} |`);
    }
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ model: values.model, device: engine.native.device, bandwidth, results }, null, 1));
}

if (import.meta.main) runMain(main);
