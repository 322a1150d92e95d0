"""Talking to Coviu: OAuth refresh, single-flight tokens, revoked tokens, 429s and faults."""

from __future__ import annotations

import asyncio

from coviu_sandbox.settings import FaultSettings, RateLimitSettings, SandboxSettings

from .proxy_harness import LEGACY_HEADERS, TOKEN, call_body, stack

TOKEN_PATH = "/v1/auth/token"


async def _token_requests(s) -> int:
    return (await s.stats())["requests"].get(f"POST {TOKEN_PATH}", 0)


async def test_one_token_request_for_a_hundred_concurrent_calls() -> None:
    async with stack() as s, s.client() as client:
        results = await asyncio.gather(*(client.call_tool("get_single_coviu_team", {}) for _ in range(100)))
        assert not any(r.is_error for r in results)
        assert await _token_requests(s) == 1


async def test_token_is_refreshed_before_it_expires() -> None:
    async with stack(SandboxSettings(token_ttl_s=2)) as s, s.client() as client:
        assert not (await client.call_tool("get_single_coviu_team", {})).is_error
        await asyncio.sleep(1.1)  # past half the lifetime: the proxy refreshes ahead of expiry
        assert not (await client.call_tool("get_single_coviu_team", {})).is_error
        assert await _token_requests(s) == 2


async def test_a_revoked_token_is_replaced_and_the_call_retried_once() -> None:
    async with stack() as s, s.client() as client:
        assert not (await client.call_tool("get_single_coviu_team", {})).is_error
        await s.sandbox.post("/_sandbox/revoke-tokens")
        result = await client.call_tool("get_single_coviu_team", {})
        assert not result.is_error
        assert await _token_requests(s) == 2


async def test_rate_limit_is_passed_through_with_ietf_headers_and_no_retry() -> None:
    async with stack(SandboxSettings(rate_limit=RateLimitSettings(limit=2, window_s=60))) as s:
        body = call_body("get_single_coviu_team", {})
        for _ in range(2):
            ok = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
            assert ok.json()["result"]["isError"] is False
        before = (await s.stats())["requests"].get("GET /v1/user/team", 0)
        limited = await s.http.post(f"/mcp/{TOKEN}", json=body, headers=LEGACY_HEADERS)
        after = (await s.stats())["requests"].get("GET /v1/user/team", 0)
        assert after - before == 1, "a 429 must not be retried"
        result = limited.json()["result"]
        assert result["isError"] is True
        assert "rate limit" in result["content"][0]["text"] and "retry after" in result["content"][0]["text"]
        assert limited.headers["ratelimit-limit"] == "2"
        assert limited.headers["ratelimit-remaining"] == "0"
        assert int(limited.headers["retry-after"]) > 0
        assert int(limited.headers["ratelimit-reset"]) > 0


async def test_upstream_5xx_is_a_clear_tool_error() -> None:
    faults = FaultSettings(error_rate=1.0, error_status=503)
    async with stack(SandboxSettings(faults=faults)) as s, s.client() as client:
        result = await client.call_tool("get_single_coviu_team", {})
        assert result.is_error and "HTTP 503" in result.content[0].text
