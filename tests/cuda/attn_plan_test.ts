/**
 * The CUDA attention's metadata (cuda/src/attn_meta.cc), checked on the CPU: hogwild-replay --check-attn-plans
 * builds it for every recorded pass under several grid targets and group sizes and checks what the kernels
 * rely on (a token's partial slots one contiguous range, every slot written by exactly one work item, …).
 * The plans come from shared-cache scripts, random scripts, Hogwild! runs with many blocks per view and a Group
 * Think run (blocks read in full past the query: negative rotations).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { REPLAY_PATH } from "../../engine/native.ts";
import { parseScript, runScript, scriptTokens } from "../../engine/script.ts";
import { newSolver, parseMethod } from "../../harness/generation/methods.ts";
import { fixtureDir, randInt, randomScript, Rng } from "../helpers.ts";

async function check(file: string) {
  const out = await new Deno.Command(REPLAY_PATH, {
    args: [file, "--check-attn-plans"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

Deno.test("the CUDA attention metadata of every recorded pass keeps the kernels' invariants", async () => {
  // random weights: the scripts' passes go past the demo shape's 2048 positions, where the metadata is the same
  const engine = await Engine.load("random:qwen3-demo", { allowLongContext: true });
  const dir = mkdtempSync(join(tmpdir(), "hogwild-attn-"));
  const files: string[] = [];

  const scriptFile = join(fixtureDir("qwen3-tiny"), "hogwild-script.json");
  const rng = new Rng(5);
  const scripts = [
    parseScript(JSON.parse(readFileSync(scriptFile, "utf8")), scriptFile, engine.vocab),
    randomScript(rng, engine.vocab, 1500),
    randomScript(rng, engine.vocab, 200),
  ];
  for (const [i, script] of scripts.entries()) {
    const cache = engine.newCache({ tokens: scriptTokens(script) + 1024 });
    const rec = engine.record(cache);
    runScript(engine, cache, script, { logits: "last" });
    files.push(join(dir, `script${i}.hwrec`));
    writeFileSync(files[files.length - 1], rec.bytes());
  }
  // Hogwild! runs: prompts, headers, histories of finished steps, others' steps, transcript chains, finishers.
  const tok = engine.tokenizer!, stepEnd = tok.encode(".\n\n")[0];
  // Group Think: slotted views whose other thinkers' blocks are read in full, past the query too.
  for (const method of ["hogwild:4", "hogwild:8:interleaved", "sc:3", "groupthink:3"]) {
    const cache = engine.newCache();
    const rec = engine.record(cache);
    const run = newSolver(cache, parseMethod(method), "What is 2+2?", 0, {
      tokenizer: tok,
      generation: engine.generation,
      budgets: [10, 30],
      finisherTokens: 3,
    });
    const pick = new Rng(method.length);
    while (!run.done) {
      const rows = run.plan();
      engine.forward(cache, rows);
      run.accept(rows.map((r) => (r.sampler ? (pick.next() < 0.3 ? stepEnd : randInt(pick, 1000, 150000)) : -1)), 0);
    }
    files.push(join(dir, `${method.replaceAll(":", "-")}.hwrec`));
    writeFileSync(files[files.length - 1], rec.bytes());
  }
  for (const f of files) {
    const r = await check(f);
    assert.equal(r.code, 0, `${f}: ${r.text}`);
    assert.match(r.text, /^attention plans: \d+ passes × \d+ settings: every invariant holds\n$/);
  }
});
