/**
 * harness/judge/cache.ts: a reply paid for is never lost to the cache: a cache write that fails mid-run leaves the
 * reply recorded in judge.jsonl, with a warning naming --cache.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

Deno.test("judge cache: a cached file whose stored key is not its name's (another judge, endpoint, prompt version, run or prompt) is not used: asked again, replaced, said", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-judge-cache-key-"));
  let asked = 0;
  const inner = {
    id: "j",
    where: "http://h/v1",
    reply: () => Promise.resolve({ text: `SCORE: ${++asked}`, cut: false }),
  };
  const warned: string[] = [];
  const judge = () => cachedJudge(inner, cache, "v@1", (l) => warned.push(l));
  assert.equal((await judge().reply("the prompt", 0)).text, "SCORE: 1");
  const [name] = readdirSync(cache), file = join(cache, name);
  const good = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(good.prompt_sha256.length, 64, "the prompt's hash kept beside the reply");
  for (
    const [field, value] of [
      ["judge", "other"],
      ["where", "http://elsewhere/v1"],
      ["prompt_version", "v@2"],
      ["run", 1],
      ["prompt_sha256", "0".repeat(64)],
    ] as const
  ) {
    writeFileSync(file, JSON.stringify({ ...good, [field]: value, reply: "tampered" }));
    const before = asked, j = judge();
    const got = await j.reply("the prompt", 0);
    assert.notEqual(got.text, "tampered", `${field}: the mislabelled reply not used`);
    assert.equal(asked, before + 1, `${field}: asked again`);
    assert.equal(j.asked, 1);
    assert.match(warned.at(-1)!, new RegExp(`^judge: ${file}: a cached reply of another key \\(its ${field} `));
    assert.equal(JSON.parse(readFileSync(file, "utf8"))[field], good[field], `${field}: replaced with the right key`);
  }
  // a file from before the prompt's hash was kept: used, its other fields matching
  const { prompt_sha256: _, ...older } = good;
  writeFileSync(file, JSON.stringify({ ...older, reply: "SCORE: 5" }));
  const j = judge();
  assert.equal((await j.reply("the prompt", 0)).text, "SCORE: 5");
  assert.equal(j.asked, 0);
  rmSync(cache, { recursive: true });
});
