"""FastMCP's OpenAPI import of our catalog, as the comparison server for bench_proxy_cost.py.

Runs in .cache/bench-venv (FastMCP is not a dependency of the project). The OpenAPI document
is rendered by the project's own venv (coviu_catalog.openapi.render_openapi) and passed as a
file, so this process imports nothing from the project.

Settings are chosen to match the proxy where FastMCP allows it: stateless, JSON responses,
Host/Origin protection on (FastMCP's default is off), telemetry off (the proxy has none), the
secret token as the URL path, one uvicorn worker without access log. FastMCP's upstream
client gets a bearer token fetched once at start-up, as FastMCP has no OAuth client flow
for an OpenAPI import.

The bench venv holds uvloop and httptools, which uvicorn uses whenever it finds them. FastMCP
depends on uvicorn without them, so by default (BENCH_SERVER_STACK=installed) they are hidden
and it serves on asyncio and h11 as installed; BENCH_SERVER_STACK=uvloop lets uvicorn use them,
which is the proxy's own server stack.

Environment: BENCH_OPENAPI (path of the JSON document), BENCH_UPSTREAM (…/v1 base URL),
BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_TOKEN (URL token), PORT, BENCH_SERVER_STACK.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("FASTMCP_TELEMETRY_MODE", "off")
os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")
if os.environ.get("BENCH_SERVER_STACK", "installed") == "installed":
    sys.modules.update(uvloop=None, httptools=None)

import httpx2
import uvicorn
from fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse


def build_app() -> object:
    upstream = os.environ["BENCH_UPSTREAM"].rstrip("/")
    port = int(os.environ["PORT"])
    with open(os.environ["BENCH_OPENAPI"]) as handle:
        spec = json.load(handle)
    grant = httpx2.post(
        f"{upstream}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(os.environ["BENCH_CLIENT_ID"], os.environ["BENCH_CLIENT_SECRET"]),
        timeout=10,
    )
    grant.raise_for_status()
    client = httpx2.AsyncClient(
        base_url=upstream, headers={"Authorization": f"Bearer {grant.json()['access_token']}"}, timeout=30
    )
    mcp = FastMCP.from_openapi(openapi_spec=spec, client=client, name="coviu-fastmcp")

    @mcp.custom_route("/readyz", methods=["GET"])
    async def readyz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    return mcp.http_app(
        path=f"/mcp/{os.environ['BENCH_TOKEN']}",
        stateless_http=True,
        json_response=True,
        host_origin_protection=True,
        allowed_hosts=[f"127.0.0.1:{port}", "127.0.0.1", "localhost", f"localhost:{port}"],
        allowed_origins=[],
    )


def main() -> None:
    uvicorn.run(
        build_app(), host="127.0.0.1", port=int(os.environ["PORT"]), workers=1, access_log=False, log_level="warning"
    )


if __name__ == "__main__":
    main()
