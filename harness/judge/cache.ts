/**
 * The judge's replies kept on disk, one file per (judge, where it runs, prompt version, prompt text, judge run):
 * a second command over the same traces, or over a copy of them, asks the judge nothing (replies cached under
 * another spelling of where it runs, `formerly`, are found too). Written whole
 * (engine/files.ts), so a kill leaves a reply or none. A reply is paid for: one the cache cannot take (a full or
 * read-only disk met mid-run) is returned all the same, to be recorded in judge.jsonl, with a warning.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { check, InputError, oneLine } from "../../engine/errors.ts";
import { pathExists, removeOldTemps, replaceFile } from "../../engine/files.ts";
import type { Halt, Judge, Reply } from "./client.ts";

/**
 * Refuses a cache folder this command cannot write (made when not there), naming --cache, before any reply is paid
 * for: a file is written in it and removed.
 */
export function checkCacheFolder(dir: string): void {
  const probe = join(dir, `.write-check-${Deno.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(probe, "");
    Deno.removeSync(probe);
  } catch (e) {
    throw new InputError(
      `--cache ${dir}: cannot write in it (${oneLine((e as Error).message)}); name a folder this command can write`,
    );
  }
}

/**
 * `judge` with its replies cached in `dir`; `asked` counts the replies that were not there, `unkept` those asked
 * that the cache could not take (`warn` told the first: the reply is returned all the same).
 */
export function cachedJudge(
  judge: Judge,
  dir: string,
  promptVersion: string,
  warn: (line: string) => void = () => {},
): Judge & { asked: number; unkept: number } {
  // judges on other folders may share the cache and write it now: only a killed one's temporaries (a day old) go
  removeOldTemps(dir, 24 * 3600_000);
  const file = (prompt: string, run: number, where = judge.where) =>
    join(dir, `${sha256(JSON.stringify([judge.id, where, promptVersion, prompt, run]))}.json`);
  const cached = {
    id: judge.id,
    where: judge.where,
    asked: 0,
    unkept: 0,
    async reply(prompt: string, run: number, halt?: Halt): Promise<Reply> {
      const f = file(prompt, run), promptHash = sha256(prompt);
      // each file's stored key checked against the key its name stands for: a file copied or renamed onto another
      // key's name (another judge's, prompt's or run's reply) is never used, only said and asked again
      for (const where of [judge.where, ...(judge.formerly ?? [])]) {
        const x = file(prompt, run, where);
        if (!pathExists(x)) continue;
        const { reply, stored } = readReply(x);
        const want = { judge: judge.id, where, prompt_version: promptVersion, run, prompt_sha256: promptHash };
        const other = (Object.keys(want) as (keyof typeof want)[]).find((k) =>
          stored[k] !== want[k] && !(k === "prompt_sha256" && stored[k] === undefined) // kept since: absent before
        );
        if (other === undefined) return reply;
        warn(
          `judge: ${x}: a cached reply of another key (its ${other} ${JSON.stringify(stored[other])}, its name's ` +
            `${JSON.stringify(want[other])}): not used; asked again`,
        );
      }
      const reply = await judge.reply(prompt, run, halt);
      cached.asked++;
      try {
        mkdirSync(dir, { recursive: true });
        replaceFile(
          f,
          JSON.stringify({
            judge: judge.id,
            where: judge.where,
            prompt_version: promptVersion,
            run,
            prompt_sha256: promptHash,
            reply: reply.text,
            cut: reply.cut,
            ...(reply.model === undefined ? {} : { model: reply.model }),
          }),
        );
      } catch (e) {
        // paid for: recorded in judge.jsonl by the caller; only a command without that line would ask it again
        if (cached.unkept++ === 0) {
          warn(
            `judge: --cache ${dir}: cannot keep a reply there (${oneLine((e as Error).message)}); each reply is ` +
              "recorded in judge.jsonl all the same (only a command without those lines would ask for it again)",
          );
        }
      }
      return reply;
    },
  };
  return cached;
}

const sha256 = (x: string) => createHash("sha256").update(x).digest("hex");

/**
 * A cached reply (one cached before replies were marked cut says nothing of it: read as not cut), and the key it
 * stores.
 */
function readReply(file: string): { reply: Reply; stored: Record<string, unknown> } {
  let v: { reply?: unknown; cut?: unknown; model?: unknown } & Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`${file}: not a cached reply (${oneLine((e as Error).message)}); delete it to ask again`);
  }
  check(typeof v?.reply === "string", `${file}: a cached reply without its "reply" text; delete it to ask again`);
  return {
    reply: { text: v.reply as string, cut: v.cut === true, ...(typeof v.model === "string" ? { model: v.model } : {}) },
    stored: v,
  };
}
