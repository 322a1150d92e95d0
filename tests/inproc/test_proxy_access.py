"""Filters, API-token authentication and expiry, as a client experiences them."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from mcp.shared.exceptions import MCPError

from coviu_catalog import EmptySelectionError, UnknownFilterValueError

from .proxy_harness import LEGACY_HEADERS, TOKEN, call_body, stack


async def test_read_only_server_lists_no_write_tool_and_refuses_write_calls() -> None:
    async with stack(MCP_METHODS="read") as s, s.client() as client:
        tools = (await client.list_tools()).tools
        assert tools and all(tool.annotations.read_only_hint for tool in tools)
        with pytest.raises(MCPError, match="Unknown tool: delete_a_coviu_session_by_id"):
            await client.call_tool("delete_a_coviu_session_by_id", {"id": s.seed["future_session_id"]})


async def test_tags_and_methods_combine() -> None:
    async with stack(MCP_METHODS="read", MCP_TAGS="triage") as s, s.client() as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "list_all_coviu_waiting_queue_calls" in names
        assert "list_all_coviu_sessions" not in names and "create_a_coviu_participant" not in names


async def test_a_filter_selecting_nothing_fails_at_startup() -> None:
    with pytest.raises(EmptySelectionError, match="no tool matches"):
        async with stack(MCP_METHODS="custom", MCP_TAGS="triage"):
            pass
    with pytest.raises(UnknownFilterValueError, match="raed"):
        async with stack(MCP_METHODS="raed"):
            pass


API_TOKEN = "agent-api-token"


async def test_api_token_is_required_when_configured() -> None:
    env = {"MCP_REQUIRE_API_TOKEN": "true", "MCP_API_TOKEN_SHA256S": hashlib.sha256(API_TOKEN.encode()).hexdigest()}
    async with stack(**env) as s:
        body = call_body("get_single_coviu_team", {})
        refused = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
        assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
        in_query = await s.http.post(f"/mcp/{TOKEN}?access_token={API_TOKEN}", json=body, headers=LEGACY_HEADERS)
        assert in_query.status_code == 401
        async with s.client(authorization=f"Bearer {API_TOKEN}") as client:
            assert not (await client.call_tool("get_single_coviu_team", {})).is_error


async def test_expiry_takes_effect_at_the_instant() -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1)
    async with stack(MCP_EXPIRES_AT=expires.isoformat()) as s:
        body = call_body("get_single_coviu_team", {})
        before = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
        assert before.status_code == 200
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.01)
        after = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
        assert after.status_code == 410
        assert "expired" in after.json()["error"]["message"]
