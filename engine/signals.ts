/**
 * SIGHUP as `nohup` leaves it: ignored, so that a closed terminal does not stop the command. Deno's first signal
 * listener (any signal's: runMain's SIGXFSZ, the bench's SIGINT) sets its own handler for SIGHUP too, which ends
 * the process; a command started with SIGHUP ignored ignores it again. Asked of the C library (sigaction, signal:
 * glibc and musl's libc.so.6, macOS's libSystem) where --allow-ffi is granted; /proc/self/status (SigIgn) is
 * --allow-all's alone under Deno. Without it, SIGHUP is taken as not ignored: it stops the command as before.
 */

/** SIG_IGN, the handler that ignores a signal */
const SIG_IGN = 1n;
const SIGHUP = 1;

function libc() {
  if (Deno.build.os === "windows" || Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  try {
    return Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6", {
      sigaction: { parameters: ["i32", "pointer", "buffer"], result: "i32" },
      signal: { parameters: ["i32", "pointer"], result: "pointer" },
    });
  } catch {
    return undefined; // another C library
  }
}

/** Whether SIGHUP is ignored now (asked before any signal listener: whether it was when the process started). */
export function hangupIgnored(): boolean {
  const c = libc();
  if (!c) return false;
  try {
    // struct sigaction begins with its handler (glibc, musl, macOS); 256 bytes hold the whole struct
    const old = new BigUint64Array(32);
    return c.symbols.sigaction(SIGHUP, null, old) === 0 && old[0] === SIG_IGN;
  } finally {
    c.close();
  }
}

/** Ignores SIGHUP again (after a signal listener was added: Deno's handler replaced the ignore). */
export function ignoreHangup(): void {
  const c = libc();
  if (!c) return;
  try {
    c.symbols.signal(SIGHUP, Deno.UnsafePointer.create(SIG_IGN));
  } finally {
    c.close();
  }
}
