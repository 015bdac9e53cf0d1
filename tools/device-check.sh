#!/usr/bin/env bash
# usage: tools/device-check.sh       (on a GPU machine: about 7 minutes, its timing parts bounded by TIME_BUDGET)
# The CUDA backend on a GPU machine, in one go (those machines have no node): build the core, the addon and
# hogwild-replay, check the GPU against transformers (fixtures) and against this project's CPU path (random
# plans on many shapes and every weight format, recorded on a CPU machine), run compute-sanitizer, run the
# benchmark itself on the card (`deno task bench --device cuda`: many runs in flight, real prompt lengths,
# finisher, grading, records, curves), then time random:qwq-32b and the quantised shapes with `deno task
# perf`, with hogwild-replay (prefill, A/B switches) and over a real run's recorded passes in order (graphs
# that must follow changing shapes). `deno task bench` and `deno task perf` run from this tree, with a
# carried Deno and node_modules.
#
# Prepare on a machine with node first:   deno task device:prepare        (writes .device: ~60 MiB)
# Then, on the GPU machine, from the repo:  tools/device-check.sh         (carry .device)
# SECTIONS (default "correctness bench perf") picks what runs, in that order:
#   correctness  bf16 fixtures against transformers; AWQ, FP8 and MoE fixtures and random plans of every
#                shape and format against the CPU path, with and without graphs and each switch; memcheck
#   bench        deno task bench --device cuda on random:qwq-32b (8 runs in flight, then the first problem's
#                runs alone, for the cost model's solo times) and random:qwq-32b-awq, OlympiadBench prompts;
#                the run folders are packed into $OUT/bench.tar.xz (or BENCH_TAR); BENCH_RUNS picks runs by name
#   perf         a real run's passes in order (graphs or not), `deno task perf` on random:qwq-32b (each GEMM
#                policy), random:qwq-32b-awq and random:qwen3-30b-a3b, the paper's Table 1, replays
# Logs go to $OUT (default /tmp/hogwild-device); the last lines printed are the summary tables. The timing
# parts, the opt-in switches' checks and memcheck are skipped once the script has run TIME_BUDGET seconds
# (default 480), so that it ends in time.
set -uo pipefail
source "$(dirname "$0")/flags.sh" "$@"
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/hogwild-device}
REC=.device/recordings
BUILD=${BUILD:-/tmp/hogwild-build}
mkdir -p "$OUT"
for f in "$REC/ROOT" "$REC/fixtures.tsv" .device/deno.xz .device/node_modules.tar.xz .device/node-api/napi.h; do
  [[ -f $f ]] || { echo "no $f: run \`deno task device:prepare\` on a machine with node first"; exit 2; }
done
ROOT=$(cat "$REC/ROOT")
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"

t0=$SECONDS
if ! { cmake -S cuda -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
         -DCMAKE_JS_INC="$PWD/.device/node-api" && cmake --build "$BUILD" -j "$(nproc)" &&
       xz -dc .device/deno.xz >"$BUILD/deno" && chmod +x "$BUILD/deno" && tar -xJf .device/node_modules.tar.xz; } \
     >"$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"; echo "BUILD FAILED"; exit 1
fi
echo "build: $((SECONDS - t0)) s"
R="$BUILD/hogwild-replay"
status=0
summary=()
in_time() { (( SECONDS - t0 < ${TIME_BUDGET:-480} )) || { echo "(skipped: $1; past TIME_BUDGET=${TIME_BUDGET:-480} s)"; return 1; }; }

run() {  # name, then the replay arguments
  local name=$1; shift
  local t=$SECONDS
  if "$R" "$@" >"$OUT/$name.log" 2>&1; then r=ok; else r=FAIL; status=1; fi
  summary+=("$(printf '%-34s %-4s %3ss  %s' "$name" "$r" $((SECONDS - t)) "$(grep -E '^(replayed|sampling|error)' "$OUT/$name.log" | tr '\n' ' ')")")
}

SECTIONS=${SECTIONS:-correctness bench perf}
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
# The project's commands as deno.json's tasks run them, offline: packages from the carried node_modules.
hw_deno() { HOGWILD_ADDON="$BUILD/hogwild.node" DENO_DIR="$BUILD/deno-dir" "$BUILD/deno" run --node-modules-dir=manual "$@"; }
perf_js() { hw_deno --allow-read --allow-write --allow-ffi --allow-env --allow-sys cli/perf.ts "$@"; }
bench() { hw_deno --allow-read --allow-write --allow-ffi --allow-env --allow-sys --allow-net --allow-run cli/bench.ts \
  --device cuda "$@"; }
# A memcheck run of one recording; the rest of the arguments go to the replay.
memcheck() {
  local name=$1; shift
  local t=$SECONDS
  # API errors are not memory errors: a graph update the driver refuses is expected (the model then
  # instantiates the graph anew).
  if compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 "$R" "$@" >"$OUT/memcheck-${name// /-}.log" 2>&1; then r=ok; else r=FAIL; status=1; fi
  summary+=("$(printf '%-34s %-4s %3ss  %s' "memcheck ($name)" "$r" $((SECONDS - t)) "$(grep -E 'ERROR SUMMARY' "$OUT/memcheck-${name// /-}.log")")")
}

if section correctness; then
  # graphs=1: every shape is captured, so that the graph path is checked on every pass (the default captures a
  # shape only after it has held 8 passes, which these varied plans seldom do); graphs=0: plain launches.
  # Every fixture (fixtures.tsv, from make-recordings): bf16 GPU against transformers' float32 logits within
  # 5e-2; against the float64 references (quantised, mixture-of-experts, Phi-3) relative to the logits' size
  # (rel_l2 ≤ 2%): those fixtures' logits are larger, and prefill-sized products round dequantised weights to
  # bf16 for the tensor cores.
  listed=$(wc -l < "$REC/fixtures.tsv") recorded=$(ls "$REC"/fixture-*.hwrec | wc -l)
  if [ "$listed" != "$recorded" ]; then  # a list from another preparation: no fixture may go unchecked
    summary+=("fixtures.tsv lists $listed fixtures, $REC holds $recorded: FAIL (run deno task device:prepare)"); status=1
  fi
  while IFS=$'\t' read -r name kind; do
    if [ "$kind" = transformers ]; then tol=(--tol 5e-2); else tol=(--tol 0 --rtol 2e-2); fi
    run "$name" "$REC/$name.hwrec" --device cuda --cuda graphs=1 "${tol[@]}" --path-prefix "$ROOT=$PWD" --check-sampling
    run "$name-nographs" "$REC/$name.hwrec" --device cuda --cuda graphs=0 "${tol[@]}" --path-prefix "$ROOT=$PWD"
  done < "$REC/fixtures.tsv"
  for f in "$REC"/random-*.hwrec; do   # GPU vs this project's CPU path, same plans, every shape and format
    run "$(basename "$f" .hwrec)" "$f" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2 --check-sampling
    run "$(basename "$f" .hwrec)-nographs" "$f" --device cuda --cuda graphs=0 --tol 0 --rtol 2e-2
  done
  for f in "$REC"/random-qwen2-hd128-gqa5.hwrec "$REC"/random-llama-hd64-gqa1.hwrec; do  # the CUDA-core attention too
    run "$(basename "$f" .hwrec)-simple-attention" "$f" --device cuda --cuda attention=simple,graphs=1 --tol 0 --rtol 2e-2
  done
  for gemm in auto mma; do
    in_time "memcheck, GEMM $gemm" && memcheck "GEMM $gemm" "$REC/fixture-qwen3-tiny.hwrec" --device cuda --cuda gemm=$gemm,graphs=1 --tol 5e-2 --path-prefix "$ROOT=$PWD"
  done
  in_time "memcheck, AWQ" && memcheck awq "$REC/fixture-qwen2-awq-tiny.hwrec" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2 --path-prefix "$ROOT=$PWD"
  in_time "memcheck, MoE" && memcheck moe "$REC/fixture-qwen3moe-tiny.hwrec" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2 --path-prefix "$ROOT=$PWD"
  in_time "memcheck, FP8" && memcheck fp8 "$REC/random-qwen3-fp8-partial-blocks.hwrec" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2
  # The opt-in switches, each on every random plan and a fixture: the tensor-core skinny GEMM, programmatic
  # dependent launch, both.
  for variant in gemm=mma pdl=1 gemm=mma,pdl=1; do
    in_time "the random plans with $variant" || continue
    tag=$(sed -e 's/gemm=mma/gemm-mma/' -e 's/pdl=1/pdl/' -e 's/,/+/' <<<"$variant")
    for f in "$REC"/random-*.hwrec; do
      run "$(basename "$f" .hwrec)-$tag" "$f" --device cuda --cuda "$variant,graphs=1" --tol 0 --rtol 2e-2 --check-sampling
    done
    run "fixture-qwen3-tiny-$tag" "$REC/fixture-qwen3-tiny.hwrec" --device cuda --cuda "$variant,graphs=1" --tol 5e-2 \
      --path-prefix "$ROOT=$PWD"
  done
  printf '%s\n' "${summary[@]}"
  summary=()
fi

if section bench; then
  # The benchmark as a user runs it, on the card: OlympiadBench's prompts (real lengths), the finisher at
  # every checkpoint, early stopping on (sequential), grading, records, curves. Random weights never answer:
  # this checks the machinery and times it; accuracy is the real models' business.
  B=${BENCH_OUT:-/tmp/hogwild-bench}
  bench_run() {  # name, then bench's flags
    local name=$1; shift
    local t=$SECONDS r
    if bench --task olympiadbench --data-dir .device/data --out "$B/$name" "$@" >"$OUT/bench-$name.log" 2>&1; then
      r=ok; else r=FAIL; status=1; fi
    summary+=("$(printf '%-34s %-4s %3ss  %s' "bench $name" "$r" $((SECONDS - t)) \
      "$(grep -oE 'Invocation 1 .*' "$B/$name/summary.md" 2>/dev/null || tail -1 "$OUT/bench-$name.log")")")
    [[ $r == ok ]] || tail -15 "$OUT/bench-$name.log"
  }
  if [[ ! -f .device/data/olympiadbench/test.jsonl ]]; then
    summary+=("bench: no .device/data/olympiadbench (tools/device-kit.ts --data-dir DIR)"); status=1
  else
    for name in ${BENCH_RUNS:-qwq-32b-c8 qwq-32b-alone qwq-32b-awq-c8}; do
      case $name in
        qwq-32b-c8)
          bench_run "$name" --model random:qwq-32b --limit 4 --methods hogwild:2,sequential --budgets 512:2048:512 \
            --concurrency 8 ;;
        # The first problem's runs again, one at a time: their wall time is what the cost model's solo time of
        # the run above predicts (`deno task solo-check` compares them).
        qwq-32b-alone)
          bench_run "$name" --model random:qwq-32b --limit 1 --methods hogwild:2,sequential --budgets 512:1024:512 \
            --concurrency 1 ;;
        qwq-32b-awq-c8)
          bench_run "$name" --model random:qwq-32b-awq --limit 2 --methods hogwild:2,sequential \
            --budgets 256:768:256 --concurrency 8 ;;
        *) summary+=("bench: unknown run \"$name\" in BENCH_RUNS"); status=1 ;;
      esac
    done
    tar -C "$B" -cJf "${BENCH_TAR:-$OUT/bench.tar.xz}" .
  fi
  printf '%s\n' "${summary[@]}"
  summary=()
fi

if section perf; then
  for f in "$REC"/sequence-*.hwrec; do  # a real run's passes in order: shapes change from pass to pass
    echo; echo "## hogwild-replay $(basename "$f" .hwrec): $(cat "${f%.hwrec}.txt")"
    # graphs=8 (the default): a shape is captured once it has held 8 passes; graphs=1: every shape is captured.
    for setting in graphs=0 graphs=8 graphs=1 graphs=8,gemm=mma,pdl=1; do
      in_time "sequence, $setting" || continue
      echo "$setting: $("$R" "$f" --device cuda --cuda "$setting" --sequence 3 2>&1 | tail -1)"
    done
  done

  for variant in gemm=auto gemm=mma gemm=mma,pdl=1; do
    in_time "deno task perf, $variant" || continue
    tag=$(tr ',=' '_-' <<<"$variant")
    echo; echo "## deno task perf --device cuda --cuda $variant --model random:qwq-32b"
    if perf_js --device cuda --cuda "$variant" --model random:qwq-32b --workers 1,2,4,8 --context 4096,16384 \
        --skip-harness --json "$OUT/perf-$tag.json" >"$OUT/perf-$tag.log" 2>&1; then cat "$OUT/perf-$tag.log"
    else tail -20 "$OUT/perf-$tag.log"; echo "perf FAILED"; status=1; fi
  done
  for model in qwq-32b-awq qwen3-30b-a3b; do
    in_time "deno task perf, random:$model" || continue
    echo; echo "## deno task perf --device cuda --model random:$model --workers 1,2,4 --context 4096,16384"
    if perf_js --device cuda --model "random:$model" --workers 1,2,4 --context 4096,16384 --skip-harness \
        --json "$OUT/perf-$model.json" >"$OUT/perf-$model.log" 2>&1; then cat "$OUT/perf-$model.log"
    else tail -20 "$OUT/perf-$model.log"; echo "perf FAILED"; status=1; fi
  done
  for model in qwq-32b qwq-32b-awq; do
    in_time "deno task perf --paper-table, random:$model" || continue
    echo; echo "## the paper's Table 1 on this card with random:$model (the paper: QwQ-32B-AWQ on an L40S)"
    perf_js --paper-table --device cuda --model "random:$model" --iterations 5 2>&1 | tee "$OUT/paper-table-$model.log" |
      tail -22
  done

  for f in "$REC"/perf-*.hwrec; do
    echo; echo "## hogwild-replay $(basename "$f" .hwrec): $(tr '\n' ';' < "${f%.hwrec}.txt")"
    # GEMM auto: own CUDA-core kernel up to 2 rows, cuBLAS above; GEMM mma: own tensor-core kernel up to 32 rows;
    # attention mma: tensor cores for head_dim 64/128.
    # PERF_SETTINGS (one "gemm graphs attention profile pdl" per line) chooses the timing runs.
    while read -r setting; do
      [[ -n $setting ]] || continue
      read -r policy graphs attn profile pdl <<<"$setting"
      in_time "replay $policy $graphs $attn $profile $pdl" || continue
      echo "### GEMM $policy, CUDA graphs $graphs, attention $attn, PDL $pdl$([[ $profile == 1 ]] && echo ', per-stage profile')"
      "$R" "$f" --device cuda --cuda "gemm=$policy,graphs=$graphs,attention=$attn,profile=$profile,pdl=$pdl" \
        --repeat 20 2>&1 | tee "$OUT/$(basename "$f" .hwrec)-$policy-g$graphs-$attn-pdl$pdl.log" |
        grep -E '^\||^model|error|^profile'
    done <<<"${PERF_SETTINGS:-$'auto 8 auto 0 0\nauto 0 auto 0 0\nauto 0 auto 1 0'}"
  done
fi
echo; echo "device check: $([[ $status == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t0)) s"
exit $status
