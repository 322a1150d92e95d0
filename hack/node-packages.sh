#!/usr/bin/env bash
# Installs what the real node of the test control plane runs on, from Debian's packages:
# containerd and runc, the CNI plugins (bridge, host-local, loopback), iptables and
# conntrack for kube-proxy, and gcc with a static libc for the pause binary.
# A second run, with everything present, is a no-op.
set -euo pipefail

# command or file -> Debian package
declare -A NEEDED=(
  [containerd]=containerd
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [iptables]=iptables
  [conntrack]=conntrack
  [gcc]=gcc
  [/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
)

missing=()
for what in "${!NEEDED[@]}"; do
  if [[ "$what" == /* ]]; then [[ -e "$what" ]] && continue
  else command -v "$what" >/dev/null 2>&1 && continue; fi
  missing+=("${NEEDED[$what]}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "node-packages: all present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "node-packages: error: the real node needs these Debian packages (or your system's equivalent):" >&2
  echo "  ${missing[*]}" >&2
  echo "install them as root (apt-get install -y --no-install-recommends ${missing[*]}), then run make again" >&2
  exit 1
fi
echo "node-packages: installing ${missing[*]} with apt-get (about 20 s)"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "node-packages: installed"
