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
python=$root/.venv/bin/python
if [ ! -x "$python" ]; then
  echo "digits: $python is missing: run \`npm run setup\` first" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/o3ml-digits.XXXXXX")
# A service started here in front of the stand-in is gone at the end, and so should its index be.
[ -z "${O3ML_SERVICE:-}" ] && export O3ML_HOME=${O3ML_HOME:-$work/home}
source "$root/examples/service.sh"
trap 'o3ml_service_down; rm -rf "$work"' EXIT
o3ml_service_up "$work"
if [ -z "${O3ML_BUCKET:-}" ] && grep -q '"bucket"' "$work/service.json"; then
  O3ML_BUCKET=$(sed -n 's/.*"bucket":"\([^"]*\)".*/\1/p' "$work/service.json")
  export O3ML_BUCKET
fi
echo "digits: o3ml service at $O3ML_SERVICE"

"$python" "$here/export_images.py" "$work/digits"
# 64 KiB shards (about 32 images each): shuffling the shards each epoch is what mixes the
# classes of a dataset this small, which the push stores class by class.
o3ml_cli dataset push "$work/digits" --name digits --shard-size 64KiB
"$python" "$here/train.py" --dataset digits "$@"
o3ml_cli ckpt ls --run "$(o3ml_cli runs ls --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"
