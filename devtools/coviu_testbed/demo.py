"""The seed's triage and compliance workflows, through a real MCP client.

`make demo-proxy` runs it alone: it starts the Coviu sandbox and this MCP server as real
processes on loopback, connects the official MCP client to the server's secret URL, and
narrates each tool call. `make demo` runs the same workflows in a Pod of a cluster against
a URL the operator handed out: ``python -m coviu_testbed.demo --server-url URL --sandbox-url URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_catalog import proxy_env

from .launch import console_script, free_ports, mint_token, running

CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"


def say(text: str = "") -> None:
    print(textwrap.indent(text, "  ") if text else "", flush=True)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    say(f"-> {name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})")
    result = await client.call_tool(name, arguments)
    if result.is_error:
        raise SystemExit(f"tool {name} failed: {result.content[0].text}")
    return result.structured_content or {}


async def triage(client: Client, seed: dict[str, Any]) -> None:
    step("Workflow 1: clinical triage")
    team = await call(client, "get_single_coviu_team", {})
    say(f"team: {team['name']} ({team['team_id']})")
    queue_id = seed["waiting_queue_ids"][0]
    calls = (
        await call(
            client, "list_all_coviu_waiting_queue_calls", {"team_id": team["team_id"], "waiting_queue_id": queue_id}
        )
    )["items"]
    now = datetime.now(UTC)
    waits = sorted(((now - _time(c["joinedAt"])).total_seconds() / 60, c["callId"]) for c in calls)
    for minutes, call_id in waits:
        say(f"caller {call_id} has waited {minutes:.0f} min")
    longest = max(waits)
    if longest[0] <= 10:
        raise SystemExit("nobody has waited more than 10 minutes; nothing to triage")
    say(f"caller {longest[1]} waited over 10 minutes: opening an overflow room")
    start = now + timedelta(minutes=1)
    session = await call(
        client,
        "create_a_coviu_session",
        {"session_name": "Triage Overflow", "start_time": _iso(start), "end_time": _iso(start + timedelta(minutes=30)),
         "feature_flags": ["customisation;disable-menu"]},
    )
    say(f"session {session['session_id']} scheduled {session['start_time']} to {session['end_time']}")
    patient = await call(
        client,
        "create_a_coviu_participant",
        {"session_id": session["session_id"], "display_name": "Waiting patient", "role": "guest"},
    )
    say(f"entry URL for the patient: {patient['entry_url']}")


async def compliance(client: Client, http: httpx.AsyncClient, seed: dict[str, Any]) -> None:
    step("Workflow 2: post-call compliance")
    summary = await call(client, "get_single_coviu_session_summary_by_id", {"id": seed["finished_session_id"]})
    roles = ", ".join(p.get("role") or "?" for p in summary["participants"])
    say(f"scheduled end {summary['end_time']}, actual end {summary['actual_end_time']}; participants: {roles}")
    recording = seed["recording"]
    meta = await call(
        client,
        "get_single_coviu_audio_recording_by_id",
        {"team_id": seed["team_id"], "collection_id": recording["collection_id"], "id": recording["submission_id"]},
    )
    say(f"recording: {meta['content_type']}, {meta['size']} bytes, ranges: {meta['accept_ranges']}")
    first = await http.get(meta["download_url"], headers={"Range": "bytes=0-65535"})
    say(f"GET download link with Range bytes=0-65535 -> {first.status_code}, {first.headers['content-range']}")
    whole = await http.get(meta["download_url"])
    say(f"GET download link -> {whole.status_code}, {len(whole.content)} bytes streamed")


async def refusals(client: Client, seed: dict[str, Any]) -> None:
    step("What the model is told when Coviu says no")
    result = await client.call_tool(
        "create_a_coviu_participant",
        {"session_id": seed["finished_session_id"], "display_name": "Interpreter", "role": "guest"},
    )
    say(f"adding an interpreter to a finished session -> isError={result.is_error}: {result.content[0].text}")


async def run(server_url: str, sandbox_url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        seed = (await http.get(f"{sandbox_url}/_sandbox/seed")).json()
        async with Client(streamable_http_client(server_url), mode="legacy") as legacy:
            tools = (await legacy.list_tools()).tools
            step(f"Connected with protocol {legacy.protocol_version} (initialize handshake): {len(tools)} tools")
        async with Client(streamable_http_client(server_url), mode="2026-07-28") as client:
            step(f"Connected with protocol {client.protocol_version} (stateless): running the workflows")
            await triage(client, seed)
            await compliance(client, http, seed)
            await refusals(client, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the triage and compliance workflows through MCP.")
    parser.add_argument("--server-url", help="an MCP URL with its token (default: start a proxy here)")
    parser.add_argument("--sandbox-url", help="the Coviu sandbox the server calls (with --server-url)")
    args = parser.parse_args(argv)
    if args.server_url:
        if not args.sandbox_url:
            parser.error("--server-url needs --sandbox-url (the workflows read the sandbox's seed)")
        asyncio.run(run(args.server_url, args.sandbox_url.rstrip("/")))
        print("\nDone: both workflows ran through MCP tool calls.")
        return 0
    sandbox_port, server_port, admin_port = free_ports(3)
    token, digest = mint_token()
    sandbox_args = [console_script("coviu-sandbox"), "--host", "127.0.0.1", "--port", str(sandbox_port)]
    with running(sandbox_args, sandbox_port, "/_sandbox/seed") as sandbox:
        env = {
            proxy_env.API_BASE_URL: f"{sandbox.base_url}/v1", proxy_env.CLIENT_ID: CLIENT_ID,
            proxy_env.CLIENT_SECRET: CLIENT_SECRET, proxy_env.TOKEN_SHA256: digest, proxy_env.HOST: "127.0.0.1",
            proxy_env.PORT: str(server_port), proxy_env.LOG_LEVEL: "warning", proxy_env.ADMIN_PORT: str(admin_port),
        }
        with running(
            [console_script("coviu-mcp-server")], server_port, "/readyz", env, ready_port=admin_port
        ) as server:
            url = f"{server.base_url}/mcp/{token}"
            print(f"Coviu sandbox:   {sandbox.base_url}/v1 (client {CLIENT_ID})")
            print(f"Coviu MCP server: {server.base_url}/mcp/<token> (token minted for this run)")
            asyncio.run(run(url, sandbox.base_url))
    print("\nDone: both workflows ran through MCP tool calls against the sandbox.")
    return 0


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


if __name__ == "__main__":
    sys.exit(main())
