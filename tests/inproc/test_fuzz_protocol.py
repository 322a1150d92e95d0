"""Protocol fuzzing of the MCP endpoint: whatever arrives, the answer is a well-formed error.

Property: no 5xx, no hang, and every non-empty answer is either a JSON-RPC message or a plain
HTTP error, in both protocol eras and with mismatched version headers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .proxy_harness import TOKEN, Stack, stack

VERSIONS = st.sampled_from([None, "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28", "1999-01-01", "garbage", ""])
METHODS = st.sampled_from(
    ["tools/call", "tools/list", "initialize", "ping", "server/discover", "prompts/list", "resources/read", "x" * 300]
) | st.text(max_size=40)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
ARGUMENTS = st.dictionaries(
    st.sampled_from(["id", "page", "page_size", "team_id", "session_id", "display_name", "role", "start_time", "x"]),
    JSON_VALUE,
    max_size=6,
)
TOOL_NAMES = st.sampled_from(["list_all_coviu_sessions", "create_a_coviu_participant", "get_single_coviu_team", "nope"])


@st.composite
def messages(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["call", "rpc", "any"]))
    if shape == "call":
        params: dict[str, Any] = {"name": draw(TOOL_NAMES), "arguments": draw(ARGUMENTS)}
        if draw(st.booleans()):
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        return {
            "jsonrpc": "2.0",
            "id": draw(st.integers() | st.text(max_size=8)),
            "method": "tools/call",
            "params": params,
        }
    if shape == "rpc":
        return {
            "jsonrpc": draw(st.sampled_from(["2.0", "1.0", 2])),
            "id": draw(st.none() | st.integers() | st.text(max_size=8) | st.lists(st.integers(), max_size=2)),
            "method": draw(METHODS),
            "params": draw(JSON_VALUE),
        }
    return draw(JSON_VALUE)


def _check(status: int, content: bytes) -> None:
    assert status < 500, (status, content[:300])
    if content and status == 200:
        payload = json.loads(content)
        assert payload.get("jsonrpc") == "2.0" and ("result" in payload or "error" in payload)


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


async def _post(s: Stack, body: bytes, version: str | None, method_header: str | None = None) -> None:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if version is not None:
        headers["mcp-protocol-version"] = version
    if method_header is not None:
        headers["mcp-method"] = method_header
        headers["mcp-name"] = "list_all_coviu_sessions"
    response = await s.http.post(f"/mcp/{TOKEN}", content=body, headers=headers)
    _check(response.status_code, response.content)


@pytest.fixture
async def fuzz_stack() -> AsyncIterator[Stack]:
    async with stack() as s:
        yield s


@FUZZ
@given(message=messages(), version=VERSIONS, method_header=st.none() | st.sampled_from(["tools/call", "tools/list"]))
async def test_structured_messages(
    fuzz_stack: Stack, message: Any, version: str | None, method_header: str | None
) -> None:
    await _post(fuzz_stack, json.dumps(message).encode(), version, method_header)


@FUZZ
@given(body=st.binary(max_size=2000) | st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 5000)), version=VERSIONS)
async def test_raw_bytes_invalid_utf8_and_deep_nesting(fuzz_stack: Stack, body: bytes, version: str | None) -> None:
    await _post(fuzz_stack, body, version)


async def test_huge_strings_hit_the_body_limit_cleanly() -> None:
    async with stack(MCP_MAX_BODY_BYTES="65536") as s:
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "get_single_coviu_team", "arguments": {"x": "y" * 200_000}},
            }
        )
        response = await s.http.post(
            f"/mcp/{TOKEN}", content=body, headers={"content-type": "application/json", "accept": "application/json"}
        )
        assert response.status_code == 413
