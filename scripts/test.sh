#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up (idempotent), the generated
# code staleness check, a type check of the tests, ruff, mypy, eslint, the installable packages
# (npm run package), every TypeScript test (vitest) beside every Python test (pytest),
# and the benchmark's quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node 24 first on PATH (fetched by the first call when the machine has none):
# vitest, tsx, pytest's `o3ml serve` and the benchmark all run on it.
source scripts/node-env.sh
bash scripts/setup.sh
echo "[test] vitest, tsx and every o3ml serve below run on Node $(node --version) ($(command -v node))" >&2
bash scripts/gen.sh --check
# Every temporary folder of the run (each e2e service's O3ML_HOME, MinIO's data, pytest's
# tmp_path, the benchmark's homes) is made under one folder, removed when the run passes: the
# tests do not all remove their own, and each run left hundreds of folders in /tmp. A failed run
# keeps it for a look, and says where.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/o3ml-test-run.XXXXXX")
# Traversable by others: the PostgreSQL tests run initdb as the postgres user in a folder below it.
chmod 0711 "$run_tmp"
export TMPDIR="$run_tmp"
# The checks below start no servers and each keeps about one core busy, so they run in two lanes
# side by side: ruff, mypy and the packages in the background (their output follows when they end),
# the two TypeScript checks here. Either lane failing fails the run; a failing foreground check
# still waits for the background lane (the EXIT trap), so nothing outlives the script.
checks_log=$(mktemp)
checks_pid=""
durations_dir="" # set below when the run records test durations
on_exit() {
  local rc=$?
  if [ -n "$checks_pid" ]; then wait "$checks_pid" || true; fi
  rm -rf "$checks_log" ${durations_dir:+"$durations_dir"}
  if [ "$rc" -eq 0 ]; then rm -rf "$run_tmp"; else echo "[test] this run's temporary files are kept in $run_tmp" >&2; fi
}
trap on_exit EXIT
(
  set -euo pipefail
  # The Python linter (its rules: [tool.ruff] in python-plugins/pyproject.toml).
  .venv/bin/ruff check python-plugins
  # The Python type checker: the o3ml package and its tests, strictly typed ([tool.mypy] in python-plugins/pyproject.toml).
  (cd python-plugins && ../.venv/bin/mypy)
  # The installable packages (dist-packages/, from the build set-up just made): the acceptance tests
  # of vitest (packages/cli/src/npm-install.e2e.test.ts) and pytest
  # (python-plugins/tests/e2e/test_installed_wheel.py) install them as a user would.
  node scripts/package.mjs
) > "$checks_log" 2>&1 &
checks_pid=$!
# Test files are excluded from the build (tsconfig.build.json) and vitest does not
# type-check: this pass does, so a test cannot drift from the types it exercises.
npx tsc -p tsconfig.tests.json
# The TypeScript linter, with type information from tsconfig.tests.json (its rules: eslint.config.js).
npx eslint .
checks_rc=0
wait "$checks_pid" || checks_rc=$?
checks_pid=""
cat "$checks_log" >&2
if [ "$checks_rc" -ne 0 ]; then
  echo "[test] failed: ruff, mypy or the packages (output above)" >&2
  exit 1
fi
# vitest and pytest run side by side: both spend much of their time waiting on the servers,
# Lightning jobs and subprocesses they start (every server on its own free port, every service
# in its own O3ML_HOME). pytest, the longer of the two, runs as two processes, each with half of
# the tests by their recorded durations (pytest-split: python-plugins/.test_durations, in order,
# so a module's tests and its module fixtures mostly stay in one process; tests missing from the
# file count as the average). Each is a plain `python -m pytest`, not an xdist worker, because the
# data-loader tests depend on the main module being pytest's: workers start through a fork server
# only when the main module can be imported again (python-plugins/src/o3ml/_datasets/_main_module.py). Each process
# starts its own moto, MinIO and services. Their lines carry a [pytest 1/2] or [pytest 2/2] prefix;
# the 10 slowest tests of each close its report. All three always finish, and any one failing
# fails the run.
# O3ML_STORE_TEST_DURATIONS=1 records each test's duration as it ran here, beside vitest and the
# other half (slower than alone, and unevenly so: Lightning jobs suffer most), and writes them to
# python-plugins/.test_durations once all passed, so that the next split balances this run.
if [ -n "${O3ML_STORE_TEST_DURATIONS:-}" ]; then
  durations_dir=$(mktemp -d)
fi
pytest_pids=()
for part in 1 2; do
  durations=(--durations-path python-plugins/.test_durations)
  if [ -n "$durations_dir" ]; then
    cp python-plugins/.test_durations "$durations_dir/$part.json"
    durations=(--durations-path "$durations_dir/$part.json" --store-durations --clean-durations)
  fi
  ( .venv/bin/python -m pytest -q --durations=10 --splits 2 --group "$part" --splitting-algorithm duration_based_chunks \
      "${durations[@]}" python-plugins/tests 2>&1 | sed -u "s|^|[pytest $part/2] |" ) &
  pytest_pids+=("$!")
done
vitest_rc=0
npx vitest run || vitest_rc=$?
pytest_rcs=()
for pid in "${pytest_pids[@]}"; do
  rc=0
  wait "$pid" || rc=$?
  pytest_rcs+=("$rc")
done
if [ "$vitest_rc" -ne 0 ] || [ "${pytest_rcs[0]}" -ne 0 ] || [ "${pytest_rcs[1]}" -ne 0 ]; then
  echo "[test] failed: vitest exit $vitest_rc, pytest exits ${pytest_rcs[*]} (1/2, 2/2)" >&2
  exit 1
fi
if [ -n "$durations_dir" ]; then
  .venv/bin/python - "$durations_dir/1.json" "$durations_dir/2.json" > python-plugins/.test_durations <<'PY'
import json, sys
merged = {}
for path in sys.argv[1:]:
    merged.update(json.load(open(path)))
print(json.dumps(merged, sort_keys=True, indent=4))
PY
  echo "[test] wrote the durations of this run to python-plugins/.test_durations" >&2
fi
# The parity benchmark's smoke run (npm run bench -- --quick without a second set-up):
# every workflow on both targets, and the first ratios; writes only benchmarks/results/tmp/
# (ignored by git), never a tracked file.
npx tsx benchmarks/parity/src/main.ts --quick
