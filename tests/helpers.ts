/** Shared by the tests: fixture paths, reference tensors, and comparisons that report their worst error. */
import { fileURLToPath } from "node:url";
import { readSmallFile } from "../engine/safetensors.ts";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
export const CASES = ["qwen2-tiny", "qwen3-tiny", "llama3-tiny"] as const;

export function fixtureDir(name: string): string {
  return FIXTURES + name;
}

export function reference(name: string, file = "reference.safetensors") {
  return readSmallFile(`${FIXTURES}${name}/${file}`);
}

/** max |a - b| over equal-length arrays; throws on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** A seeded generator for random tests (the engine's own Rng, exposed with helpers). */
export { Rng } from "../engine/sampler.ts";

export function randInt(rng: { next(): number }, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}
