"""Service networking for the real node: kube-proxy (iptables mode) and CoreDNS.

Both run as host processes beside the kubelet, each with its own client certificate and
the smallest RBAC it needs. CoreDNS listens on the bridge address (the kubelet's
``clusterDNS``), answers for ``cluster.local`` from the API and refuses every other name:
no look-up made by a test Pod leaves the machine.
"""

from __future__ import annotations

from typing import Any

from . import network

CLUSTER_DOMAIN = "cluster.local"
KUBE_PROXY_USER = "system:kube-proxy"
COREDNS_USER = "system:coredns"


def kube_proxy_config(*, kubeconfig: str, node: str, healthz_port: int, metrics_port: int) -> dict[str, Any]:
    """KubeProxyConfiguration that changes no sysctl: conntrack limits stay as they are,
    localhost NodePorts are off (they would set route_localnet), no OOM score change."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": kubeconfig},
        "hostnameOverride": node,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "clusterCIDR": network.POD_CIDR,
        "oomScoreAdj": 0,
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        "nodePortAddresses": [f"{network.GATEWAY}/32"],
    }


def corefile(*, kubeconfig: str, health_port: int, ready_port: int) -> str:
    return f"""{CLUSTER_DOMAIN}:53 {{
    bind {network.GATEWAY}
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    errors
    kubernetes {CLUSTER_DOMAIN} {{
        kubeconfig {kubeconfig} coviu-test
        pods disabled
        ttl 5
    }}
}}
"""


def rbac() -> list[dict[str, Any]]:
    """Bindings for the node's components; the API server authorizes with RBAC only (no
    Node authorizer), so the kubelet's group gets the built-in ``system:node`` role."""
    coredns_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": COREDNS_USER},
        "rules": [
            {"apiGroups": [""], "resources": ["services", "namespaces"], "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    }
    return [
        coredns_role,
        _binding("coviu-node:nodes", "system:node", "Group", "system:nodes"),
        _binding("coviu-node:kube-proxy", "system:node-proxier", "User", KUBE_PROXY_USER),
        _binding("coviu-node:coredns", COREDNS_USER, "User", COREDNS_USER),
    ]


def _binding(name: str, role: str, kind: str, subject: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}],
    }
