"""The waiting area (``/v1/waiting``): read-only, camelCase like Coviu's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.state import sandbox_of


async def team_calls(request: Request) -> JSONResponse:
    calls = sandbox_of(request).team_data.waiting_calls(request.path_params["team_id"])
    return JSONResponse([call.to_json() for call in calls])


async def queue_calls(request: Request) -> JSONResponse:
    params = request.path_params
    calls = sandbox_of(request).team_data.waiting_calls(params["team_id"], params["waiting_queue_id"])
    return JSONResponse([call.to_json() for call in calls])


async def get_call(request: Request) -> JSONResponse:
    params = request.path_params
    return JSONResponse(sandbox_of(request).team_data.call(params["team_id"], params["call_id"]).to_json())


routes = [
    Route("/v1/waiting/{team_id}", team_calls, methods=["GET"]),
    Route("/v1/waiting/{team_id}/queue/{waiting_queue_id}", queue_calls, methods=["GET"]),
    Route("/v1/waiting/{team_id}/calls/{call_id}", get_call, methods=["GET"]),
]
