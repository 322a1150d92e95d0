"""Coviu's rate-limit headers, normalised to the IETF names.

Coviu's own header names are vendor-specific; clients that manage agents should not have to
know them. Nothing here throttles or retries: the figures are passed on as they came.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping

# Vendor spellings seen on Coviu-like APIs, most specific first.
_LIMIT = ("x-coviu-ratelimit-limit", "x-ratelimit-limit", "x-rate-limit-limit")
_REMAINING = ("x-coviu-ratelimit-remaining", "x-ratelimit-remaining", "x-rate-limit-remaining")
_RESET = ("x-coviu-ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset")

# Reset values above this are Unix times, below it they are already seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000


def normalise(upstream: Mapping[str, str], now: float) -> dict[str, str]:
    """IETF RateLimit headers (and Retry-After) derived from Coviu's response headers."""
    headers = {key.lower(): value for key, value in upstream.items()}
    limit = _integer(_first(headers, _LIMIT))
    remaining = _integer(_first(headers, _REMAINING))
    reset = _reset_seconds(_first(headers, _RESET), now)
    retry_after = retry_after_seconds(headers.get("retry-after"), now)
    if reset is None and retry_after is not None and remaining == 0:
        reset = retry_after
    out: dict[str, str] = {}
    if limit is not None:
        out["RateLimit-Limit"] = str(limit)
        out["RateLimit-Policy"] = f'"coviu";q={limit}'
    if remaining is not None:
        out["RateLimit-Remaining"] = str(remaining)
    if reset is not None:
        out["RateLimit-Reset"] = str(reset)
    if remaining is not None and reset is not None:
        out["RateLimit"] = f'"coviu";r={remaining};t={reset}'
    if retry_after is not None:
        out["Retry-After"] = str(retry_after)
    return out


def retry_after_seconds(value: str | None, now: float) -> int | None:
    """Retry-After as whole seconds, whether Coviu sent seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, math.ceil(when.timestamp() - now))


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((headers[name] for name in names if name in headers), None)


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(0, int(float(value.strip())))
    except ValueError:
        return None


def _reset_seconds(value: str | None, now: float) -> int | None:
    number = _integer(value)
    if number is None:
        return None
    return max(0, math.ceil(number - now)) if number > _EPOCH_THRESHOLD else number
