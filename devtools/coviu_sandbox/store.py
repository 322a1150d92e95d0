"""Sessions and participants in memory, with Coviu's lifecycle rules.

The rules (Coviu API docs, "sessions" and "participants"):

1. A new session starts in the future and ends after it starts.
2. A finished session cannot be changed; a started one cannot move its start.
3. A session can be cancelled only before it starts; afterwards it is gone (404) except from
   ``include_canceled`` listings.
4. Participants can be added before or during a session, not after it finishes.
5. Cancelling a participant is final, hides it unless ``deleted_participants`` is asked for, and
   is refused once the session has finished.
6. With ``session;enforce-participant-uniqueness`` an entry link works for its first use only.
7. Finished means the last participant left (``actual_end_time``) or ``end_time`` has passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from coviu_sandbox.errors import BadRequest, Forbidden, NotFound
from coviu_sandbox.ids import IdFactory
from coviu_sandbox.inputs import (
    ParticipantCreate,
    ParticipantUpdate,
    SessionCreate,
    SessionListQuery,
    SessionUpdate,
)
from coviu_sandbox.models import UNIQUE_ENTRY_FLAG, Participant, Session
from coviu_sandbox.timestamps import Clock, format_timestamp, from_epoch


class SessionStore:
    def __init__(
        self,
        *,
        team_id: str,
        sessions: Iterable[Session],
        participants: Iterable[Participant],
        ids: IdFactory,
        clock: Clock,
    ) -> None:
        self._team_id = team_id
        self._ids = ids
        self._clock = clock
        self._sessions = {session.session_id: session for session in sessions}
        self._participants: dict[str, Participant] = {}
        self._by_session: dict[str, list[str]] = {session_id: [] for session_id in self._sessions}
        for participant in participants:
            self._put_participant(participant)

    def now(self) -> datetime:
        return from_epoch(self._clock())

    # Sessions

    def list_sessions(self, query: SessionListQuery) -> tuple[list[Session], bool]:
        """One page of sessions, and whether more pages follow."""
        selected = [
            session
            for session in self._sessions.values()
            if (query.include_canceled or session.canceled_time is None)
            and (query.start_time is None or session.start_time >= query.start_time)
            and (query.end_time is None or session.end_time <= query.end_time)
            and (query.state is None or self._has_state(session.session_id, query.state))
        ]
        if query.start_time is not None or query.end_time is not None:
            selected.sort(key=lambda session: session.start_time)
        if query.order == "reverse":
            selected.reverse()
        start = query.page * query.page_size
        return selected[start : start + query.page_size], start + query.page_size < len(selected)

    def get_session(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound("session_not_found", f"no session with session_id {session_id!r}")
        if session.canceled_time is not None:
            raise NotFound(
                "session_not_found",
                f"session {session_id!r} was cancelled at {format_timestamp(session.canceled_time)}",
            )
        return session

    def participants_of(self, session_id: str, *, include_deleted: bool) -> list[Participant]:
        members = (self._participants[participant_id] for participant_id in self._by_session[session_id])
        return [member for member in members if include_deleted or member.deleted_at is None]

    def create_session(self, body: SessionCreate, client_id: str) -> Session:
        now = self.now()
        if body.start_time <= now:
            raise BadRequest(
                "start_time_not_in_future",
                f"start_time {format_timestamp(body.start_time)} is not in the future (now is {format_timestamp(now)})",
            )
        _require_order(body.start_time, body.end_time)
        session = Session(
            session_id=self._ids.next("session"),
            session_name=body.session_name,
            start_time=body.start_time,
            end_time=body.end_time,
            picture=body.picture,
            team_id=self._team_id,
            client_id=client_id,
            feature_flags=tuple(body.feature_flags),
        )
        self._sessions[session.session_id] = session
        self._by_session[session.session_id] = []
        for member in body.participants:
            self._create_participant(session.session_id, member, client_id)
        return session

    def update_session(self, session_id: str, body: SessionUpdate) -> Session:
        session = self.get_session(session_id)
        now = self.now()
        self._require_unfinished(session, now, "updating the session")
        if body.start_time is not None:
            if session.started(now):
                raise BadRequest(
                    "session_started",
                    f"session {session_id!r} started at {format_timestamp(session.start_time)}; "
                    "its start_time can no longer change",
                )
            if body.start_time <= now:
                raise BadRequest(
                    "start_time_not_in_future",
                    f"start_time {format_timestamp(body.start_time)} is not in the future "
                    f"(now is {format_timestamp(now)})",
                )
        updated = session.model_copy(update=body.changes())
        _require_order(updated.start_time, updated.end_time)
        self._sessions[session_id] = updated
        return updated

    def cancel_session(self, session_id: str) -> None:
        session = self.get_session(session_id)
        now = self.now()
        if session.started(now):
            raise BadRequest(
                "session_started",
                f"session {session_id!r} started at {format_timestamp(session.start_time)}; "
                "only sessions that have not started yet can be cancelled",
            )
        self._sessions[session_id] = session.model_copy(update={"canceled_time": now})

    def end_session(self, session_id: str) -> Session:
        """Simulate the last participant leaving: the call is over and the session finished."""
        session = self.get_session(session_id)
        now = self.now()
        if not session.started(now):
            raise BadRequest(
                "session_not_started",
                f"session {session_id!r} starts at {format_timestamp(session.start_time)}; it cannot end before",
            )
        self._require_unfinished(session, now, "ending the session")
        for member in self.participants_of(session_id, include_deleted=True):
            if member.entered_at is not None and member.left_at is None:
                self._put_participant(member.model_copy(update={"left_at": now, "left_reason": "session-ended"}))
        ended = session.model_copy(update={"actual_end_time": now})
        self._sessions[session_id] = ended
        return ended

    def summary(self, session_id: str) -> dict[str, Any]:
        """Actual times, and entry, exit and bandwidth of every participant who joined."""
        session = self.get_session(session_id)
        attendees = sorted(
            (
                (member.entered_at, member)
                for member in self.participants_of(session_id, include_deleted=True)
                if member.entered_at is not None
            ),
            key=lambda pair: pair[0],
        )
        document: dict[str, Any] = {
            "start_time": format_timestamp(session.start_time),
            "end_time": format_timestamp(session.end_time),
        }
        if attendees:
            document["actual_start_time"] = format_timestamp(attendees[0][0])
        if session.actual_end_time is not None:
            document["actual_end_time"] = format_timestamp(session.actual_end_time)
        document["participants"] = [_participant_summary(member, entered) for entered, member in attendees]
        return document

    # Participants

    def add_participant(self, session_id: str, body: ParticipantCreate, client_id: str) -> Participant:
        session = self.get_session(session_id)
        if session.finished(self.now()):
            raise BadRequest(
                "session_finished",
                f"session {session_id!r} has finished; participants can only be added before or during a session",
            )
        return self._create_participant(session_id, body, client_id)

    def get_participant(self, participant_id: str) -> Participant:
        participant = self._participants.get(participant_id)
        if participant is None:
            raise NotFound("participant_not_found", f"no participant with participant_id {participant_id!r}")
        self.get_session(participant.session_id)
        return participant

    def update_participant(self, participant_id: str, body: ParticipantUpdate) -> Participant:
        participant = self._changeable_participant(participant_id)
        updated = participant.model_copy(update=body.changes())
        self._put_participant(updated)
        return updated

    def cancel_participant(self, participant_id: str) -> None:
        participant = self._changeable_participant(participant_id)
        self._put_participant(participant.model_copy(update={"deleted_at": self.now()}))

    def enter(self, participant_id: str) -> Participant:
        """Follow a participant's entry link, as their browser would."""
        participant = self._participants.get(participant_id)
        if participant is None:
            raise NotFound("participant_not_found", f"no participant with participant_id {participant_id!r}")
        session = self._sessions[participant.session_id]
        now = self.now()
        if session.canceled_time is not None:
            raise Forbidden("session_cancelled", f"session {session.session_id!r} was cancelled; no one can join it")
        if session.finished(now):
            raise Forbidden("session_finished", f"session {session.session_id!r} has finished")
        if participant.deleted_at is not None:
            raise Forbidden("participant_cancelled", f"participant {participant_id!r} was cancelled and cannot enter")
        if participant.entered_at is not None:
            if UNIQUE_ENTRY_FLAG in session.feature_flags:
                raise Forbidden(
                    "entry_url_used",
                    f"this entry link was already used at {format_timestamp(participant.entered_at)} and "
                    f"session {session.session_id!r} enforces participant uniqueness",
                )
            return participant
        entered = participant.model_copy(update={"entered_at": now})
        self._put_participant(entered)
        return entered

    # Helpers

    def _changeable_participant(self, participant_id: str) -> Participant:
        """The participant, if it may still be updated or cancelled."""
        participant = self.get_participant(participant_id)
        if participant.deleted_at is not None:
            raise BadRequest(
                "participant_cancelled",
                f"participant {participant_id!r} was cancelled at {format_timestamp(participant.deleted_at)}; "
                "cancellation is final",
            )
        self._require_unfinished(self._sessions[participant.session_id], self.now(), "changing its participants")
        return participant

    def _create_participant(self, session_id: str, body: ParticipantCreate, client_id: str) -> Participant:
        participant = Participant(
            participant_id=self._ids.next("participant"),
            session_id=session_id,
            client_id=client_id,
            **body.model_dump(),
        )
        self._put_participant(participant)
        return participant

    def _put_participant(self, participant: Participant) -> None:
        if participant.participant_id not in self._participants:
            self._by_session[participant.session_id].append(participant.participant_id)
        self._participants[participant.participant_id] = participant

    def _has_state(self, session_id: str, state: str) -> bool:
        return any(member.state == state for member in self.participants_of(session_id, include_deleted=False))

    @staticmethod
    def _require_unfinished(session: Session, now: datetime, what: str) -> None:
        if session.finished(now):
            ended = session.actual_end_time or session.end_time
            raise BadRequest(
                "session_finished",
                f"session {session.session_id!r} finished at {format_timestamp(ended)}; "
                f"a finished session is immutable, so {what} is not allowed",
            )


def _require_order(start: datetime, end: datetime) -> None:
    if end <= start:
        raise BadRequest(
            "end_time_before_start_time",
            f"end_time {format_timestamp(end)} must be after start_time {format_timestamp(start)}",
        )


def _participant_summary(member: Participant, entered_at: datetime) -> dict[str, Any]:
    digest = hashlib.blake2b(member.participant_id.encode(), digest_size=8).digest()
    sent, received = 400 + digest[0] * 8, 600 + digest[1] * 10
    summary: dict[str, Any] = {
        "participant_id": member.participant_id,
        "role": member.role,
        "entry_time": format_timestamp(entered_at),
        "bandwidth": {
            "min_sent_bandwidth": sent // 2,
            "max_sent_bandwidth": sent * 2,
            "avg_sent_bandwidth": sent,
            "min_receive_bandwidth": received // 2,
            "max_receive_bandwidth": received * 2,
            "avg_receive_bandwidth": received,
        },
    }
    if member.left_at is not None:
        summary["exit_time"] = {"left_at": format_timestamp(member.left_at), "left_reason": member.left_reason}
    return summary
