"""The team's read-only resources: waiting-area calls, collections, submissions and their binaries.

Coviu exposes no write operations for any of these, so they are fixed by the seed. Every lookup
is scoped to the caller's team: another team id is a 404, as it would be for a foreign team.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from coviu_sandbox.errors import NotFound
from coviu_sandbox.inputs import SubmissionListQuery
from coviu_sandbox.models import Blob, Call, Collection, Submission, Team


class TeamData(BaseModel):
    model_config = ConfigDict(frozen=True)

    team: Team
    waiting_queue_ids: tuple[str, ...]
    calls: tuple[Call, ...]
    collections: tuple[Collection, ...]
    submissions: Mapping[str, tuple[Submission, ...]]
    """Submissions of each collection, by ``collection_id``, oldest first."""

    def require_team(self, team_id: str) -> Team:
        if team_id != self.team.team_id:
            raise NotFound("team_not_found", f"no team with teamId {team_id!r} is visible to this client")
        return self.team

    def waiting_calls(self, team_id: str, waiting_queue_id: str | None = None) -> list[Call]:
        """Calls still waiting to be answered, longest-waiting first."""
        self.require_team(team_id)
        if waiting_queue_id is not None and waiting_queue_id not in self.waiting_queue_ids:
            raise NotFound("waiting_queue_not_found", f"no waiting queue with waitingQueueId {waiting_queue_id!r}")
        waiting = [
            call
            for call in self.calls
            if call.waiting and (waiting_queue_id is None or call.waiting_queue_id == waiting_queue_id)
        ]
        return sorted(waiting, key=lambda call: call.joined_at)

    def call(self, team_id: str, call_id: str) -> Call:
        self.require_team(team_id)
        for call in self.calls:
            if call.call_id == call_id:
                return call
        raise NotFound("call_not_found", f"no call with callId {call_id!r}")

    def team_collections(self, team_id: str) -> tuple[Collection, ...]:
        self.require_team(team_id)
        return self.collections

    def list_submissions(
        self, team_id: str, collection_id: str, query: SubmissionListQuery
    ) -> tuple[list[Submission], int]:
        """One slice of a collection's submissions and the number that match the query.

        ``from`` is inclusive and ``until`` exclusive; ``filter`` is a case-insensitive substring
        of ``collection_location``, ``submitting_user_id`` or ``session_id``.
        """
        needle = query.filter.lower() if query.filter else None
        matching = [
            submission
            for submission in self._submissions(team_id, collection_id)
            if (query.from_ is None or submission.created_at >= query.from_)
            and (query.until is None or submission.created_at < query.until)
            and (needle is None or needle in _searchable(submission))
        ]
        matching.sort(key=lambda submission: getattr(submission, query.order_by), reverse=query.order == "desc")
        return matching[query.offset : query.offset + query.limit], len(matching)

    def submission(self, team_id: str, collection_id: str, submission_id: str) -> Submission:
        for submission in self._submissions(team_id, collection_id):
            if submission.item_submission_id == submission_id:
                return submission
        raise NotFound(
            "submission_not_found",
            f"no submission with submissionId {submission_id!r} in collection {collection_id!r}",
        )

    def submission_file(self, team_id: str, collection_id: str, submission_id: str, file_id: str) -> Blob:
        submission = self.submission(team_id, collection_id, submission_id)
        for file in submission.files:
            if file.id == file_id:
                return Blob(blob_id=file.id, size=file.size, content_type="video/webm")
        raise NotFound("file_not_found", f"submission {submission_id!r} has no file with fileId {file_id!r}")

    def recording(self, team_id: str, collection_id: str, submission_id: str) -> Blob:
        submission = self.submission(team_id, collection_id, submission_id)
        if submission.recording is None:
            raise NotFound("recording_not_found", f"submission {submission_id!r} has no audio recording")
        return submission.recording

    def _submissions(self, team_id: str, collection_id: str) -> tuple[Submission, ...]:
        self.require_team(team_id)
        submissions = self.submissions.get(collection_id)
        if submissions is None:
            raise NotFound("collection_not_found", f"no collection with collectionId {collection_id!r}")
        return submissions


def _searchable(submission: Submission) -> str:
    return " ".join(
        (submission.collection_location, submission.submitting_user_id, submission.session_id or "")
    ).lower()
