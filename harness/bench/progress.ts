/**
 * The bench's progress on stderr: a bar on a terminal (records done, passes per second, time left), otherwise a
 * plain line every 10 s.
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, passesPerSecond: number): void;
  stop(): void;
}

/**
 * Progress towards `total` records from `start` (a resume's records already written): the time left goes by this
 * invocation's records alone (an earlier one's would make it look as fast as the whole folder is long).
 * `clock` and `terminal` are the tests'.
 */
export function progress(
  total: number,
  start: number,
  o: { clock?: () => number; terminal?: boolean } = {},
): Progress {
  const clock = o.clock ?? (() => performance.now());
  if (o.terminal ?? Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({
      format: "bench |{bar}| {value}/{total} records | {pps} passes/s | ETA {eta_formatted}",
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    // its ETA is the rate since its start value: the resume's count, not 0
    bar.start(total, start, { pps: "0" });
    return { update: (done: number, pps: number) => bar.update(done, { pps: pps.toFixed(1) }), stop: () => bar.stop() };
  }
  let last = 0;
  const t0 = clock();
  return {
    update: (done: number, pps: number) => {
      const now = clock();
      if (now - last < 10_000 && done < total) return;
      last = now;
      const eta = done > start ? ((now - t0) / (done - start)) * (total - done) / 1000 : NaN;
      console.error(
        `bench: ${done}/${total} records, ${pps.toFixed(1)} passes/s, ${
          Number.isFinite(eta) ? `about ${Math.round(eta)} s left` : "starting"
        }`,
      );
    },
    stop: () => {},
  };
}
