"""The Pod network of the real node: one Linux bridge, its address, and the firewall
rules that keep Pod traffic on the machine.

The bridge is created before the API server starts, because the API server binds to the
bridge's address so that Pods reach it (as the `kubernetes` Service's endpoint). The CNI
bridge plugin adopts the existing bridge and attaches each Pod's veth to it, with
``ipMasq`` false. Forwarded traffic that enters from the bridge may only leave through the
bridge again: Pods reach each other, Services (DNAT by kube-proxy) and the host's own
addresses, and nothing outside the machine.

Bridge, chains and sysctls are machine-wide, so only one real node runs at a time (a lock
file); a new node first removes whatever a killed run left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

BRIDGE = "cvnode0"
POD_CIDR = "10.245.0.0/24"  # kwok's fake Pods use 10.244.0.0/16; the machine uses neither
GATEWAY = "10.245.0.1"  # the bridge's address: API server, CoreDNS and kubelet bind here
PREFIX = 24
CHAIN = "COVIU-NODE"  # our FORWARD filter
# Chains the kubelet and kube-proxy create; removed on stop and after a crashed run.
CHAIN_PREFIXES = ("KUBE-", CHAIN)
TABLES = ("filter", "nat", "mangle")
LOCK = Path("/run/coviu-real-node.lock")
LOCK_WAIT = 900.0  # another checkout's test run on the same machine usually ends within this
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


class NodeSetupError(RuntimeError):
    """The machine cannot host the real node; the message says what is missing."""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a system tool; on failure raise NodeSetupError with its own error output."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if check and result.returncode != 0:
        raise NodeSetupError(f"`{' '.join(argv)}` failed ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()}")
    return result


def require_host() -> None:
    """Fail with the exact reason when this machine cannot run the node."""
    if os.geteuid() != 0:
        raise NodeSetupError("the real node needs root (containerd, network namespaces, iptables)")
    missing = [tool for tool in ("containerd", "runc", "ctr", "iptables", "ip") if shutil.which(tool) is None]
    if missing:
        raise NodeSetupError(f"not on PATH: {', '.join(missing)}; run `make node-packages`")
    if not BRIDGE_NF.exists():
        raise NodeSetupError(f"{BRIDGE_NF} is missing: load the br_netfilter kernel module "
                             "(`modprobe br_netfilter`), which Services between Pods of one bridge need")


def acquire_lock(wait: float = LOCK_WAIT) -> IO[str]:
    """Hold the machine-wide lock of the real node for as long as the returned file is open,
    waiting up to `wait` seconds for another checkout's real node to stop."""
    handle = LOCK.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise NodeSetupError(
                f"another real node is still running on this machine after {wait:.0f} s "
                f"(pid {owner}); stop it first (bridge and iptables chains are machine-wide)"
            ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def set_up() -> None:
    """Bridge with the gateway address, forwarding on, and the FORWARD filter in place."""
    tear_down()
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{GATEWAY}/{PREFIX}", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    # Pod -> Service -> Pod is routed through the host (DNAT, then back out the bridge).
    FORWARDING.write_text("1")
    BRIDGE_NF.write_text("1")  # replies between Pods of the bridge pass conntrack (un-DNAT)
    run("iptables", "-N", CHAIN)
    run("iptables", "-A", CHAIN, "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP")
    run("iptables", "-I", "FORWARD", "1", "-j", CHAIN)


def tear_down() -> None:
    """Remove the bridge and every chain of ours, kube-proxy's and the kubelet's.

    Safe to call when nothing exists (start-up after a crashed run, or a second stop).
    ``ip_forward`` stays on: other container engines on the machine may rely on it.
    """
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run("ip", "link", "del", BRIDGE)
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool):
            for table in TABLES:
                _remove_chains(tool, table)


def _ours(chain: str) -> bool:
    return chain.startswith(CHAIN_PREFIXES)


def _remove_chains(tool: str, table: str) -> None:
    listing = run(tool, "-t", table, "-S", check=False)
    if listing.returncode != 0:
        return  # table not available for this tool
    rules = listing.stdout.splitlines()
    chains = [line.split()[1] for line in rules if line.startswith("-N ") and _ours(line.split()[1])]
    # First the jumps into our chains from the built-in chains, then our chains themselves.
    for line in rules:
        words = shlex.split(line)
        if words[0] == "-A" and not _ours(words[1]) and "-j" in words and _ours(words[words.index("-j") + 1]):
            run(tool, "-t", table, "-D", *words[1:], check=False)
    for chain in chains:
        run(tool, "-t", table, "-F", chain, check=False)
    for chain in chains:
        run(tool, "-t", table, "-X", chain, check=False)


def release_lock(handle: IO[str] | None) -> None:
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.close()
