"""Schema-valid but adversarial tool arguments never reach an unintended Coviu path.

Every request the proxy sends upstream is recorded; each must be the token endpoint or the
exact route of the tool that was called, with each path segment a plain id.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coviu_catalog import load_catalog, tool_name

from .proxy_harness import LEGACY_HEADERS, TOKEN, Stack, call_body, stack

NASTY = st.sampled_from(
    ["../", "..", "%2e%2e%2f", "a/../../v1/user/team", "%2F", "?x=1", "#frag", "\r\nX-Injected: 1", "' OR 1=1 --",
     "<script>", "${jndi:ldap://x}", "\u202e", "\x00", "a" * 5000, "-1", "99999999999999999999"]
) | st.text(max_size=50)
RECORDS = {tool_name(r): r for r in load_catalog().records}
ROUTES = {
    name: re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[A-Za-z0-9_~-]+", r.path) + "$") for name, r in RECORDS.items()
}
FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
async def fuzz_stack() -> AsyncIterator[Stack]:
    async with stack() as s:
        yield s


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(RECORDS)))
    record = RECORDS[name]
    arguments: dict[str, Any] = {}
    for param in record.path_params:
        arguments[param] = draw(NASTY | st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_~-]{0,40}\Z"))
    for prop, schema in {**record.query.properties, **record.body.properties}.items():
        if draw(st.booleans()):
            kind = schema.get("type")
            value = (
                draw(st.integers(-(2**70), 2**70))
                if kind == "integer"
                else draw(st.booleans())
                if kind == "boolean"
                else draw(NASTY)
            )
            arguments[prop] = value
    return name, arguments


@FUZZ
@given(call=calls())
async def test_upstream_requests_stay_on_the_tools_route(fuzz_stack: Stack, call: tuple[str, dict[str, Any]]) -> None:
    name, arguments = call
    fuzz_stack.upstream.sent.clear()
    response = await fuzz_stack.http.post(f"/mcp/{TOKEN}", json=call_body(name, arguments), headers=LEGACY_HEADERS)
    assert response.status_code == 200
    assert "result" in response.json() or "error" in response.json()
    for method, raw in fuzz_stack.upstream.sent:
        path = urlsplit(raw).path
        if path == "/v1/auth/token":
            continue
        assert method == RECORDS[name].http_method
        assert ROUTES[name].match(path), (name, raw)
        assert set(parse_qs(urlsplit(raw).query)) <= set(RECORDS[name].query.properties), raw


async def test_out_of_range_pagination_is_refused_before_coviu() -> None:
    async with stack() as s:
        for arguments in ({"page": -1}, {"page_size": 0}, {"page_size": 201}, {"page": 1.5}):
            response = await s.http.post(
                f"/mcp/{TOKEN}", json=call_body("list_all_coviu_sessions", arguments), headers=LEGACY_HEADERS
            )
            assert response.json()["result"]["isError"] is True, arguments
        assert all(path.startswith("/v1/auth") for _, path in s.upstream.sent), s.upstream.sent
