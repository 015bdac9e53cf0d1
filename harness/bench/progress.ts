/**
 * The bench's progress on stderr: a bar on a terminal (records done, passes per second, time left), otherwise a
 * plain line every 10 s.
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, passesPerSecond: number): void;
  stop(): void;
}

/** Progress towards `total` records. */
export function progress(total: number): Progress {
  if (Deno.stderr.isTerminal()) {
    const bar = new cliProgress.SingleBar({
      format: "bench |{bar}| {value}/{total} records | {pps} passes/s | ETA {eta_formatted}",
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { pps: "0" });
    return { update: (done: number, pps: number) => bar.update(done, { pps: pps.toFixed(1) }), stop: () => bar.stop() };
  }
  let last = 0;
  const t0 = performance.now();
  return {
    update: (done: number, pps: number) => {
      const now = performance.now();
      if (now - last < 10_000 && done < total) return;
      last = now;
      const eta = done ? ((now - t0) / done) * (total - done) / 1000 : NaN;
      console.error(
        `bench: ${done}/${total} records, ${pps.toFixed(1)} passes/s, ${
          Number.isFinite(eta) ? `about ${Math.round(eta)} s left` : "starting"
        }`,
      );
    },
    stop: () => {},
  };
}
