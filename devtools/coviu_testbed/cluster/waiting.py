"""Polling helpers for asserting on what controllers do eventually."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.25,
) -> T:
    """Await ``probe`` until it returns a truthy value and return that value.

    Controllers act asynchronously, so tests state the end result and give it a deadline
    instead of sleeping; the last value seen goes into the timeout message.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)
