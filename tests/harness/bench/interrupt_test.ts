import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, taskCommands } from "../../helpers.ts";

/**
 * A program that listens, works synchronously (as the report's last steps do), stops listening and ends: a signal
 * sent during the work must still stop it, through the handler set when it came.
 */
async function stoppedWhileBusy(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handlerStillSet: boolean, after = false) {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-signal-")), ready = join(dir, "ready"), sent = join(dir, "sent");
  const program = `
    import { onInterrupt } from ${JSON.stringify(new URL("harness/bench/interrupt.ts", root).href)};
    const outer = onInterrupt((s) => { console.log("outer", s); Deno.exit(100); });
    const inner = onInterrupt((s) => { console.log("inner", s); Deno.exit(101); });
    ${after ? "await inner(); await outer();" : ""}
    Deno.writeTextFileSync(${JSON.stringify(ready)}, "");
    // busy until the signal was sent (the parent writes "sent" after it: a loaded machine delays the parent, not
    // the order), 30 s at most
    const t0 = Date.now();
    const sentYet = () => { try { Deno.statSync(${JSON.stringify(sent)}); return true; } catch { return false; } };
    while (!sentYet() && Date.now() - t0 < 30000) {}
    await inner();
    ${handlerStillSet ? "" : "await outer();"}
    ${after ? "await new Promise((r) => setTimeout(r, 1000));" : ""}
    console.log("ended as if never stopped");`;
  // SIGHUP at its default whatever this process's is: one ignored at start stays ignored (nohup; the test below)
  const child = new Deno.Command("env", {
    args: ["--default-signal=HUP", Deno.execPath(), "eval", "--config", new URL("deno.json", root).pathname, program],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  child.kill(signal);
  writeFileSync(sent, "");
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

Deno.test("under nohup (SIGHUP ignored when the command starts) SIGHUP is left ignored, through runMain's listener and the bench's, with the bench's own permissions; SIGTERM still stops it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-nohup-")), ready = join(dir, "ready"), file = join(dir, "p.ts");
  const url = (f: string) => JSON.stringify(new URL(f, root).href);
  // SIGHUP comes once the command runs (runMain's listener set) and again once the bench listens
  writeFileSync(
    file,
    `import { onInterrupt } from ${url("harness/bench/interrupt.ts")};
    import { runMain } from ${url("engine/errors.ts")};
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    runMain(async () => {
      Deno.writeTextFileSync(${JSON.stringify(ready)}, "1");
      await sleep(500);
      onInterrupt((s) => { console.log("stopped", s); Deno.exit(101); });
      Deno.writeTextFileSync(${JSON.stringify(ready)}, "2");
      await sleep(1500);
      console.log("ran on");
    });`,
  );
  const bench = /^deno run ((?:--[\w-]+(?:=\S+)? )+)cli\/bench\.ts$/.exec(taskCommands().bench)?.[1].trim().split(" ");
  assert.ok(bench, taskCommands().bench);
  /** Waits for the program to reach `stage`, or to end (stopped by a signal meant to be ignored). */
  const at = async (stage: string, ended: () => boolean) => {
    while (!ended() && !(existsSync(ready) && readFileSync(ready, "utf8") === stage)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    for (const [signal, out, code] of [["SIGHUP", "ran on", 0], ["SIGTERM", "stopped SIGTERM", 101]] as const) {
      rmSync(ready, { force: true });
      const child = new Deno.Command("nohup", {
        args: [Deno.execPath(), "run", ...bench, file],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        cwd: dir,
      }).spawn();
      let ended = false;
      const output: Promise<Deno.CommandOutput> = child.output().finally(() => {
        ended = true;
      });
      await at("1", () => ended);
      if (signal === "SIGHUP" && !ended) child.kill(signal);
      await at("2", () => ended);
      if (!ended) child.kill(signal);
      const r = await output;
      assert.deepEqual(
        { code: r.code, signal: r.signal, out: new TextDecoder().decode(r.stdout).trim() },
        { code, signal: null, out },
        `${signal}: ${new TextDecoder().decode(r.stderr)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
