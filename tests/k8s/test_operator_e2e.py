"""End to end: an MCP client reaches a proxy started from the exact Deployment the operator
produced (same environment, same Secrets), in front of the Coviu sandbox."""

from __future__ import annotations

import base64

from kubernetes_asyncio import client
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_operator.names import KIND
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, creds, server
from coviu_testbed.launch import console_script, free_ports, running
from coviu_testbed.operator import OperatorThread
from coviu_testbed.podenv import resolve_env
from tests.real.sandbox_process import start_sandbox


async def test_a_client_uses_the_url_the_operator_hands_out(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, api_client: client.ApiClient,
    operator: OperatorThread,
) -> None:
    with start_sandbox() as sandbox:
        apply(
            control_plane, namespace,
            creds(namespace, client_id=sandbox.client_id, client_secret=sandbox.client_secret),
            server(namespace, "clinic", apiBaseURL=sandbox.base_url, methods=["read"], tags=["triage"]),
        )
        await eventually(lambda: cluster.ready("clinic"), what="the server to be Ready")
        status = (await cluster.must(KIND, "clinic"))["status"]
        deployment = await cluster.must("Deployment", "clinic-mcp")
        core = client.CoreV1Api(api_client)
        secrets = {
            item.metadata.name: {"data": item.data}
            for item in (await core.list_namespaced_secret(namespace)).items
        }
        env = resolve_env(deployment, secrets)
        token_secret = secrets[status["tokenSecretName"]]["data"]
        token = base64.b64decode(token_secret["token"]).decode()
        assert "MCP_TOKEN_SHA256" in env and token not in env.values(), "the proxy must only get the digest"

        port, admin_port = free_ports(2)
        local = {**env, "HOST": "127.0.0.1", "PORT": str(port), "MCP_ADMIN_PORT": str(admin_port)}
        readable = {base64.b64decode(value).decode() for value in token_secret.values()}
        assert env["MCP_LINK_SIGNING_KEY"] and env["MCP_LINK_SIGNING_KEY"] not in readable, "a key of its own"
        with running([console_script("coviu-mcp-server")], port, "/readyz", local, ready_port=admin_port):
            async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp/{token}"), mode="legacy") as mcp:
                names = [tool.name for tool in (await mcp.list_tools()).tools]
                assert sorted(names) == sorted(status["tools"])
                team = await mcp.call_tool("get_single_coviu_team", {})
                assert not team.is_error and team.structured_content["team_id"] == sandbox.seed["team_id"]
