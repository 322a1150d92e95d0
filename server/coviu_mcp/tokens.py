"""Backing off after a failed Coviu token grant, shared by every caller.

Token grants already run one at a time; this remembers the last failure for a cool-down that
doubles with each consecutive failure, so callers arriving during it get that failure at once
instead of making their own attempt: 50 concurrent calls while the token endpoint is down cost
Coviu one grant request, not 50, and a dead endpoint is retried at a falling rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import ProxyError

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0


class GrantBackoff:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._delay = 0.0
        self._until = 0.0
        self._failure: ProxyError | None = None

    def check(self) -> None:
        """Raise the last failure again while its cool-down lasts."""
        if self._failure is not None and self._clock() < self._until:
            raise type(self._failure)(str(self._failure))

    def failed(self, failure: ProxyError) -> None:
        self._delay = min(MAX_DELAY_SECONDS, self._delay * 2 or FIRST_DELAY_SECONDS)
        self._until = self._clock() + self._delay
        self._failure = failure

    def succeeded(self) -> None:
        self._delay, self._until, self._failure = 0.0, 0.0, None
