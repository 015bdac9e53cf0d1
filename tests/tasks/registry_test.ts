/** tasks/registry.ts: --seed is taken by the tasks whose problems it shapes, and refused by the others. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { InputError } from "../../engine/errors.ts";
import { checkSeedFlag, loadTask, TASKS } from "../../tasks/registry.ts";

Deno.test("--seed: refused for a task whose problems it does not shape (a data set's, read as they are), naming it; taken by the generated tasks and gsm8k-x5", async () => {
  const taken: string[] = [];
  for (const t of Object.values(TASKS)) {
    try {
      checkSeedFlag(t.id);
      taken.push(t.id);
    } catch (e) {
      assert.ok(e instanceof InputError && e.message.startsWith(`--seed: task ${t.id} `), String(e));
    }
  }
  assert.deepEqual(taken.sort(), ["chains", "gsm8k-x5", "synthetic"]);
  // where it is taken it shapes the problems (gsm8k-x5's grouping needs GSM8K's data: tests/tasks/datasets_test.ts)
  for (const id of ["chains", "synthetic"]) {
    const problems = async (seed: number) => JSON.stringify((await loadTask(id, { seed })).problems);
    assert.notEqual(await problems(1), await problems(2), id);
  }
});

/** A data set on a fake hub: `files` at every revision; requests logged (method, revision, path). */
function dataHub(files: Record<string, string>) {
  const log: string[] = [];
  const commit = "3".repeat(40);
  const hub = ((input: RequestInfo | URL, init?: RequestInit) => {
    const m = /\/resolve\/([^/]+)\/(.*)$/.exec(String(input))!;
    const revision = decodeURIComponent(m[1]), path = m[2].split("/").map(decodeURIComponent).join("/");
    log.push(`${init?.method ?? "GET"} ${revision} ${path}`);
    const body = files[path];
    if (body === undefined) {
      return Promise.resolve(
        new Response(null, { status: 404, headers: { "x-error-code": "EntryNotFound", "x-repo-commit": commit } }),
      );
    }
    const bytes = new TextEncoder().encode(body);
    return Promise.resolve(
      new Response(init?.method === "HEAD" ? null : bytes, {
        headers: {
          "x-repo-commit": commit,
          etag: `"${createHash("sha256").update(bytes).digest("hex")}"`,
          "content-length": String(bytes.length),
        },
      }),
    );
  }) as typeof fetch;
  return { hub, log };
}

Deno.test("--hub: hf:OWNER/NAME@REVISION:FILE reads the file at that revision; a file name reaching out of the repository is refused; a file the repository lacks is said so", async () => {
  const { hub, log } = dataHub({ "x.jsonl": '{"question": "1+1?", "answer": "2"}\n' });
  const o = () => ({ cacheDir: mkdtempSync(join(tmpdir(), "hogwild-reg-hub-")), fetch: hub, progress: () => {} });
  for (const revision of ["v1", "refs/pr/2", "3".repeat(40)]) {
    log.length = 0;
    const got = await loadTask("custom", { hub: `hf:o/d@${revision}:x.jsonl`, hubOptions: o() });
    assert.equal(got.problems.length, 1);
    assert.equal(log[0], `HEAD ${revision} x.jsonl`, revision);
  }
  // a FILE with an empty, "." or ".." part, and a bad revision: refused before the hub is asked
  log.length = 0;
  for (const file of ["../x.jsonl", "a/../../x", "./x.jsonl", "a//x.jsonl", "a/", ".."]) {
    await assert.rejects(
      loadTask("custom", { hub: `hf:o/d:${file}`, hubOptions: o() }),
      (e: Error) =>
        e instanceof InputError && e.message.includes(`--hub hf:o/d:${file}`) && /not a file/.test(e.message),
      file,
    );
  }
  for (const revision of ["..", "a/../b", "", "a b"]) {
    await assert.rejects(
      loadTask("custom", { hub: `hf:o/d@${revision}:x.jsonl`, hubOptions: o() }),
      (e: Error) => e instanceof InputError && /revision/.test(e.message),
      revision,
    );
  }
  assert.deepEqual(log, []);
  // a file the repository lacks: its name is to check, not the revision
  const said = await loadTask("custom", { hub: "hf:o/d@v1:y.jsonl", hubOptions: o() }).then(
    () => "loaded",
    (e: Error) => e.message,
  );
  assert.match(said, /hf:o\/d: the dataset o\/d has no file y\.jsonl at revision v1/, said);
  assert.match(said, /check the file's name .*https:\/\/huggingface\.co\/datasets\/o\/d\/tree\/v1/, said);
  assert.doesNotMatch(said, /name a revision that has it/, said);
});

Deno.test("--data-dir missing a task's file says so and, where the task has a hub copy, that leaving it out reads it from the hub", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-reg-datadir-"));
  for (const t of Object.values(TASKS).filter((t) => t.dataDir)) {
    const said = await loadTask(t.id, { dataDir: dir }).then(() => "loaded", (e: Error) => e.message);
    assert.ok(said.includes(join(dir, t.dataDir!.folder, t.dataDir!.files[0])), said);
    if (t.hub) {
      assert.ok(said.includes(`without --data-dir, task ${t.id} is read from the hub (hf:${t.hub.repo})`), said);
    }
  }
});
