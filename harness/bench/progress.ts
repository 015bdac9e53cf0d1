/**
 * A long command's progress on stderr (the bench's, rescore's): a bar on a terminal (records done, the bench's
 * passes per second, time left), otherwise a plain line every 10 s.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** `done` records; the bench gives its passes per second */
  update(done: number, passesPerSecond?: number): void;
  stop(): void;
}

/**
 * Progress towards `total` records from `start` (a resume's records already written): the time left goes by this
 * invocation's records alone (an earlier one's would make it look as fast as the whole folder is long).
 * `command`: who speaks ("bench"); `clock` and `terminal` are the tests'.
 */
export function progress(
  total: number,
  start: number,
  o: { command?: string; clock?: () => number; terminal?: boolean } = {},
): Progress {
  const clock = o.clock ?? (() => performance.now()), command = o.command ?? "bench";
  const rate = (pps?: number) => pps === undefined ? "" : `${pps.toFixed(1)} passes/s`;
  if (o.terminal ?? Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({
      format: `${command} |{bar}| {value}/{total} records | {rate} | ETA {eta_formatted}`,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    // its ETA is the rate since its start value: the resume's count, not 0
    bar.start(total, start, { rate: "" });
    return { update: (done: number, pps?: number) => bar.update(done, { rate: rate(pps) }), stop: () => bar.stop() };
  }
  let last = 0;
  const t0 = clock();
  return {
    update: (done: number, pps?: number) => {
      const now = clock();
      if (now - last < 10_000 && done < total) return;
      last = now;
      const eta = done > start ? ((now - t0) / (done - start)) * (total - done) / 1000 : NaN;
      const left = Number.isFinite(eta) ? `about ${Math.round(eta)} s left` : "starting";
      console.error(`${command}: ${[`${done}/${total} records`, rate(pps), left].filter((x) => x).join(", ")}`);
    },
    stop: () => {},
  };
}
