"""An MCP client that runs inside a Pod of the real node (its source is passed to
``python3 -c`` in the product image, which has the official ``mcp`` SDK and httpx).

    check URL SANDBOX_URL    list tools, call two, download a recording with a Range request
    loop URL SECONDS         call a tool until SECONDS have passed, counting failed calls

Each mode prints one JSON line for the test to read from the Pod's log; ``loop`` also
prints ``first call ok`` as soon as one call succeeded.
"""

import asyncio
import json
import sys
import time

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def check(url: str, sandbox_url: str) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        seed = (await http.get(f"{sandbox_url}/_sandbox/seed")).json()
        async with Client(streamable_http_client(url), mode="legacy") as mcp:
            tools = sorted(tool.name for tool in (await mcp.list_tools()).tools)
            team = await mcp.call_tool("get_single_coviu_team", {})
            recording = seed["recording"]
            meta = await mcp.call_tool("get_single_coviu_audio_recording_by_id", {
                "team_id": seed["team_id"], "collection_id": recording["collection_id"],
                "id": recording["submission_id"]})
        part = await http.get(meta.structured_content["download_url"], headers={"Range": "bytes=0-99"})
    return {"tools": tools, "team_id": team.structured_content["team_id"], "seed_team_id": seed["team_id"],
            "range": [part.status_code, part.headers.get("content-range"), len(part.content)],
            "size": meta.structured_content["size"]}


async def loop(url: str, seconds: float) -> dict:
    ok, failed, errors = 0, 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:  # a connection per call, as independent clients make them
            async with Client(streamable_http_client(url), mode="2026-07-28") as mcp:
                result = await mcp.call_tool("get_single_coviu_team", {})
            assert not result.is_error, result.content[0].text
            ok += 1
            if ok == 1:
                print("first call ok", flush=True)
        except Exception as exc:  # noqa: BLE001 (every kind of failure is counted)
            failed += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
        await asyncio.sleep(0.05)
    return {"ok": ok, "failed": failed, "errors": errors[:10]}


if __name__ == "__main__":
    mode, url, arg = sys.argv[1:4]
    result = asyncio.run(check(url, arg) if mode == "check" else loop(url, float(arg)))
    print(json.dumps(result), flush=True)
