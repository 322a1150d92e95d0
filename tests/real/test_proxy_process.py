"""The real `coviu-mcp-server` process against the real sandbox process, with real MCP clients."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_testbed.launch import console_script

from .node_tools import ROOT, inspector_json, run_node_tool
from .proxy_process import proxy_process

pytestmark = pytest.mark.real

SENTINEL_PATIENT = "Zebedee Sentinel-Patient"


@pytest.fixture(scope="module")
def proxy(sandbox_process):
    with proxy_process(sandbox_process) as running:
        yield running


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
async def test_official_client_in_every_mode(proxy, mode: str) -> None:
    async with Client(streamable_http_client(proxy.url), mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) == 20
        team = await client.call_tool("get_single_coviu_team", {})
        assert not team.is_error and team.structured_content["team_id"]


def test_inspector_cli_legacy_era(proxy) -> None:
    listing = inspector_json(proxy.url, "--transport", "http", "--method", "tools/list")
    names = {tool["name"] for tool in listing["tools"]}
    assert {"list_all_coviu_waiting_queue_calls", "create_a_coviu_participant"} <= names
    annotations = {tool["name"]: tool["annotations"] for tool in listing["tools"]}
    assert annotations["list_all_coviu_sessions"]["readOnlyHint"] is True
    result = inspector_json(
        proxy.url, "--transport", "http", "--method", "tools/call",
        "--tool-name", "list_all_coviu_sessions", "--tool-args-json", '{"page_size": 2}',
    )
    assert result["isError"] is False and len(result["structuredContent"]["content"]) == 2


def test_inspector_cli_modern_era(proxy, tmp_path: Path) -> None:
    config = tmp_path / "inspector.json"
    config.write_text(
        json.dumps({"mcpServers": {"coviu": {"type": "http", "url": proxy.url, "protocolEra": "modern"}}})
    )
    result = inspector_json(
        "--config", str(config), "--server", "coviu", "--method", "tools/call",
        "--tool-name", "get_single_coviu_team", "--format", "json",
    )["result"]
    assert result["isError"] is False
    assert "io.modelcontextprotocol/serverInfo" in result["_meta"]


@pytest.mark.parametrize("revision", ["2026-07-28", "2025-11-25"])
def test_conformance_suite(proxy, revision: str, tmp_path: Path) -> None:
    baseline = ROOT / "tests" / "real" / "conformance" / f"expected-failures-{revision}.yml"
    result = run_node_tool(
        "conformance", "server", "--url", proxy.url, "--requirements", revision,
        "--expected-failures", str(baseline), "-o", str(tmp_path), timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Baseline check passed" in result.stdout


async def test_triage_logs_no_patient_data_and_no_token(sandbox_process) -> None:
    with proxy_process(sandbox_process, LOG_LEVEL="debug") as running:
        async with Client(streamable_http_client(running.url), mode="legacy") as client:
            start = datetime.now(UTC) + timedelta(minutes=5)
            session = await client.call_tool(
                "create_a_coviu_session",
                {"session_name": f"Consult {SENTINEL_PATIENT}", "start_time": start.isoformat(),
                 "end_time": (start + timedelta(minutes=30)).isoformat()},
            )
            assert not session.is_error
            participant = await client.call_tool(
                "create_a_coviu_participant",
                {
                    "session_id": session.structured_content["session_id"],
                    "display_name": SENTINEL_PATIENT,
                    "role": "guest",
                },
            )
            assert SENTINEL_PATIENT in participant.structured_content["display_name"]
            bad = await client.call_tool(
                "create_a_coviu_participant", {"session_id": "nope", "display_name": SENTINEL_PATIENT, "role": "guest"}
            )
            assert bad.is_error
        output = running.output()
    assert "tool call" in output  # the log is there, and it is not empty of calls
    for secret in (SENTINEL_PATIENT, "Sentinel", running.token, sandbox_process.client_secret):
        assert secret not in output


async def test_upstream_timeout_is_reported_within_the_configured_time(sandbox_process) -> None:
    with proxy_process(sandbox_process, MCP_UPSTREAM_TIMEOUT="0.5") as running:
        async with httpx.AsyncClient(base_url=sandbox_process.base_url.removesuffix("/v1")) as admin:
            await admin.post("/_sandbox/faults", json={"latency_ms": 3000})
            try:
                async with Client(streamable_http_client(running.url), mode="2026-07-28") as client:
                    await client.call_tool("get_single_coviu_team", {})  # token fetched before the delay applies
                    started = time.monotonic()
                    result = await client.call_tool("list_all_coviu_sessions", {"page_size": 1})
                    elapsed = time.monotonic() - started
            finally:
                await admin.post("/_sandbox/faults", json={})
    assert result.is_error and "did not answer in time" in result.content[0].text
    assert elapsed < 2.5


async def test_a_body_that_stops_arriving_is_reported_as_a_timeout(sandbox_process) -> None:
    with proxy_process(sandbox_process, MCP_UPSTREAM_TIMEOUT="0.5") as running:
        async with (
            httpx.AsyncClient(base_url=sandbox_process.base_url.removesuffix("/v1")) as admin,
            Client(streamable_http_client(running.url), mode="2026-07-28") as client,
        ):
            await client.call_tool("get_single_coviu_team", {})  # token fetched before the fault applies
            # Headers arrive at once; the body then pauses longer than the timeout.
            await admin.post("/_sandbox/faults", json={"slow_body_delay_ms": 3000, "slow_body_chunk_bytes": 16})
            try:
                result = await client.call_tool("list_all_coviu_sessions", {"page_size": 1})
            finally:
                await admin.post("/_sandbox/faults", json={})
    assert result.is_error and "did not answer in time" in result.content[0].text


async def test_dropped_connection_is_a_clear_tool_error(sandbox_process) -> None:
    with proxy_process(sandbox_process) as running:
        async with (
            httpx.AsyncClient(base_url=sandbox_process.base_url.removesuffix("/v1")) as admin,
            Client(streamable_http_client(running.url), mode="2026-07-28") as client,
        ):
            await client.call_tool("get_single_coviu_team", {})
            await admin.post("/_sandbox/faults", json={"drop_rate": 1.0})
            try:
                result = await client.call_tool("list_all_coviu_sessions", {"page_size": 1})
            finally:
                await admin.post("/_sandbox/faults", json={})
    assert result.is_error and "connection failed" in result.content[0].text


def test_bad_configuration_exits_with_a_message_naming_the_variable(sandbox_process) -> None:
    env = {"PATH": "/usr/bin:/bin", "COVIU_CLIENT_ID": "x", "COVIU_CLIENT_SECRET": "y", "MCP_TOKEN_SHA256": "abc"}
    result = subprocess.run(
        [console_script("coviu-mcp-server")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "MCP_TOKEN_SHA256" in result.stderr
    env["MCP_TOKEN_SHA256"] = "0" * 64
    env.update(MCP_METHODS="custom", MCP_TAGS="triage")
    result = subprocess.run(
        [console_script("coviu-mcp-server")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "no tool matches" in result.stderr


def test_help_documents_the_environment() -> None:
    result = subprocess.run(
        [console_script("coviu-mcp-server"), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    for name in ("COVIU_API_BASE_URL", "MCP_TOKEN_SHA256", "MCP_METHODS", "MCP_TAGS", "MCP_EXPIRES_AT", "PORT",
                 "MCP_ADMIN_PORT", "MCP_LINK_SIGNING_KEY"):
        assert name in result.stdout
