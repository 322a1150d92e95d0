"""Helpers for the operator on a real cluster (its tests and `make demo`): manifests, kubectl and
helm shortcuts, reads."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio import client

from coviu_operator.kube import Kube, Ref
from coviu_operator.names import API_VERSION, KIND
from coviu_testbed.cluster import ControlPlane, KubectlError
from coviu_testbed.cluster.binaries import binary
from coviu_testbed.invariants import condition
from coviu_testbed.operator import credentials_secret, server_body

ROOT = Path(__file__).parents[2]
CRD_FILE = ROOT / "crds" / "coviumcpservers.yaml"
EXAMPLE = ROOT / "examples" / "triage-readonly.yaml"


class HelmError(KubectlError):
    """A failed helm call; the message carries helm's own output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{(self.stdout or '').strip()}"


def helm(plane: ControlPlane, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    home = plane.workdir / "helm"  # never ~/.cache/helm or ~/.config/helm
    env = {**os.environ, "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
           "HELM_DATA_HOME": str(home / "data")}
    result = subprocess.run([str(binary("helm")), f"--kubeconfig={plane.kubeconfig}", *args],
                            capture_output=True, text=True, timeout=180, env=env, check=False)
    if check and result.returncode != 0:
        raise HelmError(result.returncode, ["helm", *args], result.stdout, result.stderr)
    return result


def new_namespace(plane: ControlPlane, labels: dict[str, str] | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    plane.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": name, "labels": labels or {}}})
    return name


def apply(plane: ControlPlane, namespace: str, *docs: dict[str, Any]) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs))


def merge_patch(plane: ControlPlane, namespace: str, target: str, patch: dict[str, Any]) -> None:
    plane.kubectl("patch", "-n", namespace, target, "--type=merge", "-p", json.dumps(patch))


def server(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    body = server_body(name, namespace, spec)
    del body["metadata"]["namespace"]
    return body


def creds(namespace: str, **values: str) -> dict[str, Any]:
    secret = credentials_secret(namespace, **values)
    del secret["metadata"]["namespace"]
    return secret


def rfc3339(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def changed(value: Awaitable[Any], old: Any) -> bool:
    return (await value) not in (None, old)


class Cluster:
    """Reads through the API (much faster than kubectl for polling)."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.kube, self.namespace = Kube(api, timeout=10), namespace

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        api_version = {"Deployment": "apps/v1", KIND: API_VERSION}.get(kind, "v1")
        return await self.kube.get(Ref(api_version, kind, self.namespace, name))

    async def must(self, kind: str, name: str) -> dict[str, Any]:
        found = await self.get(kind, name)
        assert found is not None, f"{kind} {self.namespace}/{name} not found"
        return found

    async def condition(self, name: str, type_: str) -> dict[str, Any]:
        return condition(await self.get(KIND, name), type_)

    async def token(self, name: str) -> str | None:
        secret = await self.get("Secret", f"{name}-mcp-token")
        return base64.b64decode(secret["data"]["token"]).decode() if secret else None

    async def config_hash(self, name: str) -> str | None:
        deployment = await self.get("Deployment", f"{name}-mcp")
        return deployment["spec"]["template"]["metadata"]["annotations"]["mcp.coviu.dev/config-hash"] \
            if deployment else None

    async def ready(self, name: str) -> bool:
        return (await self.condition(name, "Ready")).get("status") == "True"
