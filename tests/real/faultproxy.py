"""A TCP proxy that breaks connections on purpose, for faults the sandbox cannot fake over HTTP.

It forwards bytes between a client and an upstream; `cut_after` resets the client connection
once that many response bytes have passed, and `refuse` closes every new connection at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class FaultProxy:
    upstream_port: int
    cut_after: int | None = None
    refuse: bool = False
    port: int = 0

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            _reset(client_writer)
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        cut_after = self.cut_after
        await asyncio.gather(
            _pump(client_reader, upstream_writer, None, client_writer),
            _pump(upstream_reader, client_writer, cut_after, client_writer),
            return_exceptions=True,
        )
        for writer in (client_writer, upstream_writer):
            writer.close()


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None, client: asyncio.StreamWriter
) -> None:
    passed = 0
    while data := await reader.read(65536):
        if limit is not None and passed + len(data) > limit:
            writer.write(data[: limit - passed])
            await writer.drain()
            _reset(client)
            return
        passed += len(data)
        writer.write(data)
        await writer.drain()
    writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort with a TCP RST rather than a clean FIN, as a crashing peer or middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


@contextlib.asynccontextmanager
async def fault_proxy(upstream_port: int, **faults: object) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(upstream_port, **faults)  # type: ignore[arg-type]
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    async with server:
        yield proxy
        server.close()
