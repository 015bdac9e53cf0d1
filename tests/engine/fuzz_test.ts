/**
 * Mutated checkpoints and configs (HOGWILD_FUZZ=N cases, 300 by default): each either loads, when what was
 * changed cannot be told from a good file (a weight's bytes, a padding space), or is refused with one line
 * (InputError): never a stack trace, a native crash, a hang, or a corrupt header that loads.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { readHeader } from "../../engine/safetensors.ts";
import { fixtureDir, randInt, Rng } from "../helpers.ts";

const CASES = Number(Deno.env.get("HOGWILD_FUZZ") ?? 300);
const SOURCES = ["qwen3-tiny", "qwen2-tiny", "llama3-tiny"];
const ODD = [null, -1, 0, 1, 2, 3, 1e12, 2 ** 31, 0.5, "x", "", [], {}, true, 1e-300, "__INF__"];

type Mutation = { kind: string; apply(dir: string, rng: Rng): void };

const MUTATIONS: Mutation[] = [
  {
    kind: "a header byte",
    apply(dir, rng) {
      const file = join(dir, "model.safetensors"), b = readFileSync(file);
      const n = Number(b.readBigUInt64LE(0));
      const at = 8 + randInt(rng, 0, n - 1);
      b[at] = (b[at] + randInt(rng, 1, 255)) % 256; // a different byte
      writeFileSync(file, b);
    },
  },
  {
    kind: "the header length",
    apply(dir, rng) {
      const file = join(dir, "model.safetensors"), b = readFileSync(file);
      const n = b.readBigUInt64LE(0);
      const delta = BigInt(randInt(rng, 1, 16) * (rng.next() < 0.5 ? -1 : 1));
      b.writeBigUInt64LE(rng.next() < 0.5 ? n + delta : BigInt(randInt(rng, 0, 2 ** 30)) || n + 1n, 0);
      writeFileSync(file, b);
    },
  },
  {
    kind: "a truncation",
    apply(dir, rng) {
      const file = join(dir, "model.safetensors"), b = readFileSync(file);
      writeFileSync(file, b.subarray(0, randInt(rng, 0, b.length - 1)));
    },
  },
  {
    kind: "a weight byte",
    apply(dir, rng) {
      const file = join(dir, "model.safetensors"), b = readFileSync(file);
      const n = Number(b.readBigUInt64LE(0));
      b[8 + n + randInt(rng, 0, b.length - 9 - n)] = randInt(rng, 0, 255);
      writeFileSync(file, b);
    },
  },
  {
    kind: "a config field",
    apply(dir, rng) {
      const file = join(dir, "config.json"), c = JSON.parse(readFileSync(file, "utf8"));
      const keys = Object.keys(c), key = keys[randInt(rng, 0, keys.length - 1)];
      c[key] = ODD[randInt(rng, 0, ODD.length - 1)];
      writeFileSync(file, JSON.stringify(c).replace('"__INF__"', "1e400"));
    },
  },
  {
    kind: "config.json bytes",
    apply(dir, rng) {
      const file = join(dir, "config.json"), b = readFileSync(file);
      const at = randInt(rng, 0, b.length - 1);
      b[at] = (b[at] + randInt(rng, 1, 255)) % 256;
      writeFileSync(file, b);
    },
  },
];

Deno.test(`fuzz: ${CASES} mutated checkpoints and configs load or are refused in one line`, async () => {
  const rng = new Rng(Number(Deno.env.get("HOGWILD_FUZZ_SEED") ?? 1));
  const seen: Record<string, { loaded: number; refused: number }> = {};
  let slowest = 0;
  for (let i = 0; i < CASES; i++) {
    const source = SOURCES[i % SOURCES.length], m = MUTATIONS[randInt(rng, 0, MUTATIONS.length - 1)];
    const dir = mkdtempSync(join(tmpdir(), "hogwild-fuzz-"));
    for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
      copyFileSync(join(fixtureDir(source), f), join(dir, f));
    }
    m.apply(dir, rng);
    const tally = seen[m.kind] ??= { loaded: 0, refused: 0 };
    const t0 = performance.now();
    try {
      const engine = await Engine.load(dir);
      // A load must be of a file that still reads as a good one: its header tiles the data.
      readHeader(join(dir, "model.safetensors"));
      const cache = engine.newCache({ tokens: 64 }), block = cache.newBlock();
      try {
        engine.forward(cache, [{ block, view: [block], tokens: [1, 2, 3] }]);
      } catch (e) {
        assert.match(
          (e as Error).message,
          /produced NaN or infinite logits|more than the model's max_position_embeddings/,
          `case ${i} (${m.kind}, ${source}): ${(e as Error).stack}`,
        );
      }
      tally.loaded++;
    } catch (e) {
      const err = e as Error;
      assert.ok(err instanceof InputError, `case ${i} (${m.kind}, ${source}): ${err.stack}`);
      assert.ok(!err.message.includes("\n"), `case ${i}: one line: ${err.message}`);
      tally.refused++;
    }
    slowest = Math.max(slowest, performance.now() - t0);
    Deno.removeSync(dir, { recursive: true });
  }
  console.log(`fuzz: ${CASES} cases, slowest ${slowest.toFixed(0)} ms; ${JSON.stringify(seen)}`);
  assert.ok(slowest < 10_000, `a case took ${slowest} ms`);
});
