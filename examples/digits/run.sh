#!/usr/bin/env bash
# The digits example end to end: scikit-learn's handwritten digits written as PNG files, pushed
# to O3 as a dataset version, and a small CNN trained from it with checkpoints on O3.
#
#   bash examples/digits/run.sh [train.py options, e.g. --epochs 5 --run my-run]
#
# Uses the service at O3ML_SERVICE when set; otherwise starts one (in front of the embedded local
# stand-in, or of O3 when O3ML_ENDPOINT and keys are set) and stops it at the end. Needs
# `npm run setup` to have run once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/examples/service.sh"
o3ml_example_start digits

"$python" "$here/export_images.py" "$work/digits"
# 64 KiB shards (about 32 images each): the default (1 MiB at least) would cut the train split of
# a dataset this small into three shards and leave val and test in one each, too few for the
# epoch's shard shuffle and the data-loader workers; push spreads the classes over the shards either way.
o3ml_cli dataset push "$work/digits" --name digits --shard-size 64KiB
"$python" "$here/train.py" --dataset digits "$@"
o3ml_cli ckpt ls --run "$(o3ml_cli runs ls --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"
