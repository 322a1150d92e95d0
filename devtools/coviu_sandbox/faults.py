"""Fault injection: added latency, server errors, dropped connections and slow bodies.

Which request meets which fault is drawn from a RNG seeded with the sandbox seed and reseeded
whenever the faults change, so the same sequence of requests meets the same faults every run.

Dropping a connection cannot be expressed in ASGI (an app that returns without answering gets a
500 from the server), so the uvicorn protocol registers each connection's transport here by peer
address and the fault aborts that transport. In-process, where there is no connection, the fault
raises the error an HTTP client reports for a server that hung up.
"""

from __future__ import annotations

import asyncio
import random
from typing import Literal

from coviu_sandbox.settings import FaultSettings

Outcome = Literal["drop", "error"]
Peer = tuple[str, int]


class FaultInjector:
    def __init__(self, settings: FaultSettings, seed: int) -> None:
        self._seed = seed
        self.configure(settings)

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        self._settings = settings
        self._rng = random.Random(self._seed)

    def draw(self) -> Outcome | None:
        """Decide the fate of one request; both shares are drawn every time to keep runs repeatable."""
        drop, error = self._rng.random(), self._rng.random()
        if drop < self._settings.drop_rate:
            return "drop"
        if error < self._settings.error_rate:
            return "error"
        return None


class ConnectionRegistry:
    """Open connections by peer address, so a request can have its own connection cut."""

    def __init__(self) -> None:
        self._transports: dict[Peer, asyncio.Transport] = {}

    def add(self, peer: Peer | None, transport: asyncio.Transport) -> None:
        if peer is not None:
            self._transports[peer] = transport

    def discard(self, peer: Peer | None) -> None:
        if peer is not None:
            self._transports.pop(peer, None)

    def abort(self, peer: Peer | None) -> bool:
        """Close the connection without a response; ``False`` if there is no such connection."""
        transport = self._transports.get(peer) if peer is not None else None
        if transport is None:
            return False
        transport.abort()
        return True
