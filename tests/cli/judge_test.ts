/**
 * deno task judge (cli/judge.ts) against the fake OpenAI-compatible server (tests/harness/judge/fake_server.ts):
 * one judge per folder at a time, the flags' checks, the key of judge.jsonl's lines, the human scores checked
 * before any judging, and replies in flight recorded when the command stops.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { runCli } from "../helpers.ts";
import { lockJudgeFile } from "../../harness/bench/rundir.ts";
import { chat, DEMO, endpointArgs, fakeServer, runFolder, trace } from "../harness/judge/fake_server.ts";

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
    // a folder judged already is only read: its table while another judge holds it (or on a read-only mount)
    const release = lockJudgeFile(dir);
    try {
      const reader = await runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 2));
      assert.equal(reader.code, 0, reader.stderr);
      assert.match(reader.stdout, /\| run \| hogwild:2 \| 3 \| 4\.00 \|/);
    } finally {
      release();
    }
  } finally {
    open();
    await s.close();
  }
});

Deno.test("judge --settings: labels and methods each once; a repeated label or method refused naming it, never dropped", async () => {
  const { parseSettings } = await import("../../cli/judge.ts");
  const labels = ["a", "b", "token-wise", "hogwild:2", "sc:2"], methods = ["hogwild:2", "sc:2", "leap:2", "a"];
  let seed = 7;
  const pick = <T>(xs: readonly T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length];
  for (let i = 0; i < 300; i++) {
    const pairs = Array.from({ length: 1 + (i % 4) }, () => [pick(labels), pick(methods)] as const);
    const text = pairs.map(([l, m]) => `${l}=${m}`).join(",");
    const label = pairs.find(([l], j) => pairs.findIndex(([k]) => k === l) < j)?.[0];
    const method = pairs.find(([, m], j) => pairs.findIndex(([, k]) => k === m) < j)?.[1];
    if (label === undefined && method === undefined) {
      assert.deepEqual([...parseSettings(text)], pairs.map(([l, m]) => [m, l]), text);
      continue;
    }
    // the first repeat in the list is named (a label, or a method)
    const first = pairs.findIndex(([l, m], j) =>
      pairs.findIndex(([k]) => k === l) < j || pairs.findIndex(([, k]) => k === m) < j
    );
    const [l, m] = pairs[first];
    const why = pairs.findIndex(([k]) => k === l) < first
      ? `the label "${l}" is given twice`
      : `the method "${m}" is given twice`;
    assert.throws(() => parseSettings(text), (e) => e instanceof Error && e.message.includes(why), `${text}: ${why}`);
  }
  // the cases the review found
  assert.throws(() => parseSettings("a=hogwild:2,b=hogwild:2"), /the method "hogwild:2" is given twice/);
  assert.throws(() => parseSettings("a=hogwild:2,a=sc:2"), /the label "a" is given twice/);
  assert.deepEqual([...parseSettings("hogwild:2=sc:2,sc:2=hogwild:2")], [["sc:2", "hogwild:2"], ["hogwild:2", "sc:2"]]);
});

Deno.test("deno task judge --human over several folders: a human trace in two of them is refused before any reply is asked; a trace in two the file never names is not", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-human-"));
  // t1 in both folders (two models' runs of one problem); t2, t3, t4 in one each
  const a = runFolder(join(base, "a"), ["t1", "t2", "t3"].map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  const b = runFolder(join(base, "b"), ["t1", "t4"].map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  const human = (ids: string[]) => {
    const file = join(base, `human-${ids.join("")}.jsonl`);
    writeFileSync(
      file,
      ids.map((id, i) =>
        JSON.stringify({ task: "chains", problem_id: id, method: "hogwild:2", seed: 1, score: i + 1 }) + "\n"
      ).join(""),
    );
    return file;
  };
  const s = fakeServer((body) => chat(`SCORE: ${1 + (JSON.stringify(body).length % 6)}`));
  try {
    const args = [...endpointArgs(a, s.url, base, 1), b];
    for (const ids of [["t1"], ["t2", "t1", "t4"]]) {
      const r = await runCli("cli/judge.ts", [...args, "--human", human(ids)]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `error: --human ${human(ids)}:${ids.indexOf("t1") + 1}: the trace chains / t1 / hogwild:2 / 1 is in two ` +
          `of the run folders given (${a}, ${b}); give one of them, or a file of its traces only\n`,
      );
      assert.equal(s.bodies.length, 0, "refused before any reply was asked for");
    }
    const r = await runCli("cli/judge.ts", [...args, "--human", human(["t2", "t3", "t4"])]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.bodies.length, 5);
    assert.match(r.stdout, /human vs judge: (r = |n = 3)/);
  } finally {
    await s.close();
  }
});

Deno.test("deno task judge: flags refused naming them (--temperature outside 0–2, --settings past --methods, --judge-prompt not a file); a 401 without a key names the variable", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-flags-"));
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem T1"), trace("t2", "sc:2", "Problem T2")]);
  const s = fakeServer(() => chat("SCORE: 3"));
  try {
    const args = endpointArgs(dir, s.url, base, 1);
    for (
      const [extra, message] of [
        [
          ["--temperature", "-0.1"],
          `error: --temperature: expected a number ≥ 0 in decimal digits (e.g. 0.7), got "-0.1"`,
        ],
        ...["2.5", "3", "100"].map((
          t,
        ) => [
          ["--temperature", t],
          `error: --temperature: expected a number from 0 to 2 (as OpenAI's API), got "${t}"`,
        ]),
        [
          ["--methods", "hogwild:2", "--settings", "a=hogwild:2,b=sc:2"],
          `error: --settings b=sc:2: the method sc:2 is not among --methods (hogwild:2): its bar would have no traces`,
        ],
        [["--judge-prompt", "/dev/null"], "error: --judge-prompt /dev/null: not a file"],
      ] as [string[], string][]
    ) {
      const r = await runCli("cli/judge.ts", [...args, ...extra]);
      assert.equal(r.code, 2, `${extra}: ${r.stderr}`);
      assert.equal(r.stderr, message + "\n", extra.join(" "));
    }
    assert.equal(s.bodies.length, 0);
    for (const t of ["0", "2"]) {
      const r = await runCli("cli/judge.ts", [...args, "--temperature", t]);
      assert.equal(r.code, 0, r.stderr);
    }
  } finally {
    await s.close();
  }
  // a refused key, none sent: the variable to set is named, and the flag that names another
  const refusing = fakeServer(() => Response.json({ error: { message: "Missing bearer token" } }, { status: 401 }));
  try {
    const r = await runCli("cli/judge.ts", endpointArgs(dir, refusing.url, join(base, "b"), 1));
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /error: --judge http:\S+: HTTP 401 \(Missing bearer token\); no key was sent: HOGWILD_JUDGE_TEST_UNSET_KEY is not set \(set it to the key, or name the variable that holds it with --api-key-env\)\n$/,
    );
    const keyed = await runCli("cli/judge.ts", [
      ...endpointArgs(dir, refusing.url, join(base, "c"), 1).slice(0, -2),
      ...["--api-key-env", "JUDGE_CLI_KEY"],
    ], { JUDGE_CLI_KEY: "sk-wrong" });
    assert.match(
      keyed.stderr,
      /HTTP 401 \(Missing bearer token\); check the key in JUDGE_CLI_KEY \(--api-key-env\)\n$/,
    );
    assert.doesNotMatch(keyed.stderr, /sk-wrong/);
  } finally {
    await refusing.close();
  }
});

Deno.test("deno task judge: a server refusing every request alike (HTTP 400) stops once with its message, not once per trace", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-400-"));
  const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
  const dir = runFolder(join(base, "run"), ids.map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  const s = fakeServer(() =>
    Response.json({ error: { message: "Unsupported parameter: 'seed'", type: "invalid_request_error" } }, {
      status: 400,
    })
  );
  try {
    for (const concurrency of ["1", "4"]) {
      const before = s.bodies.length;
      const r = await runCli("cli/judge.ts", [
        ...endpointArgs(dir, s.url, base, 2),
        ...["--concurrency", concurrency],
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /error: --judge http:\S+: 4 requests in a row were refused with HTTP 400 \(Unsupported parameter: 'seed'\): the server refuses every request alike; fix what it says \(the same command goes on from the replies recorded\)\n$/,
      );
      assert.ok(s.bodies.length - before <= 4 + Number(concurrency), `asked ${s.bodies.length - before} times`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("deno task judge: a stop (a spent quota, a refused key) records the replies already in flight before it exits", async () => {
  for (const stop of ["quota", "key"]) {
    const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-stop-"));
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const dir = runFolder(join(base, "run"), ids.map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
    // the first request stops everything at once; the three beside it are answered a moment later (paid for)
    const s = fakeServer(async (_b, n) => {
      if (n === 0) {
        return stop === "quota"
          ? Response.json({ error: { message: "You exceeded your current quota", code: "insufficient_quota" } }, {
            status: 429,
          })
          : new Response("bad key", { status: 401 });
      }
      await new Promise((r) => setTimeout(r, 400));
      return chat("SCORE: 5");
    });
    try {
      const r = await runCli("cli/judge.ts", [...endpointArgs(dir, s.url, base, 1), "--concurrency", "4"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, stop === "quota" ? /HTTP 429 \(You exceeded/ : /HTTP 401 \(bad key\)/);
      assert.equal(s.bodies.length, 4, "nothing asked after the stop");
      assert.equal(lines(dir).length, 3, "the three replies in flight recorded");
      assert.match(r.stderr, /judge: stopping: 3 replies in flight recorded/);
    } finally {
      await s.close();
    }
  }
});

Deno.test("deno task judge: judge.jsonl's lines keyed on the endpoint and the prefix tokenizer too: two endpoints serving one model name, or another tokenizer, are judged apart; the reply's model recorded", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-key-"));
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem T1")]);
  const server = (score: number, model: string) =>
    fakeServer(() =>
      Response.json({ model, choices: [{ message: { role: "assistant", content: `SCORE: ${score}` } }] })
    );
  const one = server(2, "served-one"), two = server(5, "served-two");
  try {
    // both serve "m" (as two local servers serve "default"); each its own cache, so only the lines could mix them
    const a = await runCli("cli/judge.ts", endpointArgs(dir, one.url, join(base, "a"), 1));
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /\| run \| hogwild:2 \| 1 \| 2\.00 \|/);
    const b = await runCli("cli/judge.ts", endpointArgs(dir, two.url, join(base, "b"), 1));
    assert.equal(b.code, 0, b.stderr);
    assert.equal(two.bodies.length, 1, "another endpoint: asked");
    assert.match(b.stdout, /\| run \| hogwild:2 \| 1 \| 5\.00 \|/);
    // each line says where it was asked, the tokenizer that cut its prefixes, and the model that replied
    const got = lines(dir);
    assert.deepEqual(got.map((l) => [l.where, l.model]), [[one.url, "served-one"], [two.url, "served-two"]]);
    assert.ok(got.every((l) => /^tokenizer\.json@[0-9a-f]{12}$/.test(l.tokenizer)), JSON.stringify(got));
    // another tokenizer cuts other prefixes: another key, asked again; and back, the first line stands
    const qwen = TextTokenizer.qwen3().source;
    const c = await runCli("cli/judge.ts", [...endpointArgs(dir, one.url, join(base, "a"), 1), "--tokenizer", qwen]);
    assert.equal(c.code, 0, c.stderr);
    // another key's line (the prompt, uncut by either, is the same one: the cache answers it)
    assert.equal(lines(dir).length, 3, "another tokenizer: another line");
    assert.notEqual(lines(dir)[2].tokenizer, got[0].tokenizer);
    assert.match(c.stderr, /1 replies recorded/);
    const d = await runCli("cli/judge.ts", endpointArgs(dir, one.url, join(base, "a"), 1));
    assert.equal(one.bodies.length, 1, "back to the run's tokenizer: nothing asked");
    assert.match(d.stderr, /^(?!.*replies recorded)/s);
    assert.match(d.stdout, /\| run \| hogwild:2 \| 1 \| 2\.00 \|/);
    // a line from before (no endpoint, no tokenizer): another judge's, never counted as this one's
    const old = { ...got[0], score: 6, reply: "SCORE: 6", run: 1 };
    delete old.where, delete old.tokenizer;
    writeFileSync(join(dir, "judge.jsonl"), JSON.stringify(old) + "\n", { flag: "a" });
    const e = await runCli("cli/judge.ts", endpointArgs(dir, one.url, join(base, "a"), 2));
    assert.equal(e.code, 0, e.stderr);
    assert.equal(one.bodies.length, 2, "run 1 asked again");
    assert.match(e.stdout, /\| run \| hogwild:2 \| 1 \| 2\.00 \|/);
  } finally {
    await one.close();
    await two.close();
  }
});

Deno.test("deno task judge: a --cache it cannot write is refused before any reply is asked for, naming --cache; a folder judged already needs none", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-cache-"));
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem T1")]);
  writeFileSync(join(base, "afile"), "");
  const s = fakeServer(() => chat("SCORE: 4"));
  try {
    // a path through a file: no folder can be made there (as a read-only disk or a folder of another user)
    const bad = join(base, "afile", "cache");
    const withCache = (cache: string) =>
      endpointArgs(dir, s.url, base, 1).map((a) => (a === join(base, "cache") ? cache : a));
    const r = await runCli("cli/judge.ts", withCache(bad));
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: --cache ${bad}: cannot write in it \\(.+\\); name a folder this command can write\\n$`),
    );
    assert.equal(s.bodies.length, 0, "nothing asked, nothing paid for");
    // judged already (a good cache): nothing to ask, so the unwritable cache is never needed
    assert.equal((await runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 1))).code, 0);
    const again = await runCli("cli/judge.ts", withCache(bad));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\| run \| hogwild:2 \| 1 \| 4\.00 \|/);
  } finally {
    await s.close();
  }
});

Deno.test("deno task judge --human: no r while a human-scored trace lacks judge runs (failed replies), as no chart is drawn; the rerun that completes them gives r", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-human-short-"));
  const ids = ["t1", "t2", "t3", "t4"];
  const dir = runFolder(join(base, "run"), ids.map((id) => trace(id, "hogwild:2", `Problem ${id}`)));
  const human = join(base, "human.jsonl");
  writeFileSync(
    human,
    ids.map((id, i) => JSON.stringify({ task: "chains", problem_id: id, method: "hogwild:2", seed: 1, score: i }))
      .join("\n"),
  );
  let down = true;
  const s = fakeServer((body) => {
    const prompt = (body.messages as { content: string }[])[0].content;
    if (down && prompt.includes("Problem t1")) return new Response("down", { status: 500 });
    return chat(`SCORE: ${1 + ids.findIndex((id) => prompt.includes(`Problem ${id}`))}`);
  });
  try {
    const args = [...endpointArgs(dir, s.url, base, 2), "--retries", "0", "--human", human];
    const r = await runCli("cli/judge.ts", args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /human vs judge: no r yet: 1 of the 4 human scores' traces have fewer than 2 judge runs recorded/,
    );
    down = false;
    const again = await runCli("cli/judge.ts", args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /human vs judge: r = 1\.000, p = [^,]+, n = 4 traces\n/);
  } finally {
    await s.close();
  }
});

Deno.test("deno task judge: a local judge's folder however it is spelt (absolute, relative with a slash, through a link) is one judge: one line, asked once", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-local-name-"));
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem T1")]);
  const link = join(base, "demo-link");
  symlinkSync(DEMO, link);
  const real = realpathSync(DEMO);
  const spellings = [DEMO, `${relative(Deno.cwd(), DEMO)}/`, link];
  for (const [i, judge] of spellings.entries()) {
    const r = await runCli("cli/judge.ts", [
      dir,
      ...["--judge", judge, "--runs", "1", "--max-tokens", "4", "--cache", join(base, `cache-${i}`)],
    ]);
    assert.equal(r.code, 0, `${judge}: ${r.stderr}`);
    assert.equal(/replies recorded/.test(r.stderr), i === 0, `${judge}: ${r.stderr}`);
  }
  const got = lines(dir);
  assert.equal(got.length, 1, JSON.stringify(got.map((l) => [l.judge, l.where])));
  assert.deepEqual([got[0].judge, got[0].where], [`${real} max-tokens=4`, `local:${real}`]);
  // and the cache: another spelling finds the reply the first one cached
  rmSync(join(dir, "judge.jsonl"));
  const r = await runCli("cli/judge.ts", [
    dir,
    ...["--judge", spellings[1], "--runs", "1", "--max-tokens", "4", "--cache", join(base, "cache-0")],
  ]);
  assert.match(r.stderr, /1 replies recorded \(0 asked, 1 from /);
});

Deno.test("deno task judge: a local judge's --temperature below the sampler's range (0 < T < 1e-6) is refused at start, naming the flag; nothing recorded", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-local-temp-"));
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem T1")]);
  for (const t of ["0.0000001", "0.00000099"]) {
    const r = await runCli("cli/judge.ts", [
      dir,
      ...["--judge", DEMO, "--runs", "1", "--max-tokens", "4", "--temperature", t, "--cache", join(base, "c")],
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `error: --temperature: expected 0 (greedy) or a number ≥ 0.000001 for a local judge, got "${t}"\n`,
    );
  }
  assert.equal(existsSync(join(dir, "judge.jsonl")), false);
});

Deno.test("deno task judge: a trace whose workers wrote nothing is not sent: recorded without a score, as one no judge can read, and said; a rerun asks nothing", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-empty-"));
  const empty = { ...trace("t2", "hogwild:2", "Problem t2"), workers: ["", " \n"], steps: [] };
  const dir = runFolder(join(base, "run"), [trace("t1", "hogwild:2", "Problem t1"), empty]);
  const s = fakeServer(() => chat("SCORE: 4"));
  try {
    const r = await runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 2));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.bodies.length, 2, "t1's two runs only");
    assert.ok(s.bodies.every((b) => JSON.stringify(b).includes("Problem t1")));
    assert.match(r.stderr, /judge: 2 runs not asked: every worker's text is empty \(recorded without a score\):\n/);
    assert.ok(r.stderr.includes(`  ${dir}: chains / t2 / hogwild:2 / 1, judge run 0: every worker's text is empty`));
    const got = lines(dir).filter((l) => l.problem_id === "t2");
    assert.deepEqual(got.map((l) => [l.run, l.score, l.reply]), [[0, null, ""], [1, null, ""]]);
    assert.ok(got.every((l) => /every worker's text is empty/.test(l.unjudgeable)));
    // one trace scored, one without a score (its 2 runs), none short of its runs
    assert.match(r.stdout, /\| run \| hogwild:2 \| 1 \| 4\.00 \| {2}\| 1 \| 2 \| 0 \|/);
    const again = await runCli("cli/judge.ts", endpointArgs(dir, s.url, base, 2));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(s.bodies.length, 2);
  } finally {
    await s.close();
  }
});

Deno.test("deno task judge: methods whose workers do not read each other as they write are named in a note under the table: the rubric tells the judge they could", async () => {
  const base = mkdtempSync(join(tmpdir(), "hogwild-judge-cli-peers-"));
  const dir = runFolder(join(base, "run"), [
    trace("t1", "hogwild:2", "Problem t1"),
    trace("t2", "sc:2", "Problem t2"),
    trace("t3", "hogwild:2:interleaved", "Problem t3"),
  ]);
  const s = fakeServer(() => chat("SCORE: 3"));
  try {
    for (const settings of [[], ["--settings", "token-wise=hogwild:2,no-sync=sc:2,step-wise=hogwild:2:interleaved"]]) {
      const r = await runCli("cli/judge.ts", [...endpointArgs(dir, s.url, base, 1), ...settings]);
      assert.equal(r.code, 0, r.stderr);
      const note = r.stdout.split("\n").filter((l) => l.startsWith("note:"));
      assert.equal(note.length, 1, r.stdout);
      const named = settings.length ? "no-sync (sc:2)" : "sc:2";
      assert.ok(
        note[0].startsWith(
          `note: the rubric tells the judge that each worker could read what the others had written so far; ` +
            `not so for ${named}: its workers read nothing of each other.`,
        ),
        note[0],
      );
      assert.doesNotMatch(note[0], /hogwild/);
    }
  } finally {
    await s.close();
  }
});
