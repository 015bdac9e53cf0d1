/**
 * The grading pool's wire, both sides of it (pool.ts and pool_worker.ts): one JSON object a line each way. The
 * process says `{"ready":true}` once loaded, then reads `{id, job}` and answers `{id, result}` or `{id, error}`.
 */

/** Each line of a byte stream (the last one, unterminated, is not a line: the other side died mid-write). */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
}

/** A message as its line's bytes. */
export const encodeLine = (message: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(message) + "\n");
