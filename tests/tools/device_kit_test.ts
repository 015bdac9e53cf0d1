/**
 * tools/device-kit.ts: what a GPU machine without node or network gets must run `deno task perf` and
 * `deno task bench` from the tree on its own: the tree's sources, the kit's node_modules, an empty Deno cache,
 * no registry, no cuda/build (only HOGWILD_ADDON leads to the addon).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADDON_PATH } from "../../engine/native.ts";

const root = new URL("../..", import.meta.url).pathname;

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd = root) {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the device kit runs perf and bench from a bare tree, offline, on the addon HOGWILD_ADDON names", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-kit-"));
  const kit = await run(Deno.execPath(), ["run", "-A", "tools/device-kit.ts", "--out", dir, "--no-deno", "--xz", "0"]);
  assert.equal(kit.code, 0, kit.stderr);
  for (const h of ["napi.h", "node_api.h", "js_native_api.h"]) assert.ok(existsSync(join(dir, "node-api", h)), h);

  // The tree as a device call carries it (sources, no node_modules, no build), then the kit's packages.
  const tree = join(dir, "tree");
  mkdirSync(tree);
  for (const f of ["cli", "engine", "harness", "tasks", "deno.json", "deno.lock"]) {
    cpSync(join(root, f), join(tree, f), { recursive: true });
  }
  const untar = await run("tar", ["-xJf", join(dir, "node_modules.tar.xz")], {}, tree);
  assert.equal(untar.code, 0, untar.stderr);
  const offline = {
    HOGWILD_ADDON: ADDON_PATH,
    DENO_DIR: join(dir, "deno-dir"),
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
  };
  const deno = (args: string[], env = offline) =>
    run(Deno.execPath(), ["run", "--node-modules-dir=manual", "--allow-all", ...args], env, tree);

  const json = join(dir, "perf.json");
  const perf = await deno([
    "cli/perf.ts",
    "--model",
    "random:qwen3-demo",
    "--workers",
    "1,3",
    "--context",
    "48",
    "--iterations",
    "2",
    "--skip-harness",
    "--json",
    json,
  ]);
  assert.equal(perf.code, 0, perf.stderr);
  assert.match(perf.stdout, /\| workers \| context \| ms\/pass \(median\) .*\| GB\/s achieved \| vs 1 worker \|/);
  const results = JSON.parse(readFileSync(json, "utf8")).engine.results;
  assert.deepEqual(results.map((r: { workers: number }) => r.workers), [1, 3]);
  for (const r of results) {
    assert.ok(r.ms > 0 && r.floorMs > 0 && Math.abs(r.ratio - r.ms / r.floorMs) < 1e-9);
    assert.ok(Math.abs(r.floorMs - r.bytes / r.bandwidth * 1000) < 1e-9); // each row's own measured floor
  }

  // The benchmark itself: the grader's workers, the tokenizer package, the plots.
  const out = join(dir, "bench");
  const bench = await deno([
    "cli/bench.ts",
    "--model",
    "random:qwen3-demo",
    "--task",
    "synthetic",
    "--count",
    "2",
    "--methods",
    "hogwild:2,sequential",
    "--budgets",
    "4:8:4",
    "--out",
    out,
  ]);
  assert.equal(bench.code, 0, bench.stderr);
  assert.equal(readFileSync(join(out, "records.jsonl"), "utf8").trim().split("\n").length, 4);
  for (const f of ["curves.csv", "summary.md", "accuracy_vs_time.png"]) assert.ok(existsSync(join(out, f)), f);

  const missing = await deno(["cli/perf.ts", "--skip-harness"], {
    ...offline,
    HOGWILD_ADDON: join(dir, "nothing.node"),
  });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HOGWILD_ADDON: no such file: .*nothing\.node/);
});
