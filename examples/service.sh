# Sourced by the examples' run.sh and by scripts/demo.sh: makes sure an o3ml storage service is
# reachable at $O3ML_SERVICE.
#
#   o3ml_service_up <work-dir>
#
# When O3ML_SERVICE is set, that service is used as it is. Otherwise `o3ml serve` is started on
# a free loopback port: in front of a local folder, $O3ML_HOME/store, when O3ML_ENDPOINT is unset
# (it outlives the service; o3ml_example_start points O3ML_HOME into its work folder, removed on
# exit, unless O3ML_HOME is set), or in front of O3 / any S3 when
# O3ML_ENDPOINT and keys are set. O3ML_SERVICE is then exported, the ready line is kept in
# <work-dir>/service.json and the log in <work-dir>/service.log. `o3ml_service_down` stops the
# service this started (call it from the caller's EXIT trap); a service given in O3ML_SERVICE is
# never touched.

o3ml_examples_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
o3ml_service_pid=""
# Node 24 first on PATH: the service and the CLI run on the Node that set-up built them for.
source "$o3ml_examples_root/scripts/node-env.sh"

o3ml_cli() { node "$o3ml_examples_root/packages/o3ml/bin/o3ml.js" "$@"; }

o3ml_service_up() {
  local work=$1
  if [ -n "${O3ML_SERVICE:-}" ]; then
    o3ml_cli ls o3ml-examples/ --json > /dev/null 2> "$work/service-check.log" || {
      cat "$work/service-check.log" >&2
      echo "the o3ml service at O3ML_SERVICE=$O3ML_SERVICE does not answer: start it (npx o3ml serve) or unset O3ML_SERVICE to have one started" >&2
      return 1
    }
    echo "{\"address\":\"$O3ML_SERVICE\",\"started\":false}" > "$work/service.json"
    return 0
  fi
  if [ ! -f "$o3ml_examples_root/packages/o3ml/dist/main.js" ]; then
    echo "the o3ml CLI is not built: run \`npm run setup\` first" >&2
    return 1
  fi
  # Port 0: the service picks a free port and prints it in its ready line.
  local create=()
  [ -n "${O3ML_ENDPOINT:-}" ] && create=(--create-bucket)
  # node itself in the background (not a shell function), so $! is the service's own pid.
  node "$o3ml_examples_root/packages/o3ml/bin/o3ml.js" serve --listen 127.0.0.1:0 --json ${create[@]+"${create[@]}"} \
    > "$work/service.json" 2> "$work/service.log" &
  o3ml_service_pid=$!
  local _
  for _ in $(seq 1 600); do
    grep -q '"listening"' "$work/service.json" 2> /dev/null && break
    kill -0 "$o3ml_service_pid" 2> /dev/null || break
    sleep 0.1
  done
  if ! grep -q '"listening"' "$work/service.json" 2> /dev/null; then
    tail -n 40 "$work/service.log" >&2
    echo "the o3ml service did not start (log above; full log in $work/service.log)" >&2
    o3ml_service_down
    return 1
  fi
  O3ML_SERVICE=$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' "$work/service.json")
  export O3ML_SERVICE
}

o3ml_service_down() {
  if [ -n "$o3ml_service_pid" ]; then
    kill "$o3ml_service_pid" 2> /dev/null || true
    # SIGTERM stops the service gracefully (and the stand-in, had it been started with --standin).
    wait "$o3ml_service_pid" 2> /dev/null || true
    o3ml_service_pid=""
  fi
}

# The common start of an example's run.sh: checks set-up, makes a work folder ($work, removed on
# exit), finds or starts the service and exports O3ML_SERVICE and O3ML_BUCKET. Sets $python.
#
#   o3ml_example_start <name>
o3ml_example_start() {
  local name=$1
  python=$o3ml_examples_root/.venv/bin/python
  if [ ! -x "$python" ]; then
    echo "$name: $python is missing: run \`npm run setup\` first" >&2
    return 1
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/o3ml-$name.XXXXXX")
  # A service started here keeps its store and index in O3ML_HOME: a throwaway one unless the user set it.
  [ -z "${O3ML_SERVICE:-}" ] && export O3ML_HOME=${O3ML_HOME:-$work/home}
  trap 'o3ml_service_down; rm -rf "$work"' EXIT
  o3ml_service_up "$work"
  if [ -z "${O3ML_BUCKET:-}" ] && grep -q '"bucket"' "$work/service.json"; then
    O3ML_BUCKET=$(sed -n 's/.*"bucket":"\([^"]*\)".*/\1/p' "$work/service.json")
    export O3ML_BUCKET
  fi
  echo "$name: o3ml service at $O3ML_SERVICE"
}
