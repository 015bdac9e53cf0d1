/** tools/device-kit.ts: what a GPU machine without node gets must run `deno task perf` on its own. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADDON_PATH } from "../../engine/native.ts";

const root = new URL("../..", import.meta.url).pathname;

async function deno(args: string[], env: Record<string, string> = {}, cwd = root) {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the device kit's perf bundle runs alone, on the addon HOGWILD_ADDON names", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-kit-"));
  const kit = await deno(["run", "-A", "tools/device-kit.ts", "--out", dir, "--no-deno"]);
  assert.equal(kit.code, 0, kit.stderr);
  for (const h of ["napi.h", "node_api.h", "js_native_api.h"]) assert.ok(existsSync(join(dir, "node-api", h)), h);

  // As on a GPU machine: no cuda/build beside the bundle (only HOGWILD_ADDON leads it to the addon), no
  // deno.json or node_modules around it, an empty Deno cache.
  const bare = { HOGWILD_ADDON: ADDON_PATH, DENO_DIR: join(dir, "deno-dir") };
  const json = join(dir, "perf.json");
  const perf = await deno(
    [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-env",
      "--allow-sys",
      join(dir, "perf.js"),
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
    ],
    bare,
    dir,
  );
  assert.equal(perf.code, 0, perf.stderr);
  assert.match(perf.stdout, /\| workers \| context \| ms\/pass \(median\) .*\| GB\/s achieved \| vs 1 worker \|/);
  const results = JSON.parse(readFileSync(json, "utf8")).engine.results;
  assert.deepEqual(results.map((r: { workers: number }) => r.workers), [1, 3]);
  assert.equal(results[0].vsFirst, 1);
  for (const r of results) {
    assert.ok(r.ms > 0 && r.floorMs > 0 && Math.abs(r.ratio - r.ms / r.floorMs) < 1e-9);
    assert.ok(Math.abs(r.gbPerS - r.bytes / r.ms / 1e6) < 1e-9);
  }

  const missing = await deno(
    ["run", "--allow-read", "--allow-env", "--allow-ffi", "--allow-sys", join(dir, "perf.js"), "--skip-harness"],
    { ...bare, HOGWILD_ADDON: join(dir, "nothing.node") },
    dir,
  );
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HOGWILD_ADDON: no such file: .*nothing\.node/);
});
