"""The operator writes and deletes only what it owns (issue 14, attacks 2, 9 and 10).

Objects named like a server's children (`<name>-mcp`, `<name>-mcp-token`) but not controlled by
that server are someone else's: the server reports a `Conflict` naming them and never adopts,
overwrites or deletes them, at creation, at expiry, on drift checks and after operator restarts.
The operator logs in as a user bound to exactly the documented ClusterRole.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from coviu_operator.metrics import Metrics
from coviu_operator.names import KIND, ROTATE_ANNOTATION
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, creds, rfc3339, server
from coviu_testbed.operator import OperatorThread

FOREIGN_LABELS = {"app": "billing"}


def foreign_deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": FOREIGN_LABELS},
            "spec": {"replicas": 1, "selector": {"matchLabels": FOREIGN_LABELS},
                     "template": {"metadata": {"labels": FOREIGN_LABELS},
                                  "spec": {"containers": [{"name": "billing", "image": "billing:1"}]}}}}


def foreign_service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": FOREIGN_LABELS, "ports": [{"name": "billing", "port": 8000, "targetPort": 8000}]}}


def foreign_account(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name},
            "automountServiceAccountToken": True}


def foreign_secret(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
            "stringData": {"token": "billing-" + "x" * 40}}


async def snapshot(cluster: Cluster, objects: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What a write or an adoption by the operator would change in each object (None when it is
    gone): its UID, owner references, contents, and the field managers that wrote it."""
    seen: dict[tuple[str, str], tuple[Any, ...]] = {}
    for kind, name in objects:
        obj = await cluster.get(kind, name) or {}
        meta = obj.get("metadata") or {}
        contents = {key: value for key, value in obj.items() if key not in ("metadata", "status")}
        managers = sorted({entry.get("manager") for entry in meta.get("managedFields") or []} - {None})
        seen[(kind, name)] = (meta.get("uid"), meta.get("ownerReferences"), contents, managers)
    return seen


def sample(metrics: Metrics, series: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(series, labels) or 0.0


def reconciles(metrics: Metrics) -> float:
    return sum(sample(metrics, "coviu_operator_reconciles_total", result=result)
               for result in ("ok", "blocked", "rejected", "error"))


def events(plane: ControlPlane, namespace: str, name: str) -> list[tuple[str, str, str]]:
    out = plane.kubectl("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}",
                        "-o", "jsonpath={range .items[*]}{.type}|{.reason}|{.message}{\"\\n\"}{end}").stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line]  # type: ignore[misc]


async def _condition(cluster: Cluster, name: str, type_: str, **expected: str) -> dict[str, Any] | None:
    found = await cluster.condition(name, type_)
    return found if all(found.get(key) == value for key, value in expected.items()) else None


async def test_expiry_never_deletes_objects_the_server_does_not_own(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
) -> None:
    """An expired record leaves other people's objects alone: those that held its names before it
    existed, those created after its expiry, and a token Secret it reported as not its own; on the
    expiry itself, on drift checks (every 2 s here, 300 s by default), on a change and after a
    restart; and records no teardown for them."""
    cluster = Cluster(api_client, namespace)
    apply(control_plane, namespace, creds(namespace), foreign_deployment("billing-mcp"), foreign_service("billing-mcp"),
          foreign_secret("billing-mcp-token"), foreign_secret("tok-mcp-token"))
    settings = OperatorSettings(resync_interval=2.0)
    with OperatorThread(settings, namespaces=[namespace], kubeconfig=operator_kubeconfig) as running:
        expires = datetime.now(UTC) + timedelta(seconds=8)
        apply(control_plane, namespace, server(namespace, "billing", expiresAt="2020-01-01T00:00:00Z"),
              server(namespace, "ending", expiresAt=rfc3339(expires)),
              server(namespace, "tok", expiresAt=rfc3339(expires)))
        await eventually(lambda: cluster.ready("ending"), what="ending to be Ready")
        await eventually(lambda: _condition(cluster, "tok", "Ready", reason="TokenSecretConflict"),
                         what="tok to report the token Secret it does not own")
        for name in ("billing", "ending", "tok"):
            await eventually(lambda name=name: _condition(cluster, name, "Expired", status="True"),
                             what=f"{name} Expired", timeout=30)
        await eventually(lambda: _absent(cluster, "Deployment", "ending-mcp"), what="ending's own Deployment removed")

        # Someone else creates objects with the expired server's names; no later reconcile (drift
        # checks, and a rotate request) may touch them.
        apply(control_plane, namespace, foreign_deployment("ending-mcp"), foreign_secret("ending-mcp-token"))
        theirs = [("Deployment", "billing-mcp"), ("Service", "billing-mcp"), ("Secret", "billing-mcp-token"),
                  ("Secret", "tok-mcp-token"), ("Deployment", "ending-mcp"), ("Secret", "ending-mcp-token")]
        before = await snapshot(cluster, theirs)
        assert all(uid is not None for uid, *_ in before.values()), before
        done = reconciles(running.metrics)
        for name in ("billing", "ending", "tok"):
            control_plane.kubectl("annotate", "-n", namespace, f"cmcp/{name}", f"{ROTATE_ANNOTATION}=later")
        await eventually(lambda: _more(running.metrics, done + 9), what="changes and drift checks of each server")
        await asyncio.sleep(0.5)
        assert await snapshot(cluster, theirs) == before
        assert sample(running.metrics, "coviu_operator_teardowns_total") == 1, "only ending's own workload"
        assert sample(running.metrics, "coviu_operator_teardown_delay_seconds_sum") < 5

    with OperatorThread(settings, namespaces=[namespace], kubeconfig=operator_kubeconfig) as restarted:
        await eventually(lambda: _more(restarted.metrics, 3), what="every server reconciled after the restart")
        await asyncio.sleep(0.5)
        assert await snapshot(cluster, theirs) == before
        assert sample(restarted.metrics, "coviu_operator_teardowns_total") == 0
        assert sample(restarted.metrics, "coviu_operator_teardown_delay_seconds_count") == 0


async def _more(metrics: Metrics, count: float) -> bool:
    return reconciles(metrics) >= count


async def _absent(cluster: Cluster, kind: str, name: str) -> bool:
    return await cluster.get(kind, name) is None


async def test_a_name_clash_is_a_conflict_never_an_adoption(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
) -> None:
    """Pre-existing objects with a new server's names are named in a Conflict, left exactly as
    they were (no owner reference, so deleting the server cannot garbage-collect them), and the
    server deploys once they are gone."""
    cluster = Cluster(api_client, namespace)
    theirs = [("Deployment", "adopt-mcp"), ("Service", "adopt-mcp"), ("ServiceAccount", "adopt-mcp")]
    apply(control_plane, namespace, creds(namespace), foreign_deployment("adopt-mcp"), foreign_service("adopt-mcp"),
          foreign_account("adopt-mcp"))
    before = await snapshot(cluster, theirs)
    settings = OperatorSettings(resync_interval=2.0)
    with OperatorThread(settings, namespaces=[namespace], kubeconfig=operator_kubeconfig) as running:
        apply(control_plane, namespace, server(namespace, "adopt"))
        ready = await eventually(lambda: _condition(cluster, "adopt", "Ready", reason="Conflict"),
                                 what="Ready=False with reason Conflict")
        for kind, name in theirs:
            assert f"{kind} {namespace}/{name}" in ready["message"], ready
        await asyncio.sleep(3)  # a drift check or two
        assert await snapshot(cluster, theirs) == before, "not adopted, not overwritten"
        assert await cluster.get("Secret", "adopt-mcp-token") is None, "nothing is deployed beside a conflict"
        assert "url" not in (await cluster.must(KIND, "adopt")).get("status", {})
        reasons = [(kind, reason) for kind, reason, _ in events(control_plane, namespace, "adopt")]
        assert ("Warning", "Conflict") in reasons and ("Normal", "Created") not in reasons, reasons
        assert sample(running.metrics, "coviu_operator_reconciles_total", result="error") == 0

        control_plane.kubectl("delete", "cmcp", "-n", namespace, "adopt", "--timeout=30s")
        await asyncio.sleep(2)
        assert await snapshot(cluster, theirs) == before, "deleting the server collects nothing of theirs"

        # Once the names are free, a server with them deploys (at the next drift check).
        for kind, name in theirs:
            control_plane.kubectl("delete", kind.lower(), "-n", namespace, name, "--wait=false")
        apply(control_plane, namespace, server(namespace, "adopt"))
        await eventually(lambda: cluster.ready("adopt"), what="adopt deployed once the names are free")
