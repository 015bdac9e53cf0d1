/**
 * The judge behind an OpenAI-compatible chat-completions endpoint: one user message, the reply's text back.
 * A busy or failing server (429, 5xx), a dropped connection or no reply within the time-out is tried again after
 * an exponentially growing wait (or the server's Retry-After, when longer); a refusal of the request itself (4xx)
 * is not (a 400 saying the prompt passes the model's context is a prompt it cannot read, recorded so), and a
 * refused key or a spent quota (a 429 that says so) stops everything, since every later request would
 * be refused too; so do requests that in a row got no answer at all (MOST_UNREACHABLE, each after its tries), or
 * spent their tries on the same failure (MOST_FAILED_ALIKE): 900 replies would otherwise each spend minutes on a
 * network, or a server, that does no work.
 */
import { check, InputError, oneLine } from "../../engine/errors.ts";

/** A judge's reply. */
export interface Reply {
  text: string;
  /** it stopped at the token limit, not at its end: a number in it is a thought cut short, never read as a score */
  cut: boolean;
  /** the model that replied, as an endpoint's response names it (absent: not named, or a local judge) */
  model?: string;
}

/** A judge: the reply to a prompt in judge run `run` (0, 1, …: the runs whose scores are averaged). */
export interface Judge {
  /** what judged, as judge.jsonl records it: the model's name, or the local model's source */
  readonly id: string;
  /** where it runs (an endpoint's base URL, a local model's source): with `id`, what the on-disk cache keys on */
  readonly where: string;
  /** other spellings of `where` that replies were cached under before (an endpoint's URL as typed): read only */
  readonly formerly?: readonly string[];
  /** `halt.stopped`: the command is stopping (another request's fatal error): no try after the one in flight */
  reply(prompt: string, run: number, halt?: Halt): Promise<Reply>;
}

/**
 * Stopped when the command stops: requests in flight finish their try (bounded by the time-out), and try no more;
 * one waiting to be tried again ends its wait at once (no request is sent after a stop).
 */
export class Halt {
  readonly #stop = new AbortController();
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }
  stop(): void {
    this.#stop.abort();
  }
  /** Waits `ms`, or until the stop: ended early when it comes. */
  wait(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((done) => {
      const end = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", end);
        done();
      };
      const timer = setTimeout(end, ms);
      signal.addEventListener("abort", end);
    });
  }
}

/** A request that failed for good: this trace's run is not recorded, and a later run of the command tries it again. */
export class JudgeRequestError extends Error {
  override name = "JudgeRequestError";
}

/**
 * A prompt this judge can never read, whatever the retries (a local model's positions too few for it, an
 * endpoint's 400 saying it passes the context): recorded as such, without a score, so that the command does not ask it forever
 * and the table and chart count it as a run without a score.
 */
export class UnjudgeableError extends Error {
  override name = "UnjudgeableError";
}

export interface EndpointOptions {
  /** the API's base URL, up to /v1 */
  url: string;
  model: string;
  /** sent as a bearer token when given */
  apiKey?: string;
  /** the environment variable the key is read from (--api-key-env), for a refusal's advice */
  keyVariable?: string;
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
/**
 * Requests in a row that each spent their tries on the same failure (HTTP 503 to everything, a rate limit that
 * never lifts): the server answers, but refuses all the work.
 */
export const MOST_FAILED_ALIKE = 4;

export function endpointJudge(o: EndpointOptions): Judge {
  const base = endpointUrl(o.url);
  const url = `${base}/chat/completions`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  // requests in a row that no try reached; requests in a row that spent their tries on one failure
  // requests in a row refused (a 4xx) with the same status and message
  let unreachable = 0, alike = { why: "", n: 0 }, refused = { why: "", n: 0 };
  return {
    id: o.model,
    // the base URL however it was spelt, so "…/v1/" finds the replies of "…/v1"; replies cached under the URL
    // as typed (the key before) or with a slash after are read too: none paid for is asked again
    where: base,
    formerly: [...new Set([o.url, `${base}/`])].filter((w) => w !== base),
    async reply(prompt, run, halt) {
      const body = JSON.stringify({
        model: o.model,
        messages: [{ role: "user", content: prompt }],
        max_tokens: o.maxTokens,
        // the run's own draw where the server honours a seed
        seed: run,
        ...(o.temperature === undefined ? {} : { temperature: o.temperature }),
      });
      for (let attempt = 0, reached = false;; attempt++) {
        let why: string, said: string, wait = Math.min(o.backoffMs * 2 ** attempt, MOST_WAIT_MS);
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), o.timeoutMs);
        try {
          const res = await fetch(url, { method: "POST", headers, body, signal: abort.signal });
          reached = true, unreachable = 0;
          const text = await bodyText(res, url);
          if (res.ok) {
            alike = { why: "", n: 0 }, refused = { why: "", n: 0 };
            return replyText(text, url);
          }
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            const key = o.keyVariable ?? "the variable --api-key-env names";
            throw new InputError(
              `--judge ${o.url}: HTTP ${res.status} (${snippet(errorBody(text).message ?? text)})` +
                (res.status === 404
                  ? "; expected an OpenAI-compatible API's base URL (…/v1)"
                  : o.apiKey
                  ? `; check the key in ${key} (--api-key-env)`
                  : `; no key was sent: ${key} is not set (set it to the key, or name the variable that holds it ` +
                    "with --api-key-env)"),
            );
          }
          // a spent quota answers 429 as a busy server does: no wait brings it back (minutes per request)
          const spent = res.status === 429 ? spentQuota(text) : undefined;
          if (spent !== undefined) {
            throw new InputError(
              `--judge ${o.url}: HTTP 429 (${spent}): the account's quota or billing is spent, not a busy server, ` +
                "so no wait brings a reply; see to the plan, then run the same command again (it goes on from " +
                "the replies recorded)",
            );
          }
          // a prompt past the judge's context: no retry or rerun reads it, so it is recorded as the local judge's is
          const tooLong = res.status === 400 ? pastContext(text) : undefined;
          if (tooLong !== undefined) {
            // --max-tokens alone filling the context: every prompt would be recorded unreadable, none judged again
            const { said, context } = tooLong;
            check(
              context === undefined || o.maxTokens < context,
              `--judge ${o.url}: HTTP 400 (${said}): --max-tokens ${o.maxTokens} leaves no room for any prompt ` +
                `in the judge's context length of ${context} tokens; lower --max-tokens (nothing was recorded)`,
            );
            throw new UnjudgeableError(
              `--judge ${o.url}: HTTP 400 (${said}): the prompt and --max-tokens ${o.maxTokens} pass the judge's ` +
                "context length: lower --prefix-tokens or --max-tokens, or judge with a longer model",
            );
          }
          if (res.status !== 429 && res.status < 500) {
            // a refusal of the request (a parameter the server does not take, a model it does not serve): one
            // that every request gets alike stops the command, with the server's message, not once per trace
            const why = `HTTP ${res.status} (${snippet(errorBody(text).message ?? text)})`;
            refused = refused.why === why ? { why, n: refused.n + 1 } : { why, n: 1 };
            if (refused.n >= MOST_FAILED_ALIKE) {
              throw new InputError(
                `--judge ${o.url}: ${refused.n} requests in a row were refused with ${why}: the server refuses ` +
                  "every request alike; fix what it says (the same command goes on from the replies recorded)",
              );
            }
            throw new JudgeRequestError(`${url}: HTTP ${res.status} (${snippet(text)})`);
          }
          why = `HTTP ${res.status}`, said = ` (${snippet(text)})`;
          const after = Number(res.headers.get("retry-after"));
          if (Number.isFinite(after) && after > 0) wait = Math.max(wait, Math.min(after * 1000, MOST_WAIT_MS));
        } catch (e) {
          // another outcome: the run is broken (a refusal's own count goes on)
          if (e instanceof JudgeRequestError || e instanceof UnjudgeableError) alike = { why: "", n: 0 };
          if (e instanceof UnjudgeableError) refused = { why: "", n: 0 };
          if (e instanceof InputError || e instanceof JudgeRequestError || e instanceof UnjudgeableError) throw e;
          said = "";
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
          alike = reached && alike.why === why ? { why, n: alike.n + 1 } : { why, n: reached ? 1 : 0 };
          if (alike.n >= MOST_FAILED_ALIKE) {
            throw new InputError(
              `--judge ${o.url}: ${alike.n} requests in a row failed with ${why}${said}, ${attempt + 1} tries ` +
                "each: the server answers but does none of the work; try later (the same command goes on from " +
                "the replies recorded)",
            );
          }
          throw new JudgeRequestError(`${url}: ${why}, ${attempt + 1} tries`);
        }
        const stopping = () => new JudgeRequestError(`${url}: ${why}; not tried again: the command is stopping`);
        if (halt?.stopped) throw stopping();
        o.log?.(`judge: ${why}; trying again in ${wait} ms`);
        // a stop during the wait ends it, and no try follows (the command exits with what is in flight)
        await (halt ? halt.wait(wait) : new Promise((r) => setTimeout(r, wait)));
        if (halt?.stopped) throw stopping();
      }
    },
  };
}

/**
 * An endpoint's base URL, up to /v1, with no trailing slash (nor the /chat/completions that a URL copied from a
 * request may end with): one endpoint is one spelling. A query, a fragment or a user in it is refused: the path is
 * appended to it, and it is written beside every cached reply (a key in a query would be on disk).
 */
export function endpointUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new InputError(`--judge ${text}: not a URL (expected an OpenAI-compatible API's base URL, http…/v1)`);
  }
  check(u.protocol === "http:" || u.protocol === "https:", `--judge ${text}: expected an http or https URL`);
  check(
    !u.search && !u.hash && !u.username && !u.password,
    `--judge ${text}: expected the API's base URL alone (…/v1), without a query, fragment or user; ` +
      "a key goes in the variable --api-key-env names",
  );
  return `${u.origin}${u.pathname.replace(/\/+$/, "").replace(/\/chat\/completions$/, "")}`;
}

/**
 * What an error body says: its `code` and `type` where they are words, its message, and llama.cpp's `n_ctx`, from
 * OpenAI's `{"error": {…}}` or the top level (vLLM's and SGLang's `{"object": "error", "message": …}`); a body that
 * is not JSON is its own message.
 */
function errorBody(body: string): { kinds: string[]; message?: string; nCtx?: unknown } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { kinds: [], message: body };
  }
  const top = v && typeof v === "object" ? v as Record<string, unknown> : {};
  const e = (top.error && typeof top.error === "object" ? top.error : top) as Record<string, unknown>;
  const message = [e.message, top.error].find((m) => typeof m === "string" && m.trim()) as string | undefined;
  return {
    kinds: [e.code, e.type].filter((x) => typeof x === "string") as string[],
    message,
    nCtx: e.n_ctx ?? top.n_ctx,
  };
}

/**
 * The server's message when a 429's body says the account's quota or billing is spent (OpenAI's error `code` or
 * `type` insufficient_quota, billing_hard_limit_reached, …). Only those fields: a rate limit's advice may name the
 * billing page, and that 429 passes.
 */
function spentQuota(body: string): string | undefined {
  const { kinds, message } = errorBody(body);
  const kind = kinds.find((x) => /insufficient_quota|billing/i.test(x));
  if (kind === undefined) return undefined;
  return message ? snippet(message) : kind;
}

/**
 * When a 400's body says the prompt and the reply's tokens pass the model's context (OpenAI's
 * `context_length_exceeded`, llama.cpp's `exceed_context_size_error`, vLLM's and SGLang's "maximum context
 * length" / "context length"): the server's message, and the context length where it names one (OpenAI's and
 * vLLM's "maximum context length is N", SGLang's "context length (N tokens)", llama.cpp's `n_ctx`); undefined for
 * any other refusal.
 */
function pastContext(body: string): { said: string; context?: number } | undefined {
  const { kinds, message = body, nCtx } = errorBody(body);
  const past = kinds.some((k) => /context_length_exceeded|exceed_context_size/i.test(k)) ||
    /context[ _-]?(length|window|size)/i.test(message);
  if (!past) return undefined;
  const named = /context length (?:is |\()(\d+)/i.exec(message)?.[1];
  const x = named !== undefined ? Number(named) : nCtx;
  return { said: snippet(message), context: typeof x === "number" && Number.isSafeInteger(x) && x > 0 ? x : undefined };
}

/**
 * The body, read up to MOST_BODY_BYTES: a broken server or proxy that streams without end fails the request
 * instead of filling memory.
 */
async function bodyText(res: Response, url: string): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader(), parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MOST_BODY_BYTES) {
      await reader.cancel();
      throw new JudgeRequestError(`${url}: a response past ${MOST_BODY_BYTES} bytes (a judge's reply is far less)`);
    }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) all.set(p, at), at += p.length;
  return new TextDecoder().decode(all);
}

const MOST_BODY_BYTES = 8 << 20;

/**
 * A server's text as an error quotes it: on one line, its first 200 characters, and every control character (an
 * escape sequence that would recolour, retitle or rewrite the terminal, a carriage return, a bidirectional
 * override that reorders what is shown) written as its code, never sent to the terminal.
 */
const snippet = (text: string) =>
  oneLine(text).slice(0, 200).replace(
    // deno-lint-ignore no-control-regex -- the control characters are what it finds
    /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/** The reply in a chat-completions response body (a refusal without text is an empty reply: no score in it). */
function replyText(body: string, url: string): Reply {
  let v: { model?: unknown; choices?: { message?: { content?: unknown }; finish_reason?: unknown }[] };
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
  // "length": the reply reached max_tokens (a reasoning judge's thought cut short)
  return {
    text: message.content ?? "",
    cut: v.choices![0].finish_reason === "length",
    ...(typeof v.model === "string" && v.model ? { model: v.model.slice(0, 200) } : {}),
  };
}

const MOST_REPLY_CHARS = 1 << 20;
