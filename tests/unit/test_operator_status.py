"""The status contract: expiry classification, condition merging, verdicts and Events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from coviu_operator import conditions as c
from coviu_operator.expiry import assess, rfc3339
from coviu_operator.models import Server
from coviu_operator.status import (
    Notice,
    build_status,
    condition_notices,
    expired_verdict,
    expiring_soon_verdict,
    gitops_verdicts,
    rollout_verdict,
    status_patch,
)
from coviu_testbed.operator import server_body

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(("now", "expired", "soon", "next_change"), [
    (T0 - 2 * DAY, False, False, T0 - DAY),
    (T0 - DAY, False, True, T0),
    (T0 - timedelta(microseconds=1), False, True, T0),
    (T0, True, False, None),
    (T0 + DAY, True, False, None),
])
def test_expiry_is_classified_with_the_next_instant_to_wake_at(
    now: datetime, expired: bool, soon: bool, next_change: datetime | None
) -> None:
    expiry = assess(T0, now, DAY)
    assert (expiry.expired, expiry.expiring_soon, expiry.next_change) == (expired, soon, next_change)


def test_no_expiry_never_changes() -> None:
    expiry = assess(None, T0, DAY)
    assert (expiry.expired, expiry.expiring_soon, expiry.next_change) == (False, False, None)
    assert expired_verdict(server(), expiry).reason == "NoExpiry"
    assert expiring_soon_verdict(expiry).reason == "NoExpiry"


def test_rfc3339_is_utc_with_a_z() -> None:
    assert rfc3339(datetime(2030, 1, 1, 10, tzinfo=timezone(timedelta(hours=10)))) == "2030-01-01T00:00:00Z"


def test_rfc3339_keeps_the_offset_of_an_instant_utc_cannot_hold() -> None:
    far = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    assert rfc3339(far) == "9999-12-31T23:59:59-14:00"


def server(created: datetime | None = T0 - DAY) -> Server:
    metadata: dict[str, Any] = {"uid": "u"}
    if created is not None:
        metadata["creationTimestamp"] = rfc3339(created)
    return Server.parse(server_body("demo", "clinic", **metadata))


def test_expiry_before_creation_is_reported_as_such() -> None:
    verdict = expired_verdict(server(created=T0 + DAY), assess(T0, T0 + 2 * DAY, DAY))
    assert (verdict.status, verdict.reason) == ("True", "ExpiresAtInPast")
    assert "nothing was deployed" in verdict.message
    normal = expired_verdict(server(), assess(T0, T0 + DAY, DAY))
    assert (normal.status, normal.reason) == ("True", "Expired")
    assert "restore the server with a new token" in normal.message


def test_expiring_soon_names_the_instants() -> None:
    assert expiring_soon_verdict(assess(T0, T0 - 2 * DAY, DAY)).message == (
        "expires at 2030-01-01T00:00:00Z; warning from 2029-12-31T00:00:00Z")
    soon = expiring_soon_verdict(assess(T0, T0 - timedelta(hours=1), DAY))
    assert (soon.status, soon.reason) == ("True", "WithinWarningWindow")


def test_merging_keeps_the_transition_time_while_the_status_holds() -> None:
    first = c.merge(None, [c.false(c.READY, "RollingOut", "0/1")], 1, T0)
    assert first == [{"type": "Ready", "status": "False", "reason": "RollingOut", "message": "0/1",
                      "lastTransitionTime": "2030-01-01T00:00:00Z", "observedGeneration": 1}]
    later = c.merge(first, [c.false(c.READY, "CredentialsSecretNotFound", "gone")], 2, T0 + DAY)
    assert later[0]["lastTransitionTime"] == "2030-01-01T00:00:00Z"
    assert (later[0]["reason"], later[0]["observedGeneration"]) == ("CredentialsSecretNotFound", 2)
    flipped = c.merge(later, [c.true(c.READY, "Available", "1/1")], 2, T0 + 2 * DAY)
    assert flipped[0]["lastTransitionTime"] == "2030-01-03T00:00:00Z"


def test_merging_orders_by_type_and_carries_untouched_conditions() -> None:
    merged = c.merge(c.merge(None, [c.true(c.EXPIRED, "Expired", "x")], 1, T0),
                     [c.unknown(c.TOKEN_READY, "Waiting", "w"), c.false(c.READY, "Expired", "x")], 1, T0)
    assert [cond["type"] for cond in merged] == ["Ready", "TokenReady", "Expired"]


@pytest.mark.parametrize(("status", "ready", "reason"), [
    ({}, "False", "RollingOut"),
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, "True", "Available"),
    ({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, "False", "RollingOut"),
    ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}, "False", "RollingOut"),
    ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}, "False", "RollingOut"),
])
def test_ready_means_every_replica_runs_the_current_template(status: dict[str, int], ready: str, reason: str) -> None:
    deployment = {"metadata": {"generation": 2}, "status": {**status, "readyReplicas": 2}}
    verdict, ready_replicas = rollout_verdict(deployment, wanted=2)
    assert (verdict.status, verdict.reason, ready_replicas) == (ready, reason, 2)


def test_without_spec_replicas_the_deployments_own_count_is_the_target() -> None:
    status = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3, "readyReplicas": 3}
    scaled = {"metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": status}
    assert rollout_verdict(scaled, None)[0].status == "True"
    assert rollout_verdict({**scaled, "spec": {"replicas": 4}}, None)[0].reason == "RollingOut"


@pytest.mark.parametrize(("state", "reconciling", "stalled"), [
    ("progressing", "True", "False"), ("ready", "False", "False"), ("expired", "False", "False"),
    ("blocked", "False", "True"), ("rejected", "False", "True"), ("invalid", "False", "True"),
    ("failed", "False", "True"),
])
def test_reconciling_and_stalled_follow_the_outcome(state: str, reconciling: str, stalled: str) -> None:
    ready = c.false(c.READY, "CredentialsSecretNotFound", "Secret clinic/x not found")
    got = {v.type: v for v in gitops_verdicts(state, None if state == "expired" else ready)}
    assert (got[c.RECONCILING].status, got[c.STALLED].status) == (reconciling, stalled)
    if stalled == "True":
        assert (got[c.STALLED].reason, got[c.STALLED].message) == (ready.reason, ready.message), "Ready's words"


def test_dropped_conditions_leave_the_status() -> None:
    previous = build_status({}, [c.false(c.READY, "RollingOut", "0/1")], 1, T0)
    current = build_status(previous, [c.true(c.EXPIRED, "Expired", "gone")], 1, T0, frozenset({c.READY}))
    assert [cond["type"] for cond in current["conditions"]] == ["Expired"]


def test_status_fields_that_are_none_are_dropped_and_patched_away() -> None:
    previous = build_status({}, [c.true(c.READY, "Available", "1/1")], 1, T0, url="http://x/mcp/", tools=["a"])
    current = build_status(previous, [c.false(c.READY, "Expired", "gone")], 1, T0, url=None, tools=["a"])
    assert "url" not in current
    patch = status_patch(previous, current)
    assert patch is not None and patch["url"] is None and patch["tools"] == ["a"]
    assert status_patch(current, dict(current)) is None


def conds(*verdicts: c.Verdict) -> list[dict[str, Any]]:
    return c.merge(None, list(verdicts), 1, T0)


@pytest.mark.parametrize(("before", "after", "notices"), [
    (conds(c.false(c.READY, "RollingOut", "0/1")), conds(c.true(c.READY, "Available", "1/1")),
     [Notice("Normal", "Ready", "1/1")]),
    (None, conds(c.false(c.READY, "RollingOut", "0/1")), []),
    (None, conds(c.false(c.READY, "CredentialsSecretNotFound", "Secret x/y not found")),
     [Notice("Warning", "CredentialsSecretNotFound", "Secret x/y not found")]),
    (conds(c.false(c.EXPIRED, "NotExpired", "n")), conds(c.true(c.EXPIRED, "Expired", "gone")),
     [Notice("Normal", "Expired", "gone")]),
    (conds(c.true(c.EXPIRED, "Expired", "gone")), conds(c.false(c.EXPIRED, "NoExpiry", "not set")),
     [Notice("Normal", "Restored", "not set")]),
    (None, conds(c.false(c.EXPIRED, "NoExpiry", "not set")), []),
    (None, conds(c.true(c.EXPIRING_SOON, "WithinWarningWindow", "expires at X")),
     [Notice("Warning", "ExpiringSoon", "expires at X")]),
    (None, conds(c.true(c.EXPIRING_SOON, "CreatedWithinWarningWindow", "expires at X")), []),
    (conds(c.true(c.READY, "Available", "1/1")), conds(c.true(c.READY, "Available", "2/2")), []),
])
def test_events_announce_changes_worth_knowing_once(
    before: list[dict[str, Any]] | None, after: list[dict[str, Any]], notices: list[Notice]
) -> None:
    assert condition_notices(before, after) == notices
