/**
 * RoPE's inverse frequencies as the host computes them for the core (engine/rope.ts), against the formulas
 * written out here case by case: default, linear, Llama 3.1's three bands, partial rotary. The fixtures'
 * logits (fixtures_test.ts, phi3_test.ts) check the same tables against transformers end to end.
 */
import assert from "node:assert/strict";
import { shapeConfig } from "../../engine/shapes.ts";
import { ropeInvFreq } from "../../engine/rope.ts";
import type { ModelConfig } from "../../engine/config.ts";
import { encodeSpec } from "../../engine/spec.ts";
import { loadNative } from "../../engine/native.ts";

const base = shapeConfig("qwen3-demo");
const rope = (r: Partial<ModelConfig["rope"]>, more: Partial<ModelConfig> = {}): ModelConfig => ({
  ...base,
  ...more,
  rope: { ...base.rope, ...r },
});

Deno.test("rope: default is theta^(-2i/d), linear divides by the factor, partial rotary leaves the rest at 0", () => {
  const d = base.headDim, f = ropeInvFreq(rope({ theta: 10000, type: "default" }));
  assert.equal(f.length, d / 2);
  f.forEach((x, i) => assert.equal(x, 1 / 10000 ** (2 * i / d)));
  const lin = ropeInvFreq(rope({ theta: 10000, type: "linear", factor: 4 }));
  lin.forEach((x, i) => assert.equal(x, f[i] / 4));
  const partial = ropeInvFreq(rope({ theta: 10000, type: "default" }, { rotaryDim: d / 2 }));
  assert.equal(partial.length, d / 2);
  partial.forEach((x, i) => assert.equal(x, i < d / 4 ? 1 / 10000 ** (2 * i / (d / 2)) : 0, `dimension ${i}`));
});

Deno.test("rope: llama3 keeps short wavelengths, slows long ones by the factor, blends between", () => {
  const r = { theta: 500000, type: "llama3" as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4 };
  const plain = ropeInvFreq(rope({ theta: 500000, type: "default" }));
  const got = ropeInvFreq(rope({ ...r, originalMaxPositions: 8192 }));
  const bands = { kept: 0, slowed: 0, blended: 0 };
  plain.forEach((x, i) => {
    const wavelen = 2 * Math.PI / x;
    if (wavelen < 8192 / 4) (assert.equal(got[i], x), bands.kept++);
    else if (wavelen > 8192 / 1) (assert.equal(got[i], x / 8), bands.slowed++);
    else {
      const s = (8192 / wavelen - 1) / (4 - 1);
      assert.ok(Math.abs(got[i] - ((1 - s) * x / 8 + s * x)) <= 1e-18, `dimension ${i}`);
      assert.ok(got[i] < x && got[i] > x / 8);
      bands.blended++;
    }
  });
  assert.ok(bands.kept > 0 && bands.slowed > 0 && bands.blended > 0, JSON.stringify(bands));
});

Deno.test("rope: llama3 with low_freq_factor above high_freq_factor slows the overlap as transformers does", () => {
  const r = { theta: 500000, type: "llama3" as const, factor: 8, originalMaxPositions: 8192 };
  const plain = ropeInvFreq(rope({ theta: 500000, type: "default" }));
  const got = ropeInvFreq(rope({ ...r, lowFreqFactor: 4, highFreqFactor: 1 }));
  // transformers: slowed past the low-frequency wavelength, kept before it; no band is blended.
  plain.forEach((x, i) => assert.equal(got[i], 2 * Math.PI / x > 8192 / 4 ? x / 8 : x, `dimension ${i}`));
  assert.ok(plain.some((x) => 2 * Math.PI / x > 8192 / 4 && 2 * Math.PI / x < 8192), "a dimension in the overlap");
});

Deno.test("rope: a frequency that overflows is refused naming the config's RoPE fields", () => {
  assert.throws(
    () => ropeInvFreq(rope({ theta: 10000, type: "linear", factor: 1e-320 })),
    /config\.json: rope_theta 10000 with linear rope scaling \(factor 1e-320\) gives RoPE frequency 0 the value Infinity/,
  );
});

Deno.test("rope: the core refuses a table of the wrong length or with a non-finite value, naming the field", () => {
  const native = loadNative();
  const spec = (inv: number[]) => {
    const c = { ...base, rope: { ...base.rope } };
    const bytes = encodeSpec({ config: c, randomSeed: 1, tensors: [] });
    // The table is the spec's only f64 list: rewrite it in place (its count, then its values).
    const good = ropeInvFreq(c), at = findTable(bytes, good);
    const out = new Uint8Array(bytes.length - good.length * 8 + inv.length * 8);
    out.set(bytes.subarray(0, at - 4));
    const dv = new DataView(out.buffer);
    dv.setUint32(at - 4, inv.length, true);
    inv.forEach((x, i) => dv.setFloat64(at + i * 8, x, true));
    out.set(bytes.subarray(at + good.length * 8), at + inv.length * 8);
    return out;
  };
  const ok = ropeInvFreq(base);
  assert.doesNotThrow(() => native.expectedTensors(spec(ok)));
  assert.throws(() => native.expectedTensors(spec(ok.slice(1))), /rope_inv_freq must hold head_dim\/2 values, got/);
  assert.throws(() => native.expectedTensors(spec([NaN, ...ok.slice(1)])), /rope_inv_freq must be finite/);
  assert.throws(() => native.expectedTensors(spec([Infinity, ...ok.slice(1)])), /rope_inv_freq must be finite/);
});

/** Where the table's values start in an encoded spec. */
function findTable(bytes: Uint8Array, inv: number[]): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 4; at + inv.length * 8 <= bytes.length; at++) {
    if (dv.getUint32(at - 4, true) === inv.length && inv.every((x, i) => dv.getFloat64(at + i * 8, true) === x)) {
      return at;
    }
  }
  throw new Error("the table is not in the spec");
}
