/**
 * Recordings of forward passes for cuda/tools/replay.cc, which replays them with no JavaScript (the GPU
 * machines have no node): the model spec, the cache geometry, then each pass's plan and the logits to
 * compare against (the recording engine's own, a reference's, or none for timing-only passes).
 */
export class Recorder {
  readonly #passes: { plan: Int32Array; logits: Float32Array }[] = [];

  constructor(readonly spec: Uint8Array, readonly pages: number, readonly pageSize: number) {}

  add(plan: Int32Array, logits: Float32Array): void {
    this.#passes.push({ plan: plan.slice(), logits: logits.slice() });
  }

  /** Replaces the logits pass `index` is compared against (e.g. transformers' instead of this engine's). */
  expect(index: number, logits: Float32Array): void {
    const pass = this.#passes[index];
    if (!pass || pass.logits.length !== logits.length) {
      throw new RangeError(`expect: pass ${index} has no logits of that size`);
    }
    pass.logits = logits.slice();
  }

  get passes(): number {
    return this.#passes.length;
  }

  bytes(): Uint8Array {
    const parts: Uint8Array[] = [
      u32s(0x43525748, 1, this.spec.length),
      this.spec,
      i32s(this.pages, this.pageSize),
      u32s(this.#passes.length),
    ];
    for (const p of this.#passes) {
      parts.push(u32s(p.plan.length), bytesOf(p.plan), u32s(p.logits.length), bytesOf(p.logits));
    }
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  }
}

function bytesOf(a: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function u32s(...v: number[]): Uint8Array {
  return new Uint8Array(new Uint32Array(v).buffer);
}
function i32s(...v: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(v).buffer);
}
