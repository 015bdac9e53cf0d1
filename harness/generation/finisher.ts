/**
 * The finisher: at a checkpoint, a greedy decode after a transcript that ends by opening the answer (\boxed{, or
 * a ```python block), in a tail block of its own, until the answer closes, an end-of-sequence id, or the task's
 * token limit. Its passes are
 * not counted in the budget; its tail goes back to the pool when it is done.
 */
import type { Block, KVCache } from "../../engine/cache.ts";
import type { Row } from "../../engine/plan.ts";
import { GREEDY, Sampler } from "../../engine/sampler.ts";
import type { AnswerFormat } from "./answer_format.ts";

export interface FinisherSettings {
  /** ids that end the answer */
  eosIds: number[];
  /** the most tokens it writes */
  maxTokens: number;
  /** ids it never writes */
  suppress: number[];
  /** a fresh incremental detokenizer */
  decoder: () => (id: number) => string;
  /** how the answer it opens is closed */
  format: AnswerFormat;
}

export class Finisher {
  readonly tail: Block;
  readonly view: Block[];
  /** what it wrote after the opened answer */
  text = "";
  passes = 0;
  readonly #ids: number[] = [];
  readonly #decode: (id: number) => string;
  readonly #sampler: Sampler;

  /** Its view: `before`, then its own tail; `first`: the tokens of its first row (the transcript's unwritten end). */
  constructor(readonly cache: KVCache, before: Block[], readonly first: number[], readonly settings: FinisherSettings) {
    this.tail = cache.newBlock("finisher");
    this.view = [...before, this.tail];
    this.#decode = settings.decoder();
    this.#sampler = new Sampler({ ...GREEDY, suppress: settings.suppress });
  }

  /** Its row in the next pass (greedy). */
  row(): Row {
    const tokens = this.passes === 0 ? this.first : this.#ids.slice(-1);
    return { block: this.tail, view: this.view, tokens, logits: "last", sampler: this.#sampler };
  }

  /** Takes the sampled id; the answer (null: none) once it is done, undefined while it goes on. */
  accept(id: number): string | null | undefined {
    this.passes++;
    this.#ids.push(id);
    // An end id ends the answer and is not part of it (its text, "<|im_end|>", would break a program).
    const end = this.settings.eosIds.includes(id);
    if (!end) this.text += this.#decode(id);
    const format = this.settings.format, answer = format.closed(this.text);
    if (answer === undefined && this.#ids.length < this.settings.maxTokens && !end) return undefined;
    this.cache.free(this.tail);
    return answer !== undefined ? answer : format.cut(this.text);
  }
}
