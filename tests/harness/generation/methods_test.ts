/**
 * harness/generation/methods.ts: the method grammar as a table, what each method's run is given to stop on, each
 * family's bound on the positions its runs need (never past what a run reaches), and the registry's promise that a
 * method family is one file (its names appear nowhere else in harness/).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { KVCache } from "../../../engine/cache.ts";
import { TextTokenizer } from "../../../engine/tokenizer.ts";
import { LAYOUTS } from "../../../harness/generation/layouts.ts";
import {
  comparedMethods,
  familyNames,
  familyTexts,
  gridEndDependence,
  type Method,
  methodGrammar,
  minPositions,
  newSolver,
  parseMethod,
  passRows,
  recountedVote,
  replaysViews,
  runSpec,
  runTexts,
  textFamilies,
} from "../../../harness/generation/methods.ts";
import { loadCodeTexts, loadProtocol } from "../../../harness/generation/prompts.ts";
import { runAll } from "../../../harness/generation/schedule.ts";
import { randInt, Rng, RowModel, ScriptedModel, SeeingModel } from "../../helpers.ts";

const tok = TextTokenizer.qwen3();
const EOS = 151645;
const generation = { eosTokenIds: [EOS], doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0 };

Deno.test("parseMethod: every name and option, as fields", () => {
  const cases: [string, Partial<Method> & Record<string, unknown>][] = [
    ["hogwild:2", {
      workers: 2,
      family: "hogwild",
      layout: "combined",
      collab: true,
      stopAtEos: false,
      forbidTokens: true,
      finisher: "reencode",
      reencodeSteps: false,
    }],
    ["hogwild:3:interleaved:fork", { workers: 3, layout: "interleaved", finisher: "fork" }],
    ["hogwild:2:contiguous", { layout: "contiguous" }],
    ["hogwild:2:reencode-steps", { reencodeSteps: true, layout: "combined" }],
    ["hogwild:2:no-collab", { collab: false, stopAtEos: false, forbidTokens: true, layout: "combined" }],
    ["hogwild:2:no-check", { collab: true, noChecks: true, stopAtEos: false, layout: "combined" }],
    ["sequential", {
      workers: 1,
      family: "sequential",
      layout: "independent",
      collab: false,
      stopAtEos: true,
      forbidTokens: false,
      earlyStop: true,
      finisher: "reencode",
    }],
    ["sequential-no-early-stop", { workers: 1, family: "sequential", earlyStop: false, finisher: "none" }],
    ["sc:4", { workers: 4, family: "sc", layout: "independent", finisher: "reencode", earlyStop: true }],
    ["sc:2:fork", { workers: 2, finisher: "fork" }],
    ["sot", { family: "sot", threadsPerPass: 0, workers: 1, stopAtEos: true }],
    ["sot:2", { threadsPerPass: 2, workers: 2 }],
  ];
  for (const [id, want] of cases) {
    const m: Record<string, unknown> = { ...parseMethod(id) };
    assert.equal(m.id, id);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(m[k], v, `${id}.${k}`);
  }
  // The viewer replays the views of workers over a layout only.
  for (const id of ["hogwild:2", "sequential", "sc:2"]) assert.ok(replaysViews(parseMethod(id)), id);
  assert.ok(!replaysViews(parseMethod("sot:2")));
});

Deno.test("parseMethod refuses bad names and options, naming them", () => {
  const cases: [string, RegExp][] = [
    ["hogwild", /hogwild needs a worker count 1\.\.12/],
    ["hogwild:0", /needs a worker count/],
    ["hogwild:13", /needs a worker count/],
    ["hogwild:2:sideways", /unknown option "sideways"; options: combined, contiguous, interleaved, fork/],
    ["hogwild:2:contiguous:reencode-steps", /reencode-steps needs a history/],
    ["hogwild:2:no-collab:reencode-steps", /reencode-steps needs a history/],
    ["hogwild:2:no-collab:no-check", /no-check is the collaboration text without them: give one/],
    ["sequential:2", /sequential takes no options/],
    ["sc:2:interleaved", /unknown option "interleaved"; options: fork, conf, stop=…/],
    ["hogwild:2:combined", /write it as hogwild:2 \(each method has one name\)/],
    ["hogwild:2:no-collab:fork", /write it as hogwild:2:fork:no-collab/],
    ["hogwild:2:contiguous:interleaved", /one layout at most \(contiguous, interleaved given\)/],
    ["hogwild:2:fork:fork", /option "fork" given twice/],
    ["hogwild:2.0", /needs a worker count/],
    ["hogwild:0x2", /needs a worker count/],
    ["hogwild:+2", /needs a worker count/],
    ["hogwild: 2", /needs a worker count/],
    ["hogwild:02", /needs a worker count/],
    ["sc:1", /write it as sequential/],
    ["hogwild:1:contiguous", /write it as hogwild:1 /],
    ["hogwild:1:interleaved:fork", /write it as hogwild:1:fork /],
    ["sot:2:fork", /sot takes only a thread count/],
    ["beam:4", /unknown method "beam:4"; methods: hogwild:N\[/],
  ];
  for (const [id, message] of cases) assert.throws(() => parseMethod(id), message, id);
});

Deno.test("parseMethod on generated ids: whatever is accepted is its own one name, and every valid name is accepted", () => {
  const pieces = [
    "hogwild",
    "sc",
    "sot",
    "sequential",
    "sequential-no-early-stop",
    ":",
    "2",
    "02",
    "2.0",
    " ",
    "+",
    "0x2",
    "12",
    "13",
    "combined",
    "contiguous",
    "interleaved",
    "fork",
    "no-collab",
    "no-check",
    "reencode-steps",
    "stop=end",
    "",
  ];
  let seed = 99;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const id = Array.from({ length: 1 + rand(7) }, () => pieces[rand(pieces.length)]).join("");
    let m: Method | undefined;
    try {
      m = parseMethod(id);
    } catch (e) {
      assert.equal((e as Error).name, "InputError", `${id}: ${(e as Error).message}`);
      continue;
    }
    accepted++;
    assert.equal(m.id, id, "an accepted id prints back the same");
  }
  assert.ok(accepted > 50, `only ${accepted} generated ids were valid`);
  // Every valid name, built from the grammar: accepted, and two names are never the same method.
  const seen = new Map<string, string>();
  const add = (id: string) => {
    const m = parseMethod(id);
    const { id: _, ...fields } = m, key = JSON.stringify(fields);
    assert.ok(!seen.has(key), `${id} and ${seen.get(key)} are one method`);
    seen.set(key, id);
  };
  for (let n = 1; n <= 12; n++) {
    for (const layout of n === 1 ? [""] : ["", ":contiguous", ":interleaved"]) {
      for (const fork of ["", ":fork"]) {
        for (const text of ["", ":no-collab", ":no-check"]) {
          for (const re of ["", ":reencode-steps"]) {
            const id = `hogwild:${n}${layout}${fork}${text}${re}`;
            if (re && (text === ":no-collab" || layout === ":contiguous")) {
              assert.throws(() => parseMethod(id), /reencode-steps/);
            } else add(id);
          }
        }
      }
    }
    if (n > 1) add(`sc:${n}`);
    add(`sc:${n}:fork`), add(`sc:${n}:stop=end`), add(`sc:${n}:fork:stop=end`), add(`sot:${n}`);
  }
  add("sot"), add("sequential"), add("sequential-no-early-stop");
});

Deno.test("what a run stops on: Hogwild! (with or without its text) never ends at EOS nor writes forbidden tokens; baselines may stop", () => {
  const forbidden = tok.encode("#");
  const spec = (id: string) =>
    runSpec(parseMethod(id), "What is 2+2?", 0, { tokenizer: tok, generation, budgets: [4], finisherTokens: 4 });
  for (const id of ["hogwild:2", "hogwild:2:no-collab", "hogwild:1:no-collab"]) {
    const s = spec(id);
    assert.deepEqual(s.stopIds, [], id);
    assert.ok(
      s.sampling.suppress.includes(EOS) && s.sampling.suppress.includes(forbidden[0]),
      `${id}: ${s.sampling.suppress}`,
    );
  }
  for (const id of ["sequential", "sc:2"]) {
    const s = spec(id);
    assert.deepEqual(s.stopIds, [EOS], id);
    assert.deepEqual(s.sampling.suppress, [], id);
  }
  // Only the text differs between hogwild:2 and its no-collab ablation.
  const [withText, without] = [spec("hogwild:2"), spec("hogwild:2:no-collab")];
  assert.ok(tok.decode(withText.prompt).includes("Working as a team"));
  assert.ok(!tok.decode(without.prompt).includes("Working as a team"));
  assert.equal(without.redundancyEvery, 0);
  assert.equal(withText.layout, without.layout);
  // no-check, the narrower reading of the paper's ablation: the whole text but its redundancy checks
  const unchecked = spec("hogwild:2:no-check");
  assert.equal(withText.redundancyEvery, 1024);
  assert.equal(unchecked.redundancyEvery, 0);
  assert.deepEqual(unchecked.prompt, withText.prompt);
  assert.equal(unchecked.collab, true);
});

Deno.test("a new shared-page layout is one entry in LAYOUTS: methods, the grammar and reencode-steps follow it", () => {
  LAYOUTS.mirror = { ...LAYOUTS.combined, name: "mirror" };
  try {
    assert.equal(parseMethod("hogwild:2:mirror").layout, "mirror");
    assert.equal(parseMethod("hogwild:2:mirror:reencode-steps").reencodeSteps, true); // it keeps a history
    assert.match(methodGrammar()[0], /^hogwild:N\[:contiguous\|interleaved\|mirror\]/);
    LAYOUTS.mirror = { ...LAYOUTS.contiguous, name: "mirror" };
    assert.throws(() => parseMethod("hogwild:2:mirror:reencode-steps"), /needs a history \(combined or interleaved\)/);
  } finally {
    delete LAYOUTS.mirror;
  }
  assert.throws(() => parseMethod("hogwild:2:mirror"), /mirror/);
});

Deno.test("methodGrammar: every family's spellings, in the registry's order (--help prints them)", () => {
  assert.deepEqual(methodGrammar(), [
    "hogwild:N[:contiguous|interleaved][:fork][:no-collab|no-check][:reencode-steps]",
    "sequential",
    "sequential-no-early-stop",
    "sc:N[:fork][:conf][:stop=end]",
    "sot[:N]",
    "deepconf:N[:online[:together]][:high][:bottom10|tail|mean][:window=W][:k=K][:warmup=M][:tau=T|:no-consensus][:stop=box]",
    "leap:N[:clustered|hybrid][:cut][:peers=K][:every=T][:summary=S][:stop=box]",
    "groupthink:N[:lead]",
  ]);
});

Deno.test("--methods compare: each family's methods, in the registry's order, every one a method's one name", () => {
  const ids = comparedMethods([8, 128]);
  assert.deepEqual(ids, [
    "hogwild:2",
    "hogwild:4",
    "sequential",
    "sc:4",
    "sc:4:conf",
    "sot",
    "deepconf:4",
    "deepconf:4:online",
    "leap:4:every=32",
    "groupthink:4",
  ]);
  for (const id of ids) assert.equal(parseMethod(id).id, id);
  // The paper's summary interval where the grid allows four rounds of it; never below one token.
  assert.ok(comparedMethods([8192]).includes("leap:4"));
  assert.ok(comparedMethods([2]).includes("leap:4:every=1"));
  assert.ok(!comparedMethods([1]).some((id) => id.startsWith("leap")), "no summary round fits in one pass");
});

/**
 * A method family is one file: its names appear in no other file of harness/ or cli/ but on the lines listed here,
 * the registry's list and what a user sees or passes (the default --methods).
 */
const FAMILY_FILES: { file: string; names: RegExp; elsewhere: Record<string, string[]> }[] = [
  {
    file: "harness/generation/methods/sot.ts",
    names: /sot|skeleton/i,
    elsewhere: {
      "harness/generation/methods.ts": ['import { sot } from "./methods/sot.ts";', "family(sot),"],
    },
  },
  {
    file: "harness/generation/methods/leap.ts",
    names: /leap|learning from peers/i,
    elsewhere: { "harness/generation/methods.ts": ['import { leap } from "./methods/leap.ts";', "family(leap),"] },
  },
  {
    file: "harness/generation/methods/groupthink.ts",
    names: /group ?think/i,
    elsewhere: {
      "harness/generation/methods.ts": ['import { groupthink } from "./methods/groupthink.ts";', "family(groupthink),"],
    },
  },
  {
    file: "harness/generation/methods/deepconf.ts",
    names: /deep ?conf/i,
    elsewhere: {
      "harness/generation/methods.ts": ['import { deepconf } from "./methods/deepconf.ts";', "family(deepconf),"],
    },
  },
  {
    file: "harness/generation/methods/sc.ts",
    names: /\bsc\b/,
    elsewhere: {
      "harness/generation/methods.ts": ['import { sc } from "./methods/sc.ts";', "family(sc),"],
      "harness/bench/spec.ts": [
        'const DEFAULT_METHODS = "hogwild:2,hogwild:4,sequential,sequential-no-early-stop,sc:2";',
      ],
    },
  },
];

Deno.test("a method family is one file: its names appear nowhere else in harness/ or cli/ but on the allowed lines", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [join(dir, e.name)] : []
    );
  const all = ["harness", "cli"].flatMap((d) => files(join(root, d))).map((f) => relative(root, f));
  for (const { file, names, elsewhere } of FAMILY_FILES) {
    assert.ok(all.includes(file), file);
    assert.match(readFileSync(join(root, file), "utf8"), names, `${file} names its own family`);
    const stray: string[] = [];
    for (const f of all.filter((f) => f !== file)) {
      readFileSync(join(root, f), "utf8").split("\n").forEach((line, i) => {
        if (names.test(line) && !(elsewhere[f] ?? []).includes(line.trim())) {
          stray.push(`${f}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(stray, [], `the family of ${file} is named outside its file:\n${stray.join("\n")}`);
  }
});

Deno.test("recountedVote: a plain majority counted again from the paths (grouped as the grader reads them); a weighted vote cannot be", () => {
  const paths = ["5", "x = 4", null, "4"];
  assert.equal(
    recountedVote("sc:4", paths, "single"),
    "x = 4",
    "x = 4 and 4 vote together, the group by its first text",
  );
  assert.equal(recountedVote("sc:2", [null, null], "single"), null, "no answer yet: no vote");
  for (const id of ["sc:4:conf", "deepconf:4"]) assert.equal(recountedVote(id, paths, "single"), undefined, id);
  assert.equal(recountedVote("leap:4", paths, "single"), undefined, "no vote of its own");
});

Deno.test("runTexts: every text a run's files give the model, each named by the file (and field) it is read from", () => {
  const families = familyTexts(["sot", "leap:2", "groupthink:2", "hogwild:2"].map(parseMethod));
  assert.deepEqual(Object.keys(families).sort(), textFamilies().sort());
  const texts = runTexts({
    protocol: loadProtocol(),
    templates: {},
    suffixes: ["", "-code"],
    codeTexts: loadCodeTexts(),
    families,
  });
  const byFile = new Map<string, number>();
  for (const t of texts) {
    // the text is what its file holds there, read again (a family's default file is its NAME.json)
    const m = /^(.*): field "(\w+)"$/.exec(t.where), file = m ? m[1] : t.where;
    const read = m ? JSON.parse(readFileSync(file, "utf8"))[m[2]] : readFileSync(file, "utf8");
    assert.equal(read, t.text, t.where);
    byFile.set(file, (byFile.get(file) ?? 0) + 1);
  }
  // every string field of each JSON file (none of the protocol's forbidden list), four templates
  for (const [file, n] of byFile) {
    if (!file.endsWith(".json")) continue;
    const strings = Object.values(JSON.parse(readFileSync(file, "utf8"))).filter((v) => typeof v === "string");
    assert.equal(n, strings.length, file);
  }
  assert.equal([...byFile.keys()].filter((f) => f.endsWith(".txt")).length, 4);
  assert.equal(byFile.size, 4 + 2 + textFamilies().length); // templates, protocol and code, the families
  // a flag's file is named as given
  const own = runTexts({
    protocol: loadProtocol(),
    protocolFile: "/my/p.json",
    templates: { plainTemplate: "/my/t.txt" },
    suffixes: [],
  });
  assert.ok(own.every((t) => t.where.startsWith('/my/p.json: field "')), JSON.stringify(own.map((t) => t.where)));
});

// Every family, every layout, and the options that change who writes when (held traces, cut paths, slots).
const BOUNDED = [
  "hogwild:1",
  "hogwild:2",
  "hogwild:6",
  "hogwild:3:contiguous",
  "hogwild:2:interleaved",
  "hogwild:2:reencode-steps",
  "hogwild:4:no-collab",
  "hogwild:2:interleaved:no-collab",
  "hogwild:2:fork",
  "sequential",
  "sequential-no-early-stop",
  "sc:2",
  "sc:3:conf",
  "deepconf:2",
  "deepconf:4:online",
  "deepconf:3:online:together",
  "sot",
  "sot:2",
  "leap:2:every=8",
  "leap:3:cut:every=8",
  "groupthink:2",
  "groupthink:3:lead",
];

Deno.test("minPositions: each family's bound is never past the positions its run reaches by the largest budget (generated budgets, problems and step lengths), and holds its writers' geometry", async () => {
  assert.deepEqual([...new Set(BOUNDED.map((m) => parseMethod(m).family))].sort(), familyNames().sort());
  const rng = new Rng(11);
  for (const id of BOUNDED) {
    for (let k = 0; k < 3; k++) {
      const budget = randInt(rng, 1, 90), words = randInt(rng, 1, 120), every = randInt(rng, 2, 40);
      const problem = Array.from({ length: words }, () => String(randInt(rng, 0, 999))).join(" + ") + " = ?";
      const ctx = { tokenizer: tok, generation, budgets: [budget], finisherTokens: 4 }, m = parseMethod(id);
      const bound = minPositions(m, problem, ctx), what = `${id} at ${budget} passes, steps of ${every}`;
      const cache = new KVCache({ bytes: 0, pages: 1 << 16, pageSize: 16 }), peak = { pages: 0, positions: 0 };
      const run = newSolver(cache, m, problem, k, ctx);
      await runAll(new RowModel(tok, every, peak), cache, [run]);
      assert.equal(run.passes, budget, `${what}: the run writes to its budget`);
      assert.ok(bound <= peak.positions, `${what}: bound ${bound}, but the run reached ${peak.positions} positions`);
      // What the bound is for: every view of a shared page holds every worker's tokens; a slot is a budget long.
      if (m.family === "hogwild" && m.layout !== "interleaved") assert.ok(bound > m.workers * budget, what);
      if (m.family === "groupthink") assert.ok(bound > (m.workers - 1) * budget, what);
      if (m.family !== "sot" && !id.includes(":online") && !id.includes(":cut") && !id.startsWith("leap")) {
        assert.ok(bound >= budget, what);
      }
    }
  }
});

Deno.test("gridEnd: a family that does not say its runs depend on the grid's largest budget answers every checkpoint alike in a grid that ends later; one that says it does not (compare and plot say so)", async () => {
  // a model whose every token hashes what its row reads: a checkpoint that read anything else differs
  const sampled = { ...generation, doSample: true };
  const run = async (id: string, problem: string, budgets: number[]) => {
    const cache = new KVCache({ bytes: 0, pages: 1 << 15, pageSize: 16 });
    const ctx = { tokenizer: tok, generation: sampled, budgets, finisherTokens: 4 };
    const r = newSolver(cache, parseMethod(id), problem, 1, ctx);
    await runAll(new SeeingModel(tok, { eos: EOS, eosRate: 0.01 }), cache, [r], undefined, (s) => s.tokens);
    return r.checkpoints.map(({ shared_ms: _, ...c }) => JSON.stringify(c));
  };
  const ids = [...BOUNDED, "deepconf:4:online:window=4", "sc:3:stop=end", "sc:3:fork"];
  assert.deepEqual([...new Set(ids.map((m) => parseMethod(m).family))].sort(), familyNames().sort());
  for (const id of ids) {
    let differs = 0;
    for (let p = 0; p < 6; p++) {
      const problem = `Problem ${p}: what is ${p}+${p}?`;
      const [short, long] = [await run(id, problem, [4, 8, 12]), await run(id, problem, [4, 8, 12, 20, 40])];
      if (short.some((c, i) => c !== long[i])) differs++;
    }
    const said = gridEndDependence(id);
    if (said === undefined) assert.equal(differs, 0, `${id}: ${differs} of 6 problems differ at 4, 8 or 12 passes`);
    else assert.ok(differs > 0, `${id} says its runs depend on the grid's end (${said}), and none differ`);
  }
  assert.match(gridEndDependence("groupthink:4") ?? "", /slot is the grid's largest budget long/);
  assert.equal(gridEndDependence("no-such-method:2"), undefined);
});

Deno.test("passRows: no pass of a run samples more rows than its method says (the calibration times that many), and Skeleton-of-Thought's points all at once reach it", async () => {
  const spec = { budgets: [40] };
  for (const id of BOUNDED) {
    const m = parseMethod(id), ctx = { tokenizer: tok, generation, budgets: [40], finisherTokens: 4 };
    const cache = new KVCache({ bytes: 0, pages: 1 << 15, pageSize: 16 }),
      run = newSolver(cache, m, "2 + 2 = ?", 1, ctx);
    let most = 0;
    const model = new RowModel(tok, 7), forward = model.forwardSample.bind(model);
    model.forwardSample = (c, rows) => (most = Math.max(most, rows.filter((r) => r.sampler).length), forward(c, rows));
    await runAll(model, cache, [run]);
    // a finisher's row rides beside the writers' only in its own passes: the writers' rows are what passRows bounds
    assert.ok(most <= passRows(m, spec), `${id}: ${most} sampling rows in a pass, passRows ${passRows(m, spec)}`);
  }
  // a plan of ten points (sot.json's maxPoints): every thread samples in one pass
  const plan = Array.from({ length: 10 }, (_, k) => ` Point ${k + 1}\n${k + 2}.`).join("").replace(/11\.$/, "\n\nGo");
  const scripts: Record<string, string> = { outline: plan, main: "Done.\n\n".repeat(20), finisher: "4}" };
  for (let k = 1; k <= 10; k++) scripts[`point${k}`] = "Work it out. ".repeat(20);
  for (const [id, want] of [["sot", 10], ["sot:3", 3]] as const) {
    const ctx = { tokenizer: tok, generation, budgets: [120], finisherTokens: 4 };
    const cache = new KVCache({ bytes: 0, pages: 1 << 15, pageSize: 16 });
    const model = new ScriptedModel(tok, scripts);
    await runAll(model, cache, [newSolver(cache, parseMethod(id), "2 + 2 = ?", 1, ctx)]);
    const most = Math.max(...model.passes.map((p) => p.filter((r) => r.sampler).length));
    assert.equal(most, want, id);
    assert.equal(passRows(parseMethod(id), spec), want, id);
  }
});
