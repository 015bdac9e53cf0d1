import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../../helpers.ts";

/**
 * A program that listens, works synchronously (as the report's last steps do), stops listening and ends: a signal
 * sent during the work must still stop it, through the handler set when it came.
 */
async function stoppedWhileBusy(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handlerStillSet: boolean, after = false) {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-signal-")), ready = join(dir, "ready");
  const program = `
    import { onInterrupt } from ${JSON.stringify(new URL("harness/bench/interrupt.ts", root).href)};
    const outer = onInterrupt((s) => { console.log("outer", s); Deno.exit(100); });
    const inner = onInterrupt((s) => { console.log("inner", s); Deno.exit(101); });
    ${after ? "await inner(); await outer();" : ""}
    Deno.writeTextFileSync(${JSON.stringify(ready)}, "");
    const t0 = Date.now();
    while (Date.now() - t0 < 1500) {} // the signal comes meanwhile
    await inner();
    ${handlerStillSet ? "" : "await outer();"}
    ${after ? "await new Promise((r) => setTimeout(r, 1000));" : ""}
    console.log("ended as if never stopped");`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("deno.json", root).pathname, program],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  child.kill(signal);
  const r = await child.output();
  return { code: r.code, signal: r.signal, out: new TextDecoder().decode(r.stdout).trim() };
}

Deno.test("a signal received while the process works synchronously is not dropped when its handler goes meanwhile (the bench ended 0 when SIGTERM came as it reported)", async () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    // the signal reaches the handler set when it came, the inner, though the program ends right after
    for (const outerToo of [true, false]) {
      assert.deepEqual(await stoppedWhileBusy(signal, outerToo), { code: 101, signal: null, out: `inner ${signal}` });
    }
    // one that comes when no handler is set ends the program as the signal's default would: 128 + its number
    const code = 128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
    assert.deepEqual(await stoppedWhileBusy(signal, false, true), { code, signal: null, out: "" });
  }
});
