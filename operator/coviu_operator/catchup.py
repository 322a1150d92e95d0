"""Expiries that fall due while the operator starts, handled before anything else.

After a restart kopf needs a second or more to list every resource and start a daemon per
server, and then every server reconciles at once. A server whose `expiresAt` passed while no
operator ran, or passes during that start-up, would wait its turn behind all of them; here
its workload is removed after one list request, at once or at its instant (re-read first, in
case the spec moved it). The record (status, the Expired Event) stays with the server's own
loop, whose teardown then finds the objects gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from .conditions import EXPIRED
from .controller import Turns
from .errors import KubeError
from .expiry import Clock, is_due, seconds_until, tear_down
from .kube import Kube
from .metrics import Metrics
from .models import Server

logger = logging.getLogger(__name__)
# Longer than kopf takes to start the daemons of a thousand servers; the loops take over after.
HORIZON = timedelta(seconds=10)


def due_within(bodies: Iterable[Mapping[str, Any]], now: datetime, horizon: timedelta) -> list[Server]:
    """Servers whose expiresAt is at or before `now + horizon`, earliest first.

    Left out: servers being deleted (their finalizer acts), servers whose status already
    records the expiry (nothing is left to remove), and objects that do not validate (their
    loop reports them).
    """
    due: list[Server] = []
    for body in bodies:
        conditions = (body.get("status") or {}).get("conditions") or []
        if (body.get("metadata") or {}).get("deletionTimestamp") or any(
            c.get("type") == EXPIRED and c.get("status") == "True" for c in conditions
        ):
            continue
        try:
            server = Server.parse(body)
        except ValidationError:
            continue
        if is_due(server.spec.expires_at, now + horizon):
            due.append(server)
    return sorted(due, key=lambda server: server.spec.expires_at or now)


async def catch_up(kube: Kube, clock: Clock, metrics: Metrics, turns: Turns, namespaces: Sequence[str]) -> None:
    """Remove the workload of every server due within HORIZON, each at its instant, in the
    server's turn (never in the middle of one of its loop's reconciles)."""
    try:
        bodies = await kube.list_servers(namespaces)
    except KubeError as exc:  # the servers' loops will do it, only later
        logger.warning("start-up expiry check skipped: %s", exc)
        return
    due = due_within(bodies, clock.now(), HORIZON)
    await asyncio.gather(*(_expire_at(server, kube, clock, metrics, turns) for server in due))


async def _expire_at(server: Server, kube: Kube, clock: Clock, metrics: Metrics, turns: Turns) -> None:
    expires_at = server.spec.expires_at
    assert expires_at is not None  # due_within keeps only servers that expire
    await asyncio.sleep(seconds_until(expires_at, clock.now()) or 0.0)
    try:
        async with turns((server.namespace, server.name)):
            # The spec may have moved expiresAt meanwhile (or the server gone): only its loop decides then.
            current = await kube.list_servers([server.namespace], name=server.name)
            if not due_within(current, clock.now(), timedelta(0)):
                return
            teardown = await tear_down(server, kube, clock)
    except KubeError as exc:
        logger.warning("[%s/%s] start-up expiry: %s; its loop will retry", server.namespace, server.name, exc)
        return
    if teardown.delay is not None:
        metrics.torn_down(teardown.delay)
        logger.info("[%s/%s] expired: removed %s, %.3fs after expiresAt (start-up check)",
                    server.namespace, server.name, ", ".join(map(str, teardown.removed)), teardown.delay)
