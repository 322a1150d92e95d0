"""A failed token grant is shared by everyone during a cool-down that doubles up to a cap."""

from __future__ import annotations

import pytest

from coviu_mcp.errors import UpstreamUnavailableError
from coviu_mcp.tokens import MAX_DELAY_SECONDS, GrantBackoff


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cool_down_doubles_and_resets_on_success() -> None:
    clock = Clock()
    backoff = GrantBackoff(clock)
    backoff.check()
    delays = []
    for _ in range(8):
        backoff.failed(UpstreamUnavailableError("token endpoint answered HTTP 503"))
        started = clock.now
        with pytest.raises(UpstreamUnavailableError, match="HTTP 503"):
            backoff.check()
        while True:
            clock.now += 0.5
            try:
                backoff.check()
                break
            except UpstreamUnavailableError:
                continue
        delays.append(clock.now - started)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0] and MAX_DELAY_SECONDS == 30.0
    backoff.succeeded()
    backoff.failed(UpstreamUnavailableError("again"))
    clock.now += 1.0
    backoff.check()
