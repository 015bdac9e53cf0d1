/**
 * One forward pass as one batched plan: rows, each with its new tokens, the block they are appended to, and
 * the row's view (ordered blocks; a block's offset is the sum of the lengths before it). The rule: all rows
 * write their new tokens first, then every new token attends over its row's view, causal over view
 * positions, so rows of the same pass see each other's new tokens where their views place them.
 *
 * encodePlan flattens the rows into the Int32Array that cuda/src/spec.cc decodes (the layout: formats.ts).
 */
import type { Block, KVCache } from "./cache.ts";
import { ABI_VERSION, PLAN_HEADER, PLAN_MAGIC, PLAN_SECTIONS } from "./formats.ts";
import type { Sampler } from "./sampler.ts";

export interface Row {
  /** where the new tokens are written, appended at its current length */
  block: Block;
  /** the blocks this row reads, in order; `block` must appear exactly once */
  view: readonly Block[];
  tokens: ArrayLike<number>;
  /** which new tokens' logits to return (default "last") */
  logits?: "all" | "last" | "none";
  /** Engine.forwardSample: how the next token after this row's last one is chosen (none: nothing sampled) */
  sampler?: Sampler;
}

export interface EncodedPlan {
  plan: Int32Array;
  /** per row: [first logit row, number of logit rows] in the pass's logits */
  logitRows: [number, number][];
  logitCount: number;
}

/** Validates rows, reserves pages, and encodes the plan (formats.ts). Block lengths advance only via commitPlan. */
export function encodePlan(cache: KVCache, rows: readonly Row[], keyRotation = false): EncodedPlan {
  if (rows.length === 0) throw new Error("plan: no rows");
  const blockIndex = new Map<Block, number>();
  const blocks: Block[] = [];
  const newLen = new Map<Block, number>();
  const index = (b: Block) => {
    let i = blockIndex.get(b);
    if (i === undefined) {
      if (!cache.owns(b)) throw new Error(`plan: block ${b.label || b.id} is not (or no longer) in this cache`);
      i = blocks.length;
      blockIndex.set(b, i);
      blocks.push(b);
    }
    return i;
  };
  let T = 0, E = 0, L = 0;
  for (const [r, row] of rows.entries()) {
    const n = row.tokens.length;
    if (n === 0) throw new Error(`plan: row ${r} has no tokens`);
    if (newLen.has(row.block)) {
      throw new Error(`plan: two rows write to block ${row.block.label || row.block.id} in one pass`);
    }
    let own = 0;
    for (const b of row.view) if (b === row.block) own++;
    if (own !== 1) throw new Error(`plan: row ${r}'s view holds its own block ${own} times (exactly once is required)`);
    newLen.set(row.block, row.block.length + n);
    T += n;
    E += row.view.length;
    L += row.logits === "all" ? n : row.logits === "none" ? 0 : 1;
  }
  for (const row of rows) for (const b of row.view) index(b);
  for (const [b, len] of newLen) cache.reserve(b, len);
  const lenOf = (b: Block) => newLen.get(b) ?? b.length;
  const B = blocks.length;
  let P = 0;
  for (const b of blocks) P += Math.ceil(lenOf(b) / cache.pageSize);
  const R = rows.length;
  const counts = { T, R, B, E, L, P };
  // Each section's start, walking the table.
  const start: Record<string, number> = {};
  let size = PLAN_HEADER.length;
  for (const s of PLAN_SECTIONS) (start[s.name] = size, size += counts[s.count] + s.plus);
  const plan = new Int32Array(size);
  plan.set([PLAN_MAGIC, ABI_VERSION, T, R, B, E, L, keyRotation ? 1 : 0, P]);
  const {
    tokens,
    row_token_start: rowTokenStart,
    row_block: rowBlock,
    row_write_start: rowWrite,
    row_query_start: rowQuery,
    row_view_start: rowView,
    view_block: viewBlock,
    view_offset: viewOffset,
    block_len: blockLen,
    block_page_start: blockPageStart,
    block_pages: blockPages,
    logit_tokens: logitTokens,
  } = start;
  const logitRows: [number, number][] = [];
  let t = 0, e = 0, l = 0;
  for (const [r, row] of rows.entries()) {
    const n = row.tokens.length;
    plan[rowTokenStart + r] = t;
    plan[rowBlock + r] = blockIndex.get(row.block)!;
    plan[rowWrite + r] = row.block.length;
    plan[rowView + r] = e;
    let offset = 0;
    for (const b of row.view) {
      if (b === row.block) plan[rowQuery + r] = offset + row.block.length;
      plan[viewBlock + e] = blockIndex.get(b)!;
      plan[viewOffset + e] = offset;
      offset += lenOf(b);
      e++;
    }
    const first = row.logits === "all" ? 0 : row.logits === "none" ? n : n - 1;
    logitRows.push([l, n - first]);
    for (let i = first; i < n; i++) plan[logitTokens + l++] = t + i;
    for (let i = 0; i < n; i++) {
      const id = row.tokens[i];
      if (id !== (id | 0) || id < 0) throw new Error(`plan: row ${r} token ${i} is ${id}, not a token id`);
      plan[tokens + t++] = id;
    }
  }
  plan[rowTokenStart + R] = T;
  plan[rowView + R] = E;
  let p = 0;
  for (const [i, b] of blocks.entries()) {
    plan[blockLen + i] = lenOf(b);
    plan[blockPageStart + i] = p;
    const pages = Math.ceil(lenOf(b) / cache.pageSize);
    for (let k = 0; k < pages; k++) plan[blockPages + p++] = b.pages[k];
  }
  plan[blockPageStart + B] = P;
  return { plan, logitRows, logitCount: L };
}

/** Pages the cache must hand out for these rows to be written. */
export function pagesNeeded(cache: KVCache, rows: readonly Row[]): number {
  let n = 0;
  for (const r of rows) {
    n += Math.max(0, Math.ceil((r.block.length + r.tokens.length) / cache.pageSize) - r.block.pages.length);
  }
  return n;
}

/** After a pass has run: the rows' blocks now hold their new tokens. */
export function commitPlan(rows: readonly Row[]): void {
  for (const row of rows) row.block.length += row.tokens.length;
}
