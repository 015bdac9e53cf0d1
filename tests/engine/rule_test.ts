/**
 * The rule of DESIGN.md on random scripts, both ways:
 *  - the fast path (queries rotated per block) equals the slow reference path (every key rotated by its
 *    block's offset, then ordinary attention), whatever the views do;
 *  - a view read in the order its blocks were written equals a plain forward pass over its tokens.
 * And: a row's logits do not depend on what else shares its pass (bit for bit, on the CPU).
 */
import assert from "node:assert/strict";
import { Engine } from "../../engine/model.ts";
import { runScript, scriptTokens } from "../../engine/script.ts";
import { CASES, fixtureDir, maxAbsDiff, randInt, randomScript, Rng } from "../helpers.ts";

const TOL = 1e-4;

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

for (const name of CASES) {
  Deno.test(`${name}: query rotation equals key rotation on random scripts`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const rng = new Rng(7 + name.length);
    let worst = 0, rows = 0, tokens = 0;
    for (let trial = 0; trial < 6; trial++) {
      const script = randomScript(rng, engine.vocab, trial < 2 ? 2500 : 300);
      const size = scriptTokens(script) + 2048;
      const fast = runScript(engine, engine.newCache({ tokens: size }), script);
      const slow = runScript(engine, engine.newCache({ tokens: size }), script, { keyRotation: true });
      fast.forEach((pass, i) => pass.forEach((l, j) => (worst = Math.max(worst, maxAbsDiff(l, slow[i][j])), rows++)));
      tokens += scriptTokens(script);
    }
    console.log(`${name}: ${rows} rows, ${tokens} tokens: worst |fast - slow| ${worst.toExponential(2)}`);
    assert.ok(worst < TOL, `worst ${worst}`);
  });

  Deno.test(`${name}: a view read in write order equals a plain forward pass`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const rng = new Rng(99 + name.length);
    let worst = 0, chunks = 0;
    for (let trial = 0; trial < 4; trial++) {
      // Two independent sequences, cut into random chunks written into chains of blocks; in each pass both
      // chains advance (two rows), and a chain's next chunk goes either to its last block or a new one.
      const seqs = [0, 1].map(() =>
        Array.from({ length: randInt(rng, 20, trial === 0 ? 2000 : 400) }, () => randInt(rng, 0, engine.vocab - 1))
      );
      const cache = engine.newCache({ tokens: seqs[0].length + seqs[1].length + 4096 });
      const chains = seqs.map(() => [cache.newBlock()]);
      const done = [0, 0];
      const got: Float32Array[][] = [[], []];
      while (done[0] < seqs[0].length || done[1] < seqs[1].length) {
        const rows = [];
        const which: number[] = [];
        for (const s of [0, 1]) {
          if (done[s] >= seqs[s].length) continue;
          const n = Math.min(seqs[s].length - done[s], rng.next() < 0.5 ? 1 : randInt(rng, 2, 300));
          const chain = chains[s];
          if (chain.at(-1)!.length > 0 && rng.next() < 0.5) chain.push(cache.newBlock());
          rows.push({
            block: chain.at(-1)!,
            view: [...chain],
            tokens: seqs[s].slice(done[s], done[s] + n),
            logits: "all" as const,
          });
          which.push(s);
          done[s] += n;
          chunks++;
        }
        engine.forward(cache, rows).forEach((l, i) => got[which[i]].push(l.slice()));
      }
      for (const s of [0, 1]) {
        const plain = engine.newCache({ tokens: seqs[s].length });
        const block = plain.newBlock();
        const [want] = engine.forward(plain, [{ block, view: [block], tokens: seqs[s], logits: "all" }]);
        worst = Math.max(worst, maxAbsDiff(concat(got[s]), want));
      }
    }
    console.log(`${name}: ${chunks} chunks: worst |chained - plain| ${worst.toExponential(2)}`);
    assert.ok(worst < TOL, `worst ${worst}`);
  });

  Deno.test(`${name}: a row's logits are bit-identical alone or batched with other rows`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const rng = new Rng(5);
    const ids = (n: number) => Array.from({ length: n }, () => randInt(rng, 0, engine.vocab - 1));
    const prompt = ids(37), others = [ids(5), ids(1), ids(12)];
    const alone = engine.newCache();
    const a = alone.newBlock();
    const [want] = engine.forward(alone, [{ block: a, view: [a], tokens: prompt, logits: "all" }]);
    const batched = engine.newCache();
    const blocks = [0, 1, 2, 3].map(() => batched.newBlock());
    const outs = engine.forward(batched, [
      { block: blocks[1], view: [blocks[1]], tokens: others[0], logits: "all" },
      { block: blocks[0], view: [blocks[0]], tokens: prompt, logits: "all" },
      { block: blocks[2], view: [blocks[2]], tokens: others[1] },
      { block: blocks[3], view: [blocks[3]], tokens: others[2], logits: "all" },
    ]);
    assert.deepEqual(Array.from(outs[1]), Array.from(want));
    // a short row beside a long one: the pass's products take 135 rows (past the sizes where a kernel could
    // choose another path), the short row's numbers the same as its own pass of 5
    const short = engine.newCache(), s = short.newBlock();
    const [wantShort] = engine.forward(short, [{ block: s, view: [s], tokens: others[0], logits: "all" }]);
    const mixed = engine.newCache(), [m0, m1] = [mixed.newBlock(), mixed.newBlock()];
    const [, got] = engine.forward(mixed, [
      { block: m0, view: [m0], tokens: ids(130), logits: "all" },
      { block: m1, view: [m1], tokens: others[0], logits: "all" },
    ]);
    assert.deepEqual(Array.from(got), Array.from(wantShort));
  });

  // Hogwild!'s shape: rows that share blocks, each with its own view order; the CPU attention takes tokens in
  // groups and reads each shared block once for the group, so a row's numbers must not depend on its group.
  Deno.test(`${name}: a Hogwild! row's logits are bit-identical alone or beside rows sharing its blocks in other orders`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const rng = new Rng(9);
    const ids = (n: number) => Array.from({ length: n }, () => randInt(rng, 0, engine.vocab - 1));
    const filled = [ids(41), ids(6), ids(19)], mine = ids(5), theirs = [ids(4), ids(3)];
    // two caches in the same state: a context and two workers' blocks
    const prepare = () => {
      const cache = engine.newCache();
      const blocks = filled.map((t) => {
        const b = cache.newBlock();
        engine.forward(cache, [{ block: b, view: [b], tokens: t, logits: "none" }]);
        return b;
      });
      return { cache, ctx: blocks[0], a: blocks[1], b: blocks[2], c: cache.newBlock(), d: cache.newBlock() };
    };
    const one = prepare();
    const [want] = engine.forward(one.cache, [{
      block: one.a,
      view: [one.ctx, one.b, one.a],
      tokens: mine,
      logits: "all",
    }]);
    const two = prepare();
    // the pass numbers its blocks as its rows name them: a, d, ctx, then b, c; the row's own order is ctx, b, a
    const outs = engine.forward(two.cache, [
      { block: two.d, view: [two.a, two.d, two.ctx], tokens: theirs[1], logits: "all" },
      { block: two.a, view: [two.ctx, two.b, two.a], tokens: mine, logits: "all" },
      { block: two.c, view: [two.b, two.ctx, two.c], tokens: theirs[0], logits: "all" },
    ]);
    assert.deepEqual(Array.from(outs[1]), Array.from(want));
  });
}
