#!/usr/bin/env bash
# The o3ml demo (`npm run demo`): set-up, the storage service in front of a local folder store
# in O3ML_HOME (or real O3 when O3ML_ENDPOINT and keys are set), scikit-learn's digits pushed as a dataset, a
# CNN trained from it with checkpoints on O3, the trainer killed mid-epoch and inside a
# checkpoint upload, resumed from O3 to the very weights of an uninterrupted run, everything
# verified, and a summary printed (and written as JSON to $O3ML_DEMO_SUMMARY, default
# demo-summary.json in O3ML_HOME, ~/.o3ml when unset). Exits non-zero on any failure.
#
#   bash scripts/demo.sh [--skip-setup] [--keep]
#
# --skip-setup  do not run scripts/setup.sh (the tests use it; set-up must have run before)
# --keep        keep the work folder (images, weights, trainer and service logs)
# O3ML_SERVICE  use this running service instead of starting one
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1 keep=0
for arg in "$@"; do
  case $arg in
    --skip-setup) setup=0 ;;
    --keep) keep=1 ;;
    *) echo "demo: unknown option $arg (options: --skip-setup, --keep)" >&2; exit 2 ;;
  esac
done
source scripts/node-env.sh # Node 24 first on PATH for the service and the CLI
[ "$setup" = 1 ] && bash scripts/setup.sh
if [ ! -x .venv/bin/python ]; then
  echo "demo: .venv/bin/python is missing: run \`npm run setup\` (or the demo without --skip-setup)" >&2
  exit 1
fi

summary=${O3ML_DEMO_SUMMARY:-${O3ML_HOME:-$HOME/.o3ml}/demo-summary.json}
work=$(mktemp -d "${TMPDIR:-/tmp}/o3ml-demo.XXXXXX")
# The default store and the index live in O3ML_HOME: by default a throwaway one in the work folder.
export O3ML_HOME=${O3ML_HOME:-$work/home}

source examples/service.sh
cleanup() {
  local status=$?
  o3ml_service_down
  if [ "$keep" = 1 ] || [ "$status" != 0 ]; then
    echo "demo: work folder kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

o3ml_service_up "$work"
if [ -z "${O3ML_BUCKET:-}" ] && grep -q '"bucket"' "$work/service.json"; then
  O3ML_BUCKET=$(sed -n 's/.*"bucket":"\([^"]*\)".*/\1/p' "$work/service.json")
  export O3ML_BUCKET
fi
.venv/bin/python examples/demo/demo.py --work "$work" --summary "$summary"
