#!/usr/bin/env bash
# ensure-tool.sh NAME MODULE@VERSION TOOLS_BIN [VERSION_VARIABLE]
# Reuse NAME if it is on PATH or already built in TOOLS_BIN; otherwise build it with `go install`.
# With VERSION_VARIABLE (a Go package variable, e.g. github.com/temporalio/cli/temporalcli.Version),
# the build stamps VERSION (without the leading v) into it with -ldflags -X, as the project's own
# release builds do, and a binary in TOOLS_BIN whose `NAME --version` does not report VERSION
# (e.g. an older unstamped build saying 0.0.0-DEV) is rebuilt.
set -euo pipefail
name=$1 module=$2 bin=$3 version_var=${4:-}
version=${module##*@}
ldflags=""
if [ -n "$version_var" ]; then
  ldflags="-X $version_var=${version#v}"
fi

if command -v "$name" >/dev/null 2>&1; then
  echo "tools: using $name from PATH ($(command -v "$name"))"; exit 0
fi
if [ -x "$bin/$name" ]; then
  if [ -z "$version_var" ]; then
    echo "tools: using $bin/$name"; exit 0
  fi
  reported=$("$bin/$name" --version 2>/dev/null | head -n 1 || true)
  if [[ " $reported " == *" ${version#v} "* ]]; then
    echo "tools: using $bin/$name ($reported)"; exit 0
  fi
  echo "tools: $bin/$name reports '${reported:-nothing}', not ${version#v}: rebuilding it"
fi
if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
tools: '$name' is not on PATH and Go is not installed, so it cannot be built.
  - Install Go >= 1.25 and run 'make tools' again, or
  - Temporal CLI: 'brew install temporal' or 'curl -sSf https://temporal.download/cli.sh | sh'
  - MinIO: its release binaries, or 'brew install minio/stable/minio'
  - or use Docker: 'docker compose up' runs the whole kit (see docs/production.md).
MSG
  exit 1
fi
echo "tools: building $name ($module) into $bin - the first build takes several minutes"
start=$(date +%s)
log=$(mktemp)
if ! CGO_ENABLED=0 GOBIN="$bin" GOFLAGS=-mod=mod go install -ldflags "$ldflags" "$module" >"$log" 2>&1; then
  grep -v '^go: downloading' "$log" >&2 || true
  echo "tools: building $name failed" >&2; exit 1
fi
rm -f "$log"
echo "tools: built $name in $(( $(date +%s) - start )) s${version_var:+ ($("$bin/$name" --version | head -n 1))}"
