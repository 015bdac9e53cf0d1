/**
 * One forward pass as one batched plan: rows, each with its new tokens, the block they are appended to, and
 * the row's view (ordered blocks; a block's offset is the sum of the lengths before it, or where the row's `at`
 * places it: a view may leave gaps between its blocks, never overlaps). The rule: all rows
 * write their new tokens first, then every new token attends over its row's view, causal over view
 * positions, so rows of the same pass see each other's new tokens where their views place them. A block the
 * row's `full` marks is read whole, its keys placed past the query too (Group Think's thinkers read each other
 * so).
 *
 * encodePlan flattens the rows into the Int32Array that cuda/src/spec.cc decodes (the layout: formats.ts).
 */
import type { Block, KVCache } from "./cache.ts";
import { ABI_VERSION, PLAN_HEADER, PLAN_MAGIC, PLAN_SECTIONS } from "./formats.ts";
import type { Sampler } from "./sampler.ts";
import { InputError } from "./errors.ts";

export interface Row {
  /** where the new tokens are written, appended at its current length */
  block: Block;
  /** the blocks this row reads, in order; `block` must appear exactly once */
  view: readonly Block[];
  /**
   * the view position of each block of `view` (default: each right after the one before); each at or after the
   * end of the block before it (its length after this pass), so that positions may have gaps but never overlap
   */
  at?: readonly number[];
  /**
   * per block of `view`: true reads the whole block (its length after this pass), whatever its position, keys
   * past the query included (default: none; causal over positions); never the row's own block
   */
  full?: readonly boolean[];
  tokens: ArrayLike<number>;
  /** which new tokens' logits to return (default "last") */
  logits?: "all" | "last" | "none";
  /** Engine.forwardSample: how the next token after this row's last one is chosen (none: nothing sampled) */
  sampler?: Sampler;
  /** 1..20: return with the sampled id the log-probabilities of the sampled id and of the k most likely ids (needs a sampler) */
  logprobs?: number;
}

/** The most top log-probabilities a row may ask for. */
export const MAX_LOGPROBS = 20;

export interface EncodedPlan {
  plan: Int32Array;
  /** per row: [first logit row, number of logit rows] in the pass's logits */
  logitRows: [number, number][];
  logitCount: number;
  /** the view positions the pass reaches, plus one: the largest of each row's last new token's and last full key's */
  positions: number;
  /** the first row that reaches `positions` (an error past the model's limit names its run) */
  widest: number;
}

/** A pass refused for reaching past the model's max_position_embeddings; `row`: the first row that does (EncodedPlan.widest),
 * so that a scheduler can name the run it belongs to. */
export class PastContext extends InputError {
  constructor(message: string, readonly row: number) {
    super(message);
  }
}

/** Validates rows, reserves pages, and encodes the plan (formats.ts). Block lengths advance only via commitPlan. */
export function encodePlan(cache: KVCache, rows: readonly Row[], keyRotation = false): EncodedPlan {
  const scan = scanRows(cache, rows);
  cache.reserveAll(scan.newLen);
  const lenOf = (b: Block) => scan.newLen.get(b) ?? b.length;
  const P = scan.blocks.reduce((a, b) => a + Math.ceil(lenOf(b) / cache.pageSize), 0);
  const counts = { T: scan.T, R: rows.length, B: scan.blocks.length, E: scan.E, L: scan.L, P };
  // Each section's start, walking the table.
  const at: Record<string, number> = {};
  let size = PLAN_HEADER.length;
  for (const s of PLAN_SECTIONS) (at[s.name] = size, size += counts[s.count] + s.plus);
  const plan = new Int32Array(size);
  plan.set([PLAN_MAGIC, ABI_VERSION, counts.T, counts.R, counts.B, counts.E, counts.L, keyRotation ? 1 : 0, P]);
  const { logitRows, positions, widest } = writeRows(plan, at, rows, scan.blockIndex, lenOf);
  plan[at.row_token_start + counts.R] = counts.T;
  plan[at.row_view_start + counts.R] = counts.E;
  let p = 0;
  for (const [i, b] of scan.blocks.entries()) {
    plan[at.block_len + i] = lenOf(b);
    plan[at.block_page_start + i] = p;
    const pages = Math.ceil(lenOf(b) / cache.pageSize);
    for (let k = 0; k < pages; k++) plan[at.block_pages + p++] = b.pages[k];
  }
  plan[at.block_page_start + counts.B] = P;
  return { plan, logitRows, logitCount: counts.L, positions, widest };
}

/** Checks every row (nothing changes when one is bad); numbers the blocks in the order views name them. */
function scanRows(cache: KVCache, rows: readonly Row[]) {
  if (rows.length === 0) throw new Error("plan: no rows");
  const blockIndex = new Map<Block, number>(), blocks: Block[] = [], newLen = new Map<Block, number>();
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
    if (row.full) checkFull(r, row);
    const k = row.logprobs;
    if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= MAX_LOGPROBS && row.sampler)) {
      throw new Error(`plan: row ${r}'s logprobs is ${k}: expected an integer in 1..${MAX_LOGPROBS}, with a sampler`);
    }
    for (let i = 0; i < n; i++) {
      const id = row.tokens[i];
      if (id !== (id | 0) || id < 0) throw new Error(`plan: row ${r} token ${i} is ${id}, not a token id`);
    }
    newLen.set(row.block, row.block.length + n);
    T += n;
    E += row.view.length;
    L += row.logits === "all" ? n : row.logits === "none" ? 0 : 1;
  }
  for (const [r, row] of rows.entries()) if (row.at) checkPlaces(r, row, (b) => newLen.get(b) ?? b.length);
  for (const row of rows) {
    for (const b of row.view) {
      if (blockIndex.has(b)) continue;
      if (!cache.owns(b)) throw new Error(`plan: block ${b.label || b.id} is not (or no longer) in this cache`);
      blockIndex.set(b, blocks.length);
      blocks.push(b);
    }
  }
  return { blockIndex, blocks, newLen, T, E, L };
}

/** Past any position a model reaches; keeps every offset inside the plan's int32 words. */
const MAX_AT = 2 ** 30;

/** A row's `at`: one whole, non-negative position per view block, none inside the block before it. */
function checkPlaces(r: number, row: Row, lenOf: (b: Block) => number) {
  const at = row.at!, name = (b: Block) => b.label || b.id;
  if (at.length !== row.view.length) {
    throw new Error(`plan: row ${r}'s at has ${at.length} positions for ${row.view.length} view blocks`);
  }
  for (const [k, b] of row.view.entries()) {
    if (!Number.isInteger(at[k]) || at[k] < 0 || at[k] >= MAX_AT) {
      throw new Error(`plan: row ${r} places block ${name(b)} at ${at[k]}, not a view position (0..${MAX_AT - 1})`);
    }
    const prev = row.view[k - 1], end = k > 0 ? at[k - 1] + lenOf(prev) : 0;
    if (at[k] < end) {
      throw new Error(
        `plan: row ${r} places block ${name(b)} at ${at[k]}, inside block ${name(prev)} (${at[k - 1]}..${end - 1})`,
      );
    }
  }
}

/** A row's `full`: one flag per view block, the row's own block not among them (its later tokens stay unread). */
function checkFull(r: number, row: Row) {
  const full = row.full!;
  if (full.length !== row.view.length) {
    throw new Error(`plan: row ${r}'s full has ${full.length} flags for ${row.view.length} view blocks`);
  }
  if (full.some((f) => typeof f !== "boolean")) {
    throw new Error(`plan: row ${r}'s full holds a flag that is not a boolean`);
  }
  if (full[row.view.indexOf(row.block)]) {
    throw new Error(
      `plan: row ${r} reads its own block ${row.block.label || row.block.id} in full (it must be causal)`,
    );
  }
}

/** The rows' sections: tokens, their blocks, views with offsets, query positions, logit tokens. */
function writeRows(
  plan: Int32Array,
  at: Record<string, number>,
  rows: readonly Row[],
  blockIndex: Map<Block, number>,
  lenOf: (b: Block) => number,
): { logitRows: [number, number][]; positions: number; widest: number } {
  const logitRows: [number, number][] = [];
  let t = 0, e = 0, l = 0, positions = 0, widest = 0;
  for (const [r, row] of rows.entries()) {
    const before = positions;
    const n = row.tokens.length;
    plan[at.row_token_start + r] = t;
    plan[at.row_block + r] = blockIndex.get(row.block)!;
    plan[at.row_write_start + r] = row.block.length;
    plan[at.row_view_start + r] = e;
    let offset = 0;
    for (const [k, b] of row.view.entries()) {
      if (row.at) offset = row.at[k];
      if (b === row.block) {
        plan[at.row_query_start + r] = offset + row.block.length;
        positions = Math.max(positions, offset + row.block.length + n);
      }
      plan[at.view_block + e] = blockIndex.get(b)!;
      plan[at.view_offset + e] = offset;
      plan[at.view_full + e] = row.full?.[k] ? 1 : 0;
      // a block read in full reaches its last key's position, past the queries or not
      if (row.full?.[k]) positions = Math.max(positions, offset + lenOf(b));
      offset += lenOf(b);
      e++;
    }
    const first = row.logits === "all" ? 0 : row.logits === "none" ? n : n - 1;
    logitRows.push([l, n - first]);
    for (let i = first; i < n; i++) plan[at.logit_tokens + l++] = t + i;
    for (let i = 0; i < n; i++) plan[at.tokens + t++] = row.tokens[i];
    if (positions > before) widest = r;
  }
  return { logitRows, positions, widest };
}

/** Pages the cache must hand out for these rows to be written. */
export function pagesNeeded(cache: KVCache, rows: readonly Row[]): number {
  return cache.pagesNeeded(new Map(rows.map((r) => [r.block, r.block.length + r.tokens.length])));
}

/** After a pass has run: the rows' blocks now hold their new tokens. */
export function commitPlan(rows: readonly Row[]): void {
  for (const row of rows) row.block.length += row.tokens.length;
}

/** The shape of a pass, as a cost model of its time reads it (harness/bench/cost.ts). */
export interface PassShape {
  rows: number;
  /** new tokens */
  tokens: number;
  /** query-key pairs: every new token against every key its view holds up to it, and every key of a full block */
  attention: number;
  /** distinct KV tokens the pass reads (every block of every view once, with its new tokens) */
  kv: number;
  /** rows whose logits come back or are sampled */
  logits: number;
  /** rows that also take their top-k log-probabilities */
  logprobs: number;
  /**
   * (new token, view entry) pairs in which the token sees a key of the entry's block: the unit the attention
   * kernels iterate over (cuda/src/cpu_model.cc `attention`'s parts, cuda/src/attn_meta.cc's segments, both
   * skipping an entry where `Plan::visible` is 0), each with its own turn of the query, partial softmax and
   * merge. A row of n new tokens whose view holds k blocks it sees counts n·k: a view cut into many small
   * blocks costs this many, whatever its KV tokens. Absent (0) in shapes stored before it was counted.
   */
  segments: number;
  /**
   * distinct blocks some new token sees a key of: the CUDA kernel's work items are per block (and per chunk of
   * its keys, per group of the tokens that read it), the CPU's per block and group of tokens. Absent (0) in
   * shapes stored before it was counted.
   */
  blocks: number;
}

/**
 * The shape of a pass over `rows`: every block at its length after the pass's writes (all rows write, then read).
 * A view entry is seen by a row's new tokens (cuda/include/hogwild.h `Plan::visible` > 0) when its block holds a
 * key and sits below the row's own block, or is read in full, or is the row's own block (it holds the token
 * itself); an entry past the own block and not read in full sits above every new token of the row.
 */
export function passShape(rows: readonly Row[]): PassShape {
  let tokens = 0, attention = 0, logits = 0, logprobs = 0, segments = 0;
  const seen = new Set<Block>(), read = new Set<Block>();
  const after = new Map(rows.map((r) => [r.block, r.block.length + r.tokens.length]));
  const lenOf = (b: Block) => after.get(b) ?? b.length;
  for (const r of rows) {
    const n = r.tokens.length;
    // Blocks before the row's own sit below its queries; after it, past them, read only when full.
    let before = 0, past = 0, own = false;
    for (const [k, b] of r.view.entries()) {
      const len = lenOf(b), full = r.full?.[k] ?? false;
      if (b === r.block) own = true;
      else if (!own) before += len;
      else if (full) past += len;
      if (b === r.block || (len > 0 && (!own || full))) segments += n, read.add(b);
    }
    const q = before + r.block.length; // the keys below the row's first new token
    tokens += n;
    attention += n * (q + past) + (n * (n + 1)) / 2;
    logits += r.sampler || r.logits === "last" || r.logits === undefined ? 1 : r.logits === "all" ? n : 0;
    if (r.logprobs) logprobs++;
    for (const b of r.view) seen.add(b);
  }
  let kv = 0;
  for (const b of seen) kv += lenOf(b);
  return { rows: rows.length, tokens, attention, kv, logits, logprobs, segments, blocks: read.size };
}
