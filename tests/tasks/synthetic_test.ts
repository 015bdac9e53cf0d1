/** The synthetic task: deterministic per seed, knobs that work, answers that are right. */
import assert from "node:assert/strict";
import { loadTask } from "../../tasks/registry.ts";
import { DATA_DIR, dataTest } from "../helpers.ts";

/** Recomputes a part's value from its text, independently of the generator. */
function partValue(text: string): bigint {
  let m;
  if ((m = /^the product of (\d+) and (\d+)$/.exec(text))) return BigInt(m[1]) * BigInt(m[2]);
  if ((m = /^the sum of the squares of the integers from 1 to (\d+)$/.exec(text))) {
    let s = 0n;
    for (let i = 1n; i <= BigInt(m[1]); i++) s += i * i;
    return s;
  }
  if ((m = /^the greatest common divisor of (\d+) and (\d+)$/.exec(text))) {
    let [a, b] = [BigInt(m[1]), BigInt(m[2])];
    while (b) [a, b] = [b, a % b];
    return a;
  }
  if ((m = /^the remainder when (\d+)\^(\d+) is divided by (\d+)$/.exec(text))) {
    return BigInt(m[1]) ** BigInt(m[2]) % BigInt(m[3]);
  }
  if ((m = /^the number of ways to choose (\d+) items from (\d+)$/.exec(text))) {
    const [k, n] = [Number(m[1]), Number(m[2])];
    let v = 1n;
    for (let i = 0; i < k; i++) v = v * BigInt(n - i) / BigInt(i + 1);
    return v;
  }
  throw new Error(`unknown part: ${text}`);
}

Deno.test("synthetic problems: deterministic per seed, knobs respected, every answer right", async () => {
  const a = await loadTask("synthetic", { seed: 3, synthetic: { count: 50, parts: 4, digits: 3 } });
  const b = await loadTask("synthetic", { seed: 3, synthetic: { count: 50, parts: 4, digits: 3 } });
  const c = await loadTask("synthetic", { seed: 4, synthetic: { count: 50, parts: 4, digits: 3 } });
  assert.deepEqual(a.problems, b.problems);
  assert.notDeepEqual(a.problems.map((p) => p.text), c.problems.map((p) => p.text));
  assert.equal(new Set(a.problems.map((p) => p.id)).size, 50);
  for (const p of a.problems) {
    const parts = /^Let (.*)\. Compute (.*)\.$/.exec(p.text)!;
    const defs = parts[1].split("; ").map((d) => /^([A-Z]) be (.*)$/.exec(d)!);
    assert.equal(defs.length, 4);
    assert.equal(parts[2], "A + B + C + D");
    assert.equal(p.golds[0], String(defs.reduce((s, d) => s + partValue(d[2]), 0n)), p.text);
  }
  await assert.rejects(
    loadTask("synthetic", { synthetic: { parts: 0 } }),
    /--parts: synthetic takes 1\.\.26 parts, got 0/,
  );
});

dataTest("GSM8K×5: 128 groups of 5 distinct questions, a seeded grouping", async () => {
  const a = await loadTask("gsm8k-x5", { dataDir: DATA_DIR, seed: 1 });
  const b = await loadTask("gsm8k-x5", { dataDir: DATA_DIR, seed: 1 });
  const c = await loadTask("gsm8k-x5", { dataDir: DATA_DIR, seed: 2 });
  assert.equal(a.problems.length, 128);
  assert.deepEqual(a.problems, b.problems);
  assert.notDeepEqual(a.problems.map((p) => p.id), c.problems.map((p) => p.id));
  const questions = a.problems.flatMap((p) => p.id.split(":")[1].split("+"));
  assert.equal(questions.length, 640);
  assert.equal(new Set(questions).size, 640, "no question appears twice");
  for (const p of a.problems) {
    assert.equal(p.golds.length, 5);
    assert.equal(p.grading, "list");
    assert.match(p.text, /Problem 5: /);
  }
});
