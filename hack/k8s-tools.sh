#!/usr/bin/env bash
# Builds the Kubernetes binaries the real-cluster test tier runs (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, kwok, and for the real node kubelet,
# kube-proxy, CoreDNS and the static pause binary) from the Go modules pinned in
# hack/tools/, into .cache/k8s/bin/.
#
# Everything Go writes stays inside the project (.cache/go/{build,mod}), so a second
# build reuses the compiled packages. A stamp file records the inputs of the last
# successful build; when nothing changed the script exits at once without calling
# the Go linker (which alone takes tens of seconds for kube-apiserver).
#
# Usage: hack/k8s-tools.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/hack/tools"
BIN="$ROOT/.cache/k8s/bin"
STAMP="$BIN/.stamp"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd kwok coredns pause)
# kwok has no built-in behaviour: its "stages" say how Nodes and Pods evolve. Use the
# same set kwokctl uses (Nodes become Ready and renew leases, Pods become Ready at once),
# taken from the pinned kwok module so they always match the binary.
KWOK_STAGES_FILE="$ROOT/.cache/k8s/kwok-stages.yaml"
KWOK_STAGES=(
  node/fast/node-initialize.yaml
  node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml
  pod/fast/pod-complete.yaml
  pod/fast/pod-delete.yaml
)
MIN_GO_MINOR=26  # etcd 3.6.16 and kwok 0.8.0 declare go 1.26.0

die() { echo "k8s-tools: error: $*" >&2; exit 1; }
log() { echo "k8s-tools: $*" >&2; }

command -v go >/dev/null 2>&1 || die "the 'go' command is not on PATH; install Go 1.${MIN_GO_MINOR} or newer"
command -v gcc >/dev/null 2>&1 || die "gcc is not on PATH (it compiles the static pause binary); run \`make node-packages\` or install gcc and libc6-dev"

export GOCACHE="$ROOT/.cache/go/build"
export GOMODCACHE="$ROOT/.cache/go/mod"
export GOTOOLCHAIN=local   # never download another toolchain behind our back
export GOFLAGS=-mod=mod
export CGO_ENABLED=0

go_version="$(go env GOVERSION)"
go_minor="$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$go_version")"
[[ "$go_minor" =~ ^[0-9]+$ && "$go_minor" -ge "$MIN_GO_MINOR" ]] \
  || die "Go 1.${MIN_GO_MINOR} or newer is needed, found ${go_version}"

# Everything that can change the binaries: module pins, this script, the toolchain.
inputs_hash() {
  {
    echo "$go_version $(go env GOOS GOARCH)"
    cat "${BASH_SOURCE[0]}"
    for mod in "$TOOLS" "$TOOLS/etcd" "$TOOLS/kwok" "$TOOLS/coredns"; do
      cat "$mod/go.mod" "$mod/go.sum"
    done
    cat "$TOOLS/coredns/main.go"
    gcc --version | head -1
  } | sha256sum | cut -d' ' -f1
}

up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$1" ]] || return 1
  [[ -s "$KWOK_STAGES_FILE" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

# Prints the directory of a module in GOMODCACHE, e.g. .../sigs.k8s.io/kwok@v0.8.0.
module_dir() {
  (cd "$1" && go list -m -f '{{.Dir}}' "$2")
}

write_kwok_stages() {
  local dir stage
  dir="$(module_dir "$TOOLS/kwok" sigs.k8s.io/kwok)"
  for stage in "${KWOK_STAGES[@]}"; do
    [[ -f "$dir/kustomize/stage/$stage" ]] || die "kwok stage $stage not found in $dir"
    echo "---"
    cat "$dir/kustomize/stage/$stage"
  done >"$KWOK_STAGES_FILE.partial"
  mv -f "$KWOK_STAGES_FILE.partial" "$KWOK_STAGES_FILE"
}

# Prints the version a tools module resolves for a dependency, e.g. v1.35.8.
module_version() {
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# build MODULE_DIR OUTPUT LDFLAGS PACKAGE... (OUTPUT is a file for one package, else a dir/)
build() {
  local dir="$1" out="$2" ldflags="$3"; shift 3
  local start=$SECONDS
  log "building $* (in ${dir#"$ROOT"/})"
  (cd "$dir" && go build -p 2 -trimpath -tags notest -ldflags "$ldflags" -o "$out" "$@") \
    || die "go build failed for: $*"
  log "built in $((SECONDS - start))s"
}

# The Pod sandbox's pause process, from the same Kubernetes module as the kubelet; static,
# so the sandbox image needs no libc (no registry is reachable to pull upstream's image).
build_pause() {
  local src
  src="$(module_dir "$TOOLS" k8s.io/kubernetes)/build/pause/linux/pause.c"
  [[ -f "$src" ]] || die "pause.c not found at $src"
  log "compiling $src with gcc -static"
  gcc -Os -Wall -Werror -static -DVERSION="$kv-coviu" -o "$BIN/pause" "$src" \
    || die "gcc -static failed for pause.c (install libc6-dev: \`make node-packages\`)"
  strip "$BIN/pause"
}

main() {
  local force=0
  [[ "${1:-}" == "--force" ]] && force=1
  local hash
  hash="$(inputs_hash)"
  if [[ $force -eq 0 ]] && up_to_date "$hash"; then
    log "up to date in ${BIN#"$ROOT"/}"
    return 0
  fi

  mkdir -p "$BIN"
  rm -f "$STAMP"
  local total=$SECONDS

  local kv minor
  kv="$(module_version "$TOOLS" k8s.io/kubernetes)"
  minor="$(cut -d. -f2 <<<"$kv")"
  # Same version stamping as upstream's hack/lib/golang.sh, so clients see a real version.
  local k8s_ldflags="-s -w -buildid= \
    -X k8s.io/component-base/version.gitVersion=$kv \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/client-go/pkg/version.gitVersion=$kv \
    -X k8s.io/client-go/pkg/version.gitMajor=1 \
    -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  build "$TOOLS" "$BIN/" "$k8s_ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy
  build_pause

  # etcd's main package is the root of its server module, so name the output.
  build "$TOOLS/etcd" "$BIN/etcd" "-s -w -buildid=" go.etcd.io/etcd/server/v3
  build "$TOOLS/kwok" "$BIN/kwok" "-s -w -buildid=" sigs.k8s.io/kwok/cmd/kwok
  build "$TOOLS/coredns" "$BIN/coredns" "-s -w -buildid=" .
  write_kwok_stages

  local b
  for b in "${BINARIES[@]}"; do
    [[ -x "$BIN/$b" ]] || die "expected $BIN/$b after the build, but it is missing"
  done
  echo "$hash" >"$STAMP"
  log "all binaries built in $((SECONDS - total))s into ${BIN#"$ROOT"/}"
}

main "$@"
