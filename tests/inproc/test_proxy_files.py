"""Recordings and files: metadata plus a token-scoped link that streams with Range support."""

from __future__ import annotations

import base64

from coviu_sandbox.binary import expected_bytes

from .proxy_harness import stack


def _args(seed: dict) -> dict:
    recording = seed["recording"]
    return {"team_id": seed["team_id"], "collection_id": recording["collection_id"], "id": recording["submission_id"]}


async def _link(s, client) -> str:
    result = await client.call_tool("get_single_coviu_audio_recording_by_id", _args(s.seed))
    assert not result.is_error, result.content[0].text
    return result.structured_content["download_url"]


async def test_whole_download_matches_coviu_bytes() -> None:
    async with stack() as s, s.client() as client:
        link = await _link(s, client)
        response = await s.http.get(link)
        size = s.seed["recording"]["size"]
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("audio/webm")
        assert int(response.headers["content-length"]) == size == len(response.content)
        assert response.headers["accept-ranges"] == "bytes"
        assert response.content == expected_bytes(s.seed["recording"]["submission_id"], 0, size)


async def test_ranges_pass_through() -> None:
    async with stack() as s, s.client() as client:
        link = await _link(s, client)
        size = s.seed["recording"]["size"]
        tail = await s.http.get(link, headers={"range": "bytes=-100"})
        assert tail.status_code == 206 and tail.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
        assert tail.content == expected_bytes(s.seed["recording"]["submission_id"], size - 100, 100)
        beyond = await s.http.get(link, headers={"range": f"bytes={size + 10}-"})
        assert beyond.status_code == 416


async def test_link_cannot_be_bent_to_another_path_or_tool() -> None:
    async with stack() as s, s.client() as client:
        link = await _link(s, client)
        assert (await s.http.get(link.replace("id=", "id=..%2F..%2Fsessions%23"))).status_code == 400
        assert (await s.http.get(link.replace("get_single_coviu_audio_recording_by_id", "list_all_coviu_sessions"))).status_code == 404
        assert (await s.http.get(link.replace("/mcp/", "/mcp/x"))).status_code == 404


async def test_small_files_can_be_embedded() -> None:
    async with stack(MCP_EMBED_MAX_BYTES=str(10 * 1024 * 1024)) as s, s.client() as client:
        result = await client.call_tool("get_single_coviu_audio_recording_by_id", _args(s.seed))
        audio = next(block for block in result.content if block.type == "audio")
        size = s.seed["recording"]["size"]
        assert base64.b64decode(audio.data) == expected_bytes(s.seed["recording"]["submission_id"], 0, size)


async def test_unknown_recording_is_a_tool_error() -> None:
    async with stack() as s, s.client() as client:
        result = await client.call_tool(
            "get_single_coviu_audio_recording_by_id", {**_args(s.seed), "id": "00000000-0000-0000-0000-000000000000"}
        )
        assert result.is_error and "HTTP 404" in result.content[0].text
