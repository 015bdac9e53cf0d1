/**
 * deno task engine <command>: the engine from the command line, JSON on stdout (or in --out FILE).
 *
 *   logits   --model DIR --ids 5,17,300 [--last K]
 *   script   --model DIR --script FILE [--key-rotation] [--record FILE.hwrec]
 *   generate --model DIR (--ids … | --prompt TEXT [--chat] [--system TEXT]) --max-new-tokens N
 *            [--seed S] [--temperature T] [--top-k K] [--top-p P] [--min-p M] [--sample] [--suppress IDS] [--ignore-eos]
 *
 * --model takes a Hugging Face model folder, a hub id or random:SHAPE; --device cpu (default) or cuda.
 */
import { checkOutputFiles, checkPathFlags, replaceFile } from "../engine/files.ts";
import { check, InputError, parseFlags, parseInteger, runMain } from "../engine/errors.ts";
import {
  type GenerationConfig,
  parseSamplingFlags,
  readJson,
  resolveSampling,
  unappliedSettings,
  unappliedWarning,
} from "../engine/config.ts";
import { modelFolder } from "../engine/hub.ts";
import { type Device, Engine } from "../engine/model.ts";
import { generate } from "../engine/generate.ts";
import { GREEDY, Sampler, type SamplingOptions, validateSampling } from "../engine/sampler.ts";
import { parseScript, runScript, scriptTokens } from "../engine/script.ts";

const USAGE = `usage: deno task engine <logits|script|generate> --model DIR|OWNER/NAME[@REVISION]|random:SHAPE [flags]
  logits   --ids 5,17,300 [--last K]          logits of every position (or the last K)
  script   --script FILE [--key-rotation] [--record FILE]
                                              run a shared-cache pass script, logits of every new token
                                              (--key-rotation: the slow reference path, CPU only)
  generate (--ids 1,2,3 | --prompt TEXT [--chat] [--system TEXT] [--no-think]) --max-new-tokens N
           [--seed S] [--temperature T] [--top-k K] [--top-p P] [--min-p M] [--suppress IDS]
           [--sample] [--ignore-eos]           greedy unless a sampling flag (or --sample) is given;
                                              --system and --no-think go with --chat, --seed with sampling
common:    --device cpu|cuda  --out FILE      (a flag the command does not read is refused)`;

export const OPTIONS = {
  model: { type: "string" },
  device: { type: "string", default: "cpu" },
  out: { type: "string" },
  ids: { type: "string" },
  last: { type: "string" },
  script: { type: "string" },
  "key-rotation": { type: "boolean" },
  record: { type: "string" },
  // "" is a prompt (the BOS alone, where the tokenizer adds one), and an empty system message a message
  prompt: { type: "string", empty: true },
  chat: { type: "boolean" },
  system: { type: "string", empty: true },
  "no-think": { type: "boolean" },
  "max-new-tokens": { type: "string" },
  seed: { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  suppress: { type: "string" },
  sample: { type: "boolean" },
  "ignore-eos": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The flags each command reads, besides the common ones: any other given is refused, never dropped. */
const USES: Record<string, readonly string[]> = {
  logits: ["ids", "last"],
  script: ["script", "key-rotation", "record"],
  generate: [
    "ids",
    "prompt",
    "chat",
    "system",
    "no-think",
    "max-new-tokens",
    "seed",
    "temperature",
    "top-k",
    "top-p",
    "min-p",
    "suppress",
    "sample",
    "ignore-eos",
  ],
};
const COMMON = ["model", "device", "out", "help"];

/** Refuses a flag `command` (or generate's mode) would not read, naming it, before the model loads. */
function checkFlagsUsed(command: string, f: Flags): void {
  for (const [flag, v] of Object.entries(f)) {
    if (v === undefined || COMMON.includes(flag) || USES[command].includes(flag)) continue;
    const takers = Object.keys(USES).filter((c) => USES[c].includes(flag));
    throw new InputError(
      `--${flag}: not a flag of ${command} (${takers.join(", ")} ${takers.length > 1 ? "take" : "takes"} it)`,
    );
  }
  if (command !== "generate") return;
  check(!f.chat || f.prompt !== undefined, "--chat goes with --prompt (--ids are given to the model as they are)");
  for (const flag of ["system", "no-think"] as const) {
    check(
      f[flag] === undefined || f.chat,
      `--${flag} goes with --chat (the chat template reads it; without --chat the prompt is plain text)`,
    );
  }
  parseSamplingFlags(f); // the flags' own values, before the model's files are read
}

/** generate's sampler: its options and seed. */
interface GenerateSampling {
  options: SamplingOptions;
  seed: number;
}

/**
 * generate's sampling, decided from the model's files before its weights load: greedy unless --sample or a
 * sampling flag is given, each setting not named the generation_config's (resolveSampling). A --seed is refused
 * where that resolves to greedy decoding, however it got there (no flag, --temperature 0, or the generation_config's
 * temperature 0 under --sample): it would change nothing.
 */
function generateSampling(f: Flags, g: GenerationConfig): GenerateSampling {
  const flags = parseSamplingFlags(f);
  const options: SamplingOptions = f.sample || flags
    ? { ...resolveSampling(g, flags, true), suppress: [] }
    : { ...GREEDY };
  if (f.seed !== undefined && options.temperature === 0) {
    const why = !f.sample && !flags
      ? "without --sample or a sampling flag"
      : flags?.temperature === 0
      ? "with --temperature 0"
      : `at the model's temperature 0 (${g.file ?? "its generation_config.json"}); give --temperature to sample`;
    throw new InputError(`--seed: generate is greedy ${why}; a seed changes nothing`);
  }
  // the generation_config's settings this decoding departs from transformers by, said (never dropped silently)
  const warning = unappliedWarning(g, unappliedSettings(g, options.temperature));
  if (warning) console.error(warning);
  return { options, seed: f.seed === undefined ? 0 : parseInteger(f.seed, "--seed", 0, 2 ** 32 - 1) };
}

function parseIds(v: string, flag: string): number[] {
  return v.split(",").map((s) => {
    try {
      return parseInteger(s, `--${flag}`);
    } catch {
      throw new InputError(`--${flag}: expected comma-separated token ids, got "${v}"`);
    }
  });
}

function optionalInteger(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : parseInteger(v, `--${flag}`);
}

function checkIds(ids: readonly number[], vocab: number, flag: string) {
  for (const id of ids) check(id < vocab, `--${flag}: token id ${id} is out of range for a vocabulary of ${vocab}`);
}

/** logits: every position's logits, or the last K. */
function logitsCommand(engine: Engine, f: Flags): unknown {
  check(f.ids !== undefined, `logits: --ids is required`);
  const ids = parseIds(f.ids, "ids");
  checkIds(ids, engine.vocab, "ids");
  const last = optionalInteger(f.last, "last") ?? ids.length;
  check(last >= 1 && last <= ids.length, `--last: expected 1..${ids.length}, got ${last}`);
  const cache = engine.newCache({ tokens: ids.length });
  const block = cache.newBlock("sequence");
  const [logits] = engine.forward(cache, [{ block, view: [block], tokens: ids, logits: "all" }]);
  const rows = [];
  for (let i = ids.length - last; i < ids.length; i++) {
    rows.push(Array.from(logits.subarray(i * engine.vocab, (i + 1) * engine.vocab)));
  }
  return { logits: rows };
}

/** script: a shared-cache pass script, each row's logits. */
function scriptCommand(engine: Engine, f: Flags): unknown {
  check(f.script, `script: --script FILE is required`);
  const script = parseScript(readJson(f.script), f.script, engine.vocab);
  const blocks = new Set(script.passes.flatMap((p) => p.rows.map((r) => r.block))).size;
  const cache = engine.newCache({ tokens: scriptTokens(script) + 16 * blocks });
  const recorder = f.record ? engine.record(cache) : undefined;
  const logits = runScript(engine, cache, script, { keyRotation: f["key-rotation"] });
  if (recorder) replaceFile(f.record!, recorder.bytes());
  return {
    passes: logits.map((rows) => ({
      rows: rows.map((l) => {
        const out = [];
        for (let i = 0; i < l.length / engine.vocab; i++) {
          out.push(Array.from(l.subarray(i * engine.vocab, (i + 1) * engine.vocab)));
        }
        return { logits: out };
      }),
    })),
  };
}

/** generate: plain generation from ids or a prompt, with the sampling generateSampling decided. */
async function generateCommand(engine: Engine, f: Flags, sampling?: GenerateSampling): Promise<unknown> {
  const max = optionalInteger(f["max-new-tokens"], "max-new-tokens");
  check(max !== undefined && max >= 1, `generate: --max-new-tokens N (N ≥ 1) is required`);
  check(max <= 1 << 24, `generate: --max-new-tokens: at most ${1 << 24}, got ${max}`);
  // given is given, "" too: an empty text is read as one (transformers' tokenizer and template take it)
  check((f.ids === undefined) !== (f.prompt === undefined), `generate: give exactly one of --ids or --prompt`);
  const tok = engine.tokenizer;
  let prompt: number[];
  if (f.ids !== undefined) {
    prompt = parseIds(f.ids, "ids");
    checkIds(prompt, engine.vocab, "ids");
  } else {
    check(tok, `--prompt: ${f.model} has no tokenizer.json; use --ids`);
    let text = f.prompt!;
    if (f.chat) {
      const user = { role: "user" as const, content: text };
      const render = (system: boolean, enableThinking?: false) =>
        tok.applyChatTemplate(
          system && f.system !== undefined ? [{ role: "system", content: f.system }, user] : [user],
          { addGenerationPrompt: true, enableThinking },
        );
      text = render(true, f["no-think"] ? false : undefined);
      // a flag the template does not read would be dropped, silently: the prompt is the one it renders without it
      const template = `the chat template (${tok.chatTemplateFile ?? f.model})`;
      check(
        !f["no-think"] || text !== render(true),
        `--no-think: ${template} does not read enable_thinking (it renders the prompt the same without it), ` +
          "so --no-think would change nothing: drop it",
      );
      check(
        f.system === undefined || text !== render(false, f["no-think"] ? false : undefined),
        `--system: ${template} renders no system message (the prompt is the same without it), so --system would ` +
          "change nothing: drop it",
      );
    }
    // a template writes its own special tokens; plain text gets the tokenizer's (a BOS), as transformers' does
    prompt = tok.encode(text, !f.chat);
    check(
      prompt.length > 0,
      `--prompt ${JSON.stringify(f.prompt)}: no tokens (${f.model}'s tokenizer adds no BOS to a text); nothing for ` +
        "the model to continue from: give some text, or --chat",
    );
  }
  // refused before the generation, not after it (its last pass would pass the positions, its tokens thrown away)
  const most = engine.config.maxPositions;
  check(
    most === undefined || prompt.length + max <= most,
    `generate: the prompt's ${prompt.length} tokens and --max-new-tokens ${max} pass the model's ` +
      `max_position_embeddings ${most} (config.json): lower --max-new-tokens or shorten the prompt`,
  );
  const g = engine.generation;
  const { options, seed } = sampling ?? generateSampling(f, g);
  options.suppress = f.suppress !== undefined ? parseIds(f.suppress, "suppress") : [];
  checkIds(options.suppress, engine.vocab, "suppress");
  check(
    new Set(options.suppress).size < engine.vocab,
    `--suppress: every one of the ${engine.vocab} tokens suppressed; nothing could be written`,
  );
  const bad = validateSampling(options);
  check(!bad, `generate: ${bad}`);
  const sampler = new Sampler(options, seed);
  const ids = await generate(engine, prompt, {
    maxNewTokens: max,
    sampler,
    stopIds: f["ignore-eos"] ? [] : g.eosTokenIds,
  });
  return tok ? { ids, text: tok.decode(ids) } : { ids };
}

type Flags = ReturnType<typeof parseFlags<typeof OPTIONS>>["values"];

async function main() {
  const { values: f, positionals } = parseFlags(OPTIONS, USAGE, Deno.args, true);
  // before any work: "" and the paths Deno will not look at, naming the flag
  checkPathFlags(f, { model: "model folder, hub id or random:SHAPE", out: "file", script: "file", record: "file" });
  if (f.help) return console.log(USAGE);
  const command = positionals[0];
  const commands: Record<string, (engine: Engine, f: Flags, sampling?: GenerateSampling) => unknown> = {
    logits: logitsCommand,
    script: scriptCommand,
    generate: generateCommand,
  };
  check(
    positionals.length === 1 && command in commands,
    "expected one command: logits, script or generate (--help for the usage)",
  );
  check(f.model, `--model is required (a model folder, a hub id OWNER/NAME[@REVISION] or random:SHAPE)`);
  check(f.device === "cpu" || f.device === "cuda", `--device: expected cpu or cuda, got "${f.device}"`);
  checkFlagsUsed(command, f);
  // the GPU has no key-rotation path (it refuses such a plan): refused here before the model loads
  check(
    !f["key-rotation"] || f.device !== "cuda",
    "--key-rotation: the slow reference path runs on the CPU only; drop --device cuda (or --key-rotation)",
  );
  // where the output goes (stdout when no --out), before the model loads
  checkOutputFiles({ "--record": f.record, "--out": f.out }, { "--script": f.script, "--model": f.model });
  // the model's files without its weights: generate's sampling decided from its generation_config, before they load
  const files = Engine.readFiles(await modelFolder(f.model));
  const sampling = command === "generate" ? generateSampling(f, files.generation) : undefined;
  const engine = await Engine.load(files, {
    device: f.device as Device,
    // the refusal of a pass past max_position_embeddings names this command's own knobs
    longContextAdvice: command === "generate"
      ? "lower --max-new-tokens or shorten the prompt"
      : "shorten the input (--ids, --prompt or the script's rows)",
  });
  const json = JSON.stringify(await commands[command](engine, f, sampling));
  if (f.out) replaceFile(f.out, json + "\n");
  else console.log(json);
}

if (import.meta.main) runMain(main);
