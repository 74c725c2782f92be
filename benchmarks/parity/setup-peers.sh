#!/usr/bin/env bash
# Creates .venv-bench: the peers the full parity run measures o3ml against
# (s3torchconnector, s3fs/fsspec, litdata, MosaicML streaming, boto3) beside
# an editable o3ml. It is its own virtualenv because those peers pull in many
# packages that would fight the main lock of .venv. Idempotent: a stamp of the
# inputs skips it when nothing changed. With benchmarks/parity/requirements.lock
# present the exact versions are reinstalled; `--relock` resolves afresh and
# rewrites the lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '\033[1m[bench-setup]\033[0m %s\n' "$*" >&2; }
lock=benchmarks/parity/requirements.lock
stamp=.venv-bench/.o3ml-bench-setup
peers=(s3torchconnector s3fs litdata mosaicml-streaming boto3)
relock=0
[ "${1:-}" = "--relock" ] && relock=1
inputs() { cat "$0" python-plugins/pyproject.toml "$lock" 2>/dev/null || true; }
want=$(inputs | sha256sum | cut -c1-16)
if [ "$relock" = 0 ] && [ -x .venv-bench/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
say "creating the peers' virtualenv in .venv-bench"
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --upgrade pip
# torch 2.13.0 is the one version served as a CPU wheel; every other one is a large download.
pin=$(mktemp)
trap 'rm -f "$pin"' EXIT
echo "torch==2.13.0" > "$pin"
.venv-bench/bin/pip install --quiet torch==2.13.0
if [ "$relock" = 0 ] && [ -f "$lock" ]; then
  # The lock holds every package but o3ml itself (editable, from this checkout).
  .venv-bench/bin/pip install --quiet -c "$pin" -r "$lock"
  .venv-bench/bin/pip install --quiet --no-deps -e python-plugins
else
  # Resolved without .venv's lock, so that a current s3fs/aiobotocore is chosen
  # (under boto3 1.44.8 pip falls back to s3fs 0.4.2).
  .venv-bench/bin/pip install --quiet -c "$pin" -e "python-plugins[lightning]" "${peers[@]}"
  .venv-bench/bin/pip freeze --exclude-editable | grep -v '^-e ' > "$lock"
  want=$(inputs | sha256sum | cut -c1-16)
fi
echo "$want" > "$stamp"
say "peers ready: $(.venv-bench/bin/pip list 2>/dev/null | grep -iE '^(s3torchconnector|s3fs|litdata|mosaicml-streaming|boto3) ' | tr -s ' ' | paste -sd, -)"
