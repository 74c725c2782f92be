#!/usr/bin/env bash
# `npm run test:reliability`: set-up (idempotent), then the full reliability suite
# (hostile input, fault matrix, crash matrix, load, secrets scan) against real
# MinIO, the O3-profile layer, `o3ml serve` and Lightning trainers on loopback.
# Writes docs/reliability.{md,json}; exits non-zero when a criterion is not met.
# Extra arguments go to the suite: --seed N, or --quick (a subset that writes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh # Node 24 first on PATH for tsx and the services it starts
bash scripts/setup.sh
# exec: a signal to this script reaches tsx, which passes it to the suite (children.ts stops what it started).
exec ./node_modules/.bin/tsx testing/reliability/src/main.ts "$@"
