"""The MCP endpoint in both protocol eras, through the official SDK client and raw HTTP."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from coviu_catalog import load_catalog

from .proxy_harness import LEGACY_HEADERS, TOKEN, call_body, stack

ERAS = ["legacy", "2026-07-28"]


@pytest.mark.parametrize("mode", ERAS)
async def test_lists_every_tool_with_annotations_and_schemas(mode: str) -> None:
    async with stack() as s, s.client(mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert len(tools) == len(load_catalog().records)
        listing = tools["list_all_coviu_waiting_queue_calls"]
        assert listing.annotations.read_only_hint is True
        assert tools["delete_a_coviu_session_by_id"].annotations.destructive_hint is True
        assert listing.output_schema["properties"]["items"]["type"] == "array"
        assert "already finished" in tools["create_a_coviu_participant"].description


@pytest.mark.parametrize("mode", ERAS)
async def test_calls_a_tool_and_returns_structured_content(mode: str) -> None:
    async with stack() as s, s.client(mode) as client:
        result = await client.call_tool("list_all_coviu_sessions", {"page_size": 5})
        assert not result.is_error
        assert len(result.structured_content["content"]) == 5
        assert result.structured_content["next_page"] == 1
        assert result.content[0].type == "text"


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_tool_is_a_protocol_error(mode: str) -> None:
    async with stack() as s, s.client(mode) as client:
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await client.call_tool("no_such_tool", {})


@pytest.mark.parametrize("mode", ERAS)
async def test_invalid_arguments_are_a_tool_error_naming_the_argument(mode: str) -> None:
    async with stack() as s, s.client(mode) as client:
        result = await client.call_tool("list_all_coviu_sessions", {"page_size": "ten"})
        assert result.is_error
        assert "page_size: 'ten' is not of type 'integer'" in result.content[0].text
        result = await client.call_tool("create_a_coviu_session", {"session_name": "x"})
        assert result.is_error and "'start_time' is a required property" in result.content[0].text


async def test_pagination_continuation_can_be_passed_back() -> None:
    async with stack() as s, s.client() as client:
        seen: list[str] = []
        page: int | None = 0
        while page is not None:
            result = await client.call_tool("list_all_coviu_sessions", {"page": page, "page_size": 20})
            seen += [session["session_id"] for session in result.structured_content["content"]]
            page = result.structured_content["next_page"]
        assert len(seen) == len(set(seen)) >= 20


async def test_get_and_delete_answer_405_without_hanging() -> None:
    async with stack() as s:
        for method in ("GET", "DELETE", "PUT"):
            response = await s.http.request(method, f"/mcp/{TOKEN}", headers={"accept": "text/event-stream"})
            assert response.status_code == 405 and response.headers["allow"] == "POST"


async def test_malformed_json_rpc_gets_a_json_rpc_error_not_a_500() -> None:
    async with stack() as s:
        for body in (b"{not json", b"[]", b'{"jsonrpc":"2.0"}', b'{"jsonrpc":"2.0","id":1,"method":7}'):
            response = await s.http.post(
                f"/mcp/{TOKEN}", content=body, headers={**LEGACY_HEADERS, "content-type": "application/json"}
            )
            assert 400 <= response.status_code < 500, body
            assert response.json()["error"]["code"] in (-32700, -32600, -32602), body


async def test_oversize_body_is_413() -> None:
    async with stack(MCP_MAX_BODY_BYTES="2048") as s:
        body = call_body("list_all_coviu_sessions", {"state": "x" * 4096})
        response = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
        assert response.status_code == 413


async def test_foreign_origin_and_host_are_refused() -> None:
    async with stack() as s:
        body = call_body("list_all_coviu_sessions", {})
        response = await s.http.post(f"/mcp/{TOKEN}", json=body, headers={**LEGACY_HEADERS, "origin": "https://evil.example"})
        assert response.status_code == 403
        response = await s.http.post(f"/mcp/{TOKEN}", json=body, headers={**LEGACY_HEADERS, "host": "evil.example"})
        assert response.status_code == 421


async def test_wrong_token_is_indistinguishable_from_no_server() -> None:
    async with stack() as s:
        wrong = await s.http.post(
            "/mcp/not-the-token", json=call_body("list_all_coviu_sessions", {}), headers=LEGACY_HEADERS
        )
        nothing = await s.http.post("/nothing-here", json={}, headers=LEGACY_HEADERS)
        assert wrong.status_code == nothing.status_code == 404
        assert wrong.content == nothing.content


async def test_health_readiness_and_metrics_are_on_the_admin_port_only() -> None:
    async with stack() as s, s.client() as client:
        assert (await s.admin.get("/healthz")).json() == {"status": "ok"}
        assert (await s.readiness()).json() == {"status": "ready", "tools": len(load_catalog().records)}
        await client.call_tool("get_single_coviu_team", {})
        text = (await s.admin.get("/metrics")).text
        assert 'coviu_mcp_tool_calls_total{outcome="ok",tool="get_single_coviu_team"} 1.0' in text
        assert 'coviu_mcp_upstream_responses_total{status="200"}' in text
        for path in ("/healthz", "/readyz", "/metrics"):
            response = await s.http.get(path)
            assert (response.status_code, response.text) == (404, "Not Found"), path


async def test_not_ready_when_coviu_refuses_the_credentials() -> None:
    async with stack(COVIU_CLIENT_SECRET="wrong") as s:
        response = await s.readiness()
        assert response.status_code == 503
        assert "refused the OAuth credentials" in response.json()["reason"]


async def test_readiness_probes_never_reach_coviu() -> None:
    async with stack() as s:
        assert (await s.readiness()).status_code == 200
        before = (await s.stats())["requests"].get("POST /v1/auth/token", 0)
        for _ in range(20):
            assert (await s.admin.get("/readyz")).status_code == 200
        assert (await s.stats())["requests"].get("POST /v1/auth/token", 0) == before
