/**
 * deno task judge (cli/judge.ts) against the fake OpenAI-compatible server (tests/harness/judge/fake_server.ts):
 * one judge per folder at a time, the flags' checks, the key of judge.jsonl's lines, the human scores checked
 * before any judging, and replies in flight recorded when the command stops.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers.ts";
import { chat, endpointArgs, fakeServer, runFolder, trace } from "../harness/judge/fake_server.ts";

const lines = (dir: string) =>
  readFileSync(join(dir, "judge.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

Deno.test("deno task judge: a second judge on a folder another is writing is refused naming judge.lock; the first's lines all kept", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-lock-"));
  const dir = runFolder(join(base, "run"), ["t1", "t2", "t3"].map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  // the first judge's replies held until the second has tried
  let open = () => {}, asked = () => {};
  const gate = new Promise<void>((r) => (open = r)), first = new Promise<void>((r) => (asked = r));
  const s = fakeServer(async () => {
    asked();
    await gate;
    return chat("SCORE: 4");
  });
  try {
    const a = runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 2));
    await first;
    for (const cache of ["cache", "cache-2"]) {
      // (were it let in: its requests time out at once, never waiting on the gate)
      const b = await runCli("cli/judge.ts", [
        ...endpointArgs(dir, s.url, join(base, cache), 2),
        ...["--timeout-s", "0.5", "--retries", "0"],
      ]);
      assert.equal(b.code, 2, b.stderr);
      assert.match(
        b.stderr,
        new RegExp(
          `^error: ${dir}: another judge \\(process \\d+ on ${hostname()}\\) is writing this folder's judge\\.jsonl ` +
            `\\(it holds ${join(dir, "judge.lock")}\\); wait for it to end, then run the same command again\\n$`,
        ),
      );
    }
    open();
    const r = await a;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(dir).length, 6);
    assert.equal(s.bodies.length, 6, "each reply asked once");
    // the folder given back: the next judge reads it all, asks nothing
    const again = await runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 2));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(s.bodies.length, 6);
    assert.match(again.stdout, /\| run \| hogwild:2 \| 3 \| 4\.00 \|/);
  } finally {
    open();
    await s.close();
  }
});
