/**
 * Hostile inputs at the native library's boundary, one case per process (native_boundary_test.ts runs each, since
 * a case that crashes the addon would take the test runner with it):
 * `deno run -A tests/engine/native_boundary_cases.ts CASE`. Each attempt prints one line, `OUT <json>`: its
 * label, and what the call threw ({ name, message }) or returned.
 */
import { Engine } from "../../engine/model.ts";
import { loadNative, type NativeCache, type NativeModel } from "../../engine/native.ts";
import { encodePlan, type Row } from "../../engine/plan.ts";
import { PLAN_HEADER, PLAN_SECTIONS, SAMPLE_FIELDS } from "../../engine/formats.ts";
import { encodeSpec } from "../../engine/spec.ts";
import type { KVCache } from "../../engine/cache.ts";
import { fixtureDir } from "../helpers.ts";

const native = loadNative();
const INT_MAX = 2 ** 31 - 1, INT_MIN = -(2 ** 31);

export interface Outcome {
  label: string;
  threw?: { name: string; message: string };
  value?: unknown;
}

function out(o: Outcome) {
  console.log("OUT " + JSON.stringify(o));
}

/** Runs `f` and prints what it threw or returned (awaited). */
async function attempt(label: string, f: () => unknown) {
  try {
    const v = await f();
    out({ label, value: v instanceof Int32Array || v instanceof Float32Array ? Array.from(v) : v });
  } catch (e) {
    out({ label, threw: { name: (e as Error).name, message: String((e as Error).message) } });
  }
}

async function tiny(fixture = "qwen3-tiny"): Promise<Engine> {
  return await Engine.load(fixtureDir(fixture), { tokenizer: false });
}

/** A valid plan for `rows` and its sections' offsets. */
function planOf(cache: KVCache, rows: readonly Row[]) {
  const e = encodePlan(cache, rows);
  const p = e.plan;
  const counts: Record<string, number> = { T: p[2], R: p[3], B: p[4], E: p[5], L: p[6], P: p[8] };
  const at: Record<string, number> = {}, len: Record<string, number> = {};
  let size = PLAN_HEADER.length;
  for (const s of PLAN_SECTIONS) (at[s.name] = size, len[s.name] = counts[s.count] + s.plus, size += len[s.name]);
  return { plan: p, at, len, L: e.logitCount };
}

/** Specs for `rows` rows, `f` overriding the defaults (greedy, u 0.5). */
function specs(rows: number, f: Partial<Record<(typeof SAMPLE_FIELDS)[number], number>> = {}): Float32Array {
  const s = new Float32Array(rows * SAMPLE_FIELDS.length);
  const v: Record<string, number> = {
    temperature: 0,
    top_p: 1,
    min_p: 0,
    u: 0.5,
    top_k: 0,
    suppress_start: 0,
    suppress_count: 0,
    logprobs: 0,
    logprobs_start: 0,
    ...f,
  };
  for (let r = 0; r < rows; r++) SAMPLE_FIELDS.forEach((k, i) => (s[r * SAMPLE_FIELDS.length + i] = v[k]));
  return s;
}

/** Every typed array kind but `keep`, and values that are no typed array at all. */
function wrongArrays(keep: string, n: number): [string, unknown][] {
  const kinds: [string, unknown][] = [
    ["Uint8Array", new Uint8Array(n)],
    ["Int8Array", new Int8Array(n)],
    ["Uint8ClampedArray", new Uint8ClampedArray(n)],
    ["Int16Array", new Int16Array(n)],
    ["Uint16Array", new Uint16Array(n)],
    ["Int32Array", new Int32Array(n)],
    ["Uint32Array", new Uint32Array(n)],
    ["Float32Array", new Float32Array(n)],
    ["Float64Array", new Float64Array(n)],
    ["BigInt64Array", new BigInt64Array(n)],
    ["DataView", new DataView(new ArrayBuffer(n * 4))],
    ["Array", new Array(n).fill(0)],
    ["undefined", undefined],
    ["number", 5],
    ["string", "abc"],
    ["object", {}],
  ];
  return kinds.filter(([k]) => k !== keep);
}

// deno-lint-ignore no-explicit-any
type Any = any;

const cases: Record<string, () => Promise<void>> = {
  // Every word of a valid plan (header included) set to each hostile value: refused as "plan: ..." or run.
  async plan_words() {
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 * 16 });
    const [a, b, c] = [cache.newBlock(), cache.newBlock(), cache.newBlock()];
    engine.forward(cache, [{
      block: a,
      view: [a],
      tokens: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    }]);
    const { plan, L } = planOf(cache, [
      { block: b, view: [a, b], tokens: [5, 6], logits: "last" },
      { block: c, view: [a, c], tokens: [7], logits: "all" },
    ]);
    const logits = new Float32Array(L * engine.vocab);
    const hostile = [INT_MAX, INT_MIN, -1, INT_MAX - 1, 2 ** 30, 2 ** 24, 17, 64, 65, 1000];
    for (let i = 0; i < plan.length; i++) {
      for (const v of hostile) {
        const p = plan.slice();
        p[i] = v;
        await attempt(`word ${i}=${v}`, () => engine.native.forward(cache.native, p, logits));
      }
    }
  },
  // row_write_start + n past INT_MAX wraps negative (and the query position with it).
  async row_write_start_overflow() {
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 });
    const b = cache.newBlock();
    for (const [w, off] of [[INT_MAX, 1], [INT_MAX - 1, 2], [2 ** 30, 1]]) {
      const { plan, at, L } = planOf(cache, [{ block: b, view: [b], tokens: [5, 6] }]);
      plan[at.row_write_start] = w;
      plan[at.view_offset] = off;
      plan[at.row_query_start] = (w + off) | 0;
      await attempt(
        `write_start ${w}`,
        () => engine.native.forward(cache.native, plan, new Float32Array(L * engine.vocab)),
      );
    }
  },
  // block_page_start differences that overflow int32, starts outside [0, P], not ascending.
  async block_page_start() {
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 * 16 });
    const bs = [cache.newBlock(), cache.newBlock(), cache.newBlock(), cache.newBlock()];
    const bad = [
      [0, 5, INT_MIN, -1],
      [0, 5, INT_MIN, -1000000],
      [0, INT_MAX, INT_MIN + 1, 0],
      [0, 2, 1, 1],
      [0, 0, 0, 2],
      [0, -1, 0, 0],
    ];
    for (const starts of bad) {
      const { plan, at, L } = planOf(cache, [{ block: bs[3], view: bs, tokens: [5] }]);
      for (let i = 0; i < 4; i++) plan[at.block_page_start + i] = starts[i];
      await attempt(
        `starts ${starts}`,
        () => engine.native.forward(cache.native, plan, new Float32Array(L * engine.vocab)),
      );
    }
  },
  // Each sampling field set to each hostile value, on the host's sampler.
  async sample_fields() {
    const vocab = 16, logits = new Float32Array(vocab).map((_, i) => (i * 7) % 5);
    const hostile = [NaN, Infinity, -Infinity, -1, -0.5, 0.5, 1.5, 2, 2 ** 24, 2 ** 30, 2 ** 31, 2 ** 32, -(2 ** 31)];
    for (const field of SAMPLE_FIELDS) {
      for (const v of hostile) {
        const out = { sampled: new Float32Array(1), ids: new Int32Array(4), logprobs: new Float32Array(4) };
        await attempt(`${field}=${v}`, () => {
          const ids = new Int32Array(1);
          native.sampleLogits(logits, vocab, specs(1, { temperature: 1, [field]: v }), new Int32Array(4), ids, out);
          return ids[0];
        });
      }
    }
    await attempt("suppress_start+count overflow", () => {
      const ids = new Int32Array(1);
      native.sampleLogits(
        logits,
        vocab,
        specs(1, { suppress_start: 2 ** 30, suppress_count: 2 ** 30 }),
        new Int32Array(1),
        ids,
      );
      return ids[0];
    });
    await attempt("logprobs_start+logprobs overflow", () => {
      const ids = new Int32Array(1);
      const out = { sampled: new Float32Array(1), ids: new Int32Array(4), logprobs: new Float32Array(4) };
      native.sampleLogits(
        logits,
        vocab,
        specs(1, { logprobs: 4, logprobs_start: 2 ** 31 - 128 }),
        new Int32Array(0),
        ids,
        out,
      );
      return ids[0];
    });
    for (const id of [-1, vocab, 2 ** 30, INT_MIN]) {
      await attempt(`suppressed id ${id}`, () => {
        const ids = new Int32Array(1);
        native.sampleLogits(logits, vocab, specs(1, { suppress_count: 1 }), new Int32Array([id]), ids);
        return ids[0];
      });
    }
  },
  // Wrong kinds of typed array (and no typed array) for each array argument of sampleLogits.
  async sample_arrays() {
    const vocab = 16, rows = 2;
    const good = () => ({
      logits: new Float32Array(rows * vocab).map((_, i) => i % 7) as Any,
      specs: specs(rows) as Any,
      suppress: new Int32Array(0) as Any,
      ids: new Int32Array(rows) as Any,
    });
    for (const arg of ["logits", "specs", "suppress", "ids"] as const) {
      const want = arg === "logits" || arg === "specs" ? "Float32Array" : "Int32Array";
      for (const [kind, value] of wrongArrays(want, arg === "specs" ? rows * 9 : rows * vocab)) {
        const g = good();
        g[arg] = value;
        await attempt(`${arg}: ${kind}`, () => native.sampleLogits(g.logits, vocab, g.specs, g.suppress, g.ids));
      }
    }
    for (const field of ["sampled", "ids", "logprobs"] as const) {
      const want = field === "ids" ? "Int32Array" : "Float32Array";
      for (const [kind, value] of wrongArrays(want, 8)) {
        const g = good();
        const lp: Any = { sampled: new Float32Array(rows), ids: new Int32Array(8), logprobs: new Float32Array(8) };
        lp[field] = value;
        await attempt(
          `logprobs.${field}: ${kind}`,
          () => native.sampleLogits(g.logits, vocab, specs(rows, { logprobs: 2 }), g.suppress, g.ids, lp),
        );
      }
    }
    for (const lp of [5, "x", null, []]) {
      const g = good();
      await attempt(
        `logprobs: ${JSON.stringify(lp)}`,
        () => native.sampleLogits(g.logits, vocab, g.specs, g.suppress, g.ids, lp as Any),
      );
    }
    for (const v of [NaN, 0, -1, 1.5, 2 ** 32 + 16, "16", undefined]) {
      const g = good();
      await attempt(`vocab: ${v}`, () => native.sampleLogits(g.logits, v as Any, g.specs, g.suppress, g.ids));
    }
  },
  // The same for forward and forwardSample.
  async pass_arrays() {
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 });
    const m = engine.native as Any;
    const b = cache.newBlock();
    const { plan, L } = planOf(cache, [{ block: b, view: [b], tokens: [5] }]);
    for (const [kind, value] of wrongArrays("Int32Array", plan.length)) {
      await attempt(`forward plan: ${kind}`, () => m.forward(cache.native, value, new Float32Array(L * engine.vocab)));
    }
    for (const [kind, value] of wrongArrays("Float32Array", L * engine.vocab)) {
      await attempt(`forward logits: ${kind}`, () => m.forward(cache.native, plan, value));
    }
    const args = (): Any[] => [cache.native, plan, specs(L), new Int32Array(0), new Int32Array(L)];
    const names = ["cache", "plan", "specs", "suppress", "ids"];
    for (let i = 1; i < 5; i++) {
      for (const [kind, value] of wrongArrays(i === 2 ? "Float32Array" : "Int32Array", i === 2 ? 9 * L : plan.length)) {
        const a = args();
        a[i] = value;
        await attempt(`forwardSample ${names[i]}: ${kind}`, () => m.forwardSample(...a));
      }
    }
  },
  // Objects of the wrong class where a model or a cache is expected, and methods called on the wrong object.
  async wrong_objects() {
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 });
    const b = cache.newBlock();
    const { plan, L } = planOf(cache, [{ block: b, view: [b], tokens: [5] }]);
    const m = engine.native as Any, c = cache.native as Any;
    const logits = new Float32Array(L * engine.vocab);
    for (const [kind, value] of [["model", m], ["object", {}], ["number", 5], ["undefined", undefined]] as const) {
      await attempt(`forward cache: ${kind}`, () => m.forward(value, plan, logits));
      await attempt(
        `forwardSample cache: ${kind}`,
        () => m.forwardSample(value, plan, specs(L), new Int32Array(0), new Int32Array(L)),
      );
    }
    const cacheProto = Object.getPrototypeOf(c), modelProto = Object.getPrototypeOf(m);
    await attempt("Cache.dispose on a model", () => cacheProto.dispose.call(m));
    await attempt("Cache.bytes on a model", () => Object.getOwnPropertyDescriptor(cacheProto, "bytes")!.get!.call(m));
    await attempt("Model.forward on a cache", () => modelProto.forward.call(c, c, plan, logits));
    await attempt("Model.newCache on a cache", () => modelProto.newCache.call(c, 4, 16));
    await attempt("Model.dispose on {}", () => modelProto.dispose.call({}));
    await attempt(
      "Model.weightBytes on a cache",
      () => Object.getOwnPropertyDescriptor(modelProto, "weightBytes")!.get!.call(c),
    );
    const fake = Object.setPrototypeOf(m, cacheProto);
    await attempt(
      "a model with the Cache prototype as cache",
      () => Object.setPrototypeOf(fake, modelProto).forward(fake, plan, logits),
    );
    await attempt("the model still works", () => m.forward(c, plan, logits));
  },
  // A cache made by a model of another shape.
  async cross_model_cache() {
    const small = await tiny("llama3-tiny"), big = await tiny("qwen3-tiny");
    const cache = small.newCache({ tokens: 64 });
    const b = cache.newBlock();
    const { plan, L } = planOf(cache, [{ block: b, view: [b], tokens: [5] }]);
    await attempt("forward", () => big.native.forward(cache.native, plan, new Float32Array(L * big.vocab)));
    await attempt(
      "forwardSample",
      () => big.native.forwardSample(cache.native, plan, specs(L), new Int32Array(0), new Int32Array(L)),
    );
  },
  // The inputs changed, or their buffers detached, while a pass runs: the pass uses what it was given.
  async in_flight() {
    const engine = await tiny();
    const toks = Array.from({ length: 256 }, (_, i) => (i * 37) % 1000);
    const pass = async (
      mess: (
        a: { plan: Int32Array; specs: Float32Array; suppress: Int32Array; ids: Int32Array; lp: Any; at: Any },
      ) => void,
    ) => {
      const cache = engine.newCache({ tokens: 4096 });
      const b = cache.newBlock(), c = cache.newBlock();
      const { plan, at, L } = planOf(cache, [{ block: b, view: [b], tokens: toks, logits: "last" }, {
        block: c,
        view: [c],
        tokens: [9, 8, 7],
        logits: "last",
      }]);
      const s = specs(L, { suppress_count: 1, logprobs: 3 });
      s[SAMPLE_FIELDS.length + SAMPLE_FIELDS.indexOf("logprobs_start")] = 3;
      const a = {
        plan,
        specs: s,
        suppress: new Int32Array([1]),
        ids: new Int32Array(L),
        lp: { sampled: new Float32Array(L), ids: new Int32Array(3 * L), logprobs: new Float32Array(3 * L) },
        at,
      };
      const p = engine.native.forwardSample(cache.native, a.plan, a.specs, a.suppress, a.ids, a.lp);
      mess(a);
      const junk = [];
      for (let i = 0; i < 200; i++) junk.push(new Int32Array(4096).fill(-1));
      try {
        await p;
      } catch (e) {
        return { threw: (e as Error).message };
      }
      return { ids: Array.from(a.ids), lpIds: Array.from(a.lp.ids), sampled: Array.from(a.lp.sampled) };
    };
    const clean = await pass(() => {});
    out({ label: "clean", value: clean });
    const transfer = (t: { buffer: ArrayBufferLike }) => (t.buffer as Any).transfer(4);
    const messes: Record<string, (a: Any) => void> = {
      "plan mutated": (
        a,
      ) => (a.plan[a.at.block_pages] = 100000000, a.plan[a.at.tokens] = 99999999, a.plan[a.at.tokens + 5] = -5),
      "plan detached": (a) => transfer(a.plan),
      "specs mutated": (a) => a.specs.fill(NaN),
      "specs detached": (a) => transfer(a.specs),
      "suppress mutated": (a) => a.suppress.fill(-7),
      "suppress detached": (a) => transfer(a.suppress),
    };
    for (const [label, mess] of Object.entries(messes)) await attempt(label, () => pass(mess));
    const lost: Record<string, (a: Any) => void> = {
      "ids detached": (a) => transfer(a.ids),
      "logprobs.ids detached": (a) => transfer(a.lp.ids),
      "logprobs.sampled detached": (a) => transfer(a.lp.sampled),
      "logprobs.logprobs detached": (a) => transfer(a.lp.logprobs),
    };
    for (const [label, mess] of Object.entries(lost)) await attempt(label, () => pass(mess));
  },
  // The logprobs object's getters run JavaScript: one that detaches another argument's buffer, or answers with
  // another kind of array the second time it is read.
  async getters() {
    const vocab = 16;
    const transfer = (t: { buffer: ArrayBufferLike }) => (t.buffer as Any).transfer(4);
    const sampleWith = (mess: (a: { logits: Float32Array; specs: Float32Array; ids: Int32Array }) => void) => {
      const a = {
        logits: new Float32Array(2 * vocab).map((_, i) => i % 7),
        specs: specs(2, { logprobs: 2 }),
        ids: new Int32Array(2),
      };
      const lp = {
        sampled: new Float32Array(2),
        get ids() {
          mess(a);
          return new Int32Array(4);
        },
        logprobs: new Float32Array(4),
      };
      native.sampleLogits(a.logits, vocab, a.specs, new Int32Array(0), a.ids, lp);
      return Array.from(a.ids);
    };
    await attempt("sampleLogits: logits detached by a getter", () => sampleWith((a) => transfer(a.logits)));
    await attempt("sampleLogits: specs detached by a getter", () => sampleWith((a) => transfer(a.specs)));
    await attempt("sampleLogits: ids detached by a getter", () => sampleWith((a) => transfer(a.ids)));
    const engine = await tiny();
    const cache = engine.newCache({ tokens: 64 });
    const b = cache.newBlock();
    const { plan, L } = planOf(cache, [{ block: b, view: [b], tokens: [5, 6] }]);
    let reads = 0;
    const lp = {
      get sampled() {
        return reads++ ? new Uint8Array(1) : new Float32Array(L);
      },
      ids: new Int32Array(2),
      logprobs: new Float32Array(2),
    };
    await attempt("forwardSample: a getter answering another kind the second time", async () => {
      await engine.native.forwardSample(
        cache.native,
        plan,
        specs(L, { logprobs: 2 }),
        new Int32Array(0),
        new Int32Array(L),
        lp as Any,
      );
      return reads;
    });
  },
  // copyBandwidth and deviceCopyBandwidth's arguments.
  async bandwidth_args() {
    for (const reps of [0, -3, NaN, 1.5, 2 ** 32 + 1, "3", undefined]) {
      await attempt(`copyBandwidth reps ${reps}`, () => native.copyBandwidth(1024, reps as Any));
    }
    for (const bytes of [-1, NaN, 1.5, 2 ** 60, "1024", undefined]) {
      await attempt(`copyBandwidth bytes ${bytes}`, () => native.copyBandwidth(bytes as Any, 1));
    }
    await attempt("copyBandwidth ok", () => native.copyBandwidth(4096, 1) > 0);
    for (const reps of [0, -3]) {
      await attempt(`deviceCopyBandwidth reps ${reps}`, () => native.deviceCopyBandwidth(1024, reps));
    }
  },
  // newCache's sizes: never wrapped modulo 2^32.
  async cache_sizes() {
    const engine = await tiny();
    const m = engine.native as Any;
    for (
      const [pages, size] of [[2 ** 32 + 4, 16], [4, 2 ** 32 + 16], [-1, 16], [4, 0], [NaN, 16], [4, 1.5], ["4", 16], [
        4,
        undefined,
      ], [2 ** 31, 16]]
    ) {
      await attempt(`newCache(${pages}, ${size})`, () => {
        const c = m.newCache(pages, size) as NativeCache;
        return { pages: c.pages, pageSize: c.pageSize };
      });
    }
    await attempt(
      "Engine.newCache pageSize 2^32+16",
      () => engine.newCache({ tokens: 65536, pageSize: 2 ** 32 + 16 }).capacityTokens,
    );
    await attempt(
      "Engine.newCache pageSize 2^31",
      () => engine.newCache({ tokens: 65536, pageSize: 2 ** 31 }).capacityTokens,
    );
  },
  // A model spec with a huge layer count (or expert count) is refused by name before any list is built.
  async spec_bounds() {
    const engine = await tiny();
    const moe = await tiny("qwen3moe-tiny");
    for (const layers of [100000, 5000]) {
      const spec = { ...engine.spec, config: { ...engine.spec.config, layers }, tensors: [] };
      const t0 = performance.now();
      await attempt(`layers ${layers}`, () => native.expectedTensors(encodeSpec(spec)).length);
      out({ label: `layers ${layers} ms`, value: performance.now() - t0 < 2000 });
    }
    const spec = {
      ...moe.spec,
      config: { ...moe.spec.config, moe: { ...moe.spec.config.moe!, experts: 2 ** 16 } },
      tensors: [],
    };
    await attempt(`experts 2^16`, () => native.expectedTensors(encodeSpec(spec)).length);
  },
  // Arguments of the wrong type are refused naming the argument.
  async arg_types() {
    await attempt("loadModel spec: Array", () => (native.loadModel as Any)([1, 2, 3], "cpu"));
    await attempt("loadModel spec: Float32Array", () => (native.loadModel as Any)(new Float32Array(4), "cpu"));
    await attempt("loadModel device: number", () => (native.loadModel as Any)(new Uint8Array(4), 5));
    await attempt("loadModel options: number", () => (native.loadModel as Any)(new Uint8Array(4), "cpu", 5));
    await attempt("expectedTensors spec: string", () => (native.expectedTensors as Any)("abc"));
    await attempt("expectedTensors spec: Int32Array", () => (native.expectedTensors as Any)(new Int32Array(4)));
    const spec = encodeSpec((await tiny()).spec);
    await attempt("expectedTensors device: number", () => (native.expectedTensors as Any)(spec, 5));
    await attempt("deviceOptions text: number", () => (native.deviceOptions as Any)(5));
  },
};

/** What a model or cache is, for the cases' types. */
export type { NativeCache, NativeModel };

if (import.meta.main) {
  const name = Deno.args[0];
  if (!cases[name]) throw new Error(`unknown case ${name}; known: ${Object.keys(cases).join(", ")}`);
  await cases[name]();
  console.log("DONE");
}

export const CASE_NAMES = Object.keys(cases);
