"""GitOps tools read the status the real operator writes on the real control plane (issue 15,
items 1 and 6): the real kstatus library (what Flux reads) and the chart's Argo CD health check
run in a Lua 5.1 interpreter (the dialect of Argo's gopher-lua); and a HorizontalPodAutoscaler
or `kubectl scale` owns the replica count of a server without spec.replicas.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lupa import lua51

from coviu_operator.names import KIND
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import ROOT, Cluster, apply, creds, merge_patch, rfc3339, server
from coviu_testbed.operator import OperatorThread

KSTATUS = ROOT / ".cache" / "kstatus" / "bin" / "kstatus"
HEALTH_LUA = ROOT / "charts" / "coviu-mcp-operator" / "files" / "argocd-health.lua"


def kstatus(objects: list[dict[str, Any]]) -> list[str]:
    """The verdicts of sigs.k8s.io/cli-utils/pkg/kstatus for `objects` (hack/kstatus)."""
    if not KSTATUS.is_file():
        pytest.fail(f"{KSTATUS} not found; it is built by `make kstatus` (run from {ROOT})")
    done = subprocess.run([str(KSTATUS)], input=json.dumps(objects), capture_output=True, text=True, check=True)
    return [json.loads(line)["status"] for line in done.stdout.splitlines()]


def argocd_health(obj: dict[str, Any]) -> dict[str, str]:
    """Run the chart's health check as Argo CD does: `obj` global, the script's return value."""
    lua = lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(HEALTH_LUA.read_text())
    return {"status": result["status"], "message": result["message"]}


async def _condition(cluster: Cluster, name: str, type_: str, status: str) -> dict[str, Any] | None:
    found = await cluster.condition(name, type_)
    return found if found.get("status") == status else None


async def test_gitops_tools_read_ready_rolling_out_stalled_and_expired_as_meant(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
) -> None:
    cluster = Cluster(api_client, namespace)
    soon = rfc3339((datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0))
    with OperatorThread(OperatorSettings(), namespaces=[namespace], kubeconfig=operator_kubeconfig):
        apply(control_plane, namespace, creds(namespace),
              server(namespace, "ready"),
              # No fake node has a thousand CPUs: the Pod stays Pending, the rollout in progress.
              server(namespace, "rolling", resources={"requests": {"cpu": "1000"}}),
              server(namespace, "stalled", credentialsSecretRef={"name": "not-there"}),
              server(namespace, "expired", expiresAt=soon))
        await eventually(lambda: cluster.ready("ready"), what="ready to be Ready")
        await eventually(lambda: _condition(cluster, "rolling", "Reconciling", "True"), what="rolling's Reconciling")
        await eventually(lambda: _condition(cluster, "stalled", "Stalled", "True"), what="stalled's Stalled")
        await eventually(lambda: _condition(cluster, "expired", "Expired", "True"), timeout=30,
                         what="expired's Expired")
        names = ["ready", "rolling", "stalled", "expired"]
        objects = [await cluster.must(KIND, name) for name in names]

    by_name = dict(zip(names, objects, strict=True))
    assert all(obj["status"]["observedGeneration"] == obj["metadata"]["generation"] for obj in objects)
    assert "Ready" not in {c["type"] for c in by_name["expired"]["status"]["conditions"]}
    stalled = {c["type"]: c for c in by_name["stalled"]["status"]["conditions"]}
    assert stalled["Stalled"]["reason"] == stalled["Ready"]["reason"] == "CredentialsSecretNotFound"

    assert dict(zip(names, kstatus(objects), strict=True)) == {
        "ready": "Current", "rolling": "InProgress", "stalled": "Failed", "expired": "Current"}
    health = {name: argocd_health(obj) for name, obj in by_name.items()}
    assert {name: h["status"] for name, h in health.items()} == {
        "ready": "Healthy", "rolling": "Progressing", "stalled": "Degraded", "expired": "Healthy"}
    assert "not-there" in health["stalled"]["message"] and "expired at" in health["expired"]["message"]

    newer = {**by_name["ready"], "metadata": {**by_name["ready"]["metadata"],
                                              "generation": by_name["ready"]["metadata"]["generation"] + 1}}
    assert kstatus([newer]) == ["InProgress"], "a spec the operator has not seen yet"
    assert argocd_health(newer)["status"] == "Progressing"


async def _replicas(cluster: Cluster, name: str) -> int:
    return int((await cluster.must("Deployment", f"{name}-mcp"))["spec"]["replicas"])


async def _scaled(cluster: Cluster, name: str, replicas: int) -> bool:
    return await _replicas(cluster, name) == replicas


async def _reconciled(cluster: Cluster, name: str) -> bool:
    obj = await cluster.must(KIND, name)
    return obj["status"].get("observedGeneration") == obj["metadata"]["generation"] and await cluster.ready(name)


async def test_without_spec_replicas_an_autoscaler_and_kubectl_scale_own_the_count(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
) -> None:
    cluster = Cluster(api_client, namespace)
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "auto"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "auto-mcp"},
                    "minReplicas": 2, "maxReplicas": 4,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                                  "target": {"type": "Utilization",
                                                                             "averageUtilization": 80}}}]}}
    with OperatorThread(OperatorSettings(), namespaces=[namespace], kubeconfig=operator_kubeconfig):
        apply(control_plane, namespace, creds(namespace), server(namespace, "auto"), server(namespace, "manual"),
              server(namespace, "fixed", replicas=2))
        for name in ("auto", "manual", "fixed"):
            await eventually(lambda name=name: cluster.ready(name), what=f"{name} to be Ready")
        assert (await _replicas(cluster, "manual"), await _replicas(cluster, "fixed")) == (1, 2)

        apply(control_plane, namespace, hpa)  # the real HPA controller raises it to minReplicas
        await eventually(lambda: _scaled(cluster, "auto", 2), timeout=60,
                         what="the HPA to scale auto-mcp to 2")
        control_plane.kubectl("scale", "deployment", "-n", namespace, "manual-mcp", "--replicas=3")

        for name in ("auto", "manual"):  # a spec change: the operator applies the Deployment again
            merge_patch(control_plane, namespace, f"{KIND.lower()}/{name}", {"spec": {"methods": ["read"]}})
        for name in ("auto", "manual"):
            await eventually(lambda name=name: _reconciled(cluster, name), what=f"{name} to be reconciled")
        assert await _replicas(cluster, "auto") == 2, "the operator must not fight the HPA"
        assert await _replicas(cluster, "manual") == 3, "nor revert a manual scale"
        assert (await cluster.must(KIND, "manual"))["status"]["readyReplicas"] == 3
        deployment = await cluster.must("Deployment", "manual-mcp")
        owners = [entry["manager"] for entry in deployment["metadata"]["managedFields"]
                  if "f:replicas" in json.dumps(entry.get("fieldsV1", {}))]
        assert "coviu-mcp-operator" not in owners
