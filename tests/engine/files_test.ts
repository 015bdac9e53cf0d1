/** engine/files.ts: a file replaced whole never takes the place of a device, a pipe or a folder; lines read back in pieces. */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../engine/errors.ts";
import {
  appendLines,
  checkNotFolder,
  checkOutputFiles,
  fileLines,
  isTempOf,
  pathInfo,
  removeOldTemps,
  removeStrayTemps,
  replaceFile,
} from "../../engine/files.ts";

Deno.test("replaceFile: a new or regular file is replaced whole, through a link too; a pipe, a link to one or a folder is refused as it is", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-files-"));
  replaceFile(join(dir, "a.txt"), "one");
  replaceFile(join(dir, "a.txt"), ["two", "\n"]);
  assert.equal(readFileSync(join(dir, "a.txt"), "utf8"), "two\n");
  // a named pipe stands for a device here (as root, `--out /dev/null` had replaced /dev/null with a file)
  const pipe = join(dir, "pipe");
  assert.equal(new Deno.Command("mkfifo", { args: [pipe] }).outputSync().code, 0);
  symlinkSync(pipe, join(dir, "link"));
  mkdirSync(join(dir, "folder"));
  for (
    const [name, what] of [["pipe", "a device or a pipe"], ["link", "a device or a pipe"], ["folder", "a folder"]]
  ) {
    assert.throws(
      () => replaceFile(join(dir, name), "x"),
      (e) => e instanceof InputError && e.message === `${join(dir, name)}: not a regular file (${what}); name a file`,
    );
  }
  assert.ok(Deno.statSync(pipe).isFifo, "the pipe is still a pipe");
  assert.ok(Deno.lstatSync(join(dir, "link")).isSymlink);
  // a link to a regular file (a run's traces put on another disk): the link kept, the file it names replaced
  mkdirSync(join(dir, "other-disk"));
  const target = join(dir, "other-disk", "traces.jsonl"), link = join(dir, "traces.jsonl");
  writeFileSync(target, "old\n");
  symlinkSync(target, link);
  replaceFile(link, ["new", "\n"]);
  assert.ok(Deno.lstatSync(link).isSymlink, "still a link");
  assert.equal(readFileSync(target, "utf8"), "new\n");
  assert.deepEqual(Deno.readDirSync(join(dir, "other-disk")).toArray().map((e) => e.name), ["traces.jsonl"]);
});

Deno.test("fileLines: every whole line, read in pieces of any size, as splitting the whole file gives them", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lines-"));
  let seed = 5;
  const next = (n: number) => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 * n);
  const pieces = ["a", "é", "😀", '{"k": 1}', "", " ", "\r"]; // multi-byte characters split across pieces too
  for (let round = 0; round < 60; round++) {
    const lines = Array.from(
      { length: next(8) },
      () => Array.from({ length: next(12) }, () => pieces[next(7)]).join(""),
    );
    const torn = next(2) ? "half a li" : "";
    const text = lines.map((l) => l + "\n").join("") + torn;
    const file = join(dir, `f${round}`);
    writeFileSync(file, text);
    for (const chunk of [1, 2, 3, 7, 64, 1 << 24]) {
      const got = [...fileLines(file, { chunkBytes: chunk })].map((b) => new TextDecoder().decode(b));
      assert.deepEqual(got, lines, `chunk ${chunk}: ${JSON.stringify(text)}`);
      const all = [...fileLines(file, { chunkBytes: chunk, unterminated: true })].map((b) =>
        new TextDecoder().decode(b)
      );
      assert.deepEqual(all, torn ? [...lines, torn] : lines, `unterminated, chunk ${chunk}`);
    }
  }
});

Deno.test("fileLines: a line past maxLineBytes is refused naming its line, in pieces of any size; one at it is read", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-long-"));
  for (let round = 0; round < 40; round++) {
    const most = 1 + (round % 9);
    const lens = Array.from({ length: 1 + (round % 5) }, (_, i) => (round * 7 + i * 3) % (most + 1));
    const over = round % 3 ? lens.length - 1 - (round % lens.length) : -1; // the line made one byte too long, if any
    const lines = lens.map((n, i) => "x".repeat(i === over ? most + 1 : n));
    const file = join(dir, `f${round}`);
    writeFileSync(file, lines.map((l) => l + "\n").join("") + (round % 2 ? "" : "y".repeat(most + 1)));
    for (const chunk of [1, 2, 5, 64]) {
      const read = () => [...fileLines(file, { chunkBytes: chunk, maxLineBytes: most, unterminated: true })];
      const bad = over >= 0 ? over + 1 : round % 2 ? 0 : lines.length + 1; // the unterminated tail is too long too
      if (bad) {
        // read from a line's first byte, the line is named by its byte
        const from = lines.slice(0, 1).reduce((n, l) => n + l.length + 1, 0),
          byte = lines.slice(0, bad - 1).reduce((n, l) => n + l.length + 1, 0);
        if (bad > 1) {
          assert.throws(
            () => [...fileLines(file, { chunkBytes: chunk, maxLineBytes: most, unterminated: true, from })],
            saying(`${file}: the line at byte ${byte}: a line longer`),
          );
        }
      }
      if (!bad) assert.equal(read().length, lines.length);
      else assert.throws(read, saying(`${file}:${bad}: a line longer than ${most} bytes`));
    }
  }
  // a stream with no newline at all ends in an error, not at memory's end
  assert.throws(
    () => [...fileLines("/dev/zero", { maxLineBytes: 2 ** 20 })],
    saying("/dev/zero:1: a line longer than 1 MiB"),
  );
});

const saying = (text: string) => (e: unknown) => e instanceof InputError && e.message.includes(text);

Deno.test("fileLines and checkNotFolder: a folder is refused as one, naming it (it was EISDIR mid-read)", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-lines-"));
  for (const read of [() => [...fileLines(dir)], () => checkNotFolder(dir)]) {
    assert.throws(read, (e) => e instanceof InputError && e.message === `${dir}: not a file (a folder); name a file`);
  }
  writeFileSync(join(dir, "f"), "a\n");
  checkNotFolder(join(dir, "f"));
  checkNotFolder(join(dir, "none")); // not there: the read says so
});

Deno.test("checkOutputFiles: a folder, a pipe, a missing folder and two names of one file are refused by flag", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-outs-"));
  writeFileSync(join(dir, "f"), "");
  symlinkSync(join(dir, "f"), join(dir, "link"));
  checkOutputFiles({ "--a": join(dir, "f"), "--b": join(dir, "new"), "--c": undefined });
  for (
    const [outs, message] of [
      // an empty name is no name: read as the flag left out, the output went to stdout unsaid
      [{ "--out": "" }, `--out "": an empty name; name a file`],
      [{ "--out": dir }, `--out ${dir}: not a regular file (a folder); name a file`],
      [{ "--out": join(dir, "no", "x") }, `--out ${join(dir, "no", "x")}: no folder ${join(dir, "no")}`],
      [{ "--out": join(dir, "f", "x") }, `--out ${join(dir, "f", "x")}: a path through a file, not a folder`],
      // a trailing separator names a folder: resolve() would drop it, and the write fail after the work
      [{ "--out": `${dir}/nd/` }, `--out ${dir}/nd/: names a folder; name a file`],
      [{ "--out": `${dir}/f/` }, `--out ${dir}/f/: names a folder; name a file`],
      [
        { "--record": join(dir, "new"), "--out": `${dir}/./new` },
        `--record and --out name one file (${dir}/./new); give each its own`,
      ],
      [
        { "--record": join(dir, "f"), "--out": join(dir, "link") },
        `--record and --out name one file (${join(dir, "link")}); give each its own`,
      ],
    ] as [Record<string, string>, string][]
  ) {
    assert.throws(() => checkOutputFiles(outs), (e) => e instanceof InputError && e.message === message);
  }
  // an output that is an input (tasks load --data F --out F replaced the data with what it loaded), or inside one
  assert.throws(
    () => checkOutputFiles({ "--out": join(dir, "link") }, { "--data": join(dir, "f") }),
    (e) =>
      e instanceof InputError &&
      e.message === `--out ${join(dir, "link")}: is --data ${join(dir, "f")}, which it reads; write elsewhere`,
  );
  assert.throws(
    () => checkOutputFiles({ "--out": join(dir, "new.jsonl") }, { "--data": dir }),
    (e) => e instanceof InputError && /: inside --data .*, which it reads; write elsewhere$/.test(e.message),
  );
  checkOutputFiles({ "--out": join(dir, "new") }, { "--data": join(dir, "f"), "--cases": undefined });
});

Deno.test("pathInfo: under a task's permissions, an empty path and those only --allow-all reaches are one InputError naming the flag; a missing path is none", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-files-"));
  writeFileSync(join(dir, "f"), "x");
  // run as the tasks run (--allow-read, not -A): there Deno's stat, existsSync too, throws for these
  const script = join(dir, "probe.ts");
  writeFileSync(
    script,
    `import { pathInfo } from ${JSON.stringify(new URL("../../engine/files.ts", import.meta.url).href)};
    for (const p of JSON.parse(Deno.args[0])) {
      try {
        const i = pathInfo(p, "--x");
        console.log(JSON.stringify(i === undefined ? "none" : i.isFile ? "file" : i.isDirectory ? "folder" : "other"));
      } catch (e) {
        console.log(JSON.stringify(\`\${(e as Error).name}: \${(e as Error).message}\`));
      }
    }`,
  );
  const refused = ["", "/proc/self/status", "/sys/kernel", "/dev/null/x", "/dev/stdin", "a\0b"];
  const kept: [string, string][] = [[join(dir, "f"), "file"], [dir, "folder"], ["/dev/null", "other"], [
    join(dir, "none"),
    "none",
  ], [join(dir, "f", "x"), "none"]];
  const paths = [...refused, ...kept.map(([p]) => p)];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script, JSON.stringify(paths)],
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const got = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l) as string);
  for (const [i, p] of refused.entries()) {
    assert.match(got[i], /^InputError: --x /, `${JSON.stringify(p)}: ${got[i]}`);
    if (!p) assert.equal(got[i], `InputError: --x "": an empty path; name a file`);
  }
  assert.deepEqual(got.slice(refused.length), kept.map(([, k]) => k));
  assert.throws(() => pathInfo("", "--y", "folder"), { message: `--y "": an empty path; name a folder` });
});

Deno.test("appendLines: a write that fails part-way is taken back, so an append after space is freed follows whole lines; another writer's line is never cut", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-append-"));
  const line = JSON.stringify({ task: "t", problem_id: "p", text: "ü".repeat(20) }) + "\n";
  const size = new TextEncoder().encode(line).length, other = '{"another":"writer"}\n';
  const write = Deno.FsFile.prototype.writeSync;
  /** Appends `line` to `file`, the disk filling after `cut` bytes of it (`meanwhile`: what another writer appends then). */
  const failing = (file: string, cut: number, meanwhile?: string) => {
    let calls = 0;
    Deno.FsFile.prototype.writeSync = function (this: Deno.FsFile, p: Uint8Array) {
      if (calls++ === 0) return write.call(this, p.subarray(0, cut));
      if (meanwhile) appendFileSync(file, meanwhile);
      throw new Error("No space left on device (os error 28)");
    };
    try {
      assert.throws(() => appendLines(file, line), /cannot write it \(the disk is full; free space/);
    } finally {
      Deno.FsFile.prototype.writeSync = write;
    }
  };
  for (let cut = 1; cut < size; cut += 7) {
    const file = join(dir, `r${cut}.jsonl`);
    appendLines(file, line);
    failing(file, cut);
    assert.equal(readFileSync(file, "utf8"), line, `cut at ${cut}: the file as it was`);
    appendLines(file, line);
    assert.equal(readFileSync(file, "utf8"), line + line, `cut at ${cut}: whole lines after it`);
  }
  // a second judge appending to the same file while this write fails: its line stays (this torn one with it)
  const shared = join(dir, "judge.jsonl");
  appendLines(shared, line);
  failing(shared, 9, other);
  assert.ok(readFileSync(shared, "utf8").endsWith(other), "the other writer's line kept");
});

Deno.test("replaceFile: two processes replacing one file at once both succeed, the file always one write whole, no temporary left", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-files-race-"));
  const file = join(dir, "shared.json");
  const script = join(dir, "writer.ts");
  // each writer: many replacements of one size, its own letter, in parts (a write spans several syscalls)
  writeFileSync(
    script,
    `import { replaceFile } from ${JSON.stringify(new URL("../../engine/files.ts", import.meta.url).href)};\n` +
      `const [file, letter, n] = Deno.args;\n` +
      `for (let i = 0; i < Number(n); i++) replaceFile(file, Array.from({ length: 16 }, () => letter.repeat(8192)));\n`,
  );
  for (const n of [50, 200]) {
    const writers = ["a", "b", "c"].map((letter) =>
      new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, file, letter, String(n)], stderr: "piped" })
        .output()
    );
    const done = await Promise.all(writers);
    for (const d of done) assert.equal(d.code, 0, new TextDecoder().decode(d.stderr));
    const text = readFileSync(file, "utf8");
    assert.equal(text.length, 16 * 8192);
    assert.match(text, /^(a+|b+|c+)$/, "one writer's bytes alone");
    assert.deepEqual(Deno.readDirSync(dir).toArray().map((e) => e.name).sort(), ["shared.json", "writer.ts"]);
  }
});

Deno.test("temporaries: a killed writer's are told from every other name; removeStrayTemps takes one file's, removeOldTemps only old ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-temps-"));
  const temps = ["a.json.12-1-k3x.tmp", "a.json.7-30-0.tmp", "a.json.tmp"];
  const others = [
    "a.json",
    "a.json.12-1-k3x.tmp.bak",
    "a.json.12-1-K3X.tmp",
    "a.json.x.12-1-k3x.tmp",
    "b.json.1-1-a.tmp",
  ];
  for (const t of temps) assert.ok(isTempOf(t, "a.json"), t);
  for (const o of others) assert.ok(!isTempOf(o, "a.json"), o);
  for (const f of [...temps, ...others]) writeFileSync(join(dir, f), "x");
  removeStrayTemps(join(dir, "a.json"));
  assert.deepEqual(Deno.readDirSync(dir).toArray().map((e) => e.name).sort(), [...others].sort());
  // any file's temporary, only once it is older than the age given (a live writer's is moments old)
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const f of ["c.json.3-1-z.tmp", "b.json.1-1-a.tmp"]) writeFileSync(join(dir, f), "x");
  utimesSync(join(dir, "b.json.1-1-a.tmp"), old, old);
  utimesSync(join(dir, "a.json"), old, old);
  removeOldTemps(dir, 3600_000);
  assert.deepEqual(
    Deno.readDirSync(dir).toArray().map((e) => e.name).sort(),
    [...others.filter((o) => o !== "b.json.1-1-a.tmp"), "c.json.3-1-z.tmp"].sort(),
  );
});
