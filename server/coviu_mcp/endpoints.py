"""The HTTP surface: the MCP endpoint, the file download endpoint, and health probes.

Both token-scoped endpoints are plain ASGI callables so that every method reaches them and
the guard answers before anything else runs. Long-lived objects (the SDK's session manager,
the Coviu client) come from the lifespan state in the ASGI scope.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from .calls import response_headers
from .errors import ProxyError
from .guard import Guard
from .metrics import ProxyMetrics
from .tools import ToolSpec, route_arguments

access_log = logging.getLogger("coviu_mcp.access")

# Headers passed from Coviu's file responses to the downloader.
_FILE_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "etag", "last-modified")


class McpEndpoint:
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = await self._serve(scope, receive, send)
        _log_access(scope, status, started)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> int:
        refusal = self._guard.check(scope)
        if refusal is not None:
            await refusal.response(scope, receive, send)
            return refusal.response.status_code
        if scope["method"] != "POST":
            # A stateless server has no stream to offer on GET, and no session to DELETE.
            response = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "POST"})
            await response(scope, receive, send)
            return 405
        extra: dict[str, str] = {}
        token = response_headers.set(extra)
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *_encode(extra)]}
            await send(message)

        try:
            await scope["state"]["mcp_manager"].handle_request(scope, receive, send_with_headers)
        finally:
            response_headers.reset(token)
        return status


class FilesEndpoint:
    """GET /mcp/{token}/files/{tool}?args: streams a Coviu file, passing Range through.

    Only binary tools of this server are reachable, with arguments validated like a tool call,
    so the link cannot be bent into a request for any other Coviu path.
    """

    def __init__(self, guard: Guard, tools: dict[str, ToolSpec], metrics: ProxyMetrics) -> None:
        self._guard = guard
        self._tools = tools
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        response = await self._respond(scope, receive)
        await response(scope, receive, send)
        _log_access(scope, response.status_code, started)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        refusal = self._guard.check(scope)
        if refusal is not None:
            return refusal.response
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET, HEAD"})
        request = Request(scope, receive)
        spec = self._tools.get(request.path_params["tool"])
        if spec is None or not spec.is_binary:
            return PlainTextResponse("Not Found", 404)
        arguments: dict[str, Any] = dict(request.query_params)
        problems = sorted(error.message for error in spec.validator.iter_errors(arguments))
        if problems:
            return PlainTextResponse("Invalid download link: " + "; ".join(problems), 400)
        routed = route_arguments(spec.record, arguments)
        passed = {k: v for k, v in request.headers.items() if k in ("range", "if-range")}
        try:
            upstream = await scope["state"]["upstream"].open_stream(routed.path, routed.query, passed)
        except ProxyError as exc:
            return PlainTextResponse(f"Coviu unavailable: {exc}", 502)
        headers = {k: v for k, v in upstream.headers.items() if k in _FILE_HEADERS}
        if upstream.status_code >= 400 or scope["method"] == "HEAD":
            async with contextlib.aclosing(upstream):
                body = await upstream.aread() if scope["method"] == "GET" else b""
            return Response(body, upstream.status_code, headers=headers)

        async def body() -> Any:
            # A failure mid-stream propagates: the server aborts the connection, so the client
            # sees a short body against Content-Length instead of a "complete" truncated file.
            try:
                async for chunk in upstream.aiter_raw():
                    self._metrics.bytes_streamed.inc(len(chunk))
                    yield chunk
            finally:
                await upstream.aclose()

        return StreamingResponse(body(), upstream.status_code, headers=headers)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the tools are built (they are, or the app would not start) and Coviu grants a token."""
    try:
        await request.state.upstream.tokens.get()
    except ProxyError as exc:
        return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready", "tools": len(request.state.tools)})


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(request.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def _log_access(scope: Scope, status: int, started: float) -> None:
    # The path holds the secret token, so only the route's shape is logged.
    access_log.info(
        "request",
        extra={
            "method": scope["method"],
            "route": "/mcp/{token}/files" if "tool" in scope.get("path_params", {}) else "/mcp/{token}",
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
