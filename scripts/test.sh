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
# Test files are excluded from the build (tsconfig.build.json) and vitest does not
# type-check: this pass does, so a test cannot drift from the types it exercises.
npx tsc -p tsconfig.tests.json
# The Python linter (its rules: [tool.ruff] in python-plugins/pyproject.toml).
.venv/bin/ruff check python-plugins
# The Python type checker: the o3ml package and its tests, strictly typed ([tool.mypy] in python-plugins/pyproject.toml).
(cd python-plugins && ../.venv/bin/mypy)
# The TypeScript linter, with type information from tsconfig.tests.json (its rules: eslint.config.js).
npx eslint .
# The installable packages (dist-packages/, from the build set-up just made): the acceptance tests
# of vitest (packages/cli/src/npm-install.e2e.test.ts) and pytest
# (python-plugins/tests/e2e/test_installed_wheel.py) install them as a user would.
node scripts/package.mjs
# vitest and pytest run side by side: both spend most of their time waiting on the servers,
# Lightning jobs and subprocesses they start (every server on its own free port, every service
# in its own O3ML_HOME), so together they take little longer than pytest alone. pytest's lines
# carry a [pytest] prefix; the 15 slowest tests close its report. Both always finish, and either
# one failing fails the run.
( .venv/bin/python -m pytest -q --durations=15 python-plugins/tests 2>&1 | sed -u 's/^/[pytest] /' ) &
pytest_pid=$!
vitest_rc=0
npx vitest run || vitest_rc=$?
pytest_rc=0
wait "$pytest_pid" || pytest_rc=$?
if [ "$vitest_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ]; then
  echo "[test] failed: vitest exit $vitest_rc, pytest exit $pytest_rc" >&2
  exit 1
fi
# The parity benchmark's smoke run (npm run bench -- --quick without a second set-up):
# every workflow on both targets, and the first ratios; writes only benchmarks/results/tmp/
# (ignored by git), never a tracked file.
npx tsx benchmarks/parity/src/main.ts --quick
