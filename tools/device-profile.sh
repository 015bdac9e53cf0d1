#!/usr/bin/env bash
# usage: tools/device-profile.sh [PASS ...]    (on a GPU machine with ncu: a CUDA build of minutes, then one ncu run a pass)
# Per-kernel device time of one decode pass (Nsight Compute, no CUDA graphs): where a pass's time goes
# between kernels and gaps. Replays the one .device/timing/perf-SHAPE.hwrec that `deno task device:prepare
# --perf-shape SHAPE` made (default qwq-32b; the passes are listed in perf-SHAPE.txt), default passes 0 and 7.
# Builds in the folder tools/device-check.sh builds in (BUILD, the same default), so after a device check it
# builds nothing. Writes OUT (default /tmp/hogwild-profile): build.log, passN.csv (ncu's) and passN.err.
# A pass whose ncu run fails (its exit status) or whose CSV holds no kernel time is a failure, said with the
# tail of its log: the script then ends with exit 1 (2: a refusal before any work).
set -uo pipefail
HW_ARGS="PASS ..." source "$(dirname "$0")/flags.sh" "$@"
for pass in "$@"; do [[ $pass =~ ^(0|[1-9][0-9]*)$ ]] || hw_refuse "PASS: expected a pass number, got \"$pass\""; done
cd "$(dirname "$0")/.." || exit 2
export PATH="$PATH:/usr/local/cuda/bin"
TIM=.device/timing
recs=("$TIM"/perf-*.hwrec)
[[ -f ${recs[0]} ]] || recs=()
if (( ${#recs[@]} != 1 )); then
  echo "error: $TIM holds ${#recs[@]} perf-*.hwrec$( ((${#recs[@]})) && printf ' (%s)' "$(cd "$TIM" && echo perf-*.hwrec)"), not one:" \
    "run \`deno task device:prepare --perf-shape SHAPE\` where node is, and carry $TIM" >&2
  exit 2
fi
REC=${recs[0]}
[[ $# -gt 0 ]] || set -- 0 7
passes=$(grep -c '^pass ' "${REC%.hwrec}.txt" 2>/dev/null); passes=${passes:-0}
for pass in "$@"; do
  (( pass < passes )) || { echo "error: PASS $pass: ${REC##*/} has $passes passes (0-$((passes - 1)), ${REC%.hwrec}.txt)" >&2; exit 2; }
done
command -v ncu >/dev/null || { echo "error: no ncu (Nsight Compute) on PATH" >&2; exit 2; }
OUT=${OUT:-/tmp/hogwild-profile}
BUILD=${BUILD:-/tmp/hogwild-build-$(printf %s "$PWD" | cksum | cut -d ' ' -f 1)}
mkdir -p "$OUT" || exit 2
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
inc=(); [[ -f .device/node-api/napi.h ]] && inc=(-DCMAKE_JS_INC="$PWD/.device/node-api")
if ! { cmake -S cuda -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${inc[@]}" &&
       cmake --build "$BUILD" -j "$(nproc)" --target hogwild-replay; } >"$OUT/build.log" 2>&1; then
  tail -20 "$OUT/build.log"; echo "FAILED: the build (see $OUT/build.log)"; exit 1
fi
KERNELS='regex:skinny|add_rmsnorm|qkv_post|attn_|swiglu|embed_kernel|gather|sample|gemm|Kernel|sm90'
status=0
for pass in "$@"; do
  echo "## pass $pass ($(sed -n "$((pass + 1))p" "${REC%.hwrec}.txt")) of ${REC##*/}"
  ncu --csv --metrics gpu__time_duration.sum --kernel-name "$KERNELS" \
    "$BUILD/hogwild-replay" "$REC" --device cuda --cuda graphs=0 --only "$pass" >"$OUT/pass$pass.csv" 2>"$OUT/pass$pass.err"
  rc=$?
  # kernel name (shortened) -> calls, total µs (ncu's CSV follows the program's own output lines)
  table=$(awk -F'","' '/^"/ && $(NF-2) == "gpu__time_duration.sum" {
      name = $5; gsub(/\(anonymous namespace\)/, "anon", name); sub(/\(.*/, "", name); sub(/.*::/, "", name)
      v = $NF; gsub(/[",]/, "", v)
      unit = $(NF-1); if (unit == "ns" || unit == "nsecond") v /= 1000; else if (unit == "ms" || unit == "msecond") v *= 1000
      n[name]++; t[name] += v; total += v; rows++ }
    END { if (!rows) exit 1
      for (k in t) printf "%-40s %5d calls %10.1f us\n", k, n[k], t[k]; printf "%-40s %5s       %10.1f us\n", "all kernels", "", total }' \
    "$OUT/pass$pass.csv")
  found=$?
  if (( rc != 0 )); then
    echo "FAILED: pass $pass: ncu exited $rc; the end of $OUT/pass$pass.err and .csv:"
    tail -5 "$OUT/pass$pass.err"; tail -5 "$OUT/pass$pass.csv"; status=1
  elif (( found != 0 )); then
    echo "FAILED: pass $pass: ncu measured no kernel (no gpu__time_duration.sum row in $OUT/pass$pass.csv); its end:"
    tail -5 "$OUT/pass$pass.err"; tail -5 "$OUT/pass$pass.csv"; status=1
  else
    sort -k4 -n -r <<<"$table"
  fi
done
exit "$status"
