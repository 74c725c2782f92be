#!/usr/bin/env bash
# Runs the benchmarks (side-by-side ratios, one run, same endpoint) and writes
# benchmarks/results/latest.{json,md}. `npm run bench -- --quick` is the short form.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsx benchmarks/src/object-throughput.ts "$@"
