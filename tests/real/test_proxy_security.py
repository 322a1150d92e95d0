"""Attacks on the real `coviu-mcp-server` process (issue 14, proxy side), against the real sandbox.

Each test is an attack that worked on the proxy before: locking users out by guessing, links
that carried the URL token, probes that made Coviu grants, downloads outliving expiry, slow
clients holding connections, and downloads starving tool calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_testbed.launch import console_script, free_port

from .proxy_process import proxy_process

pytestmark = pytest.mark.real

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_single_coviu_team", "arguments": {}}}
HEADERS = {"accept": "application/json", "mcp-protocol-version": "2025-11-25"}


@contextlib.asynccontextmanager
async def faults(sandbox_process, **switches: float) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=sandbox_process.root_url) as admin:
        await admin.post("/_sandbox/faults", json=switches)
        try:
            yield
        finally:
            await admin.post("/_sandbox/faults", json={})


async def _recording_link(url: str, recording: dict, team_id: str) -> str:
    async with Client(streamable_http_client(url), mode="2026-07-28") as client:
        result = await client.call_tool(
            "get_single_coviu_audio_recording_by_id",
            {"team_id": team_id, "collection_id": recording["collection_id"], "id": recording["submission_id"]},
        )
    assert not result.is_error, result.content[0].text
    return result.structured_content["download_url"]


# Attack 3: lock-out by guessing, spoofed X-Forwarded-For, path variants.


def test_behind_an_ingress_guessers_cannot_lock_out_or_spoof(sandbox_process) -> None:
    env = {"MCP_FORWARDED_ALLOW_IPS": "127.0.0.1", "MCP_AUTH_FAILURE_LIMIT": "3"}
    with proxy_process(sandbox_process, **env) as running:
        guess = f"{running.base_url}/mcp/guess"
        # The ingress (127.0.0.1) appends the address it saw; whatever the guesser wrote is to its left.
        rotating = [httpx.post(guess, json=CALL, headers={**HEADERS, "x-forwarded-for": f"192.0.2.{n}, 198.51.100.7"})
                    for n in range(4)]
        assert [r.status_code for r in rotating] == [404, 404, 404, 429]
        for _ in range(3):
            httpx.post(guess, json=CALL, headers={**HEADERS, "x-forwarded-for": "203.0.113.20, 198.51.100.7"})
        victim = {**HEADERS, "x-forwarded-for": "203.0.113.20"}
        assert httpx.post(guess, json=CALL, headers=victim).status_code == 404  # not blocked by the spoofing
        same_address = {**HEADERS, "x-forwarded-for": "198.51.100.7"}
        assert httpx.post(running.url, json=CALL, headers=same_address).status_code == 200  # the token still works
        # Without a trusted ingress everyone behind it is one client, and the token still gets in.
    with proxy_process(sandbox_process, MCP_AUTH_FAILURE_LIMIT="3") as running:
        assert [httpx.post(f"{running.base_url}/mcp/g{n}", json=CALL, headers=HEADERS).status_code
                for n in range(4)] == [404, 404, 404, 429]
        assert httpx.post(running.url, json=CALL, headers=HEADERS).status_code == 200


def test_a_wildcard_forwarded_allow_list_is_refused_at_start(sandbox_process) -> None:
    env = {**os.environ, "COVIU_CLIENT_ID": "x", "COVIU_CLIENT_SECRET": "y", "MCP_TOKEN_SHA256": "0" * 64,
           "HOST": "127.0.0.1", "PORT": str(free_port()), "MCP_ADMIN_PORT": str(free_port()),
           "MCP_FORWARDED_ALLOW_IPS": "*"}
    try:
        result = subprocess.run(
            [console_script("coviu-mcp-server")], env=env, capture_output=True, text=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the proxy started with MCP_FORWARDED_ALLOW_IPS=*")
    assert result.returncode == 2 and "MCP_FORWARDED_ALLOW_IPS" in result.stderr and "'*'" in result.stderr


def test_no_redirect_for_any_path_variant(sandbox_process) -> None:
    with proxy_process(sandbox_process, MCP_AUTH_FAILURE_LIMIT="0") as running:
        reference = httpx.get(f"{running.base_url}/mcp/wrong")
        for path in ("/mcp/wrong/", "/mcp/wrong//", f"/mcp/{running.token}/", "/mcp/wrong/files/x", "/healthz"):
            response = httpx.get(running.base_url + path, headers={"host": "127.0.0.1"})
            assert (response.status_code, response.text) == (404, reference.text), path
            assert "location" not in response.headers, path


# Attack 4: download links that are not the key.


async def test_links_carry_no_token_expire_and_keep_range(sandbox_process) -> None:
    seed = sandbox_process.seed
    with proxy_process(sandbox_process, MCP_LINK_TTL="2") as running:
        link = await _recording_link(running.url, seed["recording"], seed["team_id"])
        assert running.token not in link
        part = httpx.get(link, headers={"range": "bytes=10-19"})
        assert part.status_code == 206 and len(part.content) == 10
        assert httpx.get(link.replace("/mcp/files/", f"/mcp/{running.token}/files/")).status_code == 404
        time.sleep(int(httpx.URL(link).params["expires"]) - time.time() + 0.05)  # at most the lifetime + 1 s
        expired = httpx.get(link)
        assert (expired.status_code, expired.text) == (404, httpx.get(f"{running.base_url}/mcp/wrong").text)


# Attack 5: health and metrics that leak nothing and cost Coviu nothing.


async def test_probes_live_on_the_admin_port_and_never_reach_coviu(sandbox_process) -> None:
    with proxy_process(sandbox_process) as running:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert httpx.get(running.base_url + path).status_code == 404, path
            assert httpx.get(running.admin_url + path).status_code in (200, 503), path
        for _ in range(100):
            if httpx.get(f"{running.admin_url}/readyz").status_code == 200:
                break
            time.sleep(0.05)
        stats = httpx.get(f"{sandbox_process.root_url}/_sandbox/stats").json()["requests"]
        grants = stats.get("POST /v1/auth/token", 0)
        for _ in range(30):
            assert httpx.get(f"{running.admin_url}/readyz").json()["status"] == "ready"
        stats = httpx.get(f"{sandbox_process.root_url}/_sandbox/stats").json()["requests"]
        assert stats.get("POST /v1/auth/token", 0) == grants


@contextlib.asynccontextmanager
async def failing_token_endpoint() -> AsyncIterator[tuple[int, list[float]]]:
    """A Coviu stand-in whose token endpoint answers 503, counting the grant attempts."""
    attempts: list[float] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                if b"/auth/token" in head.split(b"\r\n")[0]:
                    attempts.append(time.monotonic())
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], attempts


async def test_failing_token_grants_are_single_flighted_with_backoff(sandbox_process) -> None:
    async with failing_token_endpoint() as (port, attempts):
        with proxy_process(sandbox_process, COVIU_API_BASE_URL=f"http://127.0.0.1:{port}/v1") as running:
            await asyncio.sleep(0.5)
            before = len(attempts)
            async with httpx.AsyncClient(timeout=30) as http:
                answers = await asyncio.gather(*(http.post(running.url, json=CALL, headers=HEADERS) for _ in range(50)))
            assert all(a.status_code == 200 and a.json()["result"]["isError"] for a in answers)
            assert "HTTP 503" in answers[0].json()["result"]["content"][0]["text"]
            assert len(attempts) - before <= 1, len(attempts) - before
            assert httpx.get(f"{running.admin_url}/readyz").status_code == 503


# Attack 6: expiry is absolute.


async def test_a_download_in_flight_ends_at_expiry(sandbox_process) -> None:
    seed = sandbox_process.seed
    expires = datetime.now(UTC) + timedelta(seconds=15)
    with proxy_process(sandbox_process, MCP_EXPIRES_AT=expires.isoformat()) as running:
        link = await _recording_link(running.url, seed["large_recording"], seed["team_id"])
        received = 0
        async with (
            faults(sandbox_process, slow_body_delay_ms=50, slow_body_chunk_bytes=65536),
            httpx.AsyncClient(timeout=30) as http,
        ):
            with pytest.raises(httpx.HTTPError):
                async with http.stream("GET", link) as response:
                    assert response.status_code == 200
                    async for chunk in response.aiter_raw():
                        received += len(chunk)
                        assert datetime.now(UTC) < expires + timedelta(seconds=2), "still streaming"
        assert datetime.now(UTC) >= expires
        assert 0 < received < seed["large_recording"]["size"]


async def test_a_tool_call_in_flight_ends_at_expiry(sandbox_process) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=12)
    with proxy_process(sandbox_process, MCP_EXPIRES_AT=expires.isoformat()) as running:
        async with faults(sandbox_process, latency_ms=30_000), httpx.AsyncClient(timeout=30) as http:
            call = {**CALL, "params": {"name": "list_all_coviu_sessions", "arguments": {}}}
            response = await http.post(running.url, json=call, headers=HEADERS)
            ended = datetime.now(UTC)
    assert response.status_code == 410 and "expired" in response.json()["error"]["message"]
    assert expires <= ended < expires + timedelta(seconds=2)


# Attack 7: slow clients before authentication, and downloads starving tool calls.


def test_slow_request_heads_are_cut_and_connections_are_bounded(sandbox_process) -> None:
    env = {"MCP_HEADER_TIMEOUT": "1", "MCP_MAX_CONNECTIONS": "10"}
    with proxy_process(sandbox_process, **env) as running:
        port = int(running.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"POST /mcp/guess HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 4:
                with contextlib.suppress(OSError):
                    slow.sendall(b"X")
                slow.settimeout(0.3)
                with contextlib.suppress(TimeoutError):
                    if slow.recv(1024) == b"":
                        closed = True
                        break
            assert closed and time.monotonic() - started < 2.5
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        try:
            assert httpx.post(running.url, json=CALL, headers=HEADERS).status_code == 503
            time.sleep(1.5)  # the idle connections never sent a request head: cut
            assert httpx.post(running.url, json=CALL, headers=HEADERS).status_code == 200
        finally:
            for sock in idle:
                sock.close()


async def test_tool_calls_stay_responsive_while_100_slow_downloads_run(sandbox_process) -> None:
    seed = sandbox_process.seed
    with proxy_process(sandbox_process, MCP_UPSTREAM_TIMEOUT="8") as running:
        link = await _recording_link(running.url, seed["large_recording"], seed["team_id"])
        started = asyncio.Event()
        opened = 0

        async def download(http: httpx.AsyncClient) -> None:
            nonlocal opened
            async with http.stream("GET", link) as response:
                assert response.status_code == 200
                opened += 1
                if opened == 100:
                    started.set()
                async for _ in response.aiter_raw():
                    pass

        async with faults(sandbox_process, slow_body_delay_ms=500, slow_body_chunk_bytes=16384):
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(timeout=60, limits=limits) as http:
                downloads = [asyncio.create_task(download(http)) for _ in range(100)]
                try:
                    await asyncio.wait_for(started.wait(), 30)
                    begun = time.monotonic()
                    answer = await http.post(running.url, json={**CALL, "params": {
                        "name": "list_all_coviu_sessions", "arguments": {"page_size": 1}}}, headers=HEADERS)
                    elapsed = time.monotonic() - begun
                    assert not any(task.done() for task in downloads), "the downloads should still be running"
                finally:
                    for task in downloads:
                        task.cancel()
                    await asyncio.gather(*downloads, return_exceptions=True)
    result = answer.json()["result"]
    assert not result["isError"], result["content"][0]["text"]
    assert elapsed < 3.0, elapsed
