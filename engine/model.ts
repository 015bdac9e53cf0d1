/**
 * The engine's public entry: load a model (a Hugging Face folder, or random:SHAPE), make KV caches, run
 * forward passes as plans. It knows blocks, views, tokens and logits; nothing about prompts or workers.
 */
import { join } from "node:path";
import { KVCache } from "./cache.ts";
import {
  DEFAULT_GENERATION,
  type GenerationConfig,
  localConfig,
  type ModelConfig,
  readGenerationConfig,
  readJson,
} from "./config.ts";
import { check, InputError } from "./errors.ts";
import { isStateError, loadNative, type LogprobsBuffers, type NativeModel } from "./native.ts";
import { commitPlan, type EncodedPlan, encodePlan, PastContext, type Row } from "./plan.ts";
import { Recorder } from "./record.ts";
import { packSamplers, type TokenLogprobs, unpackLogprobs } from "./sampler.ts";
import { readCheckpoint } from "./safetensors.ts";
import { hasQwenVocabulary } from "./shapes.ts";
import { encodeSpec, type ModelSpec, specFromCheckpoint } from "./spec.ts";
import { TextTokenizer } from "./tokenizer.ts";

export type Device = "cpu" | "cuda";

/**
 * How the CUDA backend runs a pass (cuda/include/hogwild.h, DeviceOptions); the CPU ignores them. They change
 * timings, and gemm and attention the last bits of the logits, so runs record them.
 */
export interface CudaOptions {
  /** decode products: auto (own kernel ≤ 2 rows, cuBLAS above), own, cublas, mma (own tensor-core kernel ≤ 32 rows) */
  gemm?: "auto" | "own" | "cublas" | "mma";
  /** auto: tensor cores for head_dim 64 and 128; simple: the CUDA-core kernel (the reference) everywhere */
  attention?: "auto" | "simple";
  /**
   * decode passes replay a captured CUDA graph once their shape has held this many passes in a row (default 8;
   * 1: every shape is captured; 0: no graphs). Capturing costs more than a replay saves, and in real runs
   * shapes change every few passes.
   */
  graphs?: number;
  /** programmatic dependent launch between a pass's kernels (sm_90) */
  pdl?: boolean;
  /** device time per stage, printed to stderr when the model goes away */
  profile?: boolean;
}

/** The options' one textual form ("gemm=mma,pdl=1"), as the native core and the replay tool's --cuda read it. */
export function cudaOptionsText(o: CudaOptions): string {
  return Object.entries(o).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "boolean" ? (v ? 1 : 0) : v}`).join(",");
}

export interface LoadOptions {
  device?: Device;
  /** the CUDA backend's options: an object, or their text ("gemm=mma,pdl=1", as --cuda takes it) */
  cuda?: CudaOptions | string;
  /** seed of random:SHAPE weights */
  seed?: number;
  /** false: no tokenizer (ids in, ids out; for benchmarks, and bundles that carry no tokenizer files) */
  tokenizer?: boolean;
  /** let passes go past the model's max_position_embeddings (refused otherwise, naming it) */
  allowLongContext?: boolean;
  /** what the refusal of a pass past max_position_embeddings tells the user to do: the command's own flags */
  longContextAdvice?: string;
}

export interface CacheOptions {
  /** capacity in tokens (rounded up to whole pages); default 65536 */
  tokens?: number;
  pageSize?: number;
}

export interface ForwardOptions {
  /** the slow reference path: keys rotated by their block's offset, then ordinary attention */
  keyRotation?: boolean;
}

/** A model's files read without its weights (Engine.readFiles). */
export interface ModelFiles {
  source: string;
  config: ModelConfig;
  generation: GenerationConfig;
  tokenizer: TextTokenizer | undefined;
  /** the checkpoint's tensors, found by their headers */
  spec: ModelSpec;
}

export class Engine {
  #recorders = new WeakMap<KVCache, Recorder>();
  /** The caches this model made: a cache is laid out for one model's shape, and another's pass would run off it. */
  #caches = new WeakSet<KVCache>();

  private constructor(
    readonly source: string,
    readonly config: ModelConfig,
    readonly generation: GenerationConfig,
    readonly tokenizer: TextTokenizer | undefined,
    readonly spec: ModelSpec,
    readonly native: NativeModel,
  ) {}

  /** passes may go past the config's max_position_embeddings (LoadOptions.allowLongContext) */
  allowLongContext = false;
  /** LoadOptions.longContextAdvice */
  longContextAdvice = "shorten the input";

  /**
   * `source`: a model folder (config.json + safetensors), or `random:SHAPE` (see engine/shapes.ts); or its files
   * already read (Engine.readFiles: a command checks its inputs against them before the weights load).
   */
  static async load(source: string | ModelFiles, opts: LoadOptions = {}): Promise<Engine> {
    const files = typeof source === "string" ? Engine.readFiles(source, opts) : source;
    const engine = await Engine.fromSpec(files.spec, {
      device: opts.device ?? "cpu",
      generation: files.generation,
      tokenizer: files.tokenizer,
      source: files.source,
      cuda: opts.cuda,
    });
    engine.allowLongContext = opts.allowLongContext ?? false;
    if (opts.longContextAdvice) engine.longContextAdvice = opts.longContextAdvice;
    return engine;
  }

  /**
   * A model's files read without its weights (the checkpoint's headers only): in seconds, where loading the
   * weights of a large model takes minutes.
   */
  static readFiles(source: string, opts: Pick<LoadOptions, "seed" | "tokenizer"> = {}): ModelFiles {
    let spec: ModelSpec, generation: GenerationConfig, tokenizer: TextTokenizer | undefined;
    const config = localConfig(source);
    if (source.startsWith("random:")) {
      spec = { config, randomSeed: opts.seed ?? 0, tensors: [] };
      tokenizer = !hasQwenVocabulary(config) || opts.tokenizer === false ? undefined : TextTokenizer.qwen3();
      const im_end = tokenizer?.specialTokenId("<|im_end|>");
      generation = { ...DEFAULT_GENERATION, eosTokenIds: im_end === undefined ? [] : [im_end] };
    } else {
      spec = specFromCheckpoint(config, readCheckpoint(source), source);
      generation = readGenerationConfig(source, readJson(join(source, "config.json")));
      tokenizer = opts.tokenizer === false ? undefined : TextTokenizer.fromDir(source);
      // Ids past the embedding's rows would be refused pass by pass, long after the start: refused here.
      check(
        !tokenizer || tokenizer.vocabSize <= config.vocab,
        `${
          join(source, "tokenizer.json")
        }: ${tokenizer?.vocabSize} tokens, more than the ${config.vocab} rows of the ` +
          "embedding (config.json's vocab_size): the tokenizer of another model?",
      );
    }
    // the spec's config: the checkpoint's dtype decided where config.json states none
    return { source, config: spec.config, generation, tokenizer, spec };
  }

  /** A model from a spec built by hand (random weights of any shape, for tests and benchmarks). */
  static async fromSpec(
    spec: ModelSpec,
    opts: {
      device?: Device;
      generation?: GenerationConfig;
      tokenizer?: TextTokenizer;
      source?: string;
      cuda?: CudaOptions | string;
    } = {},
  ): Promise<Engine> {
    const source = opts.source ?? "spec";
    let native: NativeModel;
    try {
      const cuda = typeof opts.cuda === "string" ? opts.cuda : cudaOptionsText(opts.cuda ?? {});
      native = await loadNative().loadModel(encodeSpec(spec), opts.device ?? "cpu", cuda);
    } catch (e) {
      throw new InputError(`${source}: ${(e as Error).message}`);
    }
    const generation = opts.generation ?? DEFAULT_GENERATION;
    return new Engine(source, spec.config, generation, opts.tokenizer, spec, native);
  }

  /** The device options it runs with, every one (defaults included). */
  get deviceOptions(): Record<string, string> {
    return Object.fromEntries(this.native.options.split(",").map((kv) => kv.split("=", 2)));
  }

  get vocab(): number {
    return this.config.vocab;
  }

  /** A KV cache; a size that is not a whole number of tokens or that the device cannot hold is one error. */
  newCache(opts: CacheOptions = {}): KVCache {
    const pageSize = opts.pageSize ?? 16, tokens = opts.tokens ?? 65536;
    // pageSize bounded before it reaches the core (a 32-bit count there: 2^32 + 16 must not become 16)
    check(
      Number.isInteger(pageSize) && pageSize >= 1 && pageSize < 2 ** 31,
      `a KV cache in pages of ${pageSize}: pageSize must be an integer in [1, 2^31)`,
    );
    const pages = Math.ceil(tokens / pageSize);
    check(
      Number.isInteger(tokens) && tokens >= 0 && pages < 2 ** 31,
      `a KV cache of ${tokens} tokens in pages of ${pageSize}: expected whole numbers, under 2^31 pages`,
    );
    try {
      const cache = new KVCache(this.native.newCache(pages, pageSize));
      this.#caches.add(cache);
      return cache;
    } catch (e) {
      if (isStateError(e)) throw e; // disposed, or a pass in flight: not a size
      throw new InputError(
        `a KV cache of ${tokens} tokens does not fit on the ${this.native.device} (${(e as Error).message})`,
      );
    }
  }

  /**
   * Frees the weights now (device memory on a GPU), not when the garbage collector gets to it; refused while a
   * pass is in flight. Its caches are freed apart (KVCache.dispose), so that one may outlive another model.
   */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Records every later pass on `cache` for cuda/tools/replay.cc; returns the recorder. */
  record(cache: KVCache): Recorder {
    const r = new Recorder(encodeSpec(this.spec), cache.native.pages, cache.pageSize);
    this.#recorders.set(cache, r);
    return r;
  }

  /**
   * One forward pass that samples the next token of every row with a sampler (its last new token's logits,
   * sampled where they are: on a GPU only ids come back). Returns one id per row, -1 where no sampler.
   */
  async forwardSample(cache: KVCache, rows: readonly Row[]): Promise<number[]> {
    return (await this.#sample(cache, rows, false)).ids;
  }

  /**
   * forwardSample, and for each row with `logprobs` its TokenLogprobs (undefined for the others): computed where
   * the logits are, so that on a GPU only k + 1 floats and k ids a row come back.
   */
  forwardSampleLogprobs(
    cache: KVCache,
    rows: readonly Row[],
  ): Promise<{ ids: number[]; logprobs: (TokenLogprobs | undefined)[] }> {
    return this.#sample(cache, rows, true);
  }

  async #sample(cache: KVCache, rows: readonly Row[], withLogprobs: boolean) {
    const planned = rows.map((r) => ({ ...r, logits: r.sampler ? "last" as const : "none" as const }));
    const sampled = rows.filter((r) => r.sampler);
    const ks = sampled.map((r) => (withLogprobs ? r.logprobs ?? 0 : 0));
    const ids = new Int32Array(sampled.length);
    let out: LogprobsBuffers | undefined;
    const { plan } = await this.#run(cache, planned, (e) => {
      const packed = packSamplers(sampled.map((r) => r.sampler!), ks, this.vocab);
      out = packed.out;
      return this.native.forwardSample(cache.native, e.plan, packed.specs, packed.suppress, ids, out);
    });
    this.#recorders.get(cache)?.add(plan, new Float32Array(0));
    const bad = ids.indexOf(-1);
    if (bad >= 0) throw this.#nan(bad);
    const lps = unpackLogprobs(out, ks);
    let k = 0, j = 0;
    return {
      ids: rows.map((r) => (r.sampler ? ids[k++] : -1)),
      logprobs: rows.map((r) => (r.sampler ? lps[j++] : undefined)),
    };
  }

  /** The model's fault, not the code's (its weights, or activations they overflow): one line naming it. */
  #nan(logitRow: number): InputError {
    return new InputError(
      `${this.source}: the forward pass produced NaN or infinite logits (logits row ${logitRow}): the weights hold NaN or Inf, or the activations overflow`,
    );
  }

  /**
   * Encodes the plan (reserving pages), runs `pass` on it, and commits the rows; a pass that fails gives its new
   * pages back. `pass` blocks (forward) or resolves a Promise (forwardSample); the rows commit once it is done.
   */
  #run(cache: KVCache, rows: readonly Row[], pass: (e: EncodedPlan) => void, keyRotation?: boolean): EncodedPlan;
  #run(cache: KVCache, rows: readonly Row[], pass: (e: EncodedPlan) => Promise<void>): Promise<EncodedPlan>;
  #run(
    cache: KVCache,
    rows: readonly Row[],
    pass: (e: EncodedPlan) => void | Promise<void>,
    keyRotation = false,
  ): EncodedPlan | Promise<EncodedPlan> {
    check(this.#caches.has(cache), `${this.source}: this KV cache was not made by this model's newCache`);
    const undo = (e: unknown): never => {
      for (const r of rows) if (cache.owns(r.block)) cache.truncate(r.block, r.block.length);
      throw e;
    };
    try {
      const encoded = encodePlan(cache, rows, keyRotation);
      const limit = this.allowLongContext ? undefined : this.config.maxPositions;
      if (limit !== undefined && encoded.positions > limit) {
        throw new PastContext(
          `${this.source}: a pass needs ${encoded.positions} positions, more than the model's ` +
            `max_position_embeddings ${limit} (${
              this.source.startsWith("random:") ? "its real checkpoint's" : "config.json"
            }): ${this.longContextAdvice}`,
          encoded.widest,
        );
      }
      const commit = () => (commitPlan(rows), encoded);
      const ran = pass(encoded);
      return ran instanceof Promise ? ran.then(commit, undo) : commit();
    } catch (e) {
      return undo(e);
    }
  }

  /** One forward pass over `rows`; returns each row's requested logits, [rows of the row][vocab] flattened. */
  forward(cache: KVCache, rows: readonly Row[], opts: ForwardOptions = {}): Float32Array[] {
    let logits = new Float32Array(0), bad = -1;
    const { plan, logitRows } = this.#run(cache, rows, (e) => {
      logits = new Float32Array(e.logitCount * this.vocab);
      bad = this.native.forward(cache.native, e.plan, logits);
    }, opts.keyRotation);
    this.#recorders.get(cache)?.add(plan, logits);
    if (bad >= 0) throw this.#nan(bad);
    return logitRows.map(([first, n]) => logits.subarray(first * this.vocab, (first + n) * this.vocab));
  }
}
