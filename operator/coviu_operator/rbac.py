"""The permissions the operator needs, as a ClusterRole; the Helm chart and the docs use it.

    python -m coviu_operator.rbac

The real-cluster tests run the operator as a user bound to exactly these rules, so a
missing verb fails a test rather than a production install.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from .names import GROUP, MANAGER, PLURAL

# kopf itself: resource discovery, Events, and namespace discovery, which kopf (and the operator's
# check for listed namespaces being deleted) needs only with a list of namespaces (the chart
# leaves it out of the cluster-wide role).
FRAMEWORK_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]
# The operator's own work. Children are written with server-side apply (patch) and removed at
# expiry (delete); Secrets are also read, since credentials and tokens live in them.
APPLICATION_RULES: list[dict[str, Any]] = [
    {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["list", "watch", "patch"]},
    {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["list", "watch", "create", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list", "watch", "create", "patch", "delete"]},
]


def cluster_role(name: str = MANAGER) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": FRAMEWORK_RULES + APPLICATION_RULES,
    }


if __name__ == "__main__":
    sys.stdout.write(yaml.safe_dump(cluster_role(), sort_keys=False))
