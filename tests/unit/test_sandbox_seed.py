from __future__ import annotations

from datetime import timedelta
from typing import Any

from coviu_sandbox.ids import IdFactory
from coviu_sandbox.seed import Seed, build_seed
from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.testing import START
from coviu_sandbox.timestamps import from_epoch

NOW = from_epoch(START)


def _seed(**settings: Any) -> Seed:
    configured = SandboxSettings(**settings)
    return build_seed(configured, NOW, IdFactory(configured.seed))


def test_the_same_seed_gives_the_same_data() -> None:
    assert _seed(seed=3) == _seed(seed=3)
    assert _seed(seed=3).ids["team_id"] != _seed(seed=4).ids["team_id"]


def test_sessions_cover_past_present_and_future() -> None:
    seed = _seed()
    by_id = {session.session_id: session for session in seed.sessions}
    assert len(seed.sessions) == seed.ids["session_count"] == 45
    finished = by_id[seed.ids["finished_session_id"]]
    assert finished.actual_end_time is not None and finished.finished(NOW)
    in_progress = by_id[seed.ids["in_progress_session_id"]]
    assert in_progress.started(NOW) and not in_progress.finished(NOW)
    assert not by_id[seed.ids["future_session_id"]].started(NOW)
    assert by_id[seed.ids["cancelled_session_id"]].canceled_time is not None
    assert sum(1 for session in seed.sessions if session.finished(NOW)) == 30


def test_calls_have_been_waiting_for_minutes() -> None:
    seed = _seed()
    waiting = [call for call in seed.team_data.calls if call.waiting]
    assert [call.call_id for call in sorted(waiting, key=lambda c: c.joined_at)] == seed.ids["waiting_call_ids"]
    assert sorted(NOW - call.joined_at for call in waiting) == [
        timedelta(minutes=minutes) for minutes in (3, 7, 12, 18, 25)
    ]
    assert {call.waiting_queue_id for call in waiting} == set(seed.ids["waiting_queue_ids"])


def test_recordings_and_files_are_where_the_ids_say() -> None:
    seed = _seed(large_recording_bytes=5 * 1024**3)
    data, ids = seed.team_data, seed.ids
    team = ids["team_id"]
    large = ids["large_recording"]
    assert data.recording(team, large["collection_id"], large["submission_id"]).size == 5 * 1024**3 == large["size"]
    small = ids["recording"]
    blob = data.recording(team, small["collection_id"], small["submission_id"])
    assert blob.size == small["size"] < 1024**2 and blob.content_type == "audio/webm"
    item = ids["submission_file"]
    video = data.submission_file(team, item["collection_id"], item["submission_id"], item["file_id"])
    assert video.size == item["size"] and video.content_type == "video/webm"
    assert len(data.submissions[ids["submissions_collection_id"]]) == ids["submission_count"] == 30
