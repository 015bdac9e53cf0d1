/**
 * The engine's speed as ratios to the hardware floor (deno task perf): for a model shape and R workers that
 * share one context of C cached tokens, each with its own short block (the Hogwild! decode shape), one pass (one
 * new token per row) made as runs make it (forwardSample), the worker counts of a context timed in turn: the median ms, the bytes a pass must read at the least
 * (weights as stored, packed ones included, less the experts its tokens do not route to; + the KV of every
 * distinct block, once), the floor (bytes / measured copy bandwidth), the ratio, the bandwidth achieved
 * (bytes / time) and the time against the first worker count at the same context.
 */
import { totalmem } from "node:os";
import { check } from "../../engine/errors.ts";
import type { ModelConfig } from "../../engine/config.ts";
import { modelConfigOf, modelFolder } from "../../engine/hub.ts";
import { type Device, Engine } from "../../engine/model.ts";
import { loadNative } from "../../engine/native.ts";
import type { KVCache } from "../../engine/cache.ts";
import { storedBytes } from "../../engine/spec.ts";
import { decodeShape, OWN_TOKENS } from "./decode_shape.ts";

/**
 * The bytes of weights a pass of `tokens` new tokens reads at the least, as the engine stores them (`stored`:
 * engine/spec.ts storedBytes, the core's count, which the loaded model's weightBytes sums): every weight once, less
 * the embedding table where it is not also the LM head (a pass reads one row of it), less the experts its tokens
 * do not route to (unreadExpertBytes).
 */
export function weightBytesRead(c: ModelConfig, stored: ReadonlyMap<string, number>, tokens: number): number {
  let all = 0;
  for (const b of stored.values()) all += b;
  return all - (c.tiedEmbeddings ? 0 : stored.get("embed") ?? 0) - unreadExpertBytes(c, stored, tokens);
}

/**
 * The bytes of the experts a pass of `tokens` new tokens does not read (a mixture of experts reads only those its
 * tokens route to): with routing near uniform, as random routers make it, E·(1 − k/E)^tokens experts of each sparse
 * layer go unread on average; each expert's tensors (L{layer}.e{expert}.…) as `stored` counts them.
 */
export function unreadExpertBytes(c: ModelConfig, stored: ReadonlyMap<string, number>, tokens: number): number {
  if (!c.moe) return 0;
  let experts = 0;
  for (const [name, b] of stored) if (/^L\d+\.e\d+\./.test(name)) experts += b;
  return experts * (1 - c.moe.topK / c.moe.experts) ** tokens;
}

/**
 * The device's copy bandwidth (read + write, bytes/s): the floor a pass is measured against. Measured beside each
 * timing, not once: on a shared machine it moves with the load (18.9 GB/s while other jobs ran, 59 idle), and a
 * floor from another minute gave ratios below 1 for a 1 GB model.
 */
export function floorBandwidth(device: string): number {
  check(device === "cpu" || device === "cuda", `--device: expected cpu or cuda, got "${device}"`);
  const native = loadNative(), gpu = native.cudaInfo();
  check(
    device === "cpu" || gpu.deviceCount > 0,
    `--device cuda: no usable GPU (${gpu.compiled ? gpu.error : "the native library was built without CUDA"})`,
  );
  return device === "cuda" ? native.deviceCopyBandwidth(1 << 30, 9) : native.copyBandwidth(512 << 20, 7);
}

/** The flags that name the model a speed benchmark times and how. */
export interface PerfModel {
  model: string;
  device: string;
  cuda?: string;
  /** contexts past max_position_embeddings timed too: a pass's time does not depend on its positions */
  "allow-long-context"?: boolean;
}

/** What a speed benchmark's passes read and its KV cache holds: checked against the model before it loads. */
export interface PerfCache {
  /** the contexts timed, and the most rows a pass has */
  contexts: number[];
  most: number;
  /** the KV cache's tokens */
  cacheTokens: number;
  /** what the contexts are, leading a refusal (default: --context) */
  where?: string;
}

/**
 * The model a speed benchmark times (--model on --device, weights only, --cuda's options), loaded once its limits
 * are checked, each as soon as it can be, so that a refusal costs seconds, not a load or a download: its config's
 * positions (a context past them would fail in its first pass, after the others were timed: a row reads the
 * context, every worker's block and its new token) and, on the CPU, the KV cache against the machine's memory,
 * from the config (a hub model's config.json, before the download); then the weights as this device will store
 * them (storedBytes, from the checkpoint's headers) with the KV, before the load (not an allocation failure or
 * the OOM killer after minutes of it). On a GPU the card's allocation refuses what does not fit.
 */
export async function loadPerfModel(values: PerfModel, o: PerfCache): Promise<{
  engine: Engine;
  /** each tensor's bytes as this device stores it (weightBytesRead) */
  stored: Map<string, number>;
  kvBytesPerToken: number;
  loadSeconds: number;
}> {
  const cuda = values.device === "cuda", device: Device = cuda ? "cuda" : "cpu";
  const c = await modelConfigOf(values.model);
  for (const C of o.contexts) {
    check(
      values["allow-long-context"] || c.maxPositions === undefined || C + o.most * OWN_TOKENS + 1 <= c.maxPositions,
      `${
        o.where ?? "--context"
      } ${C}: with ${o.most} workers' ${OWN_TOKENS} tokens each, past the model's ${c.maxPositions} ` +
        "positions (max_position_embeddings); --allow-long-context times it anyway",
    );
  }
  const kvBytesPerToken = c.layers * 2 * c.kvHeads * c.headDim * (cuda ? 2 : 4); // bf16 on a GPU, float32 on the CPU
  checkMemory(values.model, cuda, o, kvBytesPerToken, 0);
  const files = Engine.readFiles(await modelFolder(values.model), { tokenizer: false }); // a hub model downloads
  const stored = storedBytes(files.spec, device);
  checkMemory(values.model, cuda, o, kvBytesPerToken, [...stored.values()].reduce((a, b) => a + b, 0));
  const t0 = performance.now();
  const engine = await Engine.load(files, {
    device,
    cuda: values.cuda,
    allowLongContext: values["allow-long-context"],
  });
  return { engine, stored, kvBytesPerToken, loadSeconds: (performance.now() - t0) / 1000 };
}

/**
 * Refuses, on the CPU, a KV cache of `o.cacheTokens` tokens and `weightBytes` of weights (0: not yet known) past
 * `total` bytes of memory, naming the model and each size.
 */
export function checkMemory(
  model: string,
  cuda: boolean,
  o: PerfCache,
  kvBytesPerToken: number,
  weightBytes: number,
  total = totalmem(),
) {
  const kv = o.cacheTokens * kvBytesPerToken, gib = (b: number) => (b / 2 ** 30).toFixed(1);
  check(
    cuda || kv + weightBytes <= total,
    `${o.where ?? "--context"} ${Math.max(...o.contexts)} with ${o.most} worker${o.most > 1 ? "s" : ""}: a KV cache ` +
      `of ${o.cacheTokens} tokens (${gib(kv)} GiB)${
        weightBytes ? ` and the weights (${gib(weightBytes)} GiB as the CPU stores them) do` : " does"
      } not fit in this machine's ${gib(total)} GiB (${model} on the CPU)`,
  );
}

/**
 * The engine's time per forward pass of the decode shape against the hardware floor, for each worker count and
 * context, printed as a table (deno task perf).
 */
export async function enginePerf(
  values: PerfModel,
  iterations: number,
  workers: number[],
  contexts: number[],
) {
  const native = loadNative();
  floorBandwidth(values.device); // refuses a missing GPU before loading
  const cacheTokens = turnTokens(contexts, workers);
  const { engine, stored, kvBytesPerToken, loadSeconds } = await loadPerfModel(values, {
    contexts,
    most: Math.max(...workers),
    cacheTokens,
  });
  const c = engine.config;

  console.log(`# perf: ${values.model} on ${engine.native.device} (${native.threads()} threads)`);
  console.log(
    `weights ${(engine.native.weightBytes / 1e9).toFixed(3)} GB (loaded in ${loadSeconds.toFixed(1)} s); ` +
      `KV ${(kvBytesPerToken / 1024).toFixed(1)} KiB/token; the floor: bytes read over the copy bandwidth ` +
      "(read + write), measured before each round of passes (the median for each row)",
  );
  // without cuBLAS every product runs on the own kernels (gemm=cublas too): the timings are not the usual ones
  if (engine.native.gemmLibrary) console.log(`GEMM: ${engine.native.gemmLibrary}`);
  console.log(
    `each worker: the shared context block + its own ${OWN_TOKENS}-token block; one new token per worker per pass; ` +
      `the worker counts of a context timed in turn, a pass each a round; median of ${iterations} rounds\n`,
  );
  const base = `vs ${workers[0]} worker${workers[0] > 1 ? "s" : ""}`; // the cost of more workers on one context
  console.log(
    `| workers | context | ms/pass (median) | MB read/pass | copy GB/s | floor ms | ratio to floor | GB/s achieved | ${base} | tokens/s |`,
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const results: {
    workers: number;
    context: number;
    ms: number;
    bytes: number;
    bandwidth: number;
    floorMs: number;
    ratio: number;
    gbPerS: number;
    vsFirst: number;
  }[] = [];
  // One cache for every context in turn (its blocks freed after each): a 32B model's weights and one context's
  // configurations' KV must fit on the card together, not every context's at once.
  const cache = engine.newCache({ tokens: cacheTokens });
  for (const C of contexts) {
    const timed = await timeInTurn(engine, cache, C, workers, iterations, () => floorBandwidth(values.device));
    for (const [i, R] of workers.entries()) {
      const { ms, beside: bandwidth } = timed[i];
      // every block once
      const bytes = weightBytesRead(c, stored, R) + (C + R * (OWN_TOKENS + 1)) * kvBytesPerToken;
      const floorMs = bytes / bandwidth * 1000;
      const first: number = results.find((r) => r.context === C)?.ms ?? ms;
      results.push({
        workers: R,
        context: C,
        ms,
        bytes,
        bandwidth,
        floorMs,
        ratio: ms / floorMs,
        gbPerS: bytes / ms / 1e6,
        vsFirst: ms / first,
      });
      console.log(
        `| ${R} | ${C} | ${ms.toFixed(2)} | ${(bytes / 1e6).toFixed(0)} | ${(bandwidth / 1e9).toFixed(1)} | ${
          floorMs.toFixed(2)
        } | ${(ms / floorMs).toFixed(2)} | ` +
          `${(bytes / ms / 1e6).toFixed(0)} | ${(ms / first).toFixed(2)} | ${(R / ms * 1000).toFixed(1)} |`,
      );
    }
  }
  if (results.some((r) => r.ratio < 1)) {
    console.log(
      "\nratio below 1: the pass read less from memory than counted (a model in the CPU's caches), or the copy " +
        "bandwidth was measured low (a busy machine: rerun when it is idle)",
    );
  }
  return { model: values.model, device: engine.native.device, results };
}

/** Rounds of passes before the timed ones (a shape's first passes pay for buffers, caches and graphs). */
const WARMUP_ROUNDS = 2;

/** The KV tokens timeInTurn needs at most over `contexts`: the largest and every worker count's own blocks. */
export function turnTokens(contexts: readonly number[], workers: readonly number[]): number {
  return Math.max(...contexts) + workers.reduce((a, R) => a + R, 0) * (OWN_TOKENS + 16) + 64;
}

/**
 * The median ms of one pass of each of `workers` over one shared context of C cached tokens, each worker with its
 * own short block, made as runs make it (forwardSample: the tokens sampled where the logits are, greedy; on a GPU
 * only ids come back). The worker counts are timed in turn, one pass each a round (WARMUP_ROUNDS untimed, then
 * `iterations`), so that a busy machine's load falls on all of them alike and their ratios compare one minute's
 * passes (as --views times its views); `beside` (the copy bandwidth) is measured before each timed round and its
 * median given with each. The cache holds C + every worker count's own blocks at once.
 */
export async function timeInTurn(
  engine: Engine,
  cache: KVCache,
  C: number,
  workers: readonly number[],
  iterations: number,
  beside: () => number = () => NaN,
): Promise<{ ms: number; beside: number }[]> {
  const context = cache.newBlock("context");
  cache.claimForBenchmark(context, C);
  const shapes: ReturnType<typeof decodeShape>[] = [];
  const times = workers.map((): number[] => []), measured: number[] = [];
  try {
    for (const R of workers) shapes.push(decodeShape(engine, cache, C, R, context));
    for (let k = -WARMUP_ROUNDS; k < iterations; k++) {
      if (k >= 0) measured.push(beside());
      for (const [i, shape] of shapes.entries()) {
        const t = performance.now();
        await shape.sampled();
        if (k >= 0) times[i].push(performance.now() - t);
      }
    }
  } finally {
    for (const shape of shapes) shape.free();
    cache.free(context);
  }
  const median = (xs: number[]) => {
    const t = [...xs].sort((a, b) => a - b), m = Math.floor(t.length / 2);
    return t.length % 2 ? t[m] : (t[m - 1] + t[m]) / 2;
  };
  return times.map((t) => ({ ms: median(t), beside: median(measured) }));
}
