/**
 * bench --view: the viewer over the bench's run folder, fed each pass of the runs in flight (its live tab).
 */
import { LiveTap } from "./live.ts";
import { RunSource } from "./runs.ts";
import { type LiveEvent, serveViewer } from "./server.ts";

/** The viewer over this run folder, fed each pass of the runs in flight. */
export function watch(out: string, address: { port?: number; hostname?: string }): LiveTap & { url: string } {
  let publish: (e: LiveEvent) => void = () => {};
  const tap = new LiveTap((e) => publish(e));
  const viewer = serveViewer({
    runs: [new RunSource(out)],
    ...address,
    snapshot: () => tap.snapshot(),
    portFlag: "--view-port",
    hostFlag: "--view-host",
  });
  publish = viewer.publish;
  console.error(`bench: watch the workers at ${viewer.url}#tab=live`);
  return Object.assign(tap, { url: viewer.url });
}
