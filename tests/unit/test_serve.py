"""The proxy's listening sockets: every accepted connection has Nagle's algorithm off."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from coviu_mcp.serve import tcp_listener


async def _nodelay_of_accepted(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()


def test_uvicorn_bound_socket_leaves_nagle_on_and_the_listener_turns_it_off() -> None:
    # The first half shows why tcp_listener exists: if uvicorn ever binds TCP sockets, it can go.
    assert asyncio.run(_nodelay_of_accepted(uvicorn.Config(app=None, port=0).bind_socket())) == 0
    assert asyncio.run(_nodelay_of_accepted(tcp_listener(uvicorn.Config(app=None, port=0).bind_socket()))) != 0
