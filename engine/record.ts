/**
 * Recordings of forward passes for cuda/tools/replay.cc, which replays them with no JavaScript (the GPU
 * machines have no node): the model spec, the cache geometry, then each pass's plan and its logits.
 */
export class Recorder {
  readonly #parts: Uint8Array[] = [];
  #passes = 0;

  constructor(spec: Uint8Array, readonly pages: number, readonly pageSize: number) {
    this.#parts.push(u32s(0x43525748, 1, spec.length), spec, i32s(pages, pageSize));
  }

  add(plan: Int32Array, logits: Float32Array): void {
    this.#parts.push(u32s(plan.length), new Uint8Array(plan.slice().buffer), u32s(logits.length), new Uint8Array(logits.slice().buffer));
    this.#passes++;
  }

  get passes(): number {
    return this.#passes;
  }

  bytes(): Uint8Array {
    const parts = [...this.#parts.slice(0, 3), u32s(this.#passes), ...this.#parts.slice(3)];
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), at += p.length);
    return out;
  }
}

function u32s(...v: number[]): Uint8Array {
  return new Uint8Array(new Uint32Array(v).buffer);
}
function i32s(...v: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(v).buffer);
}
