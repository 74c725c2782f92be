#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up (idempotent), the generated
# code staleness check, every TypeScript test (vitest) and every Python test (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/gen.sh --check
npx vitest run
.venv/bin/python -m pytest -q python-plugins/tests
