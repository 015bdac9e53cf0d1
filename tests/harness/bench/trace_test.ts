/**
 * What every reader of traces.jsonl assumes (docs/run-files.md, "traces.jsonl"): a writer's text is its steps
 * in step order, joined, then the step it was still writing. Checked on the demo model's traces of every family
 * (its compared methods, and the variants that insert or cut text), so that no method can break it unseen; and
 * that a record counts the writers' own steps, not those of text the harness inserted.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchRecord, TraceLine } from "../../../harness/bench/rundir.ts";
import { comparedMethods, familyName, familyNames } from "../../../harness/generation/methods.ts";
import { runCli } from "../../helpers.ts";

// Every family's compared methods, and LeaP's rounds often enough to insert, cut and summarize within 64 passes.
const METHODS = [...comparedMethods([64]), "leap:2:every=16:summary=12", "leap:2:cut:every=16:summary=12"];

Deno.test("every family's traces: a writer's text is its steps in step order, then its unfinished step", async () => {
  assert.deepEqual([...new Set(METHODS.map(familyName))].sort(), familyNames().sort(), "every family runs");
  const out = join(mkdtempSync(join(tmpdir(), "hogwild-trace-")), "run");
  const args = ["--methods", METHODS.join(","), "--budgets", "64", "--count", "2", "--out", out];
  const r = await runCli("cli/bench.ts", args);
  assert.equal(r.code, 0, r.stderr);
  const traces = readFileSync(join(out, "traces.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(traces.length, 2 * METHODS.length);
  const broken = (traces as TraceLine[]).flatMap((t) =>
    t.workers.flatMap((text, w) => {
      const steps = t.steps.filter((s) => s.worker === w).sort((a, b) => a.step - b.step);
      const numbered = steps.every((s, i) => s.step === i + 1);
      return text.startsWith(steps.map((s) => s.text).join("")) && numbered ? [] : [`${t.method} writer ${w}`];
    })
  );
  assert.deepEqual([...new Set(broken)], []);
  // A record counts its writers' own steps: none the harness inserted.
  const records = readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(
    records.map((r: BenchRecord) => r.steps),
    (traces as TraceLine[]).map((t) => t.steps.filter((s) => !s.inserted).length),
  );
});
