/**
 * deno task trace: what each worker of a Hogwild! run wrote, step by step, as the steps finish (in colour
 * on a terminal), then every worker's unfinished step. The tool for looking at collaboration.
 *
 *   deno task trace --model DIR|OWNER/NAME|random:SHAPE --prompt TEXT [--workers 3] [--steps 256] [--layout L]
 *                   [--seed 1] [--temperature T] [--top-k K] [--top-p P] [--min-p M] [--redundancy-every 1024]
 *                   [--device cpu|cuda] [--collab-prompt FILE] [--plain-prompt FILE] [--protocol FILE]
 *                   [--allow-long-context]
 * --steps counts forward passes; the prompts are found as the bench finds them (prompts.ts modelTemplates). A
 * trace writes the workers' text the bench writes for the same model, problem, method, seed and sampling, up to
 * where the bench would stop early (a trace runs no finisher and no early stop).
 */
import { check, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import { checkPathFlags } from "../engine/files.ts";
import { parseSamplingFlags, resolveSampling, unappliedSettings, unappliedWarning } from "../engine/config.ts";
import { modelFolder } from "../engine/hub.ts";
import { type Device, Engine } from "../engine/model.ts";
import { hogwildLayouts, parseMethod, runSpec, runTexts } from "../harness/generation/methods.ts";
import {
  forbiddenNote,
  loadProtocol,
  loadTemplate,
  MODEL_TEMPLATE_FILES,
  modelTemplates,
  protocolFile,
} from "../harness/generation/prompts.ts";
import { Run } from "../harness/generation/run.ts";
import { refuseAddedTokens } from "../harness/bench/problem_check.ts";
import { problemSeed } from "../harness/generation/solver.ts";
import { DEFAULT_SEED } from "../tasks/registry.ts";
import { runAll } from "../harness/generation/schedule.ts";

const COLOURS = ["\x1b[36m", "\x1b[33m", "\x1b[35m", "\x1b[32m", "\x1b[34m", "\x1b[31m"];
const RESET = "\x1b[0m";

const USAGE = `usage: deno task trace --model DIR|OWNER/NAME|random:SHAPE --prompt TEXT [--workers 3] [--steps 256]
                       [--layout ${hogwildLayouts().join("|")}] [--seed 1] [--temperature T] [--top-k K]
                       [--top-p P] [--min-p M] [--redundancy-every 1024] [--device cpu|cuda]
                       [--collab-prompt FILE] [--plain-prompt FILE] [--protocol FILE] [--allow-long-context]
  --steps counts forward passes; each worker's steps print as they finish, then the unfinished ones. Each
  sampling setting not given is the model's generation_config's, as in the bench. --allow-long-context lets
  passes go past the model's max_position_embeddings (refused otherwise).
  The prompts: the flags' files, else the model folder's prompts/collab.txt and plain.txt, else the project's.`;

export const OPTIONS = {
  model: { type: "string" },
  prompt: { type: "string" },
  workers: { type: "string", default: "3" },
  steps: { type: "string", default: "256" },
  layout: { type: "string", default: "combined" },
  seed: { type: "string", default: String(DEFAULT_SEED) },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  "redundancy-every": { type: "string", default: "1024" },
  device: { type: "string", default: "cpu" },
  "collab-prompt": { type: "string" },
  "plain-prompt": { type: "string" },
  protocol: { type: "string" },
  "allow-long-context": { type: "boolean" },
} as const;

async function main() {
  const { values: f } = parseFlags(OPTIONS, USAGE);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, {
    model: "model folder, hub id or random:SHAPE",
    "collab-prompt": "file",
    "plain-prompt": "file",
    protocol: "file",
  });
  check(f.model, "--model is required (a model folder, a hub id OWNER/NAME[@REVISION] or random:SHAPE)");
  check(f.prompt, "--prompt TEXT is required");
  const int = (v: string, flag: string, min = 0, max?: number) => parseInteger(v, `--${flag}`, min, max);
  const passes = int(f.steps, "steps", 1, 1 << 20);
  check(hogwildLayouts().includes(f.layout), `--layout: expected ${hogwildLayouts().join(", ")}, got "${f.layout}"`);
  const method = parseMethod(
    `hogwild:${int(f.workers, "workers", 1, 12)}${f.layout === "combined" ? "" : `:${f.layout}`}`,
  );
  // The sampling flags, checked before the model loads.
  const sampling = parseSamplingFlags(f);
  const protocol = loadProtocol(f.protocol); // bad prompt files: before the model loads
  for (const [kind, file] of [["collab", f["collab-prompt"]], ["plain", f["plain-prompt"]]] as const) {
    loadTemplate(kind, file);
  }
  const source = await modelFolder(f.model, MODEL_TEMPLATE_FILES);
  const templates = modelTemplates(source, { collabTemplate: f["collab-prompt"], plainTemplate: f["plain-prompt"] });
  // the prompt and files checked against the model's tokenizer before its weights load (Engine.readFiles)
  const model = Engine.readFiles(source), tok = model.tokenizer;
  check(tok, `--model ${f.model}: trace needs a tokenizer`);
  refuseAddedTokens(tok, f.prompt, "--prompt", "write it another way"); // as the bench refuses a problem
  for (const t of runTexts({ protocol, protocolFile: f.protocol, templates, suffixes: [""] })) {
    refuseAddedTokens(tok, t.text, t.where, "take it out of the file"); // and its prompt files
  }
  const unforbidden = forbiddenNote(tok, protocol, protocolFile(f.protocol));
  if (unforbidden) console.error(`trace: note: ${unforbidden}`);
  const seed = int(f.seed, "seed", 0, 2 ** 32 - 1);
  // the generation_config's settings the workers decode without, where transformers would apply them: said
  const warning = unappliedWarning(
    model.generation,
    unappliedSettings(model.generation, resolveSampling(model.generation, sampling).temperature),
  );
  if (warning) console.error(warning);
  using engine = await Engine.load(model, {
    device: f.device as Device,
    allowLongContext: f["allow-long-context"],
    longContextAdvice: "lower --steps or shorten --prompt, or allow it (--allow-long-context)",
  });
  const spec = runSpec(method, f.prompt, problemSeed(seed, f.prompt), { // the bench's stream for this problem
    tokenizer: tok,
    generation: model.generation,
    protocol,
    ...templates,
    budgets: [passes],
    finisherTokens: 16,
    redundancyEvery: int(f["redundancy-every"], "redundancy-every"),
    sampling,
  });
  const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const paint = (i: number, s: string) => (colour ? COLOURS[i % COLOURS.length] + s + RESET : s);
  using cache = engine.newCache({ tokens: spec.prompt.length + 64 + method.workers * (passes + 64) * 2 });
  const run = new Run(cache, { ...spec, finisher: "none", earlyStop: false });
  run.onStep = (s) =>
    console.log(paint(s.worker, `── ${spec.workers[s.worker]} [${s.step}] (pass ${s.pass})\n`) + s.text.trim() + "\n");
  await runAll(engine, cache, [run]);
  console.log(`── after ${run.passes} passes, the unfinished steps:`);
  spec.workers.forEach((name, i) =>
    console.log(paint(i, `── ${name} (unfinished)\n`) + run.currentStep(i).trim() + "\n")
  );
}

if (import.meta.main) runMain(main);
