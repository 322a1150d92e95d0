"""The status a reconcile writes, and the Events it announces: pure functions of what the
reconcile observed and did, so the whole status contract is unit-testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from . import conditions as c
from .errors import InputError
from .expiry import Expiry, rfc3339
from .models import Server

# Ready=False reasons that are someone's mistake to fix (a Warning Event), as opposed to
# states that resolve themselves (RollingOut) or were asked for (Expired).
TOKEN_PROBLEMS = frozenset({"TokenSecretNotFound", "TokenSecretInvalid", "TokenSecretConflict"})
QUIET_READY_REASONS = frozenset({"RollingOut", "Expired", "ExpiresAtInPast"})


def expired_verdict(server: Server, expiry: Expiry) -> c.Verdict:
    if expiry.expires_at is None:
        return c.false(c.EXPIRED, "NoExpiry", "spec.expiresAt is not set")
    at = rfc3339(expiry.expires_at)
    if not expiry.expired:
        return c.false(c.EXPIRED, "NotExpired", f"expires at {at}")
    created = server.metadata.creation_timestamp
    if created is not None and expiry.expires_at <= created:
        return c.true(c.EXPIRED, "ExpiresAtInPast",
                      f"spec.expiresAt {at} is not after the creation time {rfc3339(created)}: nothing was "
                      "deployed; set a later spec.expiresAt or remove it")
    return c.true(c.EXPIRED, "Expired",
                  f"expired at {at}: the Deployment, Service and token Secret were removed; set a later "
                  "spec.expiresAt or remove it to restore the server with a new token")


def expiring_soon_verdict(expiry: Expiry) -> c.Verdict:
    if expiry.expires_at is None:
        return c.false(c.EXPIRING_SOON, "NoExpiry", "spec.expiresAt is not set")
    at = rfc3339(expiry.expires_at)
    if expiry.expired:
        return c.false(c.EXPIRING_SOON, "Expired", f"expired at {at}")
    if expiry.expiring_soon and expiry.born_in_window:
        return c.true(c.EXPIRING_SOON, "CreatedWithinWarningWindow", f"expires at {at}, within the warning window "
                      "from its creation on")
    if expiry.expiring_soon:
        return c.true(c.EXPIRING_SOON, "WithinWarningWindow", f"expires at {at}")
    assert expiry.next_change is not None  # the start of the warning window
    return c.false(c.EXPIRING_SOON, "NotYet", f"expires at {at}; warning from {rfc3339(expiry.next_change)}")


def tools_verdict(tools: tuple[str, ...] | None, problem: InputError | None) -> c.Verdict:
    if problem is not None:
        return c.false(c.TOOLS_RESOLVED, problem.reason, problem.message)
    return c.true(c.TOOLS_RESOLVED, "Resolved", f"{len(tools or ())} tools selected")


def rollout_verdict(deployment: dict[str, Any], wanted: int | None) -> tuple[c.Verdict, int]:
    """Ready from the Deployment: every replica updated and available, no old Pod left. `wanted`
    is spec.replicas; when unset, the Deployment's own count (an autoscaler's) is the target."""
    meta, status = deployment.get("metadata", {}), deployment.get("status") or {}
    replicas = wanted if wanted is not None else (deployment.get("spec") or {}).get("replicas", 1)
    current = (status.get("observedGeneration") or 0) >= (meta.get("generation") or 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    ready = status.get("readyReplicas") or 0
    if current and updated >= replicas and available >= replicas and total == updated:
        return c.true(c.READY, "Available", f"{available}/{replicas} replicas available"), ready
    done = min(updated, available)
    return c.false(c.READY, "RollingOut", f"{done}/{replicas} replicas updated and available"), ready


# Outcomes that last until someone changes the spec or an input: kstatus's Stalled.
STALLED_STATES = frozenset({"blocked", "rejected", "invalid", "failed"})


def gitops_verdicts(state: str, ready: c.Verdict | None) -> list[c.Verdict]:
    """Reconciling and Stalled with kstatus semantics, from the outcome's state and its Ready.

    A rollout is Reconciling; a server stopped by its inputs is Stalled, with Ready's reason and
    message; a Ready server and an expired one (the end its spec asked for) are neither.
    """
    if ready is not None and state == "progressing":
        return [c.true(c.RECONCILING, ready.reason, ready.message),
                c.false(c.STALLED, "Progressing", "the rollout is progressing")]
    if ready is not None and state in STALLED_STATES:
        return [c.false(c.RECONCILING, "Stalled", "waiting for the spec or an input to be fixed"),
                c.true(c.STALLED, ready.reason, ready.message)]
    done = "Expired" if state == "expired" else "Ready"
    return [c.false(c.RECONCILING, done, "nothing left to do"), c.false(c.STALLED, done, "nothing is blocked")]


def build_status(
    previous: dict[str, Any],
    verdicts: list[c.Verdict],
    generation: int | None,
    now: datetime,
    dropped: frozenset[str] = frozenset(),
    **fields: Any,
) -> dict[str, Any]:
    """The full new status; fields that are None are left out (and so removed by the patch), and
    so are the conditions of the `dropped` types."""
    status = {
        "conditions": c.merge(previous.get("conditions"), verdicts, generation, now, dropped),
        "observedGeneration": generation,
        **fields,
    }
    return {key: value for key, value in status.items() if value is not None}


def status_patch(previous: dict[str, Any], status: dict[str, Any]) -> dict[str, Any] | None:
    """A merge patch turning `previous` into `status`, or None when they are equal."""
    if previous == status:
        return None
    return {**{key: None for key in previous if key not in status}, **status}


EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class Notice:
    """A Kubernetes Event to post about the server."""

    type: EventType
    reason: str
    message: str


def condition_notices(previous: list[dict[str, Any]] | None, current: list[dict[str, Any]]) -> list[Notice]:
    """Events for the condition changes worth telling people about; one per change, not per reconcile."""
    notices = []
    for cond in c.flipped(previous, current):
        kind, status, reason, message = cond["type"], cond["status"], cond["reason"], cond["message"]
        if kind == c.READY and status == "True":
            notices.append(Notice("Normal", "Ready", message))
        elif kind == c.READY and status == "False" and reason not in QUIET_READY_REASONS:
            notices.append(Notice("Warning", reason, message))
        elif kind == c.EXPIRED and status == "True":
            notices.append(Notice("Normal", reason, message))
        elif kind == c.EXPIRED and (c.find(previous, c.EXPIRED) or {}).get("status") == "True":
            notices.append(Notice("Normal", "Restored", message))
        elif kind == c.EXPIRING_SOON and status == "True" and reason == "WithinWarningWindow":
            # Not for a server created inside its window: its creator chose a short life.
            notices.append(Notice("Warning", "ExpiringSoon", message))
    return notices
