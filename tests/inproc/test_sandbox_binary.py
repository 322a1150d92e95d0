"""Recordings and submission files: content types, lengths and Range edge cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from coviu_sandbox.binary import expected_bytes
from coviu_sandbox.testing import InProcessSandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox() as sandbox:
        await sandbox.login()
        yield sandbox


def _recording(sandbox: InProcessSandbox, which: str = "recording") -> tuple[str, str, int]:
    item: dict[str, Any] = sandbox.seed[which]
    collection = f"/v1/collections/{sandbox.seed['team_id']}/collection/{item['collection_id']}"
    path = f"{collection}/recording/{item['submission_id']}"
    return path, item["submission_id"], item["size"]


async def test_whole_recording(sandbox: InProcessSandbox) -> None:
    path, blob, size = _recording(sandbox)
    response = await sandbox.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/webm"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == size == len(response.content)
    assert "content-range" not in response.headers
    assert response.content == expected_bytes(blob, 0, size)


async def test_submission_file_is_video(sandbox: InProcessSandbox) -> None:
    item = sandbox.seed["submission_file"]
    path = (
        f"/v1/collections/{sandbox.seed['team_id']}/collection/{item['collection_id']}"
        f"/submission/{item['submission_id']}/file/{item['file_id']}"
    )
    response = await sandbox.client.get(path, params={"quality": "480p"})
    assert response.status_code == 200 and response.headers["content-type"] == "video/webm"
    assert response.content == expected_bytes(item["file_id"], 0, item["size"])
    other = await sandbox.client.get(path, params={"quality": "720p"})
    assert other.status_code == 400 and other.json()["error"]["code"] == "invalid_query"
    missing = await sandbox.client.get(path.replace(item["file_id"], "nope"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "file_not_found"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=100-", 100, None),
        ("bytes=-500", -500, None),
        ("bytes=10-19, 40-49", 10, 19),
        ("bytes=999999999-, 5-9", 5, 9),
    ],
)
async def test_ranges(sandbox: InProcessSandbox, header: str, first: int, last: int | None) -> None:
    path, blob, size = _recording(sandbox)
    start = first % size
    end = size - 1 if last is None else last
    response = await sandbox.client.get(path, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert int(response.headers["content-length"]) == end - start + 1
    assert response.content == expected_bytes(blob, start, end - start + 1)


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{beyond}", "bytes=-0", "bytes=5-1", "bytes=x-y"])
async def test_unsatisfiable_ranges_are_416(sandbox: InProcessSandbox, header: str) -> None:
    path, _, size = _recording(sandbox)
    response = await sandbox.client.get(path, headers={"Range": header.format(size=size, beyond=size + 10)})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.json()["error"]["code"] == "range_not_satisfiable"


async def test_a_range_in_another_unit_is_ignored(sandbox: InProcessSandbox) -> None:
    path, _, size = _recording(sandbox)
    response = await sandbox.client.get(path, headers={"Range": "items=0-1"})
    assert response.status_code == 200 and len(response.content) == size


async def test_the_large_recording_is_served_in_ranges(sandbox: InProcessSandbox) -> None:
    path, blob, size = _recording(sandbox, "large_recording")
    assert size == 1024**3
    head = await sandbox.client.head(path)
    assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""
    tail = await sandbox.client.get(path, headers={"Range": "bytes=-4096"})
    assert tail.headers["content-range"] == f"bytes {size - 4096}-{size - 1}/{size}"
    assert tail.content == expected_bytes(blob, size - 4096, 4096)
    middle = size // 2 - 100
    window = await sandbox.client.get(path, headers={"Range": f"bytes={middle}-{middle + 299_999}"})
    assert window.content == expected_bytes(blob, middle, 300_000)


async def test_a_submission_without_a_recording_is_404(sandbox: InProcessSandbox) -> None:
    item = sandbox.seed["submission_file"]
    collection = f"/v1/collections/{sandbox.seed['team_id']}/collection/{item['collection_id']}"
    path = f"{collection}/recording/{item['submission_id']}"
    response = await sandbox.client.get(path)
    assert response.status_code == 404 and response.json()["error"]["code"] == "recording_not_found"
