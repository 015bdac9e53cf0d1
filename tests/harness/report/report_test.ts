/** harness/report/report.ts: the summary's words on a folder's invocations, a merged folder's and a killed one's. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBenchSpec } from "../../../harness/bench/spec.ts";
import { report } from "../../../harness/report/report.ts";
import { fakeCheckpoint, fakeInvocation, fakeRecord } from "../../helpers.ts";

Deno.test("report: a merged folder's shards' invocations count; a folder whose invocations miss records says so", async () => {
  const spec = parseBenchSpec(["--methods", "sequential", "--budgets", "8", "--count", "4"])!;
  const records = [0, 1, 2, 3].map((i) =>
    fakeRecord({ method: "sequential", problem_id: `p${i}` }, [fakeCheckpoint(8, true)])
  );
  const summary = async (meta: Record<string, unknown>) => {
    const out = mkdtempSync(join(tmpdir(), "hogwild-report-"));
    await report(out, spec, records, meta);
    return readFileSync(join(out, "summary.md"), "utf8");
  };
  // merged (or a merged folder rescored): the invocations are the shards'
  assert.match(
    await summary({ shards: [{ invocations: [fakeInvocation(2, 3)] }, { invocations: [fakeInvocation(2, 2)] }] }),
    /up to 3 runs shared a pass/,
  );
  assert.match(await summary({ invocations: [fakeInvocation(4, 2)] }), /up to 2 runs shared a pass/);
  assert.match(
    await summary({ invocations: [fakeInvocation(1, 2)] }),
    /invocations that wrote 3 of the records were killed/,
  );
});
