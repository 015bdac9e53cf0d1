/**
 * hogwild-replay --check-sampling checks each logits row's top-k log-probabilities (k 1..20) from forward_sample
 * against the host's reference on the same logits, and 480 crafted rows: on the CPU the reference against itself
 * (the check runs and says so); on a GPU, when there is one, the device's log-sum-exp and top-k selection.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../engine/model.ts";
import { loadNative, REPLAY_PATH } from "../../engine/native.ts";

async function replay(...args: string[]) {
  const out = await new Deno.Command(REPLAY_PATH, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("hogwild-replay --check-sampling checks the log-probabilities (on a GPU: the device's against the host's)", async () => {
  const engine = await Engine.load("random:qwen3-demo", { tokenizer: false });
  const cache = engine.newCache({ tokens: 1024 });
  const recorder = engine.record(cache);
  const [a, b] = [cache.newBlock("a"), cache.newBlock("b")];
  engine.forward(cache, [
    { block: a, view: [a], tokens: [5, 17, 300, 9, 1000, 42], logits: "all" },
    { block: b, view: [a, b], tokens: [7, 8, 151000], logits: "all" },
  ]);
  const file = join(mkdtempSync(join(tmpdir(), "hogwild-rec-")), "logprobs.hwrec");
  writeFileSync(file, recorder.bytes());
  const devices = loadNative().cudaInfo().deviceCount > 0 ? ["cpu", "cuda"] : ["cpu"];
  for (const device of devices) {
    const r = await replay(file, "--device", device, "--tol", device === "cpu" ? "0" : "5e-2", "--check-sampling");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // 9 rows: k = 20, 2, 3, none, 20, 6, 7, none, 20
    const m = r.stdout.match(/logprobs of (\d+) rows: worst abs diff (\S+), top-id mismatches (\d+)/);
    assert.ok(m, r.stdout);
    assert.equal(m[1], "7");
    assert.equal(m[3], "0");
    assert.ok(Number(m[2]) <= (device === "cpu" ? 0 : 1e-4), m[2]);
    // and the crafted rows: ties at every cut, suppressed ranges anywhere in the list, top-k ties asked for
    assert.match(
      r.stdout,
      new RegExp(
        `crafted sampling rows on ${device}: 480 rows, mismatches where the rule leaves one choice 0, ` +
          `elsewhere \\d+; log-probabilities of 1[0-9]{2} rows, 0 not the reference's`,
      ),
    );
    // the GPU's one check of sampling specs (both its entry points; on the CPU the check itself): its per-row
    // bound of suppressed ids (shared memory) refused, not overflowed
    assert.match(r.stdout, /^refused on \w+: a row of 65 suppressed ids \(at most 64 on a GPU\)/m);
    // every token of a row suppressed: the host rule's error, greedy and sampled (the GPU answered the id `vocab`
    // greedy, out of range, and -1 sampled, which read as NaN logits); on the CPU the rule and the GPU's host side
    assert.match(
      r.stdout,
      /^refused on \w+: every token suppressed, greedy and sampled: "sampling: every token is suppressed"$/m,
    );
  }
});
