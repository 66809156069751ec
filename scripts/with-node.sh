#!/bin/sh
# Runs a command under another Node.js release, fetched from the npm registry (the `node-linux-*`
# packages carry the official binaries), so CI can test every supported release with no network
# access but the registry.
#
# Usage: scripts/with-node.sh MAJOR [--bare] COMMAND [ARGS...]
#   --bare  PATH holds only that node and the commands of Debian's Essential packages (coreutils,
#           dash, tar, gzip, …: what no Debian system lacks), so a test that needs any other
#           package (zstd, bwrap, chromium, postgresql…) fails instead of quietly finding it.
# Binaries are kept in $VOUCH_NODE_CACHE (default ~/.cache/vouch/node).
set -eu
major=$1
shift
bare=""
if [ "${1:-}" = "--bare" ]; then bare=1; shift; fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "with-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
cache=${VOUCH_NODE_CACHE:-${HOME:-/tmp}/.cache/vouch/node}/$major
bin=$cache/node_modules/node-linux-$arch/bin
if [ ! -x "$bin/node" ]; then
  echo "with-node: fetching Node.js $major (node-linux-$arch@$major) from the npm registry" >&2
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock "node-linux-$arch@$major" >/dev/null
fi
"$bin/node" -e "if (process.versions.node.split('.')[0] !== '$major') { console.error('with-node: got ' + process.version); process.exit(1) }"

if [ -n "$bare" ]; then
  essential=$cache/essential-bin
  if [ ! -d "$essential" ]; then
    mkdir -p "$essential.tmp"
    for pkg in $(dpkg-query -Wf '${Package} ${Essential}\n' | awk '$2 == "yes" { print $1 }'); do
      for file in $(dpkg-query -L "$pkg" 2>/dev/null | grep -E '^(/usr)?/s?bin/[^/]+$'); do
        [ -x "$file" ] && ln -sf "$file" "$essential.tmp/$(basename "$file")"
      done
    done
    mv "$essential.tmp" "$essential"
  fi
  PATH=$bin:$essential
else
  PATH=$bin:$PATH
fi
export PATH
echo "with-node: $(node --version)${bare:+, bare PATH}: $*" >&2
exec "$@"
