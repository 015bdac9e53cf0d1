/**
 * The judge as a model run by the project's own engine: a model folder, a hub id or random:SHAPE, the prompt as
 * the user's message in its chat template, plain generation until an end-of-sequence token or the token limit.
 * Judge run k samples with seed k (greedy at temperature 0); sampling follows the model's generation_config.json
 * unless a temperature is given.
 */
import { check } from "../../engine/errors.ts";
import { generate } from "../../engine/generate.ts";
import { modelFolder } from "../../engine/hub.ts";
import { type Device, Engine } from "../../engine/model.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import type { Judge } from "./client.ts";

export interface LocalOptions {
  device: Device;
  temperature?: number;
  maxTokens: number;
}

export async function localJudge(source: string, o: LocalOptions): Promise<Judge> {
  const engine = await Engine.load(await modelFolder(source), { device: o.device });
  const tok = engine.tokenizer;
  check(
    tok?.hasChatTemplate,
    `--judge ${source}: the model has no tokenizer.json with a chat template to put the prompt in`,
  );
  const g = engine.generation;
  // without do_sample the model's own setting is greedy, as transformers reads it
  const temperature = o.temperature ?? (g.doSample ? g.temperature : 0);
  const options = temperature === 0 ? GREEDY : { temperature, topK: g.topK, topP: g.topP, minP: g.minP, suppress: [] };
  return {
    id: source,
    where: engine.source,
    async reply(prompt, run) {
      const ids = tok.encode(tok.applyChatTemplate([{ role: "user", content: prompt }], { addGenerationPrompt: true }));
      const out = await generate(engine, ids, {
        maxNewTokens: o.maxTokens,
        sampler: new Sampler(options, run),
        stopIds: g.eosTokenIds,
      });
      return tok.decode(out, true);
    },
  };
}
