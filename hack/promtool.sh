#!/usr/bin/env bash
# Builds promtool, which checks and unit-tests the chart's alerting rules, from the
# Prometheus Go module pinned in hack/promtool/go.mod, into .cache/promtool/bin/.
#
# It shares the Go build and module caches of hack/k8s-tools.sh (.cache/go/{build,mod}),
# and a stamp of its inputs makes a second run a no-op. The tests only check and unit-test
# rules, so the cloud service-discovery plugins (and their SDKs) are left out
# (Prometheus's remove_all_sd build tag).
#
# Usage: hack/promtool.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$ROOT/hack/promtool"
BIN="$ROOT/.cache/promtool/bin"
STAMP="$BIN/.stamp"

die() { echo "promtool: error: $*" >&2; exit 1; }
log() { echo "promtool: $*" >&2; }

command -v go >/dev/null 2>&1 || die "the 'go' command is not on PATH; install Go 1.26 or newer"

export GOCACHE="$ROOT/.cache/go/build"
export GOMODCACHE="$ROOT/.cache/go/mod"
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod
export CGO_ENABLED=0

hash="$({ go env GOVERSION GOOS GOARCH; cat "${BASH_SOURCE[0]}" "$MODULE/go.mod" "$MODULE/go.sum"; } | sha256sum | cut -d' ' -f1)"
if [[ "${1:-}" != "--force" && -x "$BIN/promtool" && -f "$STAMP" && "$(cat "$STAMP")" == "$hash" ]]; then
  log "up to date in ${BIN#"$ROOT"/}"
  exit 0
fi

mkdir -p "$BIN"
rm -f "$STAMP"
version="$(cd "$MODULE" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
start=$SECONDS
log "building promtool $version (in ${MODULE#"$ROOT"/})"
(cd "$MODULE" && go build -p 2 -trimpath -tags remove_all_sd -ldflags "-s -w -buildid= \
    -X github.com/prometheus/common/version.Version=$version" \
    -o "$BIN/promtool" github.com/prometheus/prometheus/cmd/promtool) || die "go build failed"
[[ -x "$BIN/promtool" ]] || die "expected $BIN/promtool after the build, but it is missing"
echo "$hash" >"$STAMP"
log "built in $((SECONDS - start))s into ${BIN#"$ROOT"/}"
