/**
 * engine/errors.ts's number readers, and every numeric flag of `deno task bench` through them, on generated
 * strings: whatever is accepted is the value typed (it prints back the same), anything else is one InputError
 * naming the flag; and parseFlags's refusal of arguments a command does not take.
 */
import assert from "node:assert/strict";
import { InputError, parseDecimal, parseFlags, parseInteger } from "../../engine/errors.ts";
import { type BenchSpec, parseBenchSpec } from "../../harness/bench/spec.ts";

const PIECES = [
  "0",
  "1",
  "2",
  "7",
  "9",
  "00",
  ".",
  "5",
  "e",
  "E",
  "x",
  "+",
  "-",
  " ",
  ",",
  ":",
  "/",
  "Infinity",
  "NaN",
  "_",
  "1e1",
  "0x10",
  "99999999999999999999",
  "٣",
  "\t",
];

function randomStrings(n: number, seed: number): string[] {
  const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
  return Array.from(
    { length: n },
    () => Array.from({ length: 1 + rand(4) }, () => PIECES[rand(PIECES.length)]).join(""),
  );
}

function accepts<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    assert.equal((e as Error).name, "InputError", (e as Error).message);
    return undefined;
  }
}

Deno.test("parseInteger and parseDecimal on generated strings: an accepted one is the value typed", () => {
  let ints = 0, decimals = 0;
  for (const s of randomStrings(20000, 5)) {
    const n = accepts(() => parseInteger(s, "--n", 0, 10 ** 12));
    if (n !== undefined) {
      ints++;
      assert.equal(String(n), s);
      assert.ok(n <= 10 ** 12);
    }
    const d = accepts(() => parseDecimal(s, "--x"));
    if (d !== undefined) {
      decimals++;
      assert.match(s, /^\d+(\.\d+)?$/);
      assert.equal(d, Number(s));
    }
  }
  assert.ok(ints > 100 && decimals > ints, `${ints} integers, ${decimals} decimals accepted`);
  for (const bad of ["0x10", "1e1", "+2", " 2", "2 ", "2.0", "02", "", "-1", "Infinity", "9007199254740993"]) {
    assert.throws(() => parseInteger(bad, "--n"), /^InputError: --n: expected an integer ≥ 0, got/, bad);
  }
  assert.throws(() => parseInteger("5", "--n", 0, 4), /--n: expected an integer in 0\.\.4, got "5"/);
  for (const bad of ["1e-40", ".5", "5.", "-0.5", "0x1", "1,5", ""]) {
    assert.throws(() => parseDecimal(bad, "--x"), /--x/);
  }
});

Deno.test("every numeric flag of bench: accepted values are stored as typed; seeds stay 32-bit", () => {
  const flags: [string, (s: BenchSpec) => unknown][] = [
    ["--seeds", (s) => s.seeds[0]],
    ["--limit", (s) => s.limit],
    ["--concurrency", (s) => s.concurrency],
    ["--kv-tokens", (s) => s.kvTokens],
    ["--finisher-tokens", (s) => s.finisherTokens],
    ["--redundancy-every", (s) => s.redundancyEvery],
    ["--top-k", (s) => s.sampling?.topK],
    ["--parts", (s) => s.synthetic.parts],
    ["--digits", (s) => s.synthetic.digits],
    ["--count", (s) => s.synthetic.count],
    ["--budgets", (s) => s.budgets[0]],
    ["--temperature", (s) => s.sampling?.temperature],
    ["--top-p", (s) => s.sampling?.topP],
    ["--min-p", (s) => s.sampling?.minP],
  ];
  let accepted = 0;
  for (const [flag, value] of flags) {
    for (const text of randomStrings(400, flag.length)) {
      const spec = accepts(() => parseBenchSpec([flag, text]));
      if (!spec) continue;
      accepted++;
      assert.equal(Number(value(spec)), Number(text), `${flag} ${text}`);
      if (!["--temperature", "--top-p", "--min-p"].includes(flag)) {
        assert.equal(String(value(spec)), text, `${flag} ${text}`);
      }
    }
  }
  assert.ok(accepted > 200, `${accepted} accepted`);
  assert.equal(parseBenchSpec(["--seeds", "4294967295"])!.seeds[0], 4294967295);
  assert.throws(() => parseBenchSpec(["--seeds", "4294967296"]), /--seeds: expected an integer in 0\.\.4294967295/);
  assert.throws(() => parseBenchSpec(["--budgets", "0x10,1e1"]), /--budgets/);
  assert.deepEqual(parseBenchSpec(["--budgets", "16,10"])!.budgets, [10, 16]);
  assert.throws(() => parseBenchSpec(["--shard", "1/02"]), /--shard \(n of i\/n\): expected an integer ≥ 1, got "02"/);
});

Deno.test("parseFlags: an argument that is no flag is refused unless the command takes arguments", () => {
  const options = { prompt: { type: "string" }, steps: { type: "string" } } as const;
  // an unquoted prompt: its first word would be the value and the rest dropped
  const words = ["--prompt", "Let", "A", "be", "5.", "--steps", "4"];
  assert.throws(
    () => parseFlags(options, "usage: trace --prompt TEXT", words),
    (e) =>
      e instanceof InputError &&
      /^unexpected argument "A" \(a value with spaces needs quotes\); usage: trace/.test(e.message),
  );
  assert.deepEqual(parseFlags(options, "usage", ["--prompt", "Let A be 5.", "--steps", "4"]).positionals, []);
  assert.deepEqual(parseFlags(options, "usage", ["run", "--steps", "4", "dir"], true).positionals, ["run", "dir"]);
});

type Table = Record<string, { type: "string" | "boolean"; empty?: boolean }>;

/** Every command's flags, as its module exports them (cli/*.ts): the tables parseFlags reads. */
async function commandTables(): Promise<[string, Table][]> {
  const dir = new URL("../../cli/", import.meta.url);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".ts")).sort();
  assert.ok(files.length >= 13, files.join(", "));
  return await Promise.all(files.map(async (f) => {
    const { OPTIONS } = await import(new URL(f, dir).href);
    assert.ok(OPTIONS, `cli/${f}: exports no OPTIONS (its flags' table)`);
    return [f.replace(/\.ts$/, ""), OPTIONS] as [string, Table];
  }));
}

Deno.test("parseFlags: an empty value is refused naming the flag, for every string flag of every command, but where an empty text is one (grade's --pred, engine's --prompt and --system)", async () => {
  const allowed: string[] = [];
  let refused = 0;
  for (const [command, options] of await commandTables()) {
    for (const [flag, o] of Object.entries(options)) {
      if (o.type !== "string") continue;
      for (const args of [[`--${flag}`, ""], [`--${flag}=`]]) {
        if (o.empty) {
          assert.equal(
            (parseFlags(options, "usage", args, true).values as Record<string, unknown>)[flag],
            "",
            `${command} ${args}`,
          );
          continue;
        }
        assert.throws(
          () => parseFlags(options, "usage", args, true),
          (e) => e instanceof InputError && e.message.startsWith(`--${flag}: expected a value, got an empty text`),
          `${command} ${args.join(" ")}`,
        );
        refused++;
      }
      if (o.empty) allowed.push(`${command} --${flag}`);
    }
  }
  assert.ok(refused > 200, `${refused} refused`);
  // an empty answer is a text to grade; an empty prompt is the BOS alone, an empty system message a message
  assert.deepEqual(allowed.sort(), ["engine --prompt", "engine --system", "grade --pred"]);
});
