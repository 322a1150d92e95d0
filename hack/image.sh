#!/usr/bin/env bash
# Build the container images without needing a registry, and hand them to other tools.
#
#   hack/image.sh build            # the product image ($IMAGE) and the sandbox image ($SANDBOX_IMAGE)
#   hack/image.sh archive          # both as docker-archive tarballs under .cache/images/
#   hack/image.sh engine ARGS...   # run the chosen engine (docker or podman) with ARGS
#
# The engine is $CONTAINER_ENGINE if set, else docker or podman, whichever answers: a docker
# client with no daemon behind it is common, so `command -v` alone is not enough. When none
# answers and this is Debian as root, podman and runc are installed with apt-get. The base is
# the pinned official Python image when it can be pulled; otherwise a Python base is made from
# Debian's packages with debootstrap and cached under .cache/image/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$ROOT/.cache/image"
ARCHIVES="$ROOT/.cache/images"
IMAGE=${IMAGE:-localhost/coviu-mcp-operator:dev}
SANDBOX_IMAGE=${SANDBOX_IMAGE:-localhost/coviu-mcp-sandbox:dev}
PACKAGES=(podman runc buildah fuse-overlayfs slirp4netns uidmap containernetworking-plugins debootstrap iptables)
SUITE=bookworm
BASE_INCLUDE=python3,python3-venv,python-is-python3,ca-certificates
BASE_REPO=localhost/coviu-python-base

say() { echo "image: $*" >&2; }
die() { say "$*"; exit 1; }

# --- engine -------------------------------------------------------------------------------

answers() { command -v "$1" >/dev/null 2>&1 && "$1" info >/dev/null 2>&1; }

debian_root() { [[ $(id -u) == 0 ]] && grep -qs '^ID=debian' /etc/os-release && command -v apt-get >/dev/null; }

apt_install() {
  say "installing $* with apt-get (about 15 s)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >&2
}

# Podman from Debian's packages, run as root on these VMs, needs two workarounds: the VM lacks
# CAP_SYS_RESOURCE, so containers may not raise their limits above the host's hard limits
# (crun: setrlimit 'RLIMIT_NOFILE': Operation not permitted), and crun refuses a hybrid cgroup
# hierarchy (crun: cgroups in hybrid mode not supported), so runc and cgroupfs are used.
# Podman runs with at most pid_max processes (measured: 32768 while the shell's hard limit was
# 96363), and asking for more fails too (runc: error setting rlimit type 6).
# A podman the user set up themselves is left with its own configuration.
podman_conf() {
  mkdir -p "$CACHE"
  local conf="$CACHE/containers.conf" nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  nproc=$((nproc < $(cat /proc/sys/kernel/pid_max) ? nproc : $(cat /proc/sys/kernel/pid_max)))
  cat >"$conf.new" <<EOF
# Written by hack/image.sh for Debian's podman running as root (see the comment there).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  mv "$conf.new" "$conf"
  export CONTAINERS_CONF="$conf"
}

debian_podman() { debian_root && dpkg -S "$(command -v podman)" >/dev/null 2>&1; }

choose_engine() {
  if [[ -n ${CONTAINER_ENGINE:-} ]]; then
    ENGINE=$CONTAINER_ENGINE
  elif answers docker; then
    ENGINE=docker
  elif command -v podman >/dev/null 2>&1 || debian_root; then
    command -v podman >/dev/null 2>&1 || apt_install "${PACKAGES[@]}"
    ENGINE=podman
  else
    die "no container engine answers (docker info and podman info both fail) and packages cannot be installed here (needs root on Debian). Install one of: docker (with its daemon running), or podman with runc; on Debian: apt-get install ${PACKAGES[*]}"
  fi
  [[ $ENGINE == podman ]] && debian_podman && podman_conf
  "$ENGINE" info >/dev/null 2>&1 || die "$ENGINE does not answer: $("$ENGINE" info 2>&1 | tail -3)"
}

image_id() { "$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# --- base image -----------------------------------------------------------------------------

# The pinned official base, as the Containerfile names it.
official_base() { sed -n 's/^ARG PYTHON_IMAGE=//p' "$ROOT/Containerfile"; }

# The Debian mirror apt already uses on this machine (deb822 .sources or one-line .list files).
apt_source() {
  local file
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [[ -f $file ]] && grep -qs "$SUITE" "$file" && grep -Eqs '(^URIs:|^deb) .*debian' "$file" && { echo "$file"; return; }
  done
  die "no apt source for Debian $SUITE in /etc/apt: cannot build a Python base from Debian's packages"
}

apt_mirror() {
  sed -n -E 's/^URIs:[[:space:]]*(\S+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(\S+)[[:space:]]+'"$SUITE"'[[:space:]].*/\2/p' "$1" | head -1
}

# Everything the local base is made from: a change to any of it makes a new base.
base_recipe() {
  printf '%s\n' "$SUITE" "$BASE_INCLUDE" "$(apt_mirror "$1")"
  cat "$1"
  sed -n '/^build_base()/,/^}/p' "$0"
}

build_base() {
  local source=$1 tarball=$2 rootfs="$CACHE/rootfs"
  if ! command -v debootstrap >/dev/null; then
    debian_root || die "debootstrap is needed to build a Python base without a registry: install it, run as root"
    apt_install debootstrap
  fi
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  debootstrap --variant=minbase --include="$BASE_INCLUDE" "$SUITE" "$rootfs" "$(apt_mirror "$source")" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  rm -f "$rootfs/etc/apt/sources.list"
  cp "$source" "$rootfs/etc/apt/sources.list.d/"
  chroot "$rootfs" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get -y -qq upgrade && apt-get clean' >&2
  rm -rf "$rootfs"/usr/share/{doc,man,locale,info} "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/log/* "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
  tar --numeric-owner -C "$rootfs" -cf "$tarball.new" . && mv "$tarball.new" "$tarball"
  rm -rf "$rootfs"
}

# The base to build on: the official image if present or pullable, else the local Debian one.
choose_base() {
  BASE=${PYTHON_IMAGE:-$(official_base)}
  if [[ -n ${PYTHON_IMAGE:-} ]] || image_id "$BASE" >/dev/null; then return; fi
  if timeout 120 "$ENGINE" pull -q "$BASE" >"$CACHE/pull.log" 2>&1; then
    return
  fi
  say "cannot pull the official base (.cache/image/pull.log); using a Python base made from Debian's packages"
  local source key tarball
  source=$(apt_source)
  key=$(base_recipe "$source" | sha256sum | cut -c1-12)
  BASE="$BASE_REPO:$SUITE-$key"
  image_id "$BASE" >/dev/null && return
  tarball="$CACHE/base-$key.tar"
  if [[ ! -f $tarball ]]; then
    say "building a Python base from Debian's packages with debootstrap (a few minutes, once)"
    rm -f "$CACHE"/base-*.tar
    build_base "$source" "$tarball"
  fi
  "$ENGINE" import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tarball" "$BASE" >/dev/null
  say "imported the base as $BASE"
}

# --- build and export ---------------------------------------------------------------------

# pip inside the build may have to pass a TLS-intercepting proxy whose CA only the machine's
# bundle holds: both are handed to the build as secrets, which the Containerfile mounts for the
# steps that run pip and which never reach a layer. (Wheels built on the host would need no
# secrets but tie the image to the host's Python and platform.)
build_secrets() {
  local file
  for file in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf; do
    [[ -f $file ]] && echo "--secret=id=$(basename "$file"),src=$file"
  done
  return 0
}

# What an image is made from: the base, the Containerfile and the files the build context
# allows (.containerignore). It is kept beside the image ids it built, so an unchanged tree is
# not rebuilt (a build where every step is cached still takes 10-15 s).
inputs_key() {
  local paths
  mapfile -t paths < <(sed -n 's/^!//p' "$ROOT/.containerignore")
  {
    echo "$BASE $(image_id "$BASE")"
    cd "$ROOT" && find Containerfile .containerignore "${paths[@]}" -type f ! -name '*.pyc' \
      ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

built() { echo "$1 $(image_id "$IMAGE") $(image_id "$SANDBOX_IMAGE")"; }

build() {
  choose_engine
  mkdir -p "$CACHE"
  choose_base
  local key secrets started=$SECONDS
  key=$(inputs_key)
  if [[ $(cat "$CACHE/built" 2>/dev/null) == "$(built "$key")" ]]; then
    say "$IMAGE and $SANDBOX_IMAGE are up to date"
    return
  fi
  mapfile -t secrets < <(build_secrets)
  say "building $IMAGE and $SANDBOX_IMAGE with $ENGINE on $BASE"
  local args=(build -f "$ROOT/Containerfile" --build-arg "PYTHON_IMAGE=$BASE" "${secrets[@]}")
  "$ENGINE" "${args[@]}" --target sandbox -t "$SANDBOX_IMAGE" "$ROOT"
  "$ENGINE" "${args[@]}" -t "$IMAGE" "$ROOT"
  built "$key" >"$CACHE/built"
  say "built in $((SECONDS - started)) s"
}

# docker-archive tarballs, as `ctr images import` and `kind load image-archive` read them;
# one is written again only when its image changed.
archive() {
  choose_engine
  mkdir -p "$ARCHIVES"
  local name id tarball
  for name in "$IMAGE" "$SANDBOX_IMAGE"; do
    id=$(image_id "$name") || die "$name does not exist: run make image first"
    tarball="$ARCHIVES/$(basename "${name%%:*}").tar"
    if [[ -f $tarball && $(cat "$tarball.id" 2>/dev/null) == "$id" ]]; then
      echo "$tarball"
      continue
    fi
    rm -f "$tarball"
    if [[ $ENGINE == podman ]]; then
      podman save -q --format docker-archive -o "$tarball.new" "$name"
    else
      "$ENGINE" save -o "$tarball.new" "$name"
    fi
    mv "$tarball.new" "$tarball" && echo "$id" >"$tarball.id"
    echo "$tarball"
  done
}

case ${1:-} in
  build) build ;;
  archive) archive ;;
  engine) shift; choose_engine; exec "$ENGINE" "$@" ;;
  *) die "usage: $0 build | archive | engine ARGS..." ;;
esac
