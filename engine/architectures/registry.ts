/** The architectures the engine runs: one line each (a new one: its file in this folder, and its line here). */
import type { Architecture } from "./architecture.ts";
import { LLAMA } from "./llama.ts";
import { PHI3 } from "./phi3.ts";
import { QWEN2 } from "./qwen2.ts";
import { QWEN3 } from "./qwen3.ts";
import { QWEN3_MOE } from "./qwen3_moe.ts";

export const ARCHITECTURES: readonly Architecture[] = [LLAMA, QWEN2, QWEN3, QWEN3_MOE, PHI3];

/** Every model_type read, with the checkpoints it covers: what an unsupported one's error lists. */
export const SUPPORTED_MODEL_TYPES = ARCHITECTURES.flatMap((a) =>
  Object.entries(a.modelTypes).map(([type, note]) => `${type} (${note})`)
).join(", ");

/** The architecture a config.json's model_type names, or undefined. */
export function architectureFor(modelType: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => Object.hasOwn(a.modelTypes, modelType));
}

/** The architecture of a parsed config (ModelConfig.family is its name). */
export function architectureOf(c: { family: string }): Architecture {
  const a = ARCHITECTURES.find((x) => x.name === c.family);
  if (!a) throw new Error(`no architecture named "${c.family}"`);
  return a;
}
