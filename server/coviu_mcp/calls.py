"""Serving one tools/call: validate, route, call Coviu, shape the result, count it.

Every failure becomes a tool result with isError (the SDK would otherwise leak exception text
on the legacy era), and logs carry the tool name, outcome and timing only: never argument
values, bodies or tokens, since those can hold patient data.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import mcp_types as types
import orjson
from mcp.shared.exceptions import MCPError
from starlette.requests import Request

from . import ratelimit, results
from .errors import ProxyError
from .links import LinkSigner
from .metrics import ProxyMetrics
from .tools import RoutedArguments, ToolSpec, route_arguments
from .upstream import CoviuClient, Reply

log = logging.getLogger("coviu_mcp.calls")

# Headers to add to the HTTP response of the current MCP request (rate-limit figures).
# The endpoint sets a fresh dict per request; the SDK runs the handler in a context copied
# from the request task, so the handler's writes reach that same dict.
response_headers: ContextVar[dict[str, str] | None] = ContextVar("coviu_mcp_response_headers", default=None)


class ToolCaller:
    def __init__(
        self,
        tools: Mapping[str, ToolSpec],
        upstream: CoviuClient,
        metrics: ProxyMetrics,
        public_url: str | None,
        embed_max_bytes: int,
        links: LinkSigner,
    ) -> None:
        self._tools = tools
        self._upstream = upstream
        self._metrics = metrics
        self._public_url = public_url.rstrip("/") if public_url else None
        self._embed_max_bytes = embed_max_bytes
        self._links = links

    async def __call__(self, request: Request | None, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        spec = self._tools.get(name)
        if spec is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}")
        started = time.perf_counter()
        arguments = arguments or {}
        problems = sorted(_describe(error) for error in spec.validator.iter_errors(arguments))
        if problems:
            outcome, result = "invalid_arguments", results.invalid_arguments(spec, problems)
        else:
            outcome, result = await self._call(spec, route_arguments(spec.record, arguments), request, arguments)
        elapsed = time.perf_counter() - started
        self._metrics.tool_calls.labels(name, outcome).inc()
        self._metrics.tool_latency.labels(name).observe(elapsed)
        log.info("tool call", extra={"tool": name, "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)})
        return result

    async def _call(
        self, spec: ToolSpec, routed: RoutedArguments, request: Request | None, arguments: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        try:
            if spec.is_binary:
                return await self._describe_file(spec, routed, self._download_url(spec, request, arguments))
            return await self._call_json(spec, routed)
        except ProxyError as exc:
            return "unavailable", results.error(f"{spec.name} failed: {exc}")

    async def _call_json(self, spec: ToolSpec, routed: RoutedArguments) -> tuple[str, dict[str, Any]]:
        started = time.perf_counter()
        response = await self._upstream.request(spec.record.http_method, routed.path, routed.query, routed.body)
        self._observe_upstream(spec, response.status_code, started, response.headers)
        if response.status_code >= 400:
            return self._failure(spec, response)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return "upstream_error", results.error(f"Coviu sent {spec.name} a body that is not JSON")
        return "ok", results.success(spec, body, response.text, routed.query)

    async def _describe_file(
        self, spec: ToolSpec, routed: RoutedArguments, download_url: str
    ) -> tuple[str, dict[str, Any]]:
        """Metadata from a one-byte Range request; the bytes themselves go through the download URL."""
        started = time.perf_counter()
        response = await self._upstream.open_stream(routed.path, routed.query, {"Range": "bytes=0-0"})
        async with contextlib.aclosing(response):
            self._observe_upstream(spec, response.status_code, started, response.headers)
            if response.status_code >= 400:
                return self._failure(spec, Reply(response.status_code, response.headers, await response.aread()))
            size = _total_size(response.headers)
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
            accept_ranges = response.status_code == 206 or response.headers.get("accept-ranges") == "bytes"
        data = None
        if size is not None and 0 < size <= self._embed_max_bytes:
            whole = await self._upstream.open_stream(routed.path, routed.query, {})
            async with contextlib.aclosing(whole):
                data = await whole.aread() if whole.status_code == 200 else None
        return "ok", results.binary(spec, content_type, size, download_url, accept_ranges, data)

    def _failure(self, spec: ToolSpec, response: Reply) -> tuple[str, dict[str, Any]]:
        retry_after = ratelimit.retry_after_seconds(response.headers.get("retry-after"), time.time())
        if response.status_code == 429:
            self._metrics.rate_limited.labels(spec.name).inc()
            return "rate_limited", results.upstream_error(spec, response, retry_after)
        return "upstream_error", results.upstream_error(spec, response, retry_after)

    def _observe_upstream(self, spec: ToolSpec, status: int, started: float, headers: Mapping[str, str]) -> None:
        self._metrics.upstream_latency.labels(spec.name).observe(time.perf_counter() - started)
        self._metrics.upstream_responses.labels(str(status)).inc()
        sink = response_headers.get()
        if sink is not None:
            sink.update(ratelimit.normalise(headers, time.time()))

    def _download_url(self, spec: ToolSpec, request: Request | None, arguments: Mapping[str, Any]) -> str:
        if request is None:
            raise ProxyError("download links need an HTTP request")
        base = self._public_url or str(request.base_url).rstrip("/")
        return base + self._links.path(spec.name, arguments)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _total_size(headers: Mapping[str, str]) -> int | None:
    content_range = headers.get("content-range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = headers.get("content-length")
    return int(length) if length and length.isdigit() else None
