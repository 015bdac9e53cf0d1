/**
 * bench --view's viewer: its server runs off the bench's thread (a page's requests cost the bench's pass timing
 * nothing), and the bench's passes reach the page across, by message.
 */
import assert from "node:assert/strict";
import type { Solver } from "../../../harness/generation/solver.ts";
import { watch } from "../../../harness/viewer/watch.ts";
import { writeRun } from "./run_fixture.ts";

/**
 * Fetches `url` on a thread of its own, and says so through `flag` when the answer came: the test's own thread may
 * then block (Atomics.wait) as a bench's thread is busy, and still learn whether the viewer answered meanwhile.
 */
function fetchElsewhere(url: string, flag: Int32Array): Worker {
  const code = `self.onmessage = async (m) => {
    const { url, flag } = m.data;
    const res = await fetch(url);
    await res.text();
    Atomics.store(flag, 0, res.status);
    Atomics.notify(flag, 0);
  };`;
  const helper = new Worker(`data:application/javascript,${encodeURIComponent(code)}`, { type: "module" });
  helper.postMessage({ url, flag });
  return helper;
}

Deno.test("watch: the viewer answers a page while the bench's thread is busy: none of its work runs on the bench's event loop", async () => {
  const { dir } = writeRun(4);
  const live = await watch(dir, { port: 0 });
  try {
    for (const path of ["api/runs", "api/runs/0/records", "api/runs/0/curves"]) {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const helper = fetchElsewhere(new URL(path, live.url).href, flag);
      try {
        // The bench's thread blocked (as it is, between its awaits, for a pass's bookkeeping): a viewer on this
        // thread cannot answer until it is free again, and the wait ends without an answer.
        const waited = Atomics.wait(flag, 0, 0, 20_000);
        assert.equal(waited, "ok", `${path}: no answer while the bench's thread was busy`);
        assert.equal(Atomics.load(flag, 0), 200, path);
      } finally {
        helper.terminate();
      }
    }
  } finally {
    await live.close();
  }
});

/** A solver's face as the tap reads it: texts that grow pass by pass. */
function fakeSolver(texts: string[]) {
  const s = { texts: () => texts.slice(), names: () => ["Alice", "Bob"], steps: [], passes: 0 };
  return { solver: s as unknown as Solver, write: (i: number, t: string) => (texts[i] += t, s.passes++) };
}

/** Reads server-sent events' data from `body` until `enough` says so. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  enough: (events: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const reader = body.getReader(), decoder = new TextDecoder(), events: Record<string, unknown>[] = [];
  let text = "";
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const parts = text.split("\n\n");
    text = parts.pop()!;
    for (const p of parts) if (p.startsWith("data: ")) events.push(JSON.parse(p.slice(6)));
  }
  await reader.cancel();
  return events;
}

Deno.test("watch: a page that connects mid-run gets every run so far, then each pass as the bench publishes it", async () => {
  const { dir } = writeRun(1);
  const live = await watch(dir, { port: 0 });
  try {
    const texts = ["", ""], { solver, write } = fakeSolver(texts);
    live.track("k", { task: "t", problem_id: "p", method: "hogwild:2", seed: 1 }, solver);
    write(0, "Hel"), write(1, "Wo"), live.tick();
    write(0, "lo"), live.tick();
    const res = await fetch(new URL("api/live", live.url));
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reading = readEvents(res.body!, (e) => e.some((x) => x.type === "done"));
    // the snapshot reached the page before these (the events cross in order)
    write(1, "rld"), live.tick(), live.finish("k");
    const events = await reading;
    assert.deepEqual(events.map((e) => e.type), ["start", "pass", "pass", "done"]);
    assert.deepEqual(events[1].append, ["Hello", "Wo"], "the snapshot: every text so far");
    assert.equal(events[1].reset, true);
    assert.deepEqual(events[2].append, ["", "rld"]);
  } finally {
    await live.close();
  }
});

Deno.test("watch: a port in use is one error naming --view-port, and its thread is gone", async () => {
  const { dir } = writeRun(1);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(
      () => watch(dir, { port }),
      new RegExp(`^InputError: --view-port ${port}: 127\\.0\\.0\\.1:${port} is in use by another program`),
    );
  } finally {
    taken.close();
  }
});
