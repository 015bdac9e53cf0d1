/**
 * deno task view: a local web page over run folders, their curves, records and workers, and (from a bench run
 * with --view) its passes as they happen. It reads the folders and never writes to them.
 */
import { readdirSync } from "node:fs";
import { pathExists, pathInfo } from "../engine/files.ts";
import { join, resolve } from "node:path";
import { check, parseAddress, parseFlags, runMain } from "../engine/errors.ts";
import { checkFoldersOnce } from "../harness/bench/rundir.ts";
import { RunSource } from "../harness/viewer/runs.ts";
import { serveViewer } from "../harness/viewer/server.ts";

const USAGE = `usage: deno task view [RUN_DIR…] [--port 8470] [--host 127.0.0.1]
  RUN_DIR   run folders (default: every folder of results/ that holds a run.json)
  --port    the port (0: any free one)
  --host    the address to listen on; anything but loopback serves your runs to the network (a warning says so)`;

/** The run folders to serve: those given (each must hold a run.json), else those under results/. */
function runFolders(dirs: string[]): RunSource[] {
  if (dirs.length === 0) {
    const root = "results";
    // each folder once: a link to one of them (results/latest -> run-42) is an alias, not another run
    const seen = new Set<string>();
    dirs = (pathExists(root) ? readdirSync(root).sort().map((d) => join(root, d)) : [])
      .filter((d) => pathExists(join(d, "run.json")))
      .sort((x, y) => Number(Deno.lstatSync(x).isSymlink) - Number(Deno.lstatSync(y).isSymlink))
      .filter((d) => {
        const real = Deno.realPathSync(d), first = !seen.has(real);
        seen.add(real);
        return first;
      });
    check(dirs.length > 0, "view: no run folders given and none under results/ (give RUN_DIR…)");
  }
  return dirs.map((d) => {
    const info = pathInfo(d, undefined, "run folder");
    check(info, `${d}: no such run folder`);
    check(info.isDirectory, `${d}: a file, not a run folder`);
    check(pathExists(join(d, "run.json")), `${d}: no run.json (not a run folder?)`);
    return new RunSource(resolve(d));
  });
}

export const OPTIONS = { port: { type: "string" }, host: { type: "string" } } as const;

async function main() {
  const { values: f, positionals } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  checkFoldersOnce(positionals, "view");
  const runs = runFolders(positionals);
  const viewer = serveViewer({ runs, ...parseAddress(f.port, f.host, { port: "--port", host: "--host" }) });
  console.error(`view: ${runs.length} run${runs.length > 1 ? "s" : ""} at ${viewer.url} (Ctrl-C to stop)`);
  await new Promise(() => {});
}

if (import.meta.main) runMain(main);
