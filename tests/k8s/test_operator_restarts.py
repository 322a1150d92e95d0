"""The operator as it is deployed: restarted (with an expiry passing while it is down), across
an API server restart, and as the `coviu-mcp-operator` command. Nothing may be lost or done
twice.

These operators watch one namespace and log in as a user bound to exactly the ClusterRole
of coviu_operator.rbac, so a permission the docs forget fails here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coviu_operator.names import KIND
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.process import Process, wait_until
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, creds, merge_patch, rfc3339, server
from coviu_testbed.operator import OperatorThread
from coviu_testbed.operator_process import OperatorProcess


@pytest.fixture
def start_operator(operator_kubeconfig: str, namespace: str, crd: None) -> Iterator[OperatorThread]:
    """An operator for this test's namespace; stop and start it again with stop()/start()."""
    runner = Restartable(namespace, operator_kubeconfig)
    runner.start()
    yield runner  # type: ignore[misc]
    runner.stop()


class Restartable:
    def __init__(self, namespace: str, kubeconfig: str) -> None:
        self.namespace, self.kubeconfig = namespace, kubeconfig
        self.current: OperatorThread | None = None

    def start(self) -> OperatorThread:
        self.current = OperatorThread(OperatorSettings(), namespaces=[self.namespace], kubeconfig=self.kubeconfig)
        return self.current.__enter__()

    def stop(self) -> None:
        if self.current is not None:
            self.current.__exit__(None, None, None)
            self.current = None


def events(plane: ControlPlane, namespace: str, name: str) -> list[str]:
    return plane.kubectl("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}",
                         "-o", "jsonpath={.items[*].reason}").stdout.split()


def replica_sets(plane: ControlPlane, namespace: str, name: str) -> list[str]:
    return plane.kubectl("get", "replicasets", "-n", namespace, "-l", f"app.kubernetes.io/instance={name}",
                         "-o", "name").stdout.split()


async def test_an_operator_restart_loses_nothing_and_repeats_nothing(
    control_plane: ControlPlane, namespace: str, api_client: object, start_operator: Restartable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coviu_operator.catchup")
    cluster = Cluster(api_client, namespace)  # type: ignore[arg-type]
    expires = datetime.now(UTC) + timedelta(seconds=6)
    apply(control_plane, namespace, creds(namespace), server(namespace, "steady"), server(namespace, "changed"),
          server(namespace, "ending", expiresAt=rfc3339(expires)),
          server(namespace, "closing", expiresAt=rfc3339(expires + timedelta(seconds=3))))  # just after the restart
    for name in ("steady", "changed", "ending", "closing"):
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} to be Ready")
    tokens = {name: await cluster.token(name) for name in ("steady", "changed")}
    steady_sets = replica_sets(control_plane, namespace, "steady")

    start_operator.stop()
    merge_patch(control_plane, namespace, "cmcp/changed", {"spec": {"methods": ["read"]}})
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1)
    assert await cluster.get("Deployment", "ending-mcp") is not None, "nobody removed it while the operator was down"

    started = time.monotonic()
    start_operator.start()
    await eventually(lambda: _gone(cluster, "ending-mcp"), what="the missed expiry processed at start-up",
                     interval=0.05)
    print(f"\nexpiry missed while down: workload removed {time.monotonic() - started:.2f}s after the operator "
          "was started (including its start-up)")
    await eventually(lambda: _gone(cluster, "closing-mcp"), what="the expiry just after the restart", interval=0.05)
    await eventually(lambda: _tool_count(cluster, "changed", 13), what="the change made while down")
    # The start-up check removed the missed one, and re-read "closing" at its instant (whoever then
    # deleted first, it or the server's loop), with the operator's own permissions.
    checked = [r.getMessage() for r in caplog.records if r.name == "coviu_operator.catchup"]
    assert any(m.startswith(f"[{namespace}/ending] expired: removed") for m in checked), checked
    assert not [m for m in checked if "loop will retry" in m or "skipped" in m], checked

    assert {name: await cluster.token(name) for name in ("steady", "changed")} == tokens
    assert replica_sets(control_plane, namespace, "steady") == steady_sets, "the unchanged server did not roll"
    for name in ("steady", "changed", "ending", "closing"):
        reasons = events(control_plane, namespace, name)
        assert reasons.count("Created") == 1 and "TokenRotated" not in reasons, (name, reasons)
    for name in ("ending", "closing"):
        await eventually(lambda name=name: _announced(control_plane, namespace, name, "Expired"), what="Expired")
        assert events(control_plane, namespace, name).count("Expired") == 1


async def _announced(plane: ControlPlane, namespace: str, name: str, reason: str) -> bool:
    return reason in events(plane, namespace, name)


async def _gone(cluster: Cluster, deployment: str) -> bool:
    return await cluster.get("Deployment", deployment) is None


async def _tool_count(cluster: Cluster, name: str, count: int) -> bool:
    obj = await cluster.get(KIND, name) or {}
    return (obj.get("status") or {}).get("toolCount") == count


def restart_api_server(plane: ControlPlane) -> float:
    """Stop kube-apiserver, start it again with the same flags; return the seconds it was down."""
    old = plane.processes["kube-apiserver"]
    began = time.monotonic()
    old.stop()
    plane.processes["kube-apiserver"] = Process(old.name, old.argv, old.log_path.with_name("kube-apiserver.2.log"))
    wait_until(lambda: plane.kubectl("get", "--raw", "/readyz", check=False).returncode == 0,
               what="kube-apiserver to be ready again", timeout=120, interval=0.2)
    return time.monotonic() - began


async def test_an_api_server_restart_loses_nothing_and_repeats_nothing(
    control_plane: ControlPlane, namespace: str, api_client: object, start_operator: Restartable,
) -> None:
    cluster = Cluster(api_client, namespace)  # type: ignore[arg-type]
    apply(control_plane, namespace, creds(namespace), server(namespace, "before"))
    await eventually(lambda: cluster.ready("before"), what="before to be Ready")
    token = await cluster.token("before")

    down = restart_api_server(control_plane)
    print(f"\nkube-apiserver was unavailable for {down:.1f}s")

    apply(control_plane, namespace, server(namespace, "after"))
    await eventually(lambda: cluster.ready("after"), what="a server created after the restart", timeout=90)
    control_plane.kubectl("delete", "secret", "-n", namespace, "before-mcp-token")
    await eventually(lambda: _rotated(cluster, "before", token), what="a deletion seen after the restart")
    await eventually(lambda: cluster.ready("before"), what="before to be Ready with the new token")
    before = events(control_plane, namespace, "before")
    assert (before.count("Created"), before.count("TokenRotated")) == (2, 1), before  # the Secret was re-created
    assert events(control_plane, namespace, "after").count("Created") == 1


async def _rotated(cluster: Cluster, name: str, old: str | None) -> bool:
    return (await cluster.token(name)) not in (None, old)


def test_the_command_serves_metrics_and_liveness_and_logs_no_secrets(
    control_plane: ControlPlane, namespace: str, operator_kubeconfig: str, crd: None, tmp_path: Path,
) -> None:
    operator = OperatorProcess(operator_kubeconfig, namespace, tmp_path)
    operator.start()
    try:
        apply(control_plane, namespace, creds(namespace, client_secret="never-logged"), server(namespace, "cli"))
        control_plane.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=60s", "cmcp/cli")
        secret = json.loads(control_plane.kubectl("get", "secret", "-n", namespace, "cli-mcp-token", "-o",
                                                  "json").stdout)
        token = base64.b64decode(secret["data"]["token"]).decode()

        with urllib.request.urlopen(f"http://127.0.0.1:{operator.health_port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as response:
            exposition = response.read().decode()
        assert 'coviu_operator_servers{state="ready"} 1.0' in exposition
        assert "coviu_operator_reconcile_duration_seconds_count" in exposition
    finally:
        assert operator.stop() == 0
    (log,) = operator.logs

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    created = [line for line in lines if line["message"].startswith("Created:")]
    assert created and created[0]["object"]["name"] == "cli" and created[0]["object"]["namespace"] == namespace
    text = log.read_text()
    assert token not in text and "never-logged" not in text
