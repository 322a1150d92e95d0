"""Rotation with an overlap window (issue 15, item 2): through a rotation, clients keep calling
with the old and the new URL. The proxies are started from the exact Deployment environments
the operator produced before and after the rotation (the old and the new Pods of the rollout),
in front of the Coviu sandbox."""

from __future__ import annotations

import asyncio
import base64
import time
from contextlib import ExitStack
from datetime import datetime

import httpx
from kubernetes_asyncio import client

from coviu_operator.names import KIND, ROTATE_ANNOTATION
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, changed, creds, merge_patch, server
from coviu_testbed.launch import console_script, free_ports, running
from coviu_testbed.operator import OperatorThread
from coviu_testbed.podenv import resolve_env
from tests.real.sandbox_process import start_sandbox

OVERLAP = 20  # seconds the old URL keeps working after the rotation
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "rotation-test", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def proxy_env(api_client: client.ApiClient, cluster: Cluster, name: str) -> dict[str, str]:
    deployment = await cluster.must("Deployment", f"{name}-mcp")
    core = client.CoreV1Api(api_client)
    secrets = {item.metadata.name: {"data": item.data}
               for item in (await core.list_namespaced_secret(cluster.namespace)).items}
    return resolve_env(deployment, secrets)


def start(stack: ExitStack, env: dict[str, str]) -> str:
    port, admin_port = free_ports(2)
    # Every old-URL call after the deadline is a failed attempt from one address: no throttle,
    # so each answer is the token check's own.
    local = {**env, "HOST": "127.0.0.1", "PORT": str(port), "MCP_ADMIN_PORT": str(admin_port),
             "MCP_AUTH_FAILURE_LIMIT": "0"}
    stack.enter_context(running([console_script("coviu-mcp-server")], port, "/readyz", local, ready_port=admin_port))
    return f"http://127.0.0.1:{port}"


async def test_the_old_url_works_until_the_deadline_then_gets_404(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, api_client: client.ApiClient,
    operator: OperatorThread,
) -> None:
    with start_sandbox() as sandbox, ExitStack() as stack:
        apply(control_plane, namespace,
              creds(namespace, client_id=sandbox.client_id, client_secret=sandbox.client_secret),
              server(namespace, "rot", apiBaseURL=sandbox.base_url, methods=["read"], rotationOverlapSeconds=OVERLAP))
        await eventually(lambda: cluster.ready("rot"), what="rot to be Ready")
        old_token = await cluster.token("rot")
        old_pod = start(stack, await proxy_env(api_client, cluster, "rot"))

        merge_patch(
            control_plane, namespace, f"{KIND.lower()}/rot", {"metadata": {"annotations": {ROTATE_ANNOTATION: "1"}}}
        )
        await eventually(lambda: changed(cluster.token("rot"), old_token), what="a new token")
        new_token = await cluster.token("rot")
        status = await eventually(lambda: _status_with_deadline(cluster), what="previousTokenValidUntil")
        deadline = datetime.fromisoformat(status["previousTokenValidUntil"]).timestamp()
        new_env = await proxy_env(api_client, cluster, "rot")
        assert new_env["MCP_PREVIOUS_TOKEN_UNTIL"] == status["previousTokenValidUntil"]
        secret = await cluster.must("Secret", "rot-mcp-token")
        assert old_token not in {base64.b64decode(v).decode() for v in secret["data"].values()}, "digest only"
        new_pod = start(stack, new_env)

        # Mid-rollout both Pods serve; once it is done, only the new one. Clients keep calling.
        rollout_done = time.time() + OVERLAP / 3
        results: list[tuple[float, str, int]] = []
        async with httpx.AsyncClient(timeout=10) as http:
            while time.time() < deadline + 3:
                pods = [old_pod, new_pod] if time.time() < rollout_done else [new_pod]
                for pod in pods:
                    sent = time.time()
                    old = await http.post(f"{pod}/mcp/{old_token}", json=INITIALIZE, headers=HEADERS)
                    results.append((sent, "old", old.status_code))
                new = await http.post(f"{new_pod}/mcp/{new_token}", json=INITIALIZE, headers=HEADERS)
                results.append((time.time(), "new", new.status_code))
                await asyncio.sleep(0.05)

    before = [code for at, url, code in results if url == "old" and at < deadline - 0.5]
    after = [code for at, url, code in results if url == "old" and at > deadline + 0.5]
    assert len(before) > 50 and set(before) == {200}, f"old URL failures before the deadline: {before}"
    assert after and set(after) == {404}, f"old URL after the deadline: {after}"
    assert {code for _, url, code in results if url == "new"} == {200}


async def _status_with_deadline(cluster: Cluster) -> dict[str, object] | None:
    status = (await cluster.must(KIND, "rot")).get("status") or {}
    return status if status.get("previousTokenValidUntil") else None
