"""Recordings and files: metadata plus a signed, short-lived link that streams with Range support."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from coviu_sandbox.binary import expected_bytes

from .proxy_harness import TOKEN, stack


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


def _with(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query))
    return parts._replace(query=urlencode({**query, **changes})).geturl()


async def _assert_like_a_wrong_token(s, link: str) -> None:
    wrong = await s.http.get("/mcp/not-the-token")
    response = await s.http.get(link)
    assert (response.status_code, response.content, sorted(response.headers.items())) == (
        404, wrong.content, sorted(wrong.headers.items())
    ), link


async def test_link_is_not_the_key_and_is_bound_to_its_tool_and_arguments() -> None:
    async with stack(MCP_AUTH_FAILURE_LIMIT="0") as s, s.client() as client:
        link = await _link(s, client)
        assert TOKEN not in link and urlsplit(link).path == "/mcp/files/get_single_coviu_audio_recording_by_id"
        other = s.seed["large_recording"]
        tampered = [
            _with(link, id="..%2F..%2Fsessions%23"),
            _with(link, id=other["submission_id"], collection_id=other["collection_id"]),
            link.replace("get_single_coviu_audio_recording_by_id", "list_all_coviu_sessions"),
            link.replace("get_single_coviu_audio_recording_by_id", "get_single_coviu_submission_file_by_id"),
            _with(link, expires=str(int(_query(link)["expires"]) + 3600)),
            _with(link, signature=_tampered(_query(link)["signature"])),
            link.split("&signature=")[0],
            link + "&id=" + other["submission_id"],
            link.replace("/mcp/files/", f"/mcp/{TOKEN}/files/"),
        ]
        for bad in tampered:
            await _assert_like_a_wrong_token(s, bad)
        assert (await s.http.get(link)).status_code == 200


def _tampered(signature: str) -> str:
    """The signature with its last two characters changed, whatever they were."""
    return signature[:-2] + ("BB" if signature.endswith("AA") else "AA")


def _query(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


async def test_link_expires_and_never_outlives_the_server() -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=30)
    async with stack(MCP_LINK_TTL="1", MCP_AUTH_FAILURE_LIMIT="0") as s, s.client() as client:
        link = await _link(s, client)
        assert (await s.http.get(link, headers={"range": "bytes=0-9"})).status_code == 206
        await asyncio.sleep(int(_query(link)["expires"]) - time.time() + 0.05)  # at most the lifetime + 1 s
        await _assert_like_a_wrong_token(s, link)
    async with stack(MCP_EXPIRES_AT=expires_at.isoformat(), MCP_LINK_TTL="3600") as s, s.client() as client:
        assert int(_query(await _link(s, client))["expires"]) <= expires_at.timestamp()


async def test_link_from_a_server_with_another_key_is_refused() -> None:
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    async with stack(MCP_LINK_SIGNING_KEY=key) as s, s.client() as client:
        link = await _link(s, client)
        assert (await s.http.get(link, headers={"range": "bytes=0-0"})).status_code == 206
    async with stack(MCP_LINK_SIGNING_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()) as s:
        await _assert_like_a_wrong_token(s, link)
    async with stack(MCP_LINK_SIGNING_KEY=key) as s:
        assert (await s.http.get(link, headers={"range": "bytes=0-0"})).status_code == 206


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


async def test_every_way_a_download_ends_gives_its_slot_back() -> None:
    async with stack(MCP_MAX_DOWNLOADS="1") as s, s.client() as client:
        link = await _link(s, client)
        size = s.seed["recording"]["size"]
        assert (await s.http.head(link)).status_code == 200
        assert (await s.http.get(link, headers={"range": f"bytes={size + 10}-"})).status_code == 416
        assert (await s.http.get(link, headers={"range": "bytes=0-9"})).status_code == 206
        assert (await s.http.get(link)).status_code == 200
        assert (await s.http.get(link)).status_code == 200
