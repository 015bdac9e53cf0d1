/** harness/bench/progress.ts: the plain progress line's time left, on a resume too. */
import assert from "node:assert/strict";
import { progress } from "../../../harness/bench/progress.ts";

/** The lines `update` prints at the given (ms, records done) points, of a bench that started with `start` done. */
function lines(total: number, start: number, points: [number, number][]): string[] {
  const out: string[] = [], error = console.error;
  let t = 0;
  console.error = (line: string) => void out.push(line);
  try {
    const bar = progress(total, start, { clock: () => t, terminal: false });
    for (const [ms, done] of points) (t = ms, bar.update(done, 1));
  } finally {
    console.error = error;
  }
  return out;
}

Deno.test("progress: the time left is this invocation's rate times what is left, whatever an earlier one did", () => {
  // records written at one a second from wherever the bench resumed: the time left is the records left, in seconds
  for (const total of [100, 2700]) {
    for (const start of [0, 1, Math.floor(total / 2), total - 30]) {
      const points: [number, number][] = [[11_000, start + 11], [22_000, start + 22]];
      const out = lines(total, start, points);
      assert.deepEqual(
        out,
        points.map(([, done]) => `bench: ${done}/${total} records, 1.0 passes/s, about ${total - done} s left`),
        `${start} of ${total} done before`,
      );
    }
  }
  // nothing written yet in this invocation (a resume at 1222 of 2700): no rate to go by
  assert.deepEqual(lines(2700, 1222, [[20_000, 1222]]), ["bench: 1222/2700 records, 1.0 passes/s, starting"]);
});

Deno.test("progress: a command without passes (rescore) says its records and time left, in its own name", () => {
  const out: string[] = [], error = console.error;
  let t = 0;
  console.error = (line: string) => void out.push(line);
  try {
    const bar = progress(40, 0, { command: "rescore", clock: () => t, terminal: false });
    for (const [ms, done] of [[5_000, 5], [10_000, 10], [40_000, 40]]) (t = ms, bar.update(done));
  } finally {
    console.error = error;
  }
  assert.deepEqual(out, ["rescore: 10/40 records, about 30 s left", "rescore: 40/40 records, about 0 s left"]);
});
