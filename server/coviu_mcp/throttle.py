"""Slowing down token guessing: failed attempts are counted per client address.

A 256-bit URL token cannot be guessed, but an API token chosen by a person might be, and
unthrottled probing also costs CPU. After `limit` failures within `window` seconds a client
is refused outright until its oldest failure leaves the window. Memory stays bounded: only
the most recently failing `max_clients` addresses are remembered.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable


class FailureThrottle:
    def __init__(self, limit: int, window: float, clock: Callable[[], float], max_clients: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None when it is not blocked."""
        if self._limit <= 0:
            return None
        failures = self._failures.get(client)
        if failures is None:
            return None
        self._expire(failures)
        if len(failures) < self._limit:
            return None
        return failures[0] + self._window - self._clock()

    def record_failure(self, client: str) -> None:
        if self._limit <= 0:
            return
        failures = self._failures.pop(client, None) or deque(maxlen=self._limit)
        self._expire(failures)
        failures.append(self._clock())
        self._failures[client] = failures
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def _expire(self, failures: deque[float]) -> None:
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
