/**
 * A worker for equivalence_test.ts: grades the cases it is sent in its own JavaScript environment (a fresh
 * compute engine, as a new grading process has) and posts each case's two verdicts, in order.
 */
import { grade } from "../../../tasks/grading/grader.ts";

self.onmessage = (m: MessageEvent<{ pred: string; gold: string }[]>) => {
  const verdicts = m.data.map(({ pred, gold }) => {
    const g = grade(`\\boxed{${pred}}`, gold);
    return [g.equal_strict, g.equal_lenient];
  });
  (self as unknown as Worker).postMessage(verdicts);
};
