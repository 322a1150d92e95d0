"""The operator, kopf wiring included, against kmock's in-memory Kubernetes API on fake time.

looptime fast-forwards the event loop whenever nothing is runnable, so instants minutes
away (expiresAt, the ExpiringSoon window) are reached in milliseconds of real time and the
tests can assert what happens exactly at them. The operator's clock follows loop time.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import kmock
import pytest
import yaml

from coviu_operator.catchup import catch_up
from coviu_operator.cli import run_operator
from coviu_operator.controller import REJECTED_RETRY, Turns
from coviu_operator.kube import Kube
from coviu_operator.metrics import Metrics
from coviu_operator.names import ROTATE_ANNOTATION
from coviu_operator.settings import OperatorSettings
from coviu_testbed.operator import credentials_secret, server_body

NS = "clinic"
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
SERVERS = kmock.resource("mcp.coviu.dev", "v1alpha1", "coviumcpservers")
SECRETS = kmock.resource("", "v1", "secrets")
DEPLOYMENTS = kmock.resource("apps", "v1", "deployments")
SERVICES = kmock.resource("", "v1", "services")
EVENTS = kmock.resource("", "v1", "events")
KINDS = {
    "mcp.coviu.dev/v1alpha1/coviumcpservers": "CoviuMCPServer",
    "v1/secrets": "Secret",
    "v1/services": "Service",
    "v1/serviceaccounts": "ServiceAccount",
    "apps/v1/deployments": "Deployment",
    "v1/events": "Event",
    "v1/namespaces": "Namespace",  # kopf waits to discover it even when watching cluster-wide
}
T = TypeVar("T")


class LoopClock:
    """Wall time that moves with the event loop's (fake) time: EPOCH at loop time 0."""

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=asyncio.get_running_loop().time())


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator plus the API-server behaviours the operator relies on: server-side
    apply creates a missing object (409 if it names the UID of one deleted since), a creation
    answers 201, a new object gets a UID, and `generateName` names a new object (kopf's Events)."""

    _generated: int = 0

    async def _handle(self, request: kmock.Request) -> Any:
        content_type = request.headers.get("Content-Type", "")
        key = (request.resource, request.namespace, request.name)
        if request.action == kmock.action.UPDATE and content_type.startswith("application/apply-patch") and (
            key not in self.objects or self.objects[key].deleted
        ):
            if "uid" in request.data.get("metadata", {}):  # the object read was deleted since
                return kmock.Response(status=409, payload={"kind": "Status", "reason": "Conflict",
                                                           "message": "Precondition failed: UID mismatch"})
            request = self._replace(request, action=kmock.action.CREATE, method=kmock.method.POST)
        if request.action == kmock.action.CREATE:
            self._generated += 1
            meta = request.data.get("metadata", {})
            name = f"{meta['generateName']}{self._generated}" if "generateName" in meta else meta.get("name")
            uid = meta.get("uid", f"uid-{self._generated}")
            request = self._replace(request, data={**request.data, "metadata": {**meta, "name": name, "uid": uid}})
        return await super()._handle(request)

    async def _serve_create(self, request: kmock.Request) -> kmock.Response:
        return kmock.Response(status=201, payload=await super()._serve_create(request))

    def _replace(self, request: kmock.Request, **changes: Any) -> kmock.Request:
        # kmock matches requests to reactions by identity, so the recorded one is swapped too.
        replacement = attrs.evolve(request, **changes)
        self._requests[next(i for i, seen in enumerate(self._requests) if seen is request)] = replacement
        return replacement


pytestmark = [pytest.mark.looptime, pytest.mark.kmock(cls=Emulator)]


def kubeconfig(api: Emulator, tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": str(api.url)}}],
        "users": [{"name": "test", "user": {"token": "test"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "test"}}],
    }))
    return str(path)


def declare(api: Emulator) -> None:
    """Serve the kinds the operator reads and writes."""
    for resource, kind in KINDS.items():
        api.resources[resource] = {"kind": kind, "namespaced": kind != "Namespace", "subresources": ["status"],
                                   "verbs": ["list", "watch", "get", "create", "patch", "delete"]}


@asynccontextmanager
async def operator(api: Emulator, tmp_path: Path, **settings: Any) -> AsyncIterator[Metrics]:
    """Run the operator cluster-wide against `api` until the block exits."""
    declare(api)
    metrics, stop = Metrics(), asyncio.Event()
    task = asyncio.create_task(run_operator(
        OperatorSettings(**{"resync_interval": 3600.0, **settings}), metrics,
        kubeconfig=kubeconfig(api, tmp_path), clock=LoopClock(), stop_flag=stop,
    ))
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def get(api: Emulator, resource: kmock.resource, name: str) -> dict[str, Any] | None:
    key = (resource, NS, name)
    if key not in api.objects or api.objects[key].deleted:
        return None
    raw: dict[str, Any] = api.objects[key].raw
    return raw


def condition(api: Emulator, type_: str, name: str = "demo") -> dict[str, Any]:
    conditions = ((get(api, SERVERS, name) or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), {})


def token(api: Emulator, name: str = "demo") -> str | None:
    secret = get(api, SECRETS, f"{name}-mcp-token")
    return base64.b64decode(secret["data"]["token"]).decode() if secret else None


def events(api: Emulator) -> list[tuple[str, str]]:
    return [(obj.raw["type"], obj.raw["reason"]) for (res, _, _), obj in api.objects.items() if res == EVENTS]


# Fake seconds allowed after an instant for the operator's writes to reach the emulator.
STEP = 0.5


async def eventually(check: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll `check` in fake time until truthy; the loop time spent is what the assertion is about."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} fake seconds: {check}")
        await asyncio.sleep(0.05)
    return result


async def sleep_until(loop_time: float) -> None:
    await asyncio.sleep(loop_time - asyncio.get_running_loop().time())


async def create(api: Emulator, body: dict[str, Any]) -> None:
    body["metadata"].setdefault("resourceVersion", "1")  # kopf's finalizer patches test it
    plural = {"Secret": "secrets", "CoviuMCPServer": "coviumcpservers", "Deployment": "deployments"}[body["kind"]]
    prefix = "/api/v1" if body["apiVersion"] == "v1" else f"/apis/{body['apiVersion']}"
    async with api.post(f"{prefix}/namespaces/{NS}/{plural}", json=body) as response:
        assert response.status < 300, await response.text()


async def patch(api: Emulator, path: str, body: dict[str, Any]) -> None:
    async with api.patch(path, json=body, headers={"Content-Type": "application/merge-patch+json"}) as response:
        assert response.status < 300, await response.text()


async def delete(api: Emulator, path: str) -> None:
    async with api.delete(path) as response:
        assert response.status < 300, await response.text()


def demo(**spec: Any) -> dict[str, Any]:
    return server_body("demo", NS, spec, uid="uid-demo", generation=1,
                       creationTimestamp=EPOCH.isoformat().replace("+00:00", "Z"))


async def roll_out(api: Emulator, name: str = "demo-mcp") -> None:
    """Play the Deployment controller: every replica updated and available."""
    counts = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}
    await patch(api, f"/apis/apps/v1/namespaces/{NS}/deployments/{name}/status",
                {"status": {"observedGeneration": 1, **counts}})


async def test_a_new_server_gets_its_objects_and_becomes_ready(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(methods=["read"], tags=["triage"]))
        await eventually(lambda: condition(kmock, "TokenReady").get("status") == "True")
        deployment = get(kmock, DEPLOYMENTS, "demo-mcp")
        assert deployment is not None and get(kmock, SERVICES, "demo-mcp") is not None
        assert deployment["metadata"]["ownerReferences"][0]["uid"] == "uid-demo"
        status = get(kmock, SERVERS, "demo")["status"]  # type: ignore[index]
        assert status["toolCount"] == 4 and "get_single_coviu_team" in status["tools"]
        assert condition(kmock, "Ready")["reason"] == "RollingOut"

        await roll_out(kmock)
        await eventually(lambda: condition(kmock, "Ready").get("status") == "True", timeout=1)
        await eventually(lambda: ("Normal", "Ready") in events(kmock))
        assert events(kmock).count(("Normal", "Created")) == 1


async def test_expiry_tears_down_at_the_instant_and_warns_before(kmock: Emulator, tmp_path: Path) -> None:
    expires_at = EPOCH + timedelta(seconds=600)
    async with operator(kmock, tmp_path, expiring_soon_window=timedelta(seconds=300)) as metrics:
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=expires_at.isoformat()))
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp"))

        await sleep_until(299.9)
        assert condition(kmock, "ExpiringSoon")["status"] == "False"
        # The operator's writes travel over real sockets to the emulator, which fake time does
        # not wait for: the checks after each instant allow a little fake time for them.
        await sleep_until(300.1)
        await eventually(lambda: condition(kmock, "ExpiringSoon")["status"] == "True", timeout=STEP)
        await eventually(lambda: ("Warning", "ExpiringSoon") in events(kmock), timeout=STEP)

        await sleep_until(599.9)
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None
        await sleep_until(600.01)
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp") is None, timeout=STEP)
        await eventually(lambda: get(kmock, SERVICES, "demo-mcp") is None and token(kmock) is None, timeout=STEP)
        assert condition(kmock, "Expired")["reason"] == "Expired"
        assert get(kmock, SERVERS, "demo") is not None, "the resource stays as the record"
        assert metrics.registry.get_sample_value("coviu_operator_teardowns_total") == 1
        await eventually(lambda: ("Normal", "Expired") in events(kmock))
        assert [events(kmock).count(e) for e in (("Warning", "ExpiringSoon"), ("Normal", "Expired"))] == [1, 1]
        delay = metrics.registry.get_sample_value("coviu_operator_teardown_delay_seconds_sum")
        assert delay is not None and delay < STEP


async def test_an_expiry_that_passed_while_down_is_processed_at_start_up(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=(EPOCH + timedelta(hours=1)).isoformat()))
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp"))
    await asyncio.sleep(7200)  # the operator is down when the hour ends
    assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None

    async with operator(kmock, tmp_path) as metrics:
        started = asyncio.get_running_loop().time()
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp") is None, timeout=1)
        assert asyncio.get_running_loop().time() - started < 1
        await eventually(lambda: condition(kmock, "Expired").get("status") == "True", timeout=1)
        assert metrics.registry.get_sample_value("coviu_operator_teardowns_total") == 1


async def test_the_start_up_check_removes_due_workloads_without_waiting_for_kopf(
    kmock: Emulator, tmp_path: Path,
) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        for name, expires_in in (("overdue", 60), ("soon", 125), ("later", 3600)):
            body = server_body(name, NS, {"expiresAt": (EPOCH + timedelta(seconds=expires_in)).isoformat()},
                               uid=f"uid-{name}", generation=1)
            await create(kmock, body)
        await eventually(lambda: all(get(kmock, DEPLOYMENTS, f"{n}-mcp") for n in ("overdue", "soon", "later")))
    await sleep_until(120)  # down while "overdue" passes; "soon" is 5 s away

    async with kube_client(kmock, tmp_path) as kube:  # no kopf at all
        metrics = Metrics()
        checking = asyncio.create_task(catch_up(kube, LoopClock(), metrics, Turns(), [NS]))
        await eventually(lambda: get(kmock, DEPLOYMENTS, "overdue-mcp") is None and get(kmock, SERVICES, "overdue-mcp")
                         is None and token(kmock, "overdue") is None, timeout=0.1)
        await sleep_until(124.99)
        assert get(kmock, DEPLOYMENTS, "soon-mcp") is not None
        await checking
        assert asyncio.get_running_loop().time() < 125.01
        assert get(kmock, DEPLOYMENTS, "soon-mcp") is None and get(kmock, DEPLOYMENTS, "later-mcp") is not None
        assert metrics.registry.get_sample_value("coviu_operator_teardowns_total") == 2


async def deployed_demo(api: Emulator, expires_in: float) -> None:
    """A server and its Deployment as an operator left them, with no operator running."""
    await create(api, demo(expiresAt=(EPOCH + timedelta(seconds=expires_in)).isoformat()))
    owner = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "name": "demo", "uid": "uid-demo",
             "controller": True}
    await create(api, {"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "demo-mcp", "namespace": NS, "ownerReferences": [owner]}})


@asynccontextmanager
async def kube_client(api: Emulator, tmp_path: Path) -> AsyncIterator[Kube]:
    declare(api)
    async with Kube.connect(OperatorSettings().request_timeout, kubeconfig(api, tmp_path)) as kube:
        yield kube


async def test_an_expiry_moved_later_during_start_up_is_not_carried_out(kmock: Emulator, tmp_path: Path) -> None:
    await deployed_demo(kmock, expires_in=60)
    await sleep_until(55)
    async with kube_client(kmock, tmp_path) as kube:
        checking = asyncio.create_task(catch_up(kube, LoopClock(), Metrics(), Turns(), [NS]))
        await asyncio.sleep(1)  # the check has planned the teardown for 60 s
        await patch(kmock, f"/apis/mcp.coviu.dev/v1alpha1/namespaces/{NS}/coviumcpservers/demo",
                    {"spec": {"expiresAt": (EPOCH + timedelta(days=1)).isoformat()}})
        await checking
        assert asyncio.get_running_loop().time() >= 60
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None


async def test_the_start_up_check_waits_for_a_reconcile_in_progress(kmock: Emulator, tmp_path: Path) -> None:
    await deployed_demo(kmock, expires_in=60)
    await sleep_until(61)
    turns = Turns()
    async with kube_client(kmock, tmp_path) as kube:
        async with turns((NS, "demo")):  # the server's loop is in the middle of a reconcile
            checking = asyncio.create_task(catch_up(kube, LoopClock(), Metrics(), turns, [NS]))
            await asyncio.sleep(5)
            assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None, "removed under a running reconcile"
        await checking
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is None


async def test_expires_at_before_creation_deploys_nothing(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=(EPOCH - timedelta(days=1)).isoformat()))
        expired = await eventually(lambda: condition(kmock, "Expired"))
        assert expired["status"] == "True" and expired["reason"] == "ExpiresAtInPast"
        assert "nothing was deployed" in expired["message"]
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is None and token(kmock) is None


async def test_moving_expiry_later_restores_the_server_with_a_new_token(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=(EPOCH + timedelta(seconds=60)).isoformat()))
        first = await eventually(lambda: token(kmock))
        await sleep_until(61)
        assert condition(kmock, "Expired")["status"] == "True" and token(kmock) is None

        later = (EPOCH + timedelta(days=30)).isoformat()
        await patch(kmock, f"/apis/mcp.coviu.dev/v1alpha1/namespaces/{NS}/coviumcpservers/demo",
                    {"spec": {"expiresAt": later}})
        second = await eventually(lambda: token(kmock), timeout=1)
        assert second != first
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None
        assert condition(kmock, "Expired")["status"] == "False"
        await eventually(lambda: ("Normal", "Restored") in events(kmock))


async def test_missing_credentials_block_until_the_secret_appears(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, demo())
        ready = await eventually(lambda: condition(kmock, "Ready"))
        assert ready["reason"] == "CredentialsSecretNotFound"
        assert f"Secret {NS}/coviu-credentials not found" in ready["message"]
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is None and token(kmock) is None

        await create(kmock, credentials_secret(NS))  # the Secret watch wakes the server
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp"), timeout=1)


async def test_deleting_the_token_secret_rotates_the_token(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo())
        first = await eventually(lambda: token(kmock))
        old_hash = pod_annotation(kmock)

        await delete(kmock, f"/api/v1/namespaces/{NS}/secrets/demo-mcp-token")
        # At once, or after the retry of a reconcile whose write met the deletion (a UID conflict).
        second = await eventually(lambda: token(kmock) not in (None, first) and token(kmock),
                                  timeout=REJECTED_RETRY + 5)
        assert len(second) >= 43
        assert pod_annotation(kmock) != old_hash, "the Deployment rolls to the new token"
        await eventually(lambda: ("Normal", "TokenRotated") in events(kmock))


async def test_the_rotate_annotation_rotates_once_per_value(kmock: Emulator, tmp_path: Path) -> None:
    path = f"/apis/mcp.coviu.dev/v1alpha1/namespaces/{NS}/coviumcpservers/demo"
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo())
        first = await eventually(lambda: token(kmock))
        await patch(kmock, path, {"metadata": {"annotations": {ROTATE_ANNOTATION: "2030-01-01"}}})
        second = await eventually(lambda: token(kmock) != first and token(kmock), timeout=1)

        await patch(kmock, path, {"spec": {"replicas": 2}})  # any other change keeps the token
        await eventually(lambda: get(kmock, DEPLOYMENTS, "demo-mcp")["spec"].get("replicas") == 2)  # type: ignore[index]
        assert token(kmock) == second


async def test_a_filter_that_selects_nothing_creates_nothing(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(methods=["no_such_tool"]))
        tools = await eventually(lambda: condition(kmock, "ToolsResolved"))
        assert tools["status"] == "False" and tools["reason"] == "UnknownFilterValue"
        assert "no_such_tool" in tools["message"]
        assert condition(kmock, "Ready")["reason"] == "UnknownFilterValue"
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is None and token(kmock) is None


async def test_a_deleted_child_is_recreated(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path):
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo())
        await eventually(lambda: get(kmock, SERVICES, "demo-mcp"))
        await delete(kmock, f"/api/v1/namespaces/{NS}/services/demo-mcp")
        await eventually(lambda: get(kmock, SERVICES, "demo-mcp"), timeout=1)


async def test_deleting_a_server_drops_its_metrics(kmock: Emulator, tmp_path: Path) -> None:
    async with operator(kmock, tmp_path) as metrics:
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=(EPOCH + timedelta(days=1)).isoformat()))
        gauge = "coviu_operator_server_expiry_timestamp_seconds"
        labels = {"namespace": NS, "name": "demo"}
        await eventually(lambda: metrics.registry.get_sample_value(gauge, labels))
        assert metrics.registry.get_sample_value(gauge, labels) == (EPOCH + timedelta(days=1)).timestamp()

        await delete(kmock, f"/apis/mcp.coviu.dev/v1alpha1/namespaces/{NS}/coviumcpservers/demo")
        await eventually(lambda: get(kmock, SERVERS, "demo") is None)  # kopf released its finalizer
        await eventually(lambda: metrics.registry.get_sample_value(gauge, labels) is None)
        assert metrics.registry.get_sample_value("coviu_operator_servers", {"state": "progressing"}) == 0


def pod_annotation(api: Emulator) -> str:
    deployment = get(api, DEPLOYMENTS, "demo-mcp") or {}
    annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
    return annotations["mcp.coviu.dev/config-hash"]


async def test_a_reconcile_that_raises_is_reported_and_retried_not_a_crash_loop(
    kmock: Emulator, tmp_path: Path
) -> None:
    """Here the API answers the first Deployment apply with something that is not an object."""
    kmock["patch", f"/apis/apps/v1/namespaces/{NS}/deployments/demo-mcp"][:1] << []
    async with operator(kmock, tmp_path) as metrics:
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo())
        ready = await eventually(lambda: condition(kmock, "Ready").get("reason") == "ReconcileFailed"
                                 and condition(kmock, "Ready"))
        assert "KeyError" in ready["message"]
        await eventually(lambda: ("Warning", "ReconcileFailed") in events(kmock))
        assert metrics.registry.get_sample_value("coviu_operator_reconciles_total", {"result": "error"}) == 1
        await eventually(lambda: condition(kmock, "Ready").get("reason") == "RollingOut", timeout=15)
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is not None, "the loop lived on and retried"


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_a_date_beyond_utc_stored_before_the_crd_bound_is_reported_not_a_crash_loop(
    kmock: Emulator, tmp_path: Path, expires_at: str, caplog: pytest.LogCaptureFixture,
) -> None:
    """The CRD refuses such instants now; one stored before that rule (this emulator has no
    schema) ends in a condition and an Event, deploys nothing and fails no reconcile."""
    caplog.set_level(logging.WARNING)
    async with operator(kmock, tmp_path) as metrics:
        await create(kmock, credentials_secret(NS))
        await create(kmock, demo(expiresAt=expires_at))
        ready = await eventually(lambda: condition(kmock, "Ready").get("reason") == "InvalidSpec"
                                 and condition(kmock, "Ready"))
        assert "expiresAt" in ready["message"]
        await eventually(lambda: ("Warning", "InvalidSpec") in events(kmock))
        assert get(kmock, DEPLOYMENTS, "demo-mcp") is None and token(kmock) is None, "nothing half-applied"
        assert not metrics.registry.get_sample_value("coviu_operator_reconciles_total", {"result": "error"})
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, tracebacks
