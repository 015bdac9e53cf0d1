/** The demo model's teacher: what it writes next, read from a view's text alone. */
import assert from "node:assert/strict";
import { partText, policy } from "../../tools/demo-model/teacher.ts";

const PROBLEM = "Let A be 8 + 2 + 2; let B be 5 + 4; let C be 1 + 1. Find A, B and C.\n";
const others = (...steps: string[]) =>
  `${PROBLEM}\n\n### Unfinished steps of the others\n\n${steps.join("")}<...>\n\n### Your own unfinished step\n\n`;

Deno.test("teacher: claims the first free part, skipping one per undecided worker named before it", () => {
  assert.equal(partText({ name: "A", terms: [8, 2, 2] }), " A: 8 + 2 = 10, 10 + 2 = 12. A = 12.");
  // both start at once: Alice (first by name) takes A, Bob skips it
  assert.equal(
    policy(others("**Bob [1]:** ") + "**Alice [1]:** ", "Alice"),
    `${partText({ name: "A", terms: [8, 2, 2] })}\n\n`,
  );
  assert.match(policy(others("**Alice [1]:** ") + "**Bob [1]:** ", "Bob"), /^ B: 5 \+ 4 = 9\. B = 9\./);
  // A is being worked on, B is stated: C
  assert.match(
    policy(`${PROBLEM} B: 5 + 4 = 9. B = 9.\n\n` + others("**Bob [2]:**  A: 8") + "**Carol [2]:** ", "Carol"),
    /^ C:/,
  );
  // nothing free while A is in progress: wait
  assert.equal(
    policy(
      `${PROBLEM} B: 5 + 4 = 9. B = 9. C: 1 + 1 = 2. C = 2.\n\n` + others("**Bob [3]:**  A: 8 +") + "**Alice [3]:** ",
      "Alice",
    ),
    " Waiting for A.\n\n",
  );
  // every part stated: the answer; the redundancy check is answered first
  const done = `${PROBLEM} A = 12. B = 9. C = 2.\n\n`;
  assert.equal(policy(done + "**Alice [4]:** ", "Alice"), " Answer: \\boxed{12, 9, 2}.\n\n");
  assert.equal(
    policy(done + "**Alice [4]:** Quick check: is someone else already doing what I am doing? (yes/no): ", "Alice"),
    " no. Answer: \\boxed{12, 9, 2}.\n\n",
  );
});

Deno.test("teacher: the finisher states what the view holds, ? for the rest", () => {
  assert.equal(policy(`${PROBLEM} B: 5 + 4 = 9. B = 9.\n\nthe final answer is \\boxed{`, undefined), "?, 9, ?}");
});
