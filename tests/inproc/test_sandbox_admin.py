"""The ``/_sandbox`` controls: seed ids, stats, reset and ending a session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coviu_sandbox.testing import InProcessSandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox() as sandbox:
        await sandbox.login()
        yield sandbox


async def test_seed_ids_point_at_real_records(sandbox: InProcessSandbox) -> None:
    seed = (await sandbox.client.get("/_sandbox/seed")).json()
    assert seed == sandbox.seed
    for key in ("finished_session_id", "in_progress_session_id", "future_session_id"):
        assert (await sandbox.client.get(f"/v1/sessions/{seed[key]}")).status_code == 200
    participant = await sandbox.client.get(f"/v1/participants/{seed['future_participant_id']}")
    assert participant.json()["session_id"] == seed["future_session_id"]
    assert len(seed["collection_ids"]) == 2 and len(seed["waiting_queue_ids"]) == 2


async def test_stats_count_requests_per_method_and_path(sandbox: InProcessSandbox) -> None:
    for _ in range(3):
        await sandbox.client.get("/v1/user/team")
    await sandbox.client.get("/v1/sessions", params={"page": 1})
    stats = (await sandbox.client.get("/_sandbox/stats")).json()
    assert stats["requests"] == {"POST /v1/auth/token": 1, "GET /v1/user/team": 3, "GET /v1/sessions": 1}
    assert stats["total"] == 5


async def test_reset_restores_the_seed_and_clears_stats(sandbox: InProcessSandbox) -> None:
    future = sandbox.seed["future_session_id"]
    assert (await sandbox.client.delete(f"/v1/sessions/{future}")).status_code == 200
    assert (await sandbox.client.post("/_sandbox/reset")).json() == {"ok": True}
    assert (await sandbox.client.get(f"/v1/sessions/{future}")).status_code == 200
    assert (await sandbox.client.get("/_sandbox/stats")).json()["requests"] == {f"GET /v1/sessions/{future}": 1}


async def test_ending_a_session_needs_one_that_runs(sandbox: InProcessSandbox) -> None:
    future = await sandbox.client.post(f"/_sandbox/sessions/{sandbox.seed['future_session_id']}/end")
    assert future.status_code == 400 and future.json()["error"]["code"] == "session_not_started"
    missing = await sandbox.client.post("/_sandbox/sessions/nope/end")
    assert missing.status_code == 404
    live = sandbox.seed["in_progress_session_id"]
    assert (await sandbox.client.post(f"/_sandbox/sessions/{live}/end")).status_code == 200
    summary = (await sandbox.client.get(f"/v1/sessions/{live}/summary")).json()
    assert all(p["exit_time"]["left_reason"] == "session-ended" for p in summary["participants"])


async def test_admin_needs_no_token_and_unknown_admin_paths_are_404() -> None:
    async with InProcessSandbox() as sandbox:
        assert (await sandbox.client.get("/_sandbox/seed")).status_code == 200
        response = await sandbox.client.get("/_sandbox/nothing")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
