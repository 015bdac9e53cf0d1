/**
 * The KV cache as the host sees it: a pool of fixed-size pages (memory lives in the native core) and blocks,
 * each an ordered list of pages plus a length. A block stores its keys as if it began at position 0, so any
 * view may place it at any offset. Blocks are cheap: a committed step can stay a block of its own.
 */
import type { NativeCache } from "./native.ts";

export class Block {
  /** pages holding this block's tokens, in order */
  readonly pages: number[] = [];
  /** tokens written so far */
  length = 0;
  constructor(readonly id: number, readonly label: string) {}
}

export class KVCache {
  #free: number[];
  #nextId = 0;
  #live = new Set<Block>();

  constructor(readonly native: NativeCache) {
    // Pop from the end: pages are handed out in ascending order.
    this.#free = Array.from({ length: native.pages }, (_, i) => native.pages - 1 - i);
  }

  get pageSize(): number {
    return this.native.pageSize;
  }
  get freePages(): number {
    return this.#free.length;
  }
  get capacityTokens(): number {
    return this.native.pages * this.native.pageSize;
  }

  newBlock(label = ""): Block {
    const b = new Block(this.#nextId++, label);
    this.#live.add(b);
    return b;
  }

  /** Frees the cache's memory now (device memory on a GPU), not when the garbage collector gets to it. */
  dispose(): void {
    this.native.dispose?.();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Returns the block's pages to the pool; the block must not be used again. */
  free(block: Block): void {
    if (!this.#live.delete(block)) return;
    for (let i = block.pages.length - 1; i >= 0; i--) this.#free.push(block.pages[i]);
    block.pages.length = 0;
    block.length = 0;
  }

  /** Truncates a block to `length` tokens (dropping a finisher's tail, say), returning whole unused pages. */
  truncate(block: Block, length: number): void {
    if (length < 0 || length > block.length) throw new RangeError(`truncate: ${length} outside [0, ${block.length}]`);
    block.length = length;
    const keep = Math.ceil(length / this.pageSize);
    while (block.pages.length > keep) this.#free.push(block.pages.pop()!);
  }

  owns(block: Block): boolean {
    return this.#live.has(block);
  }

  /**
   * Grows a block to `length` tokens without a forward pass, keeping whatever the pages hold. Only for
   * benchmarks, whose timings do not depend on the keys' values (a 4096-token prefill would dominate them).
   */
  claimForBenchmark(block: Block, length: number): void {
    this.reserve(block, length);
    block.length = length;
  }

  /** Makes room in `block` for `length` tokens in all; throws when the pool is exhausted. */
  reserve(block: Block, length: number): void {
    this.reserveAll(new Map([[block, length]]));
  }

  /** Pages the pool must hand out for every block to reach its length. */
  pagesNeeded(lengths: ReadonlyMap<Block, number>): number {
    let total = 0;
    for (const [b, length] of lengths) total += Math.max(0, Math.ceil(length / this.pageSize) - b.pages.length);
    return total;
  }

  /** Makes room in every block for its length, all or none: throws (taking nothing) when the pool is short. */
  reserveAll(lengths: ReadonlyMap<Block, number>): void {
    if (this.pagesNeeded(lengths) > this.#free.length) {
      throw new Error(
        `KV cache exhausted: ${this.native.pages} pages of ${this.pageSize} tokens (${this.capacityTokens} tokens) are in use; ` +
          `make the cache larger (more tokens) or free blocks`,
      );
    }
    for (const [b, length] of lengths) {
      for (let need = Math.ceil(length / this.pageSize) - b.pages.length; need > 0; need--) {
        b.pages.push(this.#free.pop()!);
      }
    }
  }
}
