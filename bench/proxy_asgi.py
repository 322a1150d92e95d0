"""The proxy as an ASGI factory, for running several proxy processes behind one port.

    uvicorn --factory proxy_asgi:app --app-dir bench --workers N     # uvicorn's supervisor
    python bench/proxy_asgi.py                                       # one SO_REUSEPORT process

Configuration comes from the same environment as `coviu-mcp-server` (HOST, PORT, COVIU_*, MCP_*).
Processes sharing one port have no separate admin port here: /healthz, /readyz and /metrics are
served on the shared port, which suits a benchmark on loopback and nothing else.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from coviu_mcp.app import create_app
from coviu_mcp.config import load_settings
from coviu_mcp.logs import configure
from coviu_mcp.serve import freeze_startup_heap

_ADMIN_PATHS = ("/healthz", "/readyz", "/metrics")


def with_admin_routes(proxy: ASGIApp) -> ASGIApp:
    admin: ASGIApp = proxy.state.admin  # type: ignore[attr-defined]

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        target = admin if scope["type"] == "http" and scope["path"] in _ADMIN_PATHS else proxy
        await target(scope, receive, send)

    return serve


def app() -> ASGIApp:
    settings = load_settings()
    configure(settings.log_level)
    return with_admin_routes(create_app(settings))


def main() -> None:
    """Serve on PORT with SO_REUSEPORT, so that N such processes share the port (the kernel
    spreads new connections over them by a hash of the connection's addresses)."""
    settings = load_settings()
    configure(settings.log_level)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP, so asyncio turns Nagle off
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    config = uvicorn.Config(
        with_admin_routes(create_app(settings)),
        access_log=False,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    freeze_startup_heap()  # as the shipped proxy does before serving
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
