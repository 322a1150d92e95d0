"""Where a server stands relative to its expiresAt, and when that next changes.

The controller sleeps until `Expiry.next_change` (an exact instant, not a polling period),
so teardown happens as soon as the event loop's timer fires. The clock is injected so the
same code runs against wall time in production and against fake loop time in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """Wall-clock time, re-read at every call so clock corrections are honoured."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Expiry:
    expires_at: datetime | None
    expired: bool
    expiring_soon: bool
    # The next instant at which `expired` or `expiring_soon` flips; None when nothing will.
    next_change: datetime | None


def assess(expires_at: datetime | None, now: datetime, window: timedelta) -> Expiry:
    """Classify `now` against `expires_at` with a warning `window` before it."""
    if expires_at is None:
        return Expiry(None, expired=False, expiring_soon=False, next_change=None)
    if now >= expires_at:
        return Expiry(expires_at, expired=True, expiring_soon=False, next_change=None)
    warn_from = expires_at - window
    if now >= warn_from:
        return Expiry(expires_at, expired=False, expiring_soon=True, next_change=expires_at)
    return Expiry(expires_at, expired=False, expiring_soon=False, next_change=warn_from)


def rfc3339(instant: datetime) -> str:
    """UTC, second precision unless the instant has a fraction, with a Z suffix."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seconds_until(instant: datetime | None, now: datetime) -> float | None:
    return None if instant is None else max(0.0, (instant - now).total_seconds())
