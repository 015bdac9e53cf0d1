/**
 * What the collaboration judge reads of a trace: each worker's paragraphs (its finished steps in order, then the
 * step it was still writing) gathered into one block, cut to its first N tokens, the blocks one after the other
 * under each worker's name, as the contiguous layout lays them out; all filled into the rubric's template
 * (harness/generation/prompts/judge.txt, or the user's file). And the one reader of a score in the judge's reply.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { check, InputError } from "../../engine/errors.ts";
import type { TextTokenizer } from "../../engine/tokenizer.ts";
import { DEFAULT_NAMES, fillTemplate, joinNames } from "../generation/prompts.ts";
import { recordKey, type TraceLine } from "../bench/rundir.ts";
import { writerParts } from "../bench/trace.ts";
import { checkPlaceholders, readTemplateFile } from "../../tasks/texts.ts";

/**
 * The rubric's template, and its version: the file's name and a hash of its content and of how transcripts are
 * cut and decoded (TRANSCRIPT_RULE), so an edit of either is a new version and no scores file mixes them.
 */
export interface JudgeTemplate {
  text: string;
  version: string;
  /** the file it was read from */
  file: string;
}

/** 2: the workers' text decoded as written, never with spaces before punctuation cleaned up. */
const TRANSCRIPT_RULE = "transcripts/2";

/** The placeholders a template must hold. */
const NEEDED = ["{{problem}}", "{{transcript}}"];

export function loadJudgeTemplate(file?: string): JudgeTemplate {
  const where = file ?? new URL("../generation/prompts/judge.txt", import.meta.url).pathname;
  let text: string;
  try {
    text = readTemplateFile(where);
  } catch (e) {
    // the flag named: "/dev/null: not a file" alone does not say which of the command's files it was
    if (file === undefined || !(e instanceof InputError) || e.message.startsWith("--judge-prompt")) throw e;
    throw new InputError(`--judge-prompt ${e.message}`);
  }
  for (const m of NEEDED) check(text.includes(m), `--judge-prompt ${where}: a judge template must hold ${m}`);
  checkPlaceholders(text, [...NEEDED, "{{count}}", "{{names}}"], `--judge-prompt ${where}`); // judgePrompt's
  const hash = createHash("sha256").update(TRANSCRIPT_RULE).update(text).digest("hex").slice(0, 12);
  return { text, version: `${basename(where)}@${hash}`, file: where };
}

/**
 * A worker's whole text: its finished steps by step number, then its unfinished step (docs/run-files.md). A trace
 * whose text is not that is refused, naming it: which of the two to show would be a guess that drops text.
 */
export function workerText(trace: TraceLine, worker: number): string {
  check(
    writerParts(trace, worker),
    `trace ${recordKey(trace).replaceAll("\t", " / ")}: writer ${worker}'s text is not its steps joined, then ` +
      `its unfinished step (docs/run-files.md, traces.jsonl; a family's traces from before its version that fixed them are so): judge it with ` +
      `--methods leaving ${trace.method} out, or run it again`,
  );
  return trace.workers[worker];
}

/** The first `limit` tokens of `text` (a character cut in two at the end is dropped), and whether it was cut. */
export function tokenPrefix(tok: TextTokenizer, text: string, limit: number): { text: string; tokens: number } {
  const ids = tok.encode(text);
  if (ids.length <= limit) return { text, tokens: ids.length };
  return { text: tok.decode(ids.slice(0, limit)).replace(/\uFFFD+$/, ""), tokens: limit };
}

export interface Transcript {
  /** the workers' blocks under their names */
  text: string;
  names: string[];
  /** tokens of each worker's block as shown (at most the limit) */
  tokens: number[];
  /** each worker's block was cut at the limit */
  cut: boolean[];
}

/** The workers' blocks, each cut to `limit` tokens, one after the other under its writer's name. */
export function mergedTranscript(trace: TraceLine, tok: TextTokenizer, limit: number): Transcript {
  const names = trace.names ?? trace.workers.map((_, i) => DEFAULT_NAMES[i] ?? `Worker ${i + 1}`);
  const blocks = names.map((_, i) => {
    const whole = workerText(trace, i);
    const p = tokenPrefix(tok, whole, limit);
    return { ...p, cut: p.text !== whole };
  });
  const text = names.map((n, i) => `### ${n}\n\n${blocks[i].text.trim()}${blocks[i].cut ? "\n\n[…]" : ""}`)
    .join("\n\n");
  return { text, names, tokens: blocks.map((b) => b.tokens), cut: blocks.map((b) => b.cut) };
}

/** The judge's prompt for a trace. */
export function judgePrompt(template: JudgeTemplate, trace: TraceLine, transcript: Transcript): string {
  return fillTemplate(template.text, {
    problem: trace.problem ?? "(the problem's text was not recorded in this trace)",
    count: String(transcript.names.length),
    names: joinNames(transcript.names),
    transcript: transcript.text,
  });
}

/** A line that is the rubric's `SCORE: N` alone (any case, `=` for `:`, markdown bold, "/6" or "out of 6" after it). */
const SCORE_LINE = /^[*_#>\s]*(?:final\s+)?score[*_\s]*[:=][*_\s]*([1-6])(?:\s*(?:\/|out of)\s*6)?[*_\s.]*$/i;

/**
 * The score of a reply: its last non-empty line when that line is the rubric's `SCORE: N` (any case, `=` for `:`,
 * markdown bold, "/6" or "out of 6" after it allowed) with N a whole number 1 to 6, and no other such line of the
 * answer gives another N; null otherwise. Never guessed: a "score: 2" met mid-thought, "SCORE: 3-4", "6/10", a last
 * line that is not the score, or two score lines that differ ("SCORE: 3" then "SCORE: 4") is no score. The answer is
 * what follows the judge's thought where it closes one (`</think>`): a draft in the thought is not a second score.
 */
export function parseScore(reply: string): number | null {
  const thought = reply.lastIndexOf("</think>");
  const answer = thought === -1 ? reply : reply.slice(thought + "</think>".length);
  const lines = answer.trimEnd().split("\n").map((l) => l.trim());
  const m = SCORE_LINE.exec(lines.at(-1)!);
  if (!m) return null;
  const scores = new Set(lines.flatMap((l) => SCORE_LINE.exec(l)?.[1] ?? []));
  return scores.size === 1 ? Number(m[1]) : null;
}
