/// <reference lib="deno.worker" />
/** A grading worker of GradePool: grading (the symbolic part may be slow) never runs on the caller's thread. */
import { gradeProblem } from "./grader.ts";

self.onmessage = (e: MessageEvent) => {
  const { id, job } = e.data;
  const t = performance.now();
  try {
    const result = gradeProblem(job, job.generated);
    self.postMessage({ id, result: { ...result, ms: performance.now() - t } });
  } catch (e) {
    self.postMessage({ id, error: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) });
  }
};
