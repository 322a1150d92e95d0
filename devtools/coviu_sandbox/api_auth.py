"""``POST /v1/auth/token`` and ``GET /v1/user/team``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from coviu_sandbox.inputs import read_body
from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.state import sandbox_of


async def issue_token(request: Request) -> JSONResponse:
    token = sandbox_of(request).tokens.grant(
        request.headers.get("authorization"), request.headers.get("content-type"), await read_body(request)
    )
    return JSONResponse(token, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def user_team(request: Request) -> JSONResponse:
    return JSONResponse(sandbox_of(request).team_data.team.to_json())


routes = [
    Route("/v1/auth/token", issue_token, methods=["POST"]),
    Route("/v1/user/team", user_team, methods=["GET"]),
]
