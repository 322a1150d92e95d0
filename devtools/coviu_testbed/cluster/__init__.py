"""A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok) started as local processes for tests and local runs.

The binaries come from ``make k8s-tools`` (server side) and ``make kube-clients``
(kubectl, helm); see docs/control-plane.md.
"""

from .binaries import MissingBinaryError, binary
from .controlplane import ApiError, ControlPlane, KubectlError
from .process import ProcessExited

__all__ = [
    "ApiError",
    "ControlPlane",
    "KubectlError",
    "MissingBinaryError",
    "ProcessExited",
    "binary",
]
