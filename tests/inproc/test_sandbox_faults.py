"""Rate limiting (429, Retry-After, vendor headers) and every fault switch, in-process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Message

from coviu_sandbox.settings import FaultSettings, RateLimitSettings, SandboxSettings
from coviu_sandbox.testing import START, InProcessSandbox, ManualClock

TEAM = "/v1/user/team"


@pytest.fixture
async def limited() -> AsyncIterator[InProcessSandbox]:
    settings = SandboxSettings(rate_limit=RateLimitSettings(limit=3, window_s=60))
    async with InProcessSandbox(settings, ManualClock(START + 15)) as sandbox:
        await sandbox.login()
        yield sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox() as sandbox:
        await sandbox.login()
        yield sandbox


async def _faults(sandbox: InProcessSandbox, **faults: Any) -> None:
    response = await sandbox.client.post("/_sandbox/faults", json=faults)
    assert response.status_code == 200, response.text


async def test_every_authenticated_response_carries_the_vendor_headers(limited: InProcessSandbox) -> None:
    for remaining in ("2", "1", "0"):
        response = await limited.client.get(TEAM)
        assert response.status_code == 200
        assert response.headers["x-coviu-ratelimit-limit"] == "3"
        assert response.headers["x-coviu-ratelimit-remaining"] == remaining
        assert response.headers["x-coviu-ratelimit-reset"] == str(int(START + 60))
        assert "retry-after" not in response.headers


async def test_the_request_over_the_limit_is_429_with_retry_after(limited: InProcessSandbox) -> None:
    for _ in range(3):
        await limited.client.get(TEAM)
    refused = await limited.client.get("/v1/sessions")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "45"
    assert refused.headers["x-coviu-ratelimit-remaining"] == "0"
    assert refused.headers["x-coviu-ratelimit-reset"] == str(int(START + 60))
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and "retry after 45 s" in error["message"]
    limited.clock.advance(45)
    assert (await limited.client.get(TEAM)).status_code == 200


async def test_token_and_admin_requests_are_not_limited(limited: InProcessSandbox) -> None:
    for _ in range(5):
        assert (await limited.token()).status_code == 200
        assert (await limited.client.get("/_sandbox/stats")).status_code == 200
    response = await limited.client.get(TEAM)
    assert response.headers["x-coviu-ratelimit-remaining"] == "2"


async def test_rate_limit_can_be_changed_at_run_time(sandbox: InProcessSandbox) -> None:
    assert not any(name.startswith("x-coviu-ratelimit") for name in (await sandbox.client.get(TEAM)).headers)
    changed = await sandbox.client.post("/_sandbox/rate-limit", json={"limit": 1, "window_s": 10})
    assert changed.json() == {"limit": 1, "window_s": 10}
    assert (await sandbox.client.get(TEAM)).status_code == 200
    assert (await sandbox.client.get(TEAM)).status_code == 429
    bad = await sandbox.client.post("/_sandbox/rate-limit", json={"limit": -1})
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["message"]


async def test_error_share_of_one_fails_every_api_call(sandbox: InProcessSandbox) -> None:
    await _faults(sandbox, error_rate=1, error_status=502)
    response = await sandbox.client.get(TEAM)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "server_error"
    assert (await sandbox.token()).status_code == 200
    assert (await sandbox.client.get("/_sandbox/seed")).status_code == 200


async def test_error_share_is_repeatable(sandbox: InProcessSandbox) -> None:
    async def statuses() -> list[int]:
        await _faults(sandbox, error_rate=0.5)
        return [(await sandbox.client.get(TEAM)).status_code for _ in range(20)]

    first = await statuses()
    assert set(first) == {200, 503}
    assert await statuses() == first


async def test_dropped_connections_look_like_a_server_hanging_up(sandbox: InProcessSandbox) -> None:
    await _faults(sandbox, drop_rate=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await sandbox.client.get(TEAM)
    await _faults(sandbox)
    assert (await sandbox.client.get(TEAM)).status_code == 200
    stats = (await sandbox.client.get("/_sandbox/stats")).json()
    assert stats["requests"][f"GET {TEAM}"] == 2


async def test_latency_is_added(sandbox: InProcessSandbox) -> None:
    await _faults(sandbox, latency_ms=150)
    started = time.perf_counter()
    assert (await sandbox.client.get(TEAM)).status_code == 200
    assert time.perf_counter() - started >= 0.15


async def test_slow_bodies_arrive_in_small_pieces(sandbox: InProcessSandbox) -> None:
    await _faults(sandbox, slow_body_delay_ms=2, slow_body_chunk_bytes=16)
    messages: list[Message] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": TEAM,
        "raw_path": TEAM.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"sandbox.test"), (b"authorization", sandbox.client.headers["authorization"].encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("sandbox.test", 80),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    started = time.perf_counter()
    await sandbox.app(scope, receive, send)
    elapsed = time.perf_counter() - started
    pieces = [message["body"] for message in messages if message["type"] == "http.response.body"]
    body = b"".join(pieces)
    assert messages[0]["status"] == 200 and body.startswith(b'{"team_id"')
    assert [len(piece) for piece in pieces[:-2]] == [16] * (len(pieces) - 2)
    assert pieces[-1] == b"" and messages[-1]["more_body"] is False
    assert len(pieces) - 1 == -(-len(body) // 16)
    assert elapsed >= (len(pieces) - 1) * 0.002


async def test_fault_settings_are_validated_and_readable(sandbox: InProcessSandbox) -> None:
    for body in ({"error_rate": 2}, {"error_status": 404}, {"drop": 1}, {"latency_ms": "slow"}):
        response = await sandbox.client.post("/_sandbox/faults", json=body)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_body"
    await _faults(sandbox, latency_ms=5)
    assert (await sandbox.client.get("/_sandbox/faults")).json() == {
        **FaultSettings().model_dump(),
        "latency_ms": 5,
    }


async def test_faults_from_settings_apply_from_the_start() -> None:
    settings = SandboxSettings(faults=FaultSettings(error_rate=1))
    async with InProcessSandbox(settings) as sandbox:
        await sandbox.login()
        assert (await sandbox.client.get(TEAM)).status_code == 503
        await sandbox.client.post("/_sandbox/faults", json={})
        assert (await sandbox.client.get(TEAM)).status_code == 200
        await sandbox.client.post("/_sandbox/reset")
        assert (await sandbox.client.get(TEAM)).status_code == 503
