/**
 * Where model-written programs run: `python3 -I -c <driver>` inside bubblewrap (its own user, pid, network,
 * ipc, uts and cgroup namespaces; of the host's files only /usr and /etc's links, read-only; writable only a
 * private size-capped tmpfs as /tmp (the cwd) and another as /dev/shm; no environment but PATH, LANG and HOME),
 * or with `unsafe` the bare interpreter in a fresh temporary directory. Spawning, killing a run's whole process
 * tree, and the once-per-setup check that it works here.
 */
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { check, InputError } from "../../engine/errors.ts";

export interface SandboxOptions {
  /** no bubblewrap: the interpreter runs as the host's user, with only the driver's rlimits (--unsafe-exec) */
  unsafe?: boolean;
  /** the interpreter (default /usr/bin/python3); outside /usr, its prefix is bound read-only in the sandbox */
  python?: string;
  /** bubblewrap's path (default: bwrap on PATH) */
  bwrap?: string;
}

/** How a sandboxed process ended: its exit code, or the signal that killed it. */
export interface Exit {
  code: number;
  signal: Deno.Signal | null;
}

/** One running program: its pipes, and its end. */
export interface SandboxProcess {
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  /** resolves once the process has exited and every process it started is gone (see `kill`) */
  exited: Promise<Exit>;
  /**
   * SIGKILL to the whole tree. Sandboxed: the pid namespace's init, so that the kernel kills everything in it,
   * detached or not, before the init is reaped. Unsafe: the process group, which a program leaves by setsid().
   */
  kill(): Promise<Exit>;
}

/** The uid a root host drops to before starting bubblewrap: real root is exempt from RLIMIT_NPROC. */
const NOBODY = 65534;
/** The tasks of a sandbox before the program starts any: bubblewrap's init (pid 1) and the driver. */
const SANDBOX_TASKS = 2;
const KILL_WAIT_MS = 2000;
const UNAVAILABLE = "code execution needs bubblewrap (bwrap) with user namespaces: apt install bubblewrap, or pass " +
  '--unsafe-exec to run model-written code without isolation (README, "Code tasks and the sandbox")';
/** python -I -c CHECK: the driver needs ast.unparse (3.9) */
const CHECK = "import sys; sys.exit(0 if sys.version_info >= (3, 9) else 3)";

export class Sandbox {
  private static checked = new Map<string, Promise<void>>();

  private constructor(
    readonly unsafe: boolean,
    private readonly python: string,
    private readonly bwrap: string,
    private readonly flags: { size: boolean; disableUserns: boolean },
    private readonly binds: string[],
  ) {}

  /** The sandbox for these options, checked once per process (a trivial program must run in it). */
  static async open(o: SandboxOptions = {}): Promise<Sandbox> {
    const python = o.python ?? "/usr/bin/python3";
    let real: string;
    try {
      real = Deno.realPathSync(python);
    } catch {
      throw new InputError(`python: ${python} not found (the interpreter that runs model-written code)`);
    }
    let sandbox: Sandbox;
    if (o.unsafe) {
      sandbox = new Sandbox(true, real, "", { size: false, disableUserns: false }, []);
      await sweepUnsafeDirs();
    } else {
      const bwrap = o.bwrap ?? onPath("bwrap") ?? "/usr/bin/bwrap";
      let help: string;
      try {
        const out = await new Deno.Command(bwrap, { args: ["--help"], stdout: "piped", stderr: "piped" }).output();
        help = new TextDecoder().decode(out.stdout);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "not found" : (e as Error).message;
        throw new InputError(`${UNAVAILABLE}; here: ${bwrap}: ${why}`);
      }
      const flags = { size: help.includes("--size"), disableUserns: help.includes("--disable-userns") };
      sandbox = new Sandbox(false, real, bwrap, flags, pythonBinds(real));
    }
    const key = JSON.stringify([sandbox.unsafe, sandbox.python, sandbox.bwrap]);
    if (!Sandbox.checked.has(key)) Sandbox.checked.set(key, sandbox.check());
    try {
      await Sandbox.checked.get(key);
    } catch (e) {
      Sandbox.checked.delete(key);
      throw e;
    }
    return sandbox;
  }

  /**
   * RLIMIT_NPROC for a program that may start `extra` processes (threads count too). Since Linux 5.14 the
   * kernel counts a user namespace's tasks on their own, so a sandbox counts only itself; before that, and
   * without a sandbox, the count is every task of the uid on the machine: those running now, plus `extra`.
   * (A root host's unsafe run is exempt whatever the number.)
   */
  async processLimit(extra: number): Promise<number> {
    const [major, minor] = Deno.osRelease().split(".").map((n) => parseInt(n));
    if (!this.unsafe && (major > 5 || (major === 5 && minor >= 14))) return SANDBOX_TASKS + extra;
    return await tasksOf(this.unsafe || Deno.uid() !== 0 ? Deno.uid()! : NOBODY) + 1 + extra;
  }

  /** Starts `python -I ARGS` with its private /tmp of `tmpBytes` (bwrap's tmpfs, or a temporary directory). */
  spawn(args: string[], tmpBytes: number): SandboxProcess {
    return this.unsafe ? this.spawnUnsafe(args) : this.spawnSandboxed(args, tmpBytes);
  }

  /** bubblewrap's arguments before the command. */
  private argv(tmpBytes: number): string[] {
    const a = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv"];
    if (this.flags.disableUserns) a.push("--disable-userns");
    a.push("--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp");
    a.push("--ro-bind", "/usr", "/usr");
    // Merged-usr hosts (Debian 12) have /bin, /lib… as links into /usr: the same links, else the folders.
    for (const d of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
      const s = lstat(d);
      if (s?.isSymlink) a.push("--symlink", Deno.readLinkSync(d), d);
      else if (s?.isDirectory) a.push("--ro-bind", d, d);
    }
    // Of /etc, the loader's cache and Debian's alternatives (links only: numpy's libblas.so.3 is one).
    a.push("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache");
    a.push("--ro-bind-try", "/etc/alternatives", "/etc/alternatives", ...this.binds);
    a.push("--proc", "/proc", "--dev", "/dev");
    // Every tmpfs is RAM outside the program's RLIMIT_AS: the writable ones are capped, the rest made read-only
    // (bubblewrap's root and /dev are tmpfs too). A bubblewrap without --size (before 0.5) gets no writable one.
    if (this.flags.size) {
      for (const dir of ["/tmp", "/dev/shm"]) a.push("--size", String(tmpBytes), "--tmpfs", dir);
    } else a.push("--dir", "/tmp");
    a.push("--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp");
    return a;
  }

  private async check(): Promise<void> {
    // The host finds a run's processes through ps (to kill them, to count them): without it a setup fails here,
    // not at the first run that must be killed, hours into a bench.
    const siblings = await ps(["-o", "pid=", "--ppid", String(Deno.ppid)]);
    check(
      siblings.includes(String(Deno.pid)),
      "code runner: ps does not list processes by parent (apt install procps)",
    );
    let reason: string;
    try {
      const p = this.spawn(["-c", CHECK], 1 << 20);
      await p.stdin.close().catch(() => {});
      const [, err, exit] = await Promise.all([drain(p.stdout), new Response(p.stderr).text(), p.exited]);
      if (exit.code === 0) return;
      reason = exit.code === 3
        ? `${this.python} is older than Python 3.9`
        : (err.trim().split("\n").pop() || `exit ${exit.signal ?? exit.code}`);
    } catch (e) {
      reason = `${(e as Error).name}: ${(e as Error).message}`;
    }
    if (this.unsafe) throw new InputError(`python: ${this.python} does not run: ${reason}`);
    if (this.binds.length) {
      const user = Deno.uid() === 0 ? `uid ${NOBODY}` : "the user";
      reason += ` (python ${this.python} lies outside /usr: its prefix must be readable by ${user})`;
    }
    throw new InputError(`${UNAVAILABLE}; here: ${reason}`);
  }

  private spawnSandboxed(args: string[], tmpBytes: number): SandboxProcess {
    const root = Deno.uid() === 0;
    const child = new Deno.Command(this.bwrap, {
      args: [...this.argv(tmpBytes), "--", this.python, "-I", ...args],
      clearEnv: true,
      env: {},
      cwd: "/",
      ...(root ? { uid: NOBODY, gid: NOBODY } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let done = false;
    const exited = child.status.then((s) => (done = true, exitOf(s)));
    const kill = async () => {
      if (done) return await exited;
      // bwrap's init is the child of the outer bwrap; killed, the kernel empties its pid namespace before the
      // init is reaped and the outer bwrap exits with it. Before the init exists no program code runs yet.
      signal(await childOf(child.pid) ?? child.pid);
      const timer = delay(KILL_WAIT_MS);
      if (await Promise.race([exited, timer.done]) === undefined) signal(child.pid);
      timer.cancel();
      return await exited;
    };
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill };
  }

  private spawnUnsafe(args: string[]): SandboxProcess {
    const dir = Deno.makeTempDirSync({ prefix: `${UNSAFE_PREFIX}${Deno.pid}-` });
    const child = new Deno.Command(this.python, {
      args: ["-I", ...args],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", HOME: dir },
      cwd: dir,
      detached: true, // its own session and process group, killed as one
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const exited = child.status.then((s) => {
      signal(-child.pid);
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // a detached leftover may still write there; the folder is the host's temporary one
      }
      return { code: s.code, signal: s.signal };
    });
    const kill = () => (signal(-child.pid), exited);
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill };
  }
}

/** A sandboxed process's exit: bubblewrap's 128 + N for a command killed by signal N read back. */
function exitOf(s: Deno.CommandStatus): Exit {
  if (s.signal || s.code <= 128 || s.code > 128 + 64) return { code: s.code, signal: s.signal };
  return { code: s.code, signal: SIGNALS[s.code - 128] ?? null };
}

/** Linux's signal numbers (those a program's end can show). */
const SIGNALS: Record<number, Deno.Signal> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

/** An interpreter outside /usr brings its prefix, unless that would show the user's files. */
function pythonBinds(real: string): string[] {
  if (real.startsWith("/usr/")) return [];
  const prefix = dirname(dirname(real));
  const within = (p: string | undefined) => p !== undefined && (p === prefix || p.startsWith(prefix + "/"));
  if (prefix === "/" || within(Deno.env.get("HOME")) || within(Deno.cwd())) {
    throw new InputError(
      `python: ${real} lies in ${prefix}, which holds the home or working directory; use an interpreter ` +
        `installed under /usr or its own prefix (e.g. /opt/python3.11)`,
    );
  }
  return ["--ro-bind", prefix, prefix];
}

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    if (lstat(`${dir}/${name}`)) return `${dir}/${name}`;
  }
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

/** An unsafe run's folder: the prefix, the host's pid, a dash (the folder outlives a host that was killed). */
const UNSAFE_PREFIX = "hogwild-code-";

/**
 * Removes the unsafe runs' folders whose host is gone (killed before it could remove them). Hosts are told apart
 * by pid: machines whose containers share one /tmp across pid namespaces should each set their own TMPDIR.
 */
async function sweepUnsafeDirs(): Promise<void> {
  const base = tmpdir(), re = new RegExp(`^${UNSAFE_PREFIX}(\\d+)-`);
  const hosts = new Map<string, string[]>();
  for (const e of Deno.readDirSync(base)) {
    const pid = e.isDirectory ? re.exec(e.name)?.[1] : undefined;
    if (pid && pid !== String(Deno.pid)) hosts.set(pid, [...hosts.get(pid) ?? [], e.name]);
  }
  if (!hosts.size) return;
  const alive = new Set(await ps(["-o", "pid=", "-p", [...hosts.keys()].join(",")]));
  for (const [pid, dirs] of hosts) {
    if (alive.has(pid)) continue;
    for (const d of dirs) {
      try {
        Deno.removeSync(join(base, d), { recursive: true });
      } catch {
        // another user's, or already gone: not ours to insist on
      }
    }
  }
}

/**
 * `ps`'s lines for `args` (procps): the host reads the process table through it, as Deno refuses /proc to a
 * program without --allow-all.
 */
async function ps(args: string[]): Promise<string[]> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ps", { args, stdout: "piped", stderr: "null" }).output();
  } catch (e) {
    throw new InputError(`code runner: cannot run ps (apt install procps): ${(e as Error).message}`);
  }
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter((l) => l);
}

/** Every task (thread) the uid has on the machine. */
async function tasksOf(uid: number): Promise<number> {
  return (await ps(["-L", "-u", String(uid), "-o", "lwp="])).length;
}

/** A child of `pid` (bwrap's init, of the outer bwrap), if it has one. */
async function childOf(pid: number): Promise<number | undefined> {
  const [first] = await ps(["-o", "pid=", "--ppid", String(pid)]);
  return first === undefined ? undefined : Number(first);
}

function signal(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function delay(ms: number): { done: Promise<undefined>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<undefined>((resolve) => id = setTimeout(() => resolve(undefined), ms));
  return { done, cancel: () => clearTimeout(id) };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _ of stream) { /* discard */ }
}
