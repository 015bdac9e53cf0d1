/**
 * The mutation table: for each headline claim of README.md, small named patches that break it and the test
 * that must then fail (`deno task mutants` applies each in a copy of the tree and runs that test;
 * tests/mutants/table_test.ts checks, without running anything, that every patch still applies).
 *
 * A patch is exact snippets replaced in files: a snippet that no longer occurs exactly once makes the mutant
 * fail loudly ("patch no longer applies") instead of testing nothing. Update the snippet with the code.
 */

/** The README's headline claims, in its words (tests/mutants/table_test.ts finds each there). */
export const CLAIMS = {
  "engine = references":
    "the fixture models match transformers' logits (or a float64 implementation) within 1e-4, and their greedy tokens exactly",
  "bit-identical alone or batched": "a row's logits are bit-identical alone or batched",
  "effect through the cache":
    "the gain goes through the shared cache: a change that drops the others' steps from a worker's view fails CI",
  "resume exact after kills":
    "a run killed at any moment, started again with the same command, finishes with every record present exactly once (on the CPU equal to an unbroken run's)",
  "shards merge exact": "shards merge into the whole run, and merge refuses missing or doubled records",
  "grader exactness":
    "the grader gives both verdicts right on its case tables, and every shared data set's golds grade as right",
  "code grader = LiveCodeBench":
    "the code grader compares outputs as LiveCodeBench does (tables Python computed), and every sandbox escape in its list fails sandboxed and succeeds without it",
  "statistics = references":
    "the statistics (avg@k with its standard error and 95% interval, pass@k, maj@k, paired differences) equal computations by hand or by brute force, and self-consistency answers as the paper's baseline does",
  "bad inputs refused": "bad input is exit 2, one line naming the culprit, nothing written",
} as const;

export type Claim = keyof typeof CLAIMS;

export interface Edit {
  /** relative to the repository root */
  file: string;
  /** an exact snippet that must occur exactly once in the file */
  find: string;
  replace: string;
}

export interface Mutant {
  name: string;
  claim: Claim;
  edits: Edit[];
  /** the test file expected to fail, relative to the repository root */
  test: string;
  /** `deno test --filter` (a substring of test names, or /regex/) */
  filter?: string;
  /** set where today's tests are known not to catch it: why, and the issue that tracks it */
  knownMiss?: string;
}

const CPU = "cuda/src/cpu_model.cc";
const SWAP_IDS: Edit = {
  file: "harness/generation/schedule.ts",
  find: "  const { ids, logprobs } = sampled;\n",
  // the first sampled ids of the first two runs in a pass trade places
  replace: "  const { ids, logprobs } = sampled;\n" +
    "  if (going.length > 1) [ids[0], ids[going[0].rows.length]] = [ids[going[0].rows.length], ids[0]];\n",
};
// every answer graded equal to every gold
const ALWAYS_EQUAL: Edit = {
  file: "tasks/grading/equivalence.ts",
  find: "export function equivalent(pred: string, gold: string, mode: Mode): boolean {\n",
  replace:
    "export function equivalent(pred: string, gold: string, mode: Mode): boolean {\n  if (pred !== null) return true;\n",
};

export const MUTANTS: Mutant[] = [
  // ---- the engine against the references
  {
    name: "attention-scale-0.1%",
    claim: "engine = references",
    edits: [{
      file: CPU,
      find: "const float scale = 1.0f / std::sqrt(float(hd));",
      replace: "const float scale = 1.001f / std::sqrt(float(hd));",
    }],
    test: "tests/engine/fixtures_test.ts",
  },
  {
    name: "rope-swapped-sign",
    claim: "engine = references",
    edits: [{
      file: CPU,
      find: "out[i] = a * cos[i] - b * s;",
      replace: "out[i] = a * cos[i] + b * s;",
    }],
    test: "tests/engine/fixtures_test.ts",
  },
  {
    name: "partial-rotary-turns-every-dimension",
    claim: "engine = references",
    edits: [
      {
        file: CPU,
        find: "const int hd = s_.head_dim, half = s_.rotary_dim / 2, kv = s_.kv_heads, ps = c.page_size();",
        replace: "const int hd = s_.head_dim, half = s_.head_dim / 2, kv = s_.kv_heads, ps = c.page_size();",
      },
      {
        file: CPU,
        find: "const int hd = s_.head_dim, half = s_.rotary_dim / 2, kv = s_.kv_heads, G =",
        replace: "const int hd = s_.head_dim, half = s_.head_dim / 2, kv = s_.kv_heads, G =",
      },
    ],
    // phi3-tiny turns every dimension: the random partial-rotary checkpoints against the float64 reference
    test: "tests/engine/phi3_test.ts",
  },
  {
    name: "awq-fused-columns-read-as-one-range",
    claim: "engine = references",
    edits: [{
      file: "engine/spec.ts",
      find: "nbytes: want.shape[0] * width, stride: p.of * unit };",
      replace: "nbytes: want.shape[0] * width };",
    }],
    // Phi-3's AWQ parts are column ranges: read as one byte range they take the neighbours' columns
    test: "tests/engine/quant_test.ts",
    filter: "AWQ Phi-3",
  },
  {
    name: "attention-head-64-drops-a-key",
    claim: "engine = references",
    edits: [{
      file: CPU,
      // the specialised weighted sum of head_dim 64 (no fixture has it) skips the last key it is given
      find: "for (int j = j0; j < j1; j++) {\n          const float wj = w[size_t(gi) * stride + j];",
      replace:
        "for (int j = j0; j < j1 - (HD == 64 && j1 == n); j++) {\n          const float wj = w[size_t(gi) * stride + j];",
    }],
    test: "tests/engine/phi3_test.ts",
    filter: "head_dim 64",
  },
  // ---- bit-identity alone or batched
  {
    name: "batch-dependent-sum",
    claim: "bit-identical alone or batched",
    edits: [{
      file: CPU,
      // matmul_impl's store (8 spaces; matmul_rows has its own at 10): the last bit moves when rows share a load
      find: "\n        for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = acc[i] + b;\n",
      replace:
        "\n        for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = rows == 1 ? acc[i] + b : acc[i] * 1.0000001f + b;\n",
    }],
    test: "tests/engine/rule_test.ts",
    filter: "bit-identical alone or batched",
  },
  {
    name: "sum-depends-on-the-pass-size",
    claim: "bit-identical alone or batched",
    edits: [{
      file: CPU,
      // the last bit moves when the pass has many rows (a prefill, or many runs in flight), never in a short one
      find: "\n        for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = acc[i] + b;\n",
      replace:
        "\n        for (int i = 0; i < rows; i++) y[size_t(m0 + i) * N + n] = M >= 64 ? acc[i] * 1.0000001f + b : acc[i] + b;\n",
    }],
    test: "tests/engine/rule_test.ts",
    filter: "bit-identical alone or batched",
  },
  {
    name: "attention-sums-in-the-pass-block-order",
    claim: "bit-identical alone or batched",
    edits: [{
      file: CPU,
      // a token's per-entry sums added in the group's block order (blocks numbered as the pass's rows name them)
      find: "const Part& P = parts[place[o]];\n          const float* sum = &sums[size_t(place[o]) * G * hd];",
      replace: "const Part& P = parts[o];\n          const float* sum = &sums[o * G * hd];",
    }],
    test: "tests/engine/rule_test.ts",
    filter: "Hogwild! row",
  },
  // ---- the effect goes through the shared cache
  {
    name: "view-drops-others-steps",
    claim: "effect through the cache",
    edits: [{
      file: "harness/generation/layouts.ts",
      find: "t.collab ? [t.headers.others, ...others(t, w), t.headers.own, w.own] : [...others(t, w), w.own];",
      replace: "t.collab ? [t.headers.others, t.headers.own, w.own] : [w.own];",
    }],
    test: "tests/harness/bench/demo_effect_test.ts",
  },
  // ---- resume after kills, on runs that write text
  {
    name: "swap-ids-of-runs-sharing-a-pass",
    claim: "resume exact after kills",
    edits: [SWAP_IDS],
    test: "tests/harness/bench/text_test.ts",
    filter: "killed at random moments",
  },
  {
    name: "swap-ids-of-runs-sharing-a-pass (KV put-back)",
    claim: "resume exact after kills",
    edits: [SWAP_IDS],
    test: "tests/harness/bench/kv_sizing_test.ts",
    filter: "puts the newest back",
  },
  {
    name: "every-run-of-a-pass-takes-the-first-runs-ids",
    claim: "bit-identical alone or batched",
    edits: [{
      file: "harness/generation/schedule.ts",
      find: "    run.accept(ids.slice(at, end), ms, solo[i], logprobs?.slice(at, end));\n",
      replace: "    run.accept(ids.slice(0, rows.length), ms, solo[i], logprobs?.slice(at, end));\n",
    }],
    test: "tests/harness/generation/schedule_test.ts",
    filter: "each run sharing a pass",
  },
  {
    name: "resumed-records-solo-time-doubled",
    claim: "resume exact after kills",
    edits: [{
      file: "harness/bench/execute.ts",
      // a record written by a resumed invocation reports twice its solo time (the time axis of the curves)
      find: "          runRecord(job, run, pool).then(([record, trace]) => {\n",
      replace: "          runRecord(job, run, pool).then(([record, trace]) => {\n" +
        "            if (pending.length < jobs.length) {\n" +
        "              record.solo_ms *= 2;\n" +
        "              for (const c of record.checkpoints) c.solo_ms *= 2;\n" +
        "            }\n",
    }],
    test: "tests/harness/bench/text_test.ts",
    filter: "half a record line",
  },
  {
    name: "resumed-run-seed+1",
    claim: "resume exact after kills",
    edits: [{
      file: "cli/bench.ts",
      find: "  const solver = (cache: KVCache, j: Job) =>\n",
      replace: "  let resumed = false;\n  const solver = (cache: KVCache, j: Job) =>\n",
    }, {
      file: "cli/bench.ts",
      find: "newSolver(cache, parseMethod(j.method), j.problem.text, j.seed, jobContext(j));",
      replace: "newSolver(cache, parseMethod(j.method), j.problem.text, j.seed + (resumed ? 1 : 0), jobContext(j));",
    }, {
      file: "cli/bench.ts",
      find: "    const pending = jobs.filter((j) => !dir.done.has(keyOf(j)));\n",
      replace:
        "    const pending = jobs.filter((j) => !dir.done.has(keyOf(j)));\n    resumed = pending.length < jobs.length;\n",
    }],
    // the SIGKILL test resumes greedy runs only, where a seed changes nothing: the sampled resume is this one
    test: "tests/harness/bench/text_test.ts",
    filter: "a resume after half a record line",
  },
  {
    name: "half-line-repair-disabled",
    claim: "resume exact after kills",
    edits: [{
      file: "harness/bench/rundir.ts",
      find: "if (repair && end < statSync(file).size) truncateSync(file, end);",
      replace: "if (repair && end < statSync(file).size && false) truncateSync(file, end);",
    }],
    test: "tests/harness/bench/text_test.ts",
    filter: "a resume after half a",
  },
  // ---- shards
  {
    name: "merge-reads-a-shard-twice",
    claim: "shards merge exact",
    edits: [{
      file: "harness/report/merge.ts",
      find: "const byShard = runs.map(({ dir }) => readRecords(dir)), records = byShard.flat();",
      replace: "const byShard = runs.map(({ dir }) => readRecords(dir)), records = [...byShard, byShard[0]].flat();",
    }],
    test: "tests/harness/bench/text_test.ts",
    filter: "shards run apart",
  },
  {
    name: "merge-accepts-a-doubled-shard",
    claim: "shards merge exact",
    edits: [
      {
        file: "harness/report/merge.ts",
        find: "check(!seen.has(shard.index), `${dir}: shard ${shard.index} given twice`);",
        replace: "check(true, `${dir}: shard ${shard.index} given twice`);",
      },
      {
        file: "harness/report/merge.ts",
        find: "check(doubled.length === 0, `records present twice",
        replace: "check(true, `records present twice",
      },
    ],
    test: "tests/harness/bench/text_test.ts",
    filter: "a missing or doubled shard is refused",
  },
  // ---- the grader
  {
    name: "grader-looser-strict-tolerance",
    claim: "grader exactness",
    edits: [{
      file: "tasks/grading/precise.ts",
      find: "return d2.lte(scale.mul(floor));",
      replace: 'return d2.lte(scale.mul(ce.bignum("1e-9")));',
    }],
    // the 1e-9 relative tolerance grader 8 had: 103993/33102 equals π again (the exact_values family)
    test: "tests/tasks/grading/grader_free_text_test.ts",
  },
  {
    name: "equivalent-always-true (case tables)",
    claim: "grader exactness",
    edits: [ALWAYS_EQUAL],
    test: "tests/tasks/grading/grader_test.ts",
  },
  {
    name: "equivalent-always-true (data sets)",
    claim: "grader exactness",
    edits: [ALWAYS_EQUAL],
    test: "tests/tasks/datasets_test.ts",
  },
  {
    name: "equivalent-always-false (data sets)",
    claim: "grader exactness",
    edits: [{
      file: "tasks/grading/equivalence.ts",
      find: "export function equivalent(pred: string, gold: string, mode: Mode): boolean {\n",
      replace:
        "export function equivalent(pred: string, gold: string, mode: Mode): boolean {\n  if (pred !== null) return false;\n",
    }],
    test: "tests/tasks/datasets_test.ts",
  },
  {
    name: "run-key-forgets-the-sampling",
    claim: "resume exact after kills",
    edits: [{
      file: "harness/bench/run_key.ts",
      find: '  "out",\n  "concurrency",\n',
      replace: '  "out",\n  "sampling",\n  "concurrency",\n',
    }],
    // a folder made at another temperature would be resumed: its records mixed with these
    test: "tests/harness/bench/run_key_test.ts",
    filter: "each input changes its field of the key",
  },
  {
    name: "grading-timeout-leaves-its-process",
    claim: "grader exactness",
    edits: [{
      file: "tasks/grading/pool.ts",
      find: "  restart() {\n    this.kill();\n",
      replace: "  restart() {\n",
    }],
    // as Worker.terminate() did: the answer counted as timed out, the comparison still computing
    test: "tests/tasks/grading/pool_test.ts",
    filter: "a runaway comparison is stopped for good",
  },
  // ---- the code grader and its sandbox
  {
    name: "code-decimals-equal-whatever-their-exponent",
    claim: "code grader = LiveCodeBench",
    edits: [{
      file: "tasks/code/compare.ts",
      find: "return a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;",
      replace: "return a.neg === b.neg && a.digits === b.digits;",
    }],
    // 1 and 10 have the same digits: Python's Decimal tells them apart
    test: "tests/tasks/code/compare_test.ts",
    filter: "stdoutMatches: Python's verdict on every pair",
  },
  {
    name: "sandbox-shares-the-host's-network",
    claim: "code grader = LiveCodeBench",
    edits: [{
      file: "tasks/code/sandbox.ts",
      find: 'const a = ["--unshare-all", "--unshare-user",',
      replace: 'const a = ["--unshare-all", "--share-net", "--unshare-user",',
    }],
    test: "tests/tasks/code/sandbox_test.ts",
    filter: "escape: a TCP connection to the host's loopback",
  },
  // ---- the statistics
  {
    name: "standard-error-over-n",
    claim: "statistics = references",
    edits: [{
      file: "harness/report/stats.ts",
      find: "return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);",
      replace: "return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length / xs.length);",
    }],
    test: "tests/harness/report/stats_test.ts",
    filter: "standard error",
  },
  {
    name: "pass@k-one-factor-short",
    claim: "statistics = references",
    edits: [{
      file: "harness/report/stats.ts",
      find: "for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;",
      replace: "for (let i = n - c + 1; i < n; i++) allWrong *= 1 - k / i;",
    }],
    test: "tests/harness/report/stats_test.ts",
    filter: "pass@k equals the share of k-subsets",
  },
  {
    name: "sc-answers-with-the-last-trace's-box",
    claim: "statistics = references",
    edits: [{
      file: "harness/generation/methods/sc.ts",
      find: "      finisherAlways: true,\n",
      replace: "      finisherAlways: false,\n",
    }],
    // the bug the statistics audit found: once a trace had boxed, sc's answer was the last trace's box
    test: "tests/harness/generation/methods/deepconf_test.ts",
    filter: "offline: the vote keeps the top",
  },
  // ---- bad inputs
  {
    name: "grade-gold-type-check-removed",
    claim: "bad inputs refused",
    edits: [{
      file: "tasks/grading/case_file.ts",
      find: 'Array.isArray(v) && v.length > 0 && v.every((g) => typeof g === "string" && g !== ""),',
      replace: "true,",
    }],
    test: "tests/bad_inputs_test.ts",
  },
];
