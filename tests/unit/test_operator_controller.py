"""What wakes a server's loop: fingerprinted pokes from the watches, and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import kopf

from coviu_operator.controller import Wakeups, fingerprint
from coviu_operator.handlers import referenced_secrets
from coviu_testbed.operator import secret_body

KEY = ("clinic", "demo")


class Stopped:
    """Stands in for kopf's DaemonStopped: set() to stop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


def stopped() -> kopf.DaemonStopped:
    return cast(kopf.DaemonStopped, Stopped())


def test_only_a_changed_fingerprint_wakes_a_registered_loop() -> None:
    wakeups = Wakeups()
    wakeups.poke(KEY, "Secret/creds", "a")  # no loop yet: dropped, and not remembered
    event = wakeups.register(KEY)
    wakeups.poke(KEY, "Secret/creds", "a")
    assert event.is_set()
    event.clear()
    wakeups.poke(KEY, "Secret/creds", "a")
    assert not event.is_set()
    wakeups.poke(KEY, "Secret/other", "a")
    assert event.is_set()
    event.clear()
    wakeups.poke(KEY, "Secret/creds", None)  # deleted
    assert event.is_set()


def test_forgetting_a_server_drops_its_loop_and_memory() -> None:
    wakeups = Wakeups()
    wakeups.register(KEY)
    wakeups.poke(KEY, "spec", "1")
    wakeups.forget(KEY)
    event = wakeups.register(KEY)
    wakeups.poke(KEY, "spec", "1")
    assert event.is_set(), "a new loop for a re-created server starts with a clean slate"


async def test_waiting_ends_on_a_poke_a_stop_or_the_timeout() -> None:
    wakeups, loop = Wakeups(), asyncio.get_running_loop()
    wakeups.register(KEY)
    loop.call_later(0.01, wakeups.poke, KEY, "spec", "x")
    await asyncio.wait_for(wakeups.wait(KEY, 60, stopped()), timeout=5)

    wakeups.register(KEY).clear()
    stop = Stopped()
    loop.call_later(0.01, stop.set)
    await asyncio.wait_for(wakeups.wait(KEY, 60, cast(kopf.DaemonStopped, stop)), timeout=5)

    started = loop.time()
    await wakeups.wait(KEY, 0.05, stopped())
    assert loop.time() - started >= 0.05


def test_fingerprints_ignore_bookkeeping_but_not_content() -> None:
    secret = secret_body("creds", "clinic", client_id="a")
    bumped: dict[str, Any] = {**secret, "metadata": {**secret["metadata"], "resourceVersion": "9",
                                                      "managedFields": [{"manager": "x"}]}}
    assert fingerprint(secret, "MODIFIED") == fingerprint(bumped, "MODIFIED")
    assert fingerprint(secret, None) != fingerprint(secret_body("creds", "clinic", client_id="b"), None)
    assert fingerprint(secret, "DELETED") is None


def test_the_secrets_a_server_depends_on() -> None:
    spec = {"credentialsSecretRef": {"name": "creds"}, "apiTokenSecretRef": {"name": "api"},
            "tokenSecretRef": {"name": "byo", "key": "t"}, "methods": ["read"]}
    assert referenced_secrets(spec) == {"creds", "api", "byo"}
    assert referenced_secrets({"credentialsSecretRef": "not-an-object"}) == set()
