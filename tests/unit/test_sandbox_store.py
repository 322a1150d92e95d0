"""Coviu's lifecycle rules, on the store alone."""

from __future__ import annotations

from datetime import datetime

import pytest

from coviu_sandbox.errors import BadRequest, Forbidden, NotFound
from coviu_sandbox.ids import IdFactory
from coviu_sandbox.inputs import ParticipantCreate, ParticipantUpdate, SessionCreate, SessionListQuery, SessionUpdate
from coviu_sandbox.models import UNIQUE_ENTRY_FLAG, Session
from coviu_sandbox.store import SessionStore
from coviu_sandbox.testing import ManualClock
from coviu_sandbox.timestamps import from_epoch

HOUR = 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> SessionStore:
    return SessionStore(team_id="team", sessions=(), participants=(), ids=IdFactory(7), clock=clock)


def _at(clock: ManualClock, seconds: float) -> datetime:
    return from_epoch(clock.now + seconds)


def _create(
    store: SessionStore, clock: ManualClock, start: float = HOUR, end: float = 2 * HOUR, flags: tuple[str, ...] = ()
) -> Session:
    body = SessionCreate(
        session_name="Review",
        start_time=_at(clock, start),
        end_time=_at(clock, end),
        participants=[
            ParticipantCreate(display_name="Dr Who", role="HOST"),
            ParticipantCreate(display_name="Pat", role="GUEST"),
        ],
        feature_flags=list(flags),
    )
    return store.create_session(body, "client")


def test_create_needs_a_future_start(store: SessionStore, clock: ManualClock) -> None:
    for start in (-60, 0):
        with pytest.raises(BadRequest) as caught:
            _create(store, clock, start=start)
        assert caught.value.code == "start_time_not_in_future"


def test_create_needs_the_end_after_the_start(store: SessionStore, clock: ManualClock) -> None:
    for end in (HOUR, HOUR - 1):
        with pytest.raises(BadRequest) as caught:
            _create(store, clock, end=end)
        assert caught.value.code == "end_time_before_start_time"


def test_create_keeps_the_participants_and_flags(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock, flags=(UNIQUE_ENTRY_FLAG,))
    assert session.feature_flags == (UNIQUE_ENTRY_FLAG,) and session.client_id == "client"
    members = store.participants_of(session.session_id, include_deleted=False)
    assert [member.role for member in members] == ["HOST", "GUEST"]


def test_a_session_whose_end_time_passed_is_finished_and_immutable(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    clock.advance(2 * HOUR)
    assert session.finished(from_epoch(clock.now))
    with pytest.raises(BadRequest) as caught:
        store.update_session(session.session_id, SessionUpdate(session_name="Later"))
    assert caught.value.code == "session_finished"


def test_a_session_the_last_participant_left_is_finished(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    clock.advance(HOUR + 60)
    ended = store.end_session(session.session_id)
    assert ended.actual_end_time == from_epoch(clock.now)
    with pytest.raises(BadRequest) as caught:
        store.update_session(session.session_id, SessionUpdate(session_name="Later"))
    assert caught.value.code == "session_finished"
    with pytest.raises(BadRequest) as caught:
        store.end_session(session.session_id)
    assert caught.value.code == "session_finished"


def test_a_session_cannot_end_before_it_starts(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    with pytest.raises(BadRequest) as caught:
        store.end_session(session.session_id)
    assert caught.value.code == "session_not_started"


def test_update_before_the_start_can_move_the_window(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    updated = store.update_session(
        session.session_id, SessionUpdate(start_time=_at(clock, 3 * HOUR), end_time=_at(clock, 4 * HOUR))
    )
    assert updated.start_time == _at(clock, 3 * HOUR)
    with pytest.raises(BadRequest) as caught:
        store.update_session(session.session_id, SessionUpdate(end_time=_at(clock, 2 * HOUR)))
    assert caught.value.code == "end_time_before_start_time"
    with pytest.raises(BadRequest) as caught:
        store.update_session(session.session_id, SessionUpdate(start_time=_at(clock, -60)))
    assert caught.value.code == "start_time_not_in_future"


def test_an_updated_session_is_rendered_from_its_new_fields(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    assert session.to_json()["session_name"] == session.session_name  # rendered, and kept, before the update
    renamed = store.update_session(session.session_id, SessionUpdate(session_name="Renamed"))
    assert renamed.to_json()["session_name"] == "Renamed"
    assert session.to_json()["session_name"] != "Renamed"


def test_a_started_session_keeps_its_start_but_may_change_otherwise(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    clock.advance(HOUR + 60)
    with pytest.raises(BadRequest) as caught:
        store.update_session(session.session_id, SessionUpdate(start_time=_at(clock, HOUR)))
    assert caught.value.code == "session_started"
    assert store.update_session(session.session_id, SessionUpdate(session_name="Renamed")).session_name == "Renamed"


def test_cancel_only_before_the_start_and_for_good(store: SessionStore, clock: ManualClock) -> None:
    early, late = _create(store, clock), _create(store, clock, start=60)
    store.cancel_session(early.session_id)
    with pytest.raises(NotFound, match="was cancelled"):
        store.get_session(early.session_id)
    with pytest.raises(NotFound):
        store.cancel_session(early.session_id)
    clock.advance(120)
    with pytest.raises(BadRequest) as caught:
        store.cancel_session(late.session_id)
    assert caught.value.code == "session_started"
    visible, _ = store.list_sessions(SessionListQuery())
    everything, _ = store.list_sessions(SessionListQuery(include_canceled=True))
    assert [s.session_id for s in visible] == [late.session_id]
    assert {s.session_id for s in everything} == {early.session_id, late.session_id}


def test_participants_join_before_or_during_but_not_after(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    newcomer = ParticipantCreate(display_name="Interpreter", role="PARTICIPANT")
    store.add_participant(session.session_id, newcomer, "client")
    clock.advance(HOUR + 60)
    store.add_participant(session.session_id, newcomer, "client")
    clock.advance(HOUR)
    with pytest.raises(BadRequest) as caught:
        store.add_participant(session.session_id, newcomer, "client")
    assert caught.value.code == "session_finished"
    assert len(store.participants_of(session.session_id, include_deleted=True)) == 4


def test_no_participant_can_be_added_to_a_cancelled_session(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    store.cancel_session(session.session_id)
    with pytest.raises(NotFound):
        store.add_participant(session.session_id, ParticipantCreate(display_name="Late", role="GUEST"), "client")


def test_cancelling_a_participant_is_final_and_hides_it(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    guest = store.participants_of(session.session_id, include_deleted=False)[1]
    store.cancel_participant(guest.participant_id)
    assert [m.role for m in store.participants_of(session.session_id, include_deleted=False)] == ["HOST"]
    hidden = store.participants_of(session.session_id, include_deleted=True)[1]
    assert hidden.deleted_at == from_epoch(clock.now)
    for attempt in (
        lambda: store.cancel_participant(guest.participant_id),
        lambda: store.update_participant(guest.participant_id, ParticipantUpdate(display_name="Back")),
    ):
        with pytest.raises(BadRequest) as caught:
            attempt()
        assert caught.value.code == "participant_cancelled"


def test_participants_of_a_finished_session_cannot_be_cancelled_or_changed(
    store: SessionStore, clock: ManualClock
) -> None:
    session = _create(store, clock)
    host = store.participants_of(session.session_id, include_deleted=False)[0]
    clock.advance(3 * HOUR)
    for attempt in (
        lambda: store.cancel_participant(host.participant_id),
        lambda: store.update_participant(host.participant_id, ParticipantUpdate(role="GUEST")),
    ):
        with pytest.raises(BadRequest) as caught:
            attempt()
        assert caught.value.code == "session_finished"


def test_update_participant_changes_only_given_fields(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    guest = store.participants_of(session.session_id, include_deleted=False)[1]
    promoted = store.update_participant(guest.participant_id, ParticipantUpdate(role="HOST"))
    assert (promoted.role, promoted.display_name) == ("HOST", "Pat")


def test_entry_links_are_single_use_with_the_uniqueness_flag(store: SessionStore, clock: ManualClock) -> None:
    strict, relaxed = _create(store, clock, flags=(UNIQUE_ENTRY_FLAG,)), _create(store, clock)
    strict_guest = store.participants_of(strict.session_id, include_deleted=False)[1]
    relaxed_guest = store.participants_of(relaxed.session_id, include_deleted=False)[1]
    assert store.enter(strict_guest.participant_id).entered_at == from_epoch(clock.now)
    with pytest.raises(Forbidden) as caught:
        store.enter(strict_guest.participant_id)
    assert caught.value.code == "entry_url_used"
    store.enter(relaxed_guest.participant_id)
    assert store.enter(relaxed_guest.participant_id).entered_at == from_epoch(clock.now)


def test_entry_is_refused_to_cancelled_participants_and_sessions(store: SessionStore, clock: ManualClock) -> None:
    session, other = _create(store, clock), _create(store, clock)
    guest = store.participants_of(session.session_id, include_deleted=False)[1]
    store.cancel_participant(guest.participant_id)
    with pytest.raises(Forbidden) as caught:
        store.enter(guest.participant_id)
    assert caught.value.code == "participant_cancelled"
    other_host = store.participants_of(other.session_id, include_deleted=False)[0]
    store.cancel_session(other.session_id)
    with pytest.raises(Forbidden) as caught:
        store.enter(other_host.participant_id)
    assert caught.value.code == "session_cancelled"


def test_summary_reports_who_joined_and_when_they_left(store: SessionStore, clock: ManualClock) -> None:
    session = _create(store, clock)
    host, guest = store.participants_of(session.session_id, include_deleted=False)
    clock.advance(HOUR - 120)
    store.enter(host.participant_id)
    clock.advance(300)
    store.enter(guest.participant_id)
    clock.advance(600)
    store.end_session(session.session_id)
    summary = store.summary(session.session_id)
    assert summary["actual_start_time"] == summary["participants"][0]["entry_time"]
    assert summary["actual_end_time"] == summary["participants"][1]["exit_time"]["left_at"]
    assert [p["participant_id"] for p in summary["participants"]] == [host.participant_id, guest.participant_id]
    bandwidth = summary["participants"][0]["bandwidth"]
    assert bandwidth["min_sent_bandwidth"] <= bandwidth["avg_sent_bandwidth"] <= bandwidth["max_sent_bandwidth"]


def test_new_ids_are_deterministic(clock: ManualClock) -> None:
    def first_id() -> str:
        store = SessionStore(team_id="t", sessions=(), participants=(), ids=IdFactory(7), clock=clock)
        return _create(store, clock).session_id

    assert first_id() == first_id()
