"""Helpers for tests that run the sandbox in-process (through ``httpx.ASGITransport``)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from coviu_sandbox.app import create_app
from coviu_sandbox.settings import SandboxSettings

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class ManualClock:
    """A clock that moves only when told to: token expiry, finished sessions and rate windows on demand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InProcessSandbox:
    """A sandbox app on a manual clock, with an ``httpx.AsyncClient`` wired straight into it."""

    def __init__(self, settings: SandboxSettings | None = None, clock: ManualClock | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.clock = clock or ManualClock()
        self.app = create_app(self.settings, clock=self.clock)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://sandbox.test")

    @property
    def seed(self) -> dict[str, Any]:
        seed_ids: dict[str, Any] = self.app.state.sandbox.seed_ids
        return seed_ids

    async def token(self, **form: str) -> httpx.Response:
        """``POST /v1/auth/token`` with the configured client credentials."""
        return await self.client.post(
            "/v1/auth/token",
            data=form or {"grant_type": "client_credentials"},
            auth=(self.settings.client_id, self.settings.client_secret),
        )

    async def login(self) -> dict[str, Any]:
        """Get a token and send it on every later request of :attr:`client`."""
        response = await self.token()
        response.raise_for_status()
        grant: dict[str, Any] = response.json()
        self.client.headers["Authorization"] = f"Bearer {grant['access_token']}"
        return grant

    async def __aenter__(self) -> InProcessSandbox:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.client.aclose()
