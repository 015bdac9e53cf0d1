/// <reference lib="dom" />
/**
 * The viewer in a real headless browser (Debian's chromium through puppeteer-core): runs, records, worker
 * columns (a LeaP run's whole text once, its inserted steps marked), the pass slider, injection strings shown as
 * text, live passes from a running bench, and 1,000 records listed (how fast: deno task perf --viewer). Screenshots go to .test-results/viewer/. Without chromium the tests are skipped with one
 * line saying how to install it (CI installs it).
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { recordKey, type TraceLine } from "../../../harness/bench/rundir.ts";
import { RunSource } from "../../../harness/viewer/runs.ts";
import { serveViewer } from "../../../harness/viewer/server.ts";
import { CHECK, INJECTIONS, writeRun } from "./run_fixture.ts";
import { runCli } from "../../helpers.ts";

const CHROMIUM = Deno.env.get("HOGWILD_CHROMIUM") ?? "/usr/bin/chromium";
const here = existsSync(CHROMIUM);
if (!here) {
  console.error(
    `tests: no browser at ${CHROMIUM}, so the viewer's browser tests are skipped; install one with ` +
      "`apt-get install chromium` (or set HOGWILD_CHROMIUM to a Chrome or Chromium executable)",
  );
}
const SHOTS = join(".test-results", "viewer");

/** The Records tab's rows once the list asked for last has come (the server filters and sends them). */
async function listed(page: Page): Promise<number> {
  await page.waitForFunction(() => document.body.dataset.listing === undefined);
  return await page.$$eval(".record-row", (r) => r.length);
}

function browserTest(name: string, fn: (browser: Browser) => Promise<void>) {
  Deno.test({
    name,
    ignore: !here,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--headless=new", "--disable-gpu"],
      });
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "1" || document.body.dataset.error, {
    timeout: 20_000,
  });
  assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null, errors.join("\n"));
  return page;
}

async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
}

browserTest("viewer: a run that cannot be read says why in the page, as text", async (browser) => {
  const { dir } = writeRun(1);
  const traces = join(dir, "traces.jsonl");
  const [first, ...rest] = readFileSync(traces, "utf8").split("\n");
  const { steps: _, ...noSteps } = JSON.parse(first);
  writeFileSync(traces, [JSON.stringify(noSteps), ...rest].join("\n"));
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  const error = console.error;
  console.error = () => {}; // the server says it on stderr: server_test's
  try {
    const page = await browser.newPage();
    await page.goto(`${viewer.url}#run=0&tab=records`);
    await page.waitForSelector("#error:not([hidden])", { timeout: 20_000 });
    assert.match(
      await page.$eval("#error", (e) => e.textContent ?? ""),
      /records\?offset=0&limit=2000: 500 error: .*traces\.jsonl:1: a trace whose "steps" is not a list/,
    );
    await shot(page, "error");
  } finally {
    console.error = error;
    await viewer.close();
  }
});

browserTest("viewer: curves, records and filters, a record's worker columns, and the pass slider", async (browser) => {
  const { dir, records } = writeRun(6);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const page = await open(browser, viewer.url);
    // the curves: two charts, with a tooltip that gives n and the interval
    await page.waitForSelector("#chart-steps svg .mark-symbol path, #chart-steps svg .mark-line path");
    assert.equal(await page.$$eval(".chart svg", (s) => s.length), 2);
    const point = await page.$("#chart-steps svg .mark-symbol path");
    assert.ok(point, "no points in the chart");
    await point.hover();
    await page.waitForSelector("#tooltip:not([hidden])");
    const tip = Object.fromEntries(
      await page.$$eval("#tooltip tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent))),
    );
    assert.deepEqual(Object.keys(tip).slice(2), ["accuracy (%)", "95% low", "95% high", "n", "seeds (k)"]);
    assert.equal(tip.n, "6");
    await shot(page, "curves");
    // the records, and the filters
    await page.goto(`${viewer.url}#run=0&tab=records`);
    await page.waitForFunction(() => document.querySelectorAll(".record-row").length > 0);
    assert.equal(await page.$$eval(".record-row", (r) => r.length), records);
    assert.equal(await page.$eval("#record-count", (e) => e.textContent), `${records} of ${records} records`);
    await page.select("#f-method", "hogwild:2");
    assert.equal(await listed(page), 6);
    await page.select("#f-verdict", "correct");
    assert.equal(await listed(page), 2); // problems 0 and 3
    await page.select("#f-verdict", "");
    await page.select("#f-method", "");
    await page.click("#f-disagree");
    assert.equal(await listed(page), records); // every problem has one right
    await shot(page, "records");
    // a record of three workers: a column each, its steps, the redundancy checks marked
    await page.select("#f-method", "hogwild:3:contiguous");
    await listed(page);
    await page.click(".record-row");
    await page.waitForFunction(() => document.querySelectorAll("h4.worker-col").length > 0);
    assert.deepEqual(await page.$$eval("h4.worker-col", (h) => h.map((e) => e.textContent)), ["Alice", "Bob", "Carol"]);
    assert.equal(await page.$$eval(".step-cell:not(.unfinished)", (c) => c.length), 9);
    assert.equal((await page.$$eval("#columns .check", (c) => c.map((e) => e.textContent)))[0], CHECK);
    // the checkpoints' solo times, as summary.md writes them
    const solo = await page.$$eval(".checkpoint-row td:last-child", (c) => c.map((e) => e.textContent));
    assert.deepEqual(solo, ["40 ms", "80 ms", "120 ms", "160 ms"]);
    // the slider: at the last pass each view holds the others' blocks and its own; at pass 1 the first steps
    await page.waitForSelector(".view-row");
    const views = () => page.$$eval(".view-row", (rows) => rows.map((r) => r.textContent));
    const atEnd = await views();
    assert.equal(atEnd.length, 3);
    assert.match(atEnd[0]!, /Bob #1–4.*Carol #1–4.*Alice #1–4/);
    await page.$eval("#pass-slider", (s) => {
      (s as HTMLInputElement).value = "1";
      s.dispatchEvent(new Event("input"));
    });
    await page.waitForFunction(() =>
      document.querySelector(".view-row")?.textContent?.includes("#1") &&
      !document.querySelector(".view-row")?.textContent?.includes("–")
    );
    assert.notDeepEqual(await views(), atEnd);
    await shot(page, "record");
  } finally {
    await viewer.close();
  }
});

browserTest(
  "viewer: graded by parts, a verdict shows the score the curves average; the filter names whole answers",
  async (browser) => {
    const { dir, records } = writeRun(3);
    // the same run graded by parts: a wrong answer has half its parts right
    const file = join(dir, "records.jsonl");
    writeFileSync(
      file,
      readFileSync(file, "utf8").trim().split("\n").map((line) => {
        const r = JSON.parse(line);
        r.grading = "parts";
        for (const c of r.checkpoints) if (c.answer !== null && !c.equal_strict) c.score_strict = c.score_lenient = 0.5;
        return JSON.stringify(r);
      }).join("\n") + "\n",
    );
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
    try {
      const page = await open(browser, `${viewer.url}#run=0&tab=records`);
      await page.waitForFunction(() => document.querySelectorAll(".record-row").length > 0);
      const verdicts = await page.$$eval(".record-row td:nth-child(6)", (c) => c.map((e) => e.textContent));
      const right = verdicts.filter((v) => v === "✓ 1").length;
      assert.equal(verdicts.filter((v) => v === "✗ 0.5").length, records - right, verdicts.join());
      assert.deepEqual(
        await page.$$eval("#f-verdict option", (o) => o.map((e) => e.textContent)),
        ["all", "whole answer right", "whole answer not right", "some parts right, not all"],
      );
      await page.select("#f-verdict", "partial");
      assert.equal(await listed(page), records - right);
      await page.select("#f-verdict", "correct");
      assert.equal(await listed(page), right);
      // a record's checkpoints: strict and lenient each with its score
      await page.select("#f-verdict", "incorrect");
      assert.equal(await listed(page), records - right);
      await page.click(".record-row");
      await page.waitForFunction(() => document.querySelectorAll(".checkpoint-row").length > 0);
      const last = await page.$$eval(".checkpoint-row:last-child td", (c) => c.map((e) => e.textContent));
      assert.deepEqual(last.slice(4, 6), ["✗ 0.5", "✗ 0.5"]);
    } finally {
      await viewer.close();
    }
  },
);

browserTest("viewer: the tab of a run being written follows it, the filters kept", async (browser) => {
  const { dir, records } = writeRun(3);
  // run.json plans every record; the bench has written 5 so far
  const file = join(dir, "records.jsonl"), lines = readFileSync(file, "utf8").trim().split("\n");
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
  run.planned = lines.map((l) => recordKey(JSON.parse(l)));
  writeFileSync(join(dir, "run.json"), JSON.stringify(run));
  writeFileSync(file, lines.slice(0, 5).join("\n") + "\n");
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const page = await open(browser, `${viewer.url}#run=0&tab=curves`);
    await page.waitForSelector("#chart-steps svg");
    const svgText = await page.$$eval("#chart-steps svg text", (t) => t.map((e) => e.textContent).join(" "));
    assert.match(svgText, /5 of 9 planned records/);
    appendFileSync(file, lines.slice(5, 7).join("\n") + "\n");
    await page.waitForFunction(
      () =>
        /7 of 9 planned/.test([...document.querySelectorAll("#chart-steps svg text")].map((e) => e.textContent).join()),
      { timeout: 15_000 },
    );
    assert.match(
      await page.$eval("#run-select", (s) => (s as HTMLSelectElement).selectedOptions[0].textContent!),
      /7 records/,
    );
    // the records tab, a filter chosen: the rows that come are listed under it
    await page.goto(`${viewer.url}#run=0&tab=records`);
    await page.waitForFunction(() => document.querySelectorAll(".record-row").length === 7);
    await page.select("#f-method", "sequential");
    assert.equal(await listed(page), 2);
    appendFileSync(file, lines.slice(7).join("\n") + "\n");
    await page.waitForFunction(
      (n) => document.querySelector("#record-count")?.textContent?.endsWith(`of ${n} records`),
      { timeout: 15_000 },
      records,
    );
    assert.equal(await page.$eval("#f-method", (s) => (s as HTMLSelectElement).value), "sequential");
    assert.equal(await page.$$eval(".record-row", (r) => r.length), 3);
  } finally {
    await viewer.close();
  }
});

browserTest("viewer: model text with markup shows as text, never runs", async (browser) => {
  const { dir } = writeRun(1);
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const page = await open(browser, `${viewer.url}#run=0&tab=records`);
    await page.waitForFunction(() => document.querySelectorAll(".record-row").length > 0);
    await page.click(".record-row[data-key*='hogwild:2']");
    await page.waitForFunction(() => document.querySelectorAll(".step-cell").length > 0);
    const problem = await page.$eval("#problem", (e) => e.textContent ?? "");
    const columns = await page.$eval("#columns", (e) => e.textContent ?? "");
    for (const s of INJECTIONS) {
      assert.ok(problem.includes(s), `the problem does not show ${s} as text`);
      assert.ok(columns.includes(s), `the steps do not show ${s} as text`);
    }
    assert.equal(
      await page.$$eval("main img, main script, main svg[onload], main a[href^='javascript']", (e) => e.length),
      0,
    );
    await new Promise((ok) => setTimeout(ok, 300));
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: string }).__pwned ?? null), null);
  } finally {
    await viewer.close();
  }
});

browserTest(
  "viewer: a LeaP record's columns show each path's whole text once, in order, the harness's text marked",
  async (browser) => {
    const dir = join(mkdtempSync(join(tmpdir(), "hogwild-view-leap-")), "run");
    const args = ["--methods", "leap:2:cut:every=16:summary=12", "--budgets", "128", "--count", "1", "--out", dir];
    const b = await runCli("cli/bench.ts", args);
    assert.equal(b.code, 0, b.stderr);
    const trace = JSON.parse(readFileSync(join(dir, "traces.jsonl"), "utf8")) as TraceLine;
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
    try {
      const page = await open(browser, `${viewer.url}#run=0&tab=records`);
      await page.waitForFunction(() => document.querySelectorAll(".record-row").length > 0);
      await page.click(".record-row");
      await page.waitForFunction(() => document.querySelectorAll(".step-cell").length > 0);
      // the grid's cells row by row, a cell per path: each path's cells, read down its column, are its text
      const cells = await page.$$eval(
        "#columns > div.worker-col",
        (c) => c.map((e) => e.querySelector("pre")?.textContent ?? ""),
      );
      trace.workers.forEach((text, w) => {
        assert.equal(
          cells.filter((_, i) => i % trace.workers.length === w).join(""),
          text,
          `path ${w}`,
        );
      });
      const inserted = await page.$$eval(".step-cell.inserted .meta", (m) => m.map((e) => e.textContent));
      assert.equal(inserted.length, trace.steps.filter((s) => s.inserted).length);
      assert.ok(inserted.length > 0 && inserted.every((m) => m?.includes("inserted by the harness")), inserted.join());
    } finally {
      await viewer.close();
    }
  },
);

browserTest(
  "viewer: 1,000 records are listed, and a click opens one (how fast: deno task perf --viewer)",
  async (browser) => {
    const { dir } = writeRun(334); // 1,002 records
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
    try {
      const page = await browser.newPage();
      await page.goto(`${viewer.url}#run=0&tab=records`);
      await page.waitForFunction(() => document.querySelectorAll(".record-row").length === 1002, { timeout: 30_000 });
      // the record page, as a user opens it: a click (the second record, not yet read)
      await page.evaluate(() => (document.querySelectorAll(".record-row")[1] as HTMLElement).click());
      await page.waitForFunction(() => document.body.dataset.recordMs !== undefined, { timeout: 30_000 });
      // rows are listed problem by problem, three methods each: the second is problem 0's second method
      assert.equal(
        await page.$eval("#record-title", (e) => e.textContent),
        "synthetic · synthetic-0 · hogwild:3:contiguous · seed 1",
      );
    } finally {
      await viewer.close();
    }
  },
);

browserTest("viewer: a list past 2,000 records says how many it lists and lists more on request", async (browser) => {
  const { dir, records } = writeRun(670); // 2,010 records
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  try {
    const page = await browser.newPage();
    // the rows each call of the list brought: the page asks for the rows it lists, never the whole run
    const sent: number[] = [];
    page.on("response", async (r) => {
      if (/\/api\/runs\/0\/records/.test(r.url())) sent.push((await r.json()).records.length);
    });
    await page.goto(`${viewer.url}#run=0&tab=records`);
    await page.waitForFunction(() => document.querySelectorAll(".record-row").length > 0, { timeout: 10_000 });
    await listed(page);
    const count = () => page.$eval("#record-count", (e) => e.textContent);
    assert.equal(await count(), `${records} of ${records} records; the first 2000 listed`);
    assert.equal(await page.$$eval(".record-row", (r) => r.length), 2000);
    await page.click("#more-records");
    assert.equal(await listed(page), records);
    assert.equal(await count(), `${records} of ${records} records`);
    assert.equal(await page.$eval("#more-records", (e) => (e as HTMLElement).hidden), true);
    assert.ok(sent.length > 0 && sent.every((n) => n <= 2000), `rows a call: ${sent.join(", ")}`);
    assert.ok(sent.includes(records - 2000), `the rows past the first 2000 asked for alone: ${sent.join(", ")}`);
  } finally {
    await viewer.close();
  }
});

browserTest("viewer, live: a running bench's passes arrive in the page as they happen", async (browser) => {
  const out = join(mkdtempSync(join(tmpdir(), "hogwild-live-")), "run");
  const bench = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/bench.ts", "--out", out, "--view", "--view-port", "0", "--budgets", "8:96:8"],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    // the address is on stderr
    const reader = bench.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "", url: string | undefined;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the bench ended without a viewer:\n${seen}`);
      seen += value;
      url = /watch the workers at (http:\/\/\S+)/.exec(seen)?.[1];
    }
    (async () => { // keep draining stderr
      while (!(await reader.read()).done);
    })();
    const page = await open(browser, url);
    await page.waitForFunction(() => Number(document.querySelector(".live-run")?.getAttribute("data-pass")) >= 2, {
      timeout: 60_000,
    });
    const first = await page.$eval(
      ".live-run",
      (e) => ({ key: e.getAttribute("data-key"), pass: Number(e.getAttribute("data-pass")) }),
    );
    await page.waitForFunction(
      (key, pass) =>
        Number(document.querySelector(`.live-run[data-key="${CSS.escape(key)}"]`)?.getAttribute("data-pass")) > pass,
      { timeout: 30_000 },
      first.key!,
      first.pass,
    );
    assert.ok((await page.$$eval(".live-run pre", (p) => p.map((e) => e.textContent ?? "").join(""))).length > 0);
    await shot(page, "live");
    // the bench killed: the page says its feed is lost rather than looking live
    bench.kill("SIGKILL");
    await bench.status;
    await page.waitForFunction(() => /feed is lost/.test(document.querySelector("#live-status")?.textContent ?? ""), {
      timeout: 30_000,
    });
  } finally {
    try {
      bench.kill("SIGKILL");
    } catch { /* already ended */ }
    await bench.status;
  }
});

browserTest(
  "viewer: the Records tab lists at once and fills in its measures while the page stays on it",
  async (browser) => {
    const { dir, records } = writeRun(4);
    // a trace measured a call: the page asks again until every record's measures are in
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0, measureMs: 0 });
    try {
      const page = await open(browser, `${viewer.url}#run=0&tab=records`);
      await page.waitForFunction(
        (n) => document.getElementById("record-count")?.textContent === `${n} of ${n} records`,
        { timeout: 20_000 },
        records,
      );
      const cells = await page.$$eval(".record-row td:nth-child(9)", (c) => c.map((e) => e.textContent));
      assert.equal(cells.length, records);
      assert.ok(cells.every((c) => c !== "…"), `every overlap measured: ${cells.join(" ")}`);
      assert.ok(cells.some((c) => /^\d\.\d\d$/.test(c ?? "")), "overlaps shown as numbers");
    } finally {
      await viewer.close();
    }
  },
);

browserTest(
  "viewer, live: a page cut off for falling behind reconnects and shows the runs in flight from a fresh snapshot",
  async (browser) => {
    const { dir } = writeRun(1);
    // no slack at all: every event published after a page's snapshot ends that page's feed
    const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0, liveQueueBytes: 0 });
    try {
      const page = await open(browser, `${viewer.url}#run=0&tab=live`);
      // connected: the feed is open before anything is published, so that the page is cut off
      await page.waitForFunction(() =>
        /Waiting for a run/.test(document.querySelector("#live-status")?.textContent ?? "")
      );
      const head = { task: "t", problem_id: "p", method: "hogwild:2", seed: 1, names: ["Alice", "Bob"] };
      viewer.publish({ type: "start", key: "k", run: 0, ...head });
      const texts = ["", ""];
      for (const [i, more] of [[0, "Hel"], [1, "Wo"], [0, "lo"], [1, "rld"]] as const) {
        texts[i] += more;
        const append = texts.map((_, j) => j === i ? more : "");
        viewer.publish({ type: "pass", key: "k", run: 0, pass: 1, append, steps: [], names: head.names });
      }
      // each cut page reconnects (EventSource, a second later) and is sent every run in flight whole
      await page.waitForFunction(
        (want) => [...document.querySelectorAll(".live-run pre")].map((p) => p.textContent).join("|") === want,
        { timeout: 30_000 },
        texts.join("|"),
      );
      assert.equal(await page.$$eval(".live-run", (r) => r.length), 1, "one box for the run, not one a connection");
    } finally {
      await viewer.close();
    }
  },
);

browserTest(
  "viewer: a page opened before bench --view's run folder exists waits for it, then follows the run",
  async (browser) => {
    const { dir, records } = writeRun(2);
    const later = join(mkdtempSync(join(tmpdir(), "hogwild-view-later-")), "run");
    const viewer = serveViewer({ runs: [new RunSource(later, { waited: true })], port: 0 });
    try {
      const page = await open(browser, `${viewer.url}#run=0&tab=records`);
      assert.match(await page.$eval("#run-info", (e) => e.textContent ?? ""), /waiting for the run/);
      // the bench made its folder (its model loaded): the page follows it without a reload
      Deno.renameSync(dir, later);
      await page.waitForFunction(
        (n) => document.querySelectorAll(".record-row").length === n,
        { timeout: 30_000 },
        records,
      );
      assert.doesNotMatch(await page.$eval("#run-info", (e) => e.textContent ?? ""), /waiting/);
    } finally {
      await viewer.close();
    }
  },
);

browserTest("viewer: a run that cannot be read is asked again, and shown once it is mended", async (browser) => {
  const { dir, records } = writeRun(2);
  const run = join(dir, "run.json"), good = readFileSync(run, "utf8");
  writeFileSync(run, '{"spec": ');
  const viewer = serveViewer({ runs: [new RunSource(dir)], port: 0 });
  const error = console.error;
  console.error = () => {}; // the server says it on stderr: server_test's
  try {
    const page = await browser.newPage();
    await page.goto(`${viewer.url}#run=0&tab=records`);
    await page.waitForSelector("#error:not([hidden])", { timeout: 20_000 });
    assert.match(await page.$eval("#run-info", (e) => e.textContent ?? ""), /cannot be read: .*not valid JSON/);
    writeFileSync(run, good);
    await page.waitForFunction(
      (n) => document.querySelectorAll(".record-row").length === n,
      { timeout: 30_000 },
      records,
    );
    assert.equal(
      await page.$eval("#error", (e) => (e as HTMLElement).hidden),
      true,
      "the error is gone with its cause",
    );
  } finally {
    console.error = error;
    await viewer.close();
  }
});
