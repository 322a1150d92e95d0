"""Per-client fixed-window rate limiting, announced in Coviu-sandbox vendor headers.

The headers are deliberately not the IETF ``RateLimit-*`` names, so that a proxy in front of the
sandbox has something to normalise. Windows are aligned to multiples of the window length since
the epoch, which makes ``X-Coviu-RateLimit-Reset`` the same for every client.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from coviu_sandbox.settings import RateLimitSettings
from coviu_sandbox.timestamps import Clock

LIMIT_HEADER = "X-Coviu-RateLimit-Limit"
REMAINING_HEADER = "X-Coviu-RateLimit-Remaining"
RESET_HEADER = "X-Coviu-RateLimit-Reset"


class RateDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    """Unix time (seconds) at which the current window ends."""
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            LIMIT_HEADER: str(self.limit),
            REMAINING_HEADER: str(self.remaining),
            RESET_HEADER: str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class FixedWindowLimiter:
    def __init__(self, settings: RateLimitSettings, clock: Clock) -> None:
        self._clock = clock
        self.configure(settings)

    @property
    def settings(self) -> RateLimitSettings:
        return self._settings

    def configure(self, settings: RateLimitSettings) -> None:
        """Apply new limits; every client starts a fresh window."""
        self._settings = settings
        self._windows: dict[str, tuple[int, int]] = {}

    def check(self, client_id: str) -> RateDecision | None:
        """Count one request; ``None`` when rate limiting is off."""
        limit = self._settings.limit
        if limit == 0:
            return None
        now = self._clock()
        window = self._settings.window_s
        index = math.floor(now / window)
        reset_at = (index + 1) * window
        current, used = self._windows.get(client_id, (index, 0))
        if current != index:
            used = 0
        allowed = used < limit
        if allowed:
            used += 1
        self._windows[client_id] = (index, used)
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=limit - used,
            reset_at=math.ceil(reset_at),
            retry_after=max(1, math.ceil(reset_at - now)),
        )
