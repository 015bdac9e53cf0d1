/**
 * harness/judge/cache.ts: a reply paid for is never lost to the cache: a cache write that fails mid-run leaves the
 * reply recorded in judge.jsonl, with a warning naming --cache.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeam } from "../../../engine/files.ts";
import { cachedJudge } from "../../../harness/judge/cache.ts";
import { loadJudgeTemplate } from "../../../harness/judge/prompt.ts";
import { judgeAll, pendingWork } from "../../../harness/judge/work.ts";
import { runFolder, trace } from "./fake_server.ts";

Deno.test("judge cache: a cache write that fails mid-run loses no reply: each recorded in judge.jsonl, a warning naming --cache", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cache-fail-"));
  const dir = runFolder(join(base, "run"), ["t1", "t2", "t3"].map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  const cache = join(base, "cache");
  const line = { judge: "fake", where: "here", prompt_version: "v", prefix_tokens: 64 };
  const { work, files } = pendingWork([dir], { runs: 2, line, template: loadJudgeTemplate() });
  const warned: string[] = [];
  let asked = 0;
  const judge = cachedJudge(
    { id: "fake", where: "here", reply: () => Promise.resolve({ text: `SCORE: ${1 + asked++ % 6}`, cut: false }) },
    cache,
    "v",
    (l) => warned.push(l),
  );
  // the cache's disk full after its first reply (a quota, a read-only remount): judge.jsonl still takes lines
  writeSeam.before = (file) => {
    if (file.startsWith(cache) && readdirSync(cache).length >= 1) {
      throw new Error("No space left on device (os error 28)");
    }
  };
  try {
    const { got, failures } = await judgeAll(judge, work, 2);
    assert.deepEqual(failures, []);
    assert.equal(got, 6, "every reply recorded");
  } finally {
    writeSeam.before = undefined;
    for (const f of files.values()) f.close();
  }
  const lines = readFileSync(join(dir, "judge.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, 6);
  assert.equal(asked, 6);
  assert.equal(readdirSync(cache).length, 1, "the one reply the cache took");
  assert.equal(judge.unkept, 5);
  assert.equal(warned.length, 1, `one warning: ${warned}`);
  assert.match(
    warned[0],
    new RegExp(
      `^judge: --cache ${cache}: cannot keep a reply there \\(.*the disk is full.*\\); each reply is recorded in ` +
        "judge\\.jsonl all the same",
    ),
  );
  rmSync(base, { recursive: true });
});
