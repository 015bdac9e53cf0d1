/**
 * harness/report/plots.ts: the PNGs draw their text with the fonts the project installs (the npm package's DejaVu),
 * not the system's: a machine without fonts drew charts with no title, axis or legend, silently.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "../../../harness/report/plots.ts";

Deno.test("plots: a chart's texts are drawn into the PNG (two titles, two images), with no system font asked for", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hogwild-plots-"));
  const chart = (title: string) => ({
    title,
    data: { values: [{ x: 1, y: 1 }] },
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
  });
  await render(chart("accuracy of hogwild:2"), join(dir, "a"));
  await render(chart("accuracy of sequential"), join(dir, "b"));
  const [a, b] = ["a", "b"].map((f) => readFileSync(join(dir, `${f}.png`)));
  assert.ok(!a.equals(b), "the titles drew no pixels: the PNG has no text");
  rmSync(dir, { recursive: true });
});
