#!/usr/bin/env bash
# Fine-tuning with a frozen backbone: starts from the newest checkpoint of the digits run on O3,
# trains a new head for even/odd, and prints how many bytes each checkpoint uploaded and how many
# it did not need to (the frozen backbone is already stored).
#
#   bash examples/finetune/run.sh [finetune.py options, e.g. --task low-high --epochs 3]
#
# Uses the service at O3ML_SERVICE when set; otherwise starts one (embedded local stand-in, or O3
# when O3ML_ENDPOINT and keys are set). When the service has no digits run yet (always so for a
# fresh stand-in), the digits example runs first, for two epochs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/examples/service.sh"
o3ml_example_start finetune

if ! o3ml_cli runs show digits-cnn > /dev/null 2>&1; then
  echo "finetune: no digits-cnn run on this service yet: running examples/digits first (2 epochs)"
  bash "$root/examples/digits/run.sh" --run digits-cnn --epochs 2
fi
"$python" "$here/finetune.py" --from-run digits-cnn "$@"
