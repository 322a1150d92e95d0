"""The admin listener: liveness, readiness and metrics, on their own port.

MCP clients never reach this port (the Service in front of them exposes only the MCP port),
and nothing here calls Coviu: readiness reports the state a background task keeps, so a probe
or an anonymous caller costs Coviu nothing and learns nothing about a clinic's traffic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import ProxyError
from .metrics import ProxyMetrics

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0


class Readiness:
    """Whether Coviu grants this server a token, as last seen by `watch`."""

    def __init__(self, tools: int) -> None:
        self.tools = tools
        self.reason: str | None = "starting: Coviu not checked yet"

    async def watch(self, get_token: Callable[[], Awaitable[str]], interval: float = REFRESH_SECONDS) -> None:
        """Check now and every `interval`; a cached token answers without asking Coviu."""
        while True:
            try:
                await get_token()
            except ProxyError as exc:
                if self.reason != str(exc):
                    log.warning("not ready", extra={"reason": str(exc)})
                self.reason = str(exc)
            else:
                self.reason = None
            await asyncio.sleep(interval)


def create_admin_app(readiness: Readiness, metrics: ProxyMetrics) -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if readiness.reason is not None:
            return JSONResponse({"status": "unavailable", "reason": readiness.reason}, status_code=503)
        return JSONResponse({"status": "ready", "tools": readiness.tools})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ]
    )
