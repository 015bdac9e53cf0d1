/**
 * Procedurally generated multi-part problems with exact answers: no download, deterministic per seed, with
 * difficulty knobs. Each problem has independent parts (so that workers can split them) whose results are
 * combined into one integer answer: a task made to show whether collaboration divides the work.
 */
import type { Problem } from "./problem.ts";

export interface SyntheticOptions {
  count: number;
  seed: number;
  /** independent parts per problem */
  parts: number;
  /** digits of the numbers involved */
  digits: number;
}

/** mulberry32: the generated tasks' own generator, so that a data set never changes with the engine's. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Part = { text: string; value: bigint };

const KINDS: ((r: (lo: number, hi: number) => number, digits: number) => Part)[] = [
  (r, d) => {
    const a = r(10 ** (d - 1), 10 ** d - 1), b = r(10 ** (d - 1), 10 ** d - 1);
    return { text: `the product of ${a} and ${b}`, value: BigInt(a) * BigInt(b) };
  },
  (r, d) => {
    const n = r(3, 5 + 4 * d);
    return {
      text: `the sum of the squares of the integers from 1 to ${n}`,
      value: BigInt((n * (n + 1) * (2 * n + 1)) / 6),
    };
  },
  (r, d) => {
    const g = r(2, 9 * d), a = g * r(2, 10 ** (d - 1) + 9), b = g * r(2, 10 ** (d - 1) + 9);
    let x = a, y = b;
    while (y) [x, y] = [y, x % y];
    return { text: `the greatest common divisor of ${a} and ${b}`, value: BigInt(x) };
  },
  (r, d) => {
    const base = r(2, 9), exp = r(5, 10 + 5 * d), mod = r(7, 10 ** d + 7);
    let v = 1n;
    for (let i = 0; i < exp; i++) v = (v * BigInt(base)) % BigInt(mod);
    return { text: `the remainder when ${base}^${exp} is divided by ${mod}`, value: v };
  },
  (r, d) => {
    const n = r(4, 6 + 2 * d), k = r(2, Math.min(n - 1, 3 + d));
    let v = 1n;
    for (let i = 0; i < k; i++) v = (v * BigInt(n - i)) / BigInt(i + 1);
    return { text: `the number of ways to choose ${k} items from ${n}`, value: v };
  },
];

export function syntheticProblems(o: SyntheticOptions): Problem[] {
  // Math.imul: a product past 2^53 would round, and seeds that differ give one generator (the same problems).
  const rand = generator(Math.imul(o.seed, 0x9e3779b1) + o.parts * 131 + o.digits);
  const r = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  return Array.from({ length: o.count }, (_, i) => {
    const parts = Array.from({ length: o.parts }, () => KINDS[r(0, KINDS.length - 1)](r, o.digits));
    const names = parts.map((_, k) => String.fromCharCode(65 + k));
    const text = `Let ${parts.map((p, k) => `${names[k]} be ${p.text}`).join("; ")}. ` +
      `Compute ${names.join(" + ")}.`;
    return {
      id: `synthetic-p${o.parts}-d${o.digits}-s${o.seed}-${i}`,
      task: "synthetic",
      text,
      golds: [String(parts.reduce((a, p) => a + p.value, 0n))],
      grading: "single" as const,
    };
  });
}
