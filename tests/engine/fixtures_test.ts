/** The engine against Hugging Face transformers (../shared/fixtures, copied to tests/fixtures). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Engine } from "../../engine/model.ts";
import { generate } from "../../engine/generate.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import { parseScript, runScript, scriptTokens } from "../../engine/script.ts";
import { CASES, fixtureDir, maxAbsDiff, reference, referenceKind } from "../helpers.ts";

const TOL = 1e-4;

Deno.test("the fixtures: every folder with a reference.json, each saying whose logits it holds", () => {
  assert.ok(CASES.length >= 7, `${CASES}`);
  const kinds = CASES.map(referenceKind);
  assert.deepEqual(new Set(kinds), new Set(["transformers", "float64"]));
});

for (const name of CASES) {
  Deno.test(`${name}: logits of every position match transformers within ${TOL}`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const ref = reference(name);
    // the sequences make_fixtures.py wrote (reference.json), so that an emptied reference cannot pass
    const meta: { sequences: { key: string; length: number }[] } = JSON.parse(
      readFileSync(`${fixtureDir(name)}/reference.json`, "utf8"),
    );
    let checked = 0;
    for (let s = 0; ref.has(`seq${s}.ids`); s++) {
      const ids = Array.from(ref.get(`seq${s}.ids`)!.data);
      assert.equal(ids.length, meta.sequences[s]?.length, `${name} seq${s}: length against reference.json`);
      const want = ref.get(`seq${s}.logits`)!.data;
      const cache = engine.newCache({ tokens: ids.length });
      const block = cache.newBlock();
      const [got] = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
      const err = maxAbsDiff(got, want);
      console.log(`${name} seq${s} (${ids.length} tokens): worst |logit error| ${err.toExponential(2)}`);
      assert.ok(err < TOL, `${name} seq${s}: worst error ${err}`);
      checked++;
    }
    assert.equal(checked, meta.sequences.length, "every sequence of reference.json was compared");
    assert.ok(checked >= 3, `${checked} sequences`);
  });

  Deno.test(`${name}: 24 greedy tokens with the cache equal transformers' full re-forward`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const ref = reference(name);
    const prompt = Array.from(ref.get("greedy.prompt")!.data);
    const want = Array.from(ref.get("greedy.output")!.data);
    const got = await generate(engine, prompt, { maxNewTokens: want.length, sampler: new Sampler(GREEDY) });
    assert.deepEqual(got, want);
  });

  Deno.test(`${name}: every row of hogwild-script.json matches the reference within ${TOL}`, async () => {
    const engine = await Engine.load(fixtureDir(name));
    const file = `${fixtureDir(name)}/hogwild-script.json`;
    const script = parseScript(JSON.parse(readFileSync(file, "utf8")), file, engine.vocab);
    const ref = reference(name, "hogwild-script.safetensors");
    const cache = engine.newCache({ tokens: scriptTokens(script) + 1024 });
    const got = runScript(engine, cache, script);
    let worst = 0, rows = 0;
    got.forEach((pass, i) =>
      pass.forEach((logits, j) => {
        const want = ref.get(`p${i}.r${j}`);
        assert.ok(want, `reference lacks p${i}.r${j}`);
        worst = Math.max(worst, maxAbsDiff(logits, want.data));
        rows++;
      })
    );
    assert.equal(rows, ref.size, "every reference row was compared");
    console.log(
      `${name} hogwild script: ${got.length} passes, ${rows} rows, worst |logit error| ${worst.toExponential(2)}`,
    );
    assert.ok(worst < TOL, `worst error ${worst}`);
  });
}
