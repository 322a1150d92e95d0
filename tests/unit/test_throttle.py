"""Failed-attempt throttling: per client, sliding window, bounded memory."""

from __future__ import annotations

from coviu_mcp.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_the_limit_until_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = FailureThrottle(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.record_failure("10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("10.0.0.1") == 57  # first failure at 1000, now 1003
    assert throttle.retry_after("10.0.0.2") is None  # other clients are unaffected
    clock.now = 1060.5
    assert throttle.retry_after("10.0.0.1") is None


def test_zero_limit_disables_it() -> None:
    throttle = FailureThrottle(limit=0, window=60, clock=Clock())
    for _ in range(100):
        throttle.record_failure("a")
    assert throttle.retry_after("a") is None


def test_memory_is_bounded_to_the_most_recent_clients() -> None:
    throttle = FailureThrottle(limit=1, window=60, clock=Clock(), max_clients=100)
    for n in range(1000):
        throttle.record_failure(f"client-{n}")
    assert len(throttle._failures) == 100  # noqa: SLF001 - the memory bound has no public view
    assert throttle.retry_after("client-999") is not None
    assert throttle.retry_after("client-0") is None
