/**
 * RoPE's inverse frequencies, every scaling applied: the table the native core rotates by (the model spec's
 * rope_inv_freq). A new scaling is a case here and nothing in the core. Computed in double, as the core did
 * before the table moved here (the logits of every fixture are bit-identical); the core makes its cos/sin
 * tables from these.
 */
import type { ModelConfig } from "./config.ts";
import { check } from "./errors.ts";

/** head_dim/2 frequencies: the first rotary_dim/2 over rotary_dim dimensions, the rest 0 (no rotation). */
export function ropeInvFreq(c: ModelConfig): number[] {
  const rotary = c.rotaryDim ?? c.headDim, r = c.rope;
  const f = Array.from({ length: rotary / 2 }, (_, i) => 1 / Math.pow(r.theta, (2 * i) / rotary));
  const scaled = r.type === "linear" ? f.map((x) => x / r.factor) : r.type === "llama3" ? f.map(llama3(c)) : f;
  // Extreme values (a factor of 1e-320, say) overflow: named by the config's fields, not by the core's table.
  const bad = scaled.findIndex((x) => !(Number.isFinite(x) && x >= 0));
  check(
    bad < 0,
    `config.json: rope_theta ${r.theta}${
      r.type === "default" ? "" : ` with ${r.type} rope scaling (factor ${r.factor})`
    } gives RoPE frequency ${bad} the value ${scaled[bad]}`,
  );
  return [...scaled, ...new Array(c.headDim / 2 - scaled.length).fill(0)];
}

/** Llama 3.1's scaling: long wavelengths slowed by `factor`, short ones kept, a smooth blend between. */
function llama3(c: ModelConfig): (x: number) => number {
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: max } = c.rope;
  const lowWavelen = max / low, highWavelen = max / high;
  return (x) => {
    const wavelen = 2 * Math.PI / x;
    // transformers' order: with low_freq_factor above high_freq_factor the two bands overlap, and slowing wins.
    if (wavelen > lowWavelen) return x / factor;
    if (wavelen < highWavelen) return x;
    const smooth = (max / wavelen - low) / (high - low);
    return (1 - smooth) * x / factor + smooth * x;
  };
}
