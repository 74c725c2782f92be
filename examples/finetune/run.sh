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
python=$root/.venv/bin/python
if [ ! -x "$python" ]; then
  echo "finetune: $python is missing: run \`npm run setup\` first" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/o3ml-finetune.XXXXXX")
[ -z "${O3ML_SERVICE:-}" ] && export O3ML_HOME=${O3ML_HOME:-$work/home}
source "$root/examples/service.sh"
trap 'o3ml_service_down; rm -rf "$work"' EXIT
o3ml_service_up "$work"
if [ -z "${O3ML_BUCKET:-}" ] && grep -q '"bucket"' "$work/service.json"; then
  O3ML_BUCKET=$(sed -n 's/.*"bucket":"\([^"]*\)".*/\1/p' "$work/service.json")
  export O3ML_BUCKET
fi
echo "finetune: o3ml service at $O3ML_SERVICE"

if ! o3ml_cli runs show digits-cnn > /dev/null 2>&1; then
  echo "finetune: no digits-cnn run on this service yet: running examples/digits first (2 epochs)"
  bash "$root/examples/digits/run.sh" --run digits-cnn --epochs 2
fi
"$python" "$here/finetune.py" --from-run digits-cnn "$@"
