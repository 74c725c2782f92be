#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: Node dependencies, the TypeScript build,
# the Python virtualenv (.venv) with python-plugins installed editable, and the
# MinIO test server. Each step is skipped when its inputs have not changed, so
# running it again is fast.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# 1. Node dependencies (npm ci also builds through the root "prepare" script).
node_stamp=node_modules/.o3ml-setup
want=$(hash_of package-lock.json)
if [ ! -f "$node_stamp" ] || [ "$(cat "$node_stamp")" != "$want" ]; then
  say "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$node_stamp"
fi
say "building TypeScript"
npx tsc -b tsconfig.build.json && node scripts/copy-gen.mjs

# 2. Python virtualenv with torch (CPU wheel), the o3ml package and its test tools.
py_stamp=.venv/.o3ml-setup
want=$(hash_of python-plugins/pyproject.toml python-plugins/requirements.lock)
if [ ! -x .venv/bin/python ] || [ ! -f "$py_stamp" ] || [ "$(cat "$py_stamp")" != "$want" ]; then
  say "creating the Python virtualenv in .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  # torch 2.13.0 is pinned: that exact version is served as a CPU wheel.
  .venv/bin/pip install --quiet -c python-plugins/requirements.lock torch==2.13.0
  .venv/bin/pip install --quiet -c python-plugins/requirements.lock -e "python-plugins[lightning,dev]"
  echo "$want" > "$py_stamp"
fi

# 3. MinIO, built from source at a pinned release and cached across clones.
bash scripts/minio.sh >/dev/null || say "MinIO could not be built; tests that need it will say so"
say "ready"
