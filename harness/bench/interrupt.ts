/**
 * The signals that stop a bench as Ctrl-C does: SIGTERM is how a scheduler or a container stops it (a Slurm
 * time limit, scancel, timeout, docker stop), SIGHUP a closed terminal (unless ignored when the bench started, as
 * nohup does: then left ignored, engine/signals.ts); each would otherwise kill it unrecorded, its lock left and its
 * invocation unsaid (which solo-check needs). Their numbers give the exit status (128 + n).
 */
import { hangupIgnored, ignoreHangup } from "../../engine/signals.ts";

const STOPS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type Stop = keyof typeof STOPS;

/**
 * The handlers set, the innermost last. The process's own listeners are added once and never removed: Deno drops a
 * signal whose listener goes before the event loop turns to it, and a signal received while the code ran
 * synchronously waits for that turn (the bench ended 0, its report written, as if never stopped). With no handler
 * set, a signal ends the process as its default would.
 */
const handlers: { stop: (signal: Stop) => void }[] = [];
let listening = false;

/**
 * Calls `stop` on any of them (the latest caller's alone) until the function it returns is awaited, which first
 * lets the event loop deliver a signal received meanwhile (to this `stop`).
 */
export function onInterrupt(stop: (signal: Stop) => void): () => Promise<void> {
  if (!listening) {
    // SIGHUP under nohup stays ignored, as asked (runMain ignored it again after its own listener)
    const nohup = hangupIgnored();
    for (const signal of Object.keys(STOPS) as Stop[]) {
      if (signal === "SIGHUP" && nohup) continue;
      Deno.addSignalListener(signal, () => {
        const handler = handlers.at(-1);
        if (handler) handler.stop(signal);
        else Deno.exit(128 + STOPS[signal]);
      });
    }
    if (nohup) ignoreHangup();
    listening = true;
  }
  const handler = { stop };
  handlers.push(handler);
  return async () => {
    await new Promise((r) => setTimeout(r, 0));
    const i = handlers.indexOf(handler);
    if (i >= 0) handlers.splice(i, 1);
  };
}

/** Ctrl-C's last line, wherever the bench is (calibrating, running, reporting), and its exit status. */
export function exitInterrupted(done: number, planned: number, out: string, signal: Stop): never {
  console.error(`\nbench: interrupted; ${done} of ${planned} records are in ${out}: the same command resumes there`);
  Deno.exit(128 + STOPS[signal]);
}
