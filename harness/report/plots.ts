/**
 * The charts of harness/report/charts.ts as files: SVG through vega, PNG through resvg with the DejaVu fonts of the
 * npm package, never the system's (a machine without fonts, a slim image, got PNGs with no text at all, silently;
 * and the same fonts everywhere draw the same PNG).
 */
import { packageFile, replaceFile } from "../../engine/files.ts";
import * as vl from "vega-lite";
import * as vega from "vega";
import { Resvg } from "@resvg/resvg-js";
import { join } from "node:path";
import { type ChartOptions, chartSpecs, type ReferencePoint } from "./charts.ts";
import type { CurvePoint } from "./curves.ts";

export type { ReferencePoint };

const FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map((f) => packageFile("dejavu-fonts-ttf", `ttf/${f}`));

/** A vega-lite spec drawn to FILE.svg and FILE.png. */
export async function render(spec: unknown, file: string): Promise<void> {
  const view = new vega.View(vega.parse(vl.compile(spec as vl.TopLevelSpec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  replaceFile(`${file}.svg`, svg);
  const png = new Resvg(svg, {
    font: { fontFiles: FONTS, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
    background: "white",
    fitTo: { mode: "zoom", value: 2 },
  }).render().asPng();
  replaceFile(`${file}.png`, png);
}

/** Writes accuracy_vs_steps.{svg,png} and accuracy_vs_time.{svg,png} in `dir`; `options` as chartSpecs takes them. */
export async function writePlots(
  dir: string,
  points: readonly CurvePoint[],
  title: string,
  options: ChartOptions = {},
): Promise<string[]> {
  const specs = chartSpecs(points, title, options);
  const steps = join(dir, "accuracy_vs_steps"), time = join(dir, "accuracy_vs_time");
  await render(specs.steps, steps);
  await render(specs.time, time);
  return [steps, time].flatMap((f) => [`${f}.svg`, `${f}.png`]);
}
