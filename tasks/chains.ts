/**
 * Chains: problems made for the project's demo model (engine/models/hogwild-demo). Each problem has
 * independent parts, each a short chain of one-digit additions; the answer is every part's sum by its name,
 * graded as named parts (tasks/grading/parts.ts: the fraction of parts right). Nothing to download, deterministic per seed. A part takes
 * a worker one step of a few dozen tokens, so a team that splits the parts reaches more of them in the same
 * number of forward passes: Hogwild!'s effect, small enough to train and run on a laptop.
 */
import type { Problem } from "./problem.ts";
import { generator, type SyntheticOptions } from "./synthetic.ts";

/** The part names, in order. */
export const PART_NAMES = "ABCDEFGH";

export interface Chain {
  name: string;
  terms: number[];
}

/** The parts of one problem: `parts` chains of 2 to `digits + 1` terms (the knob reads as the longest chain - 1). */
export function chainParts(rand: () => number, parts: number, longest: number): Chain[] {
  const r = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  return Array.from({ length: parts }, (_, k) => ({
    name: PART_NAMES[k],
    terms: Array.from({ length: r(2, longest) }, () => r(1, 9)),
  }));
}

export function chainText(parts: Chain[]): string {
  const names = parts.map((p) => p.name);
  const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
  return parts.map((p, k) => `${k ? "let" : "Let"} ${p.name} be ${p.terms.join(" + ")}`).join("; ") + `. Find ${list}.`;
}

/**
 * The problems of a seed. `mixed`, the generator's seed, is the knobs' mix (Math.imul: a product past 2^53 would
 * round, and seeds that differ would give one generator); the demo model's data maker passes the mix its training
 * problems were drawn with.
 */
export function chainProblems(o: SyntheticOptions, mixed = Math.imul(o.seed, 0x85ebca6b) + o.parts * 977 + o.digits) {
  const rand = generator(mixed);
  return Array.from({ length: o.count }, (_, i): Problem => {
    const parts = chainParts(rand, o.parts, o.digits + 1);
    return {
      id: `chains-p${o.parts}-t${o.digits + 1}-s${o.seed}-${i}`,
      task: "chains",
      text: chainText(parts),
      golds: parts.map((p) => `${p.name} = ${p.terms.reduce((a, b) => a + b, 0)}`),
      grading: "parts" as const,
    };
  });
}
