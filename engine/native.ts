/** The native core's Node-API addon (cuda/), loaded once. Build it with `deno task build`. */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError } from "./errors.ts";
import { type Abi, abiDifference } from "./formats.ts";

export interface NativeCache {
  readonly bytes: number;
  readonly pages: number;
  readonly pageSize: number;
  /** frees its memory now (refused while a pass writes it); any later use throws */
  dispose?(): void;
}

export interface NativeModel {
  readonly weightBytes: number;
  readonly device: string;
  /** the device options it runs with, every one: "gemm=auto,attention=auto,graphs=8,pdl=0,profile=0" */
  readonly options: string;
  /** whether the library for large products loaded ("cuBLAS loaded", or why not); "" where none is loaded (the CPU) */
  readonly gemmLibrary?: string;
  newCache(pages: number, pageSize: number): NativeCache;
  /**
   * One forward pass: plan as engine/plan.ts encodes it; logits for the plan's logit tokens. Blocks. Returns
   * the first logits row that holds a NaN, or -1.
   */
  forward(cache: NativeCache, plan: Int32Array, logits: Float32Array): number;
  /**
   * The pass, then one token per logits row by the core's sampling rule (specs: SAMPLE_FIELDS per row), and the
   * log-probabilities the specs ask for. Bad inputs throw at once; the pass runs on a native worker thread and
   * the Promise resolves when `ids` (and `logprobs`) are written. One pass at a time per model.
   */
  forwardSample(
    cache: NativeCache,
    plan: Int32Array,
    specs: Float32Array,
    suppress: Int32Array,
    ids: Int32Array,
    logprobs?: LogprobsBuffers,
  ): Promise<void>;
  /** frees the weights now (refused while a pass runs); any later use throws */
  dispose(): void;
}

/**
 * Where the core writes log-probabilities: `sampled`, one per logits row, its sampled id's; `ids` and
 * `logprobs`, the rows' top ids and theirs, each row's at its spec's logprobs_start.
 */
export interface LogprobsBuffers {
  sampled: Float32Array;
  ids: Int32Array;
  logprobs: Float32Array;
}

export interface CudaInfo {
  compiled: boolean;
  deviceCount: number;
  error: string;
  name: string;
  selftest: number;
}

export interface Native {
  /** `options`: the CUDA backend's, as "KEY=VALUE,..." (engine/model.ts CudaOptions); a bad one rejects */
  loadModel(spec: Uint8Array, device: string, options?: string): Promise<NativeModel>;
  /** bytes moved per second (read + write) by a large memcpy on all cores */
  copyBandwidth(bytes: number, reps: number): number;
  /** the same for GPU memory (read + write), on the first GPU */
  deviceCopyBandwidth(bytes: number, reps: number): number;
  /** the core's sampling rule on given logits rows, and the log-probabilities the specs ask for */
  sampleLogits(
    logits: Float32Array,
    vocab: number,
    specs: Float32Array,
    suppress: Int32Array,
    ids: Int32Array,
    logprobs?: LogprobsBuffers,
  ): void;
  cudaInfo(): CudaInfo;
  threads(): number;
  /** the CUDA options' canonical text, every option included ("gemm=auto,attention=auto,..."); throws on a bad one */
  deviceOptions(text: string): string;
  /** the binary formats' tables as the addon was built with them (formats.h) */
  abi(): Abi;
  /**
   * the canonical tensors the core loads for an encoded model spec; `dtypes` in DTYPE_CODES (none: any float);
   * with a device, `bytes`: each one's bytes as that device stores it (what its load will take, weightBytes the sum)
   */
  expectedTensors(spec: Uint8Array): { name: string; shape: number[]; dtypes: number[] }[];
  expectedTensors(
    spec: Uint8Array,
    device: "cpu" | "cuda",
  ): { name: string; shape: number[]; dtypes: number[]; bytes: number }[];
}

/** The addon `deno task build` makes, or HOGWILD_ADDON (one built by plain CMake, as tools/device-check.sh does). */
export const ADDON_PATH = Deno.env.get("HOGWILD_ADDON") ??
  fileURLToPath(new URL("../cuda/build/Release/hogwild.node", import.meta.url));
export const REPLAY_PATH = fileURLToPath(new URL("../cuda/build/hogwild-replay", import.meta.url));

/**
 * The `code` of a native error that refuses an object's state (disposed, or a pass in flight), as against a
 * failure of the work itself (addon.cc state_error): the host tells them apart by it, never by wording.
 */
export const STATE_ERROR = "HOGWILD_STATE";

/** Whether `e` is the addon's refusal of an object's state (STATE_ERROR). */
export function isStateError(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === STATE_ERROR;
}

let native: Native | undefined;

export function loadNative(): Native {
  if (native) return native;
  if (!existsSync(ADDON_PATH)) {
    throw new InputError(
      Deno.env.get("HOGWILD_ADDON")
        ? `HOGWILD_ADDON: no such file: ${ADDON_PATH}`
        : `the native library is not built (${ADDON_PATH}): run \`deno task build\``,
    );
  }
  const addon = createRequire(import.meta.url)(ADDON_PATH) as Native;
  // An addon built from other sources would read the host's messages wrongly: refuse it by name.
  const differs = typeof addon.abi === "function" ? abiDifference(addon.abi()) : "it has no abi()";
  if (differs) {
    throw new InputError(
      `${ADDON_PATH}: built from another version of the formats (${differs}): run \`deno task build\``,
    );
  }
  native = addon;
  return native;
}
