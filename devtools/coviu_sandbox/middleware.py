"""Pure ASGI middleware around the API routes, outermost first:

``RequestCounter`` counts every request outside ``/_sandbox`` (so tests can see retries, even of
requests that were then dropped); ``FaultMiddleware`` injects the configured faults;
``ApiGuard`` checks bearer tokens and rate limits and adds the vendor rate-limit headers. Faults
and the guard apply to API paths only: under ``/v1`` except the token endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coviu_sandbox.errors import RateLimited, SandboxError, error_response, render
from coviu_sandbox.faults import ConnectionRegistry
from coviu_sandbox.settings import FaultSettings
from coviu_sandbox.state import Sandbox

TOKEN_PATH = "/v1/auth/token"
ADMIN_PREFIX = "/_sandbox"


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith("/v1/") and scope["path"] != TOKEN_PATH


class RequestCounter:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(ADMIN_PREFIX):
            self.sandbox.requests[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox, connections: ConnectionRegistry | None) -> None:
        self.app = app
        self.sandbox = sandbox
        self.connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        faults = self.sandbox.faults.settings
        outcome = self.sandbox.faults.draw()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if outcome == "drop":
            await self._drop(scope, receive)
            return
        if outcome == "error":
            response = error_response(
                faults.error_status, "server_error", f"the service failed with {faults.error_status} (injected fault)"
            )
            await response(scope, receive, send)
            return
        if faults.slow_body_delay_ms:
            send = _slowed(send, faults)
        await self.app(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        client = scope.get("client")
        peer = (client[0], client[1]) if client else None
        if self.connections is None or not self.connections.abort(peer):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        while (await receive())["type"] != "http.disconnect":
            pass


def _slowed(send: Send, faults: FaultSettings) -> Send:
    """Send every response body in ``slow_body_chunk_bytes`` pieces, pausing before each."""
    chunk, delay = faults.slow_body_chunk_bytes, faults.slow_body_delay_ms / 1000

    async def slow_send(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        for start in range(0, len(body), chunk):
            await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": body[start : start + chunk], "more_body": True})
        if not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return slow_send


class ApiGuard:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        try:
            client_id = self.sandbox.tokens.authenticate(Headers(scope=scope).get("authorization"))
        except SandboxError as error:
            await render(error)(scope, receive, send)
            return
        decision = self.sandbox.limiter.check(client_id)
        if decision is None:
            await self.app(scope, receive, send)
        elif not decision.allowed:
            limited = RateLimited(
                "rate_limited",
                f"rate limit of {decision.limit} requests per {self.sandbox.limiter.settings.window_s:g} s "
                f"exceeded; retry after {decision.retry_after} s",
                decision.headers(),
            )
            await render(limited)(scope, receive, send)
        else:
            await self.app(scope, receive, _with_headers(send, decision.headers()))


def _with_headers(send: Send, headers: Mapping[str, str]) -> Send:
    extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers
