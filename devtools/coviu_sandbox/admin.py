"""Sandbox-only controls under ``/_sandbox`` (no auth): what Coviu has no API for but tests need.

``GET  /seed``                 ids of the seed records tests and the demo start from
``GET  /stats``                requests per ``METHOD path`` since start or the last reset
``GET|POST /faults``           read or replace the fault switches (omitted fields are off)
``GET|POST /rate-limit``       read or replace the rate limit (``{"limit": 0}`` is unlimited)
``POST /reset``                seed data, faults, limits and counters back to startup state
``POST /revoke-tokens``        invalidate every access token (refresh tokens keep working)
``POST /sessions/{id}/end``    the last participant leaves: the session gets ``actual_end_time``
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from coviu_sandbox.inputs import read_model
from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.settings import FaultSettings, RateLimitSettings
from coviu_sandbox.state import sandbox_of

_OK = {"ok": True}


async def seed_ids(request: Request) -> JSONResponse:
    return JSONResponse(sandbox_of(request).seed_ids)


async def stats(request: Request) -> JSONResponse:
    requests = sandbox_of(request).requests
    return JSONResponse({"total": sum(requests.values()), "requests": dict(sorted(requests.items()))})


async def faults(request: Request) -> JSONResponse:
    injector = sandbox_of(request).faults
    if request.method == "POST":
        injector.configure(await read_model(request, FaultSettings))
    return JSONResponse(injector.settings.model_dump())


async def rate_limit(request: Request) -> JSONResponse:
    limiter = sandbox_of(request).limiter
    if request.method == "POST":
        limiter.configure(await read_model(request, RateLimitSettings))
    return JSONResponse(limiter.settings.model_dump())


async def reset(request: Request) -> JSONResponse:
    sandbox_of(request).reset()
    return JSONResponse(_OK)


async def revoke_tokens(request: Request) -> JSONResponse:
    sandbox_of(request).tokens.revoke_access_tokens()
    return JSONResponse(_OK)


async def end_session(request: Request) -> JSONResponse:
    session = sandbox_of(request).store.end_session(request.path_params["session_id"])
    return JSONResponse(session.to_json())


routes = [
    Route("/seed", seed_ids, methods=["GET"]),
    Route("/stats", stats, methods=["GET"]),
    Route("/faults", faults, methods=["GET", "POST"]),
    Route("/rate-limit", rate_limit, methods=["GET", "POST"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/revoke-tokens", revoke_tokens, methods=["POST"]),
    Route("/sessions/{session_id}/end", end_session, methods=["POST"]),
]
