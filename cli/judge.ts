/**
 * deno task judge RUN_DIR… --judge URL|MODEL: the collaboration judge (the paper's §4.3 and Fig. 7). Each trace
 * with two or more writers is scored on a 1–6 rubric (harness/generation/prompts/judge.txt) by an OpenAI-compatible
 * endpoint or a model the engine runs, on each worker's first N tokens laid out one worker after the other, in
 * several judge runs whose scores are averaged. Replies go to judge.jsonl beside the records (a killed command
 * resumes), and to a cache on disk (a second command asks nothing). Then the mean per method or setting with
 * its 95% interval, the chart (--chart) and the agreement with human scores (--human).
 */
import { check, MAX_TIMER_MS, parseDecimal, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { checkOutputFiles, checkPathFlags, pathExists, pathInfo } from "../engine/files.ts";
import { scoreChartFiles, writeScoreChart } from "../harness/judge/chart.ts";
import { unfinishedNote } from "../harness/report/charts.ts";
import { checkFoldersOnce, checkReadFolder } from "../harness/bench/rundir.ts";
import { cachedJudge, checkCacheFolder } from "../harness/judge/cache.ts";
import { endpointJudge, endpointUrl, type Judge, MOST_WAIT_MS } from "../harness/judge/client.ts";
import { localJudge } from "../harness/judge/local.ts";
import { samplingRange } from "../engine/sampler.ts";
import { loadJudgeTemplate } from "../harness/judge/prompt.ts";
import { agreementText, checkHumanTraces, humanAgreement, readHumanScores } from "../harness/judge/scores.ts";
import { judgeAll, judgedBars, pendingWork } from "../harness/judge/work.ts";
import { peersRead } from "../harness/generation/methods.ts";

const USAGE = `usage: deno task judge RUN_DIR… --judge URL|MODEL [flags]
  --judge URL --judge-model NAME   an OpenAI-compatible endpoint (http…/v1); the key from the variable
                                   --api-key-env names [OPENAI_API_KEY] (none sent when it is unset)
  --judge MODEL                    a model folder, hub id or random:SHAPE run by the engine [--device cpu|cuda]
  --runs N [3]                     judge runs per trace, averaged
  --prefix-tokens N [4096]         each worker's first N tokens (the run's tokenizer, or --tokenizer DIR)
  --judge-prompt FILE              the rubric's template [harness/generation/prompts/judge.txt]
  --methods LIST                   the methods judged [every one with two or more writers; --settings' own]
  --settings LABEL=METHOD,…        name the bars of the summary and chart (Fig. 7: docs/judge.md)
  --chart FILE.svg                 the chart of mean scores (and FILE.png)
  --human FILE                     human scores (JSONL: task, problem_id, method, seed, score): Pearson's r
  --temperature T  --max-tokens N [1024]  --concurrency N [4]  --retries N [6]  --backoff-ms N [1000]
  --timeout-s S [120]  --cache DIR [results/judge-cache]`;

export const OPTIONS = {
  judge: { type: "string" },
  "judge-model": { type: "string" },
  "api-key-env": { type: "string", default: "OPENAI_API_KEY" },
  device: { type: "string", default: "cpu" },
  runs: { type: "string", default: "3" },
  "prefix-tokens": { type: "string", default: "4096" },
  tokenizer: { type: "string" },
  "judge-prompt": { type: "string" },
  methods: { type: "string" },
  settings: { type: "string" },
  chart: { type: "string" },
  human: { type: "string" },
  temperature: { type: "string" },
  "max-tokens": { type: "string", default: "1024" },
  concurrency: { type: "string", default: "4" },
  retries: { type: "string", default: "6" },
  "backoff-ms": { type: "string", default: "1000" },
  "timeout-s": { type: "string", default: "120" },
  cache: { type: "string", default: "results/judge-cache" },
} as const;

/** `LABEL=METHOD,…` in order; labels and methods each once. */
export function parseSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const part of text.split(",")) {
    const m = /^([^=]+)=(.+)$/.exec(part.trim());
    check(m, `--settings: expected LABEL=METHOD,…, got "${part}"`);
    const [label, method] = [m[1].trim(), m[2].trim()];
    // settings maps a method to its label: a label twice would draw two bars of one name over each other, a
    // method twice would keep its last label only
    check(
      ![...settings.values()].includes(label),
      `--settings: the label "${label}" is given twice (each bar's label once)`,
    );
    check(!settings.has(method), `--settings: the method "${method}" is given twice (each method under one label)`);
    settings.set(method, label);
  }
  return settings;
}

async function main() {
  const { values: f, positionals: dirs } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, {
    judge: "model folder, hub id or random:SHAPE",
    tokenizer: "folder",
    "judge-prompt": "file",
    chart: "file",
    human: "file",
    cache: "folder",
  });
  dirs.forEach(checkReadFolder);
  check(dirs.length >= 1, "judge: name at least one run folder (--help for the usage)");
  check(f.judge, "judge: --judge URL|MODEL is required (an OpenAI-compatible endpoint, or a model the engine runs)");
  checkFoldersOnce(dirs, "judge");
  const endpoint = /^https?:\/\//.test(f.judge);
  if (endpoint) endpointUrl(f.judge); // a query or a user in it refused before any work
  check(!endpoint || f["judge-model"], `--judge ${f.judge}: an endpoint needs --judge-model NAME`);
  check(endpoint || !f["judge-model"], "--judge-model: only with an endpoint (--judge http…/v1)");
  check(f.device === "cpu" || f.device === "cuda", `--device: expected cpu or cuda, got "${f.device}"`);
  // a name no variable can have makes Deno.env.get throw, once the work is planned
  check(
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(f["api-key-env"]),
    `--api-key-env: expected an environment variable's name (letters, digits and _, not first a digit), got ${
      JSON.stringify(f["api-key-env"])
    }`,
  );
  const runs = parseInteger(f.runs, "--runs", 1, 100);
  const prefix = parseInteger(f["prefix-tokens"], "--prefix-tokens", 1);
  const maxTokens = parseInteger(f["max-tokens"], "--max-tokens", 1, 1 << 20);
  const concurrency = parseInteger(f.concurrency, "--concurrency", 1, 1024);
  const retries = parseInteger(f.retries, "--retries", 0, 100);
  const backoffMs = parseInteger(f["backoff-ms"], "--backoff-ms", 0, MOST_WAIT_MS);
  const timeoutMs = Math.round(1000 * parseDecimal(f["timeout-s"], "--timeout-s"));
  check(
    timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS,
    `--timeout-s: expected more than 0 and at most ${Math.floor(MAX_TIMER_MS / 1000)}, got "${f["timeout-s"]}"`,
  );
  // where the replies are cached, the human scores and the chart: checked before any reply is asked for
  check(pathInfo(f.cache, "--cache", "folder")?.isDirectory !== false, `--cache ${f.cache}: not a folder`);
  const human = f.human === undefined ? undefined : readHumanScores(f.human);
  if (f.chart !== undefined) {
    // the chart's files too: found bad after the judging, the command's report would be lost
    const inputs = { "--human": f.human, "--judge-prompt": f["judge-prompt"] };
    const [svg, png] = scoreChartFiles(f.chart);
    checkOutputFiles({ "--chart": f.chart }, inputs); // the name itself (a device, a path through a file)
    checkOutputFiles({ "--chart": svg, "--chart (its .png)": png }, inputs);
  }
  const temperature = f.temperature === undefined ? undefined : parseDecimal(f.temperature, "--temperature");
  // OpenAI's API takes 0 to 2; past it a server refuses every request, or a local judge samples noise
  check(
    temperature === undefined || temperature <= 2,
    `--temperature: expected a number from 0 to 2 (as OpenAI's API), got "${f.temperature}"`,
  );
  // a local judge samples with the engine's sampler: its range (below 1e-6, 1/T overflows), refused before any work
  const range = endpoint || temperature === undefined ? undefined : samplingRange("temperature", temperature);
  check(!range, `--temperature: expected ${range?.expected} for a local judge, got "${f.temperature}"${range?.note}`);
  const template = loadJudgeTemplate(f["judge-prompt"]);
  const settings = f.settings === undefined ? undefined : parseSettings(f.settings);
  const methods = f.methods?.split(",") ?? (settings ? [...settings.keys()] : undefined);
  // a setting whose method --methods leaves out would be a bar of no traces
  for (const [method, label] of f.methods && settings ? settings : []) {
    check(
      methods!.includes(method),
      `--settings ${label}=${method}: the method ${method} is not among --methods (${f.methods}): its bar would ` +
        "have no traces",
    );
  }
  // A local model's folder by its real path: "/abs/m", "rel/m/" and a link to it are one judge (its lines and its
  // cache), as an endpoint's URL is one however it is spelt; a hub id or random:SHAPE as given.
  const local = endpoint ? undefined : pathExists(f.judge) ? Deno.realPathSync(f.judge) : f.judge;
  // How it samples is part of what judged: another temperature or reply limit is another judge (lines and cache).
  const judgeId = [
    local ?? f["judge-model"]!,
    ...(temperature === undefined ? [] : [`temperature=${temperature}`]),
    ...(maxTokens === 1024 ? [] : [`max-tokens=${maxTokens}`]),
  ].join(" ");
  // where it runs is part of the judge: two endpoints serving one model name (two local servers' "default") are two
  const where = local === undefined ? endpointUrl(f.judge) : `local:${local}`;
  const line = { judge: judgeId, where, prompt_version: template.version, prefix_tokens: prefix };
  // the key is read here, at the command line's edge, and only passed on
  const apiKey = Deno.env.get(f["api-key-env"])?.trim() || undefined;
  // a header carries printable ASCII only: anything else fails every request, and would read as no connection
  check(
    !endpoint || !apiKey || /^[\x20-\x7e]+$/.test(apiKey),
    `--api-key-env ${f["api-key-env"]}: the key holds characters an HTTP header cannot carry (printable ASCII only)`,
  );

  // Every trace × judge run without a line yet, its prompt built once per trace.
  const { files, traces, keys, work, empty, unfinished: left } = pendingWork(dirs, {
    runs,
    line,
    template,
    methods,
    tokenizer: f.tokenizer,
  });
  for (const e of empty) console.error(`judge: ${e}`);

  const failures: string[] = [];
  // each folder's judge.jsonl is this command's (judge.lock) until its replies are in
  try {
    // a human score that could pair with two folders' traces: refused before anything is paid for
    if (human) checkHumanTraces(f.human!, human, traces);
    if (work.length) await judgeWork();
  } finally {
    for (const file of files.values()) file.close();
  }

  async function judgeWork() {
    // replies are paid for once: a cache that cannot take them is found now, not after the first reply
    checkCacheFolder(f.cache);
    if (endpoint && !apiKey) {
      console.error(`judge: ${f["api-key-env"]} is not set: requests go without a key (--api-key-env names another)`);
    }
    const judge: Judge = endpoint
      ? endpointJudge({
        url: f.judge!,
        // the model's own name (judgeId adds how it samples, for the lines and the cache)
        model: f["judge-model"]!,
        apiKey,
        keyVariable: f["api-key-env"],
        temperature,
        maxTokens,
        timeoutMs,
        retries,
        backoffMs,
        log: (l) => console.error(l),
      })
      : await localJudge(local!, {
        device: f.device as "cpu" | "cuda",
        temperature,
        maxTokens,
        texts: [{ where: f["judge-prompt"] ? `--judge-prompt ${template.file}` : template.file, text: template.text }],
      });
    const cached = cachedJudge({ ...judge, id: judgeId }, f.cache, template.version, (l) => console.error(l));
    console.error(`judge: ${work.length} replies to get from ${judgeId} (${template.version})`);
    const { got, failures: failed, unjudgeable, empty: blank } = await judgeAll(
      cached,
      work,
      endpoint ? concurrency : 1,
    );
    for (const f of failed) failures.push(f);
    if (unjudgeable.length) {
      console.error(
        `judge: ${unjudgeable.length} prompts this judge cannot read, recorded so (no score; judge them with another model):`,
      );
      for (const x of unjudgeable.slice(0, 10)) console.error(`  ${x}`);
    }
    if (blank.length) {
      console.error(`judge: ${blank.length} runs not asked: every worker's text is empty (recorded without a score):`);
      for (const x of blank.slice(0, 10)) console.error(`  ${x}`);
    }
    console.error(`judge: ${got} replies recorded (${cached.asked} asked, ${got - cached.asked} from ${f.cache})`);
    if (cached.unkept) {
      console.error(`judge: ${cached.unkept} of them not kept in --cache ${f.cache} (recorded in judge.jsonl only)`);
    }
  }

  const { bars, all, unfinished } = judgedBars(dirs, files, traces, {
    keys,
    runs,
    settings,
    unfinished: left,
  });
  // the table's settings, as the chart's, may stand on different problems: said, as the bench's plots say it
  if (unfinished.length) console.error(`judge: ${unfinishedNote(unfinished)}`);
  console.log(
    `| run | setting | traces | mean score | 95% interval | traces without a score | runs without a score | ` +
      `traces short of ${runs} runs | problems |`,
  );
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  for (const b of bars) {
    const ci = b.lo === undefined ? "" : `${b.lo.toFixed(2)}–${b.hi!.toFixed(2)}`;
    console.log(
      `| ${b.run} | ${b.setting} | ${b.n} | ${b.n ? b.mean.toFixed(2) : ""} | ${ci} | ${b.unscored} | ` +
        `${b.runsUnscored} | ${b.incomplete} | ${b.problems} |`,
    );
  }
  // The rubric tells the judge that each worker could read the others' text so far: said of the methods for which
  // that is not so (their scores are the judge's reading of such traces under that framing; docs/judge.md).
  const unlike = [...new Map(bars.filter((b) => b.n + b.unscored > 0).map((b) => [b.method, b])).values()]
    .flatMap((b) => {
      const reads = peersRead(b.method);
      const name = b.setting === b.method ? b.method : `${b.setting} (${b.method})`;
      if (reads === undefined || reads === "all") return [];
      return [`${name}: its workers read ${reads === "nothing" ? "nothing of each other" : `only ${reads}`}`];
    });
  if (unlike.length) {
    console.log(
      `note: the rubric tells the judge that each worker could read what the others had written so far; not so ` +
        `for ${unlike.join("; ")}. Read their scores as the judge's reading of such traces under that framing, ` +
        "not as measured collaboration (docs/judge.md)",
    );
  }
  const short = bars.reduce((n, b) => n + b.incomplete, 0);
  if (f.chart && short) {
    // A chart says "the mean of N runs per trace": not drawn over traces the judge has not finished.
    console.error(`judge: --chart not written: ${short} traces have fewer than ${runs} judge runs recorded`);
  } else if (f.chart) {
    const title = `Collaboration score (${judgeId}, ${runs} runs per trace)`;
    const written = await writeScoreChart(f.chart, bars, title, unfinished);
    console.error(`judge: wrote ${written.join(", ")}`);
  }
  if (human) {
    console.log(agreementText(humanAgreement(human, all, runs)));
  }
  if (failures.length) {
    console.error(`judge: ${failures.length} replies failed (the same command tries them again):`);
    for (const x of failures.slice(0, 10)) console.error(`  ${x}`);
    Deno.exitCode = 1;
  }
}

if (import.meta.main) runMain(main);
