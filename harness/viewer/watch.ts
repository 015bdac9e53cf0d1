/**
 * bench --view: the viewer over the bench's run folder, fed each pass of the runs in flight (its live tab). The
 * viewer runs on a thread of its own (thread.ts): the bench's thread only posts each pass's event to it.
 */
import { InputError } from "../../engine/errors.ts";
import { LiveTap } from "./live.ts";
import type { ThreadMessage, ThreadReply } from "./thread.ts";

export type Watch = LiveTap & {
  url: string;
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
  let closed: () => void = () => {}, ended = false;
  const listening = new Promise<string>((resolve, reject) => {
    thread.onmessage = ({ data }: MessageEvent<ThreadReply>) => {
      if ("url" in data) resolve(data.url);
      else if ("refused" in data) reject(new InputError(data.refused));
      else closed();
    };
    // The viewer's failure is not the bench's: its runs go on, said once.
    thread.onerror = (e) => {
      e.preventDefault();
      const why = `the viewer stopped (${e.message})`;
      reject(new Error(why));
      console.error(`bench: ${why}; the runs go on without it`);
      ended = true;
      closed();
    };
  });
  send({ serve: { dir: out, ...address } });
  let url: string;
  try {
    url = await listening;
  } catch (e) {
    thread.terminate();
    throw e;
  }
  console.error(`bench: watch the workers at ${url}#tab=live`);
  const tap = new LiveTap((event) => send({ event }));
  return Object.assign(tap, {
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
