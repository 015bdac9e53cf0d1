#!/usr/bin/env bash
# usage: tools/device-check.sh       (on a GPU machine, in two device calls; each ends inside one call's limit)
# The CUDA backend on a GPU machine (those have no node): build the core, the addon and hogwild-replay, check
# the GPU against transformers (fixtures) and against this project's CPU path (random plans on many shapes and
# every weight format, recorded on a CPU machine), run compute-sanitizer, run the benchmark itself on the card
# (`deno task bench --device cuda`: many runs in flight, real prompt lengths, finisher, grading, records,
# curves), then time random:qwq-32b and the quantised shapes with `deno task perf`, with hogwild-replay
# (prefill, A/B switches) and over a real run's recorded passes in order (graphs that must follow changing
# shapes). `deno task bench` and `deno task perf` run from this tree, with a carried Deno and node_modules.
#
# Prepare where node is first:  deno task device:prepare --data-dir DATA   (fills .device, prints both calls)
# A device call carries at most 64 MiB with the tree, so the check is two calls, the second made the moment the
# first returns (the machine stays warm 30 s idle; a fresh one costs its start and a build from scratch):
# SECTIONS=correctness, then SECTIONS="bench perf", each carrying what device:prepare prints (deviceCalls) with
# the CALL_LIMIT it prints (the plan of a session's 15 minutes: docs/engine.md, "The GPU machine").
# SECTIONS (default all three) picks what runs, in this order:
#   correctness  every fixture (bf16 ones against transformers; AWQ, FP8, MoE and Phi-3 against their float64
#                references) and random plans of every shape and format (their gapped views against the CPU's
#                slow path) with graphs and the sampler (top-k log-probabilities, crafted rows), then each with
#                plain launches, the CUDA-core attention; then, while TIME_BUDGET allows, memcheck and each switch
#   bench        deno task bench --device cuda on random:qwq-32b, 8 runs in flight; later (TIME_BUDGET) the first
#                problem's runs alone, for the cost model's solo times, and random:qwq-32b-awq; OlympiadBench
#                prompts; BENCH_RUNS picks runs by name
#   perf         `deno task perf --views` (random:qwen3-8b), `deno task perf` on random:qwq-32b (GEMM auto), a
#                real run's passes in order (graphs=8); later (TIME_BUDGET) the other graph settings and GEMM
#                policies, random:qwq-32b-awq and random:qwen3-30b-a3b, the paper's Table 1, replays
# With bench and perf both (call 2), the first parts of both run before the rest of either: the bench first (the
# card's end-to-end check: the sampler and buffers of the blind fixes, cuda/NOTES.md, under many runs in flight),
# then perf's; the first parts run whatever TIME_BUDGET says (DEADLINE still stops them).
# The build (core, addon, replay) is skipped where BUILD holds a whole build of the same sources (by content, not
# time: a tree sent again has new times): call 2 on call 1's machine builds nothing.
# Logs go to LOGS (default /tmp/hogwild-device; cleared first, so each call packs its own). Where OUT names a
# folder (the device tool sets it: the files it brings back) they are packed there after every check,
# OUT/logs.tar.gz (checks.txt: the checks' lines), and the bench's run folders after every run, OUT/bench.tar.xz:
# a call killed at its limit still brings back what ran.
# Each check prints one line as it ends; the last lines are the skipped and failed ones and the verdict.
# CALL_LIMIT: the seconds this script may run (default and at most 600; device:prepare prints each call's): no
# step runs past DEADLINE (default CALL_LIMIT - 20: the logs packed and brought back inside the call), and the
# parts marked later above are skipped once the script has run TIME_BUDGET seconds (default two thirds of
# DEADLINE); the verdict is then INCOMPLETE (exit 3) unless
# something failed (FAILED, exit 1). A replay that does not say "GEMM: cuBLAS loaded" makes it INCOMPLETE too:
# cuBLAS runs every product above 2 rows, and without it they all ran on the own kernels (the path real runs
# take went unchecked). Each step is stopped after STEP_TIMEOUT seconds (default 180). A TERM or
# INT stops the step in flight at once: the verdict is then STOPPED (exit 124), the logs packed as ever.
set -uo pipefail
source "$(dirname "$0")/flags.sh" "$@"
cd "$(dirname "$0")/.." || exit 2
export PATH="$PATH:/usr/local/cuda/bin"
LOGS=${LOGS:-/tmp/hogwild-device}
REC=.device/recordings
TIM=.device/timing
# a folder of this tree's path: CMake refuses a build folder configured from another source tree
BUILD=${BUILD:-/tmp/hogwild-build-$(printf %s "$PWD" | cksum | cut -d ' ' -f 1)}
SECTIONS=${SECTIONS:-correctness bench perf}
for s in $SECTIONS; do  # a mistyped section would otherwise check nothing and pass
  [[ $s == correctness || $s == bench || $s == perf ]] ||
    { echo "SECTIONS: \"$s\" is not a section (correctness, bench, perf; separated by spaces)"; exit 2; }
done
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
for v in CALL_LIMIT DEADLINE TIME_BUDGET STEP_TIMEOUT BUILD_TIMEOUT; do
  [[ -z ${!v:-} || ${!v} =~ ^[0-9]+$ ]] || { echo "$v: expected whole seconds, got \"${!v}\""; exit 2; }
done
CALL_LIMIT=$(( ${CALL_LIMIT:-600} < 600 ? ${CALL_LIMIT:-600} : 600 ))
DEADLINE=${DEADLINE:-$(( CALL_LIMIT > 20 ? CALL_LIMIT - 20 : 0 ))}
TIME_BUDGET=${TIME_BUDGET:-$(( DEADLINE * 2 / 3 ))}
STEP_TIMEOUT=${STEP_TIMEOUT:-180}
# This call's logs only (the first call's would come back again with the second's): LOGS is cleared, where a
# device check made it (the mark), and refused where it holds anything else.
if [[ -e $LOGS && ! -e $LOGS/.hogwild-device-logs && -n $(ls -A "$LOGS" 2>/dev/null) ]]; then
  echo "LOGS=$LOGS holds files no device check wrote: give a new or empty folder"; exit 2
fi
rm -rf "$LOGS" && mkdir -p "$LOGS" && touch "$LOGS/.hogwild-device-logs" || exit 2
exec 3>&1 4>&2  # the script's own output: a trap may run inside a step's redirection
t0=$SECONDS
status=0
checks=0
failed=()
skipped=()
replays=0
no_cublas=()

# Folder $1 packed into OUT/$2 (tar's compression flag $3); the last pack is replaced only by a whole one.
pack() {
  [[ -n ${OUT:-} && -d ${OUT:-} && -d $1 ]] || return 0
  tar -C "$1" "$3" -cf "$OUT/$2.part" . >/dev/null 2>&1 && mv -f "$OUT/$2.part" "$OUT/$2"
}

# One line a check: its name, ok or FAIL, seconds, and what its log says (cut short when it passed); kept in
# checks.txt too, and the logs packed again.
line() {
  local d=$4
  if [[ $2 == ok ]]; then d=${d:0:70}; else d=${d:0:600}; status=1; failed+=("$1: $d"); fi
  checks=$((checks + 1))
  printf '%-44s %-4s %4ss  %s\n' "$1" "$2" "$3" "$d" | tee -a "$LOGS/checks.txt"
  pack "$LOGS" logs.tar.gz -z
}

finish() {
  local rc=$?
  exec 1>&3 2>&4
  (( rc != 0 )) && status=$rc
  # Nothing failed but something did not run: not a pass (exit 3), so that no one reads memcheck as passed.
  local verdict=PASSED gemm="cuBLAS loaded in every replay"
  (( replays )) || gemm="no replay ran"
  (( ${#no_cublas[@]} )) && gemm="cuBLAS NOT LOADED in ${#no_cublas[@]} replays"
  if [[ -n $stopped ]]; then verdict="STOPPED (signal)"; elif [[ $status != 0 ]]; then verdict=FAILED
  elif (( ${#skipped[@]} || ${#no_cublas[@]} )); then verdict=INCOMPLETE status=3; fi
  {
    echo
    (( ${#skipped[@]} )) && { echo "skipped (past TIME_BUDGET):"; printf '  %s\n' "${skipped[@]}"; }
    (( ${#no_cublas[@]} )) && echo "cuBLAS NOT LOADED in ${#no_cublas[@]} of $replays replays: products above 2 rows" \
      "ran on the own kernels, the cuBLAS path real runs take went unchecked (first: ${no_cublas[0]})"
    (( ${#failed[@]} )) && { echo "failed:"; printf '  %s\n' "${failed[@]}"; }
    echo "device check ($SECTIONS): $verdict in $((SECONDS - t0)) s: $checks checks, ${#failed[@]} failed," \
      "${#skipped[@]} skipped; $gemm; logs in $LOGS$([[ -n ${OUT:-} ]] && echo " and $OUT/logs.tar.gz")"
  } | tee -a "$LOGS/checks.txt"
  pack "$LOGS" logs.tar.gz -z
  exit "$status"
}
stopped=
trap finish EXIT
# A signal stops the step in flight (step), and the verdict goes to the script's own output (3), not the step's log.
trap 'stopped=1; [[ -n ${STEP_PID:-} ]] && kill -TERM "$STEP_PID" 2>/dev/null; echo "stopped (signal)" >&3; exit 124' TERM INT

# What each section needs, before anything runs.
need=(.device/node-api/napi.h)
section correctness && need+=("$REC/ROOT" "$REC/fixtures.tsv")
{ section bench || section perf; } && need+=(.device/deno.xz .device/node_modules.tar.xz)
section bench && need+=(.device/data/olympiadbench/test.jsonl)
for f in "${need[@]}"; do
  [[ -f $f ]] || {
    echo "no $f for SECTIONS=\"$SECTIONS\": run \`deno task device:prepare --data-dir DATA\` where node is, and carry it"
    exit 2
  }
done
if section perf; then  # the shape device:prepare --perf-shape made them for; two would be two preparations'
  for kind in perf sequence; do
    recs=("$TIM"/$kind-*.hwrec)
    [[ -f ${recs[0]} ]] || recs=()
    (( ${#recs[@]} == 1 )) || {
      names=$(for f in "${recs[@]}"; do printf '%s ' "${f##*/}"; done)
      echo "$TIM holds ${#recs[@]} $kind-*.hwrec${names:+ (${names% })}, not one:" \
        "run \`deno task device:prepare\` where node is, and carry it"
      exit 2
    }
  done
fi
in_time() {
  (( SECONDS - t0 < TIME_BUDGET )) && return 0
  echo "(skipped: $1; past TIME_BUDGET=$TIME_BUDGET s)" | tee -a "$LOGS/checks.txt"; skipped+=("$1"); return 1
}
# Each step stops at STEP_TIMEOUT (the build at BUILD_TIMEOUT, default 300 s), and none runs past DEADLINE: the
# logs are packed on exit, so the script must end before the device call's own limit kills it. It runs in the
# background, so that a signal's trap runs at once (bash defers it while a foreground command runs).
step() {
  local left=$(( DEADLINE - (SECONDS - t0) ))
  (( left > 5 )) || { echo "error: no time left before DEADLINE=$DEADLINE s"; return 124; }
  timeout -k 5 "$(( left < STEP_TIMEOUT ? left : STEP_TIMEOUT ))" "$@" &
  STEP_PID=$!; wait "$STEP_PID"; local rc=$?; STEP_PID=
  pack "$LOGS" logs.tar.gz -z
  return $rc
}

tools=""
for t in nvidia-smi cmake ninja nvcc compute-sanitizer xz python3; do
  command -v "$t" >/dev/null && tools+="$t " || tools+="($t missing) "
done
echo "tools: $tools"
echo "limits: DEADLINE $DEADLINE s, TIME_BUDGET $TIME_BUDGET s, STEP_TIMEOUT $STEP_TIMEOUT s (CALL_LIMIT $CALL_LIMIT s)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$LOGS/gpu.txt"

# xz may be missing there: Python's lzma reads the same files.
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
configure=(cmake -S cuda -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90
           -DCMAKE_JS_INC="$PWD/.device/node-api")
# What the build reads, by content: a call on the machine an earlier call built on (call 2, made at once) builds
# nothing when it is unchanged, whatever the files' times (a tree sent again may look new to ninja throughout:
# minutes of nvcc from scratch). The stamp is written only after a whole build.
sources=$( { printf '%s\n' "${configure[*]}"
             find cuda .device/node-api -path cuda/build -prune -o -type f -print 2>/dev/null | LC_ALL=C sort |
               xargs -r -d '\n' sha256sum; } | sha256sum | cut -d ' ' -f 1)
t=$SECONDS
if [[ -x $BUILD/hogwild-replay && $(cat "$BUILD/.hogwild-sources" 2>/dev/null) == "$sources" ]]; then
  line build ok 0 "$BUILD (unchanged sources: not rebuilt)"
else
  rm -f "$BUILD/.hogwild-sources"
  if ! { step "${configure[@]}" && STEP_TIMEOUT=${BUILD_TIMEOUT:-300} step cmake --build "$BUILD" -j "$(nproc)"; } \
       >"$LOGS/build.log" 2>&1; then
    tail -40 "$LOGS/build.log"; line build FAIL $((SECONDS - t)) "see build.log"; exit 1
  fi
  grep -q "hogwild: CUDA ON" "$LOGS/build.log" || { line build FAIL $((SECONDS - t)) "CUDA not found by cmake"; exit 1; }
  echo "$sources" >"$BUILD/.hogwild-sources"
  line build ok $((SECONDS - t)) "$BUILD"
fi
if section bench || section perf; then
  t=$SECONDS
  if ! { unxz_to .device/deno.xz >"$BUILD/deno" && chmod +x "$BUILD/deno" &&
         unxz_to .device/node_modules.tar.xz | tar -x; } >"$LOGS/kit.log" 2>&1; then
    line "unpack the Deno kit" FAIL $((SECONDS - t)) "$(tail -3 "$LOGS/kit.log" | tr '\n' ' ')"; exit 1
  fi
  line "unpack the Deno kit" ok $((SECONDS - t)) ""
fi
R="$BUILD/hogwild-replay"
# A replay that ran on the card (name, log) must say cuBLAS loaded (it prints "GEMM: ..." after every CUDA load).
cublas_said() {
  replays=$((replays + 1))
  grep -qx 'GEMM: cuBLAS loaded' "$2" || no_cublas+=("$1: $(grep -m1 '^GEMM:' "$2" || echo 'no GEMM line')")
}
run() {  # name, then the replay arguments
  local name=$1; shift
  local t=$SECONDS r=ok
  step "$R" "$@" >"$LOGS/$name.log" 2>&1 && cublas_said "$name" "$LOGS/$name.log" || r=FAIL
  # the weights' count perf's floors take (stored_bytes) against what the CUDA load took: said there, not thrown
  grep -q 'stored_bytes counts' "$LOGS/$name.log" && r=FAIL
  line "$name" $r $((SECONDS - t)) "$(grep -E '^(GEMM|replayed|sampling|crafted|error|warning)' "$LOGS/$name.log" | tr '\n' ' ')"
}
# The project's commands as deno.json's tasks run them, offline: packages from the carried node_modules.
hw_deno() { HOGWILD_ADDON="$BUILD/hogwild.node" DENO_DIR="$BUILD/deno-dir" DENO_NO_UPDATE_CHECK=1 step "$BUILD/deno" run \
  --node-modules-dir=manual "$@"; }
perf_js() { hw_deno --allow-read --allow-write --allow-ffi --allow-env --allow-sys cli/perf.ts "$@"; }
bench() { hw_deno --allow-read --allow-write --allow-ffi --allow-env --allow-sys --allow-net --allow-run cli/bench.ts \
  --device cuda "$@"; }
# A memcheck run of one recording; the rest of the arguments go to the replay.
memcheck() {
  local name=$1; shift
  local t=$SECONDS r=ok log="$LOGS/memcheck-${name// /-}.log"
  # API errors are not memory errors: a graph update the driver refuses is expected (the model then
  # instantiates the graph anew).
  step compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 "$R" "$@" >"$log" 2>&1 &&
    cublas_said "memcheck ($name)" "$log" || r=FAIL
  line "memcheck ($name)" $r $((SECONDS - t)) "$(grep -E 'ERROR SUMMARY|error' "$log" | tail -2 | tr '\n' ' ')"
}

if section correctness; then
  # graphs=1: every shape is captured, so that the graph path is checked on every pass (the default captures a
  # shape only after it has held 8 passes, which these varied plans seldom do); graphs=0: plain launches.
  # Every fixture (fixtures.tsv, from make-recordings): bf16 GPU against transformers' float32 logits within
  # 5e-2; against the float64 references (quantised, mixture-of-experts, Phi-3) relative to the logits' size
  # (rel_l2 ≤ 2%): those fixtures' logits are larger, and prefill-sized products round dequantised weights to
  # bf16 for the tensor cores. --check-sampling: the sampler on the pass's rows and on 480 crafted ones.
  ROOT=$(cat "$REC/ROOT")
  listed=$(wc -l < "$REC/fixtures.tsv") recorded=$(find "$REC" -name 'fixture-*.hwrec' | wc -l)
  if [ "$listed" != "$recorded" ]; then  # a list from another preparation: no fixture may go unchecked
    line fixtures.tsv FAIL 0 "lists $listed fixtures, $REC holds $recorded (run deno task device:prepare)"
  fi
  # First every recording with graphs and the sampler (the top-k log-probabilities, the gapped views against the
  # slow path, the Phi-3 fixture: what must run if nothing else does), then each again with plain launches.
  tol_of() { if [ "$1" = transformers ]; then tol=(--tol 5e-2); else tol=(--tol 0 --rtol 2e-2); fi; }
  while IFS=$'\t' read -r name kind; do
    tol_of "$kind"
    run "$name" "$REC/$name.hwrec" --device cuda --cuda graphs=1 "${tol[@]}" --path-prefix "$ROOT=$PWD" --check-sampling
  done < "$REC/fixtures.tsv"
  for f in "$REC"/random-*.hwrec; do   # GPU vs this project's CPU path, same plans, every shape and format
    run "$(basename "$f" .hwrec)" "$f" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2 --check-sampling
  done
  while IFS=$'\t' read -r name kind; do
    tol_of "$kind"
    run "$name-nographs" "$REC/$name.hwrec" --device cuda --cuda graphs=0 "${tol[@]}" --path-prefix "$ROOT=$PWD"
  done < "$REC/fixtures.tsv"
  for f in "$REC"/random-*.hwrec; do
    run "$(basename "$f" .hwrec)-nographs" "$f" --device cuda --cuda graphs=0 --tol 0 --rtol 2e-2
  done
  for f in "$REC"/random-qwen2-hd128-gqa5.hwrec "$REC"/random-llama-hd64-gqa1.hwrec; do  # the CUDA-core attention too
    run "$(basename "$f" .hwrec)-simple-attention" "$f" --device cuda --cuda attention=simple,graphs=1 --tol 0 --rtol 2e-2
  done
  # Phi-3's partial rotary over gapped views and blocks read in full, in both attention kernels (rot18: the
  # CUDA-core one), and the sampler with log-probabilities: never run before the first GPU session after them.
  for f in random-phi3-hd64-rot18 random-phi3-hd64-rot32; do
    in_time "memcheck, $f" && memcheck "$f" "$REC/$f.hwrec" --device cuda --cuda graphs=1 --tol 0 --rtol 2e-2 --check-sampling
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
fi

# Call 2 ("bench perf") runs each section's first part before either's rest: the bench with 8 runs in flight
# (the card's end-to-end check), then perf's (--views, deno task perf's default GEMM policy, a real run's passes
# with the default graphs=8), each run whatever the time short of DEADLINE; then the rest of the bench and of
# perf, each part only while the script has run less than TIME_BUDGET.
B=${BENCH_OUT:-/tmp/hogwild-bench}
# The benchmark as a user runs it, on the card: OlympiadBench's prompts (real lengths), the finisher at every
# checkpoint, early stopping on (sequential), grading, records, curves. Random weights never answer: this checks
# the machinery and times it; accuracy is the real models' business.
bench_run() {  # first (run whatever TIME_BUDGET says) or rest, the name, then bench's flags
  local part=$1 name=$2; shift 2
  [[ $part == first ]] || in_time "bench $name" || return 0
  local t=$SECONDS r=ok
  bench --task olympiadbench --data-dir .device/data --out "$B/$name" "$@" >"$LOGS/bench-$name.log" 2>&1 || r=FAIL
  line "bench $name" $r $((SECONDS - t)) \
    "$(grep -oE 'Invocation 1 .*' "$B/$name/summary.md" 2>/dev/null || tail -3 "$LOGS/bench-$name.log" | tr '\n' ' ')"
  pack "$B" bench.tar.xz -J
}
bench_part() {  # first or rest: BENCH_RUNS (default all) picks the runs by name
  for name in ${BENCH_RUNS:-qwq-32b-c8 qwq-32b-alone qwq-32b-awq-c8}; do
    case $1:$name in
      first:qwq-32b-c8)
        bench_run first "$name" --model random:qwq-32b --limit 4 --methods hogwild:2,sequential \
          --budgets 512:2048:512 --concurrency 8 ;;
      # The first problem's runs again, one at a time: their wall time is what the cost model's solo time of
      # the run above predicts (`deno task solo-check` compares them).
      rest:qwq-32b-alone)
        bench_run rest "$name" --model random:qwq-32b --limit 1 --methods hogwild:2,sequential --budgets 512:1024:512 \
          --concurrency 1 ;;
      rest:qwq-32b-awq-c8)
        bench_run rest "$name" --model random:qwq-32b-awq --limit 2 --methods hogwild:2,sequential \
          --budgets 256:768:256 --concurrency 8 ;;
      first:qwq-32b-c8 | first:qwq-32b-alone | first:qwq-32b-awq-c8 | rest:qwq-32b-c8) ;;
      first:*) line "bench $name" FAIL 0 "unknown run in BENCH_RUNS" ;;
    esac
  done
}

perf_run() {  # the log's tag, then perf's flags
  local tag=$1; shift
  local t=$SECONDS
  echo; echo "## deno task perf $*"
  if perf_js "$@" --json "$LOGS/perf-$tag.json" >"$LOGS/perf-$tag.log" 2>&1; then cat "$LOGS/perf-$tag.log"
  else line "perf $tag" FAIL $((SECONDS - t)) "$(tail -3 "$LOGS/perf-$tag.log" | tr '\n' ' ')"; fi
}
sequence_run() {  # a real run's passes in order with one setting: shapes change from pass to pass
  local f=$1 setting=$2 t=$SECONDS log
  log="$LOGS/$(basename "$f" .hwrec)-${setting//[,=]/-}.log"
  if step "$R" "$f" --device cuda --cuda "$setting" --sequence 3 >"$log" 2>&1; then
    cublas_said "sequence $setting" "$log"
    echo "$setting: $(tail -1 "$log")"
  else line "sequence $setting" FAIL $((SECONDS - t)) "$(tail -2 "$log" | tr '\n' ' ')"; fi
}
perf_first() {
  # What a view of many blocks costs on the card, measured beside the cost model with and without its block terms
  # (docs/performance.md). random:qwen3-8b: its views' 68k KV tokens (16 GiB for QwQ-32B's shape, beside its 61 GiB
  # of weights) fit any card lent.
  perf_run views --views --device cuda --model random:qwen3-8b
  perf_run gemm-auto --device cuda --cuda gemm=auto --model random:qwq-32b --workers 1,2,4,8 --context 4096,16384 \
    --skip-harness
  for f in "$TIM"/sequence-*.hwrec; do
    echo; echo "## hogwild-replay $(basename "$f" .hwrec): $(cat "${f%.hwrec}.txt")"
    # graphs=8 (the default): a shape is captured once it has held 8 passes
    sequence_run "$f" graphs=8
  done
}
perf_rest() {
  for f in "$TIM"/sequence-*.hwrec; do  # graphs=0: plain launches; graphs=1: every shape captured
    for setting in graphs=0 graphs=1 graphs=8,gemm=mma,pdl=1; do
      in_time "sequence, $setting" && sequence_run "$f" "$setting"
    done
  done
  for variant in gemm=mma gemm=mma,pdl=1; do
    in_time "deno task perf, $variant" || continue
    perf_run "$(tr ',=' '_-' <<<"$variant")" --device cuda --cuda "$variant" --model random:qwq-32b --workers 1,2,4,8 \
      --context 4096,16384 --skip-harness
  done
  for model in qwq-32b-awq qwen3-30b-a3b; do
    in_time "deno task perf, random:$model" || continue
    perf_run "$model" --device cuda --model "random:$model" --workers 1,2,4 --context 4096,16384 --skip-harness
  done
  for model in qwq-32b qwq-32b-awq; do
    in_time "deno task perf --paper-table, random:$model" || continue
    echo; echo "## the paper's Table 1 on this card with random:$model (the paper: QwQ-32B-AWQ on an L40S)"
    t=$SECONDS
    if perf_js --paper-table --device cuda --model "random:$model" --iterations 5 >"$LOGS/paper-table-$model.log" 2>&1
    then tail -22 "$LOGS/paper-table-$model.log"
    else line "paper table $model" FAIL $((SECONDS - t)) "$(tail -3 "$LOGS/paper-table-$model.log" | tr '\n' ' ')"; fi
  done

  for f in "$TIM"/perf-*.hwrec; do
    echo; echo "## hogwild-replay $(basename "$f" .hwrec): $(tr '\n' ';' < "${f%.hwrec}.txt")"
    # GEMM auto: own CUDA-core kernel up to 2 rows, cuBLAS above; GEMM mma: own tensor-core kernel up to 32 rows;
    # attention mma: tensor cores for head_dim 64/128.
    # PERF_SETTINGS (one "gemm graphs attention profile pdl" per line) chooses the timing runs.
    while read -r setting; do
      [[ -n $setting ]] || continue
      read -r policy graphs attn profile pdl <<<"$setting"
      in_time "replay $policy $graphs $attn $profile $pdl" || continue
      echo "### GEMM $policy, CUDA graphs $graphs, attention $attn, PDL $pdl$([[ $profile == 1 ]] && echo ', per-stage profile')"
      t=$SECONDS log="$LOGS/$(basename "$f" .hwrec)-$policy-g$graphs-$attn-pdl$pdl.log"
      if step "$R" "$f" --device cuda --cuda "gemm=$policy,graphs=$graphs,attention=$attn,profile=$profile,pdl=$pdl" \
        --repeat 20 >"$log" 2>&1; then cublas_said "replay $policy g$graphs $attn pdl$pdl" "$log"
        grep -E '^\||^model|^GEMM|^profile' "$log"
      else line "replay $policy g$graphs $attn pdl$pdl" FAIL $((SECONDS - t)) "$(tail -2 "$log" | tr '\n' ' ')"; fi
    done <<<"${PERF_SETTINGS:-$'auto 8 auto 0 0\nauto 0 auto 0 0\nauto 0 auto 1 0'}"
  done
}

if section bench; then
  rm -rf "$B"  # a run folder left by an earlier call would resume: nothing timed
  bench_part first
fi
section perf && perf_first
section bench && bench_part rest
section perf && perf_rest
exit "$status"
