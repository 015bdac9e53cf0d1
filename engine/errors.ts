import { parseArgs, type ParseArgsConfig } from "node:util";
import { hangupIgnored, ignoreHangup } from "./signals.ts";

/** A problem with what the user gave (a file, a field, a flag): reported as one line, never a stack trace. */
export class InputError extends Error {
  override name = "InputError";
}

/** A message from elsewhere (a JSON parser quoting the bad bytes, say) on one line. */
export function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, " ");
}

/** Throws an InputError when `ok` is false. */
export function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new InputError(message);
}

/**
 * A JSON object's field `key` as a positive integer below 2^31 (`fallback` when absent); `file` names it in the
 * error. The bound is the native core's: its dimensions are 32-bit, and a larger one must be refused here, not
 * wrapped around on the way there.
 */
export function intField(c: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  check(v !== undefined, `${file}: missing field "${key}"`);
  check(
    Number.isInteger(v) && (v as number) > 0 && (v as number) < 2 ** 31,
    `${file}: field "${key}" must be a positive integer below 2^31, got ${JSON.stringify(v)}`,
  );
  return v as number;
}

/** A JSON object's field `key` as a positive finite number (`fallback` when absent); `file` names it in the error. */
export function numberField(c: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  check(v !== undefined, `${file}: missing field "${key}"`);
  check(
    typeof v === "number" && Number.isFinite(v) && v > 0,
    `${file}: field "${key}" must be a positive number, got ${JSON.stringify(v)}`,
  );
  return v;
}

/**
 * The one reader of an integer typed on a command line or in an environment variable: decimal digits without
 * sign, blanks or leading zeros ("0x10", "1e1", "+2", " 2", "2.0", "02" are refused), within [min, max] and
 * never past 2^53, so that what is stored and used is what was typed (and prints back the same). `what`
 * names the flag.
 */
export function parseInteger(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
  const range = max >= Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}..${max}`;
  check(Number.isSafeInteger(n) && n >= min && n <= max, `${what}: expected ${range}, got "${text}"`);
  return n;
}

/** The longest delay a timer can wait (setTimeout's 32-bit limit; a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The same for a real number: digits with one optional fraction ("0.7", "12"), no exponent or sign, ≥ 0. */
export function parseDecimal(text: string, what: string): number {
  const n = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  check(Number.isFinite(n), `${what}: expected a number ≥ 0 in decimal digits (e.g. 0.7), got "${text}"`);
  return n;
}

/** A --port and --host pair: the port a number in 0..65535, the host an address's characters; absent ones stay absent. */
export function parseAddress(
  port: string | undefined,
  host: string | undefined,
  flags: { port: string; host: string },
): { port?: number; hostname?: string } {
  check(host === undefined || /^[\w.:-]+$/.test(host), `${flags.host}: expected an address, got "${host}"`);
  return {
    port: port === undefined ? undefined : parseInteger(port, `${flags.port}: expected a port number`, 0, 65535),
    hostname: host,
  };
}

/**
 * Command-line flags by node:util's parseArgs (strict), a bad flag reported as an InputError with `usage`.
 * The one convention of every command and script (the shell scripts': tools/flags.sh), checked by
 * tests/cli/help_test.ts: `--help` (or -h) prints `usage` on stdout and exits 0, unless the command takes
 * `help` itself; an unknown flag is one line on stderr naming it, with the usage's first line, and exit code 2
 * (runMain). Call it before any work, so that neither starts anything. Arguments that are not flags are refused
 * the same way unless the command takes them (`takesArguments`): an unquoted prompt's words are not dropped.
 * A string flag given empty ("--out ''", an unset variable expanded) is refused naming it, unless its table entry
 * says `empty: true` (an empty text that means something: an answer to grade, a prompt): read as "not given",
 * it would drop the flag silently, or reach the run's key.
 */
export function parseFlags<T extends ParseArgsConfig["options"]>(
  options: T,
  usage: string,
  args: string[] = Deno.args,
  takesArguments = false,
) {
  if (!(options && "help" in options) && args.some((a) => a === "--help" || a === "-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  // A value that starts with a dash ("--seed -1") is taken as the flag's value, for the flag's own check to judge.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([\w-]+)$/.exec(args[i])?.[1];
    const o = name ? (options as Record<string, { type?: string }> | undefined)?.[name] : undefined;
    if (o?.type === "string" && /^-[\d.]/.test(args[i + 1] ?? "")) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]);
  }
  // One line: the problem, and where the flags are told.
  const refuse = (message: string) => {
    const first = usage.split("\n")[0];
    return new InputError(
      first ? `${message}; ${first}${first.includes("--help") ? "" : " (--help for more)"}` : message,
    );
  };
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    // (node's advice on positionals that start with a dash cut: the flag is named, and the usage follows)
    throw refuse(oneLine((e as Error).message).replace(/\. To specify a positional argument .*$/, ""));
  }
  if (!takesArguments && parsed.positionals.length) {
    throw refuse(`unexpected argument ${JSON.stringify(parsed.positionals[0])} (a value with spaces needs quotes)`);
  }
  // A flag given twice would silently keep its last value: only a flag that takes several may repeat.
  const seen = new Map<string, number>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const o = (options as Record<string, { type?: string; empty?: boolean }> | undefined)?.[t.name];
    check(
      t.value !== "" || o?.type !== "string" || o.empty,
      `--${t.name}: expected a value, got an empty text (leave the flag out for its default)`,
    );
  }
  for (const [name, n] of seen) {
    const multiple = (options as Record<string, { multiple?: boolean }> | undefined)?.[name]?.multiple;
    check(n === 1 || multiple, `--${name} is given ${n} times; give it once`);
  }
  const { values, positionals } = parsed;
  return { values, positionals };
}

/** Runs a command-line entry point: an InputError (or an error the native core raised about its input) is
 * one line on stderr and exit code 2; anything else is a bug and keeps its stack. */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  // A write past the file-size limit (ulimit -f) kills by SIGXFSZ, silently, mid-work; caught, the write fails
  // instead (EFBIG), and the writer says so in one line (engine/files.ts) as it does a full disk.
  if (Deno.build.os !== "windows") {
    // under nohup, SIGHUP stays ignored: the listener gives it Deno's handler too (engine/signals.ts)
    const nohup = hangupIgnored();
    Deno.addSignalListener("SIGXFSZ", () => {});
    if (nohup) ignoreHangup();
  }
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    const userFacing = err instanceof InputError ||
      /^(plan|model spec|tensor|cache|device|KV cache|sampling)\b/.test(err.message ?? "");
    console.error(userFacing ? `error: ${err.message}` : err);
    Deno.exit(userFacing ? 2 : 1);
  }
}
