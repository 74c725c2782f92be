#!/usr/bin/env bash
# The S3-vs-O3 parity benchmark (benchmarks/parity): the parity matrix of every
# workflow on both targets, and o3ml beside its peers on the same endpoint and
# data in one run, every cell a warm-up and 5 repeats (median and IQR), one
# target's servers at a time. Every run writes benchmarks/results/tmp/latest.*
# (ignored by git); a full run with 5 or more repeats also writes the committed
# benchmarks/results/full.{json,md} and full-*.svg and the section of
# docs/performance.md that shows them.
#
#   npm run bench                       full run: every peer (set up in .venv-bench)
#   npm run bench -- --max-size-mib 256 full run with object sizes capped (the committed run)
#   npm run bench -- --quick            smoke run, about a minute: direct SDKs only, 3 repeats
#   npm run bench -- --config t.json    named s3/o3 endpoints (see docs/performance.md)
#   npm run bench -- --max-size-mib 16 --max-checkpoint-mib 32 --repeats 2
#                                       reduced run: a check of the code (writes only tmp/)
#   --out <dir>                         write latest.* there instead (never full.*)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh # Node 24 first on PATH for tsx and the services it starts
bash scripts/setup.sh
quick=0
for arg in "$@"; do [ "$arg" = "--quick" ] && quick=1; done
if [ "$quick" = 0 ]; then
  # The peers (s3torchconnector, s3fs, litdata, MosaicML streaming) live in their own
  # virtualenv: they would fight .venv's lock. Idempotent; pinned by benchmarks/parity/requirements.lock.
  bash benchmarks/parity/setup-peers.sh
fi
exec npx tsx benchmarks/parity/src/main.ts "$@"
