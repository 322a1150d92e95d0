"""The seed's two workflows, end to end through MCP tool calls against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .proxy_harness import stack

ERAS = ["legacy", "2026-07-28"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("mode", ERAS)
async def test_triage(mode: str) -> None:
    """Waiting queue -> new session -> participant -> entry URL."""
    async with stack() as s, s.client(mode) as client:
        team = (await client.call_tool("get_single_coviu_team", {})).structured_content
        queue = s.seed["waiting_queue_ids"][0]
        calls = await client.call_tool(
            "list_all_coviu_waiting_queue_calls", {"team_id": team["team_id"], "waiting_queue_id": queue}
        )
        assert not calls.is_error
        now = datetime.now(UTC)
        waited = [
            c for c in calls.structured_content["items"]
            if now - datetime.fromisoformat(c["joinedAt"].replace("Z", "+00:00")) > timedelta(minutes=10)
        ]
        assert waited, "the seed has callers waiting for more than 10 minutes"
        start = now + timedelta(minutes=1)
        session = await client.call_tool(
            "create_a_coviu_session",
            {
                "session_name": "Triage Overflow",
                "start_time": _iso(start),
                "end_time": _iso(start + timedelta(minutes=30)),
                "feature_flags": ["customisation;disable-menu"],
            },
        )
        assert not session.is_error, session.content[0].text
        session_id = session.structured_content["session_id"]
        participant = await client.call_tool(
            "create_a_coviu_participant", {"session_id": session_id, "display_name": "Patient", "role": "guest"}
        )
        assert not participant.is_error, participant.content[0].text
        assert participant.structured_content["entry_url"].startswith("http")
        assert participant.structured_content["session_id"] == session_id


@pytest.mark.parametrize("mode", ERAS)
async def test_compliance(mode: str) -> None:
    """Session summary -> audio recording download link -> Range download through the proxy."""
    async with stack() as s, s.client(mode) as client:
        summary = await client.call_tool(
            "get_single_coviu_session_summary_by_id", {"id": s.seed["finished_session_id"]}
        )
        assert not summary.is_error
        assert summary.structured_content["actual_end_time"]
        assert summary.structured_content["participants"]
        recording = s.seed["recording"]
        result = await client.call_tool(
            "get_single_coviu_audio_recording_by_id",
            {
                "team_id": s.seed["team_id"],
                "collection_id": recording["collection_id"],
                "id": recording["submission_id"],
            },
        )
        assert not result.is_error, result.content[0].text
        meta = result.structured_content
        assert meta["content_type"] == "audio/webm" and meta["size"] == recording["size"]
        link = next(block for block in result.content if block.type == "resource_link")
        assert str(link.uri) == meta["download_url"]
        part = await s.http.get(meta["download_url"], headers={"range": "bytes=0-1023"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 0-1023/{recording['size']}"
        assert len(part.content) == 1024


async def test_lifecycle_rule_reaches_the_model_as_a_tool_error() -> None:
    async with stack() as s, s.client() as client:
        result = await client.call_tool(
            "create_a_coviu_participant",
            {"session_id": s.seed["finished_session_id"], "display_name": "Interpreter", "role": "guest"},
        )
        assert result.is_error
        assert "HTTP 400" in result.content[0].text and "finished" in result.content[0].text
