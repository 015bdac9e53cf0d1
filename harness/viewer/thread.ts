/**
 * bench --view's viewer on a thread of its own (a Web Worker started by watch.ts): every request a page makes
 * (reading the run's files, its curves, its records' measures) runs here, never on the bench's event loop, whose
 * passes are timed around an await (harness/generation/schedule.ts) and would count the viewer's work as theirs.
 * The bench's passes come as messages, in order.
 *
 * Messages in: `{ serve: ThreadOptions }` once, then `{ event: LiveEvent }` for each, and `{ close: true }`.
 * Messages out: `{ url }` once listening, or `{ refused }` (the address cannot be listened on: one line), then
 * `{ closed: true }`.
 */
import { InputError } from "../../engine/errors.ts";
import { RunSource } from "./runs.ts";
import { type LiveEvent, serveViewer, type Viewer } from "./server.ts";

/** What the thread serves: the bench's run folder (made once the model is loaded: waited for) and where. */
export interface ThreadOptions {
  dir: string;
  port?: number;
  hostname?: string;
}

export type ThreadMessage = { serve: ThreadOptions } | { event: LiveEvent } | { close: true };
export type ThreadReply = { url: string } | { refused: string } | { closed: true };

const self = globalThis as unknown as {
  onmessage: (m: MessageEvent<ThreadMessage>) => void;
  postMessage(m: ThreadReply): void;
};

let viewer: Viewer | undefined;

self.onmessage = async ({ data }) => {
  if ("serve" in data) {
    const { dir, ...address } = data.serve;
    try {
      viewer = serveViewer({
        runs: [new RunSource(dir, { waited: true })],
        ...address,
        portFlag: "--view-port",
        hostFlag: "--view-host",
      });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return self.postMessage({ refused: e.message });
    }
    self.postMessage({ url: viewer.url });
  } else if ("event" in data) {
    viewer?.publish(data.event);
  } else {
    await viewer?.close();
    self.postMessage({ closed: true });
  }
};
