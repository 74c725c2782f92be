#!/usr/bin/env bash
# The o3ml demo. Today: set-up, the storage service in front of the embedded
# stand-in (or real O3 when O3ML_ENDPOINT and keys are set), an object pushed
# through it, read back and verified. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
work=$(mktemp -d)
export O3ML_HOME=${O3ML_HOME:-$work/home}
cleanup() { [ -n "${svc_pid:-}" ] && kill "$svc_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export O3ML_SERVICE=127.0.0.1:$port
node packages/cli/bin/o3ml.js serve --listen "$O3ML_SERVICE" --json > "$work/ready" 2> "$work/service.log" &
svc_pid=$!
for _ in $(seq 1 300); do grep -q listening "$work/ready" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/ready" || { cat "$work/service.log"; echo "demo: the service did not start" >&2; exit 1; }

o3ml() { node packages/cli/bin/o3ml.js "$@"; }
head -c $((24 * 1024 * 1024)) /dev/urandom > "$work/sample.bin"
o3ml put "$work/sample.bin" demo/sample.bin --json > "$work/put.json"
o3ml get demo/sample.bin "$work/back.bin" --json > "$work/get.json"
cmp "$work/sample.bin" "$work/back.bin"
o3ml put "$work/sample.bin" demo/sample-again.bin --json > "$work/put2.json"

node -e '
const [put, put2] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
console.log("\no3ml demo summary");
console.log(`  endpoint        ${require("fs").readFileSync(process.argv[3].replace("put2.json","ready"),"utf8").trim()}`);
console.log(`  object          ${put.key}  ${put.size} bytes  cid ${put.cid}`);
console.log(`  round trip      byte-identical (sha256 ${put.sha256.slice(0, 16)}…)`);
console.log(`  second upload   ${put2.bytesUploaded} bytes sent, ${put2.bytesDeduplicated} deduplicated`);
' "$work/put.json" "$work/put2.json"
