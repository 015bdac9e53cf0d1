/**
 * Writes the demo model's tokenizer files into its folder and its training examples: the chains task's
 * problems run through the real harness (every method of the default bench, two to four workers) with the
 * teacher (teacher.ts) in the model's place.
 *
 *   deno run -A tools/demo-model/make-data.ts [--problems 3000] [--seed 1] [--per-problem K]
 *                                             [--methods sequential,…] [--slips P] [--runs]
 *                                             [--out tools/demo-model/data/train.jsonl]
 *
 * --slips P writes that share of the teacher's part-working steps as slips (teacher.ts), unrecorded, so that
 * later decisions learn to recover from a model's mistakes. --runs writes each run whole as the shared cache
 * held it (teacher.ts RunRecord), for training through the cache (train.py), instead of one example per
 * decision.
 */
import { replaceFile } from "../../engine/files.ts";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KVCache } from "../../engine/cache.ts";
import { check, parseDecimal, parseFlags, parseInteger, runMain } from "../../engine/errors.ts";
import { TextTokenizer } from "../../engine/tokenizer.ts";
import { newSolver, parseMethod, type RunContext } from "../../harness/generation/methods.ts";
import { runAll } from "../../harness/generation/schedule.ts";
import { chainProblems } from "../../tasks/chains.ts";
import { registerControl } from "./control.ts";
import { type Example, type RunRecord, Teacher } from "./teacher.ts";
import { projectTexts, SPECIAL, tokenizerConfig, tokenizerJson, vocabulary } from "./tokenizer.ts";

export const MODEL_DIR = fileURLToPath(new URL("../../engine/models/hogwild-demo/", import.meta.url));
/** The short prompts the demo model was trained with (the default bench passes them with it). */
export const PROMPTS = {
  collab: join(MODEL_DIR, "prompts", "collab.txt"),
  plain: join(MODEL_DIR, "prompts", "plain.txt"),
};
/** The methods whose runs the teacher plays (each problem runs all of them). */
export const METHODS = ["hogwild:2", "hogwild:3", "hogwild:4", "sequential", "sc:2", "hogwild:2:contiguous"];

/** The tokenizer files of the model folder; the tokenizer they make. */
export function writeTokenizer(dir = MODEL_DIR): TextTokenizer {
  mkdirSync(dir, { recursive: true });
  replaceFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson(vocabulary(projectTexts())), null, 2) + "\n");
  replaceFile(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig(), null, 2) + "\n");
  replaceFile(
    join(dir, "generation_config.json"),
    JSON.stringify({ eos_token_id: SPECIAL.indexOf("<|end|>"), do_sample: false }, null, 2) + "\n",
  );
  return TextTokenizer.fromDir(dir)!;
}

/**
 * Problems that evaluations use and training must never see: every chains problem of seeds 0–100 with
 * digits 1–6, the first 1,000 of each (a bench's problems come from its smallest seed), for the part counts
 * training draws (a problem's text lists its parts, so other counts can never equal one).
 */
export function heldOut(partCounts: readonly number[]): Set<string> {
  const texts = new Set<string>();
  for (let seed = 0; seed <= 100; seed++) {
    for (const parts of partCounts) {
      for (let digits = 1; digits <= 6; digits++) {
        for (const p of chainProblems({ count: 1000, seed, parts, digits })) texts.add(p.text);
      }
    }
  }
  return texts;
}

const PARTS = [2, 3, 4];

/**
 * The teacher played through the harness on `problems` training problems (each with every method of
 * `methods`, random budgets): one Teacher per problem, holding its examples and its runs.
 */
async function* teach(
  tok: TextTokenizer,
  problems: number,
  seed: number,
  methods: readonly string[],
  slips: number,
  next: () => number,
): AsyncGenerator<Teacher> {
  const held = heldOut(PARTS);
  let skipped = 0;
  for (let i = 0; i < problems + skipped; i++) {
    const parts = PARTS[Math.floor(next() * PARTS.length)], digits = 1 + Math.floor(next() * 3);
    // training problems come from seeds far above any evaluation's, and never equal one
    const s = 1_000_000 + seed * 100_003 + i;
    // the generator's seed as the shipped model's problems were drawn (a float product, rounded past 2^53; the
    // bench's mix is exact): retrain.sh draws the same problems
    const [problem] = chainProblems({ count: 1, seed: s, parts, digits }, s * 0x85ebca6b + parts * 977 + digits);
    if (held.has(problem.text)) {
      skipped++;
      continue;
    }
    const budgets = [8, 16, 32, 48, 64, 96, 128].filter(() => next() < 0.5);
    const ctx: RunContext = {
      tokenizer: tok,
      generation: { eosTokenIds: [0], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 },
      budgets: budgets.length ? budgets : [48],
      collabTemplate: PROMPTS.collab,
      plainTemplate: PROMPTS.plain,
      finisherTokens: 24,
      redundancyEvery: next() < 0.3 ? 64 : 1024,
    };
    const teacher = new Teacher(tok, slips, next);
    const cache = new KVCache({ bytes: 0, pages: 65536, pageSize: 16 });
    const runs = methods.map((m) => newSolver(cache, parseMethod(m), problem.text, 1, ctx));
    await runAll(teacher, cache, runs);
    yield teacher;
  }
  if (skipped) console.error(`make-data: ${skipped} problems equal to evaluation problems were left out`);
}

const draw = (seed: number) => {
  let rand = seed >>> 0;
  return () => (rand = (rand * 1664525 + 1013904223) >>> 0) / 2 ** 32;
};

/**
 * The teacher's examples for `problems` problems (each with every method, random budgets), at most
 * `perProblem` of each problem's (a seeded sample: many distinct problems teach more than many views of few).
 */
export async function examples(
  tok: TextTokenizer,
  problems: number,
  seed: number,
  perProblem = Infinity,
  methods: readonly string[] = METHODS,
  slips = 0,
): Promise<Example[]> {
  const out: Example[] = [], next = draw(seed);
  for await (const teacher of teach(tok, problems, seed, methods, slips, next)) {
    if (teacher.examples.length <= perProblem) out.push(...teacher.examples);
    else {
      const mine = teacher.examples.map((e) => ({ e, key: next() })).sort((a, b) => a.key - b.key);
      out.push(...mine.slice(0, perProblem).map((m) => m.e));
    }
  }
  return out;
}

/** The teacher's runs for `problems` problems as the shared cache held them (RunRecord), one per run. */
export async function runRecords(
  tok: TextTokenizer,
  problems: number,
  seed: number,
  methods: readonly string[] = METHODS,
  slips = 0,
): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for await (const teacher of teach(tok, problems, seed, methods, slips, draw(seed))) {
    // the header blocks the harness writes alone are runs too, with nothing to learn: they join the runs that
    // view them
    out.push(...[...teacher.runs.values()].filter((r) => r.target.some((t) => t >= 0)));
  }
  return out;
}

async function main() {
  const { values: f } = parseFlags(
    {
      problems: { type: "string", default: "3000" },
      seed: { type: "string", default: "1" },
      "per-problem": { type: "string" },
      methods: { type: "string" },
      slips: { type: "string", default: "0" },
      runs: { type: "boolean", default: false },
      out: { type: "string", default: fileURLToPath(new URL("./data/train.jsonl", import.meta.url)) },
    },
    "usage: deno run -A tools/demo-model/make-data.ts [--problems N] [--seed S] [--per-problem K] [--methods LIST] [--slips P] [--runs] [--out FILE]",
  );
  registerControl(); // its views (the others' unfinished steps out) are trained on, as interleaved ones are
  const methods = f.methods?.split(",") ?? METHODS;
  for (const m of methods) parseMethod(m);
  const slips = parseDecimal(f.slips, "--slips");
  check(slips < 1, `--slips: expected a share in [0, 1), got "${f.slips}"`);
  const problems = parseInteger(f.problems, "--problems", 1), seed = parseInteger(f.seed, "--seed");
  const tok = writeTokenizer();
  mkdirSync(dirname(f.out), { recursive: true });
  if (f.runs) {
    check(f["per-problem"] === undefined, "--per-problem: a run is written whole with --runs");
    const runs = await runRecords(tok, problems, seed, methods, slips);
    replaceFile(f.out, runs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const tokens = runs.reduce((n, r) => n + r.ids.length, 0);
    const targets = runs.reduce((n, r) => n + r.target.filter((t) => t >= 0).length, 0);
    console.error(`make-data: ${runs.length} runs, ${tokens} tokens (${targets} to learn) → ${f.out}`);
    return;
  }
  const ex = await examples(
    tok,
    problems,
    seed,
    f["per-problem"] === undefined ? Infinity : parseInteger(f["per-problem"], "--per-problem", 1),
    methods,
    slips,
  );
  replaceFile(f.out, ex.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const tokens = ex.reduce((n, e) => n + e.ids.length, 0), targets = ex.reduce((n, e) => n + e.ids.length - e.start, 0);
  console.error(
    `make-data: ${ex.length} examples, ${tokens} tokens (${targets} to learn), longest ${
      ex.reduce((m, e) => Math.max(m, e.ids.length), 0)
    } → ${f.out}`,
  );
}

if (import.meta.main) await runMain(main);
