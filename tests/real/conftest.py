"""Real ``coviu-sandbox`` processes on loopback.

``sandbox_process`` is one sandbox for the whole run, shared by every real-process test: a test
that changes its faults, limits or data puts them back (``POST /_sandbox/reset``) when done.
``start_sandbox`` runs a private one with extra command-line flags.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from coviu_mcp.launch import Running, console_script, free_port, running

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"


@dataclass(frozen=True)
class SandboxProcess:
    child: Running
    client_id: str
    client_secret: str
    seed: dict[str, Any]
    """The ids from ``GET /_sandbox/seed``."""

    @property
    def root_url(self) -> str:
        """Where the entry links and ``/_sandbox`` controls live."""
        return self.child.base_url

    @property
    def base_url(self) -> str:
        """The Coviu API base, as a client would configure it."""
        return f"{self.child.base_url}/v1"

    def output(self) -> str:
        return self.child.output()


@contextlib.contextmanager
def start_sandbox(
    *flags: str, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> Iterator[SandboxProcess]:
    """Run ``coviu-sandbox`` on a free loopback port until the block ends."""
    port = free_port()
    args = [
        console_script("coviu-sandbox"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--client-id", client_id,
        "--client-secret", client_secret,
        *flags,
    ]  # fmt: skip
    with running(args, port, "/_sandbox/seed") as child:
        seed = httpx.get(f"{child.base_url}/_sandbox/seed").json()
        yield SandboxProcess(child, client_id, client_secret, seed)


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with start_sandbox() as sandbox:
        yield sandbox
