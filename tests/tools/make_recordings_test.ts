/**
 * tools/make-recordings.ts: its folders hold only what this preparation records, whatever an earlier one left; the
 * gapped views' expected logits are the slow reference path's; every shape's timing recordings replay.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearRecordings, gappedSets, perf, sequence } from "../../tools/make-recordings.ts";
import { Engine } from "../../engine/model.ts";
import { REPLAY_PATH } from "../../engine/native.ts";
import { SHAPES } from "../../engine/shapes.ts";
import { maxAbsDiff, Rng } from "../helpers.ts";

Deno.test("make-recordings clears the recordings an earlier preparation left, in both folders", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-recordings-"));
  const [out, timing] = [join(dir, "recordings"), join(dir, "timing")];
  mkdirSync(out), mkdirSync(timing);
  // another --perf-shape's timing recordings (device-check then found two shapes, or none of the one it wanted),
  // timing ones beside the checks', a shape since dropped; what is not a recording stays
  const stale = ["perf-qwq-32b.hwrec", "perf-qwq-32b.txt", "sequence-qwq-32b.hwrec", "sequence-qwq-32b.txt"];
  for (const f of [...stale, "notes.md"]) writeFileSync(join(timing, f), "");
  for (const f of [...stale, "random-gone-shape.hwrec", "fixture-gone.hwrec", "notes.md"]) {
    writeFileSync(join(out, f), "");
  }
  clearRecordings(out, timing);
  assert.deepEqual(readdirSync(timing), ["notes.md"]);
  assert.deepEqual(readdirSync(out), ["notes.md"]);
  clearRecordings(join(dir, "new/recordings"), join(dir, "new/timing")); // made where missing
  assert.deepEqual(readdirSync(join(dir, "new")).sort(), ["recordings", "timing"]);
});

/** A recording's passes (engine/record.ts's layout): each plan and the logits it is compared against. */
function recordedPasses(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12 + v.getUint32(8, true);
  const pages = v.getInt32(at, true), pageSize = v.getInt32(at + 4, true), n = v.getUint32(at + 8, true);
  at += 12;
  const array = <T>(make: (b: ArrayBuffer) => T) => {
    const len = v.getUint32(at, true), a = make(bytes.slice(at + 4, at + 4 + 4 * len).buffer);
    at += 4 + 4 * len;
    return a;
  };
  const passes = Array.from({ length: n }, () => ({
    plan: array((b) => new Int32Array(b)),
    logits: array((b) => new Float32Array(b)),
  }));
  return { pages, pageSize, passes };
}

// The card runs these plans on its fast path (the query turned per block): compared against the CPU's fast path,
// the two fast paths could share a slip in the rotation and agree; against the slow path (every key turned by its
// block's offset, ordinary attention) they cannot.
Deno.test("make-recordings: the gapped views' plans are the fast path's, their expected logits the CPU's slow path", async () => {
  const engine = await Engine.load("random:qwen3-demo", { tokenizer: false });
  const cache = engine.newCache({ tokens: 16384 });
  const rec = engine.record(cache);
  const n = gappedSets(engine, cache, rec, new Rng(5));
  const { pages, pageSize, passes } = recordedPasses(rec.bytes());
  assert.equal(passes.length, n);
  // the same plans on fresh caches of the same pages, on each path
  const fresh = () => engine.newCache({ tokens: pages * pageSize, pageSize }).native;
  const [fast, slow] = [fresh(), fresh()];
  let differ = 0;
  for (const [i, p] of passes.entries()) {
    assert.equal(p.plan[7], 0, `pass ${i}: recorded with the key-rotation flag (the card refuses it)`);
    const got = (c: typeof fast, keyRotation: number) => {
      const plan = p.plan.slice(), logits = new Float32Array(p.logits.length);
      plan[7] = keyRotation;
      assert.equal(engine.native.forward(c, plan, logits), -1);
      return logits;
    };
    const f = got(fast, 0), s = got(slow, 1);
    const off = maxAbsDiff(p.logits, s); // (a deep equality's diff of 10^5 floats would take minutes to print)
    assert.ok(p.logits.length === s.length && off === 0, `pass ${i}: expected logits ${off} off the slow path's`);
    differ += maxAbsDiff(f, s) > 0 ? 1 : 0;
  }
  assert.ok(differ > 0, "the two paths' logits differ somewhere (else this test could not tell them apart)");
});

// device:prepare --perf-shape takes any shape: a Llama's (128256 ids) or Phi-4's (100352) timing recordings held
// prefill ids up to 150000 and the Qwen3 tokenizer's ids, and the replay on the card refused them ("token id 118563
// is out of range"). The replay's spec check runs here, on the CPU, without the model (--check-attn-plans).
Deno.test("make-recordings: every shape's timing recordings replay, their ids inside the shape's vocabulary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-timing-"));
  for (const shape of Object.keys(SHAPES)) {
    perf(shape, dir);
    await sequence(shape, dir);
    for (const kind of ["perf", "sequence"]) {
      const file = join(dir, `${kind}-${shape}.hwrec`);
      const r = await new Deno.Command(REPLAY_PATH, {
        args: [file, "--check-attn-plans"],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, `${kind}-${shape}.hwrec: ${text}`);
      assert.match(text, /every invariant holds/, `${kind}-${shape}.hwrec`);
    }
  }
});
