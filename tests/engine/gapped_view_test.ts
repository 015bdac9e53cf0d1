/**
 * Views whose blocks sit at positions with gaps (engine/plan.ts `at`), some read in full (`full`): what the plan
 * encodes, what the host and the core refuse (a block placed inside the one before it, naming the row and
 * blocks; a row's own block read in full), and what a gapped view computes: the fast path (queries rotated per
 * block, backwards for a full block past them) equals the slow reference path (every key rotated by its block's
 * placed offset, then ordinary attention) on random models, views, gaps and full blocks; a view of no gaps is
 * the common case bit for bit; positions are as placed (a shift of the whole view changes nothing, a gap
 * does, a block placed past a query is not seen unless read in full, a full block below the queries is read as
 * a causal one).
 */
import assert from "node:assert/strict";
import { type Block, KVCache } from "../../engine/cache.ts";
import { PLAN_HEADER, PLAN_SECTIONS } from "../../engine/formats.ts";
import { Engine } from "../../engine/model.ts";
import { encodePlan, type Row } from "../../engine/plan.ts";
import { CASES, fixtureDir, maxAbsDiff, randInt, randomGappedPasses, Rng } from "../helpers.ts";

const TOL = 1e-4;
const cache = (pages = 64, pageSize = 4) => new KVCache({ bytes: 0, pages, pageSize });

/** Where each plan section starts in the encoded plan. */
function sectionStarts(plan: Int32Array): Record<string, number> {
  const header = Object.fromEntries(PLAN_HEADER.map((k, i) => [k, plan[i]]));
  const at: Record<string, number> = {};
  let i = PLAN_HEADER.length;
  for (const s of PLAN_SECTIONS) (at[s.name] = i, i += header[s.count] + s.plus);
  return at;
}
function section(plan: Int32Array, name: string, n: number): number[] {
  return [...plan.subarray(sectionStarts(plan)[name], sectionStarts(plan)[name] + n)];
}

Deno.test("encodePlan: a gapped view's offsets and query positions are where `at` places its blocks", () => {
  const c = cache();
  const [p, a, b] = [c.newBlock("p"), c.newBlock("a"), c.newBlock("b")];
  const rows: Row[] = [
    { block: p, view: [p], tokens: [1, 2, 3] },
    // b's row reads p at 0, a at 10 (a gap of 7 after p), itself at 30: its first new token sits at 30.
    { block: b, view: [p, a, b], at: [0, 10, 30], tokens: [4, 5] },
    { block: a, view: [p, b, a], at: [0, 3, 40], tokens: [6] },
  ];
  const e = encodePlan(c, rows);
  assert.deepEqual(section(e.plan, "view_offset", 7), [0, 0, 10, 30, 0, 3, 40]);
  assert.deepEqual(section(e.plan, "view_full", 7), [0, 0, 0, 0, 0, 0, 0]);
  rows[1] = { ...rows[1], full: [false, true, false] };
  rows[2] = { ...rows[2], full: [true, true, false] };
  const withFull = encodePlan(c, rows);
  assert.deepEqual(section(withFull.plan, "view_full", 7), [0, 0, 1, 0, 1, 1, 0]);
  // a's keys, read in full at 10 by b's row, do not pass its query; b's, read in full at 3 by a's row, neither
  assert.equal(withFull.positions, 41);
  rows[2] = { ...rows[2], view: [p, a, b], at: [0, 40, 100], full: [false, false, true] };
  assert.equal(encodePlan(c, rows).positions, 102, "b's keys read in full up to 101");
  assert.deepEqual(section(e.plan, "row_query_start", 3), [0, 30, 40]);
  assert.equal(e.positions, 41, "the largest query position plus one");
});

Deno.test("encodePlan refuses a gapped view that overlaps or is not positions, naming the row and blocks", () => {
  const cases: [string, (c: KVCache, b: Block[]) => Row[], RegExp][] = [
    ["one position short", (_, [p, a]) => [{ block: a, view: [p, a], at: [0], tokens: [1] }], /row 0's at has 1/],
    // p will hold 3 tokens after this pass (2 + its row's 1), so a at 2 is inside it.
    ["inside the block before (its length after the pass)", (_, [p, a]) => {
      p.length = 2;
      return [{ block: p, view: [p], tokens: [9] }, { block: a, view: [p, a], at: [0, 2], tokens: [1] }];
    }, /row 1 places block a at 2, inside block p \(0\.\.2\)/],
    [
      "before the block before",
      (_, [p, a]) => [{ block: a, view: [a, p], at: [5, 0], tokens: [1] }],
      /row 0 places block p at 0, inside block a \(5\.\.5\)/,
    ],
    [
      "negative",
      (_, [p, a]) => [{ block: a, view: [p, a], at: [-1, 4], tokens: [1] }],
      /places block p at -1, not a view position/,
    ],
    ["not whole", (_, [p, a]) => [{ block: a, view: [p, a], at: [0, 2.5], tokens: [1] }], /places block a at 2\.5/],
    [
      "full: one flag short",
      (_, [p, a]) => [{ block: a, view: [p, a], full: [true], tokens: [1] }],
      /row 0's full has 1 flags for 2/,
    ],
    [
      "full: not a boolean",
      (_, [p, a]) => [{ block: a, view: [p, a], full: [1 as unknown as boolean, false], tokens: [1] }],
      /row 0's full holds a flag that is not a boolean/,
    ],
    [
      "full: the row's own block",
      (_, [p, a]) => [{ block: a, view: [p, a], at: [0, 9], full: [false, true], tokens: [1] }],
      /row 0 reads its own block a in full \(it must be causal\)/,
    ],
    ["past int32", (_, [p, a]) => [{ block: a, view: [p, a], at: [0, 2 ** 31], tokens: [1] }], /not a view position/],
  ];
  for (const [name, rows, message] of cases) {
    const c = cache();
    const blocks = [c.newBlock("p"), c.newBlock("a")];
    for (const b of blocks) c.reserve(b, 8);
    assert.throws(() => encodePlan(c, rows(c, blocks)), message, name);
  }
});

Deno.test("the core refuses a plan whose view places a block inside the one before it", async () => {
  const engine = await Engine.load("random:qwen3-demo", { tokenizer: false });
  const c = engine.newCache({ tokens: 256 });
  const [p, a] = [c.newBlock("p"), c.newBlock("a")];
  engine.forward(c, [{ block: p, view: [p], tokens: [1, 2, 3] }]);
  // A host-valid plan, its second view entry moved into p (offset 1 < p's end 3), as a damaged recording might.
  const { plan, logitCount } = encodePlan(c, [{ block: a, view: [p, a], at: [0, 3], tokens: [4] }]);
  const offsets = sectionStarts(plan).view_offset;
  plan[offsets + 1] = 1;
  // (the own block moves with it: its query start is kept consistent so that only the overlap is wrong)
  plan[sectionStarts(plan).row_query_start] = 1;
  const logits = new Float32Array(logitCount * engine.vocab);
  assert.throws(
    () => engine.native.forward(c.native, plan, logits),
    /plan: row 0: view entry 1 \(block 1\) at offset 1 overlaps block 0, which ends at 3/,
  );
  plan[offsets + 1] = 3, plan[sectionStarts(plan).row_query_start] = 3;
  // Read in full: not the row's own block (its later tokens), and a flag is 0 or 1.
  const full = sectionStarts(plan).view_full;
  for (
    const [entry, value, message] of [[1, 1, /row 0: view entry 1 reads its own block in full/], [
      0,
      2,
      /view entry 0: view_full is not 0 or 1/,
    ]] as const
  ) {
    plan[full + entry] = value;
    assert.throws(() => engine.native.forward(c.native, plan, logits), message);
    plan[full + entry] = 0;
  }
  engine.native.forward(c.native, plan, logits); // the same plan unharmed runs
  // Nor a second entry of the own block, read in full past the query (its later tokens, as a damaged plan might).
  const d = c.newBlock("d");
  const second = encodePlan(c, [{ block: a, view: [p, a, d], at: [0, 3, 100], tokens: [4] }]).plan;
  second[sectionStarts(second).view_block + 2] = 1, second[sectionStarts(second).view_full + 2] = 1;
  assert.throws(
    () => engine.native.forward(c.native, second, logits),
    /row 0: view entry 2 reads its own block in full/,
  );
  // Nor positions past the RoPE tables' bound (2^24), which the plan's own bound (2^30) lets through: refused in
  // the one decoder of plans, for every backend (the GPU's table would have been asked for 512 GiB).
  const far = encodePlan(c, [{ block: a, view: [p, a], at: [0, 2 ** 24], tokens: [4] }]).plan;
  assert.throws(
    () => engine.native.forward(c.native, far, logits),
    /plan: view entry 1: positions past 16777216 \(the RoPE tables' bound\)/,
  );
});

function runPasses(
  engine: Engine,
  passes: ReturnType<typeof randomGappedPasses>,
  opts: { keyRotation?: boolean; shift?: number } = {},
) {
  const c = engine.newCache({ tokens: 16384 });
  const blocks = Array.from({ length: 8 }, (_, i) => c.newBlock(`b${i}`));
  return passes.map((rows) =>
    engine.forward(
      c,
      rows.map((r) => ({
        block: blocks[r.block],
        view: r.view.map((b) => blocks[b]),
        ...(r.at ? { at: r.at.map((x) => x + (opts.shift ?? 0)), full: r.full } : {}),
        tokens: r.tokens,
        logits: "all" as const,
      })),
      { keyRotation: opts.keyRotation },
    ).map((l) => l.slice())
  );
}

function worstDiff(a: Float32Array[][], b: Float32Array[][]): number {
  let worst = 0;
  a.forEach((pass, i) => pass.forEach((l, j) => (worst = Math.max(worst, maxAbsDiff(l, b[i][j])))));
  return worst;
}

for (const name of CASES) {
  Deno.test(`${name}: on gapped views, query rotation equals key rotation, and equals it with every block shifted`, async () => {
    const engine = await Engine.load(fixtureDir(name), { tokenizer: false });
    const rng = new Rng(31 + name.length);
    let worstSlow = 0, worstShift = 0, rows = 0, past = 0;
    for (let trial = 0; trial < 5; trial++) {
      const passes = randomGappedPasses(rng, engine.vocab, randInt(rng, 2, 8), true);
      const fast = runPasses(engine, passes);
      worstSlow = Math.max(worstSlow, worstDiff(fast, runPasses(engine, passes, { keyRotation: true })));
      // RoPE is relative: the whole view moved by the same amount reads the same; on the slow path every key and
      // query turns by the new absolute positions, so this checks placement, not one path against itself.
      const shift = randInt(rng, 1, 900);
      worstShift = Math.max(worstShift, worstDiff(fast, runPasses(engine, passes, { keyRotation: true, shift })));
      rows += passes.reduce((a, p) => a + p.length, 0);
      // full blocks past a row's own, whose keys lie above its queries (the query turns backwards)
      for (const r of passes.flat()) past += r.full!.filter((f, k) => f && k > r.view.indexOf(r.block)).length;
    }
    console.log(
      `${name}: ${rows} gapped rows, ${past} full blocks past the queries: worst |fast - slow| ${
        worstSlow.toExponential(2)
      }, shifted ${worstShift.toExponential(2)}`,
    );
    assert.ok(past > 0, "some rows read a full block past their queries");
    assert.ok(worstSlow < TOL, `fast vs slow: worst ${worstSlow}`);
    assert.ok(worstShift < TOL, `shifted: worst ${worstShift}`);
  });
}

Deno.test("a view of no gaps through `at` is the common case bit for bit; a gap changes what a query reads", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"), { tokenizer: false });
  const rng = new Rng(3);
  for (let trial = 0; trial < 4; trial++) {
    const plain = randomGappedPasses(rng, engine.vocab, 5, false);
    const zero = plain.map((rows) => rows.map((r) => ({ ...r, at: contiguous(plain, r) })));
    assert.equal(worstDiff(runPasses(engine, plain), runPasses(engine, zero)), 0, `trial ${trial}`);
  }
  // One block read after another, with and without 50 positions between them: the reads differ.
  const c = engine.newCache({ tokens: 1024 }), [a, b, g] = [c.newBlock("a"), c.newBlock("b"), c.newBlock("g")];
  const ids = Array.from({ length: 20 }, () => randInt(rng, 0, engine.vocab - 1));
  engine.forward(c, [{ block: a, view: [a], tokens: ids }]);
  const [near] = engine.forward(c, [{ block: b, view: [a, b], tokens: [7] }]);
  const [far] = engine.forward(c, [{ block: g, view: [a, g], at: [0, 70], tokens: [7] }]);
  assert.ok(maxAbsDiff(near, far) > 1e-3, "a gap of 50 positions is read as distance");
});

/** The offsets a row's view has without `at`: each block right after the one before (lengths after its pass). */
function contiguous(passes: ReturnType<typeof randomGappedPasses>, row: { block: number; view: number[] }): number[] {
  const len = new Array(8).fill(0);
  for (const rows of passes) {
    for (const r of rows) len[r.block] += r.tokens.length;
    if (rows.some((r) => r === row)) break;
  }
  const at: number[] = [];
  let end = 0;
  for (const b of row.view) (at.push(end), end += len[b]);
  return at;
}

Deno.test("a block placed past a row's queries is not read: positions, not the view's order, bound attention", async () => {
  const engine = await Engine.load(fixtureDir("llama3-tiny"), { tokenizer: false });
  const rng = new Rng(11);
  const c = engine.newCache({ tokens: 2048 });
  const [p, x, own, own2] = [c.newBlock("p"), c.newBlock("x"), c.newBlock("own"), c.newBlock("own2")];
  const ids = (n: number) => Array.from({ length: n }, () => randInt(rng, 0, engine.vocab - 1));
  engine.forward(c, [{ block: p, view: [p], tokens: ids(12) }, { block: x, view: [x], tokens: ids(9) }]);
  const q = ids(3);
  // own at 40 with x after it at 100: x sits past every query (40..42) and must not count.
  const [withX] = engine.forward(c, [{ block: own, view: [p, own, x], at: [0, 40, 100], tokens: q, logits: "all" }]);
  const [without] = engine.forward(c, [{ block: own2, view: [p, own2], at: [0, 40], tokens: q, logits: "all" }]);
  assert.equal(maxAbsDiff(withX, without), 0);
});

Deno.test("a block read in full: past the queries it is read, its distance counting; below them it is the causal read bit for bit", async () => {
  const engine = await Engine.load(fixtureDir("qwen3-tiny"), { tokenizer: false });
  const rng = new Rng(12);
  const c = engine.newCache({ tokens: 4096 });
  const ids = (n: number) => Array.from({ length: n }, () => randInt(rng, 0, engine.vocab - 1));
  const [p, x] = [c.newBlock("p"), c.newBlock("x")];
  engine.forward(c, [{ block: p, view: [p], tokens: ids(12) }, { block: x, view: [x], tokens: ids(9) }]);
  const q = ids(3);
  const read = (view: Block[], at: number[], full: boolean[]) => {
    const own = c.newBlock("own");
    const [l] = engine.forward(c, [{ block: own, view: [p, ...view, own], at, full, tokens: q, logits: "all" }]);
    return l.slice();
  };
  // x past the queries (40..42) at 100: read in full it counts, and where it sits counts.
  const above = (offset: number) => {
    const b = c.newBlock("own");
    const [l] = engine.forward(c, [{
      block: b,
      view: [p, b, x],
      at: [0, 40, offset],
      full: [false, false, true],
      tokens: q,
      logits: "all",
    }]);
    return l.slice();
  };
  const unread = read([], [0, 40], [false, false]);
  assert.ok(maxAbsDiff(above(100), unread) > 1e-3, "a full block past the queries is read");
  assert.ok(maxAbsDiff(above(100), above(300)) > 1e-3, "its distance above the queries counts");
  // x below the queries: read in full or causally, the same keys at the same positions.
  assert.equal(
    maxAbsDiff(read([x], [0, 20, 40], [false, true, false]), read([x], [0, 20, 40], [false, false, false])),
    0,
  );
});
