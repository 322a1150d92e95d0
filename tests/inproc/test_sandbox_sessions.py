"""Sessions and participants over HTTP: page pagination, filters and every lifecycle rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from coviu_sandbox.models import UNIQUE_ENTRY_FLAG
from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.testing import InProcessSandbox
from coviu_sandbox.timestamps import format_timestamp, from_epoch, parse_timestamp

HOUR = 3600


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox(SandboxSettings(token_ttl_s=7 * 24 * HOUR)) as sandbox:
        await sandbox.login()
        yield sandbox


def _in(sandbox: InProcessSandbox, seconds: float) -> str:
    return format_timestamp(from_epoch(sandbox.clock.now + seconds))


async def _create(sandbox: InProcessSandbox, **fields: Any) -> dict[str, Any]:
    body = {
        "session_name": "Medication review",
        "start_time": _in(sandbox, HOUR),
        "end_time": _in(sandbox, 2 * HOUR),
        "participants": [{"display_name": "Dr Hart", "role": "host"}, {"display_name": "Liam", "role": "guest"}],
        **fields,
    }
    response = await sandbox.client.post("/v1/sessions", json=body)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


async def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    code: str = error["code"]
    return code


async def test_pages_are_zero_based_with_a_more_flag(sandbox: InProcessSandbox) -> None:
    seen: list[str] = []
    for page, more in ((0, True), (1, True), (2, False)):
        response = await sandbox.client.get("/v1/sessions", params={"page": page, "page_size": 20})
        body = response.json()
        assert (body["page"], body["page_size"], body["more"]) == (page, 20, more)
        seen += [session["session_id"] for session in body["content"]]
    assert len(seen) == len(set(seen)) == 44
    past_the_end = (await sandbox.client.get("/v1/sessions", params={"page": 3, "page_size": 20})).json()
    assert past_the_end["content"] == [] and past_the_end["more"] is False


async def test_default_page_holds_everything_in_creation_order(sandbox: InProcessSandbox) -> None:
    body = (await sandbox.client.get("/v1/sessions")).json()
    assert (body["page_size"], body["more"], len(body["content"])) == (200, False, 44)
    starts = [parse_timestamp(session["start_time"]) for session in body["content"]]
    assert starts == sorted(starts)
    reverse = (await sandbox.client.get("/v1/sessions", params={"order": "reverse"})).json()["content"]
    assert [s["session_id"] for s in reverse] == [s["session_id"] for s in reversed(body["content"])]


async def test_cancelled_sessions_are_listed_only_on_request(sandbox: InProcessSandbox) -> None:
    cancelled = sandbox.seed["cancelled_session_id"]
    listed = (await sandbox.client.get("/v1/sessions", params={"include_canceled": "true"})).json()["content"]
    assert len(listed) == 45
    assert "canceled_time" in next(s for s in listed if s["session_id"] == cancelled)


async def test_time_filters_order_by_start_time(sandbox: InProcessSandbox) -> None:
    params = {"start_time": _in(sandbox, -HOUR), "end_time": _in(sandbox, 24 * HOUR)}
    content = (await sandbox.client.get("/v1/sessions", params=params)).json()["content"]
    ids = [session["session_id"] for session in content]
    assert sandbox.seed["in_progress_session_id"] in ids and sandbox.seed["future_session_id"] in ids
    assert sandbox.seed["finished_session_id"] not in ids
    for session in content:
        assert parse_timestamp(session["start_time"]) >= parse_timestamp(params["start_time"])
        assert parse_timestamp(session["end_time"]) <= parse_timestamp(params["end_time"])
    rfc_1123 = from_epoch(sandbox.clock.now - HOUR).strftime("%a, %d %b %Y %H:%M:%S GMT")
    same = (await sandbox.client.get("/v1/sessions", params={**params, "start_time": rfc_1123})).json()["content"]
    assert [session["session_id"] for session in same] == ids


async def test_state_filter_and_deleted_participants(sandbox: InProcessSandbox) -> None:
    content = (await sandbox.client.get("/v1/sessions", params={"state": "patient-0003"})).json()["content"]
    assert content and all(any(p.get("state") == "patient-0003" for p in s["participants"]) for s in content)
    future = sandbox.seed["future_session_id"]
    shown = (await sandbox.client.get(f"/v1/sessions/{future}")).json()["participants"]
    everyone = (await sandbox.client.get(f"/v1/sessions/{future}", params={"deleted_participants": "true"})).json()
    assert len(everyone["participants"]) == len(shown) + 1
    assert next(p for p in everyone["participants"] if "deleted_at" in p)["display_name"].startswith("Carer")


async def test_create_returns_the_session_with_coviu_fields(sandbox: InProcessSandbox) -> None:
    session = await _create(sandbox, feature_flags=["customisation;disable-menu"], picture="https://img.example/1.png")
    assert session["team_id"] == sandbox.seed["team_id"]
    assert session["feature_flags"] == ["customisation;disable-menu"]
    assert session["start_time"].endswith(".000Z") and "actual_end_time" not in session
    host, guest = session["participants"]
    assert (host["role"], guest["role"]) == ("HOST", "GUEST")
    assert host["entry_url"] == f"http://sandbox.test/session/{host['participant_id']}"
    fetched = (await sandbox.client.get(f"/v1/sessions/{session['session_id']}")).json()
    assert fetched == session


async def test_create_rejects_a_past_start_and_an_end_before_the_start(sandbox: InProcessSandbox) -> None:
    past = await sandbox.client.post(
        "/v1/sessions", json={"session_name": "x", "start_time": _in(sandbox, -60), "end_time": _in(sandbox, HOUR)}
    )
    assert await _error(past, 400) == "start_time_not_in_future"
    backwards = await sandbox.client.post(
        "/v1/sessions", json={"session_name": "x", "start_time": _in(sandbox, HOUR), "end_time": _in(sandbox, 60)}
    )
    assert await _error(backwards, 400) == "end_time_before_start_time"


async def test_finished_sessions_are_immutable(sandbox: InProcessSandbox) -> None:
    finished = sandbox.seed["finished_session_id"]
    update = await sandbox.client.put(f"/v1/sessions/{finished}", json={"session_name": "Renamed"})
    assert await _error(update, 400) == "session_finished"
    session = await _create(sandbox)
    sandbox.clock.advance(2 * HOUR)
    late = await sandbox.client.put(f"/v1/sessions/{session['session_id']}", json={"session_name": "Renamed"})
    assert await _error(late, 400) == "session_finished"


async def test_update_changes_what_is_given(sandbox: InProcessSandbox) -> None:
    session = await _create(sandbox)
    later = {"start_time": _in(sandbox, 3 * HOUR), "end_time": _in(sandbox, 4 * HOUR), "session_name": "Moved"}
    updated = (await sandbox.client.put(f"/v1/sessions/{session['session_id']}", json=later)).json()
    assert (updated["session_name"], updated["start_time"], updated["end_time"]) == (
        "Moved", later["start_time"], later["end_time"],
    )  # fmt: skip
    in_progress = sandbox.seed["in_progress_session_id"]
    moved = await sandbox.client.put(f"/v1/sessions/{in_progress}", json={"start_time": _in(sandbox, HOUR)})
    assert await _error(moved, 400) == "session_started"
    extended = await sandbox.client.put(f"/v1/sessions/{in_progress}", json={"end_time": _in(sandbox, HOUR)})
    assert extended.status_code == 200


async def test_cancel_only_before_the_start_then_gone(sandbox: InProcessSandbox) -> None:
    started = await sandbox.client.delete(f"/v1/sessions/{sandbox.seed['in_progress_session_id']}")
    assert await _error(started, 400) == "session_started"
    future = sandbox.seed["future_session_id"]
    cancelled = await sandbox.client.delete(f"/v1/sessions/{future}")
    assert cancelled.status_code == 200 and cancelled.json() == {"ok": True}
    for response in (
        await sandbox.client.get(f"/v1/sessions/{future}"),
        await sandbox.client.delete(f"/v1/sessions/{future}"),
        await sandbox.client.get(f"/v1/sessions/{future}/participants"),
        await sandbox.client.get(f"/v1/sessions/{future}/summary"),
    ):
        assert await _error(response, 404) == "session_not_found"


async def test_participants_can_join_until_the_session_finishes(sandbox: InProcessSandbox) -> None:
    interpreter = {"display_name": "Interpreter (Arabic)", "role": "participant", "phone": "+61 400 000 000"}
    in_progress = sandbox.seed["in_progress_session_id"]
    added = await sandbox.client.post(f"/v1/sessions/{in_progress}/participants", json=interpreter)
    assert added.status_code == 200 and added.json()["role"] == "PARTICIPANT"
    listed = (await sandbox.client.get(f"/v1/sessions/{in_progress}/participants")).json()
    assert added.json() in listed
    finished = sandbox.seed["finished_session_id"]
    refused = await sandbox.client.post(f"/v1/sessions/{finished}/participants", json=interpreter)
    assert await _error(refused, 400) == "session_finished"
    ended = await sandbox.client.post(f"/_sandbox/sessions/{in_progress}/end")
    assert ended.status_code == 200 and "actual_end_time" in ended.json()
    after = await sandbox.client.post(f"/v1/sessions/{in_progress}/participants", json=interpreter)
    assert await _error(after, 400) == "session_finished"


async def test_participant_update_and_final_cancellation(sandbox: InProcessSandbox) -> None:
    session = await _create(sandbox)
    guest = session["participants"][1]
    path = f"/v1/participants/{guest['participant_id']}"
    promoted = (await sandbox.client.put(path, json={"role": "HOST", "state": "local-42"})).json()
    assert (promoted["role"], promoted["state"], promoted["display_name"]) == ("HOST", "local-42", "Liam")
    assert (await sandbox.client.delete(path)).json() == {"ok": True}
    gone = (await sandbox.client.get(f"/v1/sessions/{session['session_id']}/participants")).json()
    assert [p["participant_id"] for p in gone] == [session["participants"][0]["participant_id"]]
    kept = (await sandbox.client.get(path)).json()
    assert "deleted_at" in kept
    assert await _error(await sandbox.client.delete(path), 400) == "participant_cancelled"
    assert await _error(await sandbox.client.put(path, json={"role": "GUEST"}), 400) == "participant_cancelled"


async def test_participants_of_a_finished_session_stay(sandbox: InProcessSandbox) -> None:
    finished = sandbox.seed["finished_session_id"]
    host = (await sandbox.client.get(f"/v1/sessions/{finished}/participants")).json()[0]
    path = f"/v1/participants/{host['participant_id']}"
    assert await _error(await sandbox.client.delete(path), 400) == "session_finished"
    assert await _error(await sandbox.client.put(path, json={"display_name": "x"}), 400) == "session_finished"


async def test_entry_links_are_single_use_with_the_uniqueness_flag(sandbox: InProcessSandbox) -> None:
    strict = await _create(sandbox, feature_flags=[UNIQUE_ENTRY_FLAG])
    link = strict["participants"][1]["entry_url"]
    first = await sandbox.client.get(link)
    assert first.status_code == 200 and first.json()["participant_id"] == strict["participants"][1]["participant_id"]
    assert await _error(await sandbox.client.get(link), 403) == "entry_url_used"
    relaxed = await _create(sandbox)
    other = relaxed["participants"][1]["entry_url"]
    assert [(await sandbox.client.get(other)).status_code for _ in range(2)] == [200, 200]


async def test_summary_of_a_finished_session(sandbox: InProcessSandbox) -> None:
    summary = (await sandbox.client.get(f"/v1/sessions/{sandbox.seed['finished_session_id']}/summary")).json()
    assert {"start_time", "end_time", "actual_start_time", "actual_end_time", "participants"} <= set(summary)
    host = summary["participants"][0]
    assert host["role"] == "HOST" and host["exit_time"]["left_at"] == summary["actual_end_time"]
    assert set(host["bandwidth"]) == {
        f"{kind}_{direction}_bandwidth" for kind in ("min", "max", "avg") for direction in ("sent", "receive")
    }


async def test_summary_follows_a_live_session(sandbox: InProcessSandbox) -> None:
    session = await _create(sandbox)
    assert (await sandbox.client.get(f"/v1/sessions/{session['session_id']}/summary")).json()["participants"] == []
    sandbox.clock.advance(HOUR + 60)
    await sandbox.client.get(session["participants"][0]["entry_url"])
    live = (await sandbox.client.get(f"/v1/sessions/{session['session_id']}/summary")).json()
    assert len(live["participants"]) == 1 and "exit_time" not in live["participants"][0]
    assert "actual_end_time" not in live


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/v1/sessions/00000000-0000-0000-0000-000000000000", "session_not_found"),
        ("PUT", "/v1/sessions/nope", "session_not_found"),
        ("DELETE", "/v1/sessions/nope", "session_not_found"),
        ("GET", "/v1/sessions/nope/summary", "session_not_found"),
        ("GET", "/v1/sessions/nope/participants", "session_not_found"),
        ("POST", "/v1/sessions/nope/participants", "session_not_found"),
        ("GET", "/v1/participants/nope", "participant_not_found"),
        ("PUT", "/v1/participants/nope", "participant_not_found"),
        ("DELETE", "/v1/participants/nope", "participant_not_found"),
        ("GET", "/session/nope", "participant_not_found"),
    ],
)
async def test_unknown_ids_are_404(sandbox: InProcessSandbox, method: str, path: str, code: str) -> None:
    body = {"display_name": "x", "role": "guest", "session_name": "x"} if method in ("PUT", "POST") else None
    response = await sandbox.client.request(method, path, json=body)
    assert await _error(response, 404) == code
