"""Bad input always earns a 4xx with a code and a message that names the problem, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from coviu_sandbox.testing import InProcessSandbox

GOOD_SESSION = {"session_name": "x", "start_time": "2030-01-01T09:00:00Z", "end_time": "2030-01-01T10:00:00Z"}


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox() as sandbox:
        await sandbox.login()
        yield sandbox


@pytest.mark.parametrize(
    ("body", "code", "mentions"),
    [
        (b"{", "invalid_json", "not valid JSON"),
        (b"", "invalid_json", "not valid JSON"),
        (b"\xff\xfe", "invalid_json", "not valid JSON"),
        (b"[" * 100_000, "invalid_json", "not valid JSON"),
        (b"[]", "invalid_body", "JSON object"),
        (b"null", "invalid_body", "JSON object"),
        (b"{}", "invalid_body", "session_name: Field required"),
        (json.dumps({**GOOD_SESSION, "session_name": 42}).encode(), "invalid_body", "session_name"),
        (json.dumps({**GOOD_SESSION, "session_name": ""}).encode(), "invalid_body", "session_name"),
        (json.dumps({**GOOD_SESSION, "start_time": "tomorrow"}).encode(), "invalid_body", "'tomorrow'"),
        (json.dumps({**GOOD_SESSION, "start_time": 1893488400}).encode(), "invalid_body", "start_time"),
        (json.dumps({**GOOD_SESSION, "end_time": "2030-02-30T00:00:00Z"}).encode(), "invalid_body", "end_time"),
        (json.dumps({**GOOD_SESSION, "participants": {"display_name": "x"}}).encode(), "invalid_body", "participants"),
        (
            json.dumps({**GOOD_SESSION, "participants": [{"display_name": "x", "role": "boss"}]}).encode(),
            "invalid_body",
            "participants[0].role",
        ),
        (json.dumps({**GOOD_SESSION, "feature_flags": [1]}).encode(), "invalid_body", "feature_flags[0]"),
        (json.dumps({**GOOD_SESSION, "picture": ["a"]}).encode(), "invalid_body", "picture"),
    ],
)
async def test_bad_session_bodies(sandbox: InProcessSandbox, body: bytes, code: str, mentions: str) -> None:
    response = await sandbox.client.post("/v1/sessions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and mentions in error["message"]


async def test_oversized_bodies_are_413_whether_declared_or_streamed(sandbox: InProcessSandbox) -> None:
    body = json.dumps({**GOOD_SESSION, "picture": "x" * 2_000_000}).encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    for content in (body, chunked()):
        response = await sandbox.client.post("/v1/sessions", content=content)
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("method", "path", "body", "mentions"),
    [
        ("PUT", "/v1/sessions/{future}", {}, "set at least one of"),
        ("PUT", "/v1/sessions/{future}", {"session_name": None}, "set at least one of"),
        ("PUT", "/v1/sessions/{future}", {"start_time": True}, "start_time"),
        ("POST", "/v1/sessions/{future}/participants", {"role": "guest"}, "display_name: Field required"),
        ("POST", "/v1/sessions/{future}/participants", {"display_name": 7, "role": "guest"}, "display_name"),
        ("POST", "/v1/sessions/{future}/participants", {"display_name": "x"}, "role: Field required"),
        ("PUT", "/v1/participants/{participant}", {"role": "owner"}, "role"),
        ("PUT", "/v1/participants/{participant}", {"state": {"a": 1}}, "state"),
    ],
)
async def test_bad_update_and_participant_bodies(
    sandbox: InProcessSandbox, method: str, path: str, body: object, mentions: str
) -> None:
    url = path.format(future=sandbox.seed["future_session_id"], participant=sandbox.seed["future_participant_id"])
    response = await sandbox.client.request(method, url, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_body" and mentions in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/v1/sessions", "page=-1", "page"),
        ("/v1/sessions", "page=abc", "page"),
        ("/v1/sessions", "page=1.5", "page"),
        ("/v1/sessions", "page_size=0", "page_size"),
        ("/v1/sessions", "page_size=201", "page_size"),
        ("/v1/sessions", "order=sideways", "order"),
        ("/v1/sessions", "include_canceled=maybe", "include_canceled"),
        ("/v1/sessions", "deleted_participants=2", "deleted_participants"),
        ("/v1/sessions", "start_time=last%20week", "start_time"),
        ("/v1/sessions", "end_time=", "end_time"),
        ("/v1/sessions/{future}", "deleted_participants=perhaps", "deleted_participants"),
        ("/v1/sessions/{future}/participants", "deleted_participants=perhaps", "deleted_participants"),
        ("{submissions}", "limit=0", "limit"),
        ("{submissions}", "limit=101", "limit"),
        ("{submissions}", "offset=-5", "offset"),
        ("{submissions}", "order=up", "order"),
        ("{submissions}", "orderBy=name", "orderBy"),
        ("{submissions}", "from=soon", "from"),
    ],
)
async def test_bad_query_values(sandbox: InProcessSandbox, path: str, query: str, parameter: str) -> None:
    submissions = f"/v1/collections/{sandbox.seed['team_id']}/collection/{sandbox.seed['submissions_collection_id']}"
    url = path.format(future=sandbox.seed["future_session_id"], submissions=submissions)
    response = await sandbox.client.get(f"{url}?{query}")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_query" and error["message"].startswith(f"invalid query parameter {parameter}:")


async def test_unknown_fields_and_parameters_are_ignored(sandbox: InProcessSandbox) -> None:
    created = await sandbox.client.post("/v1/sessions", json={**GOOD_SESSION, "actual_end_time": "x", "colour": 1})
    assert created.status_code == 200 and "colour" not in created.json()
    listed = await sandbox.client.get("/v1/sessions", params={"colour": "blue"})
    assert listed.status_code == 200


async def test_wrong_methods_are_405(sandbox: InProcessSandbox) -> None:
    response = await sandbox.client.patch(f"/v1/sessions/{sandbox.seed['future_session_id']}", json={})
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
