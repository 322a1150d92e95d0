"""The sandbox ASGI app."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount

from coviu_sandbox import admin, api_auth, api_collections, api_sessions, api_waiting
from coviu_sandbox.errors import SandboxError, error_response, render
from coviu_sandbox.faults import ConnectionRegistry
from coviu_sandbox.middleware import ADMIN_PREFIX, ApiGuard, FaultMiddleware, RequestCounter
from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.state import Sandbox
from coviu_sandbox.timestamps import Clock


def create_app(
    settings: SandboxSettings, *, clock: Clock = time.time, connections: ConnectionRegistry | None = None
) -> Starlette:
    """Build a sandbox seeded from ``settings``.

    ``clock`` lets tests move time (token expiry, sessions finishing, rate windows); ``connections``
    is filled by the uvicorn protocol in :mod:`coviu_sandbox.server` so faults can drop real
    connections.
    """
    sandbox = Sandbox(settings, clock)
    app = Starlette(
        routes=[
            *api_auth.routes,
            *api_sessions.routes,
            *api_waiting.routes,
            *api_collections.routes,
            Mount(ADMIN_PREFIX, routes=admin.routes),
        ],
        middleware=[
            Middleware(RequestCounter, sandbox=sandbox),
            Middleware(FaultMiddleware, sandbox=sandbox, connections=connections),
            Middleware(ApiGuard, sandbox=sandbox),
        ],
        exception_handlers={SandboxError: _sandbox_error, HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app


async def _sandbox_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SandboxError)
    return render(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing failures (unknown path, wrong method) in the same error shape as everything else."""
    assert isinstance(exc, HTTPException)
    code, message = {
        404: ("not_found", f"no endpoint at {request.url.path}"),
        405: ("method_not_allowed", f"{request.method} is not allowed on {request.url.path}"),
    }.get(exc.status_code, ("http_error", str(exc.detail)))
    return error_response(exc.status_code, code, message, exc.headers)
