/**
 * Phi-3 (`Phi3ForCausalLM`, model_type "phi3") beyond the phi3-tiny fixture: random checkpoints of other shapes,
 * with partial_rotary_factor < 1 (the fixture has 1.0), laid out as the hub ships them (fused qkv_proj and
 * gate_up_proj, bf16, no head_dim key), against a slow float64 reference written here from transformers'
 * Phi-3 (modeling_phi3.py: Phi3RMSNorm, Phi3Attention with apply_rotary_pos_emb's rotary_dim split,
 * Phi3MLP's gate_up_proj.chunk(2)); and the Phi-3 settings the engine refuses, by name.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../engine/config.ts";
import { Engine } from "../../engine/model.ts";
import { readSmallFile } from "../../engine/safetensors.ts";
import { expectedTensors } from "../../engine/spec.ts";
import { fixtureDir, maxAbsDiff, type RawTensor, reference, Rng, safetensorsBytes } from "../helpers.ts";

const TOL = 1e-4;

interface Shape {
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  layers: number;
  vocab: number;
  theta: number;
  factor: number;
  /**
   * where rope_theta and partial_rotary_factor are written: the older layout's top level, inside its rope_scaling
   * (which transformers 5 reads as rope_parameters), or the newer rope_parameters
   */
  layout: "top" | "rope_scaling" | "rope_parameters";
  /** the sequence's length (40 unless said) */
  tokens?: number;
}

/** A float64 checkpoint: each weight as the bf16 value the file holds. */
type Weights = Map<string, { shape: number[]; data: Float64Array }>;

function bf16Round(x: number): number {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer);
  u[0] = (u[0] + 0x7fff + ((u[0] >> 16) & 1)) & 0xffff0000; // round to nearest even
  return f[0];
}

/** Random weights as make_fixtures.py draws them (std 0.08; RMSNorm weights 1 + 0.2·N), rounded to bf16. */
function randomWeights(s: Shape, rng: Rng): Weights {
  const hd = s.hidden / s.heads, op = (s.heads + 2 * s.kvHeads) * hd;
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const w: Weights = new Map();
  const add = (name: string, shape: number[], norm = false) => {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(name, {
      shape,
      data: Float64Array.from({ length: n }, () => bf16Round(norm ? 1 + 0.2 * normal() : 0.08 * normal())),
    });
  };
  add("model.embed_tokens.weight", [s.vocab, s.hidden]);
  for (let l = 0; l < s.layers; l++) {
    const L = `model.layers.${l}.`;
    add(L + "input_layernorm.weight", [s.hidden], true);
    add(L + "self_attn.qkv_proj.weight", [op, s.hidden]);
    add(L + "self_attn.o_proj.weight", [s.hidden, s.heads * hd]);
    add(L + "post_attention_layernorm.weight", [s.hidden], true);
    add(L + "mlp.gate_up_proj.weight", [2 * s.intermediate, s.hidden]);
    add(L + "mlp.down_proj.weight", [s.hidden, s.intermediate]);
  }
  add("model.norm.weight", [s.hidden], true);
  add("lm_head.weight", [s.vocab, s.hidden]);
  return w;
}

function config(s: Shape): Record<string, unknown> {
  const rope = s.layout === "top"
    ? { rope_theta: s.theta, rope_scaling: null, partial_rotary_factor: s.factor, torch_dtype: "bfloat16" }
    : s.layout === "rope_scaling"
    ? {
      rope_scaling: { rope_type: "default", rope_theta: s.theta, partial_rotary_factor: s.factor },
      torch_dtype: "bfloat16",
    }
    : {
      rope_parameters: { rope_type: "default", rope_theta: s.theta, partial_rotary_factor: s.factor },
      dtype: "bfloat16",
    };
  return {
    architectures: ["Phi3ForCausalLM"],
    model_type: "phi3",
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    hidden_act: "silu",
    max_position_embeddings: 4096,
    original_max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    vocab_size: s.vocab,
    attention_bias: false,
    sliding_window: null,
    ...rope,
  };
}

/** The weights as the checkpoint's bf16 tensors (exact: the values are bf16 already). */
function bf16Tensors(w: Weights): Map<string, RawTensor> {
  return new Map([...w].map(([name, t]) => {
    const f = Float32Array.from(t.data), u = new Uint32Array(f.buffer), b = new Uint16Array(f.length);
    for (let i = 0; i < f.length; i++) b[i] = u[i] >>> 16;
    return [name, { dtype: "BF16", shape: t.shape, data: new Uint8Array(b.buffer) }];
  }));
}

function writeCheckpoint(config: Record<string, unknown>, tensors: Map<string, RawTensor>): string {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-phi3-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(tensors));
  return dir;
}

// ---- the reference: transformers' Phi-3 forward pass over one sequence, in float64 ----

/** y[t] = W x[t] for W [out, in] (rows `first`.. of a fused matrix when given). */
function linear(x: Float64Array[], w: { shape: number[]; data: Float64Array }, first = 0, out = w.shape[0]) {
  const inp = w.shape[1];
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let sum = 0;
      for (let k = 0; k < inp; k++) sum += w.data[(first + o) * inp + k] * row[k];
      y[o] = sum;
    }
    return y;
  });
}

/** Phi3RMSNorm: weight · x / sqrt(mean(x²) + eps). */
function rmsNorm(x: Float64Array[], w: Float64Array, eps: number) {
  return x.map((row) => {
    const ms = row.reduce((a, v) => a + v * v, 0) / row.length;
    return row.map((v, i) => w[i] * v / Math.sqrt(ms + eps));
  });
}

function referenceLogits(s: Shape, w: Weights, ids: number[]): Float64Array[] {
  const get = (n: string) => w.get(n)!;
  const hd = s.hidden / s.heads, Q = s.heads * hd, KV = s.kvHeads * hd, group = s.heads / s.kvHeads, eps = 1e-5;
  // Phi3RotaryEmbedding: inv_freq over dim = int(head_dim · partial_rotary_factor); cos/sin = cat(freqs, freqs)
  const dim = Math.floor(hd * s.factor);
  const invFreq = Array.from({ length: dim / 2 }, (_, i) => 1 / s.theta ** ((2 * i) / dim));
  // apply_rotary_pos_emb: the first `dim` dimensions rotated (rotate_half within them), the rest passed through
  const rope = (v: Float64Array, pos: number) => {
    const out = Float64Array.from(v);
    for (let i = 0; i < dim; i++) {
      const angle = pos * invFreq[i % (dim / 2)];
      const rotated = i < dim / 2 ? -v[i + dim / 2] : v[i - dim / 2];
      out[i] = v[i] * Math.cos(angle) + rotated * Math.sin(angle);
    }
    return out;
  };
  const embed = get("model.embed_tokens.weight");
  let x = ids.map((id) => embed.data.slice(id * s.hidden, (id + 1) * s.hidden));
  for (let l = 0; l < s.layers; l++) {
    const L = `model.layers.${l}.`;
    const h = rmsNorm(x, get(L + "input_layernorm.weight").data, eps);
    const qkv = get(L + "self_attn.qkv_proj.weight");
    const q = linear(h, qkv, 0, Q), k = linear(h, qkv, Q, KV), v = linear(h, qkv, Q + KV, KV);
    const head = (rows: Float64Array[], n: number, t: number) => rows[t].slice(n * hd, (n + 1) * hd);
    const attn = ids.map((_, t) => {
      const out = new Float64Array(Q);
      for (let n = 0; n < s.heads; n++) {
        const kvh = Math.floor(n / group), qr = rope(head(q, n, t), t);
        const scores = Array.from({ length: t + 1 }, (_, j) => {
          const kr = rope(head(k, kvh, j), j);
          return qr.reduce((a, qi, i) => a + qi * kr[i], 0) / Math.sqrt(hd);
        });
        const mx = Math.max(...scores), e = scores.map((sc) => Math.exp(sc - mx)), sum = e.reduce((a, b) => a + b);
        for (let j = 0; j <= t; j++) {
          const vj = head(v, kvh, j);
          for (let i = 0; i < hd; i++) out[n * hd + i] += (e[j] / sum) * vj[i];
        }
      }
      return out;
    });
    const o = linear(attn, get(L + "self_attn.o_proj.weight"));
    x = x.map((row, t) => row.map((val, i) => val + o[t][i]));
    const h2 = rmsNorm(x, get(L + "post_attention_layernorm.weight").data, eps);
    // Phi3MLP: gate, up = gate_up_proj(x).chunk(2); down_proj(up · silu(gate))
    const gu = get(L + "mlp.gate_up_proj.weight");
    const gate = linear(h2, gu, 0, s.intermediate), up = linear(h2, gu, s.intermediate, s.intermediate);
    const act = gate.map((g, t) => g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * up[t][i]));
    const down = linear(act, get(L + "mlp.down_proj.weight"));
    x = x.map((row, t) => row.map((val, i) => val + down[t][i]));
  }
  return linear(rmsNorm(x, get("model.norm.weight").data, eps), get("lm_head.weight"));
}

const SHAPES: [string, Shape][] = [
  // head_dim 24, half of it rotated (12: pairs (i, i + 6)); GQA 4:2
  ["factor 0.5, head_dim 24", {
    hidden: 96,
    heads: 4,
    kvHeads: 2,
    intermediate: 80,
    layers: 2,
    vocab: 300,
    theta: 10000,
    factor: 0.5,
    layout: "top",
  }],
  // head_dim 32, 24 rotated (Phi-4-mini's factor), in the newer config layout; 3 layers, GQA 2:1
  ["factor 0.75, head_dim 32", {
    hidden: 64,
    heads: 2,
    kvHeads: 1,
    intermediate: 96,
    layers: 3,
    vocab: 256,
    theta: 250000,
    factor: 0.75,
    layout: "rope_parameters",
  }],
  // the same, written in an older-layout rope_scaling (no top-level rope_theta: the class's default 10000 is not it)
  ["factor 0.5, head_dim 16, in rope_scaling", {
    hidden: 64,
    heads: 4,
    kvHeads: 2,
    intermediate: 48,
    layers: 2,
    vocab: 200,
    theta: 250000,
    factor: 0.5,
    layout: "rope_scaling",
  }],
  // The CPU attention's own code paths for the heads real models have: head_dim 64 and 128 (their weighted sums
  // are specialised), 16 keys' scores at a time, and sequences longer than one chunk of keys (64 keys of 64,
  // 32 of 128), so that a block is read in several chunks by tokens that see different lengths of it.
  ["whole rotary, head_dim 64, 150 tokens", {
    hidden: 256,
    heads: 4,
    kvHeads: 2,
    intermediate: 64,
    layers: 2,
    vocab: 200,
    theta: 10000,
    factor: 1,
    layout: "top",
    tokens: 150,
  }],
  ["whole rotary, head_dim 128, 100 tokens", {
    hidden: 256,
    heads: 2,
    kvHeads: 1,
    intermediate: 64,
    layers: 1,
    vocab: 200,
    theta: 10000,
    factor: 1,
    layout: "top",
    tokens: 100,
  }],
];

for (const [label, shape] of SHAPES) {
  Deno.test(`phi3 partial rotary (${label}): the CPU engine matches a float64 reference within ${TOL}`, async () => {
    const rng = new Rng(7 + shape.layers);
    const w = randomWeights(shape, rng);
    const dir = writeCheckpoint(config(shape), bf16Tensors(w));
    const engine = await Engine.load(dir, { tokenizer: false });
    const hd = shape.hidden / shape.heads;
    assert.equal(engine.config.rotaryDim ?? hd, Math.floor(hd * shape.factor)); // unset: the whole head
    const n = shape.tokens ?? 40;
    const ids = Array.from({ length: n }, () => Math.floor(rng.next() * shape.vocab));
    const want = referenceLogits(shape, w, ids);
    // One pass over the whole sequence.
    const cache = engine.newCache({ tokens: 4 * n + 128 });
    const block = cache.newBlock();
    const [all] = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
    let worst = maxAbsDiff(all, Float64Array.from(want.flatMap((r) => [...r])));
    // The same sequence as two blocks, the second read through a view [first, second]: keys rotated at
    // block-local positions, queries by their position relative to each block (the Hogwild! path).
    const a = cache.newBlock(), b = cache.newBlock(), split = Math.round(n * 0.62);
    engine.forward(cache, [{ block: a, view: [a], tokens: ids.slice(0, split), logits: "none" }]);
    for (let t = split; t < ids.length; t += 5) {
      const [got] = engine.forward(cache, [{ block: b, view: [a, b], tokens: ids.slice(t, t + 5), logits: "all" }]);
      worst = Math.max(worst, maxAbsDiff(got, Float64Array.from(want.slice(t, t + 5).flatMap((r) => [...r]))));
    }
    console.log(
      `phi3 ${label}: worst |logit error| ${worst.toExponential(2)} (logits up to ${
        Math.max(...want.flatMap((r) => [...r].map(Math.abs))).toFixed(2)
      })`,
    );
    assert.ok(worst < TOL, `worst error ${worst}`);
  });
}

function e4m3(b: number): number {
  const exp = (b >> 3) & 15, man = b & 7, sign = b & 128 ? -1 : 1;
  return exp === 0 ? sign * man * 2 ** -9 : sign * (8 + man) * 2 ** (exp - 10);
}

/**
 * FP8 as Qwen's -FP8 releases pack it, applied to a Phi-3 checkpoint: every decoder linear layer (the fused ones
 * whole) as e4m3 bytes with a float32 scale per [br, bc] block (partial blocks at the edges); `w` gets the
 * dequantised values, which the reference then computes with.
 */
function fp8Tensors(w: Weights, [br, bc]: [number, number], rng: Rng): Map<string, RawTensor> {
  const out = bf16Tensors(w);
  for (const [name, t] of w) {
    if (!/\.(qkv_proj|o_proj|gate_up_proj|down_proj)\.weight$/.test(name)) continue;
    const [rows, cols] = t.shape, sr = Math.ceil(rows / br), sc = Math.ceil(cols / bc);
    const bytes = Uint8Array.from({ length: rows * cols }, () => Math.floor(rng.next() * 256) & 0xbf); // no NaN
    const scales = Float32Array.from({ length: sr * sc }, () => 0.02 * (0.5 + rng.next()));
    const dense = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        dense[r * cols + c] = e4m3(bytes[r * cols + c]) * scales[Math.floor(r / br) * sc + Math.floor(c / bc)];
      }
    }
    w.set(name, { shape: t.shape, data: dense });
    out.set(name, { dtype: "F8_E4M3", shape: t.shape, data: bytes });
    out.set(name + "_scale_inv", { dtype: "F32", shape: [sr, sc], data: new Uint8Array(scales.buffer) });
  }
  return out;
}

Deno.test("phi3 FP8 (fused layers split on block boundaries, partial rotary): the CPU engine matches the float64 reference", async () => {
  const shape = SHAPES[0][1], rng = new Rng(11);
  const w = randomWeights(shape, rng);
  const block: [number, number] = [16, 32]; // q/k/v rows 96/48/48 and gate/up 80/80 fall on 16-row blocks
  const quantization_config = {
    quant_method: "fp8",
    fmt: "e4m3",
    activation_scheme: "dynamic",
    weight_block_size: block,
  };
  const dir = writeCheckpoint({ ...config(shape), quantization_config }, fp8Tensors(w, block, rng));
  const engine = await Engine.load(dir, { tokenizer: false });
  assert.equal(engine.config.quant?.method, "fp8");
  const ids = Array.from({ length: 24 }, () => Math.floor(rng.next() * shape.vocab));
  const cache = engine.newCache({ tokens: 64 });
  const b = cache.newBlock();
  const [got] = engine.forward(cache, [{ block: b, view: [b], tokens: ids, logits: "all" }]);
  const err = maxAbsDiff(got, Float64Array.from(referenceLogits(shape, w, ids).flatMap((r) => [...r])));
  console.log(`phi3 FP8 [${block}]: worst |logit error| ${err.toExponential(2)}`);
  assert.ok(err < TOL, `worst error ${err}`);
  // 32-row blocks: k's rows [96, 144) start in the middle of one, and its scales cannot be split
  const bad = writeCheckpoint(
    { ...config(shape), quantization_config: { ...quantization_config, weight_block_size: [32, 32] } },
    fp8Tensors(randomWeights(shape, rng), [32, 32], rng),
  );
  await assert.rejects(
    () => Engine.load(bad, { tokenizer: false }),
    /FP8: model\.layers\.0\.self_attn\.qkv_proj's rows \[96, 144\) do not fall on its 32-row scale blocks/,
  );
});

Deno.test("phi3: the reference here agrees with the phi3-tiny fixture's float64 references (factor 1)", () => {
  // The reference above run on the fixture's own checkpoint: it must match the fixture's logits, so that a
  // reference bug cannot make the partial-rotary tests above agree with an engine bug.
  const dir = fixtureDir("phi3-tiny");
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const shape: Shape = {
    hidden: c.hidden_size,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads,
    intermediate: c.intermediate_size,
    layers: c.num_hidden_layers,
    vocab: c.vocab_size,
    theta: c.rope_theta,
    factor: 1,
    layout: "top",
  };
  const file = readFileSync(join(dir, "model.safetensors"));
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  const w: Weights = new Map();
  for (const [name, t] of Object.entries(header) as [string, { shape: number[]; data_offsets: number[] }][]) {
    if (name === "__metadata__") continue;
    const bytes = file.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    const data = new Float64Array(bytes.length / 2), view = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < data.length; i++) {
      view.setUint32(0, (bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16);
      data[i] = view.getFloat32(0);
    }
    w.set(name, { shape: t.shape, data });
  }
  const ref = readSmallFile(join(dir, "reference.safetensors"));
  const ids = Array.from(ref.get("seq2.ids")!.data);
  const got = referenceLogits(shape, w, ids);
  const err = maxAbsDiff(Float64Array.from(got.flatMap((r) => [...r])), ref.get("seq2.logits")!.data);
  console.log(`phi3 reference against the fixture (seq2, ${ids.length} tokens): ${err.toExponential(2)}`);
  assert.ok(err < 1e-5, `the test's reference is off by ${err}`);
});

Deno.test("phi3: settings the engine does not implement are refused by name", () => {
  const base = JSON.parse(readFileSync(join(fixtureDir("phi3-tiny"), "config.json"), "utf8"));
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { rope_scaling: { type: "longrope", short_factor: [1], long_factor: [1] } },
      /rope_scaling\.rope_type "longrope" is not supported/,
    ],
    // the scalings other architectures take: Phi3Config refuses them, and so does the engine, in either layout
    ...[
      { rope_type: "linear", factor: 2 },
      { type: "linear", factor: 4 },
      {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
      { rope_type: "dynamic", factor: 2 },
    ].flatMap((scaling): [Record<string, unknown>, RegExp][] => {
      const type = scaling.rope_type ?? scaling.type;
      const message = (where: string) =>
        new RegExp(`config\\.json: ${where}\\.rope_type "${type}" is not supported for phi3; supported: default$`);
      return [
        [{ rope_scaling: scaling }, message("rope_scaling")],
        [{ rope_theta: undefined, rope_parameters: { rope_theta: 1e4, ...scaling } }, message("rope_parameters")],
      ];
    }),
    [{ sliding_window: 2047 }, /sliding_window 2047 is not supported/],
    [{ partial_rotary_factor: 0.1 }, /partial_rotary_factor 0\.1 turns 1 of head_dim 16 dimensions/],
    [{ partial_rotary_factor: 1.5 }, /"partial_rotary_factor" must be a number in \(0, 1\]/],
    [
      { partial_rotary_factor: 0.5, rope_parameters: { rope_theta: 1e4, partial_rotary_factor: 0.75 } },
      /partial_rotary_factor 0\.5 and rope_parameters\.partial_rotary_factor 0\.75 disagree/,
    ],
    [
      { model_type: "llama", partial_rotary_factor: 0.5 },
      /partial_rotary_factor 0\.5 is not supported for this model_type \(phi3 only\)/,
    ],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => parseConfig({ ...base, ...change }, "config.json"), message, JSON.stringify(change));
  }
  const ok = parseConfig(base, "config.json");
  assert.deepEqual(
    [ok.family, ok.headDim, ok.rotaryDim, ok.tiedEmbeddings],
    ["phi3", 16, undefined, false],
  );
  assert.equal(parseConfig({ ...base, partial_rotary_factor: 0.75 }, "config.json").rotaryDim, 12);
  // AWQ's refusals name the fused tensor the checkpoint holds, and its part
  const awq = (g: number, extra = {}) =>
    parseConfig({
      ...base,
      ...extra,
      quantization_config: { quant_method: "awq", bits: 4, group_size: g, version: "gemm", zero_point: true },
    }, "config.json");
  assert.throws(
    () => expectedTensors(awq(128), "config.json"),
    /config\.json: AWQ: group_size 128 does not divide model\.layers\.0\.self_attn\.qkv_proj's q_proj part's 64 inputs/,
  );
  assert.throws(
    () => expectedTensors(awq(16, { num_attention_heads: 16, num_key_value_heads: 1 }), "config.json"),
    /AWQ: model\.layers\.0\.self_attn\.qkv_proj's k_proj part has 4 outputs, not a multiple of 8/,
  );
});

Deno.test("phi3: a config.json without rms_norm_eps is read with Phi3Config's 1e-5, and matches the fixture's logits", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-phi3-eps-"));
  cpSync(fixtureDir("phi3-tiny"), dir, { recursive: true });
  const { rms_norm_eps, ...rest } = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.equal(rms_norm_eps, 1e-5);
  writeFileSync(join(dir, "config.json"), JSON.stringify(rest));
  const engine = await Engine.load(dir, { tokenizer: false });
  const ref = reference("phi3-tiny");
  for (let s = 0; ref.has(`seq${s}.ids`); s++) {
    const ids = Array.from(ref.get(`seq${s}.ids`)!.data);
    const cache = engine.newCache({ tokens: ids.length });
    const block = cache.newBlock();
    const [got] = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
    const err = maxAbsDiff(got, ref.get(`seq${s}.logits`)!.data);
    assert.ok(err < TOL, `seq${s}: worst error ${err}`);
  }
});
