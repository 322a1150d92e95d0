"""Coviu's resources as frozen records, serialised with Coviu's own field names.

Sessions, participants, collections and submissions use snake_case; waiting-area calls use
camelCase, as the real API does. Fields that are ``None`` are left out of responses, and the
``exclude=True`` fields are sandbox bookkeeping that Coviu does not return.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from coviu_sandbox.timestamps import format_timestamp

Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]
Role = Literal["HOST", "GUEST", "PARTICIPANT"]
CallType = Literal["video", "phone"]
AccessSetting = Literal["restricted", "exclusive", "team"]

UNIQUE_ENTRY_FLAG = "session;enforce-participant-uniqueness"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The record as Coviu returns it; callers copy it before adding to it."""
        return self.rendered

    @cached_property
    def rendered(self) -> dict[str, Any]:
        # Rendered once per record: a page of 20 sessions holds about 60 records, and the
        # sandbox shares the benchmark machine with the proxy it stands behind.
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("rendered", None)  # it was rendered from the fields before the update
        return copied


class Participant(Record):
    participant_id: str
    session_id: str
    client_id: str
    display_name: str
    role: Role
    picture: str | None = None
    state: str | None = None
    user_hint: str | None = None
    coviu_user_id: str | None = None
    phone: str | None = None
    deleted_at: Timestamp | None = None
    entered_at: datetime | None = Field(default=None, exclude=True)
    left_at: datetime | None = Field(default=None, exclude=True)
    left_reason: str | None = Field(default=None, exclude=True)


class Session(Record):
    session_id: str
    session_name: str
    start_time: Timestamp
    end_time: Timestamp
    actual_end_time: Timestamp | None = None
    picture: str | None = None
    team_id: str
    client_id: str
    feature_flags: tuple[str, ...] = ()
    canceled_time: Timestamp | None = None

    def finished(self, now: datetime) -> bool:
        """Coviu treats a session as finished once its last participant left or its end time passed."""
        return self.actual_end_time is not None or self.end_time <= now

    def started(self, now: datetime) -> bool:
        return self.start_time <= now


class Team(Record):
    team_id: str
    name: str
    subdomain: str


class Call(Record):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    call_id: str
    team_id: str
    peer_id: str
    joined_at: Timestamp
    last_activity_at: Timestamp
    call_type: CallType
    waiting_queue_id: str
    socket_id: str | None = None
    session_id: str | None = None
    details: str | None = None
    answered_at: Timestamp | None = None
    started_at: Timestamp | None = None
    left_queue_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    cleaned_at: Timestamp | None = None

    @property
    def waiting(self) -> bool:
        return self.left_queue_at is None and self.answered_at is None and self.finished_at is None


class Collection(Record):
    id: str
    team_id: str
    collection_id: str
    collection_reference: str
    name: str
    read_setting: AccessSetting
    delete_setting: AccessSetting
    created_at: Timestamp
    updated_at: Timestamp | None = None


class Blob(Record):
    """A binary served by the sandbox; its bytes come from :mod:`coviu_sandbox.binary`."""

    blob_id: str
    size: int
    content_type: Literal["audio/webm", "video/webm"]


class SubmissionFile(Record):
    id: str
    metadata: dict[str, Any]
    size: int
    created_at: Timestamp
    updated_at: Timestamp


class Submission(Record):
    secure_collection_id: str
    item_submission_id: str
    session_id: str | None = None
    collection_location: str
    submitting_user_id: str
    created_at: Timestamp
    updated_at: Timestamp
    locked_at: Timestamp | None = None
    action_status: bool
    files: tuple[SubmissionFile, ...] = Field(default=(), exclude=True)
    recording: Blob | None = Field(default=None, exclude=True)

    def detail_json(self) -> dict[str, Any]:
        return {**self.to_json(), "files": [file.to_json() for file in self.files]}
