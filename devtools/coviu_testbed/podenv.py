"""The proxy's environment as the kubelet would assemble it from a built Deployment.

End-to-end tests start a real proxy process from exactly the Deployment the operator
produced; this resolves its env (plain values and secretKeyRefs) against Secret objects.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from coviu_operator.builders import CONTAINER_NAME


class UnresolvedEnvError(LookupError):
    """A non-optional secretKeyRef points at a Secret or key that is not there."""


def resolve_env(deployment: Mapping[str, Any], secrets: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Env of the proxy container; `secrets` maps Secret names to Secret objects (base64 `data`)."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    container = next(c for c in containers if c["name"] == CONTAINER_NAME)
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        raw = (secrets.get(ref["name"], {}).get("data") or {}).get(ref["key"])
        if raw is None:
            if ref.get("optional"):
                continue
            raise UnresolvedEnvError(f"{item['name']}: Secret {ref['name']!r} has no key {ref['key']!r}")
        env[item["name"]] = base64.b64decode(raw).decode()
    return env

