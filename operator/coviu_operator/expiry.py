"""Expiry, in one place: whether and when a server is due, and the teardown when it is.

The server's loop (controller.py), one reconcile (reconcile.py), the status (status.py) and
the start-up check (catchup.py) all ask `assess`/`is_due` and call `tear_down`; nothing else
compares an instant with `spec.expiresAt` or deletes a workload.

The controller sleeps until `Expiry.next_change` (an exact instant, not a polling period),
so teardown happens as soon as the event loop's timer fires. The clock is injected so the
same code runs against wall time in production and against fake loop time in tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from .kube import Kube, Ref
from .models import Server
from .names import link_key_secret_name, token_secret_name, workload_name
from .ownership import controlled_by

_INSTANT = TypeAdapter(datetime)


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
    # The warning window began at or before the server was created (it was made short-lived).
    born_in_window: bool = False


def assess(expires_at: datetime | None, now: datetime, window: timedelta, created: datetime | None = None) -> Expiry:
    """Classify `now` against `expires_at` with a warning `window` before it."""
    if expires_at is None:
        return Expiry(None, expired=False, expiring_soon=False, next_change=None)
    if now >= expires_at:
        return Expiry(expires_at, expired=True, expiring_soon=False, next_change=None)
    warn_from = expires_at - window  # cannot overflow: expires_at is later than now
    born = created is not None and warn_from <= created
    if now >= warn_from:
        return Expiry(expires_at, expired=False, expiring_soon=True, next_change=expires_at, born_in_window=born)
    return Expiry(expires_at, expired=False, expiring_soon=False, next_change=warn_from)


def is_due(expires_at: datetime | None, now: datetime) -> bool:
    """Whether the workload of a server expiring at `expires_at` must be gone at `now`."""
    return assess(expires_at, now, timedelta(0)).expired


def spec_instant(body: Mapping[str, Any]) -> datetime | None:
    """`spec.expiresAt` of a raw object, read as the models read it; None when absent or unreadable
    (the reconcile reports an unreadable one)."""
    raw = (body.get("spec") or {}).get("expiresAt")
    if raw is None:
        return None
    try:
        instant = _INSTANT.validate_python(raw)
    except ValidationError:
        return None
    return instant if instant.tzinfo is not None else None


def rfc3339(instant: datetime) -> str:
    """UTC, second precision unless the instant has a fraction, with a Z suffix; in its own offset
    when UTC cannot represent it (9999-12-31T23:59:59-14:00 is in the year 10000 in UTC)."""
    try:
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except OverflowError:
        return instant.isoformat()


def seconds_until(instant: datetime | None, now: datetime) -> float | None:
    return None if instant is None else max(0.0, (instant - now).total_seconds())


@dataclass(frozen=True)
class Teardown:
    """What an expiry removed, and how long after expiresAt (None when nothing of the server's was left)."""

    removed: list[Ref] = field(default_factory=list)
    delay: float | None = None


def workload(server: Server) -> list[Ref]:
    """What expiry removes, the Deployment first: it is what serves requests."""
    ns, name = server.namespace, workload_name(server.name)
    return [Ref("apps/v1", "Deployment", ns, name), Ref("v1", "Service", ns, name),
            Ref("v1", "Secret", ns, token_secret_name(server.name)),
            Ref("v1", "Secret", ns, link_key_secret_name(server.name))]


async def tear_down(server: Server, kube: Kube, clock: Clock, known: Mapping[Ref, str] | None = None) -> Teardown:
    """Delete the server's workload, the Deployment first, each only if this server controls it.

    `known` maps children to the UIDs they had when this server's loop last applied or read
    them as its own; the others are read first (after a restart, or in the start-up check).
    Every delete carries its UID as a precondition, so an object that merely has the name,
    created before the server or after its expiry, is someone else's and stays.
    """
    refs, uids = workload(server), dict(known or {})
    unknown = [ref for ref in refs if ref not in uids]
    for ref, obj in zip(unknown, await asyncio.gather(*(kube.find(ref) for ref in unknown)), strict=True):
        if obj is not None and controlled_by(obj, server.metadata.uid):
            uids[ref] = obj["metadata"]["uid"]
    ours = [ref for ref in refs if ref in uids]
    removed: list[Ref] = []
    if ours and ours[0].kind == "Deployment":
        deployment, *ours = ours
        removed += [deployment] if await kube.delete(deployment, uids[deployment]) else []
    gone = await asyncio.gather(*(kube.delete(ref, uids[ref]) for ref in ours))
    removed += [ref for ref, deleted in zip(ours, gone, strict=True) if deleted]
    expires_at = server.spec.expires_at
    delay = (clock.now() - expires_at).total_seconds() if removed and expires_at is not None else None
    return Teardown(removed, delay)
