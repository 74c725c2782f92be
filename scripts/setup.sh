#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: Node 24 (scripts/node-env.sh fetches the
# release pinned in .nvmrc when the machine has none), Node dependencies, the TypeScript build,
# the Python virtualenv (.venv) with python-plugins installed editable, the
# MinIO test server and the PostgreSQL server binaries. Each step is skipped
# when its inputs have not changed, so running it again is fast.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# 0. Node 24 first on PATH for this script and the ones it starts; the callers
#    (test.sh, demo.sh, ...) source the same file, so they run on it too.
source scripts/node-env.sh
say "Node $(node --version) ($(command -v node)), npm $(npm --version)"

# 1. Python virtualenv with torch (CPU wheel), the o3ml package and its test tools. It needs nothing
#    of the Node steps, so when it has to be made it installs in the background beside npm ci and
#    the TypeScript build (each mostly keeps one core busy): set-up then takes about as long as the
#    longer of the two instead of both. Its output is shown after the wait below, which fails the
#    set-up when it failed; a set-up that fails before that wait still waits for it (the EXIT trap),
#    so no pip outlives the script.
py_stamp=.venv/.o3ml-setup
want=$(hash_of python-plugins/pyproject.toml python-plugins/requirements.lock)
python_pid=""
if [ ! -x .venv/bin/python ] || [ ! -f "$py_stamp" ] || [ "$(cat "$py_stamp")" != "$want" ]; then
  say "creating the Python virtualenv in .venv (in the background)"
  python_log=$(mktemp)
  (
    set -euo pipefail
    python3 -m venv .venv
    # pip through the venv's python: a venv's pip script names the interpreter of the folder it was
    # made in, so a copied or hard-linked .venv would install into that other folder.
    .venv/bin/python -m pip install --quiet --upgrade pip
    # torch 2.13.0 is pinned: that exact version is served as a CPU wheel.
    .venv/bin/python -m pip install --quiet -c python-plugins/requirements.lock torch==2.13.0
    .venv/bin/python -m pip install --quiet -c python-plugins/requirements.lock -e "python-plugins[lightning,examples,dev]"
    echo "$want" > "$py_stamp"
  ) > "$python_log" 2>&1 &
  python_pid=$!
  trap 'if [ -n "$python_pid" ]; then wait "$python_pid" || true; rm -f "$python_log"; fi' EXIT
fi

# 2. Node dependencies (npm ci also builds through the root "prepare" script).
#    The stamp names the Node ABI too, so that node_modules installed for
#    another Node is installed again: an addon without a prebuilt binary for
#    this Node is then built for it (node-env.sh gives node-gyp the headers).
node_stamp=node_modules/.o3ml-setup
want=$(hash_of package-lock.json)-abi$(node -p process.versions.modules)
if [ ! -f "$node_stamp" ] || [ "$(cat "$node_stamp")" != "$want" ]; then
  say "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$node_stamp"
fi
say "building TypeScript"
node scripts/copy-gen.mjs && npx tsc -b tsconfig.build.json

# The Python virtualenv started in step 1.
if [ -n "$python_pid" ]; then
  python_rc=0
  wait "$python_pid" || python_rc=$?
  python_pid=""
  cat "$python_log" >&2
  rm -f "$python_log"
  if [ "$python_rc" -ne 0 ]; then
    say "the Python virtualenv could not be made (pip's output above); fix the cause and run set-up again"
    exit 1
  fi
fi

# 3. MinIO, built from source at a pinned release and cached across clones.
bash scripts/minio.sh >/dev/null || say "MinIO could not be built; tests that need it will say so"

# 4. PostgreSQL server binaries (initdb, pg_ctl): the metadata index is tested
#    against a throw-away PostgreSQL as well as SQLite. Installed only when absent.
pg_present() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
if ! pg_present; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  apt() { ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "$@" >/dev/null 2>&1; }
  if command -v apt-get >/dev/null; then
    say "installing PostgreSQL (apt-get install postgresql)"
    # A fresh machine may have no package lists yet: update only when the install needs it.
    apt install -y -qq postgresql || { apt update -qq && apt install -y -qq postgresql; } || true
  fi
  pg_present || say "PostgreSQL is not installed (needs apt-get as root); the PostgreSQL metadata tests will say so and skip"
fi
say "ready"
