"""Running the sandbox under uvicorn, with connections the drop fault can cut."""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from coviu_sandbox.app import create_app
from coviu_sandbox.faults import ConnectionRegistry
from coviu_sandbox.settings import SandboxSettings


def _tracked_protocol(registry: ConnectionRegistry) -> type[H11Protocol]:
    """uvicorn's h11 protocol, registering each connection's transport under its peer address."""

    class TrackedH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            registry.add(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.discard(self.client)
            super().connection_lost(exc)

    return TrackedH11Protocol


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket; port 0 picks a free one."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: SandboxSettings, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and exit with status 0.

    uvicorn re-raises the stop signal once it has shut down; the handlers installed here turn
    that into a normal exit, since a requested stop is not a failure.
    """
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _exit_cleanly)
    registry = ConnectionRegistry()
    config = uvicorn.Config(
        create_app(settings, connections=registry),
        http=_tracked_protocol(registry),
        ws="none",
        lifespan="off",
        proxy_headers=False,
        access_log=log_level in ("debug", "trace"),
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])
