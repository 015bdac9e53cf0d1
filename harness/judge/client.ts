/**
 * The judge behind an OpenAI-compatible chat-completions endpoint: one user message, the reply's text back.
 * A busy or failing server (429, 5xx), a dropped connection or no reply within the time-out is tried again after
 * an exponentially growing wait (or the server's Retry-After, when longer); a refusal of the request itself (4xx)
 * is not, and a refused key stops everything, since every later request would be refused too; so do requests
 * that in a row got no answer at all (MOST_UNREACHABLE, each after its tries): 900 replies would otherwise each
 * spend minutes on a network or a server that is not there.
 */
import { InputError, oneLine } from "../../engine/errors.ts";

/** A judge: the reply to a prompt in judge run `run` (0, 1, …: the runs whose scores are averaged). */
export interface Judge {
  /** what judged, as judge.jsonl records it: the model's name, or the local model's source */
  readonly id: string;
  /** where it runs (an endpoint's URL, a local model's source): with `id`, what the on-disk cache keys on */
  readonly where: string;
  reply(prompt: string, run: number): Promise<string>;
}

/** A request that failed for good: this trace's run is not recorded, and a later run of the command tries it again. */
export class JudgeRequestError extends Error {
  override name = "JudgeRequestError";
}

export interface EndpointOptions {
  /** the API's base URL, up to /v1 */
  url: string;
  model: string;
  /** sent as a bearer token when given */
  apiKey?: string;
  /** the server's default when not given */
  temperature?: number;
  maxTokens: number;
  timeoutMs: number;
  /** tries after the first */
  retries: number;
  /** the first wait; each later one doubles */
  backoffMs: number;
  /** told each wait (a line for stderr) */
  log?: (line: string) => void;
}

/** The most one wait between tries may be (a Retry-After header's, or the backoff's after many tries). */
export const MOST_WAIT_MS = 120_000;
/**
 * Requests in a row that failed for good with no answer to any try (no connection, or none within the time-out: a
 * firewall that drops the connection looks like that too): then nothing is answering, and nothing will.
 */
export const MOST_UNREACHABLE = 4;

export function endpointJudge(o: EndpointOptions): Judge {
  const url = `${o.url.replace(/\/+$/, "")}/chat/completions`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  let unreachable = 0;
  return {
    id: o.model,
    where: o.url,
    async reply(prompt, run) {
      const body = JSON.stringify({
        model: o.model,
        messages: [{ role: "user", content: prompt }],
        max_tokens: o.maxTokens,
        // the run's own draw where the server honours a seed
        seed: run,
        ...(o.temperature === undefined ? {} : { temperature: o.temperature }),
      });
      for (let attempt = 0, reached = false;; attempt++) {
        let why: string, wait = Math.min(o.backoffMs * 2 ** attempt, MOST_WAIT_MS);
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), o.timeoutMs);
        try {
          const res = await fetch(url, { method: "POST", headers, body, signal: abort.signal });
          reached = true, unreachable = 0;
          const text = await res.text();
          if (res.ok) return replyText(text, url);
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            throw new InputError(
              `--judge ${o.url}: HTTP ${res.status} (${snippet(text)})` +
                (res.status === 404 ? "; expected an OpenAI-compatible API's base URL (…/v1)" : "; check the key"),
            );
          }
          if (res.status !== 429 && res.status < 500) {
            throw new JudgeRequestError(`${url}: HTTP ${res.status} (${snippet(text)})`);
          }
          why = `HTTP ${res.status}`;
          const after = Number(res.headers.get("retry-after"));
          if (Number.isFinite(after) && after > 0) wait = Math.max(wait, Math.min(after * 1000, MOST_WAIT_MS));
        } catch (e) {
          if (e instanceof InputError || e instanceof JudgeRequestError) throw e;
          why = abort.signal.aborted
            ? `no reply within ${o.timeoutMs} ms`
            : `no connection (${oneLine((e as Error).message)})`;
        } finally {
          clearTimeout(timer);
        }
        if (attempt >= o.retries) {
          if (!reached && ++unreachable >= MOST_UNREACHABLE) {
            throw new InputError(
              `--judge ${o.url}: ${unreachable} requests in a row got no answer (${why}, ${attempt + 1} tries each): ` +
                "check the URL and the network; the same command goes on from the replies recorded",
            );
          }
          throw new JudgeRequestError(`${url}: ${why}, ${attempt + 1} tries`);
        }
        o.log?.(`judge: ${why}; trying again in ${wait} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    },
  };
}

const snippet = (text: string) => oneLine(text).slice(0, 200);

/** The text of a chat-completions response body (a refusal without text is an empty reply: no score in it). */
function replyText(body: string, url: string): string {
  let v: { choices?: { message?: { content?: unknown } }[] };
  try {
    v = JSON.parse(body);
  } catch {
    throw new JudgeRequestError(`${url}: the response is not JSON (${snippet(body)})`);
  }
  const message = Array.isArray(v?.choices) ? v.choices[0]?.message : undefined;
  if (!message || (typeof message.content !== "string" && message.content !== null)) {
    throw new JudgeRequestError(`${url}: not a chat-completions response (no choices[0].message.content)`);
  }
  // a reply is at most --max-tokens long: megabytes are a broken server, never stored in judge.jsonl and the cache
  if (typeof message.content === "string" && message.content.length > MOST_REPLY_CHARS) {
    throw new JudgeRequestError(
      `${url}: a reply of ${message.content.length} characters, past the ${MOST_REPLY_CHARS} a judge's reply may hold`,
    );
  }
  return message.content ?? "";
}

const MOST_REPLY_CHARS = 1 << 20;
