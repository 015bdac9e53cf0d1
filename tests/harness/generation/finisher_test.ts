/** The finisher's answer: what it wrote, up to the answer's close, an end id (not part of it) or its limit. */
import assert from "node:assert/strict";
import { KVCache } from "../../../engine/cache.ts";
import { BOXED, CODE } from "../../../harness/generation/answer_format.ts";
import { Finisher } from "../../../harness/generation/finisher.ts";

const EOS = 9;
const PIECES: Record<number, string> = {
  1: "print(",
  2: "1)",
  3: "\n",
  4: "```",
  5: "42",
  6: "}",
  [EOS]: "<|im_end|>",
};

function finish(format: typeof CODE, ids: number[], maxTokens = 100): string | null | undefined {
  const cache = new KVCache({ bytes: 0, pages: 8, pageSize: 4 });
  const f = new Finisher(cache, [], [0], {
    eosIds: [EOS],
    maxTokens,
    suppress: [],
    decoder: () => (id) => PIECES[id],
    format,
  });
  let answer: string | null | undefined;
  for (const id of ids) {
    assert.equal(answer, undefined, "the finisher went on after its answer");
    answer = f.accept(id);
  }
  return answer;
}

Deno.test("an end id ends the finisher's program without its text", () => {
  assert.equal(finish(CODE, [1, 2, 3, EOS]), "print(1)\n");
  assert.equal(finish(CODE, [1, 2, EOS], 3), "print(1)"); // the end id and the limit at once
  assert.equal(finish(CODE, [1, 2, 3, 4]), "print(1)"); // closed by its fence
  assert.equal(finish(CODE, [EOS]), null); // nothing written
});

Deno.test("an end id before the box closes leaves no answer; the close gives it", () => {
  assert.equal(finish(BOXED, [5, EOS]), null);
  assert.equal(finish(BOXED, [5, 6]), "42");
  assert.equal(finish(BOXED, [5, 5], 2), null); // the limit, unclosed
});
