"""The operator on a real control plane: CRD validation, owned objects, rollouts, rotation,
recovery, expiry timing and garbage collection, observed through the API as a user would.

One operator (cluster-wide, in a thread of its own) serves every test of this module; each
test works in its own namespace.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes_asyncio import client, watch

from coviu_operator.names import API_VERSION, KIND, ROTATE_ANNOTATION
from coviu_testbed.cluster import ControlPlane, KubectlError
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import EXAMPLE, Cluster, apply, changed, creds, merge_patch, rfc3339, server
from coviu_testbed.operator import OperatorThread


async def test_the_example_becomes_ready_with_everything_owned_by_it(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, api_client: client.ApiClient,
    operator: OperatorThread,
) -> None:
    control_plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    control_plane.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=60s", "cmcp/triage-readonly")

    owner = await cluster.must(KIND, "triage-readonly")
    reference = {"apiVersion": API_VERSION, "kind": KIND, "name": "triage-readonly",
                 "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    for kind, name in [("Secret", "triage-readonly-mcp-token"), ("ServiceAccount", "triage-readonly-mcp"),
                       ("Deployment", "triage-readonly-mcp"), ("Service", "triage-readonly-mcp")]:
        child = await cluster.get(kind, name)
        assert child is not None and child["metadata"]["ownerReferences"] == [reference], kind

    pods = (await client.CoreV1Api(api_client).list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/instance=triage-readonly")).items
    assert pods and all({c.type: c.status for c in pod.status.conditions}["Ready"] == "True" for pod in pods)

    status = owner["status"]
    assert status["tools"] == ["list_all_coviu_waiting_calls", "list_all_coviu_waiting_queue_calls",
                               "get_single_coviu_waiting_call_by_id", "get_single_coviu_team"]
    assert status["toolCount"] == 4 and status["observedGeneration"] == owner["metadata"]["generation"]
    secret = await cluster.must("Secret", "triage-readonly-mcp-token")
    url = base64.b64decode(secret["data"]["url"]).decode()
    assert url == status["url"] + await cluster.token("triage-readonly")

    row = control_plane.kubectl("get", "cmcp", "-n", namespace, "--no-headers").stdout.split()
    assert row[:4] == ["triage-readonly", "True", "4", "2027-06-30T23:59:59Z"]


async def test_spec_and_secret_changes_roll_the_deployment(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace), server(namespace, "roll", methods=["read"]))
    await eventually(lambda: cluster.ready("roll"), what="roll to be Ready")
    first_hash = await cluster.config_hash("roll")

    merge_patch(control_plane, namespace, "cmcp/roll", {"spec": {"methods": ["custom"]}})

    async def methods_rolled_out() -> bool:
        deployment = await cluster.must("Deployment", "roll-mcp")
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        status = (await cluster.must(KIND, "roll"))["status"]
        return env.get("MCP_METHODS") == "custom" and status["tools"] == ["get_single_coviu_session_summary_by_id"]

    await eventually(methods_rolled_out, what="the new methods in the Deployment and the status")
    assert await cluster.config_hash("roll") == first_hash, "no Secret changed"

    apply(control_plane, namespace, creds(namespace, client_secret="rotated-by-the-clinic"))
    await eventually(lambda: changed(cluster.config_hash("roll"), first_hash), what="a new config hash")
    await eventually(lambda: cluster.ready("roll"), what="the rollout to finish")




async def test_tokens_rotate_on_request_and_when_their_secret_is_deleted(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace), server(namespace, "rot"))
    await eventually(lambda: cluster.ready("rot"), what="rot to be Ready")
    first, first_hash = await cluster.token("rot"), await cluster.config_hash("rot")

    control_plane.kubectl("annotate", "-n", namespace, "cmcp/rot", f"{ROTATE_ANNOTATION}=2026-11-25")
    await eventually(lambda: changed(cluster.token("rot"), first), what="a rotated token")
    second = await cluster.token("rot")
    await eventually(lambda: changed(cluster.config_hash("rot"), first_hash), what="the Deployment to roll")

    control_plane.kubectl("delete", "secret", "-n", namespace, "rot-mcp-token")
    await eventually(lambda: changed(cluster.token("rot"), second), what="a token minted after the deletion")
    await eventually(lambda: cluster.ready("rot"), what="Ready with the new token")
    reasons = control_plane.kubectl("get", "events", "-n", namespace, "--field-selector",
                                    "involvedObject.name=rot", "-o", "jsonpath={.items[*].reason}").stdout.split()
    assert reasons.count("TokenRotated") == 2


async def test_missing_credentials_are_reported_and_recovered_from(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, server(namespace, "wait"))
    ready = await eventually(lambda: _reason(cluster, "wait", "CredentialsSecretNotFound"),
                             what="Ready=False naming the Secret")
    assert ready["message"] == f"Secret {namespace}/coviu-credentials not found"
    assert await cluster.get("Deployment", "wait-mcp") is None

    apply(control_plane, namespace, creds(namespace, client_id="has-a-newline\n"))
    ready = await eventually(lambda: _reason(cluster, "wait", "CredentialsSecretInvalid"), what="the bad key named")
    assert "key 'client_id' has leading or trailing whitespace" in ready["message"]

    apply(control_plane, namespace, creds(namespace))
    await eventually(lambda: cluster.ready("wait"), what="recovery once the Secret is right")


async def _reason(cluster: Cluster, name: str, reason: str) -> dict[str, Any] | None:
    ready = await cluster.condition(name, "Ready")
    return ready if ready.get("reason") == reason else None




async def test_expiry_removes_the_workload_within_a_second_and_extension_restores_it(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, api_client: client.ApiClient,
    operator: OperatorThread,
) -> None:
    count = 10
    first = datetime.now(UTC) + timedelta(seconds=8)
    expiries = {f"exp{i}": first + timedelta(milliseconds=250 * i) for i in range(count)}
    apply(control_plane, namespace, creds(namespace),
          *(server(namespace, name, expiresAt=rfc3339(at)) for name, at in expiries.items()))
    for name in expiries:
        await eventually(lambda name=name: cluster.get("Deployment", f"{name}-mcp"), what=f"{name} deployed")
    assert datetime.now(UTC) < first, "deploying took longer than the test allows for"

    gone: dict[str, float] = {}
    apps = client.AppsV1Api(api_client)
    async with watch.Watch() as stream:
        async for event in stream.stream(apps.list_namespaced_deployment, namespace, timeout_seconds=30):
            if event["type"] == "DELETED":
                gone[event["object"].metadata.name.removesuffix("-mcp")] = time.time()
                if len(gone) == count:
                    break
    delays = sorted(gone[name] - at.timestamp() for name, at in expiries.items())
    print(f"\nexpiry delay, expiresAt to Deployment DELETED event, n={count}: "
          f"min {delays[0] * 1000:.0f} ms, median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {delays[-1] * 1000:.0f} ms")
    assert all(delay >= 0 for delay in delays), "nothing is removed before its time"
    assert delays[-1] < 1.0
    assert await cluster.get("Secret", "exp0-mcp-token") is None and await cluster.get("Service", "exp0-mcp") is None
    expired = await cluster.condition("exp0", "Expired")
    assert (expired["status"], expired["reason"]) == ("True", "Expired")
    assert await cluster.get(KIND, "exp0") is not None

    merge_patch(control_plane, namespace, "cmcp/exp0", {"spec": {"expiresAt": None}})
    await eventually(lambda: cluster.ready("exp0"), what="exp0 restored")
    assert (await cluster.condition("exp0", "Expired"))["reason"] == "NoExpiry"
    assert await cluster.token("exp0")


async def test_an_expiry_in_the_past_deploys_nothing(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace), server(namespace, "late", expiresAt="2020-01-01T00:00:00Z"))
    expired = await eventually(lambda: _reason_of(cluster, "late", "Expired"), what="Expired=True")
    assert expired["reason"] == "ExpiresAtInPast" and "nothing was deployed" in expired["message"]
    assert await cluster.get("Deployment", "late-mcp") is None and await cluster.token("late") is None


async def _reason_of(cluster: Cluster, name: str, type_: str) -> dict[str, Any] | None:
    condition = await cluster.condition(name, type_)
    return condition if condition.get("status") == "True" else None


async def test_deleting_the_server_collects_everything_it_created(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace), server(namespace, "bye"))
    await eventually(lambda: cluster.ready("bye"), what="bye to be Ready")
    control_plane.kubectl("delete", "cmcp", "-n", namespace, "bye", "--timeout=30s")

    async def all_gone() -> bool:
        children = [("Deployment", "bye-mcp"), ("Service", "bye-mcp"), ("ServiceAccount", "bye-mcp"),
                    ("Secret", "bye-mcp-token")]
        return all([await cluster.get(kind, name) is None for kind, name in children])

    # The garbage collector may need up to 30 s to learn a new CRD from discovery.
    await eventually(all_gone, what="the children to be garbage-collected", timeout=90)
    assert await cluster.get("Secret", "coviu-credentials") is not None, "what the user owns stays"


@pytest.mark.parametrize(("change", "message"), [
    ({"spec": {"requireApiTokenAuth": True}}, "apiTokenSecretRef is required when requireApiTokenAuth is true"),
    ({"spec": {"methods": ["Read"]}}, "spec.methods[0]"),
    ({"spec": {"replicas": 0}}, "spec.replicas"),
    ({"spec": {"expiresAt": "tomorrow"}}, "spec.expiresAt"),
    ({"spec": {"credentialsSecretRef": {}}}, "spec.credentialsSecretRef.name: Required value"),
    ({"metadata": {"name": "x" * 54}}, "metadata.name must be a DNS label of at most 53 characters"),
])
def test_the_api_server_rejects_invalid_servers(
    control_plane: ControlPlane, namespace: str, crd: None, change: dict[str, Any], message: str
) -> None:
    body = server(namespace, "bad")
    body["spec"].update(change.get("spec", {}))
    body["metadata"].update(change.get("metadata", {}))
    with pytest.raises(KubectlError) as caught:
        apply(control_plane, namespace, body)
    assert message in caught.value.stderr


def test_the_account_of_a_server_cannot_bechanged(control_plane: ControlPlane, namespace: str, crd: None) -> None:
    apply(control_plane, namespace, server(namespace, "bound"))
    moved = server(namespace, "bound", credentialsSecretRef={"name": "another-account"})
    with pytest.raises(KubectlError, match=r"credentialsSecretRef\.name is immutable"):
        apply(control_plane, namespace, moved)


def test_unknown_fields_are_refused_by_kubectl(control_plane: ControlPlane, namespace: str, crd: None) -> None:
    typo = server(namespace, "typo", expiresat="2030-01-01T00:00:00Z")
    with pytest.raises(KubectlError, match=r'unknown field "spec\.expiresat"'):
        apply(control_plane, namespace, typo)


async def test_changes_settle_without_a_write_loop(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace), server(namespace, "calm"))
    await eventually(lambda: cluster.ready("calm"), what="calm to be Ready")
    before = {kind: (await cluster.get(kind, name))["metadata"]["resourceVersion"]  # type: ignore[index]
              for kind, name in [(KIND, "calm"), ("Deployment", "calm-mcp"), ("Secret", "calm-mcp-token")]}
    await asyncio.sleep(3)
    after = {kind: (await cluster.get(kind, name))["metadata"]["resourceVersion"]  # type: ignore[index]
             for kind, name in [(KIND, "calm"), ("Deployment", "calm-mcp"), ("Secret", "calm-mcp-token")]}
    assert after == before
