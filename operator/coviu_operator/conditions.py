"""Condition types and the rule for merging new verdicts into a status.

Ready
    True when every proxy Pod runs the current spec, Secrets and token and is ready: the URL
    in the token Secret works. False with the reason that stops it (an unusable Secret,
    unresolved tools, a child's name taken by an object the server does not control, a rollout
    in progress, a rejected request, a failed reconcile). Absent once the server has expired:
    nothing is meant to serve, and kstatus reads a Ready=False as still in progress.
TokenReady
    True when the token Secret holds the URL token the proxy is (being) configured with.
ToolsResolved
    True when methods/tags select at least one catalog tool; False names the problem.
Expired
    True from spec.expiresAt on: the Deployment, Service and token Secret are removed.
ExpiringSoon
    True within the operator's warning window before spec.expiresAt (announced by a Warning
    only for servers that existed before their window began).
Reconciling, Stalled
    The kstatus pair that Flux and other GitOps tools read. Reconciling is True while the
    proxies roll out to the current spec; Stalled is True while an input or the spec stops the
    server until someone fixes it (the reason and message are Ready's). Both are False for a
    Ready server and for an expired one: expiry is the end the spec asked for, so the record
    is finished and healthy.

`lastTransitionTime` changes only when a condition's status flips, so rewriting an
unchanged status is a no-op and the controller can skip the write altogether.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .expiry import rfc3339

READY = "Ready"
TOKEN_READY = "TokenReady"
TOOLS_RESOLVED = "ToolsResolved"
EXPIRED = "Expired"
EXPIRING_SOON = "ExpiringSoon"
RECONCILING = "Reconciling"
STALLED = "Stalled"
TYPES = (READY, RECONCILING, STALLED, TOKEN_READY, TOOLS_RESOLVED, EXPIRED, EXPIRING_SOON)

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Verdict:
    """A condition as decided by one reconcile, before timestamps are attached."""

    type: str
    status: ConditionStatus
    reason: str
    message: str


def true(type_: str, reason: str, message: str) -> Verdict:
    return Verdict(type_, "True", reason, message)


def false(type_: str, reason: str, message: str) -> Verdict:
    return Verdict(type_, "False", reason, message)


def unknown(type_: str, reason: str, message: str) -> Verdict:
    return Verdict(type_, "Unknown", reason, message)


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)


def merge(
    previous: list[dict[str, Any]] | None,
    verdicts: list[Verdict],
    generation: int | None,
    now: datetime,
    dropped: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """New conditions from `verdicts`, keeping each lastTransitionTime whose status held.

    Conditions without a verdict are carried over unchanged unless their type is `dropped`;
    the result is ordered by TYPES.
    """
    stamp = rfc3339(now.replace(microsecond=0))
    merged = {c["type"]: c for c in previous or () if c.get("type") and c["type"] not in dropped}
    for verdict in verdicts:
        old = merged.get(verdict.type)
        since = old["lastTransitionTime"] if old and old.get("status") == verdict.status else stamp
        condition: dict[str, Any] = {
            "type": verdict.type, "status": verdict.status, "reason": verdict.reason,
            "message": verdict.message, "lastTransitionTime": since,
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        merged[verdict.type] = condition
    order = {type_: index for index, type_ in enumerate(TYPES)}
    return sorted(merged.values(), key=lambda c: (order.get(c["type"], len(order)), c["type"]))


def flipped(previous: list[dict[str, Any]] | None, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conditions whose status or reason differ from before: what deserves an Event."""
    changed = []
    for condition in current:
        old = find(previous, condition["type"])
        if old is None or (old.get("status"), old.get("reason")) != (condition["status"], condition["reason"]):
            changed.append(condition)
    return changed
