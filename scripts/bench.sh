#!/usr/bin/env bash
# The S3-vs-O3 parity benchmark (benchmarks/parity): the parity matrix of every
# workflow on both targets, and o3ml beside its peers on the same endpoint and
# data in one run. Writes benchmarks/results/latest.{json,md} and latest-*.svg
# (a full run also full.{json,md} and full-*.svg, which docs/performance.md cites).
#
#   npm run bench                       full run: every peer (set up in .venv-bench)
#   npm run bench -- --quick            CI smoke run, under 3 minutes: direct SDKs only
#   npm run bench -- --max-size-mib 256 full run with object sizes capped
#   npm run bench -- --config t.json    named s3/o3 endpoints (see docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
quick=0
for arg in "$@"; do [ "$arg" = "--quick" ] && quick=1; done
if [ "$quick" = 0 ]; then
  # The peers (s3torchconnector, s3fs, litdata, MosaicML streaming) live in their own
  # virtualenv: they would fight .venv's lock. Idempotent; pinned by benchmarks/parity/requirements.lock.
  bash benchmarks/parity/setup-peers.sh
fi
exec npx tsx benchmarks/parity/src/main.ts "$@"
