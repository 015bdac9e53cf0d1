#!/usr/bin/env bash
# usage: tools/device-profile.sh [PASS ...]    (on a GPU machine with ncu: a CUDA build of minutes, then one ncu run a pass)
# Per-kernel device time of one decode pass (Nsight Compute, no CUDA graphs): where a pass's time goes
# between kernels and gaps. Needs .device/recordings (tools/make-recordings.ts) and a GPU machine with ncu.
#   tools/device-profile.sh [PASS ...]      (passes of perf-qwq-32b.hwrec; default 0 and 7)
set -uo pipefail
HW_ARGS="PASS ..." source "$(dirname "$0")/flags.sh" "$@"
for pass in "$@"; do [[ $pass =~ ^(0|[1-9][0-9]*)$ ]] || hw_refuse "PASS: expected a pass number, got \"$pass\""; done
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/hogwild-profile}
BUILD=${BUILD:-/tmp/hogwild-build}
mkdir -p "$OUT"
cmake -S cuda -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j "$(nproc)" --target hogwild-replay >>"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
REC=.device/recordings/perf-qwq-32b.hwrec
KERNELS='regex:skinny|add_rmsnorm|qkv_post|attn_|swiglu|embed_kernel|gather|sample|gemm|Kernel|sm90'
[[ $# -gt 0 ]] || set -- 0 7
for pass in "$@"; do
  ncu --csv --metrics gpu__time_duration.sum --kernel-name "$KERNELS" \
    "$BUILD/hogwild-replay" "$REC" --device cuda --cuda graphs=0 --only "$pass" >"$OUT/pass$pass.csv" 2>"$OUT/pass$pass.err"
  echo "## pass $pass ($(sed -n "$((pass + 1))p" "${REC%.hwrec}.txt"))"
  # kernel name (shortened) -> calls, total µs (ncu's CSV follows the program's own output lines)
  awk -F'","' '/^"/ && $(NF-2) == "gpu__time_duration.sum" {
      name = $5; gsub(/\(anonymous namespace\)/, "anon", name); sub(/\(.*/, "", name); sub(/.*::/, "", name)
      v = $NF; gsub(/[",]/, "", v)
      unit = $(NF-1); if (unit == "ns" || unit == "nsecond") v /= 1000; else if (unit == "ms" || unit == "msecond") v *= 1000
      n[name]++; t[name] += v; total += v }
    END { for (k in t) printf "%-40s %5d calls %10.1f us\n", k, n[k], t[k]; printf "%-40s %5s       %10.1f us\n", "all kernels", "", total }' \
    "$OUT/pass$pass.csv" | sort -k4 -n -r
done
