/**
 * bench --view: the viewer over the bench's run folder, fed each pass of the runs in flight (its live tab). The
 * viewer runs on a thread of its own (thread.ts): the bench's thread only posts each pass's event to it.
 */
import { InputError } from "../../engine/errors.ts";
import { LiveTap } from "./live.ts";
import type { ThreadMessage, ThreadReply } from "./thread.ts";

export type Watch = LiveTap & {
  url: string;
  /** whether the viewer's thread has stopped (failed): nothing serves `url` any more */
  readonly ended: boolean;
  /** stops the viewer and its thread */
  close(): Promise<void>;
};

/**
 * The viewer over this run folder (it need not exist yet: the page waits for it), fed each pass of the runs in
 * flight; resolves once it listens. An address that cannot be listened on is an InputError naming its flag.
 */
export async function watch(out: string, address: { port?: number; hostname?: string }): Promise<Watch> {
  const thread = new Worker(new URL("./thread.ts", import.meta.url), { type: "module" });
  const send = (m: ThreadMessage) => thread.postMessage(m);
  let closed: () => void = () => {}, ended = false, listened = false;
  const listening = new Promise<string>((resolve, reject) => {
    thread.onmessage = ({ data }: MessageEvent<ThreadReply>) => {
      if ("url" in data) resolve(data.url);
      else if ("refused" in data) reject(new InputError(data.refused));
      else closed();
    };
    // The viewer's failure once it serves is not the bench's: its runs go on, said once. Before, it is the
    // bench's error (nothing has run yet).
    thread.onerror = (e) => {
      e.preventDefault();
      ended = true;
      if (!listened) return reject(new Error(`the viewer could not start (${e.message})`));
      console.error(`bench: the viewer stopped (${e.message}); the runs go on without it`);
      closed();
    };
  });
  send({ serve: { dir: out, ...address } });
  let url: string;
  try {
    url = await listening;
    listened = true;
  } catch (e) {
    thread.terminate();
    throw e;
  }
  console.error(`bench: watch the workers at ${url}#tab=live`);
  const tap = new LiveTap((event) => send({ event }));
  // (a getter: Object.assign would copy its value now)
  Object.defineProperty(tap, "ended", { get: () => ended });
  return Object.assign(tap as LiveTap & { readonly ended: boolean }, {
    url,
    async close() {
      if (ended) return thread.terminate();
      const done = new Promise<void>((resolve) => closed = resolve);
      send({ close: true });
      await done;
      thread.terminate();
    },
  });
}
