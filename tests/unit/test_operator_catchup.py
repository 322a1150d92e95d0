"""Which servers the start-up expiry check acts on, and in what order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from coviu_operator.catchup import due_within
from coviu_testbed.operator import server_body

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def server(name: str, expires_in: float | None, **extra: Any) -> dict[str, Any]:
    spec = {} if expires_in is None else {"expiresAt": (NOW + timedelta(seconds=expires_in)).isoformat()}
    body = server_body(name, "clinic", spec, uid=f"uid-{name}", generation=1)
    return {**body, **extra}


def names(bodies: list[dict[str, Any]], horizon: float = 10.0) -> list[str]:
    return [s.name for s in due_within(bodies, NOW, timedelta(seconds=horizon))]


def test_overdue_and_soon_due_servers_come_earliest_first() -> None:
    bodies = [server("later", 9.0), server("long-ago", -86400.0), server("now", 0.0), server("far", 10.5),
              server("never", None)]
    assert names(bodies) == ["long-ago", "now", "later"]
    assert names(bodies, horizon=0.0) == ["long-ago", "now"]


def test_servers_already_recorded_as_expired_or_being_deleted_are_left_alone() -> None:
    recorded = server("recorded", -60.0, status={"conditions": [{"type": "Expired", "status": "True"}]})
    warned = server("warned", -60.0, status={"conditions": [{"type": "Expired", "status": "False"}]})
    deleting = server("deleting", -60.0)
    deleting["metadata"] = {**deleting["metadata"], "deletionTimestamp": NOW.isoformat()}
    assert names([recorded, warned, deleting]) == ["warned"]


def test_objects_that_do_not_validate_are_left_to_their_loop() -> None:
    broken = server("broken", -60.0)
    broken["spec"] = {**broken["spec"], "requireApiTokenAuth": True}  # without apiTokenSecretRef
    assert names([broken, server("fine", -60.0)]) == ["fine"]
