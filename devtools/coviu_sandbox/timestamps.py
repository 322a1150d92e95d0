"""Date-time parsing and formatting in the forms Coviu uses.

Coviu's older documentation sends RFC-1123 dates and its current one ISO-8601, so both are
accepted; responses always carry ISO-8601 UTC with milliseconds and a ``Z``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so tests can move time forward."""


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 or RFC-1123 date-time into an aware UTC datetime.

    A value without a UTC offset is read as UTC.

    Raises:
        ValueError: ``text`` is neither form.
    """
    candidate = text.strip()
    if not candidate:
        raise ValueError("an empty string is not a date-time")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(candidate)
        except (TypeError, ValueError):
            raise ValueError(
                f"{text!r} is not an ISO-8601 (2024-05-01T09:30:00Z) or RFC-1123 "
                "(Wed, 01 May 2024 09:30:00 GMT) date-time"
            ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the supported range of dates") from None


def format_timestamp(moment: datetime) -> str:
    """Render as ``2024-05-01T09:30:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
