"""In-process proxy in front of an in-process sandbox, both real ASGI apps joined by httpx.

The proxy's upstream transport is the sandbox app itself, so every Coviu rule the sandbox
enforces is exercised without sockets; the MCP client is the official SDK client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
from asgi_lifespan import LifespanManager
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_mcp.app import create_app
from coviu_mcp.config import load_settings
from coviu_sandbox.app import create_app as create_sandbox
from coviu_sandbox.settings import SandboxSettings

TOKEN = "url-token-for-tests"
PROXY = "http://127.0.0.1:8080"
ADMIN = "http://127.0.0.1:9090"
SANDBOX = "http://sandbox.test"


class RecordingTransport(httpx.AsyncBaseTransport):
    """Keeps the method and raw path of every request the proxy sends to Coviu."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.raw_path.decode("ascii")))
        return await self.inner.handle_async_request(request)


@dataclass
class Stack:
    http: httpx2.AsyncClient  # to the proxy's MCP port
    admin: httpx2.AsyncClient  # to the proxy's admin port: health, readiness, metrics
    sandbox: httpx.AsyncClient  # to the sandbox, for seed ids, stats and switches
    seed: dict[str, Any]
    upstream: RecordingTransport
    url: str = f"{PROXY}/mcp/{TOKEN}"

    async def readiness(self) -> httpx2.Response:
        """/readyz once the background check has run (it starts with the app)."""
        for _ in range(200):
            response = await self.admin.get("/readyz")
            if not response.json().get("reason", "").startswith("starting"):
                return response
            await asyncio.sleep(0.02)
        raise AssertionError("readiness never left its starting state")

    @contextlib.asynccontextmanager
    async def client(self, mode: str = "2026-07-28", **headers: str) -> AsyncIterator[Client]:
        self.http.headers.update(headers)
        async with Client(streamable_http_client(self.url, http_client=self.http), mode=mode) as client:
            yield client

    async def stats(self) -> dict[str, Any]:
        return (await self.sandbox.get("/_sandbox/stats")).json()


@contextlib.asynccontextmanager
async def stack(sandbox: SandboxSettings | None = None, **env: str) -> AsyncIterator[Stack]:
    sandbox_transport = httpx.ASGITransport(app=create_sandbox(sandbox or SandboxSettings()))
    upstream = RecordingTransport(sandbox_transport)
    settings = load_settings(
        **{
            "COVIU_API_BASE_URL": f"{SANDBOX}/v1",
            "COVIU_CLIENT_ID": "sandbox-client",
            "COVIU_CLIENT_SECRET": "sandbox-secret",
            "MCP_TOKEN_SHA256": hashlib.sha256(TOKEN.encode()).hexdigest(),
            **env,
        }
    )
    proxy_app = create_app(settings, upstream_transport=upstream)
    async with (
        LifespanManager(proxy_app) as proxy_lifespan,
        httpx.AsyncClient(transport=sandbox_transport, base_url=SANDBOX) as sandbox_http,
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=proxy_lifespan.app), base_url=PROXY) as http,
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=proxy_app.state.admin), base_url=ADMIN) as admin,
    ):
        seed = (await sandbox_http.get("/_sandbox/seed")).json()
        yield Stack(http, admin, sandbox_http, seed, upstream)


def call_body(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


LEGACY_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
