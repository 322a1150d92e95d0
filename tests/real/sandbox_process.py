"""A real ``coviu-sandbox`` process on loopback: ``start_sandbox`` runs one with extra flags."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from coviu_testbed.launch import Running, console_script, free_port, running

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
