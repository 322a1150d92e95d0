"""Faults on the real control plane: the operator killed with SIGKILL at random points while
servers are created, changed, expire and are deleted in bursts; etcd restarted under it; other
clients writing over what it owns. After each, the property is the same: the final state
converges, nothing is duplicated, nothing is orphaned, no expiry is missed.

The operator runs as the real `coviu-mcp-operator` process (so it can be killed), for the test's
namespace, logged in as a user bound to exactly the documented ClusterRole. The random points
come from a seeded RNG: OPERATOR_FAULT_SEED replays a run (the seed is printed). The API server
restart and a plain operator restart are covered by test_operator_restarts.py; the 1,000-object
version of the bursts is bench/bench_operator_scale.py.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client

from coviu_operator.names import API_VERSION, KIND, PLURAL, ROTATE_ANNOTATION
from coviu_operator.rbac import cluster_role
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.invariants import condition, event_counts, items, problems, tokens, world
from coviu_testbed.k8s import Cluster, apply, creds, merge_patch, rfc3339, server
from coviu_testbed.operator_process import OperatorProcess

SEED = int(os.environ.get("OPERATOR_FAULT_SEED", "20261125"))
CONVERGE_TIMEOUT = 120.0


@pytest.fixture
def operator_process(operator_kubeconfig: str, namespace: str, crd: None, tmp_path: Path) -> Iterator[OperatorProcess]:
    runner = OperatorProcess(operator_kubeconfig, namespace, tmp_path)
    runner.start()
    yield runner
    if runner.process is not None and runner.process.poll() is None:
        runner.stop()
    for log in runner.logs:  # every line is JSON; a traceback would not be
        for line in log.read_text().splitlines():
            assert line.startswith("{"), f"{log.name}: {line}"


# -- reading the whole namespace -----------------------------------------------------------------


async def converge(api: client.ApiClient, namespace: str, live: set[str], expired: set[str],
                   timeout: float = CONVERGE_TIMEOUT, **allowed: frozenset[str]) -> float:
    """Wait until problems() is empty; return the seconds it took, or fail listing what is left."""
    began = time.monotonic()
    left: list[str] = []
    while time.monotonic() - began < timeout:
        left = problems(await world(api, namespace), live, expired, **allowed)
        if not left:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise AssertionError("did not converge:\n  " + "\n  ".join(left[:40]))


async def all_ready(api: client.ApiClient, namespace: str, names: set[str]) -> bool:
    servers = await items(api, f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}")
    return names <= {s["metadata"]["name"] for s in servers if condition(s, "Ready").get("status") == "True"}


# -- writing in bursts ---------------------------------------------------------------------------


def _body(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    body = server(namespace, name, **spec)
    body["metadata"]["namespace"] = namespace
    return body


async def create(api: client.ApiClient, namespace: str, bodies: Sequence[dict[str, Any]]) -> None:
    custom = client.CustomObjectsApi(api)
    group, version = API_VERSION.split("/")
    await asyncio.gather(*(custom.create_namespaced_custom_object(group, version, namespace, PLURAL, body)
                           for body in bodies))


async def delete(api: client.ApiClient, namespace: str, names: Sequence[str]) -> None:
    custom = client.CustomObjectsApi(api)
    group, version = API_VERSION.split("/")
    await asyncio.gather(*(custom.delete_namespaced_custom_object(group, version, namespace, PLURAL, name)
                           for name in names))


async def patch(api: client.ApiClient, namespace: str, name: str, body: dict[str, Any]) -> None:
    custom = client.CustomObjectsApi(api)
    group, version = API_VERSION.split("/")
    await custom.patch_namespaced_custom_object(group, version, namespace, PLURAL, name, body,
                                                _content_type="application/merge-patch+json")


async def kill_at_random(operator: OperatorProcess, rng: random.Random, low: float, high: float,
                         api: client.ApiClient, namespace: str) -> str:
    """SIGKILL the operator after a random delay; describe what was half done at that moment."""
    delay = rng.uniform(low, high)
    await asyncio.sleep(delay)
    reconciles = operator.reconciles()
    operator.kill()
    seen = await world(api, namespace)
    secrets = {s["metadata"]["name"].removesuffix("-mcp-token") for s in seen["Secret"]
               if s["metadata"]["name"].endswith("-mcp-token")}
    deployments = {d["metadata"]["name"].removesuffix("-mcp") for d in seen["Deployment"]}
    return (f"killed after {delay:.2f}s, {reconciles} reconciles done; {len(seen['servers'])} servers, "
            f"{len(secrets)} token Secrets, {len(deployments)} Deployments, "
            f"{len(secrets - deployments)} with a token Secret but no Deployment yet")


# -- the tests -----------------------------------------------------------------------------------


async def test_sigkill_at_random_points_during_bursts_converges_without_duplicates(
    control_plane: ControlPlane, namespace: str, api_client: client.ApiClient, operator_process: OperatorProcess,
) -> None:
    rng = random.Random(SEED)
    print(f"\nOPERATOR_FAULT_SEED={SEED}")
    apply(control_plane, namespace, creds(namespace))
    first = [f"b{i:03d}" for i in range(60)]
    soon = datetime.now(UTC)
    # A sixth of them expire at random instants inside the window in which the operator is killed.
    expiring = {name: soon + timedelta(seconds=rng.uniform(4, 16)) for name in rng.sample(first, 10)}
    bodies = [_body(namespace, name, **({"expiresAt": rfc3339(expiring[name])} if name in expiring else {}))
              for name in first]

    burst = asyncio.ensure_future(create(api_client, namespace, bodies))
    print("burst 1 (60 created):", await kill_at_random(operator_process, rng, 0.3, 2.0, api_client, namespace))
    await burst
    print(f"  restarted in {operator_process.start():.2f}s")
    await eventually(lambda: all_ready(api_client, namespace, set(first) - set(expiring)),
                     what="the first burst to be Ready", timeout=CONVERGE_TIMEOUT)
    settled = {name: token for name, token in (await tokens(api_client, namespace)).items()
               if name not in expiring}

    # Burst 2: delete a third, create 20 more, change 10, and kill the operator in the middle of it.
    deleted = rng.sample(sorted(set(first) - set(expiring)), 20)
    changed = rng.sample(sorted(set(first) - set(expiring) - set(deleted)), 10)
    second = [f"c{i:03d}" for i in range(20)]
    burst = asyncio.ensure_future(asyncio.gather(
        delete(api_client, namespace, deleted),
        create(api_client, namespace, [_body(namespace, name) for name in second]),
        *(patch(api_client, namespace, name, {"spec": {"methods": ["read"]}}) for name in changed),
    ))
    print("burst 2 (20 deleted, 20 created, 10 changed):",
          await kill_at_random(operator_process, rng, 0.1, 1.5, api_client, namespace))
    await burst
    down = rng.uniform(0.0, 2.0)
    await asyncio.sleep(down)
    print(f"  down {down:.2f}s more, restarted in {operator_process.start():.2f}s")
    print("third kill:", await kill_at_random(operator_process, rng, 0.2, 1.5, api_client, namespace))
    print(f"  restarted in {operator_process.start():.2f}s")

    live = set(first) - set(expiring) - set(deleted) | set(second)
    await asyncio.sleep(max(0.0, (max(expiring.values()) - datetime.now(UTC)).total_seconds()))
    took = await converge(api_client, namespace, live, set(expiring), rolled=frozenset(changed))
    print(f"converged {took:.1f}s after the last expiry; {len(live)} live, {len(expiring)} expired, "
          f"{len(deleted)} deleted")

    after = await tokens(api_client, namespace)
    assert {name: after[name] for name in settled if name in live} == \
        {name: token for name, token in settled.items() if name in live}, "a kill must never rotate a token"
    seen = await world(api_client, namespace)
    servers = {s["metadata"]["name"]: s for s in seen["servers"]}
    assert {name: servers[name]["status"]["toolCount"] for name in changed} == dict.fromkeys(changed, 13)
    # The status is the record of an expiry. Its Event is posted after the status is written, from
    # kopf's queue: a SIGKILL can lose it, never duplicate it (problems() checks at most one).
    assert all(condition(servers[name], "Expired")["reason"] == "Expired" for name in expiring)


async def test_an_etcd_restart_loses_nothing_and_repeats_nothing(
    control_plane: ControlPlane, namespace: str, api_client: client.ApiClient, operator_process: OperatorProcess,
) -> None:
    cluster = Cluster(api_client, namespace)
    names = ("keep", "change", "rotate", "remove")
    apply(control_plane, namespace, creds(namespace), *(server(namespace, name) for name in names))
    for name in names:
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} to be Ready")
    # Expires while etcd is away: the operator's deletes fail until it is back.
    ending = datetime.now(UTC) + timedelta(seconds=4)
    apply(control_plane, namespace, server(namespace, "ending", expiresAt=rfc3339(ending)))
    await eventually(lambda: cluster.ready("ending"), what="ending to be Ready")
    before = await tokens(api_client, namespace)

    await asyncio.sleep(max(0.0, (ending - datetime.now(UTC)).total_seconds() - 0.5))
    down = control_plane.restart("etcd", graceful=False)
    back = time.monotonic()
    print(f"\netcd killed and restarted; the API server was ready again after {down:.1f}s")

    merge_patch(control_plane, namespace, "cmcp/change", {"spec": {"methods": ["read"]}})
    control_plane.kubectl("annotate", "-n", namespace, "cmcp/rotate", f"{ROTATE_ANNOTATION}=after-etcd")
    control_plane.kubectl("delete", "cmcp", "-n", namespace, "remove", "--wait=false")
    apply(control_plane, namespace, server(namespace, "new"))
    await eventually(lambda: _gone(cluster, "ending-mcp"), what="the expiry during the outage processed",
                     timeout=CONVERGE_TIMEOUT, interval=0.1)
    print(f"the expiry that passed while etcd was away was processed {time.monotonic() - back:.1f}s after "
          "the API server was ready again")

    took = await converge(api_client, namespace, {"keep", "change", "rotate", "new"}, {"ending"},
                          rolled=frozenset({"change", "rotate"}), rotated=frozenset({"rotate"}))
    print(f"converged {took:.1f}s after that")
    after = await tokens(api_client, namespace)
    assert {name: after[name] for name in ("keep", "change")} == {name: before[name] for name in ("keep", "change")}
    assert after["rotate"] != before["rotate"]
    assert (await cluster.condition("change", "Ready"))["observedGeneration"] == 2
    assert event_counts(await world(api_client, namespace))["ending"]["Expired"] == 1


async def _gone(cluster: Cluster, deployment: str) -> bool:
    return await cluster.get("Deployment", deployment) is None


async def test_writes_by_another_client_are_undone_and_the_last_spec_wins(
    control_plane: ControlPlane, namespace: str, api_client: client.ApiClient, operator_process: OperatorProcess,
) -> None:
    cluster = Cluster(api_client, namespace)
    apply(control_plane, namespace, creds(namespace), server(namespace, "owned", methods=["read"], replicas=1))
    await eventually(lambda: cluster.ready("owned"), what="owned to be Ready")
    token = (await tokens(api_client, namespace))["owned"]
    original = {kind: _owned_fields(await cluster.must(kind, name)) for kind, name in CHILDREN}
    status = (await cluster.must(KIND, "owned"))["status"]

    # Another client overwrites what the operator owns, each through the API as kubectl does.
    as_intruder = ("--field-manager=intruder",)
    control_plane.kubectl("patch", "-n", namespace, "cmcp/owned", "--subresource=status", "--type=merge",
                          "-p", json.dumps({"status": {"url": "http://elsewhere.example/mcp/", "conditions": [
                              {"type": "Ready", "status": "False", "reason": "Overwritten", "message": "x",
                               "lastTransitionTime": "2020-01-01T00:00:00Z"}]}}), *as_intruder)
    control_plane.kubectl("scale", "-n", namespace, "deployment/owned-mcp", "--replicas=3")
    control_plane.kubectl("set", "env", "-n", namespace, "deployment/owned-mcp", "MCP_METHODS=write", *as_intruder)
    # Changing the key of a list entry (a port number) leaves the operator's entry a duplicate.
    control_plane.kubectl("patch", "-n", namespace, "service/owned-mcp", "--type=json", "-p",
                          json.dumps([{"op": "replace", "path": "/spec/ports/0/port", "value": 8081}]), *as_intruder)
    control_plane.kubectl("patch", "-n", namespace, "deployment/owned-mcp", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort", "value": 8081}]),
        *as_intruder)
    control_plane.kubectl("patch", "-n", namespace, "secret/owned-mcp-token", "--type=merge", "-p", json.dumps(
        {"data": {"url": base64.b64encode(b"http://elsewhere.example/mcp/stolen").decode()}}), *as_intruder)
    control_plane.kubectl("delete", "serviceaccount", "-n", namespace, "owned-mcp")

    differences: list[str] = []

    async def restored() -> bool:
        now = {kind: _owned_fields(await cluster.get(kind, name) or {}) for kind, name in CHILDREN}
        current = (await cluster.must(KIND, "owned"))["status"]
        differences[:] = [f"{kind}: {now[kind]}" for kind in now if now[kind] != original[kind]]
        if current["url"] != status["url"] or not await cluster.ready("owned"):
            differences.append(f"status: {current}")
        return not differences

    try:
        await eventually(restored, what="every overwritten field put back", timeout=CONVERGE_TIMEOUT)
    except TimeoutError:
        raise AssertionError("not put back:\n" + "\n".join(differences)) from None
    assert (await tokens(api_client, namespace))["owned"] == token

    # Two clients race spec changes; whatever lands last is what runs and what the status describes.
    choices = [["read"], ["custom"], ["write"], ["read", "custom"]]
    rng = random.Random(SEED)
    writes = [rng.choice(choices) for _ in range(24)]
    await asyncio.gather(*(_write_in_turn(api_client, namespace, writes[i::2]) for i in range(2)))
    final = (await cluster.must(KIND, "owned"))

    async def settled() -> bool:
        obj = await cluster.must(KIND, "owned")
        deployment = await cluster.must("Deployment", "owned-mcp")
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        return (obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
                and env["MCP_METHODS"] == ",".join(obj["spec"]["methods"]) and await cluster.ready("owned"))

    await eventually(settled, what="the last spec to be what runs", timeout=CONVERGE_TIMEOUT)
    print(f"\n{len(writes)} racing spec writes; generation {final['metadata']['generation']}, "
          f"final methods {final['spec']['methods']}")
    seen = await world(api_client, namespace)
    assert not [p for p in problems(seen, {"owned"}, set(), rolled=frozenset({"owned"})) if "ReplicaSet" not in p
                and "announced" not in p]
    assert event_counts(seen)["owned"]["TokenRotated"] == 0
    assert (await tokens(api_client, namespace))["owned"] == token


CHILDREN = [("Deployment", "owned-mcp"), ("Service", "owned-mcp"), ("ServiceAccount", "owned-mcp"),
            ("Secret", "owned-mcp-token")]


def _owned_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """What the operator sets on a child (what another client must not be able to change for good)."""
    spec = dict(obj.get("spec") or {})
    if obj.get("kind") == "Service":
        spec = {"ports": spec.get("ports"), "selector": spec.get("selector")}
    return {"labels": (obj.get("metadata") or {}).get("labels"), "spec": spec, "data": obj.get("data")}


async def _write_in_turn(api: client.ApiClient, namespace: str, methods: list[list[str]]) -> None:
    for chosen in methods:
        await patch(api, namespace, "owned", {"spec": {"methods": chosen}})


async def test_a_rejection_that_ends_is_retried_soon_not_at_the_resync_interval(
    control_plane: ControlPlane, namespace: str, api_client: client.ApiClient, crd: None, tmp_path: Path,
) -> None:
    """An API server that has just started denies requests until its authorizer has synced (seen
    with 1,000 servers across an API server restart); a policy can be fixed. Either way the server
    must recover within seconds, not after COVIU_OPERATOR_RESYNC_INTERVAL (5 minutes)."""
    user = "coviu-operator-partial"
    full = cluster_role(user)
    partial = copy.deepcopy(full)
    for rule in partial["rules"]:
        if rule["resources"] == ["services"]:
            rule["verbs"] = [verb for verb in rule["verbs"] if verb != "patch"]
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([partial, binding]))
    operator = OperatorProcess(str(control_plane.user_kubeconfig(user)), namespace, tmp_path)
    operator.start()
    try:
        cluster = Cluster(api_client, namespace)
        apply(control_plane, namespace, creds(namespace), server(namespace, "denied"))

        async def apply_failed() -> dict[str, Any] | None:
            ready = await cluster.condition("denied", "Ready")
            return ready if ready.get("reason") == "ApplyFailed" else None

        ready = await eventually(apply_failed, what="Ready=False with reason ApplyFailed")
        assert "forbidden" in ready["message"] and "services" in ready["message"]
        published = (await cluster.must(KIND, "denied"))["status"]
        assert {"url", "tokenSecretName"}.isdisjoint(published), "no URL while the workload is not applied"
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(full))
        granted = time.monotonic()
        await eventually(lambda: cluster.ready("denied"), what="recovery once the Service may be written",
                         timeout=30)
        print(f"\nReady {time.monotonic() - granted:.1f}s after the permission was granted")
    finally:
        operator.stop()
        control_plane.kubectl("delete", "clusterrolebinding", user)
