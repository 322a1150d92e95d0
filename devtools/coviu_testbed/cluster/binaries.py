"""Where the control-plane and client binaries live, and a clear error when one is absent.

The real-cluster tier must never be skipped silently: a missing binary is a hard error
that names the make target which builds or installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVER_BIN = Path(os.environ.get("K8S_BIN_DIR", ROOT / ".cache" / "k8s" / "bin"))
CLIENT_BIN = Path(os.environ.get("KUBE_CLIENTS_DIR", ROOT / ".cache" / "bin"))

# binary name -> (directory, command that provides it)
_SOURCES: dict[str, tuple[Path, str]] = {
    "etcd": (SERVER_BIN, "make k8s-tools"),
    "kube-apiserver": (SERVER_BIN, "make k8s-tools"),
    "kube-controller-manager": (SERVER_BIN, "make k8s-tools"),
    "kube-scheduler": (SERVER_BIN, "make k8s-tools"),
    "kwok": (SERVER_BIN, "make k8s-tools"),
    "kubelet": (SERVER_BIN, "make k8s-tools"),
    "kube-proxy": (SERVER_BIN, "make k8s-tools"),
    "coredns": (SERVER_BIN, "make k8s-tools"),
    "pause": (SERVER_BIN, "make k8s-tools"),
    "kubectl": (CLIENT_BIN, "make kube-clients"),
    "helm": (CLIENT_BIN, "make kube-clients"),
}


KWOK_STAGES = SERVER_BIN.parent / "kwok-stages.yaml"


class MissingBinaryError(FileNotFoundError):
    """A binary the control plane needs has not been built or installed."""


def binary(name: str) -> Path:
    """Return the path of an executable, or raise MissingBinaryError saying how to get it."""
    directory, command = _SOURCES[name]
    path = directory / name
    if not os.access(path, os.X_OK):
        raise MissingBinaryError(
            f"{name} not found at {path}; build it with `{command}` "
            f"(run from {ROOT}). The real-cluster tests never skip."
        )
    return path


def kwok_stages() -> Path:
    """The kwok Stage definitions written by ``make k8s-tools`` next to the binaries."""
    if not KWOK_STAGES.is_file():
        raise MissingBinaryError(
            f"{KWOK_STAGES} not found; it is written by `make k8s-tools` (run from {ROOT})."
        )
    return KWOK_STAGES
