/**
 * Quantised and mixture-of-experts checkpoints beyond the fixtures: each written here with random packed
 * weights, next to a float32 twin that holds the same weights dequantised (or the same MLP in another form),
 * and both must give the same logits. Covers AWQ group sizes other than the fixture's, FP8 blocks that do not
 * divide the matrices (partial blocks at the edges) with bf16 scales, tied embeddings, Phi-3's fused projections
 * packed whole by AWQ, an FP8 MoE listing its routers in modules_to_not_convert, and a dense layer before a
 * sparse one.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { shapeConfig } from "../../engine/shapes.ts";
import { fixtureDir, maxAbsDiff, Rng, safetensorsBytes } from "../helpers.ts";

type Dtype = "F32" | "BF16" | "F16" | "I32" | "F8_E4M3";
interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

/** A fixture's tensors as raw bytes. */
function readTensors(name: string): Map<string, Tensor> {
  const b = readFileSync(join(fixtureDir(name), "model.safetensors"));
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
  const out = new Map<string, Tensor>();
  for (
    const [k, v] of Object.entries(header) as [string, { dtype: Dtype; shape: number[]; data_offsets: number[] }][]
  ) {
    if (k === "__metadata__") continue;
    // a copy (a Buffer's slice() would share the whole file's memory)
    const data = new Uint8Array(b.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]));
    out.set(k, { dtype: v.dtype, shape: v.shape, data });
  }
  return out;
}

function writeModel(config: Record<string, unknown>, tensors: Map<string, Tensor>): string {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-quant-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(tensors));
  return dir;
}

const f32 = (values: Float32Array, shape: number[]): Tensor => ({
  dtype: "F32",
  shape,
  data: new Uint8Array(values.buffer.slice(0)),
});

function toFloat(t: Tensor): Float32Array {
  if (t.dtype === "F32") return new Float32Array(t.data.slice().buffer);
  const u16 = new Uint16Array(t.data.slice().buffer);
  const out = new Float32Array(u16.length);
  const view = new DataView(new ArrayBuffer(4));
  u16.forEach((h, i) => {
    view.setUint32(0, h << 16);
    out[i] = view.getFloat32(0);
  });
  assert.equal(t.dtype, "BF16");
  return out;
}

/** A float32 copy of every tensor (the dense twin's, and the quantised model's unquantised tensors). */
function asF32(tensors: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...tensors].map(([k, t]) => [k, f32(toFloat(t), t.shape)]));
}

// An fp16 number 2^e · (1 + m/1024), exactly, as its bits.
const fp16 = (e: number, m: number) => ((e + 15) << 10) | m;
const fp16Value = (e: number, m: number) => 2 ** e * (1 + m / 1024);

const LINEARS = /\.(q_proj|k_proj|v_proj|qkv_proj|o_proj|gate_proj|up_proj|gate_up_proj|down_proj)\.weight$/;
const ORDER = [0, 2, 4, 6, 1, 3, 5, 7];

/** AWQ-packed random weights of group `g` for every linear layer, and the twin with their dequantised values. */
function awq(tensors: Map<string, Tensor>, g: number, rng: Rng) {
  const quant = new Map<string, Tensor>(), twin = asF32(tensors);
  for (const [k, t] of tensors) {
    if (!LINEARS.test(k)) {
      quant.set(k, t);
      continue;
    }
    const [out, inp] = t.shape, base = k.slice(0, -".weight".length);
    const q = Uint8Array.from({ length: out * inp }, () => Math.floor(rng.next() * 16)); // [n][k]
    const z = Uint8Array.from({ length: out * (inp / g) }, () => Math.floor(rng.next() * 16)); // [n][group]
    const se = Int8Array.from({ length: out * (inp / g) }, () => -9 + Math.floor(rng.next() * 3));
    const sm = Uint16Array.from({ length: out * (inp / g) }, () => Math.floor(rng.next() * 1024));
    const qweight = new Int32Array(inp * out / 8), qzeros = new Int32Array((inp / g) * out / 8);
    const scales = new Uint16Array((inp / g) * out), dense = new Float32Array(out * inp);
    for (let n = 0; n < out; n++) {
      const c = Math.floor(n / 8), i = ORDER.indexOf(n % 8);
      for (let kk = 0; kk < inp; kk++) {
        qweight[kk * (out / 8) + c] |= q[n * inp + kk] << (4 * i);
        const gi = Math.floor(kk / g), s = fp16Value(se[n * (inp / g) + gi], sm[n * (inp / g) + gi]);
        dense[n * inp + kk] = Math.fround((q[n * inp + kk] - z[n * (inp / g) + gi]) * s);
      }
      for (let gi = 0; gi < inp / g; gi++) {
        qzeros[gi * (out / 8) + c] |= z[n * (inp / g) + gi] << (4 * i);
        scales[gi * out + n] = fp16(se[n * (inp / g) + gi], sm[n * (inp / g) + gi]);
      }
    }
    const bytes = (a: Int32Array | Uint16Array) => new Uint8Array(a.buffer);
    quant.set(base + ".qweight", { dtype: "I32", shape: [inp, out / 8], data: bytes(qweight) });
    quant.set(base + ".qzeros", { dtype: "I32", shape: [inp / g, out / 8], data: bytes(qzeros) });
    quant.set(base + ".scales", { dtype: "F16", shape: [inp / g, out], data: bytes(scales) });
    twin.set(k, f32(dense, [out, inp]));
  }
  return { quant, twin };
}

function e4m3(b: number): number {
  const exp = (b >> 3) & 15, man = b & 7, sign = b & 128 ? -1 : 1;
  return exp === 0 ? sign * man * 2 ** -9 : sign * (8 + man) * 2 ** (exp - 10);
}

/** FP8 random weights with bf16 scales per [br, bc] block (partial at the edges), and the dequantised twin. */
function fp8(tensors: Map<string, Tensor>, [br, bc]: [number, number], rng: Rng) {
  const quant = new Map<string, Tensor>(), twin = asF32(tensors);
  for (const [k, t] of tensors) {
    if (!LINEARS.test(k)) {
      quant.set(k, t);
      continue;
    }
    const [out, inp] = t.shape, rows = Math.ceil(out / br), cols = Math.ceil(inp / bc);
    // any e4m3 byte but NaN (0x7f, 0xff)
    const w = Uint8Array.from({ length: out * inp }, () => {
      const b = Math.floor(rng.next() * 256);
      return (b & 127) === 127 ? b - 1 : b;
    });
    // bf16 scales: the top half of a float32 around 2^-7
    const sbits = Uint16Array.from({ length: rows * cols }, () => 0x3c00 + Math.floor(rng.next() * 256));
    const scale = (i: number) => new Float32Array(new Uint32Array([sbits[i] << 16]).buffer)[0];
    const dense = new Float32Array(out * inp);
    for (let n = 0; n < out; n++) {
      for (let kk = 0; kk < inp; kk++) {
        dense[n * inp + kk] = Math.fround(
          e4m3(w[n * inp + kk]) * scale(Math.floor(n / br) * cols + Math.floor(kk / bc)),
        );
      }
    }
    quant.set(k, { dtype: "F8_E4M3", shape: [out, inp], data: w });
    quant.set(k + "_scale_inv", { dtype: "BF16", shape: [rows, cols], data: new Uint8Array(sbits.buffer) });
    twin.set(k, f32(dense, [out, inp]));
  }
  return { quant, twin };
}

async function logits(dir: string): Promise<Float32Array> {
  const engine = await Engine.load(dir);
  const cache = engine.newCache({ tokens: 64 }), block = cache.newBlock();
  const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % engine.vocab);
  const rows = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
  return rows[0];
}

const qwen3 = () => JSON.parse(readFileSync(join(fixtureDir("qwen3-tiny"), "config.json"), "utf8"));

Deno.test("AWQ groups of 16 and 64 (tied embeddings): the logits of the dequantised float32 twin", async () => {
  const tensors = readTensors("qwen3-tiny");
  for (const g of [16, 64]) {
    const { quant, twin } = awq(tensors, g, new Rng(g));
    const qc = {
      ...qwen3(),
      quantization_config: { quant_method: "awq", bits: 4, group_size: g, version: "gemm", zero_point: true },
    };
    const a = await logits(writeModel(qc, quant));
    const b = await logits(writeModel({ ...qwen3(), torch_dtype: "float32", dtype: "float32" }, twin));
    const err = maxAbsDiff(a, b);
    console.log(`AWQ group ${g}: worst |logit difference| to the twin ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `group ${g}: ${err}`);
  }
});

Deno.test("AWQ Phi-3 (qkv_proj and gate_up_proj packed whole, split by columns): the dequantised twin's logits", async () => {
  // AutoAWQ quantises Phi-3's fused projections as one linear each: q, k, v (gate, up) are column ranges of
  // qweight, qzeros and scales, which the core reads row by row
  const tensors = readTensors("phi3-tiny");
  const config = JSON.parse(readFileSync(join(fixtureDir("phi3-tiny"), "config.json"), "utf8"));
  for (const g of [16, 32]) {
    const { quant, twin } = awq(tensors, g, new Rng(100 + g));
    assert.ok(
      quant.has("model.layers.1.self_attn.qkv_proj.qweight") && quant.has("model.layers.0.mlp.gate_up_proj.scales"),
    );
    const qc = {
      ...config,
      quantization_config: { quant_method: "awq", bits: 4, group_size: g, version: "gemm", zero_point: true },
    };
    const a = await logits(writeModel(qc, quant));
    const b = await logits(writeModel({ ...config, torch_dtype: "float32" }, twin));
    const err = maxAbsDiff(a, b);
    console.log(`AWQ Phi-3 group ${g}: worst |logit difference| to the twin ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `group ${g}: ${err}`);
  }
});

Deno.test("FP8 blocks of [32, 48] and [48, 20] (partial at the edges), scales in bf16: the twin's logits", async () => {
  const tensors = readTensors("qwen3-tiny");
  for (const block of [[32, 48], [48, 20]] as [number, number][]) {
    const { quant, twin } = fp8(tensors, block, new Rng(block[1]));
    const qc = {
      ...qwen3(),
      quantization_config: { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: block },
    };
    const a = await logits(writeModel(qc, quant));
    const b = await logits(writeModel({ ...qwen3(), torch_dtype: "float32", dtype: "float32" }, twin));
    const err = maxAbsDiff(a, b);
    console.log(`FP8 blocks ${block}: worst |logit difference| to the twin ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `blocks ${block}: ${err}`);
  }
});

Deno.test("FP8 MoE whose modules_to_not_convert lists lm_head and the routers (Qwen3-30B-A3B-FP8's): the twin's logits", async () => {
  const tensors = readTensors("qwen3moe-tiny");
  const config = JSON.parse(readFileSync(join(fixtureDir("qwen3moe-tiny"), "config.json"), "utf8"));
  const { quant, twin } = fp8(tensors, [32, 32], new Rng(30));
  assert.ok(quant.has("model.layers.1.mlp.experts.7.down_proj.weight_scale_inv"));
  assert.ok(!quant.has("model.layers.1.mlp.gate.weight_scale_inv"), "the routers stay bf16");
  const routers = Array.from({ length: config.num_hidden_layers }, (_, l) => `model.layers.${l}.mlp.gate`);
  const qc = {
    ...config,
    quantization_config: {
      quant_method: "fp8",
      fmt: "e4m3",
      activation_scheme: "dynamic",
      weight_block_size: [32, 32],
      modules_to_not_convert: ["lm_head", ...routers],
    },
  };
  const a = await logits(writeModel(qc, quant));
  const b = await logits(writeModel({ ...config, torch_dtype: "float32" }, twin));
  const err = maxAbsDiff(a, b);
  console.log(`FP8 MoE, routers listed: worst |logit difference| to the twin ${err.toExponential(2)}`);
  assert.ok(err < 1e-5, `${err}`);
});

Deno.test("MoE with a dense layer (mlp_only_layers) before a sparse one: as a sparse layer of identical experts", async () => {
  const tensors = readTensors("qwen3moe-tiny");
  const config = JSON.parse(readFileSync(join(fixtureDir("qwen3moe-tiny"), "config.json"), "utf8"));
  const width = config.moe_intermediate_size;
  // layer 0 dense: its MLP is expert 3 of the fixture's layer 0
  const dense = new Map([...tensors].filter(([k]) => !k.startsWith("model.layers.0.mlp.")));
  for (const p of ["gate_proj", "up_proj", "down_proj"]) {
    dense.set(`model.layers.0.mlp.${p}.weight`, tensors.get(`model.layers.0.mlp.experts.3.${p}.weight`)!);
  }
  // the twin: layer 0 sparse, every expert that same MLP; the router's weights then sum to 1 whatever it picks
  const twin = new Map(tensors);
  for (let e = 0; e < config.num_experts; e++) {
    for (const p of ["gate_proj", "up_proj", "down_proj"]) {
      twin.set(`model.layers.0.mlp.experts.${e}.${p}.weight`, tensors.get(`model.layers.0.mlp.experts.3.${p}.weight`)!);
    }
  }
  const a = await logits(writeModel({ ...config, intermediate_size: width, mlp_only_layers: [0] }, dense));
  const b = await logits(writeModel(config, twin));
  const err = maxAbsDiff(a, b);
  console.log(`MoE, dense layer 0: worst |logit difference| to the all-same-experts twin ${err.toExponential(2)}`);
  assert.ok(err < 1e-5, `${err}`);
  // and decoder_sparse_step 2 makes layer 0 dense in the same way
  const stepped = await logits(writeModel({ ...config, intermediate_size: width, decoder_sparse_step: 2 }, dense));
  assert.deepEqual(stepped, a);
});

Deno.test("random quantised weights (random:qwq-32b-awq and kin): seeded packed bytes, finite logits of an init's size", async () => {
  const config = shapeConfig("qwen3-demo"); // hidden 64: AWQ groups of 64 fit, FP8 blocks of [128, 96] are partial
  for (const quant of [{ method: "awq", groupSize: 64 }, { method: "fp8", block: [128, 96] }] as const) {
    const run = async (seed: number) => {
      const engine = await Engine.fromSpec({ config: { ...config, quant }, randomSeed: seed, tensors: [] }, {
        source: `random ${quant.method}`,
      });
      const cache = engine.newCache({ tokens: 64 }), block = cache.newBlock();
      return engine.forward(cache, [{ block, view: [block], tokens: [1, 2, 3, 4, 5, 6], logits: "last" }])[0];
    };
    const [a, again, other] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(a, again, `${quant.method}: the same seed gives the same model`);
    assert.ok(maxAbsDiff(a, other) > 1e-3, `${quant.method}: another seed gives another model`);
    const rms = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    console.log(`random ${quant.method}: logits' rms ${rms.toFixed(3)}`);
    assert.ok(a.every(Number.isFinite) && rms > 0.05 && rms < 5, `${quant.method}: rms ${rms}`);
  }
});
