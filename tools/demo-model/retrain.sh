#!/usr/bin/env bash
# usage: tools/demo-model/retrain.sh         (over 6.5 hours on 2 CPU cores: the examples, then 6.2 h of training)
# Retrains the demo model (engine/models/hogwild-demo) as it was trained, from scratch, on 2 CPU cores: the
# teacher's examples (sequential runs alone; every method's, 12 decisions sampled from each problem; views
# blind to the others' unfinished steps beside combined ones; runs with slips, whose views show a model's
# mistakes), then the phases of training: sequential solutions with every token after the prompt in the loss
# (copying and adding, learned in minutes this way), every method's views from those weights, all sets with
# the blind views twice, the answers and waits weighed up (copying values by name), all sets again at a low
# rate (the claims the last phase blurred), then the slips' views twice (recovery), the answers again, and last
# whole Hogwild! runs as the shared cache holds them (every token attending as the engine computes it: the keys
# of the others' tokens from where they were written), with and without slips, then with the contiguous layout's
# runs as well; last (phase 10) whole runs again, every set through the cache, so that the hold and the drawn part
# (teacher.ts: no name predicts a part) are learned as the engine computes them. Every phase's examples come from
# today's teacher. Installs Debian's PyTorch and OpenBLAS first when they are missing (root and apt).
set -euo pipefail
source "$(dirname "$0")/../flags.sh" "$@"
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread
fi
data=tools/demo-model/data
make_data() { npx --yes deno@2.9.6 run -A tools/demo-model/make-data.ts "$@"; }
make_data --problems 20000 --seed 5 --per-problem 2 --methods sequential --out "$data/sequential.jsonl"
make_data --problems 15000 --seed 3 --per-problem 12 --out "$data/train.jsonl"
# Views without the others' unfinished steps (interleaved, no-collab) beside combined ones: a worker's claim
# must then come from what its view shows, not from its name alone.
make_data --problems 8000 --seed 11 --per-problem 12 \
  --methods hogwild:2:interleaved,hogwild:3:interleaved,hogwild:4:interleaved,hogwild:2:no-collab,hogwild:2,hogwild:4 \
  --out "$data/blind.jsonl"
# A share of part-working steps written as slips (unrecorded): later decisions learn to recover from them.
make_data --problems 10000 --seed 13 --per-problem 12 --slips 0.15 \
  --methods hogwild:2,hogwild:3,hogwild:4,sequential,hogwild:2:contiguous --out "$data/slips.jsonl"
# Whole runs as the cache holds them (teacher.ts RunRecord), with and without slips.
make_data --problems 3000 --seed 17 --runs --methods hogwild:2,hogwild:3,hogwild:4 --out "$data/runs.jsonl"
make_data --problems 1500 --seed 19 --runs --slips 0.15 --methods hogwild:2,hogwild:3,hogwild:4 \
  --out "$data/runs-slips.jsonl"
make_data --problems 1500 --seed 29 --runs --methods hogwild:2:contiguous,hogwild:4:contiguous \
  --out "$data/runs-contiguous.jsonl"
only() { /usr/bin/python3 tools/demo-model/select.py "$@"; }
only --token "}" --out "$data/answers.jsonl" "$data/train.jsonl" "$data/blind.jsonl"
only --token " Waiting" --out "$data/waiting.jsonl" "$data/train.jsonl" "$data/blind.jsonl"
train() { /usr/bin/python3 tools/demo-model/train.py --tokens-per-batch 2048 "$@"; }
train --data "$data/sequential.jsonl" --minutes 12 --view-weight 1 --seed 1
train --data "$data/train.jsonl" "$data/sequential.jsonl" --init --minutes 70 --view-weight 0.5 --answer-weight 4 --seed 4
train --data "$data/blind.jsonl" "$data/blind.jsonl" "$data/train.jsonl" "$data/sequential.jsonl" --init --minutes 55 \
  --view-weight 0.5 --answer-weight 4 --lr 2e-3 --seed 6
train --data "$data/answers.jsonl" "$data/waiting.jsonl" "$data/blind.jsonl" "$data/sequential.jsonl" --init --minutes 40 \
  --view-weight 0.5 --answer-weight 4 --lr 1e-3 --seed 8
train --data "$data/blind.jsonl" "$data/train.jsonl" "$data/sequential.jsonl" --init --minutes 20 \
  --view-weight 0.5 --answer-weight 4 --lr 3e-4 --seed 9
train --data "$data/slips.jsonl" "$data/slips.jsonl" "$data/blind.jsonl" "$data/train.jsonl" "$data/sequential.jsonl" \
  --init --minutes 25 --view-weight 0.5 --answer-weight 4 --lr 5e-4 --seed 10
train --data "$data/answers.jsonl" "$data/slips.jsonl" "$data/slips.jsonl" "$data/blind.jsonl" "$data/train.jsonl" \
  "$data/sequential.jsonl" --init --minutes 22 --view-weight 0.5 --answer-weight 4 --lr 3e-4 --seed 12
train --data "$data/runs.jsonl" "$data/runs-slips.jsonl" "$data/sequential.jsonl" --init --minutes 55 \
  --view-weight 0.5 --answer-weight 4 --lr 3e-4 --seed 14
train --data "$data/runs-contiguous.jsonl" "$data/runs-contiguous.jsonl" "$data/runs.jsonl" "$data/runs-slips.jsonl" \
  "$data/sequential.jsonl" --init --minutes 25 --view-weight 0.5 --answer-weight 4 --lr 2e-4 --seed 15
# Phase 10: every kind of run through the cache with the teacher's hold and drawn parts.
make_data --problems 1600 --seed 61 --runs --methods hogwild:2,hogwild:3,hogwild:4 --out "$data/v3-runs.jsonl"
make_data --problems 700 --seed 67 --runs --methods sequential --out "$data/v3-seq.jsonl"
make_data --problems 700 --seed 63 --runs --slips 0.15 --methods hogwild:2,hogwild:3,hogwild:4 --out "$data/v3-runs-slips.jsonl"
make_data --problems 500 --seed 73 --runs --methods hogwild:2:contiguous,hogwild:4:contiguous --out "$data/v3-runs-contiguous.jsonl"
make_data --problems 400 --seed 79 --runs --methods hogwild:2:interleaved,hogwild:3:interleaved,sc:2 --out "$data/v3-runs-blind.jsonl"
# the control's views (tools/demo-model/control.ts): a worker that cannot see the others' claims takes what the
# teacher would, not a part its name suggests
make_data --problems 500 --seed 83 --runs --methods hogwild:2:hidden-steps,hogwild:3:hidden-steps,hogwild:4:hidden-steps \
  --out "$data/v3-runs-hidden.jsonl"
train --data "$data/v3-runs.jsonl" "$data/v3-runs-slips.jsonl" "$data/v3-runs-contiguous.jsonl" "$data/v3-runs-blind.jsonl" \
  "$data/v3-runs-hidden.jsonl" "$data/v3-seq.jsonl" "$data/v3-seq.jsonl" "$data/v3-seq.jsonl" --init --minutes 45 --view-weight 0.5 --answer-weight 4 \
  --lr 4e-4 --seed 23
