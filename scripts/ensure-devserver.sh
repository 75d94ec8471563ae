#!/usr/bin/env bash
# ensure-devserver.sh TOOLS_BIN
# Reuse temporal-devserver (the kit's build of go.temporal.io/server v1.32, tools/devserver) if it is
# on PATH and reports that server version (another version there is an error), or in TOOLS_BIN and newer than its sources; otherwise
# build it with `go build`. Without Go it only warns (the kit runs without it: only the server-1.32
# extras need it), unless CI=true, where it fails.
set -euo pipefail
mkdir -p "$1"
bin=$(cd "$1" && pwd) name=temporal-devserver
src=$(cd "$(dirname "$0")/../tools/devserver" && pwd)
server_version=$(awk '$1 == "go.temporal.io/server" { print $2; exit }' "$src/go.mod")

if command -v "$name" >/dev/null 2>&1; then
  reported=$("$name" --version 2>/dev/null || true)
  if [[ "$reported" == *"(Server ${server_version#v},"* ]]; then
    echo "tools: using $name from PATH ($(command -v "$name"): $reported)"; exit 0
  fi
  # The kit looks on PATH before the tools folder, so a build there would not be used.
  echo "tools: $(command -v "$name") reports '${reported:-nothing}', not Server ${server_version#v}: remove it from PATH (the kit would use it) and run 'make tools' again" >&2
  exit 1
fi
if [ -x "$bin/$name" ] && [ -z "$(find "$src" -newer "$bin/$name" -type f)" ]; then
  echo "tools: using $bin/$name ($("$bin/$name" --version))"; exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  message="tools: '$name' is missing or older than tools/devserver, and Go is not installed to build it; install Go >= 1.26.8 and run 'make tools' again"
  case "${CI:-}" in
    1|true|TRUE|True|yes) echo "$message" >&2; exit 1 ;;
  esac
  echo "$message. Everything but the server-1.32 extras (--embedded-server 1.32, make dev-server SERVER=1.32, notebook 02's last section) works without it." >&2
  exit 0
fi
echo "tools: building $name (tools/devserver, server $server_version) into $bin - the first build takes several minutes"
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$src" && CGO_ENABLED=0 go build -o "$bin/$name" .) >"$log" 2>&1; then
  grep -v '^go: downloading' "$log" >&2 || true
  echo "tools: building $name failed" >&2; exit 1
fi
echo "tools: built $name in $(( $(date +%s) - start )) s ($("$bin/$name" --version))"
