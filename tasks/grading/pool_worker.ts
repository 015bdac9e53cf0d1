/**
 * A grading process of GradePool: `{"ready":true}` once loaded, then one job a line on stdin (`{id, job}`) and its
 * result a line on stdout (`{id, result}` or `{id, error}`), so that grading (the symbolic part may be slow) never
 * runs in the caller's process.
 */
import { gradeProblem } from "./grader.ts";

const encoder = new TextEncoder();

function reply(message: unknown): void {
  const bytes = encoder.encode(JSON.stringify(message) + "\n");
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

reply({ ready: true });
let buffered = "";
for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += text;
  for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
    const { id, job } = JSON.parse(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    const t = performance.now();
    try {
      const result = gradeProblem(job, job.generated);
      reply({ id, result: { ...result, ms: performance.now() - t } });
    } catch (e) {
      reply({ id, error: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) });
    }
  }
}
