"""The status tells the truth, and the loop survives what it is given (issue 14, attacks 7, 11,
12 and 13), on the real control plane under the documented RBAC.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coviu_operator.metrics import Metrics
from coviu_operator.names import KIND
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, creds, server
from coviu_testbed.operator import OperatorThread
from coviu_testbed.operator_process import OperatorProcess


def count(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value("coviu_operator_reconciles_total", {"result": result}) or 0.0


def reasons(plane: ControlPlane, namespace: str, name: str) -> list[tuple[str, str]]:
    out = plane.kubectl("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}",
                        "-o", "jsonpath={range .items[*]}{.type}/{.reason}{\"\\n\"}{end}").stdout
    return [tuple(line.split("/", 1)) for line in out.splitlines() if line]  # type: ignore[misc]


async def _with(cluster: Cluster, name: str, type_: str, **expected: str) -> dict[str, Any] | None:
    found = await cluster.condition(name, type_)
    return found if found and all(found.get(k) == v for k, v in expected.items()) else None


async def test_the_status_says_what_is_so_and_warns_only_when_due(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
) -> None:
    cluster = Cluster(api_client, namespace)
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=233000).isoformat().replace("+00:00", "Z")
    with OperatorThread(OperatorSettings(), namespaces=[namespace], kubeconfig=operator_kubeconfig):
        apply(control_plane, namespace, creds(namespace), server(namespace, "typo", methods=["raed"], tags=["billing"]),
              server(namespace, "short", expiresAt=soon), server(namespace, "late", expiresAt="2020-01-01T00:00:00Z"))
        ready = await eventually(lambda: _with(cluster, "typo", "Ready", reason="UnknownFilterValue"),
                                 what="typo's filters reported")
        assert "methods: unknown value(s) ['raed']" in ready["message"]
        assert "tags: unknown value(s) ['billing']" in ready["message"], "every filter error at once"

        await eventually(lambda: cluster.ready("short"), what="short to be Ready")
        assert (await cluster.must(KIND, "short"))["status"]["expiresAt"] == soon, "as written, .233Z"
        warning = await cluster.condition("short", "ExpiringSoon")
        assert (warning["status"], warning["reason"]) == ("True", "CreatedWithinWarningWindow")

        late = await eventually(lambda: _with(cluster, "late", "Expired", status="True"), what="late's Expired")
        assert late["reason"] == "ExpiresAtInPast", "the reason docs/operator.md states"
        assert await cluster.condition("late", "Ready") == {}, "no Ready once expired (kstatus reads it)"
    assert ("Warning", "ExpiringSoon") not in reasons(control_plane, namespace, "short"), "created short-lived"


@pytest.mark.parametrize("served", ["cluster", "listed"])
async def test_a_terminating_namespace_is_left_to_the_namespace_controller(
    control_plane: ControlPlane, api_client: Any, operator_kubeconfig: str, crd: None,
    caplog: pytest.LogCaptureFixture, served: str,
) -> None:
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    control_plane.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": namespace}})
    cluster = Cluster(api_client, namespace)
    caplog.set_level(logging.INFO)
    # Cluster-wide (chart `watch.scope: cluster`), and limited to the namespace (the chart's default).
    namespaces = [namespace] if served == "listed" else []
    with OperatorThread(OperatorSettings(), namespaces=namespaces, kubeconfig=operator_kubeconfig):
        apply(control_plane, namespace, creds(namespace), *(server(namespace, f"s{i}") for i in range(3)))
        for i in range(3):
            await eventually(lambda i=i: cluster.ready(f"s{i}"), what=f"s{i} to be Ready")
        caplog.clear()
        control_plane.api("DELETE", f"/api/v1/namespaces/{namespace}")

        async def servers_gone() -> bool:  # then no loop is left that could fight the namespace controller
            return not await cluster.kube.list_servers([namespace])

        await eventually(servers_gone, what="the namespace controller to delete the servers", timeout=120)
    ours = [r for r in caplog.records if namespace in str(getattr(r, "k8s_ref", "")) or namespace in r.getMessage()]
    loud = [f"{r.levelname} {r.getMessage()}" for r in ours
            if r.levelno >= logging.ERROR or any(word in r.getMessage() for word in
                                                   ("ApplyFailed", "NotFound", "Created", "TokenRotated"))]
    assert ours and not loud, loud


async def test_an_expiry_missed_while_down_is_processed_soon_after_the_process_is_launched(
    control_plane: ControlPlane, namespace: str, api_client: Any, operator_kubeconfig: str, crd: None,
    tmp_path: Path,
) -> None:
    """The figure docs/operator.md states: from launching `coviu-mcp-operator` to the missed
    expiry's Deployment being gone, the new process's own start-up included."""
    cluster = Cluster(api_client, namespace)
    operator = OperatorProcess(operator_kubeconfig, namespace, tmp_path)
    operator.start()
    try:
        expires = datetime.now(UTC) + timedelta(seconds=5)
        apply(control_plane, namespace, creds(namespace),
              server(namespace, "missed", expiresAt=expires.isoformat().replace("+00:00", "Z")))
        await eventually(lambda: cluster.ready("missed"), what="missed to be Ready")
        operator.stop()
        while datetime.now(UTC) < expires + timedelta(seconds=1):
            time.sleep(0.1)
        assert await cluster.get("Deployment", "missed-mcp") is not None
        launched = time.monotonic()
        serving = operator.start()  # returns once /healthz answers

        async def removed() -> bool:
            return await cluster.get("Deployment", "missed-mcp") is None

        await eventually(removed, what="the missed expiry processed", interval=0.02)
        took = time.monotonic() - launched
        print(f"\nexpiry missed while down: Deployment gone {took:.2f}s after the operator process was launched "
              f"(serving /healthz after {serving:.2f}s; load average {os.getloadavg()[0]:.1f})")
        assert took < serving + 5, "the start-up check acts as soon as the process runs"
    finally:
        operator.stop()
