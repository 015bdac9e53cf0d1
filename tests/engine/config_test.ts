/** engine/config.ts: generation_config.json's values are checked at load, each refusal naming the file and field. */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHITECTURES } from "../../engine/architectures/registry.ts";
import {
  DEFAULT_GENERATION,
  defaultsUsed,
  type ModelConfig,
  parseConfig,
  parseSamplingFlags,
  readGenerationConfig,
  resolveSampling,
  unappliedSettings,
  unappliedText,
  unappliedWarning,
} from "../../engine/config.ts";
import { Engine } from "../../engine/model.ts";
import { InputError } from "../../engine/errors.ts";
import { addedToken, fixtureDir } from "../helpers.ts";

Deno.test("generation_config.json: sampling values out of range and token ids that are not ids are refused by field", () => {
  const model = { vocab_size: 1000, eos_token_id: 2 };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ top_p: 0 }, /generation_config\.json: field "top_p" must be a number in \(0, 1\], got 0/],
    [{ min_p: 1.5 }, /field "min_p" must be a number in \[0, 1\), got 1\.5/],
    [{ top_k: 2.5 }, /field "top_k" must be an integer ≥ 0, got 2\.5/],
    [{ temperature: -1 }, /field "temperature" must be 0 \(greedy\) or a number ≥ 0\.000001, got -1/],
    [{ temperature: 1e-40 }, /field "temperature" must be 0 \(greedy\) or a number ≥ 0\.000001, got 1e-40/],
    [{ temperature: "0.7" }, /field "temperature" must be 0 \(greedy\) or .*got "0\.7"/],
    [{ eos_token_id: "0" }, /generation_config\.json: field "eos_token_id": expected token ids .*got "0"/],
    [
      { eos_token_id: 5000 },
      /field "eos_token_id": expected token ids \(integers below the vocabulary's 1000\), got 5000/,
    ],
    [{ eos_token_id: [2, -1] }, /field "eos_token_id": .*got -1/],
    [{ bos_token_id: 1.5 }, /field "bos_token_id": .*got 1\.5/],
    [{ do_sample: "true" }, /field "do_sample" must be true or false, got "true"/],
    // in range as doubles, not as the float32s the sampler reads: refused here, not by the core after a run began
    [{ min_p: 0.99999999999 }, /field "min_p" must be a number in \[0, 1\), got 0\.99999999999 \(.*float32.* 1\)$/],
    [{ temperature: 1e39 }, /field "temperature" must be 0 \(greedy\) .*got 1e\+39 \(.*float32.* Infinity\)$/],
    [{ top_p: 1e-50 }, /field "top_p" must be a number in \(0, 1\], got 1e-50 \(.*float32.* 0\)$/],
  ];
  for (const [g, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-gen-"));
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify(g));
    assert.throws(() => readGenerationConfig(dir, model), message, JSON.stringify(g));
  }
  // From config.json when the generation config has none: named there.
  const dir = mkdtempSync(join(tmpdir(), "hogwild-gen-"));
  assert.throws(
    () => readGenerationConfig(dir, { vocab_size: 10, eos_token_id: 99999 }),
    /config\.json: field "eos_token_id"/,
  );
  const ok = readGenerationConfig(dir, { vocab_size: 10, eos_token_id: [3, 4], bos_token_id: 1 });
  assert.deepEqual([ok.eosTokenIds, ok.bosTokenId, ok.topP, ok.topK], [[3, 4], 1, 1, 50]);
});

Deno.test("config.json: tie_word_embeddings that is not a boolean is named, not read as false", () => {
  const base = JSON.parse(readFileSync(new URL("../fixtures/qwen3-tiny/config.json", import.meta.url), "utf8"));
  for (const v of ["yes", 1, "true"]) {
    assert.throws(
      () => parseConfig({ ...base, tie_word_embeddings: v }, "config.json"),
      /config\.json: field "tie_word_embeddings" must be true or false/,
    );
  }
  assert.equal(parseConfig({ ...base, tie_word_embeddings: true }, "config.json").tiedEmbeddings, true);
});

/**
 * What transformers' config classes (configuration_*.py) take for each field a config.json may leave out, written
 * here from them: for 64 heads over hidden_size 4096, a derived value is 64 (key/value heads, head_dim).
 */
const TRANSFORMERS_DEFAULTS: Record<string, Record<string, number | boolean>> = {
  llama: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    num_key_value_heads: 64,
    head_dim: 64,
    tie_word_embeddings: false,
    max_position_embeddings: 2048,
  },
  qwen2: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    num_key_value_heads: 32,
    head_dim: 64,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
  },
  qwen3: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    num_key_value_heads: 32,
    head_dim: 128,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
  },
  qwen3_moe: {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    num_key_value_heads: 4,
    head_dim: 64,
    tie_word_embeddings: false,
    max_position_embeddings: 32768,
  },
  phi3: {
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    num_key_value_heads: 64,
    head_dim: 64,
    tie_word_embeddings: false,
    max_position_embeddings: 4096,
  },
};

Deno.test("config.json: each field left out is its architecture's transformers default, not another's", () => {
  const types = ARCHITECTURES.flatMap((a) => Object.keys(a.modelTypes));
  assert.deepEqual(Object.keys(TRANSFORMERS_DEFAULTS).sort(), types.sort(), "a row for every model_type");
  // every field given, none at any architecture's default
  const given = {
    rms_norm_eps: 1e-3,
    rope_theta: 12345,
    num_key_value_heads: 8,
    head_dim: 96,
    tie_word_embeddings: true,
    max_position_embeddings: 100000,
  };
  const read = (c: ModelConfig) => ({
    rms_norm_eps: c.rmsEps,
    rope_theta: c.rope.theta,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    tie_word_embeddings: c.tiedEmbeddings,
    max_position_embeddings: c.maxPositions,
  });
  for (const [type, defaults] of Object.entries(TRANSFORMERS_DEFAULTS)) {
    const base = {
      model_type: type,
      hidden_size: 4096,
      intermediate_size: 256,
      num_hidden_layers: 2,
      num_attention_heads: 64,
      vocab_size: 512,
      num_experts: 4,
      num_experts_per_tok: 2,
      moe_intermediate_size: 32,
      ...given,
    };
    assert.deepEqual(read(parseConfig(base, "config.json")), given, type);
    for (const key of Object.keys(given)) {
      const c: Record<string, unknown> = { ...base };
      delete c[key];
      assert.deepEqual(
        read(parseConfig(c, "config.json")),
        { ...given, [key]: defaults[key] },
        `${type} without ${key}`,
      );
    }
    // an explicit null is num_attention_heads in every class's __post_init__, whatever its default
    assert.equal(parseConfig({ ...base, num_key_value_heads: null }, "config.json").kvHeads, 64, type);
    // max_position_embeddings left out or null is the class's limit, as the run key says, never none at all
    const { max_position_embeddings: _, ...unlimited } = base;
    assert.equal(
      parseConfig({ ...base, max_position_embeddings: null }, "config.json").maxPositions,
      defaults.max_position_embeddings,
    );
    assert.equal(defaultsUsed(unlimited).max_position_embeddings, defaults.max_position_embeddings, type);
  }
  // a default that does not fit is named as the default, not as a value the file holds
  const qwen2 = JSON.parse(readFileSync(join(fixtureDir("qwen2-tiny"), "config.json"), "utf8"));
  assert.throws(
    () => parseConfig({ ...qwen2, num_key_value_heads: undefined }, "config.json"),
    /config\.json: num_attention_heads \(4\) must be a multiple of num_key_value_heads \(32, qwen2's default\)/,
  );
});

const fixtureConfig = (name: string) => JSON.parse(readFileSync(join(fixtureDir(name), "config.json"), "utf8"));

Deno.test('config.json: layer_types is read; a "sliding_attention" layer is refused, named, with or without a window in effect', () => {
  const qwen2 = fixtureConfig("qwen2-tiny"); // 3 layers, use_sliding_window false, sliding_window null
  const layers = (...kinds: string[]) => ({ ...qwen2, layer_types: kinds });
  const full = "full_attention", sliding = "sliding_attention";
  // transformers' Qwen2 raises here (a sliding layer, no window); the engine ran full attention
  assert.throws(
    () => parseConfig(layers(full, sliding, full), "config.json"),
    /^InputError: config\.json: layer_types\[1\] is "sliding_attention", with no sliding window in effect \(use_sliding_window is not set\); sliding windows are not supported \(every token attends to its whole view\)$/,
  );
  // every architecture: none slides
  for (const name of ["qwen3-tiny", "qwen3moe-tiny", "llama3-tiny", "phi3-tiny"]) {
    const c = fixtureConfig(name);
    const kinds = Array.from({ length: c.num_hidden_layers }, (_, i) => i ? sliding : full);
    assert.throws(
      () => parseConfig({ ...c, layer_types: kinds }, "config.json"),
      /layer_types\[1\] is "sliding_attention"/,
    );
  }
  assert.equal(parseConfig(layers(full, full, full), "config.json").layers, 3);
  assert.throws(
    () => parseConfig(layers(full, full), "config.json"),
    /config\.json: layer_types lists 2 layers, num_hidden_layers says 3 \(one attention kind per layer\)/,
  );
  assert.throws(
    () => parseConfig(layers(full, "chunked_attention", full), "config.json"),
    /config\.json: layer_types\[1\] "chunked_attention" is not supported; supported: "full_attention"/,
  );
});

Deno.test("config.json: use_sliding_window is read as each transformers class reads it: refused only where a layer would slide", () => {
  const qwen2 = fixtureConfig("qwen2-tiny"); // 3 layers
  const on = { ...qwen2, use_sliding_window: true };
  const refused = (first: number, why: string) =>
    new RegExp(
      `^InputError: config\\.json: sliding_window 4096 is not supported \\(every token attends to its whole view\\); ` +
        `transformers applies it to layers ${first}\\.\\.2 \\(${why}\\)$`,
    );
  // Qwen2Config / Qwen3Config: no window (sliding_window null), or none of the layers from max_window_layers on
  for (const type of ["qwen2", "qwen3"]) {
    for (
      const c of [
        { sliding_window: null },
        { sliding_window: 4096, max_window_layers: 3 },
        { sliding_window: 4096, max_window_layers: 28 },
        { sliding_window: undefined, max_window_layers: undefined }, // 4096 from layer 28 on
        // layer_types decides where given
        {
          sliding_window: 4096,
          max_window_layers: 0,
          layer_types: ["full_attention", "full_attention", "full_attention"],
        },
      ]
    ) {
      assert.equal(parseConfig({ ...on, ...c, model_type: type }, "config.json").layers, 3, JSON.stringify(c));
    }
    for (const v of [true, 1, "yes"]) { // as Python reads it
      assert.throws(
        () =>
          parseConfig(
            { ...on, model_type: type, use_sliding_window: v, sliding_window: 4096, max_window_layers: 1 },
            "config.json",
          ),
        refused(1, "use_sliding_window is set, from max_window_layers 1 on"),
      );
    }
  }
  for (const v of [false, 0, null, ""]) {
    assert.equal(
      parseConfig({ ...on, use_sliding_window: v, sliding_window: 4096, max_window_layers: 0 }, "config.json").layers,
      3,
    );
  }
  assert.throws(
    () => parseConfig({ ...on, sliding_window: 4096, max_window_layers: -1 }, "config.json"),
    /config\.json: field "max_window_layers" must be an integer ≥ 0, got -1/,
  );
  assert.throws(
    () => parseConfig({ ...on, layer_types: ["full_attention", "full_attention", "sliding_attention"] }, "config.json"),
    /config\.json: layer_types\[2\] is "sliding_attention", with no sliding window in effect \(sliding_window is null\)/,
  );
  // Qwen3MoeConfig: every layer slides where the window is in effect
  const moe = { ...fixtureConfig("qwen3moe-tiny"), use_sliding_window: true };
  assert.equal(parseConfig({ ...moe, sliding_window: null }, "config.json").layers, 2);
  assert.throws(
    () => parseConfig(moe, "config.json"),
    /config\.json: sliding_window 4096 \(qwen3_moe's default\) is not supported .*; transformers applies it to layers 0\.\.1 \(use_sliding_window is set\)$/,
  );
  // Phi3Config has no use_sliding_window; LlamaConfig no window at all
  assert.equal(parseConfig({ ...fixtureConfig("phi3-tiny"), use_sliding_window: true }, "config.json").layers, 2);
  assert.throws(
    () => parseConfig({ ...fixtureConfig("llama3-tiny"), use_sliding_window: true }, "config.json"),
    /config\.json: use_sliding_window is not supported for llama \(every token attends to its whole view\)$/,
  );
});

Deno.test("config.json: rope_theta/rope_scaling beside rope_parameters must agree with it, not be dropped", () => {
  const base = JSON.parse(readFileSync(new URL("../fixtures/llama3-tiny/config.json", import.meta.url), "utf8"));
  const { rope_scaling, rope_theta, ...rest } = base;
  const params = { ...rope_scaling, rope_theta };
  const want = parseConfig(base, "config.json").rope;
  // The same RoPE written twice (transformers 4's fields and 5's), or once each way: one reading.
  for (const c of [{ ...base, rope_parameters: params }, { ...rest, rope_theta, rope_parameters: params }]) {
    assert.deepEqual(parseConfig(c, "config.json").rope, want);
  }
  assert.deepEqual(parseConfig({ ...rest, rope_scaling: null, rope_parameters: params }, "config.json").rope, want);
  for (
    const c of [
      { ...base, rope_parameters: { rope_type: "default", rope_theta } },
      { ...base, rope_parameters: { ...params, rope_theta: 10000 } },
      { ...rest, rope_scaling: { ...rope_scaling, factor: 4 }, rope_parameters: params },
    ]
  ) {
    assert.throws(
      () => parseConfig(c, "config.json"),
      /config\.json: rope_theta\/rope_scaling \(.*\) and rope_parameters \(.*\) disagree; keep one/,
    );
  }
  // a top-level rope_theta beside rope_parameters' own: transformers 4 reads the one, transformers 5 the other
  assert.throws(
    () => parseConfig({ ...rest, rope_theta: 10000, rope_parameters: params }, "config.json"),
    /config\.json: rope_theta 10000 and rope_parameters\.rope_theta 500000 disagree \(transformers 4 reads the top-level one, transformers 5 the one in rope_parameters\); keep one$/,
  );
  // a scaling's settings without its type are not read as no scaling
  for (
    const c of [{ ...rest, rope_theta, rope_scaling: { factor: 4 } }, {
      ...rest,
      rope_parameters: { rope_theta, factor: 4 },
    }]
  ) {
    assert.throws(() => parseConfig(c, "config.json"), /config\.json: rope_\w+ has factor but no "rope_type"/);
  }
  assert.deepEqual(parseConfig({ ...rest, rope_theta, rope_scaling: {} }, "config.json").rope.type, "default");
});

Deno.test("config.json: a RoPE type that is null is refused, not read as the default", () => {
  const { rope_scaling: _, rope_theta, ...base } = fixtureConfig("llama3-tiny");
  const cases: [Record<string, unknown>, string][] = [
    [{ rope_parameters: { rope_type: null, rope_theta } }, "rope_parameters.rope_type null"],
    [{ rope_theta, rope_scaling: { type: null } }, "rope_scaling.type null"],
    [{ rope_theta, rope_scaling: { rope_type: null, factor: 2 } }, "rope_scaling.rope_type null"],
    // transformers reads rope_type where the key is there, null too, before type
    [{ rope_theta, rope_scaling: { rope_type: null, type: "linear", factor: 2 } }, "rope_scaling.rope_type null"],
  ];
  for (const [c, what] of cases) {
    assert.throws(
      () => parseConfig({ ...base, ...c }, "config.json"),
      new RegExp(
        `^InputError: config\\.json: ${
          what.replace(".", "\\.")
        } is not a RoPE type; supported: default, llama3, linear$`,
      ),
      JSON.stringify(c),
    );
  }
  assert.equal(
    parseConfig({ ...base, rope_theta, rope_scaling: { type: "linear", factor: 2 } }, "config.json").rope.type,
    "linear",
  );
});

Deno.test('config.json: hidden_act "swish" is read as SiLU, as transformers\' ACT2FN maps it', () => {
  for (const name of ["qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "llama3-tiny", "phi3-tiny"]) {
    const c = fixtureConfig(name);
    assert.deepEqual(parseConfig({ ...c, hidden_act: "swish" }, "config.json"), parseConfig(c, "config.json"), name);
    assert.throws(
      () => parseConfig({ ...c, hidden_act: "gelu" }, "config.json"),
      /^InputError: config\.json: hidden_act "gelu" is not supported \(silu, swish\)$/,
    );
  }
});

Deno.test("config.json: mlp_bias is refused only where the transformers class reads it (Llama); Qwen's and Phi-3's ignore it", () => {
  for (const name of ["qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "phi3-tiny"]) {
    const c = fixtureConfig(name);
    assert.deepEqual(parseConfig({ ...c, mlp_bias: true }, "config.json"), parseConfig(c, "config.json"), name);
  }
  const llama = fixtureConfig("llama3-tiny");
  assert.throws(
    () => parseConfig({ ...llama, mlp_bias: true }, "config.json"),
    /^InputError: config\.json: mlp_bias is not supported for llama \(the engine's MLPs have no biases\)$/,
  );
  parseConfig({ ...llama, mlp_bias: false }, "config.json");
});

Deno.test("config.json: rope_parameters without rope_theta takes the top-level one, else the class's default, as transformers 5 fills it", () => {
  const llama = fixtureConfig("llama3-tiny");
  const { rope_scaling, rope_theta: _, ...rest } = llama;
  const want = parseConfig(llama, "config.json").rope;
  assert.deepEqual(parseConfig({ ...rest, rope_theta: 5e5, rope_parameters: rope_scaling }, "config.json").rope, want);
  // with no rope_theta anywhere: LlamaConfig's default_theta 10000, and the run key's defaults say so
  const bare = { ...rest, rope_parameters: rope_scaling };
  assert.deepEqual(parseConfig(bare, "config.json").rope, { ...want, theta: 10000 });
  assert.equal(defaultsUsed(bare).rope_theta, 10000);
  assert.equal(defaultsUsed({ ...bare, rope_parameters: { ...rope_scaling, rope_theta: 5e5 } }).rope_theta, undefined);
});

Deno.test("config.json: rope_theta and partial_rotary_factor inside an older-layout rope_scaling are read where the top level agrees, refused where it does not", () => {
  const { rope_theta: _, ...qwen2 } = fixtureConfig("qwen2-tiny");
  const phi3 = fixtureConfig("phi3-tiny"); // head_dim 16, rope_theta 5e5, rope_scaling null
  const rope = (c: Record<string, unknown>) => parseConfig(c, "config.json").rope.theta;
  // transformers 5 reads the dict, filling it from the top level only where it lacks a key; transformers 4 reads
  // the top level: where only one place says it, or both say the same, that is the value
  assert.equal(rope({ ...qwen2, rope_scaling: { rope_type: "default", rope_theta: 1e6 } }), 1e6);
  assert.equal(rope({ ...qwen2, rope_theta: 1e6, rope_scaling: { rope_type: "default", rope_theta: 1e6 } }), 1e6);
  assert.equal(rope({ ...qwen2, rope_theta: 1e6, rope_scaling: { rope_type: "default" } }), 1e6);
  const half = { rope_type: "default", partial_rotary_factor: 0.5 };
  assert.equal(parseConfig({ ...phi3, rope_scaling: half }, "config.json").rotaryDim, 8);
  assert.equal(parseConfig({ ...phi3, partial_rotary_factor: 0.5, rope_scaling: half }, "config.json").rotaryDim, 8);
  assert.equal(
    defaultsUsed({ ...qwen2, rope_scaling: { rope_type: "default", rope_theta: 1e6 } }).rope_theta,
    undefined,
  );
  assert.equal(defaultsUsed({ ...qwen2, rope_scaling: { rope_type: "default" } }).rope_theta, 10000);
  // the two versions read two models from one file: refused, naming both keys
  const cases: [Record<string, unknown>, string][] = [
    [
      { ...qwen2, rope_theta: 1e6, rope_scaling: { rope_type: "default", rope_theta: 1e4 } },
      "rope_theta 1000000 and rope_scaling.rope_theta 10000",
    ],
    [
      { ...phi3, partial_rotary_factor: 0.75, rope_scaling: half },
      "partial_rotary_factor 0.75 and rope_scaling.partial_rotary_factor 0.5",
    ],
    [
      { ...phi3, rope_scaling: { rope_type: "default", rope_theta: 1e4 } },
      "rope_theta 500000 and rope_scaling.rope_theta 10000",
    ],
  ];
  for (const [c, what] of cases) {
    assert.throws(
      () => parseConfig(c, "config.json"),
      new RegExp(
        `^InputError: config\\.json: ${what.replaceAll(".", "\\.")} disagree \\(transformers 4 reads the ` +
          "top-level one, transformers 5 the one in rope_scaling\\); keep one$",
      ),
      JSON.stringify(c),
    );
  }
  // a partial rotary factor in rope_scaling is one the architecture must implement, as at the top level
  assert.throws(
    () => parseConfig({ ...qwen2, rope_scaling: half }, "config.json"),
    /partial_rotary_factor 0\.5 is not supported for this model_type \(phi3 only\)/,
  );
});

Deno.test("config.json: with both layouts, rope_scaling (which transformers 5 reads) is not filled from rope_parameters: they must agree", () => {
  const { rope_theta: _, ...qwen2 } = fixtureConfig("qwen2-tiny");
  // transformers 5: rope_scaling, its theta the class default (10000); rope_parameters says 1e6
  assert.throws(
    () =>
      parseConfig(
        {
          ...qwen2,
          rope_scaling: { rope_type: "default" },
          rope_parameters: { rope_type: "default", rope_theta: 1e6 },
        },
        "config.json",
      ),
    /config\.json: rope_theta\/rope_scaling \(.*"theta":10000.*\) and rope_parameters \(.*"theta":1000000.*\) disagree; keep one/,
  );
  const same = { rope_type: "default", rope_theta: 1e6 };
  assert.equal(parseConfig({ ...qwen2, rope_scaling: same, rope_parameters: same }, "config.json").rope.theta, 1e6);
  // partial_rotary_factor too
  const phi3 = fixtureConfig("phi3-tiny");
  assert.throws(
    () =>
      parseConfig(
        {
          ...phi3,
          rope_scaling: { rope_type: "default", partial_rotary_factor: 0.5 },
          rope_parameters: { rope_type: "default" },
        },
        "config.json",
      ),
    /config\.json: rope_theta\/rope_scaling \(.*\) and rope_parameters \(.*\) disagree; keep one/,
  );
});

Deno.test("a tokenizer with more tokens than the embedding has rows is refused at load, naming both", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-vocab-"));
  cpSync(new URL("../../engine/models/hogwild-demo", import.meta.url).pathname, dir, { recursive: true });
  // The embedding has 793 rows; the tokenizer gains ten special tokens past them.
  const tok = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  for (let i = 0; i < 10; i++) {
    tok.added_tokens.push(addedToken(793 + i, `<|extra_${i}|>`));
  }
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tok));
  await assert.rejects(
    () => Engine.load(dir),
    /tokenizer\.json: 803 tokens, more than the 793 rows of the embedding \(config\.json's vocab_size\)/,
  );
});

/** readGenerationConfig of a file holding `g`, with what it said on stderr. */
function readSaying(g: Record<string, unknown>, model: Record<string, unknown> = { eos_token_id: 2 }) {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-gen-"));
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify(g));
  const error = console.error, said: string[] = [];
  console.error = (...a: unknown[]) => void said.push(a.join(" "));
  try {
    return { g: readGenerationConfig(dir, model), said };
  } finally {
    console.error = error;
  }
}

Deno.test("generation_config.json: every setting transformers acts on that the engine does not apply is found and said; at neutral values none", () => {
  // transformers' logits processors, stopping criteria and decoding modes, each at a value it acts on
  const departs: Record<string, [unknown, "always" | "sampling" | "greedy"]> = {
    guidance_scale: [1.5, "always"],
    sequence_bias: [[[[9], -10.0]], "always"],
    encoder_repetition_penalty: [1.1, "always"],
    repetition_penalty: [1.05, "always"],
    no_repeat_ngram_size: [3, "always"],
    encoder_no_repeat_ngram_size: [2, "always"],
    bad_words_ids: [[[8]], "always"],
    min_length: [10, "always"],
    min_new_tokens: [50, "always"],
    exponential_decay_length_penalty: [[5, 1.5], "always"],
    forced_bos_token_id: [1, "always"],
    forced_eos_token_id: [2, "always"],
    remove_invalid_values: [true, "always"],
    suppress_tokens: [[5, 6, 7], "always"],
    begin_suppress_tokens: [[3], "always"],
    watermarking_config: [{ greenlist_ratio: 0.25 }, "always"],
    token_healing: [true, "always"],
    stop_strings: [["\n\n"], "always"],
    num_beams: [4, "always"],
    constraints: [[{}], "always"],
    force_words_ids: [[[3]], "always"],
    dola_layers: ["high", "always"],
    penalty_alpha: [0.6, "greedy"],
    assistant_ensemble_weight: [0.5, "always"],
    top_h: [0.5, "sampling"],
    typical_p: [0.9, "sampling"],
    epsilon_cutoff: [3e-4, "sampling"],
    eta_cutoff: [1e-3, "sampling"],
  };
  const file = { ...Object.fromEntries(Object.entries(departs).map(([k, [v]]) => [k, v])), use_mtp: true };
  const { g, said } = readSaying(file);
  assert.deepEqual(Object.fromEntries((g.unapplied ?? []).map((u) => [u.key, [u.value, u.when]])), departs);
  assert.deepEqual(said, [], "said by the command that decodes with them (unappliedSettings), not at load");
  // a decoding departs by those transformers applies in it: sampling skips contrastive search, greedy the warpers
  const sampled = unappliedSettings(g, 0.6), greedy = unappliedSettings(g, 0);
  const keys = (when: string[]) => Object.keys(departs).filter((k) => when.includes(departs[k][1]));
  assert.deepEqual(Object.keys(sampled), keys(["always", "sampling"]));
  assert.deepEqual(Object.keys(greedy), keys(["always", "greedy"]));
  assert.equal(sampled.repetition_penalty, 1.05);
  assert.equal(
    unappliedWarning(g, { repetition_penalty: 1.05 }),
    `warning: ${g.file} sets repetition_penalty 1.05, which transformers applies and this engine does not ` +
      "(decoded without it)",
  );
  assert.match(
    unappliedText({ suppress_tokens: Array.from({ length: 90 }, (_, i) => i), top_h: 0.5 })!,
    /^suppress_tokens \[0,1,.*… \(\d+ characters\) and top_h 0\.5, which transformers applies and this engine does not \(decoded without them\)$/,
  );
  assert.equal(unappliedText({}), undefined);
  // neutral values, and settings that act only with another (contrastive search: top_k > 1; ensemble: a proposer)
  const neutral = readSaying({
    guidance_scale: 1,
    sequence_bias: null,
    encoder_repetition_penalty: 1.0,
    repetition_penalty: 1.0,
    no_repeat_ngram_size: 0,
    encoder_no_repeat_ngram_size: 0,
    bad_words_ids: null,
    min_length: 0,
    min_new_tokens: null,
    exponential_decay_length_penalty: null,
    forced_bos_token_id: null,
    remove_invalid_values: false,
    suppress_tokens: [],
    begin_suppress_tokens: null,
    token_healing: false,
    stop_strings: null,
    num_beams: 1,
    penalty_alpha: 0.6,
    top_k: 1,
    top_h: null,
    typical_p: 1.0,
    epsilon_cutoff: 0.0,
    eta_cutoff: 0.0,
    assistant_ensemble_weight: 0.5,
    prompt_lookup_num_tokens: 10,
    // changing no token: a log-softmax at the end, beam search's own settings, a length the command decides
    renormalize_logits: true,
    length_penalty: 2,
    diversity_penalty: 0.5,
    num_beam_groups: 2,
    max_length: 100,
  });
  assert.deepEqual([neutral.g.unapplied, neutral.said], [undefined, []]);
  // without a stop token min_length holds nothing back
  assert.equal(readSaying({ min_new_tokens: 5 }, {}).g.unapplied, undefined);
  // Qwen2.5-7B-Instruct's file as it ships: its repetition_penalty alone
  const qwen = readSaying({
    bos_token_id: 151643,
    pad_token_id: 151643,
    do_sample: true,
    eos_token_id: [151645, 151643],
    repetition_penalty: 1.05,
    temperature: 0.7,
    top_p: 0.8,
    top_k: 20,
    transformers_version: "4.37.0",
  }, {});
  assert.deepEqual(qwen.g.unapplied, [{ key: "repetition_penalty", value: 1.05, when: "always" }]);
});

Deno.test("a pass past max_position_embeddings is refused naming it, unless the engine was loaded to allow it", async () => {
  const model = new URL("../../engine/models/hogwild-demo", import.meta.url).pathname;
  for (const allow of [false, true]) {
    const engine = await Engine.load(model, { allowLongContext: allow });
    assert.equal(engine.config.maxPositions, 2048);
    const cache = engine.newCache({ tokens: 4096 });
    const block = cache.newBlock("long");
    cache.claimForBenchmark(block, 2047);
    const row = (n: number) => ({
      block,
      view: [block],
      tokens: Array.from({ length: n }, () => 5),
      logits: "none" as const,
    });
    engine.forward(cache, [row(1)]); // position 2047: the last one trained
    const free = cache.freePages;
    if (allow) engine.forward(cache, [row(1)]);
    else {
      assert.throws(
        () => engine.forward(cache, [row(1)]),
        /hogwild-demo: a pass needs 2049 positions, more than the model's max_position_embeddings 2048 \(config\.json\)/,
      );
      assert.equal(cache.freePages, free, "the refused pass gave its pages back");
      assert.equal(block.length, 2048);
    }
  }
});

Deno.test("a random: model runs only at the positions its real checkpoint would (every shape states them)", async () => {
  for (const a of ARCHITECTURES) {
    for (const [name, shape] of Object.entries(a.shapes)) assert.ok(shape.maxPositions > 0, name);
  }
  for (const allow of [false, true]) {
    const engine = await Engine.load("random:qwen3-demo", { allowLongContext: allow, tokenizer: false });
    assert.equal(engine.config.maxPositions, 2048);
    const cache = engine.newCache({ tokens: 4096 });
    const block = cache.newBlock("long");
    cache.claimForBenchmark(block, 2048);
    const row = { block, view: [block], tokens: [5], logits: "none" as const };
    if (allow) engine.forward(cache, [row]);
    else {
      assert.throws(
        () => engine.forward(cache, [row]),
        /random:qwen3-demo: a pass needs 2049 positions, more than the model's max_position_embeddings 2048 \(its real checkpoint's\)/,
      );
    }
  }
});

Deno.test("a model folder whose config.json or model.safetensors is a named pipe is refused, not waited on", async () => {
  for (const name of ["config.json", "model.safetensors"]) {
    const dir = mkdtempSync(join(tmpdir(), "hogwild-pipe-"));
    cpSync(fixtureDir("qwen3-tiny"), dir, { recursive: true });
    Deno.removeSync(join(dir, name));
    assert.equal(new Deno.Command("mkfifo", { args: [join(dir, name)] }).outputSync().code, 0);
    await assert.rejects(Engine.load(dir, { tokenizer: false }), new RegExp(`${name}: not a file`));
  }
});

Deno.test("sampling: the settings named, each one left out the generation_config's (as transformers resolves them)", () => {
  const qwen3 = { ...DEFAULT_GENERATION, doSample: true, temperature: 0.6, topK: 20, topP: 0.95 };
  assert.deepEqual(resolveSampling(qwen3), { temperature: 0.6, topK: 20, topP: 0.95, minP: 0 });
  assert.deepEqual(resolveSampling(qwen3, { temperature: 0.7 }), { temperature: 0.7, topK: 20, topP: 0.95, minP: 0 });
  assert.deepEqual(resolveSampling(qwen3, { topP: 0.9, topK: undefined }), {
    temperature: 0.6,
    topK: 20,
    topP: 0.9,
    minP: 0,
  });
  assert.deepEqual(resolveSampling(qwen3, { topK: 0, topP: 1 }), { temperature: 0.6, topK: 0, topP: 1, minP: 0 });
  // a model that does not sample: greedy unless a setting is named; then transformers' defaults (top-k 50)
  assert.deepEqual(resolveSampling(DEFAULT_GENERATION), { temperature: 0, topK: 0, topP: 1, minP: 0 });
  assert.deepEqual(resolveSampling(DEFAULT_GENERATION, { temperature: 0.6 }), {
    temperature: 0.6,
    topK: 50,
    topP: 1,
    minP: 0,
  });
  assert.deepEqual(resolveSampling(DEFAULT_GENERATION, {}, true), { temperature: 1, topK: 50, topP: 1, minP: 0 });
  assert.deepEqual(resolveSampling(qwen3, { temperature: 0 }).temperature, 0);
});

Deno.test("config.json: quantization_config.modules_to_not_convert is read for AWQ and FP8 alike: a list of module names, or refused by key", () => {
  const fixture = (name: string) => JSON.parse(readFileSync(join(fixtureDir(name), "config.json"), "utf8"));
  for (const base of [fixture("qwen2-awq-tiny"), fixture("qwen3-fp8-tiny")]) {
    const method = base.quantization_config.quant_method;
    const parse = (list: unknown, keep = true) => {
      const q = { ...base.quantization_config, modules_to_not_convert: list };
      if (!keep) delete q.modules_to_not_convert;
      return parseConfig({ ...base, quantization_config: q }, "config.json").quant;
    };
    // none: absent, null or empty
    for (const none of [parse(undefined, false), parse(null), parse([])]) {
      assert.equal(none?.method, method);
      assert.deepEqual(none?.notConverted ?? [], [], method);
    }
    // names are kept for the tensor list to check (engine/spec.ts), whatever they name
    const names = ["lm_head", "model.layers.0.mlp.gate", "model.layers.0.mlp.down_proj", "mlp"];
    assert.deepEqual(parse(names)?.notConverted, names, method);
    for (
      const [bad, message] of [
        ["lm_head", /must be a list of module names, got "lm_head"/],
        [{ lm_head: true }, /must be a list of module names, got \{"lm_head":true\}/],
        [["lm_head", 3], /must be a list of module names, got \["lm_head",3\]/],
        [[null], /must be a list of module names, got \[null\]/],
        [["model.layers.*.mlp.gate"], /entry "model\.layers\.\*\.mlp\.gate" is not a module name/],
        [["re:.*gate$"], /entry "re:\.\*gate\$" is not a module name/],
      ] as [unknown, RegExp][]
    ) {
      assert.throws(
        () => parse(bad),
        (e) =>
          e instanceof InputError &&
          e.message.startsWith("config.json (quantization_config): modules_to_not_convert") &&
          message.test(e.message),
        `${method} ${JSON.stringify(bad)}`,
      );
    }
  }
});

Deno.test("config.json's architectures naming a class that is no causal LM (a classifier, a reward model, a bare model) is refused naming the field and value", () => {
  const base = JSON.parse(readFileSync(join(fixtureDir("qwen3-tiny"), "config.json"), "utf8"));
  const heads = [
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "RewardModel",
    "ForRewardModel",
    "Model",
    "ForMaskedLM",
    "PreTrainedModel",
    "ForCausalLMWithValueHead",
  ];
  for (const family of ["Qwen3", "Qwen2", "Llama", "Phi3", "Mistral"]) {
    for (const head of heads) {
      for (const list of [[family + head], [family + "ForCausalLM", family + head]]) {
        const c = { ...base, architectures: list };
        assert.throws(
          () => parseConfig(c, "m/config.json"),
          (e: Error) =>
            e instanceof InputError && e.message.startsWith("m/config.json: architectures") &&
            e.message.includes(JSON.stringify(family + head)),
          JSON.stringify(list),
        );
      }
    }
    // a causal LM's name, or none, is read as it was
    for (const architectures of [[family + "ForCausalLM"], [family + "LMHeadModel"], undefined, null, []]) {
      const c = architectures === undefined ? { ...base } : { ...base, architectures };
      if (architectures === undefined) delete c.architectures;
      assert.equal(parseConfig(c, "m/config.json").family, "qwen3", JSON.stringify(architectures));
    }
  }
  for (const bad of ["Qwen3ForCausalLM", [1], {}]) {
    assert.throws(
      () => parseConfig({ ...base, architectures: bad }, "m/config.json"),
      /m\/config\.json: architectures/,
    );
  }
});

Deno.test("sampling flags: --temperature 0 (greedy) with --top-k, --top-p or --min-p is refused naming them, which would change nothing; with a temperature above 0 or none they are kept", () => {
  const cases: [Record<string, string>, string][] = [
    [{ "top-k": "20" }, "--top-k"],
    [{ "top-p": "0.9" }, "--top-p"],
    [{ "min-p": "0.05" }, "--min-p"],
    [{ "top-k": "20", "top-p": "0.9", "min-p": "0.05" }, "--top-k, --top-p and --min-p"],
  ];
  for (const [cuts, named] of cases) {
    assert.throws(
      () => parseSamplingFlags({ temperature: "0", ...cuts }),
      (e) =>
        e instanceof InputError &&
        e.message ===
          `--temperature 0 decodes greedily: ${named} would change nothing; leave ${
            named.includes(" ") ? "them" : "it"
          } out, or sample (--temperature above 0)`,
      named,
    );
    assert.deepEqual(
      Object.keys(parseSamplingFlags({ temperature: "0.6", ...cuts }) ?? {}).length,
      1 + Object.keys(cuts).length,
    );
    assert.ok(parseSamplingFlags(cuts), "alone: the generation_config's temperature");
  }
  assert.deepEqual(parseSamplingFlags({ temperature: "0" }), { temperature: 0 });
});

Deno.test("sampling flags: a value in range as a double but not as the sampler's float32 is refused naming its flag", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "min-p": "0.9999999999" }, /^--min-p: expected a number in \[0, 1\), got "0\.9999999999" \(.*float32.* 1\)$/],
    [{ temperature: "1" + "0".repeat(39) }, /^--temperature: expected 0 \(greedy\) .*float32.* Infinity\)$/],
    [
      { "top-p": "0." + "0".repeat(49) + "1" },
      /^--top-p: expected a number in \(0, 1\], got "0\.0+1" \(.*float32.* 0\)$/,
    ],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => parseSamplingFlags(flags),
      (e) => e instanceof InputError && message.test(e.message),
      message.source,
    );
  }
  // the largest below 1 that a float32 holds, and the smallest temperature: kept
  assert.deepEqual(parseSamplingFlags({ "min-p": "0.99999994", temperature: "0.000001" }), {
    temperature: 0.000001,
    minP: 0.99999994,
  });
});
