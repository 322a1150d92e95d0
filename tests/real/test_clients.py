"""Clients beyond the official SDK, against a real proxy process: the MCP Inspector's strict
schema-portability check, and the stdio bridge (`mcp-remote`) that desktop clients such as
Claude Desktop use to reach a remote URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from coviu_testbed.launch import mint_token

from .node_tools import NODE, NODE_DIR, inspector_json, run_node_tool
from .proxy_process import proxy_process

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def proxy(sandbox_process):
    with proxy_process(sandbox_process) as running:
        yield running


def test_inspector_strict_tools_list_finds_no_portability_problem(proxy) -> None:
    result = run_node_tool("mcp-inspector", "--cli", proxy.url, "--transport", "http",
                           "--method", "tools/list", "--strict")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Warning:" not in result.stderr and "Schema portability" not in result.stderr, result.stderr[-4000:]
    listing = inspector_json(proxy.url, "--transport", "http", "--method", "tools/list")
    assert len(listing["tools"]) == 20 and all(tool.get("outputSchema") for tool in listing["tools"])


async def test_a_tool_call_through_the_mcp_remote_stdio_bridge(proxy, tmp_path: Path) -> None:
    """What Claude Desktop runs for a remote URL: `npx mcp-remote <url>` as a stdio server."""
    await call_through_bridge(proxy.url, tmp_path)


async def test_the_bridge_sends_the_api_token_from_a_header_file(sandbox_process, tmp_path: Path) -> None:
    """A server with requireApiTokenAuth: the bridge adds `Authorization: Bearer ...` read from
    a file, so the API token stays out of the client's configuration."""
    api_token, digest = mint_token()
    headers = tmp_path / "headers"
    headers.write_text(f"Authorization: Bearer {api_token}\n")
    with proxy_process(sandbox_process, MCP_REQUIRE_API_TOKEN="true", MCP_API_TOKEN_SHA256S=digest) as guarded:
        await call_through_bridge(guarded.url, tmp_path, "--header-file", str(headers))


async def call_through_bridge(url: str, tmp_path: Path, *options: str) -> None:
    bridge = (NODE_DIR / ".bin" / "mcp-remote").resolve()
    assert bridge.exists(), f"{bridge} is missing: run `make node-tools` (make test does it)"
    server = StdioServerParameters(
        command=str(NODE), args=[str(bridge), url, "--transport", "http-only", *options],
        env={"PATH": f"{NODE.parent}:{os.environ['PATH']}", "HOME": str(tmp_path),
             "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth")},
    )
    with (tmp_path / "bridge.log").open("w") as errlog:
        async with Client(stdio_client(server, errlog=errlog), mode="legacy") as client:
            tools = (await client.list_tools()).tools
            assert len(tools) == 20
            team = await client.call_tool("get_single_coviu_team", {})
            assert not team.is_error and team.structured_content["team_id"]
            sessions = await client.call_tool("list_all_coviu_sessions", {"page_size": 2})
            assert not sessions.is_error and len(sessions.structured_content["content"]) == 2
