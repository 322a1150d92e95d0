"""The HTTP surface of the MCP port: the MCP endpoint, signed download links, and nothing else.

Every endpoint is a plain ASGI callable so that every method reaches it and the guard answers
before anything else runs; any other path gets the guard's 404, never a redirect. Long-lived
objects (the SDK's session manager, the Coviu client) come from the lifespan state in the
ASGI scope. Health and metrics live on the admin port (admin.py).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from .calls import response_headers
from .errors import ProxyError
from .expiry import Expiry
from .guard import Guard, not_found
from .links import LinkSigner
from .metrics import ProxyMetrics
from .tools import ToolSpec, route_arguments

access_log = logging.getLogger("coviu_mcp.access")

# Headers passed from Coviu's file responses to the downloader.
_FILE_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "etag", "last-modified")


class McpEndpoint:
    def __init__(self, guard: Guard, expiry: Expiry) -> None:
        self._guard = guard
        self._expiry = expiry

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
            response: Response = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "POST"})
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

        deadline = self._expiry.timeout()
        try:
            async with deadline:
                await scope["state"]["mcp_manager"].handle_request(scope, receive, send_with_headers)
        except TimeoutError:
            if not deadline.expired():
                raise
            # The server expired during the call: the call is cut and the client told why.
            if status == 0:
                response = self._guard.expired()
                await response(scope, receive, send)
                status = response.status_code
        finally:
            response_headers.reset(token)
        return status


class NotFoundEndpoint:
    """Every other path on the MCP port: the guard's answer, so no path variant says more."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        refusal = self._guard.check(scope)
        response = refusal.response if refusal is not None else not_found()
        await response(scope, receive, send)
        _log_access(scope, response.status_code, started)


class FilesEndpoint:
    """GET /mcp/files/{tool}?args&expires&signature: streams a Coviu file, passing Range through.

    Only a genuine, unexpired link opens a file, and only the one its signature covers: a binary
    tool of this server with the arguments it was made for, validated like a tool call. Downloads
    run on their own Coviu connection pool, at most `max_downloads` at once, and stop at expiry.
    """

    def __init__(
        self, guard: Guard, tools: dict[str, ToolSpec], metrics: ProxyMetrics, links: LinkSigner,
        expiry: Expiry, max_downloads: int,
    ) -> None:
        self._guard = guard
        self._tools = tools
        self._metrics = metrics
        self._links = links
        self._expiry = expiry
        self._max_downloads = max_downloads
        self._active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        response = await self._respond(scope, receive)
        await response(scope, receive, send)
        _log_access(scope, response.status_code, started)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        spec = self._tools.get(request.path_params["tool"])
        arguments = (
            self._links.verify(spec.name, request.query_params.multi_items())
            if spec is not None and spec.is_binary else None
        )
        refusal = self._guard.check_link(scope, arguments is not None)
        if refusal is not None:
            return refusal.response
        assert spec is not None and arguments is not None
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET, HEAD"})
        problems = sorted(error.message for error in spec.validator.iter_errors(arguments))
        if problems:
            return PlainTextResponse("Invalid download link: " + "; ".join(problems), 400)
        if self._active >= self._max_downloads:
            return PlainTextResponse("Too many downloads at once", 503, headers={"Retry-After": "5"})
        self._active += 1
        release = True
        try:
            async with self._expiry.timeout():
                response = await self._open(scope, request, spec, arguments)
            release = not isinstance(response, StreamingResponse)  # a stream releases its slot when done
            return response
        except TimeoutError:
            return not_found()  # the server expired while Coviu was answering: the link is dead
        finally:
            if release:
                self._active -= 1

    async def _open(self, scope: Scope, request: Request, spec: ToolSpec, arguments: dict[str, Any]) -> Response:
        routed = route_arguments(spec.record, arguments)
        passed = {k: v for k, v in request.headers.items() if k in ("range", "if-range")}
        try:
            upstream = await scope["state"]["upstream"].open_stream(routed.path, routed.query, passed, download=True)
        except ProxyError as exc:
            return PlainTextResponse(f"Coviu unavailable: {exc}", 502)
        headers = {k: v for k, v in upstream.headers.items() if k in _FILE_HEADERS}
        if upstream.status_code >= 400 or scope["method"] == "HEAD":
            async with contextlib.aclosing(upstream):
                body = await upstream.aread() if scope["method"] == "GET" else b""
            return Response(body, upstream.status_code, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            # A failure mid-stream, or the server's expiry, propagates: the server aborts the
            # connection, so the client sees a short body against Content-Length instead of a
            # "complete" truncated file.
            async with self._expiry.timeout():
                async for chunk in upstream.aiter_raw():
                    self._metrics.bytes_streamed.inc(len(chunk))
                    yield chunk

        async def release() -> None:
            self._active -= 1
            await upstream.aclose()

        return _Download(chunks(), upstream.status_code, headers, release)


class _Download(StreamingResponse):
    """A streamed file that gives back its download slot and Coviu connection however it ends,
    even when the client is gone before the first byte (the body is then never started)."""

    def __init__(
        self, content: Any, status_code: int, headers: dict[str, str], release: Callable[[], Awaitable[None]]
    ) -> None:
        super().__init__(content, status_code, headers=headers)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def _log_access(scope: Scope, status: int, started: float) -> None:
    # The path holds the secret token, so only the route's shape is logged.
    access_log.info(
        "request",
        extra={
            "method": scope["method"],
            "route": _route(scope),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _route(scope: Scope) -> str:
    params = scope.get("path_params", {})
    return "/mcp/files/{tool}" if "tool" in params else "/mcp/{token}" if "token" in params else "other"
