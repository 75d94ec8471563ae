#!/usr/bin/env bash
# ensure-devserver.sh TOOLS_BIN
# Reuse temporal-devserver (the kit's build of go.temporal.io/server v1.32, tools/devserver) if it is
# on PATH, or in TOOLS_BIN and newer than its sources; otherwise build it with `go build`.
set -euo pipefail
bin=$1 name=temporal-devserver
src=$(cd "$(dirname "$0")/../tools/devserver" && pwd)

if command -v "$name" >/dev/null 2>&1; then
  echo "tools: using $name from PATH ($(command -v "$name"))"; exit 0
fi
if [ -x "$bin/$name" ] && [ -z "$(find "$src" -newer "$bin/$name" -type f)" ]; then
  echo "tools: using $bin/$name ($("$bin/$name" --version))"; exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "tools: '$name' is missing or older than tools/devserver, and Go is not installed to build it; install Go >= 1.26.8 and run 'make tools' again" >&2
  exit 1
fi
echo "tools: building $name (tools/devserver, server v1.32) into $bin - the first build takes several minutes"
start=$(date +%s)
log=$(mktemp)
if ! (cd "$src" && CGO_ENABLED=0 go build -o "$bin/$name" .) >"$log" 2>&1; then
  grep -v '^go: downloading' "$log" >&2 || true
  echo "tools: building $name failed" >&2; exit 1
fi
rm -f "$log"
echo "tools: built $name in $(( $(date +%s) - start )) s ($("$bin/$name" --version))"
