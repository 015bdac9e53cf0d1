/// <reference lib="dom" />
/**
 * How fast the viewer opens a run (deno task perf --viewer): for sample runs of each size, in a headless browser
 * (Debian's chromium through puppeteer-core), the time until the Records tab lists its rows, until the traces of
 * the rows listed are measured (the overlap and who-answered cells filled in), and to open one record on a click.
 * Medians of a few openings, each in a new page. There is no hardware floor here: the figure to watch is the time per 1,000 records.
 */
import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import puppeteer from "puppeteer-core";
import { check } from "../../engine/errors.ts";
import { RunSource } from "../viewer/runs.ts";
import { serveViewer } from "../viewer/server.ts";
import { writeSampleRun } from "./sample_run.ts";
import { median as middle } from "../bench/cost.ts";

export interface ViewerTiming {
  records: number;
  list_ms: number;
  measured_ms: number;
  record_ms: number;
}

const median = (xs: number[]) => middle([...xs].sort((a, b) => a - b));

/** The timings for runs of about each of `sizes` records (three methods a problem), `reps` openings each. */
export async function viewerPerf(sizes: number[], chromium: string, reps = 3): Promise<ViewerTiming[]> {
  check(
    existsSync(chromium),
    `--chromium ${chromium}: no browser there; install one with \`apt-get install chromium\` or name a Chrome or ` +
      "Chromium executable",
  );
  console.log(`\n# the viewer: a run's Records tab in ${chromium} (median of ${reps} openings)\n`);
  console.log("| records | listed (ms) | traces measured (ms) | a record opened (ms) | listed, ms per 1,000 |");
  console.log("|---:|---:|---:|---:|---:|");
  const browser = await puppeteer.launch({
    executablePath: chromium,
    args: ["--no-sandbox", "--headless=new", "--disable-gpu"],
  });
  const out: ViewerTiming[] = [];
  try {
    for (const size of sizes) {
      const { dir, records } = writeSampleRun(Math.ceil(size / 3));
      const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
      const list: number[] = [], measured: number[] = [], record: number[] = [];
      try {
        for (let rep = 0; rep < reps; rep++) {
          const page = await browser.newPage();
          const t0 = performance.now();
          await page.goto(`${viewer.url}#run=0&tab=records`);
          const rows = Math.min(records, 2000); // the page lists 2,000 at first
          await page.waitForFunction((n) => document.querySelectorAll(".record-row").length === n, {
            timeout: 0,
          }, rows);
          list.push(performance.now() - t0);
          await page.waitForFunction(() => !document.getElementById("record-count")?.textContent?.includes("…"), {
            timeout: 0,
          });
          measured.push(performance.now() - t0);
          await page.evaluate(() => (document.querySelectorAll(".record-row")[1] as HTMLElement).click());
          await page.waitForFunction(() => document.body.dataset.recordMs !== undefined, { timeout: 0 });
          record.push(Number(await page.evaluate(() => document.body.dataset.recordMs)));
          await page.close();
        }
      } finally {
        await viewer.close();
        rmSync(dirname(dir), { recursive: true, force: true });
      }
      const t = { records, list_ms: median(list), measured_ms: median(measured), record_ms: median(record) };
      out.push(t);
      console.log(
        `| ${records} | ${t.list_ms.toFixed(0)} | ${t.measured_ms.toFixed(0)} | ${t.record_ms.toFixed(0)} | ${
          (t.list_ms / records * 1000).toFixed(0)
        } |`,
      );
    }
  } finally {
    await browser.close();
  }
  return out;
}
