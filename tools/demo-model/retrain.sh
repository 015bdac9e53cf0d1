#!/usr/bin/env bash
# Retrains the demo model (engine/models/hogwild-demo) as it was trained: the teacher's examples, then two
# phases of training on 2 CPU cores (the plan tokens only, then the whole view at a quarter weight, from the
# first phase's weights). Installs Debian's PyTorch and OpenBLAS first when they are missing (root and apt).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread
fi
npx --yes deno@2.9.6 run -A tools/demo-model/make-data.ts --problems 3000 --seed 1
/usr/bin/python3 tools/demo-model/train.py --minutes 15 --view-weight 0 --seed 1
/usr/bin/python3 tools/demo-model/train.py --init --minutes 45 --seed 2
