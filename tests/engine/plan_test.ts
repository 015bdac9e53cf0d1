/**
 * engine/plan.ts and engine/cache.ts as tables: what a plan encodes, what it refuses, how pages come and go,
 * that a pass the core refuses gives its pages back, and a pass's shape as the cost model counts it.
 */
import assert from "node:assert/strict";
import { KVCache } from "../../engine/cache.ts";
import { Engine } from "../../engine/model.ts";
import { PLAN_HEADER, PLAN_SECTIONS } from "../../engine/formats.ts";
import { commitPlan, encodePlan, pagesNeeded, passShape, type Row } from "../../engine/plan.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { newSolver, parseMethod } from "../../harness/generation/methods.ts";
import { runAll, type StepModel } from "../../harness/generation/schedule.ts";
import { RowModel } from "../helpers.ts";

const cache = (pages = 64, pageSize = 4) => new KVCache({ bytes: 0, pages, pageSize });

/** The plan's sections by name, as the native core reads them. */
function sections(plan: Int32Array): Record<string, number[]> {
  const header = Object.fromEntries(PLAN_HEADER.map((k, i) => [k, plan[i]]));
  const out: Record<string, number[]> = {};
  let at = PLAN_HEADER.length;
  for (const s of PLAN_SECTIONS) {
    const n = header[s.count] + s.plus;
    out[s.name] = [...plan.subarray(at, at + n)];
    at += n;
  }
  assert.equal(at, plan.length, "the sections tile the plan");
  return out;
}

Deno.test("encodePlan: rows, views, offsets, query positions, pages and logit tokens", () => {
  // positions: the view positions the pass reaches (the max over rows of query start + new tokens)
  const cases: { name: string; rows: (c: KVCache) => Row[]; want: Record<string, number[]>; positions: number }[] = [
    {
      name: "one row, a plain sequence",
      rows: (c) => {
        const a = c.newBlock("a");
        return [{ block: a, view: [a], tokens: [5, 6, 7], logits: "all" }];
      },
      want: {
        tokens: [5, 6, 7],
        row_query_start: [0],
        view_offset: [0],
        block_len: [3],
        block_pages: [0],
        logit_tokens: [0, 1, 2],
      },
      positions: 3,
    },
    {
      name: "two rows that see each other's blocks in other orders",
      rows: (c) => {
        const [a, b] = [c.newBlock("a"), c.newBlock("b")];
        return [
          { block: a, view: [b, a], tokens: [1, 2], logits: "last" },
          { block: b, view: [a, b], tokens: [3, 4, 5], logits: "none" },
        ];
      },
      want: {
        row_token_start: [0, 2, 5],
        // blocks are numbered as views first name them: b, then a
        row_block: [1, 0],
        row_query_start: [3, 2],
        view_block: [0, 1, 1, 0],
        view_offset: [0, 3, 0, 2],
        block_len: [3, 2],
        logit_tokens: [1],
      },
      positions: 5,
    },
    {
      name: "a block that spills into a second page, written after earlier tokens",
      rows: (c) => {
        const a = c.newBlock("a");
        a.length = 3;
        c.reserve(a, 3);
        return [{ block: a, view: [a], tokens: [9, 9] }];
      },
      want: {
        row_write_start: [3],
        row_query_start: [3],
        block_len: [5],
        block_pages: [0, 1],
        block_page_start: [0, 2],
      },
      positions: 5,
    },
  ];
  for (const { name, rows, want, positions } of cases) {
    const c = cache();
    const encoded = encodePlan(c, rows(c));
    const got = sections(encoded.plan);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${name}: ${k}`);
    assert.equal(encoded.positions, positions, `${name}: positions`);
  }
});

Deno.test("encodePlan's positions are the largest query start plus new tokens, on random plans", () => {
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let trial = 0; trial < 200; trial++) {
    const c = cache(1024, 4);
    const blocks = Array.from({ length: 1 + next(5) }, (_, i) => c.newBlock(`b${i}`));
    for (const b of blocks) c.reserve(b, b.length = next(20));
    const writers = blocks.filter(() => next(2) === 0);
    const rows: Row[] = (writers.length ? writers : blocks.slice(0, 1)).map((block) => {
      const view = blocks.filter((b) => b === block || next(2) === 0).sort(() => next(3) - 1);
      return { block, view, tokens: new Array(1 + next(6)).fill(1) };
    });
    const encoded = encodePlan(c, rows), s = sections(encoded.plan);
    const want = Math.max(...rows.map((r, i) => s.row_query_start[i] + r.tokens.length));
    assert.equal(encoded.positions, want, `trial ${trial}`);
  }
});

Deno.test("encodePlan refuses bad rows, naming the row", () => {
  const cases: [string, (c: KVCache) => Row[], RegExp][] = [
    ["no rows", () => [], /plan: no rows/],
    ["no tokens", (c) => {
      const a = c.newBlock("a");
      return [{ block: a, view: [a], tokens: [] }];
    }, /row 0 has no tokens/],
    ["own block twice", (c) => {
      const a = c.newBlock("a");
      return [{ block: a, view: [a, a], tokens: [1] }];
    }, /row 0's view holds its own block 2 times/],
    ["own block missing", (c) => {
      const [a, b] = [c.newBlock("a"), c.newBlock("b")];
      return [{ block: a, view: [b], tokens: [1] }];
    }, /row 0's view holds its own block 0 times/],
    ["two writers of one block", (c) => {
      const a = c.newBlock("a");
      return [{ block: a, view: [a], tokens: [1] }, { block: a, view: [a], tokens: [2] }];
    }, /two rows write to block a/],
    ["a freed block", (c) => {
      const [a, b] = [c.newBlock("a"), c.newBlock("gone")];
      c.free(b);
      return [{ block: a, view: [b, a], tokens: [1] }];
    }, /block gone is not \(or no longer\) in this cache/],
    ["not a token id", (c) => {
      const a = c.newBlock("a");
      return [{ block: a, view: [a], tokens: [1, -2] }];
    }, /row 0 token 1 is -2, not a token id/],
    ["more than the pool", (c) => {
      const a = c.newBlock("a");
      return [{ block: a, view: [a], tokens: new Array(1000).fill(1) }];
    }, /KV cache exhausted/],
  ];
  for (const [name, rows, message] of cases) {
    const c = cache();
    assert.throws(() => encodePlan(c, rows(c)), message, name);
  }
});

Deno.test("pages: reserve, commit, truncate, free, and what a pass still needs", () => {
  const c = cache(8, 4);
  const [a, b] = [c.newBlock("a"), c.newBlock("b")];
  const rows: Row[] = [{ block: a, view: [a], tokens: [1, 2, 3, 4, 5] }, { block: b, view: [a, b], tokens: [6] }];
  assert.equal(pagesNeeded(c, rows), 3);
  encodePlan(c, rows);
  assert.equal(pagesNeeded(c, rows), 0, "reserved by the encoding");
  commitPlan(rows);
  assert.deepEqual([a.length, b.length, c.freePages], [5, 1, 5]);
  assert.deepEqual(a.pages, [0, 1], "pages handed out in ascending order");
  c.truncate(a, 4);
  assert.deepEqual([a.length, a.pages.length, c.freePages], [4, 1, 6]);
  assert.throws(() => c.truncate(a, 5), /truncate: 5 outside \[0, 4\]/);
  c.free(a);
  c.free(a); // twice is harmless
  assert.deepEqual([a.length, c.freePages, c.owns(a), c.owns(b)], [0, 7, false, true]);
  assert.throws(() => c.reserve(b, 100), /KV cache exhausted: 8 pages of 4 tokens/);
  assert.equal(b.pages.length, 1, "a refused reservation takes nothing");
});

Deno.test("a pass the core refuses leaves no page reserved and no block longer", async () => {
  const engine = await Engine.load("random:qwen3-demo", { tokenizer: false });
  const c = engine.newCache({ tokens: 256 });
  const [a, b] = [c.newBlock("a"), c.newBlock("b")];
  engine.forward(c, [{ block: a, view: [a], tokens: [1, 2, 3] }]);
  const free = c.freePages;
  // A token id past the vocabulary passes the host's checks and is refused by the core, after the reservation.
  const rows: Row[] = [{ block: a, view: [a], tokens: new Array(40).fill(5) }, {
    block: b,
    view: [a, b],
    tokens: [engine.vocab + 5],
  }];
  assert.throws(() => engine.forward(c, rows), /token id \d+ is out of range/);
  await assert.rejects(() => engine.forwardSample(c, rows), /token id \d+ is out of range/);
  assert.deepEqual([c.freePages, a.length, b.length, a.pages.length, b.pages.length], [free, 3, 0, 1, 0]);
});

Deno.test("passShape counts each new token against the keys below it, and a full block's past it", () => {
  const c = cache();
  const [p, x, own] = [c.newBlock("p"), c.newBlock("x"), c.newBlock("own")];
  [p.length, x.length, own.length] = [5, 7, 3];
  const shape = (view: Row["view"], full?: boolean[]) =>
    passShape([{ block: own, view, ...(full ? { full } : {}), tokens: [1, 2], sampler: undefined }]).attention;
  // two new tokens at 3 and 4 of own: 3 and 4 of its own keys before them, plus (1 + 2) for themselves
  assert.equal(shape([p, own, x]), 2 * (5 + 3) + 3, "x past the queries is not read");
  assert.equal(shape([p, own, x], [false, false, true]), 2 * (5 + 3 + 7) + 3, "x read in full");
  assert.equal(shape([p, x, own], [false, true, false]), shape([p, x, own]), "x below the queries: the same keys");
  // Another row writing p in the same pass: its new tokens are read too (every row writes before anyone reads).
  const both = passShape([
    { block: p, view: [p], tokens: [7, 8, 9], logits: "none" },
    { block: own, view: [p, own], tokens: [1, 2] },
  ]);
  assert.equal(both.attention, 3 * 5 + 6 + 2 * (8 + 3) + 3, "p's three new keys read by own's two tokens");
  assert.equal(both.kv, 8 + 5);
});

/**
 * The (new token, view entry) pairs the attention kernels iterate over, read from an encoded plan as they read it:
 * for each row's each new token at its view position, each entry whose `Plan::visible` (cuda/include/hogwild.h) is
 * above 0 (cuda/src/attn_meta.cc's segments; cpu_model.cc `attention`'s parts), and the distinct blocks of them.
 */
function kernelSegments(plan: Int32Array): { segments: number; blocks: number } {
  const s = sections(plan), R = plan[PLAN_HEADER.indexOf("R")];
  const visible = (e: number, pos: number) => {
    const len = s.block_len[s.view_block[e]];
    return s.view_full[e] ? len : Math.max(0, Math.min(len, pos - s.view_offset[e] + 1));
  };
  let segments = 0;
  const blocks = new Set<number>();
  for (let r = 0; r < R; r++) {
    for (let t = s.row_token_start[r]; t < s.row_token_start[r + 1]; t++) {
      const pos = s.row_query_start[r] + (t - s.row_token_start[r]);
      for (let e = s.row_view_start[r]; e < s.row_view_start[r + 1]; e++) {
        if (visible(e, pos) > 0) segments++, blocks.add(s.view_block[e]);
      }
    }
  }
  return { segments, blocks: blocks.size };
}

Deno.test("passShape counts the (new token, view block) pairs and the distinct blocks the kernels read, as the plan places them", () => {
  const c = cache(256);
  const [p, x, e, own, other] = ["p", "x", "empty", "own", "other"].map((l) => c.newBlock(l));
  [p.length, x.length, e.length, own.length, other.length] = [5, 7, 0, 3, 2];
  const fragments = Array.from({ length: 6 }, (_, i) => {
    const b = c.newBlock(`f${i}`);
    b.length = 1 + i;
    return b;
  });
  const cases: { name: string; rows: Row[]; want: [number, number] }[] = [
    { name: "one token over prompt and own", rows: [{ block: own, view: [p, own], tokens: [1] }], want: [2, 2] },
    {
      name: "each of three tokens a segment per block",
      rows: [{ block: own, view: [p, own], tokens: [1, 2, 3] }],
      want: [6, 2],
    },
    { name: "an empty block is skipped", rows: [{ block: own, view: [p, e, own], tokens: [1] }], want: [2, 2] },
    {
      name: "a block past the queries is not read",
      rows: [{ block: own, view: [p, own, x], tokens: [1, 2] }],
      want: [4, 2],
    },
    {
      name: "a block past the queries read in full is",
      rows: [{ block: own, view: [p, own, x], full: [false, false, true], tokens: [1, 2] }],
      want: [6, 3],
    },
    {
      name: "gaps between blocks change nothing",
      rows: [{ block: own, view: [p, x, own], at: [0, 40, 90], tokens: [1] }],
      want: [3, 3],
    },
    {
      name: "an empty own block with its new tokens",
      rows: [{ block: e, view: [p, e], tokens: [1, 2] }],
      want: [4, 2],
    },
    {
      name: "many small blocks: a segment each, per row and token; shared blocks counted once",
      rows: [
        { block: own, view: [...fragments, own], tokens: [1] },
        { block: other, view: [...fragments, other], tokens: [1, 2] },
      ],
      want: [7 + 2 * 7, 8],
    },
    {
      name: "a block another row of the pass writes, empty before it: read with its new keys",
      rows: [
        { block: e, view: [e], tokens: [4, 5], logits: "none" },
        { block: own, view: [e, own], tokens: [1] },
      ],
      want: [2 + 2, 2],
    },
  ];
  for (const k of cases) {
    const shape = passShape(k.rows), plan = encodePlan(c, k.rows).plan;
    assert.deepEqual([shape.segments, shape.blocks], k.want, k.name);
    const seen = kernelSegments(plan);
    assert.deepEqual([shape.segments, shape.blocks], [seen.segments, seen.blocks], `${k.name}: as the kernels read it`);
  }
});

Deno.test("passShape's segments and blocks are the kernels' on every pass of real runs (Hogwild!, self-consistency, sequential, Group Think)", async () => {
  const tok = TextTokenizer.qwen3();
  const generation = { eosTokenIds: [151645], doSample: true, temperature: 1, topK: 0, topP: 1, minP: 0 };
  for (
    const method of ["hogwild:4", "hogwild:2:contiguous", "hogwild:3:interleaved", "sc:4", "sequential", "groupthink:3"]
  ) {
    const c = new KVCache({ bytes: 0, pages: 1 << 14, pageSize: 16 });
    const run = newSolver(c, parseMethod(method), "What is 2+2?", 1, {
      tokenizer: tok,
      generation,
      budgets: [24, 48],
      finisherTokens: 4,
    });
    const inner = new RowModel(tok, 6);
    let passes = 0, most = 0;
    const checking: StepModel = {
      forwardSample(cache, rows) {
        const seen = kernelSegments(encodePlan(cache, rows).plan), shape = passShape(rows);
        assert.deepEqual([shape.segments, shape.blocks], [seen.segments, seen.blocks], `${method}, pass ${passes}`);
        passes++, most = Math.max(most, shape.segments);
        return inner.forwardSample(cache, rows);
      },
      forwardSampleLogprobs: (cache, rows) => inner.forwardSampleLogprobs(cache, rows),
    };
    await runAll(checking, c, [run]);
    assert.ok(passes > 20, `${method}: ${passes} passes`);
    if (method.startsWith("hogwild:4")) assert.ok(most > 20, `hogwild:4 reads many blocks a pass (${most} segments)`);
  }
});
