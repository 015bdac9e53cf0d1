/**
 * A grading process of GradePool (its wire: pool_protocol.ts), so that grading (the symbolic part may be slow)
 * never runs in the caller's process.
 */
import { gradeProblem } from "./grader.ts";
import { encodeLine, lines } from "./pool_protocol.ts";

function reply(message: unknown): void {
  const bytes = encodeLine(message);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

reply({ ready: true });
for await (const line of lines(Deno.stdin.readable)) {
  const { id, job } = JSON.parse(line);
  const t = performance.now();
  try {
    const result = gradeProblem(job, job.generated);
    reply({ id, result: { ...result, ms: performance.now() - t } });
  } catch (e) {
    reply({ id, error: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) });
  }
}
