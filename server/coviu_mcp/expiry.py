"""Expiry is absolute: work in flight at MCP_EXPIRES_AT is cut, not just new requests refused."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime


class Expiry:
    def __init__(self, expires_at: datetime | None) -> None:
        self._at = expires_at.timestamp() if expires_at else None

    def timeout(self) -> asyncio.Timeout:
        """A timeout that fires at the expiry instant (never, without one)."""
        if self._at is None:
            return asyncio.timeout(None)
        loop = asyncio.get_running_loop()
        return asyncio.timeout_at(loop.time() + (self._at - time.time()))
