/**
 * Named shapes of real checkpoints, for `random:NAME` models: the same dimensions with random weights made
 * in memory, so that benchmarks need no download. Each architecture lists its own (engine/architectures/).
 */
import type { ModelConfig } from "./config.ts";
import { InputError } from "./errors.ts";
import { shapeOf } from "./architectures/architecture.ts";
import { architectureOf, ARCHITECTURES } from "./architectures/registry.ts";

export const SHAPES: Readonly<Record<string, ModelConfig>> = Object.fromEntries(
  ARCHITECTURES.flatMap((a) => Object.entries(a.shapes).map(([name, s]) => [name, shapeOf(a, s)])),
);

/** The config of `random:NAME`. */
export function shapeConfig(name: string): ModelConfig {
  const c = Object.hasOwn(SHAPES, name) ? SHAPES[name] : undefined;
  if (!c) throw new InputError(`random:${name}: unknown shape; known: ${Object.keys(SHAPES).join(", ")}`);
  return c;
}

/**
 * Whether a shape's vocabulary is Qwen's: the Qwen vocabularies share their first 151669 ids, so the Qwen3
 * tokenizer drives random Qwen shapes (and only those: Llama's and Phi-4's vocabularies are others).
 */
export function hasQwenVocabulary(c: ModelConfig): boolean {
  return architectureOf(c).qwenVocabulary === true;
}
