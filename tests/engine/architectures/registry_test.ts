/**
 * The architectures' registry: each model_type belongs to one architecture, names no object property, and is
 * listed in the refusal of an unknown one; every architecture brings a `random:` shape that loads.
 */
import assert from "node:assert/strict";
import { architectureFor, ARCHITECTURES, SUPPORTED_MODEL_TYPES } from "../../../engine/architectures/registry.ts";
import { parseConfig } from "../../../engine/config.ts";
import { SHAPES } from "../../../engine/shapes.ts";

const CONFIG = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 256,
};

Deno.test("each model_type is one architecture's; an unknown one is refused with every supported one listed", () => {
  const types = ARCHITECTURES.flatMap((a) => Object.keys(a.modelTypes));
  assert.equal(new Set(types).size, types.length, `a model_type twice: ${types}`);
  assert.equal(new Set(ARCHITECTURES.map((a) => a.name)).size, ARCHITECTURES.length);
  for (const t of types) {
    assert.equal(architectureFor(t)?.modelTypes[t] !== undefined, true, t);
    assert.match(SUPPORTED_MODEL_TYPES, new RegExp(`(^|, )${t} \\(`), t);
  }
  for (const t of ["mistral", "__proto__", "constructor", "toString", ""]) {
    assert.equal(architectureFor(t), undefined, t);
    assert.throws(
      () => parseConfig({ ...CONFIG, model_type: t }, "config.json"),
      new RegExp(`config\\.json: model_type "${t}" is not supported; supported: llama \\(`),
    );
  }
});

Deno.test("every architecture's features reach the config, and each has a random shape of its own", () => {
  for (const a of ARCHITECTURES) {
    const type = Object.keys(a.modelTypes)[0];
    const extra = a.name === "qwen3_moe" ? { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32 } : {};
    const c = parseConfig({ ...CONFIG, ...extra, model_type: type }, "config.json");
    assert.deepEqual([c.family, c.qkvBias, c.qkNorm], [a.name, a.qkvBias === true, a.qkNorm === true], a.name);
    const shapes = Object.keys(a.shapes);
    assert.ok(shapes.length > 0, `${a.name}: no random shape`);
    // one name, one shape: no architecture's shape replaces another's
    const others = ARCHITECTURES.filter((b) => b !== a).flatMap((b) => Object.keys(b.shapes));
    assert.deepEqual(shapes.filter((s) => others.includes(s)), [], a.name);
    for (const s of shapes) assert.equal(SHAPES[s].family, a.name, s);
  }
});

// A shape states what its checkpoint's config.json states where the architecture's default differs: Llama 3.x's
// rms_norm_eps is 1e-5 (LlamaConfig's default, 1e-6, is what a config.json without the field gets).
Deno.test("random shapes carry their checkpoints' RMSNorm eps, not the architecture's default", () => {
  const eps: Record<string, number> = { "llama3.2-1b": 1e-5, "llama3.1-8b": 1e-5, "phi-4": 1e-5, "qwen3-8b": 1e-6 };
  for (const [shape, e] of Object.entries(eps)) assert.equal(SHAPES[shape].rmsEps, e, shape);
});
