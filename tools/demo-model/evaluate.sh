#!/usr/bin/env bash
# usage: tools/demo-model/evaluate.sh        (about 10 minutes on 2 CPU cores)
# The demo model's measurements, as its model card reports them: 200 held-out problems of 4 parts (seed 1,
# held out of training), with 1, 2, 3, 4 and 6 workers, then the paper's ablations, then the control its
# effect is measured against (tools/demo-model/control.ts: the others' unfinished steps out of the views, the
# headers kept). Each writes a run folder under results/ (curves.csv with 95% intervals, summary.md with the
# passes-to-accuracy table).
set -euo pipefail
source "$(dirname "$0")/../flags.sh" "$@"
cd "$(dirname "$0")/../.."
FLAGS=(--model engine/models/hogwild-demo --task chains --parts 4 --digits 2 --count 200 --budgets 8:160:8)
bench() { npx --yes deno@2.9.6 task bench "${FLAGS[@]}" "$@"; }
bench --methods sequential,hogwild:2,hogwild:3,hogwild:4,hogwild:6 --out results/demo-workers
bench --methods sequential,hogwild:2,hogwild:2:contiguous,hogwild:2:interleaved,hogwild:2:no-collab,hogwild:2:reencode-steps,sc:2,sot:2 \
  --out results/demo-ablations
# the control is not a bench layout: control.ts registers it and runs the bench (sequential and hogwild:2
# again, so this folder's curves compare side by side)
npx --yes deno@2.9.6 run -A tools/demo-model/control.ts "${FLAGS[@]}" \
  --methods sequential,hogwild:2,hogwild:2:hidden-steps,hogwild:4,hogwild:4:hidden-steps --out results/demo-control
