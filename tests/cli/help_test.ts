/**
 * Every command and script answers `--help` with its usage on stdout and exit code 0, and an unknown flag with
 * one line on stderr naming it (and the usage, or where to find it) and exit code 2, and does nothing else:
 * nothing written, nothing started. The entry points are found, not listed, so that a new one that does not
 * answer fails here: every task of deno.json (run as `deno task --eval` runs its command, without the build
 * it depends on), every script under tools/ (.sh with a shebang, .ts with import.meta.main, .py), every .py
 * of the tree, and hogwild-replay. They run in a copy of the tree (git's files, node_modules linked), with
 * $TMPDIR, $OUT, $BUILD and $HOME in an empty folder and PATH leading to stubs of the programs the scripts
 * start (npx, apt-get, cmake, nvidia-smi, ncu, …) that leave a mark; the copy and the folder must be
 * unchanged after, no stub marked, and each run done within LIMIT_S.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { REPLAY_PATH } from "../../engine/native.ts";
import { taskCommands } from "../helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
/** A run that asks for help or gives a bad flag ends within this (a Deno command starts in ~2 s on 2 cores). */
const LIMIT_S = 20;
/** What the scripts would start for real work: here, stubs that leave a mark and fail. */
const STUBS = ["npx", "apt-get", "cmake", "ninja", "nvcc", "nvidia-smi", "ncu", "compute-sanitizer", "xz", "tar"];
/** Tasks that are Deno's own tools (their help is Deno's, their bad flag exit 1): no project code runs. */
const denoOwn = (command: string) => !/(^|&&|\|\||;)\s*(\w+=\S*\s+)*deno run /.test(command);

interface Entry {
  /** how a user types it */
  name: string;
  /** the program and its arguments, the flag appended */
  argv: (flag: string) => string[];
  /** what its usage names */
  names: string;
}

function git(args: string[]): string {
  const out = new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/**
 * The tree as git sees it (tracked and new files, not ignored ones), copied with its modes; a copy without git (a
 * downloaded archive) as it is, but what the build and the deps make (node_modules, cuda/build).
 */
function copyTree(to: string): string[] {
  const listed = existsSync(join(ROOT, ".git"))
    ? git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).split("\0")
    : [...snapshot(ROOT).keys()].filter((f) => !/^(node_modules|cuda\/build)(\/|$)/.test(f));
  const files = listed.filter((f) => f && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile());
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(to, f));
    chmodSync(join(to, f), statSync(join(ROOT, f)).mode & 0o777);
  }
  if (existsSync(join(ROOT, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(to, "node_modules"));
  return files;
}

/** Every file and folder under `dir` (links not followed) with its size and time. */
function snapshot(dir: string): Map<string, string> {
  const all = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name), s = lstatSync(p);
      all.set(relative(dir, p), s.isDirectory() ? "dir" : `${s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return all;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k))
    .map((k) => `${k}: ${before.get(k) ?? "(none)"} -> ${after.get(k) ?? "(none)"}`);
}

/** The entry points of the copy `tree`, and the files that are no entry point with the reason. */
function entryPoints(tree: string, files: string[]): { entries: Entry[]; skipped: string[] } {
  const deno = Deno.execPath();
  const entries: Entry[] = [], skipped: string[] = [];
  const commands = Object.entries(taskCommands(join(tree, "deno.json")));
  for (const [name, command] of commands) {
    if (denoOwn(command)) {
      skipped.push(`deno task ${name} (${command}: Deno's own tool)`);
      continue;
    }
    entries.push({
      name: `deno task ${name}`,
      argv: (flag) => [deno, "task", "--quiet", "--eval", `${command} ${flag}`],
      names: `deno task ${name}`,
    });
  }
  const text = (f: string) => readFileSync(join(tree, f), "utf8");
  // A module that runs as a command outside tools/ is some task's.
  for (const f of files.filter((f) => /^(engine|harness|tasks|cuda)\/.*\.ts$/.test(f))) {
    if (!text(f).includes("import.meta.main")) continue;
    assert.ok(
      commands.some(([, c]) => c.includes(` ${f}`)),
      `${f} runs as a command (import.meta.main) but no task of deno.json runs it`,
    );
  }
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  for (const f of files.filter((f) => !f.startsWith("node_modules/"))) {
    const base = f.split("/").pop()!;
    const importers = (ext: string) =>
      files.filter((g) => g !== f && g.endsWith(ext) && g.startsWith("tools/") && text(g).includes(base));
    if (f.endsWith(".py")) {
      entries.push({ name: f, argv: (flag) => [python, join(tree, f), flag], names: base });
    } else if (f.endsWith(".sh")) {
      if (text(f).startsWith("#!")) entries.push({ name: f, argv: (flag) => [join(tree, f), flag], names: f });
      else {
        assert.ok(importers(".sh").length > 0, `${f}: no shebang (so not a script), yet no script sources it`);
        skipped.push(`${f} (sourced by ${importers(".sh").join(", ")})`);
      }
    } else if (f.startsWith("tools/") && f.endsWith(".ts")) {
      if (text(f).includes("import.meta.main")) {
        // its usage names the task that runs it, if one does
        const task = commands.find(([, c]) => c.includes(` ${f}`))?.[0];
        entries.push({
          name: f,
          argv: (flag) => [deno, "run", "-A", join(tree, f), flag],
          names: task ? `deno task ${task}` : f,
        });
      } else {
        assert.ok(
          importers(".ts").length > 0,
          `${f}: neither a command (if (import.meta.main) runMain(main)) nor imported by another tools/ module`,
        );
        skipped.push(`${f} (a module of ${importers(".ts").join(", ")})`);
      }
    }
  }
  assert.ok(existsSync(REPLAY_PATH), `${REPLAY_PATH}: not built (deno task build)`);
  entries.push({ name: "hogwild-replay", argv: (flag) => [REPLAY_PATH, flag], names: "hogwild-replay" });
  return { entries, skipped };
}

async function run(argv: string[], cwd: string, env: Record<string, string>) {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(3 * LIMIT_S * 1000),
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

Deno.test("every command and script answers --help with its usage and a bad flag with exit 2, and does nothing else", async () => {
  const base = mkdtempSync(join(tmpdir(), "cli-help-"));
  try {
    const tree = join(base, "tree"), stubs = join(base, "stubs");
    for (const d of [tree, stubs]) mkdirSync(d);
    for (const s of STUBS) {
      writeFileSync(join(stubs, s), `#!/bin/sh\necho "$0 $*" > "$HW_STARTED/${s}"\nexit 97\n`, { mode: 0o755 });
    }
    const files = copyTree(tree);
    const { entries, skipped } = entryPoints(tree, files);
    console.log(`${entries.length} entry points; not run: ${skipped.join("; ")}`);
    const denoDir = Deno.env.get("DENO_DIR") ??
      join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"), "deno");
    // Each run its own empty folders for what it might write outside the tree and for the stubs' marks.
    const env = (job: number) => {
      const outside = join(base, `job${job}`, "outside"), started = join(base, `job${job}`, "started");
      mkdirSync(outside, { recursive: true }), mkdirSync(started);
      return {
        outside,
        started,
        env: {
          NO_COLOR: "1",
          RUST_BACKTRACE: "0",
          PATH: `${stubs}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
          HW_STARTED: started,
          TMPDIR: outside,
          HOME: outside,
          OUT: join(outside, "out"),
          BUILD: join(outside, "build"),
          BENCH_OUT: join(outside, "bench"),
          DENO_DIR: denoDir,
          HF_HUB_OFFLINE: "1",
        },
      };
    };
    const before = snapshot(tree);
    const jobs = entries.flatMap((e) => [[e, "--help"], [e, "--no-such-flag"]] as const);
    const failures: string[] = [];
    // two at a time: the machine has two cores
    let next = 0;
    await Promise.all([0, 1].map(async () => {
      while (next < jobs.length) {
        const job = next++, [e, flag] = jobs[job], { outside, started, env: vars } = env(job);
        const r = await run(e.argv(flag), tree, vars);
        const said = `${e.name} ${flag}: exit ${r.code} in ${r.seconds.toFixed(1)} s\n--- stdout\n${
          r.stdout.slice(0, 600)
        }\n--- stderr\n${r.stderr.slice(0, 600)}`;
        const problems: string[] = [];
        if (r.seconds > LIMIT_S) problems.push(`took ${r.seconds.toFixed(1)} s (> ${LIMIT_S} s)`);
        if (flag === "--help") {
          if (r.code !== 0) problems.push("exit code not 0");
          if (!r.stdout.includes(e.names)) problems.push(`no usage naming ${e.names} on stdout`);
          // Deno's own line as it fetches a package's metadata into an empty cache is not the command's
          if (r.stderr.replace(/^Download https:\/\/registry\.npmjs\.org\/\S+\n/gm, "").trim()) {
            problems.push("something on stderr");
          }
        } else {
          if (r.code !== 2) problems.push("exit code not 2");
          if (r.stdout.trim()) problems.push("something on stdout");
          if (!r.stderr.includes("--no-such-flag")) problems.push("stderr does not name the flag");
          if (!/usage|--help/.test(r.stderr)) problems.push("stderr neither shows the usage nor points to --help");
        }
        const wrote = readdirSync(outside), ran = readdirSync(started);
        if (wrote.length) problems.push(`wrote ${wrote.join(", ")} outside the tree ($TMPDIR, $OUT, $HOME…)`);
        if (ran.length) problems.push(`started ${ran.map((p) => readFileSync(join(started, p), "utf8").trim())}`);
        if (problems.length) failures.push(`${problems.join("; ")}: ${said}`);
      }
    }));
    const wrote = changes(before, snapshot(tree));
    if (wrote.length) failures.push(`written in the tree (by one of the runs):\n${wrote.join("\n")}`);
    assert.deepEqual(failures, [], failures.join("\n\n"));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
