/**
 * The runner's protocol with the driver, through the real sandbox: stdin programs and their ways of reading and
 * writing, functional programs and the encoding of their results, compile errors, how a driver that stops
 * talking is read, the judge stopping a run, and the one-line errors of a setup that cannot run code.
 */
import assert from "node:assert/strict";
import { InputError } from "../../../engine/errors.ts";
import { type CodeProgram, CodeRunner, type RunnerOptions, type RunResult } from "../../../tasks/code/runner.ts";

/** The sandboxed runner, or where the sandbox cannot run (CI excepted) the unsafe one: the protocol is the same. */
let sandboxHere = true;
async function openRunner(o: RunnerOptions): Promise<CodeRunner> {
  try {
    return await CodeRunner.open(o);
  } catch (e) {
    if (!(e instanceof InputError) || Deno.env.get("CI")) throw e;
    sandboxHere = false;
    console.log(`no sandbox here, the protocol tested without it: ${e.message}`);
    return await CodeRunner.open({ ...o, unsafe: true });
  }
}
const runner = await openRunner({ workers: 2, limits: { testSeconds: 2 } });

const stdin = (code: string): CodeProgram => ({ mode: "stdin", code });
const functional = (code: string, funcName = "f"): CodeProgram => ({ mode: "functional", code, funcName });

/** Every test's output, all of them required to be "ok". */
async function outs(program: CodeProgram, inputs: string[]): Promise<string[]> {
  const r = await runner.run(program, inputs, () => true);
  assert.equal(r.compile, undefined, JSON.stringify(r.compile));
  assert.deepEqual(r.outcomes.map((o) => [o.status, o.error]), inputs.map(() => ["ok", undefined]));
  return r.outcomes.map((o) => o.out);
}

async function one(program: CodeProgram, input = ""): Promise<RunResult> {
  return await runner.run(program, [input], () => true);
}

Deno.test("stdin: multi-line input and output, test after test", async () => {
  const code = "n = int(input())\nrows = [input() for _ in range(n)]\nfor r in reversed(rows):\n    print(r)";
  assert.deepEqual(await outs(stdin(code), ["2\na b\nc\n", "3\n1\n2\n3\n"]), ["c\na b\n", "3\n2\n1\n"]);
});

Deno.test("stdin: every way of reading it (as LiveCodeBench's mock, the departures in driver.py)", async () => {
  const input = "3\n1 2 3\n";
  const ways: Record<string, string> = {
    "input()": "n = int(input())\nprint(sum(map(int, input().split())))",
    "sys.stdin.read()": "import sys\nprint(sum(map(int, sys.stdin.read().split()[1:])))",
    "sys.stdin.read() twice": "import sys\nsys.stdin.read()\nprint(sum(map(int, sys.stdin.read().split()[1:])))",
    "sys.stdin.buffer.read()": "import sys\nprint(sum(map(int, sys.stdin.buffer.read().split()[1:])))",
    "sys.stdin.readline()": "import sys\nsys.stdin.readline()\nprint(sum(map(int, sys.stdin.readline().split())))",
    "readline keeps its newline": "import sys\nsys.stdin.readline()\nprint(repr(sys.stdin.readline()))",
    "readline()[:-1]": "import sys\nsys.stdin.readline()\nprint(sys.stdin.readline()[:-1])",
    "readline(size)": "import sys\nprint(repr(sys.stdin.readline(1)), repr(sys.stdin.readline()))",
    "readline, then input()": "import sys\nsys.stdin.readline()\nprint(sum(map(int, input().split())))",
    "from sys import stdin": "from sys import stdin\nprint(repr(stdin.readline()), repr(stdin.readline()))",
    "readline past the end": "import sys\nfor _ in range(3): sys.stdin.readline()\nprint(repr(sys.stdin.readline()))",
    "sys.stdin.readlines()": "import sys\nprint(sys.stdin.readlines())",
    "sys.stdin.buffer.readline()": "import sys\nr = sys.stdin.buffer.readline\nr()\nprint(sum(map(int, r().split())))",
    "for line in sys.stdin": "import sys\nprint([line for line in sys.stdin])",
    "open(0)": "print(sum(map(int, open(0).read().split()[1:])))",
    "the prelude's stdin": "stdin.readline()\nprint(sum(map(int, stdin.readline().split())))",
    "input = sys.stdin.readline":
      "import sys\ninput = sys.stdin.readline\ninput()\nprint(sum(map(int, input().split())))",
  };
  const got = await Promise.all(Object.values(ways).map(async (code) => (await outs(stdin(code), [input]))[0]));
  assert.deepEqual(Object.fromEntries(Object.keys(ways).map((k, i) => [k, got[i]])), {
    "input()": "6\n",
    "sys.stdin.read()": "6\n",
    "sys.stdin.read() twice": "6\n",
    "sys.stdin.buffer.read()": "6\n",
    "sys.stdin.readline()": "6\n",
    "readline keeps its newline": "'1 2 3\\n'\n",
    "readline()[:-1]": "1 2 3\n",
    "readline(size)": "'3' '\\n'\n",
    "readline, then input()": "6\n",
    // LiveCodeBench patches the real sys.stdin, which `from sys import` binds at load, to give lines without newline
    "from sys import stdin": "'3' '1 2 3'\n",
    "readline past the end": "''\n",
    "sys.stdin.readlines()": "['3', '1 2 3', '']\n",
    "sys.stdin.buffer.readline()": "6\n",
    "for line in sys.stdin": "['3\\n', '1 2 3\\n']\n",
    "open(0)": "6\n",
    "the prelude's stdin": "6\n",
    "input = sys.stdin.readline": "6\n",
  });
});

/**
 * The stdin idioms of docs/tasks-and-grading.md's table, each reading "2\n1\n2\n" (n, then n numbers) and printing
 * their sum: the verdicts LiveCodeBench's runner gives now (its MockStdinWithBuffer, since its commit 16de2a1 of
 * 2025-05-23: read() and readlines() the whole input on every call), computed there with its testing_util.py.
 */
const LCB_IDIOMS: Record<string, [string, string]> = {
  "input() then sys.stdin.read()": [
    "import sys\nn = int(input())\nprint(sum(map(int, sys.stdin.read().split())))",
    "wrong_answer", // read() gives the whole input, the 2 with it (a judge, and LiveCodeBench before: what is left)
  ],
  "sys.stdin.read() once": ["import sys\nprint(sum(map(int, sys.stdin.read().split()[1:])))", "passed"],
  "sys.stdin.read() twice, the second used": [
    "import sys\nsys.stdin.read()\nprint(sum(map(int, sys.stdin.read().split()[1:])))",
    "passed", // a judge's second read() gives ''
  ],
  "sys.stdin.readlines()": ["import sys\nprint(sum(int(x) for x in sys.stdin.readlines()[1:]))", "runtime_error"],
  "input() then sys.stdin.readlines()": [
    "import sys\nn = int(input())\nprint(sum(int(x) for x in sys.stdin.readlines()))",
    "runtime_error", // readlines() is the input split at "\n": a last '', int('') fails
  ],
  "sys.stdin.buffer.read()": ["import sys\nprint(sum(map(int, sys.stdin.buffer.read().split()[1:])))", "passed"],
  "for line in sys.stdin": ["import sys\nprint(sum([int(l) for l in sys.stdin][1:]))", "runtime_error"],
  "open(0).read()": ["print(sum(map(int, open(0).read().split()[1:])))", "wrong_answer"],
  "input = sys.stdin.readline": [
    "import sys\ninput = sys.stdin.readline\nn = int(input())\nprint(sum(int(input()) for _ in range(n)))",
    "passed",
  ],
};
/** Where the driver departs, each a program a judge accepts (driver.py's docstring). */
const DEPARTURES: Record<string, string> = { "for line in sys.stdin": "passed", "open(0).read()": "passed" };

/** The verdict of a program on "2\n1\n2\n", whose sum is 3. */
async function sumVerdict(code: string): Promise<string> {
  const r = await one(stdin(code), "2\n1\n2\n");
  if (r.compile) return r.compile.status;
  const o = r.outcomes[0];
  return o.status !== "ok" ? o.status : o.out === "3\n" ? "passed" : "wrong_answer";
}

/** `table`'s verdicts here, by name, beside LiveCodeBench's with `departures` over them. */
async function idioms(table: Record<string, [string, string]>, departures: Record<string, string>): Promise<void> {
  const names = Object.keys(table);
  const got = await Promise.all(names.map((name) => sumVerdict(table[name][0])));
  const lcb = Object.fromEntries(names.map((name) => [name, table[name][1]]));
  assert.deepEqual(Object.fromEntries(names.map((name, i) => [name, got[i]])), { ...lcb, ...departures });
}

Deno.test("stdin idioms: LiveCodeBench's verdicts but for the departures (the docs' table)", async () => {
  await idioms(LCB_IDIOMS, DEPARTURES);
});

/**
 * The docs' second table: programs that read and print as a judge expects but for one call that LiveCodeBench's
 * guard (reliability_guard) or capture touches, each reading "2\n1\n2\n" and printing 3; LiveCodeBench's verdicts
 * computed with its testing_util.py.
 */
const SUM = "n = int(input())\nprint(sum(int(input()) for _ in range(n)))";
const GUARD_IDIOMS: Record<string, [string, string]> = {
  // Capturing's close is `lambda x: 1`, which close() calls without x: TypeError
  "sys.stdout.close() after printing": [`import sys\n${SUM}\nsys.stdout.close()`, "runtime_error"],
  // reliability_guard sets os.getcwd (os.remove, os.kill, …) to None: TypeError
  "os.getcwd()": [`import os\nos.getcwd()\n${SUM}`, "runtime_error"],
  // and quit to None
  "quit() at the end": [`${SUM}\nquit()`, "runtime_error"],
  // and sys.modules["resource"] to None: the import fails (here too, not a departure)
  "raises its stack limit with resource": [
    "import sys, resource\nresource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n" +
    `sys.setrecursionlimit(10**6)\n${SUM}`,
    "runtime_error",
  ],
};
const GUARD_DEPARTURES: Record<string, string> = {
  "sys.stdout.close() after printing": "passed",
  "os.getcwd()": "passed",
  "quit() at the end": "passed",
};

Deno.test("guard and capture idioms: LiveCodeBench's verdicts but for the departures (the docs' second table)", async () => {
  await idioms(GUARD_IDIOMS, GUARD_DEPARTURES);
});

Deno.test("stdin: an empty line is read as one (input() gives '', not EOFError), as in LiveCodeBench", async () => {
  const code = "a = input()\nb = input()\nc = input()\nprint(repr(a), repr(b), repr(c))";
  assert.deepEqual(await outs(stdin(code), ["1\n\n3\n"]), ["'1' '' '3'\n"]);
  const eof = await one(stdin("input()\ninput()"), "1\n");
  assert.deepEqual(eof.outcomes.map((o) => [o.status, o.error]), [[
    "runtime_error",
    "EOFError: EOF when reading a line",
  ]]);
});

Deno.test("ints of up to 50000 digits convert to and from text (the cap LiveCodeBench's evaluation sets)", async () => {
  const digits = "7".repeat(6000);
  assert.deepEqual(await outs(stdin("x = int(input())\nprint(x % 1000, len(str(x * 10 ** 30000)))"), [digits]), [
    "777 36000\n",
  ]);
  assert.deepEqual(await outs(functional("def f(x):\n    return str(x)[:3]"), [digits]), ['"777"']);
  const over = await one(stdin("print(len(str(10 ** 50000)))"));
  assert.match(over.outcomes[0].error ?? "", /^ValueError: Exceeds the limit \(50000 digits\)/);
});

Deno.test("stdin: every way of writing is captured, but not the descriptor itself", async () => {
  const code = "import sys, os\nprint('a', end=' ')\nsys.stdout.write('b ')\nsys.stdout.buffer.write(b'c ')\n" +
    "stdout.write('d\\n')\nos.write(1, b'lost\\n')\nprint('e', file=sys.stderr)";
  assert.deepEqual(await outs(stdin(code), [""]), ["a b c d\n"]);
});

Deno.test("stdin: sys.stdout.close() is a no-op, as LiveCodeBench's capture means it (its stand-in raises instead)", async () => {
  // LiveCodeBench's Capturing sets close to `lambda x: 1` ("Make closing the StringIO a no-op"), which close() calls
  // without its x: a TypeError, an artefact of its capture (a departure, driver.py). Here close() does nothing, so
  // what is printed after it counts and a later test's flush() does not find the stream closed by an earlier test.
  const sum = "n = int(input())\ns = sum(int(input()) for _ in range(n))\n";
  const inputs = ["2\n1\n2\n", "3\n1\n2\n3\n"];
  for (
    const [code, want] of [
      [sum + "print(s)\nsys.stdout.close()", ["3\n", "6\n"]],
      [sum + "print(s)\nsys.stdout.flush()\nsys.stdout.close()", ["3\n", "6\n"]],
      [sum + "sys.stdout.close()\nprint(s, flush=True)\nsys.stdout.buffer.write(b'.')\nsys.stdout.buffer.close()", [
        "3\n.",
        "6\n.",
      ]],
      [sum + "with sys.stdout as out:\n    out.write(str(s))\nprint(sys.stdout.closed)", ["3False\n", "6False\n"]],
    ] as const
  ) {
    assert.deepEqual(await outs(stdin("import sys\n" + code), inputs), want, code);
  }
});

Deno.test("the modules LiveCodeBench's guard removes cannot be imported, at load or in a test, in both modes", async () => {
  for (const module of ["resource", "psutil", "joblib", "ipdb", "tkinter"]) {
    // ModuleNotFoundError (an ImportError) since Python 3.6; LiveCodeBench's is the same interpreter's
    const error = new RegExp(`^(ModuleNotFound|Import)Error: import of ${module} halted; None in sys\\.modules$`);
    for (
      const program of [stdin(`import ${module}\nprint(1)`), functional(`import ${module}\ndef f(x):\n    return x`)]
    ) {
      const r = await one(program, "1");
      assert.equal(r.compile?.status, "runtime_error", program.code);
      assert.match(r.compile?.error ?? "", error, program.code);
    }
    for (
      const program of [
        stdin(`print(1)\nif True:\n    import ${module}`), // top-level imports load with the program
        functional(`def f(x):\n    import ${module}\n    return x`),
      ]
    ) {
      const r = await one(program, "1");
      assert.deepEqual(r.outcomes.map((o) => o.status), ["runtime_error"], program.code);
      assert.match(r.outcomes[0].error ?? "", error, program.code);
    }
  }
});

Deno.test("stdin: a program in `if __name__ == '__main__':`, with and without its own imports", async () => {
  const main =
    'import sys\ndef main():\n    print(int(sys.stdin.readline()) + 1)\n\nif __name__ == "__main__":\n    main()';
  assert.deepEqual(await outs(stdin(main), ["41\n"]), ["42\n"]);
  // the prelude brings Counter, gcd, heappush, defaultdict…
  const bare = "c = Counter(input().split())\nh = []\nheappush(h, gcd(12, 18))\nd = defaultdict(int)\n" +
    "print(c['a'], h[0], d['x'])";
  assert.deepEqual(await outs(stdin(bare), ["a b a\n"]), ["2 6 0\n"]);
  const own = "from collections import deque\nimport math as m\nq = deque([m.isqrt(int(input()))])\nprint(q.pop())";
  assert.deepEqual(await outs(stdin(own), ["17\n"]), ["4\n"]);
});

Deno.test("stdin: exit(), quit() and sys.exit() end a test without an error, the output kept", async () => {
  for (const stop of ["exit()", "quit()", "sys.exit(0)", "sys.exit(3)", "raise SystemExit"]) {
    assert.deepEqual(await outs(stdin(`import sys\nprint(1)\n${stop}\nprint(2)`), ["", ""]), ["1\n", "1\n"], stop);
  }
});

Deno.test("functional: a Solution method and a module-level function, one JSON argument a line", async () => {
  const cls = "class Solution:\n    def f(self, nums: List[int], k: int) -> int:\n        return sum(nums) * k";
  assert.deepEqual(await outs(functional(cls), ["[1, 2, 3]\n2", "[]\n5"]), ["12", "0"]);
  const fn = "def f(s, d):\n    return s + str(d['a'])";
  assert.deepEqual(await outs(functional(fn), ['"x"\n{"a": 7}']), ['"x7"']);
});

Deno.test("functional: results encoded for Python's == (tuple → list, big ints, nan, dicts, ratios, repr)", async () => {
  const cases: [string, string][] = [
    ["(1, 2)", "[1, 2]"],
    ["[(1, 2)]", '[{"repr": "tuple"}]'],
    ["2**53 - 1", String(2 ** 53 - 1)],
    ["2**53", '{"int": "9007199254740992"}'],
    ["-(10**30)", '{"int": "-1000000000000000000000000000000"}'],
    ["10**5000 > 0 and 10**5000", `{"int": "1${"0".repeat(5000)}"}`],
    ["float('nan')", '{"float": "nan"}'],
    ["[float('inf'), -float('inf'), 0.5, -0.0, 1e300]", '[{"float": "inf"}, {"float": "-inf"}, 0.5, -0.0, 1e+300]'],
    ["{1: 'a', 'b': [True]}", '{"dict": [[1, "a"], ["b", [true]]]}'],
    ["{1, 2}", '{"repr": "set"}'],
    ["None", "null"],
    ["[False, 'é', 3.0]", '[false, "é", 3.0]'],
    ["object()", '{"repr": "object"}'],
    ["Fraction(6, -4)", '{"ratio": ["-3", "2"]}'],
    ["Decimal('2.50')", '{"ratio": ["5", "2"]}'],
    ["[Decimal('NaN'), Decimal('-Infinity')]", '[{"float": "nan"}, {"float": "-inf"}]'],
    ["complex(3, 0)", "3.0"],
    ["complex(3, 1)", '{"repr": "complex"}'],
  ];
  const code = "from fractions import Fraction\nfrom decimal import Decimal\n" +
    `def f(i):\n    return [${cases.map(([e]) => e).join(", ")}][i]`;
  const got = await outs(functional(code), cases.map((_, i) => String(i)));
  assert.deepEqual(got, cases.map(([, want]) => want));
});

Deno.test("a lone surrogate in an output reaches the host as itself, not as a '?' that a '?' would equal", async () => {
  assert.deepEqual(await outs(stdin("print('a\\udc80?')"), [""]), ["a\udc80?\n"]);
  const [out] = await outs(functional("def f(x):\n    return ['\\ud800', '?']"), ["1"]);
  assert.deepEqual(JSON.parse(out), ["\ud800", "?"]);
});

const numpy = (await new Deno.Command("/usr/bin/python3", { args: ["-c", "import numpy"], stderr: "null" }).output())
  .success;
Deno.test({
  name: "functional: numpy's scalars are results as their Python numbers are (LiveCodeBench compares them with ==)",
  ignore: !numpy,
  fn: async () => {
    const cases: [string, string][] = [
      ["np.int64(5)", "5"],
      ["[np.int32(-3), np.uint8(200)]", "[-3, 200]"],
      ["np.int64(2**62)", `{"int": "${2n ** 62n}"}`],
      ["np.bool_(True)", "true"],
      ["np.float32(0.5)", "0.5"],
      ["np.float16(0.1)", "0.0999755859375"],
      ["np.array(7)", "7"],
      ["{'a': np.int64(1)}", '{"dict": [["a", 1]]}'],
      ["np.array([1, 2])", '{"repr": "ndarray"}'],
      ["np.complex128(1)", "1.0"], // a complex with no imaginary part equals its real part
      ["np.complex128(1 + 2j)", '{"repr": "complex128"}'],
    ];
    const code = `import numpy as np\ndef f(i):\n    return [${cases.map(([e]) => e).join(", ")}][i]`;
    assert.deepEqual(await outs(functional(code), cases.map((_, i) => String(i))), cases.map(([, want]) => want));
  },
});

Deno.test("functional: what the program prints is not its output, nor counted against the cap (as LiveCodeBench)", async () => {
  assert.deepEqual(await outs(functional("def f(x):\n    print('noise')\n    return x"), ["5"]), ["5"]);
  const small = await openRunner({ workers: 1, limits: { testSeconds: 2, outputBytes: 1000 } });
  try {
    const code = "print('y' * 2000)\ndef f(x):\n    print('y' * 2000)\n    return x";
    const r = await small.run(functional(code), ["5", "6"], () => true);
    assert.deepEqual(r.outcomes.map((o) => [o.status, o.out]), [["ok", "5"], ["ok", "6"]]);
    const big = await small.run(functional("def f(x):\n    return 'y' * 2000"), ["5"], () => true);
    assert.equal(big.outcomes[0].status, "output_limit");
  } finally {
    await small.close();
  }
});

Deno.test("compile errors: syntax, the module raising, no such method or function", async () => {
  const cases: [CodeProgram, string, RegExp][] = [
    [stdin("for x in\n"), "syntax_error", /^SyntaxError/],
    [functional("def f(x):\nreturn x"), "syntax_error", /^IndentationError/],
    [functional("import no_such_module\ndef f(x): return x"), "runtime_error", /ModuleNotFoundError/],
    [functional("class Solution:\n    def g(self): pass"), "runtime_error", /no method 'f'/],
    [
      functional("class Solution:\n    def __init__(self): raise ValueError('no')\n    def f(self): pass"),
      "runtime_error",
      /ValueError: no/,
    ],
    [functional("def g(x): return x"), "runtime_error", /no function 'f'/],
  ];
  for (const [program, status, error] of cases) {
    const r = await one(program, "1");
    assert.equal(r.compile?.status, status, program.code);
    assert.match(r.compile!.error, error);
    assert.deepEqual(r.outcomes, []);
  }
});

Deno.test("the load is timed as a test is (LiveCodeBench's alarm around it): past its time, a timeout", async () => {
  // testSeconds is 2: a load of 2.2 s fails (by the driver's clock, within the host's slack), however it handled the
  // alarm; one of 1.5 s loads.
  const loads = [
    "while True: pass",
    "import time\ntime.sleep(2.2)",
    "import time\ntry:\n  time.sleep(5)\nexcept:\n  pass",
    "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(2.2)",
    "import time\nclass Solution:\n  def __init__(self):\n    time.sleep(2.2)\n  def f(self, x):\n    return x",
  ];
  const got = await Promise.all(loads.map((code) => one(functional(`${code}\ndef f(x): return x`), "1")));
  assert.deepEqual(
    got.map((r) => [r.compile, r.outcomes]),
    loads.map(() => [{ status: "timeout", error: "TestTimeout: time limit exceeded while loading" }, []]),
  );
  assert.deepEqual(await outs(functional("import time\ntime.sleep(1.5)\ndef f(x): return x"), ["1"]), ["1"]);
  // one that blocks the alarm is stopped by the host's clock, its slack later
  const blocked = await one(
    functional("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nwhile True: pass"),
    "1",
  );
  assert.deepEqual(blocked.compile, { status: "timeout", error: "the program did not load in time" });
});

Deno.test("the judge sees each ok outcome; rejecting test 1 stops the run there (test 2 never runs)", async () => {
  const seen: number[] = [];
  const r = await runner.run(stdin("print(input())"), ["a", "b", "c"], (i, o) => (seen.push(i), o.out === "a\n"));
  assert.deepEqual(seen, [0, 1]);
  assert.deepEqual(r.outcomes.map((o) => o.out), ["a\n", "b\n"]);
  const failed = await runner.run(stdin("x = int(input())\nprint(1 // x)"), ["1", "0", "2"], () => true);
  assert.deepEqual(failed.outcomes.map((o) => [o.status, o.error]), [
    ["ok", undefined],
    ["runtime_error", "ZeroDivisionError: integer division or modulo by zero"],
  ]);
});

Deno.test("a driver that stops talking: a signal, CPU time, garbage on the protocol (both modes)", async () => {
  // a wall limit far past the 1 s of CPU the SIGXCPU case spends: on a busy machine 2 s of wall held less than 1 s
  // of CPU, and the time limit, not the signal, ended it
  const limits = { testSeconds: 20 };
  const [sandboxed, unsafe] = [
    await openRunner({ workers: 1, limits }),
    await CodeRunner.open({ unsafe: true, limits }),
  ];
  try {
    const cases: [string, string, RegExp][] = [
      ["import os\nos.kill(os.getpid(), 9)", "runtime_error", /killed by SIGKILL/],
      ["import ctypes\nctypes.string_at(0)", "runtime_error", /killed by SIGSEGV/],
      // RLIMIT_CPU (0) through libc: `import resource` fails, as in LiveCodeBench
      [
        "import ctypes\nlimit = (ctypes.c_ulong * 2)(1, 2)\nctypes.CDLL(None).setrlimit(0, limit)\nwhile True: pass",
        "timeout",
        /SIGXCPU/,
      ],
      ["import os\nos.write(3, b'not json\\n')\nimport time\ntime.sleep(1)", "runtime_error", /malformed/],
      ['import os\nos.write(3, b\'{"i": 0, "status": "fine", "out": ""}\\n\')', "runtime_error", /malformed/],
    ];
    for (const [code, status, error] of cases) {
      for (const mode of [sandboxed, unsafe]) {
        const r = await mode.run(stdin(code), [""], () => true);
        assert.equal(r.outcomes.length, 1, code);
        assert.equal(r.outcomes[0].status, status, code);
        assert.match(r.outcomes[0].error ?? "", error, code);
      }
    }
  } finally {
    await sandboxed.close(), await unsafe.close();
  }
});

Deno.test("the overall cap: a slow load and a slow test together pass (testSeconds + 1) × tests + 5 s", async () => {
  // testSeconds 6, one test: the cap is 12 s; the load takes 5.5 s, the test blocks its alarm (the host's clock
  // would end it 6.5 s after it began).
  const slow = await openRunner({ workers: 1, limits: { testSeconds: 6 } });
  try {
    const code = "import time, signal\ntime.sleep(5.5)\ndef f(x):\n" +
      "    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\n    time.sleep(8)\n    return x";
    const r = await slow.run(functional(code), ["1"], () => true);
    assert.equal(r.capped, true);
    assert.equal(r.outcomes[0].status, "timeout");
    assert.ok(r.ms >= 12_000 && r.ms < 12_500, `${r.ms} ms`);
  } finally {
    await slow.close();
  }
});

Deno.test("a large request travels while the replies are read", async () => {
  const input = "x".repeat(20 << 20);
  assert.deepEqual(await outs(stdin("print(len(input()))"), [input, "ab"]), [`${20 << 20}\n`, "2\n"]);
});

Deno.test("no sandbox here: one line naming what to install and --unsafe-exec; bad options named", async () => {
  await assert.rejects(CodeRunner.open({ bwrap: "/nonexistent/bwrap" }), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.doesNotMatch(e.message, /\n/);
    assert.match(e.message, /bubblewrap \(bwrap\).*apt install bubblewrap.*--unsafe-exec.*\/nonexistent\/bwrap/);
    return true;
  });
  await assert.rejects(CodeRunner.open({ python: "/nonexistent/python3" }), /python: \/nonexistent\/python3 not found/);
  await assert.rejects(CodeRunner.open({ limits: { testSeconds: 0 } }), /limits\.testSeconds: expected a number > 0/);
  await assert.rejects(CodeRunner.open({ limits: { memoryBytes: 1.5 } }), /limits\.memoryBytes: expected an integer/);
  await assert.rejects(CodeRunner.open({ workers: 0 }), /workers: expected an integer ≥ 1/);
  await assert.rejects(runner.run({ mode: "functional", code: "" }, ["1"], () => true), /needs funcName/);
});

Deno.test("no ps here: refused when the runner opens, not at the first run it must kill (hours into a bench)", async () => {
  const open = `import { CodeRunner } from "${new URL("../../../tasks/code/runner.ts", import.meta.url)}";
    const r = await CodeRunner.open({ workers: 1, unsafe: Deno.args[0] === "unsafe" });
    console.log("opened");
    try {
      const res = await r.run({ mode: "stdin", code: "print(input())" }, ["1", "2"], () => false);
      console.log("ran", res.outcomes.length);
    } finally {
      await r.close();
    }`;
  for (const mode of ["sandboxed", "unsafe"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", open, mode],
      env: { PATH: "/nonexistent" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "", mode);
    // with no bubblewrap here the sandboxed runner is refused for that first, as it opens too
    const refused = mode === "sandboxed" && !sandboxHere
      ? /InputError: (code runner: cannot run ps \(apt install procps\)|code execution needs bubblewrap)/
      : /InputError: code runner: cannot run ps \(apt install procps\)/;
    assert.match(said, refused, mode);
  }
});

Deno.test("timeouts by the program's own clock (as LiveCodeBench's alarm); the host's timer a backstop", async () => {
  const timed = async (code: string) => {
    const t0 = performance.now(), r = await one(stdin(code));
    return { r, s: (performance.now() - t0) / 1000 };
  };
  // testSeconds is 2: the driver's alarm stops a loop and a sleep; `except Exception` does not swallow it.
  for (
    const code of [
      "while True: pass",
      "import time\ntime.sleep(30)",
      "while True:\n  try:\n    pass\n  except Exception:\n    pass",
    ]
  ) {
    const { r, s } = await timed(code);
    assert.deepEqual(r.outcomes.map((o) => o.status), ["timeout"], code);
    assert.match(r.outcomes[0].error ?? "", /TestTimeout: time limit exceeded/, code);
    assert.ok(s < 2.9, `${code}: ${s.toFixed(2)} s`);
  }
  // A program that ignores the alarm is stopped by the host's clock, its slack (0.5 s) later.
  const { r, s } = await timed("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass");
  assert.deepEqual(r.outcomes.map((o) => [o.status, o.error]), [["timeout", "time limit exceeded"]]);
  assert.ok(s > 2.45 && s < 4, `${s.toFixed(2)} s`);
});

Deno.test("a program that outlives its time and then finishes is a timeout, whatever it did with the alarm", async () => {
  // testSeconds is 2: each ends within the host's slack (2.5 s), with the right output.
  const late = [
    "try:\n  while True: pass\nexcept:\n  pass\nprint(1)",
    "import time\nt = time.time()\nwhile time.time() - t < 2.2:\n  try:\n    pass\n  except BaseException:\n    pass\nprint(1)",
    "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(2.2)\nprint(1)",
    "import signal, time\nsignal.setitimer(signal.ITIMER_REAL, 0)\ntime.sleep(2.2)\nprint(1)",
  ];
  const got = await Promise.all(late.map((code) => one(stdin(code))));
  assert.deepEqual(
    got.map((r) => r.outcomes.map((o) => [o.status, o.error])),
    late.map(() => [["timeout", "TestTimeout: time limit exceeded"]]),
  );
  const fn = await one(
    functional("def f(x):\n  try:\n    while True: pass\n  except BaseException:\n    return x"),
    "1",
  );
  assert.deepEqual(fn.outcomes.map((o) => o.status), ["timeout"]);
});

Deno.test("a program that stops the driver's clock and delays its lines is timed by the host: past the limit, a timeout", async () => {
  // testSeconds is 2. Each forger disarms the driver's alarm and clock (`import __main__`) and sleeps `before`
  // ahead of the line that begins its test ("start"), `inside` the test, and `after` ahead of its result line, on
  // the test `slow` (the others are instant). The host times each test from handing it its input to its result.
  const forger = (before: number, inside: number, after: number, slow: number) =>
    `import __main__ as D, time
D.signal = type("S", (), {"setitimer": staticmethod(lambda *a: None), "ITIMER_REAL": 0})
D._monotonic = lambda: 0.0
emit = D.emit
def slowed(m):
    if m.get("start", m.get("i")) == ${slow}:
        time.sleep(${before} if "start" in m else ${after})
    emit(m)
D.emit = slowed
def f(x):
    if x == ${slow}:
        time.sleep(${inside})
    return 2 * x`;
  const cases: [number, number, number, number, string[]][] = [
    [2, 2, 0, 0, ["timeout"]], // the reviewer's: half the work before "start"
    [2.5, 0.5, 0, 0, ["timeout"]],
    [0, 1.5, 1.5, 0, ["timeout"]], // half before the result line
    [1, 1, 1, 0, ["timeout"]],
    [2, 2, 0, 1, ["ok", "timeout"]], // a later test: the host's clock starts with its input, not the line before
    [0, 2, 2, 2, ["ok", "ok", "timeout"]],
    [0.3, 0.3, 0.3, 0, ["ok", "ok"]], // within the limit all told
  ];
  const got = await Promise.all(cases.map(async ([before, inside, after, slow, want]) => {
    const r = await runner.run(
      functional(forger(before, inside, after, slow)),
      want.map((_, i) => String(i)),
      () => true,
    );
    return r.outcomes.map((o) => o.status);
  }));
  assert.deepEqual(got, cases.map((c) => c[4]), JSON.stringify(got));
  // an honest program, fast or near the limit, still passes; the recorded time is the host's
  const honest = await runner.run(
    functional("import time\ndef f(x):\n  time.sleep(x)\n  return x"),
    ["0", "1.5"],
    () => true,
  );
  assert.deepEqual(honest.outcomes.map((o) => [o.status, o.out]), [["ok", "0"], ["ok", "1.5"]]);
  assert.ok(honest.outcomes[1].ms >= 1500 && honest.outcomes[1].ms < 2000, `${honest.outcomes[1].ms} ms`);
});

Deno.test("a host thread kept busy past a test's deadline is no timeout: what the driver sent is read first", async () => {
  // The test ends in 0.3 s; this thread is then blocked for 4.5 s (as by a long forward pass), past the host's
  // clock (2 + 0.5 s): its timer fires late, with the result already in the pipe.
  const run = runner.run(stdin("import time\ntime.sleep(0.3)\nprint(7)"), ["", ""], () => true);
  await new Promise((resolve) => setTimeout(resolve, 250));
  const until = performance.now() + 4500;
  while (performance.now() < until) { /* busy, as a synchronous forward pass is */ }
  const r = await run;
  assert.deepEqual(r.outcomes.map((o) => [o.status, o.out]), [["ok", "7\n"], ["ok", "7\n"]]);
});

Deno.test("a host thread kept busy while a test's input is written and the program works is no timeout: the busy time is the host's", async () => {
  // Each test takes 0.8 s of 2; once test 0 is judged, this thread is busy for 1.8 s (another program's long
  // comparison), while test 1's input (up to 2 MB: most of it waits in this thread to be written) goes out. The
  // host's clock then reads 2.6 s for test 1, past 2 + 0.5 s; less its busy time, 0.8 s.
  const code = "import sys, time\ndata = sys.stdin.read()\nt = time.monotonic()\n" +
    "while time.monotonic() - t < 0.8: pass\nprint(len(data))";
  for (const bytes of [0, 500_000, 2_000_000]) {
    const r = await runner.run(stdin(code), ["", "x".repeat(bytes)], (i) => {
      if (i === 0) {
        setTimeout(() => {
          const until = performance.now() + 1800;
          while (performance.now() < until) { /* busy */ }
        }, 0);
      }
      return true;
    });
    assert.deepEqual(r.outcomes.map((o) => [o.status, o.out]), [["ok", "0\n"], ["ok", `${bytes}\n`]], `${bytes} bytes`);
    assert.ok(r.outcomes.every((o) => o.ms < 2500), JSON.stringify(r.outcomes.map((o) => o.ms)));
  }
});

/** A bwrap that fails as a kernel out of user namespaces makes it fail, as many times as `fails` says. */
async function failingBwrap(): Promise<{ path: string; fail(times: number): void; calls(): number; remove(): void }> {
  const real = (Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/bwrap`).find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  })!;
  const dir = await Deno.makeTempDir({ prefix: "failing-bwrap-" });
  const path = `${dir}/bwrap`;
  // A root host runs bwrap as uid 65534: the counters must be theirs to write.
  Deno.chmodSync(dir, 0o777);
  const write = (
    name: string,
    n: number,
  ) => (Deno.writeTextFileSync(`${dir}/${name}`, `${n}\n`), Deno.chmodSync(`${dir}/${name}`, 0o666));
  write("calls", 0), write("fails", 0);
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh
if [ "$1" = --help ]; then exec ${real} "$@"; fi
read n < ${dir}/calls; echo $((n + 1)) > ${dir}/calls
read f < ${dir}/fails
if [ "$f" -gt 0 ]; then
  echo $((f - 1)) > ${dir}/fails
  echo "bwrap: Creating new namespace failed: No space left on device" >&2
  exit 1
fi
exec ${real} "$@"
`,
  );
  Deno.chmodSync(path, 0o755);
  return {
    path,
    fail: (times) => (write("fails", times), write("calls", 0)),
    calls: () => Number(Deno.readTextFileSync(`${dir}/calls`)),
    remove: () => Deno.removeSync(dir, { recursive: true }),
  };
}

Deno.test({
  name: "a sandbox that fails before the program runs is no verdict: retried once, then one clear error",
  ignore: !sandboxHere,
  fn: async () => {
    const bwrap = await failingBwrap();
    const failing = await CodeRunner.open({ bwrap: bwrap.path, workers: 1, limits: { testSeconds: 2 } });
    try {
      bwrap.fail(1);
      const r = await failing.run(stdin("print(int(input()) + 1)"), ["41"], () => true);
      assert.deepEqual([r.compile, r.outcomes.map((o) => [o.status, o.out])], [undefined, [["ok", "42\n"]]]);
      assert.equal(bwrap.calls(), 2);
      bwrap.fail(2);
      await assert.rejects(failing.run(stdin("print(1)"), [""], () => true), (e: Error) => {
        assert.ok(e instanceof InputError);
        assert.equal(
          e.message,
          "code runner: the sandbox failed twice before the program ran: exit code 1: " +
            "bwrap: Creating new namespace failed: No space left on device",
        );
        return true;
      });
      assert.equal(bwrap.calls(), 2);
    } finally {
      await failing.close();
      bwrap.remove();
    }
  },
});
