"""Deterministic starting data: the same seed and clock give the same ids, names, times and bytes.

Times are relative to the moment of seeding, so a fresh sandbox always has calls waiting for a
few minutes, one session in progress, finished sessions with summaries and future ones.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from coviu_sandbox.ids import IdFactory
from coviu_sandbox.models import (
    UNIQUE_ENTRY_FLAG,
    AccessSetting,
    Blob,
    Call,
    CallType,
    Collection,
    Participant,
    Session,
    Submission,
    SubmissionFile,
    Team,
)
from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.team_data import TeamData

KIB = 1024
PAST_SESSIONS = 30
FUTURE_SESSIONS = 14
VIDEO_SUBMISSIONS = 30
VOICEMAILS = 4

_CLINICIANS = ("Dr Amelia Hart", "Dr Rohan Iyer", "Dr Grace Whitfield", "Dr Tomas Novak")
_PATIENTS = (
    "Olivia Bennett", "Liam Chen", "Mia Kowalski", "Noah Haddad", "Isla Fernandes", "Ethan Brooks",
    "Zoe Nguyen", "Lucas Moretti", "Chloe Adeyemi", "Jack O'Connell", "Ruby Tanaka", "Leo Petrov",
)  # fmt: skip
_INTERPRETERS = ("Interpreter (Mandarin)", "Interpreter (Arabic)", "Interpreter (Vietnamese)")
_REASONS = ("follow-up", "new referral", "medication review", "test results", "wound check")


class Seed(BaseModel):
    model_config = ConfigDict(frozen=True)

    team_data: TeamData
    sessions: tuple[Session, ...]
    participants: tuple[Participant, ...]
    ids: dict[str, Any]
    """What tests and the demo need to find their way in: served at ``/_sandbox/seed``."""


def build_seed(settings: SandboxSettings, now: datetime, ids: IdFactory) -> Seed:
    base = now.replace(microsecond=0)
    rng = random.Random(settings.seed)
    client_uuid = ids.client(settings.client_id)
    team = Team(team_id=ids.make("team", 0), name="Harbourside Telehealth Clinic", subdomain="harbourside")
    sessions, participants = _sessions(base, rng, ids, team.team_id, client_uuid)
    queue_ids = (ids.make("waiting-queue", 0), ids.make("waiting-queue", 1))
    in_progress = sessions[PAST_SESSIONS]
    calls = _calls(base, ids, team.team_id, queue_ids, in_progress.session_id, sessions[PAST_SESSIONS - 1].session_id)
    collections, submissions = _collections(base, rng, ids, team.team_id, sessions, settings.large_recording_bytes)

    videos, voicemails = (submissions[collection.collection_id] for collection in collections)
    with_file = videos[0]
    with_recording = next(submission for submission in videos if submission.recording is not None)
    large = voicemails[-1]
    future = sessions[PAST_SESSIONS + 1]
    seed_ids = {
        "team_id": team.team_id,
        "waiting_queue_ids": list(queue_ids),
        "waiting_call_ids": [call.call_id for call in sorted(calls, key=lambda c: c.joined_at) if call.waiting],
        "answered_call_id": calls[-2].call_id,
        "finished_call_id": calls[-1].call_id,
        "session_count": len(sessions),
        "finished_session_id": sessions[PAST_SESSIONS - 1].session_id,
        "in_progress_session_id": in_progress.session_id,
        "future_session_id": future.session_id,
        "future_participant_id": next(p.participant_id for p in participants if p.session_id == future.session_id),
        "cancelled_session_id": sessions[-1].session_id,
        "collection_ids": [collection.collection_id for collection in collections],
        "submissions_collection_id": collections[0].collection_id,
        "submission_count": len(videos),
        "submission_file": {
            "collection_id": collections[0].collection_id,
            "submission_id": with_file.item_submission_id,
            "file_id": with_file.files[0].id,
            "size": with_file.files[0].size,
        },
        "recording": _recording_ids(collections[0], with_recording),
        "large_recording": _recording_ids(collections[1], large),
    }
    team_data = TeamData(
        team=team,
        waiting_queue_ids=queue_ids,
        calls=calls,
        collections=collections,
        submissions=submissions,
    )
    return Seed(team_data=team_data, sessions=sessions, participants=participants, ids=seed_ids)


def _recording_ids(collection: Collection, submission: Submission) -> dict[str, Any]:
    assert submission.recording is not None
    return {
        "collection_id": collection.collection_id,
        "submission_id": submission.item_submission_id,
        "size": submission.recording.size,
    }


def _sessions(
    base: datetime, rng: random.Random, ids: IdFactory, team_id: str, client_uuid: str
) -> tuple[tuple[Session, ...], tuple[Participant, ...]]:
    """30 finished sessions with summaries, one in progress, 14 future ones (the last cancelled)."""
    sessions: list[Session] = []
    participants: list[Participant] = []
    total = PAST_SESSIONS + 1 + FUTURE_SESSIONS
    for index in range(total):
        patient = _PATIENTS[index % len(_PATIENTS)]
        clinician_index = index % len(_CLINICIANS)
        if index < PAST_SESSIONS:
            start = base - timedelta(hours=6 * (PAST_SESSIONS - index))
        elif index == PAST_SESSIONS:
            start = base - timedelta(minutes=10)
        else:
            start = base + timedelta(hours=4 * (index - PAST_SESSIONS))
        end = start + timedelta(minutes=30)
        session_id = ids.make("session", index)
        finished = index < PAST_SESSIONS
        actual_end = start + timedelta(minutes=rng.randint(18, 34)) if finished else None
        flags = (UNIQUE_ENTRY_FLAG,) if index % 7 == 3 else ()
        sessions.append(
            Session(
                session_id=session_id,
                session_name=f"{_REASONS[index % len(_REASONS)].capitalize()}: {patient}",
                start_time=start,
                end_time=end,
                actual_end_time=actual_end,
                picture=f"https://images.harbourside.example/rooms/{index % 5}.png",
                team_id=team_id,
                client_id=client_uuid,
                feature_flags=flags,
                canceled_time=base - timedelta(hours=1) if index == total - 1 else None,
            )
        )
        members: list[dict[str, Any]] = [
            {
                "display_name": _CLINICIANS[clinician_index],
                "role": "HOST",
                "coviu_user_id": ids.make("user", clinician_index),
                "user_hint": _CLINICIANS[clinician_index].removeprefix("Dr ").lower().replace(" ", ".")
                + "@harbourside.example",
                "entry_offset": -3,
            },
            {
                "display_name": patient,
                "role": "GUEST",
                "state": f"patient-{index % len(_PATIENTS):04d}",
                "phone": f"+61 400 {100 + index:03d} {rng.randint(100, 999)}" if index % 3 == 0 else None,
                "entry_offset": 2,
            },
        ]
        if index % 5 == 0:
            members.append({"display_name": _INTERPRETERS[index % 3], "role": "PARTICIPANT", "entry_offset": 4})
        if index == PAST_SESSIONS + 1:
            members.append({"display_name": f"Carer of {patient}", "role": "GUEST", "deleted": True})
        for position, member in enumerate(members):
            participants.append(
                _participant(ids, session_id, position, client_uuid, member, base, start, actual_end, index)
            )
    return tuple(sessions), tuple(participants)


def _participant(
    ids: IdFactory,
    session_id: str,
    position: int,
    client_uuid: str,
    member: dict[str, Any],
    base: datetime,
    start: datetime,
    actual_end: datetime | None,
    index: int,
) -> Participant:
    fields = dict(member)
    offset = fields.pop("entry_offset", None)
    deleted = fields.pop("deleted", False)
    entered = start + timedelta(minutes=offset) if offset is not None and start <= base else None
    left_at = left_reason = None
    if actual_end is not None and entered is not None:
        hosts_last = fields["role"] == "HOST"
        left_at = actual_end if hosts_last else actual_end - timedelta(minutes=1)
        left_reason = "session-ended" if hosts_last else "left"
    return Participant(
        participant_id=ids.make("participant", f"{index}:{position}"),
        session_id=session_id,
        client_id=client_uuid,
        deleted_at=base - timedelta(hours=2) if deleted else None,
        entered_at=entered,
        left_at=left_at,
        left_reason=left_reason,
        **fields,
    )


def _calls(
    base: datetime,
    ids: IdFactory,
    team_id: str,
    queue_ids: tuple[str, str],
    in_progress_session_id: str,
    finished_session_id: str,
) -> tuple[Call, ...]:
    """Five calls waiting (3 to 25 minutes), then one answered and one finished call."""
    waiting: tuple[tuple[int, int, CallType], ...] = (
        (0, 3, "video"), (0, 12, "video"), (0, 25, "phone"), (1, 7, "video"), (1, 18, "video"),
    )  # fmt: skip
    calls = []
    for index, (queue, minutes, call_type) in enumerate(waiting):
        joined = base - timedelta(minutes=minutes)
        calls.append(
            _call(
                ids, index, team_id, queue_ids[queue], joined, call_type, last_activity=joined + timedelta(seconds=40)
            )
        )
    answered_join, answered_at = base - timedelta(minutes=19), base - timedelta(minutes=11)
    calls.append(
        _call(
            ids, len(calls), team_id, queue_ids[0], answered_join, "video",
            last_activity=answered_at, session_id=in_progress_session_id,
            answered_at=answered_at, started_at=answered_at, left_queue_at=answered_at,
        )
    )  # fmt: skip
    finished_join, finished_answer = base - timedelta(hours=2), base - timedelta(minutes=110)
    finished_at = base - timedelta(minutes=80)
    calls.append(
        _call(
            ids, len(calls), team_id, queue_ids[1], finished_join, "video",
            last_activity=finished_at + timedelta(minutes=1), session_id=finished_session_id,
            answered_at=finished_answer, started_at=finished_answer, left_queue_at=finished_answer,
            finished_at=finished_at, cleaned_at=finished_at + timedelta(minutes=1),
        )
    )  # fmt: skip
    return tuple(calls)


def _call(
    ids: IdFactory,
    index: int,
    team_id: str,
    queue_id: str,
    joined: datetime,
    call_type: CallType,
    *,
    last_activity: datetime,
    **fields: Any,
) -> Call:
    patient = _PATIENTS[(index * 5 + 1) % len(_PATIENTS)]
    return Call(
        call_id=ids.make("call", index),
        team_id=team_id,
        peer_id=f"peer-{ids.make('peer', index)[:8]}",
        joined_at=joined,
        last_activity_at=last_activity,
        call_type=call_type,
        waiting_queue_id=queue_id,
        socket_id=ids.make("socket", index),
        details=json.dumps({"name": patient, "reason": _REASONS[index % len(_REASONS)]}),
        **fields,
    )


def _collections(
    base: datetime,
    rng: random.Random,
    ids: IdFactory,
    team_id: str,
    sessions: tuple[Session, ...],
    large_recording_bytes: int,
) -> tuple[tuple[Collection, ...], dict[str, tuple[Submission, ...]]]:
    """Patient videos (30 submissions, every fourth with an audio recording) and voicemails,
    the last of which carries the large recording."""
    definitions: tuple[tuple[str, str, AccessSetting, AccessSetting, int], ...] = (
        ("Patient video submissions", "patient-videos", "team", "restricted", 90),
        ("Voicemail", "voicemail", "exclusive", "team", 60),
    )
    collections = tuple(
        Collection(
            id=ids.make("collection-record", position),
            team_id=team_id,
            collection_id=ids.make("collection", position),
            collection_reference=reference,
            name=name,
            read_setting=read_setting,
            delete_setting=delete_setting,
            created_at=base - timedelta(days=age_days),
            updated_at=base - timedelta(days=age_days - 1),
        )
        for position, (name, reference, read_setting, delete_setting, age_days) in enumerate(definitions)
    )
    videos, voicemail = collections
    submissions = {
        videos.collection_id: tuple(
            _submission(ids, rng, base, videos, index, VIDEO_SUBMISSIONS, sessions, large_recording_bytes=None)
            for index in range(VIDEO_SUBMISSIONS)
        ),
        voicemail.collection_id: tuple(
            _submission(
                ids, rng, base, voicemail, index, VOICEMAILS, sessions,
                large_recording_bytes=large_recording_bytes if index == VOICEMAILS - 1 else None,
            )
            for index in range(VOICEMAILS)
        ),
    }  # fmt: skip
    return collections, submissions


def _submission(
    ids: IdFactory,
    rng: random.Random,
    base: datetime,
    collection: Collection,
    index: int,
    count: int,
    sessions: tuple[Session, ...],
    *,
    large_recording_bytes: int | None,
) -> Submission:
    key = f"{collection.collection_reference}:{index}"
    submission_id = ids.make("submission", key)
    created = base - timedelta(days=count - index, minutes=rng.randint(0, 600))
    is_voicemail = collection.collection_reference == "voicemail"
    files = () if is_voicemail else tuple(
        SubmissionFile(
            id=ids.make("file", f"{key}:{position}"),
            metadata={"filename": f"clip-{index + 1:02d}-{position + 1}.webm", "content_type": "video/webm"},
            size=rng.randint(96 * KIB, 1536 * KIB),
            created_at=created,
            updated_at=created,
        )
        for position in range(2 if index % 3 == 0 else 1)
    )  # fmt: skip
    recording = None
    if is_voicemail or index % 4 == 1:
        size = large_recording_bytes if large_recording_bytes is not None else rng.randint(48 * KIB, 512 * KIB)
        recording = Blob(blob_id=submission_id, size=size, content_type="audio/webm")
    return Submission(
        secure_collection_id=collection.collection_id,
        item_submission_id=submission_id,
        session_id=sessions[index].session_id if index % 3 == 0 and not is_voicemail else None,
        collection_location=("waiting-area", "session", "public-link")[index % 3],
        submitting_user_id=ids.make("submitter", index % 7),
        created_at=created,
        updated_at=created + timedelta(minutes=5),
        locked_at=created + timedelta(days=1) if index % 7 == 6 else None,
        action_status=index % 2 == 0,
        files=files,
        recording=recording,
    )
