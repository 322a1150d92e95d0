"""Everything one sandbox instance holds, owned by its app (there is no module-level state)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request

from coviu_sandbox.auth import TokenIssuer
from coviu_sandbox.faults import FaultInjector
from coviu_sandbox.ids import IdFactory
from coviu_sandbox.ratelimit import FixedWindowLimiter
from coviu_sandbox.seed import build_seed
from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.store import SessionStore
from coviu_sandbox.team_data import TeamData
from coviu_sandbox.timestamps import Clock, from_epoch


class Sandbox:
    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        identities = IdFactory(settings.seed)
        self.client_uuid = identities.client(settings.client_id)
        self.tokens = TokenIssuer(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            ttl_s=settings.token_ttl_s,
            user_id=identities.make("user", "api"),
            clock=clock,
        )
        self.limiter = FixedWindowLimiter(settings.rate_limit, clock)
        self.faults = FaultInjector(settings.faults, settings.seed)
        self.requests: Counter[str] = Counter()
        self.reset()

    def reset(self) -> None:
        """Back to the seed data, the startup faults and limits, and empty counters.

        Issued tokens stay valid, so a client does not have to log in again after a reset.
        """
        ids = IdFactory(self.settings.seed)
        seed = build_seed(self.settings, from_epoch(self.clock()), ids)
        self.seed_ids: dict[str, Any] = seed.ids
        self.team_data: TeamData = seed.team_data
        self.store = SessionStore(
            team_id=seed.team_data.team.team_id,
            sessions=seed.sessions,
            participants=seed.participants,
            ids=ids,
            clock=self.clock,
        )
        self.limiter.configure(self.settings.rate_limit)
        self.faults.configure(self.settings.faults)
        self.requests.clear()


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox
