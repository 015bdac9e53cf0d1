/**
 * Prepares what tools/device-check.sh replays on a GPU machine (which has no node): recordings made here.
 *  - fixture-NAME.hwrec: the fixture models' sequences and shared-cache script, with transformers' logits
 *    (reference.safetensors) and the float64 script reference as the expected values; fixtures.tsv says whose
 *    logits each expects (transformers or float64), which sets its tolerance on the GPU;
 *  - random-NAME.hwrec: random scripts on random-weight models of many shapes (head_dim 16…256, GQA 1…8,
 *    Qwen2 biases, Qwen3 norms, llama3 RoPE), then random gapped views with blocks read in full, with this
 *    machine's CPU logits as the expected values (the gapped views': its slow key-rotation path's, the reference);
 *  - perf-SHAPE.hwrec: timing-only passes on random:SHAPE (no logits): R workers sharing a C-token context,
 *    one token each, and a 4096-token prefill;
 *  - sequence-SHAPE.hwrec: a real run's passes, timing only: Hogwild! and baseline runs sharing passes, steps
 *    committing, views growing, finishers at checkpoints (replayed in order with --sequence).
 *
 * The timing-only ones go to their own folder (--timing-out): the checks and the timings are two device calls.
 *
 *   deno run -A tools/make-recordings.ts [--out .device/recordings] [--timing-out .device/timing] [--perf-shape qwq-32b]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Block, KVCache } from "../engine/cache.ts";
import type { ModelConfig } from "../engine/config.ts";
import { parseFlags, runMain } from "../engine/errors.ts";
import { Engine } from "../engine/model.ts";
import { commitPlan, encodePlan, type Row } from "../engine/plan.ts";
import { Recorder } from "../engine/record.ts";
import { parseScript, runScript, scriptTokens } from "../engine/script.ts";
import { hasQwenVocabulary, shapeConfig } from "../engine/shapes.ts";
import { encodeSpec } from "../engine/spec.ts";
import { TextTokenizer } from "../engine/tokenizer.ts";
import { parseMethod, runSpec } from "../harness/generation/methods.ts";
import { Run } from "../harness/generation/run.ts";
import { step } from "../harness/generation/schedule.ts";
import {
  CASES,
  fixtureDir,
  randInt,
  randomGappedPasses,
  randomScript,
  reference,
  referenceKind,
  Rng,
} from "../tests/helpers.ts";

const USAGE =
  `usage: deno run -A tools/make-recordings.ts [--out .device/recordings] [--timing-out .device/timing] [--perf-shape qwq-32b]
  (deno task device:prepare runs it, then tools/device-kit.ts; about 25 s on 2 CPU cores)`;

/** where the recordings go (--out), and the timing-only ones (--timing-out: another device call carries them) */
let out = "", timing = "";

/** The fixtures' recordings, and fixtures.tsv: each one's name and whose logits it expects (device-check's tolerance). */
async function fixtures() {
  const kinds: string[] = [];
  for (const name of CASES) {
    const engine = await Engine.load(fixtureDir(name));
    const cache = engine.newCache({ tokens: 8192 });
    const rec = engine.record(cache);
    const ref = reference(name);
    for (let s = 0; ref.has(`seq${s}.ids`); s++) {
      const block = cache.newBlock();
      engine.forward(cache, [{
        block,
        view: [block],
        tokens: Array.from(ref.get(`seq${s}.ids`)!.data),
        logits: "all",
      }]);
      rec.expect(rec.passes - 1, ref.get(`seq${s}.logits`)!.data as Float32Array);
    }
    const file = join(fixtureDir(name), "hogwild-script.json");
    const script = parseScript(JSON.parse(readFileSync(file, "utf8")), file, engine.vocab);
    const first = rec.passes;
    runScript(engine, cache, script);
    const sref = reference(name, "hogwild-script.safetensors");
    script.passes.forEach((pass, i) => {
      const rows = pass.rows.map((_, j) => sref.get(`p${i}.r${j}`)!.data as Float32Array);
      const all = new Float32Array(rows.reduce((a, r) => a + r.length, 0));
      let at = 0;
      for (const r of rows) (all.set(r, at), at += r.length);
      rec.expect(first + i, all);
    });
    writeFileSync(join(out, `fixture-${name}.hwrec`), rec.bytes());
    console.log(`fixture-${name}.hwrec: ${rec.passes} passes`);
    kinds.push(`fixture-${name}\t${referenceKind(name)}\n`);
  }
  writeFileSync(join(out, "fixtures.tsv"), kinds.join(""));
}

const base = { rmsEps: 1e-6, dtype: "BF16", tiedEmbeddings: false, vocab: 2048, layers: 2 } as const;
const rope = (type: "default" | "llama3", theta = 1e6) => ({
  theta,
  type,
  factor: type === "llama3" ? 8 : 1,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositions: 8192,
});
// hidden 256, four heads: the small Qwen3 that the MoE and head_dim-256 plans vary
const qwen3Small = {
  ...base,
  family: "qwen3",
  hidden: 256,
  intermediate: 512,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  rope: rope("default"),
  qkvBias: false,
  qkNorm: true,
} as const;
/**
 * The hidden size of the shapes without q/k norms. Random weights (std 0.02) give attention scores of std about
 * 0.0004 · hidden: at 256, near-uniform attention, where a position off by one moved a pass's logits by 1–2%
 * (inside the GPU's tolerance, so no check could fail on it); at 2560, scores of std ~1 as the normed shapes
 * have, and the same slips move them by 20–50% (measured with such slips put in the CPU path by hand).
 */
const SHARP = 2560;
// four heads of 64: the Phi-3 whose partial rotary the plans vary
const phi3Small = {
  ...base,
  family: "phi3",
  hidden: SHARP,
  intermediate: 512,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  rope: rope("default", 1e4),
  qkvBias: false,
  qkNorm: false,
} as const;
const RANDOM: Record<string, ModelConfig> = {
  "qwen2-hd64-gqa7": {
    ...base,
    family: "qwen2",
    hidden: SHARP,
    intermediate: 1024,
    heads: 14,
    kvHeads: 2,
    headDim: 64,
    rope: rope("default"),
    qkvBias: true,
    qkNorm: false,
  },
  "qwen2-hd128-gqa5": {
    ...base,
    family: "qwen2",
    hidden: SHARP,
    intermediate: 1024,
    heads: 10,
    kvHeads: 2,
    headDim: 128,
    rope: rope("default"),
    qkvBias: true,
    qkNorm: false,
  },
  "qwen3-hd128-gqa8": {
    ...base,
    family: "qwen3",
    hidden: 512,
    intermediate: 1024,
    heads: 8,
    kvHeads: 1,
    headDim: 128,
    rope: rope("default"),
    qkvBias: false,
    qkNorm: true,
    tiedEmbeddings: true,
  },
  "qwen3-hd256-gqa2": { ...qwen3Small, headDim: 256 },
  "llama-hd64-gqa1": {
    ...base,
    family: "llama",
    hidden: SHARP,
    intermediate: 768,
    heads: 4,
    kvHeads: 4,
    headDim: 64,
    rope: rope("llama3", 5e5),
    qkvBias: false,
    qkNorm: false,
    tiedEmbeddings: true,
  },
  "llama-hd32-gqa3": {
    ...base,
    family: "llama",
    hidden: SHARP,
    intermediate: 512,
    heads: 6,
    kvHeads: 2,
    headDim: 32,
    rope: rope("llama3", 5e5),
    qkvBias: false,
    qkNorm: false,
  },
  // Phi-3's partial rotary: a half turned (the tensor-core attention), and 18 of 64 (its rotary pairs odd: the
  // plain attention kernel).
  "phi3-hd64-rot32": { ...phi3Small, rotaryDim: 32 },
  "phi3-hd64-rot18": { ...phi3Small, rotaryDim: 18 },
  // The quantised formats and a mixture of experts (their kernels against the CPU path's dequantised sums).
  "qwen2-awq-g64": {
    ...base,
    family: "qwen2",
    hidden: 512,
    intermediate: 1024,
    heads: 8,
    kvHeads: 2,
    headDim: 64,
    rope: rope("default"),
    qkvBias: true,
    qkNorm: false,
    dtype: "F16",
    quant: { method: "awq", groupSize: 64 },
  },
  "qwen3-fp8-partial-blocks": {
    ...base,
    family: "qwen3",
    hidden: 320,
    intermediate: 640,
    heads: 5,
    kvHeads: 1,
    headDim: 64,
    rope: rope("default"),
    qkvBias: false,
    qkNorm: true,
    quant: { method: "fp8", block: [128, 128] },
  },
  // Every expert chosen: routing weights, grouping, the expert products and the sum, with no top-k boundary
  // (where bf16 activations may pick another expert than float32 ones do, a discontinuity no tolerance covers).
  "qwen3moe-all-experts": {
    ...qwen3Small,
    family: "qwen3_moe",
    layers: 3,
    moe: { experts: 6, topK: 6, normTopk: false, intermediate: 96, sparseLayers: [0, 2] },
  },
  "qwen3moe-top2": {
    ...qwen3Small,
    family: "qwen3_moe",
    moe: { experts: 16, topK: 2, normTopk: true, intermediate: 128, sparseLayers: [0, 1] },
  },
};

async function random() {
  for (const [name, config] of Object.entries(RANDOM)) {
    const engine = await Engine.fromSpec({ config, randomSeed: 11, tensors: [] }, { source: name });
    // seeded by the whole name (by its length, shapes of one name length replayed one set of plans)
    const rng = new Rng([...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261));
    let passes = 0;
    const scripts = [
      randomScript(rng, config.vocab, 2000),
      randomScript(rng, config.vocab, 300),
      randomScript(rng, config.vocab, 300),
    ];
    const cache = engine.newCache({ tokens: scripts.reduce((a, s) => a + scriptTokens(s), 0) + 4096 });
    const rec = engine.record(cache);
    for (const s of scripts) (runScript(engine, cache, s, { logits: "last" }), passes += s.passes.length);
    passes += gappedSets(engine, cache, rec, rng);
    writeFileSync(join(out, `random-${name}.hwrec`), rec.bytes());
    console.log(`random-${name}.hwrec: ${passes} passes`);
  }
}

/**
 * Views with gaps and blocks read in full past the queries (Group Think's): the query's backward turn. Three sets,
 * so that every shape has full blocks past its queries (one set of 3–7 passes may have none). Recorded by `rec`
 * (engine.record(cache)) as the card runs them, on the fast path; each pass's expected logits are the slow path's (every
 * key turned by its block's offset: ordinary attention), run on a cache of its own, so that the card's fast path
 * is held to the reference, not to the CPU's fast path (which could share a slip with it). Returns the passes.
 */
export function gappedSets(engine: Engine, cache: KVCache, rec: Recorder, rng: Rng): number {
  let passes = 0;
  for (let set = 0; set < 3; set++) {
    const gapped = randomGappedPasses(rng, engine.vocab, 6, true);
    const tokens = gapped.flat().reduce((a, r) => a + r.tokens.length, 0);
    const slowCache = engine.newCache({ tokens: tokens + 6 * cache.pageSize, pageSize: cache.pageSize });
    const blocks = [0, 1, 2, 3, 4, 5].map(() => cache.newBlock()),
      slowBlocks = blocks.map(() => slowCache.newBlock());
    for (const rows of gapped) {
      const on = (b: readonly Block[]) => rows.map((r) => ({ ...r, block: b[r.block], view: r.view.map((i) => b[i]) }));
      engine.forward(cache, on(blocks));
      const slow = engine.forward(slowCache, on(slowBlocks), { keyRotation: true });
      const all = new Float32Array(slow.reduce((a, l) => a + l.length, 0));
      slow.reduce((at, l) => (all.set(l, at), at + l.length), 0);
      rec.expect(rec.passes - 1, all);
    }
    passes += gapped.length;
  }
  return passes;
}

/**
 * Refuses a token id past the shape's vocabulary, where the timing plans are made: the replay refuses such a pass
 * ("token id … is out of range"), and on the card that refusal would cost the one session.
 */
function checkIds(rows: readonly Row[], config: ModelConfig, shape: string) {
  for (const r of rows) {
    for (const t of Array.from(r.tokens)) {
      if (!(Number.isInteger(t) && t >= 0 && t < config.vocab)) {
        throw new Error(`random:${shape}: token id ${t} recorded, out of its vocabulary [0, ${config.vocab})`);
      }
    }
  }
}

/** Timing-only plans, made without running them (the model may be far too big for this machine), into `dir`. */
export function perf(shape: string, dir: string) {
  const config = shapeConfig(shape);
  const pageSize = 16, own = 32;
  const cache = new KVCache({
    bytes: 0,
    pages: Math.ceil((16384 + 8 * (own + pageSize) + 4096 + 64) / pageSize) + 64,
    pageSize,
  });
  const rec = new Recorder(encodeSpec({ config, randomSeed: 0, tensors: [] }), cache.native.pages, pageSize);
  const plan = (rows: Row[]) => {
    checkIds(rows, config, shape);
    rec.add(encodePlan(cache, rows).plan, new Float32Array(0));
    commitPlan(rows);
  };
  const lines = [];
  for (const context of [4096, 16384]) {
    for (const workers of [1, 2, 4, 8]) {
      const ctx = cache.newBlock("context");
      cache.claimForBenchmark(ctx, context);
      const blocks = Array.from({ length: workers }, () => {
        const b = cache.newBlock();
        cache.claimForBenchmark(b, own);
        return b;
      });
      plan(blocks.map((b, i) => ({ block: b, view: [ctx, ...blocks.filter((o) => o !== b), b], tokens: [100 + i] })));
      lines.push(`pass ${rec.passes - 1}: ${workers} workers, ${context} cached tokens`);
      for (const b of [ctx, ...blocks]) cache.free(b);
    }
  }
  const prefill = cache.newBlock("prefill");
  const rng = new Rng(1);
  plan([{
    block: prefill,
    view: [prefill],
    tokens: Array.from({ length: 4096 }, () => Math.floor(rng.next() * config.vocab)),
  }]);
  lines.push(`pass ${rec.passes - 1}: prefill of 4096 tokens`);
  writeFileSync(join(dir, `perf-${shape}.hwrec`), rec.bytes());
  writeFileSync(join(dir, `perf-${shape}.txt`), lines.join("\n") + "\n");
  console.log(`perf-${shape}.hwrec: ${rec.passes} passes`);
}

/**
 * Timing-only plans of a real run: hogwild:4, hogwild:2 and sc:2 on three problems sharing every pass, with
 * random tokens that end a step about every 30 (so views gain blocks as in a real run) and finishers at two
 * checkpoints. No model runs: the plans are what the harness would send. The Qwen3 tokenizer drives the runs (their
 * prompts, steps and finishers); a shape of another vocabulary (Llama's 128256 ids, Phi-4's 100352) gets the
 * same plans with each id folded into its vocabulary (id mod vocab): a pass's time does not depend on which
 * embedding rows it reads. Into `dir`.
 */
export async function sequence(shape: string, dir: string) {
  const config = shapeConfig(shape), qwen = hasQwenVocabulary(config);
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };
  const cache = new KVCache({ bytes: 0, pages: 2048, pageSize: 16 });
  const rec = new Recorder(encodeSpec({ config, randomSeed: 0, tensors: [] }), cache.native.pages, cache.pageSize);
  const runs = ["hogwild:4", "hogwild:2", "sc:2"].map((m, i) =>
    new Run(
      cache,
      runSpec(parseMethod(m), `Problem ${i}: find the sum of the first ${10 + i} odd numbers.`, i, {
        tokenizer: tok,
        generation,
        budgets: [64, 128],
        finisherTokens: 16,
      }),
    )
  );
  const rng = new Rng(3), stepEnd = tok.encode(".\n\n")[0], close = tok.encode("}")[0];
  const model = {
    forwardSample(c: KVCache, rows: readonly Row[]) {
      const planned = rows.map((r) => ({
        ...r,
        tokens: qwen ? r.tokens : Array.from(r.tokens, (t) => t % config.vocab),
        logits: r.sampler ? "last" as const : "none" as const,
      }));
      checkIds(planned, config, shape);
      rec.add(encodePlan(c, planned).plan, new Float32Array(0));
      commitPlan(rows);
      return rows.map((
        r,
      ) => (!r.sampler
        ? -1
        : r.block.label === "finisher"
        ? close
        : rng.next() < 0.035
        ? stepEnd
        : randInt(rng, 1000, 150000))
      );
    },
  };
  while (await step(model, cache, runs));
  const steps = runs.reduce((a, r) => a + r.steps.length, 0);
  writeFileSync(join(dir, `sequence-${shape}.hwrec`), rec.bytes());
  writeFileSync(
    join(dir, `sequence-${shape}.txt`),
    `${rec.passes} passes of hogwild:4, hogwild:2 and sc:2 sharing passes (${steps} steps committed, finishers at ` +
      `passes 64 and 128${qwen ? "" : `; the Qwen3 tokenizer's ids folded into the ${config.vocab}-id vocabulary`})\n`,
  );
  console.log(`sequence-${shape}.hwrec: ${rec.passes} passes`);
}

/** What this script records (fixtures.tsv and ROOT are rewritten whole). */
const RECORDING = /^(fixture|random|perf|sequence)-.*\.(hwrec|txt)$/;

/**
 * Makes the folders, less the recordings an earlier preparation left: those would travel and be replayed as
 * this one's (timing ones beside the checks', over a call's size; another --perf-shape's beside this one's,
 * which device-check refuses; a shape since dropped).
 */
export function clearRecordings(...dirs: string[]) {
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (RECORDING.test(f)) rmSync(join(dir, f));
  }
}

async function main() {
  const { values } = parseFlags({
    out: { type: "string", default: ".device/recordings" },
    "timing-out": { type: "string", default: ".device/timing" },
    "perf-shape": { type: "string", default: "qwq-32b" },
  }, USAGE);
  out = values.out, timing = values["timing-out"];
  clearRecordings(out, timing);
  // Tensor paths in the recordings are this checkout's; the device script maps them with --path-prefix.
  writeFileSync(join(out, "ROOT"), new URL("..", import.meta.url).pathname.replace(/\/$/, "") + "\n");
  await fixtures();
  await random();
  perf(values["perf-shape"], timing);
  await sequence(values["perf-shape"], timing);
}

if (import.meta.main) runMain(main);
