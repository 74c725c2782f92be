#!/usr/bin/env bash
# npm run package: the installable packages in dist-packages/ (scripts/package.mjs
# says what they are) from a fresh TypeScript build. `--npm-only` skips the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
node scripts/copy-gen.mjs && npx tsc -b tsconfig.build.json
node scripts/package.mjs "$@"
