"""Waiting area, collections and submissions (offset pagination) over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coviu_sandbox.testing import InProcessSandbox
from coviu_sandbox.timestamps import from_epoch, parse_timestamp


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox() as sandbox:
        await sandbox.login()
        yield sandbox


async def test_waiting_calls_are_camel_case_and_longest_waiting_first(sandbox: InProcessSandbox) -> None:
    calls = (await sandbox.client.get(f"/v1/waiting/{sandbox.seed['team_id']}")).json()
    assert [call["callId"] for call in calls] == sandbox.seed["waiting_call_ids"]
    now = from_epoch(sandbox.clock.now)
    assert [round((now - parse_timestamp(call["joinedAt"])).total_seconds() / 60) for call in calls] == [
        25,
        18,
        12,
        7,
        3,
    ]
    assert {"callId", "teamId", "peerId", "joinedAt", "lastActivityAt", "callType", "waitingQueueId"} <= set(calls[0])
    assert not any("answeredAt" in call or "call_id" in call for call in calls)


async def test_queue_calls_and_single_calls(sandbox: InProcessSandbox) -> None:
    team = sandbox.seed["team_id"]
    first_queue, second_queue = sandbox.seed["waiting_queue_ids"]
    first = (await sandbox.client.get(f"/v1/waiting/{team}/queue/{first_queue}")).json()
    second = (await sandbox.client.get(f"/v1/waiting/{team}/queue/{second_queue}")).json()
    assert (len(first), len(second)) == (3, 2)
    assert {call["waitingQueueId"] for call in first} == {first_queue}
    answered = (await sandbox.client.get(f"/v1/waiting/{team}/calls/{sandbox.seed['answered_call_id']}")).json()
    assert answered["sessionId"] == sandbox.seed["in_progress_session_id"] and "answeredAt" in answered
    finished = (await sandbox.client.get(f"/v1/waiting/{team}/calls/{sandbox.seed['finished_call_id']}")).json()
    assert {"finishedAt", "cleanedAt", "leftQueueAt"} <= set(finished)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/waiting/other-team", "team_not_found"),
        ("/v1/waiting/{team}/queue/nope", "waiting_queue_not_found"),
        ("/v1/waiting/{team}/calls/nope", "call_not_found"),
        ("/v1/collections/other-team", "team_not_found"),
        ("/v1/collections/{team}/collection/nope", "collection_not_found"),
        ("/v1/collections/{team}/collection/{collection}/submission/nope", "submission_not_found"),
    ],
)
async def test_unknown_team_resources_are_404(sandbox: InProcessSandbox, path: str, code: str) -> None:
    url = path.format(team=sandbox.seed["team_id"], collection=sandbox.seed["submissions_collection_id"])
    response = await sandbox.client.get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == code


async def test_collections_are_a_bare_snake_case_array(sandbox: InProcessSandbox) -> None:
    collections = (await sandbox.client.get(f"/v1/collections/{sandbox.seed['team_id']}")).json()
    assert [c["collection_id"] for c in collections] == sandbox.seed["collection_ids"]
    assert {"id", "team_id", "collection_reference", "name", "read_setting", "delete_setting", "created_at"} <= set(
        collections[0]
    )


async def test_submissions_use_offset_and_limit_with_a_total(sandbox: InProcessSandbox) -> None:
    path = f"/v1/collections/{sandbox.seed['team_id']}/collection/{sandbox.seed['submissions_collection_id']}"
    first = (await sandbox.client.get(path)).json()
    assert (len(first["items"]), first["total"]) == (20, 30)
    rest = (await sandbox.client.get(path, params={"offset": 20})).json()
    assert (len(rest["items"]), rest["total"]) == (10, 30)
    ids = [item["item_submission_id"] for item in first["items"] + rest["items"]]
    assert len(set(ids)) == 30
    created = [parse_timestamp(item["created_at"]) for item in first["items"] + rest["items"]]
    assert created == sorted(created)
    beyond = (await sandbox.client.get(path, params={"offset": 40})).json()
    assert beyond == {"items": [], "total": 30}
    newest = (await sandbox.client.get(path, params={"order": "desc", "limit": 5})).json()["items"]
    assert [item["item_submission_id"] for item in newest] == ids[::-1][:5]


async def test_submission_filters(sandbox: InProcessSandbox) -> None:
    path = f"/v1/collections/{sandbox.seed['team_id']}/collection/{sandbox.seed['submissions_collection_id']}"
    everything = (await sandbox.client.get(path, params={"limit": 100})).json()["items"]
    pivot = everything[10]["created_at"]
    later = (await sandbox.client.get(path, params={"from": pivot, "limit": 100})).json()
    earlier = (await sandbox.client.get(path, params={"until": pivot, "limit": 100})).json()
    assert (later["total"], earlier["total"]) == (20, 10)
    sessions = (await sandbox.client.get(path, params={"filter": "SESSION", "limit": 100})).json()
    assert sessions["total"] == 10 and all(i["collection_location"] == "session" for i in sessions["items"])


async def test_submission_detail_lists_files(sandbox: InProcessSandbox) -> None:
    item = sandbox.seed["submission_file"]
    collection = f"/v1/collections/{sandbox.seed['team_id']}/collection/{item['collection_id']}"
    path = f"{collection}/submission/{item['submission_id']}"
    detail = (await sandbox.client.get(path)).json()
    assert detail["item_submission_id"] == item["submission_id"]
    assert detail["files"][0]["id"] == item["file_id"] and detail["files"][0]["size"] == item["size"]
    assert {"secure_collection_id", "submitting_user_id", "created_at", "updated_at", "action_status"} <= set(detail)


async def test_user_team(sandbox: InProcessSandbox) -> None:
    team = (await sandbox.client.get("/v1/user/team")).json()
    assert team == {
        "team_id": sandbox.seed["team_id"],
        "name": "Harbourside Telehealth Clinic",
        "subdomain": "harbourside",
    }
