/**
 * The sandbox's escape table: each escape is a program that must fail inside bubblewrap and is shown to succeed
 * with `unsafe` (so that each test can fail); then the limits' verdicts, the pool's bound and close().
 * The unsafe runs allow 1000 processes, so that the fork loop shows what a program does when nothing stops it
 * (a root host is exempt from RLIMIT_NPROC in any case).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { openOrSkip } from "../../helpers.ts";
import { CodeRunner, type TestOutcome } from "../../../tasks/code/runner.ts";

// where the sandbox cannot run (CI excepted) every test is skipped, the reason said once
const available = await openOrSkip("sandbox tests", () => CodeRunner.open({ workers: 2, limits: { testSeconds: 2 } }));
const sandboxed = available!;
const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: !available, fn });
// testSeconds 5: the unsafe fork loop has to finish on a loaded machine too (it timed out at 2 s beside other runs)
const unsafe = await CodeRunner.open({ unsafe: true, workers: 2, limits: { testSeconds: 5, processes: 1000 } });
const root = Deno.uid() === 0;

/** The first test's outcome of a stdin program run on `input`. */
async function runOnce(runner: CodeRunner, code: string, input = ""): Promise<TestOutcome> {
  const r = await runner.run({ mode: "stdin", code }, [input], () => true);
  assert.equal(r.compile, undefined, JSON.stringify(r.compile));
  assert.equal(r.outcomes.length, 1);
  return r.outcomes[0];
}

/** Runs `code` both ways; both must print (status ok); returns [sandboxed, unsafe] outputs. */
async function bothWays(code: string): Promise<[string, string]> {
  const [inside, outside] = [await runOnce(sandboxed, code), await runOnce(unsafe, code)];
  assert.equal(inside.status, "ok", JSON.stringify(inside));
  assert.equal(outside.status, "ok", JSON.stringify(outside));
  return [inside.out, outside.out];
}

/** Runs a program that tries `attempt` (a Python statement) both ways: blocked in the sandbox, done without it. */
async function blockedOnlyInside(attempt: string): Promise<void> {
  const [inside, outside] = await bothWays(`
import socket
try:
    ${attempt}
    print("ESCAPED")
except OSError as e:
    print("BLOCKED", e)
`);
  assert.match(inside, /^BLOCKED/);
  assert.match(outside, /^ESCAPED/);
}

/** The pids whose command line holds `token` (through ps: Deno refuses /proc without --allow-all). */
async function processesWith(token: string): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-e", "-o", "pid=,args="], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(token)).map((l) => parseInt(l));
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
}

test("escape: a TCP connection to the host's loopback", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => {});
  try {
    await blockedOnlyInside(`socket.create_connection(("127.0.0.1", ${listener.addr.port}), timeout=2).close()`);
  } finally {
    listener.close();
    await accepting;
  }
});

test("escape: the network (registry.npmjs.org:443, by name and by address)", async () => {
  const program = (fallback: string) => `
import socket
ip = "${fallback}"
try:
    ip = socket.getaddrinfo("registry.npmjs.org", 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    print("ESCAPED dns", ip)
except OSError as e:
    print("BLOCKED dns", e)
try:
    socket.create_connection((ip, 443), timeout=5).close()
    print("ESCAPED connect", ip)
except OSError as e:
    print("BLOCKED connect", ip, e)
`;
  const outside = await runOnce(unsafe, program("1.1.1.1"));
  const ip = /ESCAPED connect (\S+)/.exec(outside.out)?.[1];
  if (!ip) console.log(`registry.npmjs.org is unreachable even without the sandbox here; sandboxed half only`);
  const inside = await runOnce(sandboxed, program(ip ?? "1.1.1.1"));
  assert.equal(inside.status, "ok");
  assert.doesNotMatch(inside.out, /ESCAPED/, inside.out);
  assert.match(inside.out, /BLOCKED connect/);
});

test("escape: writing to the home folder, /root and the host's /tmp", async () => {
  const name = `hogwild-escape-${crypto.randomUUID()}`;
  const dirs = [...new Set([Deno.env.get("HOME"), "/root", "/tmp"].filter((d): d is string => !!d))];
  const writable = dirs.filter((d) => root || d !== "/root");
  const code = `
import os
for d in ${JSON.stringify(dirs)}:
    try:
        with open(os.path.join(d, "${name}"), "w") as f:
            f.write("x")
        print("wrote", d)
    except OSError as e:
        print("BLOCKED", d, e)
`;
  const exists = (d: string) => {
    try {
      return Deno.statSync(`${d}/${name}`).isFile;
    } catch {
      return false;
    }
  };
  try {
    assert.equal((await runOnce(sandboxed, code)).status, "ok");
    assert.deepEqual(dirs.filter(exists), [], "the sandboxed program wrote on the host");
    assert.equal((await runOnce(unsafe, code)).status, "ok");
    assert.deepEqual(writable.filter(exists), writable, "the unsafe program could not write");
  } finally {
    for (const d of dirs) removeIfThere(`${d}/${name}`);
  }
});

test("escape: reading /etc/shadow", async () => {
  const [inside, outside] = await bothWays(`
try:
    print("ESCAPED", len(open("/etc/shadow").read()))
except OSError as e:
    print("BLOCKED", e)
`);
  assert.match(inside, /^BLOCKED/);
  if (root) assert.match(outside, /^ESCAPED/);
  else console.log("not root: /etc/shadow is unreadable even without the sandbox; sandboxed half only");
});

test("escape: reading the test's expected output from the host's temporary folder", async () => {
  const secret = `expected-${crypto.randomUUID()}`;
  const file = Deno.makeTempFileSync({ prefix: "hogwild-expected-" });
  try {
    Deno.writeTextFileSync(file, secret);
    const [inside, outside] = await bothWays(`
try:
    print("ESCAPED", open("${file}").read())
except OSError as e:
    print("BLOCKED", e)
`);
    assert.match(inside, /^BLOCKED/);
    assert.ok(!inside.includes(secret));
    assert.ok(outside.includes(secret), outside);
  } finally {
    Deno.removeSync(file);
  }
});

test("escape: a secret in the environment of the host's processes (/proc/*/environ)", async () => {
  const secret = crypto.randomUUID();
  Deno.env.set("HOGWILD_SECRET", secret);
  // A host process started with the secret in its environment, as the bench is with its tokens.
  const holder = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    const [inside, outside] = await bothWays(`
import os
found = []
for pid in os.listdir("/proc"):
    try:
        if b"HOGWILD_SECRET=${secret}" in open(f"/proc/{pid}/environ", "rb").read():
            found.append(pid)
    except OSError:
        pass
print("ESCAPED" if found else "BLOCKED", found, ${holder.pid})
`);
    assert.match(inside, /^BLOCKED/);
    assert.match(outside, /^ESCAPED/);
  } finally {
    Deno.env.delete("HOGWILD_SECRET");
    holder.kill("SIGKILL");
    await holder.status;
  }
});

test("escape: a host service on an abstract unix socket (as X11's, D-Bus's or containerd's)", async () => {
  const name = `hogwild-abstract-${crypto.randomUUID()}`;
  // A listener on the host: abstract names belong to a network namespace, not to the file system.
  const server = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind("\\0${name}")
s.listen()
print("ready", flush=True)
while True:
    s.accept()[0].close()`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.getReader();
  try {
    assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
    await blockedOnlyInside(`socket.socket(socket.AF_UNIX).connect("\\0${name}")`);
  } finally {
    server.kill("SIGKILL");
    await reader.cancel();
    await server.status;
  }
});

/** add_key, request_key and keyctl by machine, for a Python program (keyutils' own calls, through libc's syscall). */
const KEY_CALLS = `import ctypes, platform, sys
CALLS = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219), "riscv64": (217, 218, 219)}.get(platform.machine())
libc = ctypes.CDLL(None, use_errno=True)
`;

test("escape: the host's session keyring (a key a login left there), and keys one sandbox leaves the next", async () => {
  // The key's holder: a session keyring of its own, with a user key in it, then it becomes a host running programs
  // (a process's session keyring passes to what it starts, through bubblewrap and the change of uid alike).
  const secret = crypto.randomUUID();
  const holder = `${KEY_CALLS}import os
if CALLS is None or libc.syscall(CALLS[2], 1, None) < 0:
    sys.exit(77)  # no keyrings here (or an unknown machine)
key = b"${secret}"
if libc.syscall(CALLS[0], b"user", b"hogwild_test", key, len(key), ctypes.c_int(-3)) < 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])`;
  const read = (name: string) =>
    `${KEY_CALLS}k = libc.syscall(CALLS[1], b"user", b"${name}", None, 0)
buf = ctypes.create_string_buffer(200)
n = libc.syscall(CALLS[2], 11, k, buf, 200) if k > 0 else -1
print("ESCAPED" if n > 0 else "BLOCKED", buf.raw[:max(n, 0)].decode(), ctypes.get_errno())`;
  const leave = `${KEY_CALLS}note = b"left by the first sandbox"
print(libc.syscall(CALLS[0], b"user", b"hogwild_note", note, len(note), ctypes.c_int(-3)) > 0)`;
  const host = `import { CodeRunner } from "${new URL("../../../tasks/code/runner.ts", import.meta.url)}";
    const out = async (runner, code) => {
      const r = await runner.run({ mode: "stdin", code }, [""], () => true);
      return r.outcomes[0]?.out ?? JSON.stringify(r);
    };
    const bare = await new Deno.Command("/usr/bin/python3", { args: ["-c", ${JSON.stringify(read("hogwild_test"))}],
      stdout: "piped" }).output();
    const results = { bare: new TextDecoder().decode(bare.stdout) };
    for (const unsafe of [false, true]) {
      const r = await CodeRunner.open({ workers: 1, unsafe });
      results[unsafe ? "unsafe" : "sandboxed"] = [await out(r, ${JSON.stringify(read("hogwild_test"))}),
        await out(r, ${JSON.stringify(leave)}), await out(r, ${JSON.stringify(read("hogwild_note"))})];
      await r.close();
    }
    console.log(JSON.stringify(results));`;
  const p = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", holder, Deno.execPath(), "eval", host],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (p.code === 77) return console.log("no keyrings (or keyctl's number unknown) on this machine: not tested");
  assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
  const results = JSON.parse(new TextDecoder().decode(p.stdout));
  // the key is there for a process the host starts bare: the test's key reaches where a program would look
  assert.match(results.bare, new RegExp(`^ESCAPED ${secret}`));
  for (const way of ["sandboxed", "unsafe"]) {
    const [key, left, note] = results[way];
    assert.match(key, /^BLOCKED/, `${way}: ${key}`);
    assert.equal(left, "True\n", `${way}: a program may use a keyring of its own`);
    assert.match(note, /^BLOCKED/, `${way}: ${note}`);
  }
});

test("escape: a user namespace of its own (unshare), the kernel's widest door", async () => {
  const help = await new Deno.Command("bwrap", { args: ["--help"], stdout: "piped" }).output();
  if (!new TextDecoder().decode(help.stdout).includes("--disable-userns")) {
    return console.log("bubblewrap before 0.8 cannot refuse a nested user namespace: a known gap here, not tested");
  }
  const [inside, outside] = await bothWays(`
import subprocess
r = subprocess.run(["unshare", "--user", "--map-root-user", "id", "-u"], capture_output=True, text=True)
print("ESCAPED" if r.returncode == 0 else "BLOCKED", r.stdout.strip(), r.stderr.strip())
`);
  assert.match(inside, /^BLOCKED/);
  if (root) assert.match(outside, /^ESCAPED 0/);
  else console.log(`unsafe half: ${outside.trim()} (a host that allows unprivileged user namespaces says ESCAPED)`);
});

test("escape: a fork loop past the process limit", async () => {
  // Forks are slow on a loaded machine (400 took 17 s at a load of 15 on 2 cores): the loop tries only a few past
  // the limit, each child lives until the parent has stopped forking (its read ends when the last write end
  // closes), so all are alive at once however slowly it forks, and these runners give the loop time to finish.
  const tries = sandboxed.limits.processes + 30;
  const inside = await CodeRunner.open({ workers: 1, limits: { testSeconds: 60 } });
  const outside = await CodeRunner.open({ unsafe: true, workers: 1, limits: { testSeconds: 60, processes: 1000 } });
  try {
    const code = `
import os
r, w = os.pipe()
n = 0
try:
    for _ in range(${tries}):
        if os.fork() == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        n += 1
    print("ESCAPED", n)
except OSError as e:
    print("BLOCKED", n, e)
os.close(w)
`;
    const [a, b] = [await runOnce(inside, code), await runOnce(outside, code)];
    assert.equal(a.status, "ok", JSON.stringify(a));
    assert.equal(b.status, "ok", JSON.stringify(b));
    const forked = Number(/^BLOCKED (\d+)/.exec(a.out)?.[1]);
    assert.ok(forked <= inside.limits.processes, a.out);
    assert.equal(b.out.trim(), `ESCAPED ${tries}`);
  } finally {
    await inside.close();
    await outside.close();
  }
});

test("escape: a detached (double fork + setsid) child outliving the grading", async () => {
  const token = `hogwild-detached-${crypto.randomUUID()}`;
  const marker = `/tmp/${token}`;
  const code = `
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/usr/bin/python3", ["python3", "-c", "import sys, time; time.sleep(8); open(sys.argv[1], 'w')",
                                      "${marker}", "${token}"])
    os._exit(0)
os.wait()
print("detached")
`;
  try {
    assert.equal((await runOnce(sandboxed, code)).out, "detached\n");
    assert.deepEqual(await processesWith(token), [], "a sandboxed process survived the grading");
    assert.equal((await runOnce(unsafe, code)).out, "detached\n");
    const left = await processesWith(token);
    assert.equal(left.length, 1, "without the sandbox the detached child should survive (setsid leaves the group)");
    for (const pid of left) Deno.kill(pid, "SIGKILL");
  } finally {
    for (const pid of (await processesWith(token))) Deno.kill(pid, "SIGKILL");
    removeIfThere(marker);
  }
});

test("escape: the host's memory filled through the sandbox's own folders (/, /dev, /dev/shm)", async () => {
  const small = await CodeRunner.open({ workers: 1, limits: { testSeconds: 5, fileBytes: 4 << 20 } });
  try {
    // Each folder is a tmpfs, RAM on the host outside the program's RLIMIT_AS: only a size cap bounds it.
    const o = await runOnce(
      small,
      `
import multiprocessing, os
multiprocessing.Lock()
for d in ["/", "/dev", "/dev/shm", "/tmp"]:
    n = 0
    try:
        for i in range(8):
            with open(os.path.join(d, f"f{i}"), "wb") as f:
                f.write(b"x" * (1 << 20))
            n += 1
    except OSError as e:
        pass
    print(d, n)
print("a semaphore in /dev/shm")
`,
    );
    assert.equal(o.status, "ok", JSON.stringify(o));
    for (const line of o.out.trim().split("\n").slice(0, 4)) {
      const [dir, mib] = line.split(" ");
      assert.ok(+mib <= 4, `${dir}: ${mib} MiB written (the cap is 4): ${o.out}`);
    }
    assert.match(o.out, /a semaphore in \/dev\/shm/);
  } finally {
    await small.close();
  }
});

test("a bubblewrap without --size (before 0.5) leaves the program no writable folder", async () => {
  // A bwrap whose --help lacks --size, as an old one's does.
  const dir = Deno.makeTempDirSync({ prefix: "hogwild-old-bwrap-" });
  const bwrap = `${dir}/bwrap`;
  const help = `if [ "$1" = --help ]; then /usr/bin/bwrap --help | grep -v -- --size; exit 0; fi`;
  Deno.writeTextFileSync(bwrap, `#!/bin/sh\n${help}\nexec /usr/bin/bwrap "$@"\n`);
  Deno.chmodSync(dir, 0o755), Deno.chmodSync(bwrap, 0o755);
  const old = await CodeRunner.open({ workers: 1, bwrap, limits: { testSeconds: 5 } });
  try {
    const o = await runOnce(
      old,
      `
import os
for d in ["/", "/dev", "/dev/shm", "/tmp"]:
    try:
        open(os.path.join(d, "f"), "w").write("x")
        print("wrote", d)
    except OSError as e:
        print("BLOCKED", d, e.strerror)
`,
    );
    assert.equal(o.out.trim().split("\n").filter((l) => !l.startsWith("BLOCKED")).join("\n"), "", o.out);
  } finally {
    await old.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

test("limits: the host's out-of-memory killer takes a program before the bench (oom_score_adj 1000)", async () => {
  // RLIMIT_AS bounds each process, not the machine: two programs near it beside a model can exhaust memory, and
  // the kernel then kills the largest process, the bench, unless the programs are marked as first to go.
  const code = "print(open('/proc/self/oom_score_adj').read().strip())";
  assert.deepEqual(await bothWays(code), ["1000\n", "1000\n"]);
});

test("limits: an endless loop times out within testSeconds and the grace", async () => {
  const r = await sandboxed.run({ mode: "stdin", code: "while True:\n    pass" }, ["", ""], () => true);
  assert.equal(r.outcomes.length, 1);
  assert.equal(r.outcomes[0].status, "timeout");
  // The limit is the program's own clock (ITIMER_REAL); the host's measure of it may read a few ms short.
  assert.ok(r.outcomes[0].ms >= 1950 && r.outcomes[0].ms < 3000, `${r.outcomes[0].ms} ms`);
  assert.ok(r.ms < 4000, `${r.ms} ms`);
});

test("limits: an 8 GB allocation is a memory verdict", async () => {
  const o = await runOnce(sandboxed, "x = bytearray(8 << 30)\nprint(len(x))");
  assert.equal(o.status, "memory");
  assert.equal(o.error, "MemoryError");
});

test("limits: 100 GB of output stops at the cap at once, the host's memory unmoved", async () => {
  const before = Deno.memoryUsage().rss, t = performance.now();
  const o = await runOnce(sandboxed, "s = 'x' * (1 << 20)\nfor _ in range(100 << 10):\n    print(s)");
  assert.equal(o.status, "output_limit");
  assert.ok(performance.now() - t < 3000, `${performance.now() - t} ms`);
  assert.ok(Deno.memoryUsage().rss - before < 64 << 20, `rss grew by ${(Deno.memoryUsage().rss - before) >> 20} MiB`);
});

test("limits: a program flooding the protocol's pipe itself is cut at the host's line cap", async () => {
  const small = await CodeRunner.open({ workers: 1, limits: { testSeconds: 5, outputBytes: 1 << 20 } });
  try {
    const before = Deno.memoryUsage().rss;
    // fd 3 is the driver's protocol descriptor (the first free one when it starts); no newline ever comes.
    const o = await runOnce(small, "import os\ns = b'x' * (1 << 20)\nwhile True:\n    os.write(3, s)");
    assert.equal(o.status, "output_limit");
    assert.match(o.error ?? "", /protocol line over/);
    assert.ok(Deno.memoryUsage().rss - before < 64 << 20, `rss grew by ${(Deno.memoryUsage().rss - before) >> 20} MiB`);
  } finally {
    await small.close();
  }
});

test("limits: a syntax error and an exception", async () => {
  const bad = await sandboxed.run({ mode: "stdin", code: "print(1" }, ["", ""], () => true);
  assert.equal(bad.compile?.status, "syntax_error");
  assert.deepEqual(bad.outcomes, []);
  const raised = await runOnce(sandboxed, "raise KeyError('x')");
  assert.equal(raised.status, "runtime_error");
  assert.equal(raised.error, "KeyError: 'x'");
});

test("the pool runs at most `workers` sandboxes at once", async () => {
  const code = "import time\nprint(time.time())\ntime.sleep(0.4)\nprint(time.time())";
  const runs = await Promise.all(
    Array.from({ length: 6 }, () => sandboxed.run({ mode: "stdin", code }, [""], () => true)),
  );
  const spans = runs.map((r) => r.outcomes[0].out.trim().split("\n").map(Number));
  const events = spans.flatMap(([a, b]) => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0, most = 0;
  for (const [, d] of events) most = Math.max(most, now += d);
  assert.equal(most, sandboxed.workers, `at most ${most} at once`);
});

test("close() kills what runs, whole trees, and refuses what waits", async () => {
  const runner = await CodeRunner.open({ workers: 1, limits: { testSeconds: 30 } });
  const token = `hogwild-close-${crypto.randomUUID()}`;
  const code = `
import os, time
if os.fork() == 0:
    os.execv("/usr/bin/python3", ["python3", "-c", "while True: pass", "${token}"])
time.sleep(60)
`;
  const first = runner.run({ mode: "stdin", code }, [""], () => true);
  const second = runner.run({ mode: "stdin", code }, [""], () => true);
  const settled = Promise.allSettled([first, second]);
  try {
    for (let i = 0; i < 100 && !(await processesWith(token)).length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await processesWith(token)).length, 1, "the program never started");
    const t = performance.now();
    await runner.close();
    assert.ok(performance.now() - t < 5000, `close() took ${performance.now() - t} ms`);
    const [a, b] = await settled;
    assert.equal(a.status, "rejected");
    assert.equal(b.status, "rejected");
    assert.deepEqual(await processesWith(token), []);
    await assert.rejects(runner.run({ mode: "stdin", code: "" }, [""], () => true), /closed/);
  } finally {
    for (const pid of (await processesWith(token))) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("unsafe: a host that exits (Ctrl-C's Deno.exit) or is killed takes its running programs with it; the next host removes their folders", async () => {
  // Sandboxed, bubblewrap's --die-with-parent ends them; unsafe, nothing did: they ran on, orphaned.
  for (const end of ["Deno.exit(130)", "Deno.kill(Deno.pid, 'SIGKILL')"]) {
    const marker = `/tmp/hogwild-orphan-${crypto.randomUUID()}`;
    const host = `import { CodeRunner } from "${new URL("../../../tasks/code/runner.ts", import.meta.url)}";
      const r = await CodeRunner.open({ workers: 1, unsafe: true, limits: { testSeconds: 30 } });
      r.run({ mode: "stdin", code: "import os, time\\nopen('${marker}', 'w').write(f'{os.getpid()} {os.getcwd()}')\\ntime.sleep(30)" },
        [""], () => true);
      for (let i = 0; i < 100; i++) {
        try { Deno.statSync("${marker}"); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
      ${end};`;
    await new Deno.Command(Deno.execPath(), { args: ["eval", host], stdout: "null", stderr: "null" }).output();
    const [pid, folder] = Deno.readTextFileSync(marker).split(" ");
    removeIfThere(marker);
    const alive = async () => {
      const ps = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" }).output();
      return ps.success && !new TextDecoder().decode(ps.stdout).startsWith("Z"); // a zombie is dead, not reaped yet
    };
    for (let i = 0; i < 40 && await alive(); i++) await new Promise((r) => setTimeout(r, 50));
    const left = await alive();
    if (left) Deno.kill(+pid, "SIGKILL");
    assert.equal(left, false, `${end}: the program (pid ${pid}) outlived its host`);
    // its folder outlives the host that made it; the next host to open an unsafe runner removes it
    const there = () => existsSync(folder);
    assert.ok(there(), `${end}: ${folder}`);
    await (await CodeRunner.open({ workers: 1, unsafe: true })).close();
    assert.ok(!there(), `${end}: ${folder} left behind`);
  }
});

test("a program holds no descriptor but its stdin, /dev/null and the protocol's pipe", async () => {
  const o = await runOnce(
    sandboxed,
    `
import os
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        print(fd, os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass  # the listing's own
`,
  );
  const fds = o.out.trim().split("\n").map((l) => l.replace(/\[\d+\]/, ""));
  assert.deepEqual(fds, ["0 pipe:", "1 /dev/null", "2 /dev/null", "3 pipe:"]);
});
