"""Soak: a long run of mixed load through one proxy; requests served, errors, RSS drift.

Mixed traffic, as a busy clinic's agents would send it: pages of sessions (modern era), team
and queue reads (legacy era), invalid arguments, unknown tools, recording downloads with Range,
Coviu errors from the sandbox's fault switch, and wrong tokens. Every answer is checked against
what that kind of request must get; anything else counts as an error. The loop is bounded by
time (BENCH_SOAK_SECONDS, 1800 by default, 60 with BENCH_QUICK=1) and by a request budget; loopback only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from common import knob, markdown_table, mcp_call_body, mcp_headers, proxy, rss_mib, sandbox, write_result

WORKERS = 8


def _kinds(seed: dict[str, Any]) -> list[tuple[str, Any]]:
    recording = seed["recording"]
    return [
        ("sessions", ("2026-07-28", "list_all_coviu_sessions", {"page": 0, "page_size": 20}, 'isError":false')),
        ("team", ("2025-11-25", "get_single_coviu_team", {}, 'isError":false')),
        (
            "queue",
            (
                "2025-11-25",
                "list_all_coviu_waiting_queue_calls",
                {"team_id": seed["team_id"], "waiting_queue_id": seed["waiting_queue_ids"][0]},
                'isError":false',
            ),
        ),
        ("invalid", ("2026-07-28", "list_all_coviu_sessions", {"page_size": "many"}, "Invalid arguments")),
        (
            "finished",
            (
                "2026-07-28",
                "create_a_coviu_participant",
                {"session_id": seed["finished_session_id"], "display_name": "Soak", "role": "guest"},
                "HTTP 400",
            ),
        ),
        (
            "recording",
            (
                "2026-07-28",
                "get_single_coviu_audio_recording_by_id",
                {
                    "team_id": seed["team_id"],
                    "collection_id": recording["collection_id"],
                    "id": recording["submission_id"],
                },
                "download_url",
            ),
        ),
    ]


async def _worker(http: httpx.AsyncClient, prober: httpx.AsyncClient, path: str, kinds: list, deadline: float,
                  budget: list[int], counts: dict[str, int], errors: dict[str, int]) -> None:
    n = 0
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        kind, request = kinds[n % len(kinds)]
        n += 1
        try:
            if request is None:  # a wrong URL token, from another address: it gets throttled, 404 or 429
                ok = (await prober.post("/mcp/not-the-token", json={})).status_code in (404, 429)
            else:
                era, tool, arguments, expected = request
                response = await http.post(
                    path, json=mcp_call_body(era, tool, arguments), headers=mcp_headers(era, tool)
                )
                ok = response.status_code == 200 and expected in response.text
                if ok and kind == "recording":
                    link = response.json()["result"]["structuredContent"]["download_url"]
                    part = await http.get(link, headers={"Range": "bytes=0-65535"})
                    ok = part.status_code == 206 and len(part.content) == 65536
        except httpx.HTTPError:
            ok = False
        counts[kind] = counts.get(kind, 0) + 1
        if not ok:
            errors[kind] = errors.get(kind, 0) + 1


async def _soak(server: Any, seed: dict[str, Any], seconds: float, budget: int) -> dict[str, Any]:
    kinds = [*_kinds(seed), ("wrong-token", None)]
    counts: dict[str, int] = {}
    errors: dict[str, int] = {}
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    deadline = started + seconds
    remaining = [budget]
    limits = httpx.Limits(max_connections=WORKERS)
    base = f"http://127.0.0.1:{server.port}"
    other_address = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with (
        httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http,
        httpx.AsyncClient(base_url=base, timeout=30, transport=other_address) as prober,
    ):
        # The legacy era needs no session: the server is stateless, so no initialize is required.
        workers = [asyncio.create_task(_worker(http, prober, server.mcp_path, kinds[i:] + kinds[:i], deadline,
                                               remaining, counts, errors)) for i in range(WORKERS)]
        while not all(w.done() for w in workers):
            samples.append((time.monotonic() - started, rss_mib(server.run.process.pid)))
            await asyncio.wait(workers, timeout=min(10.0, max(1.0, seconds / 30)))
        await asyncio.gather(*workers)
    elapsed = time.monotonic() - started
    warm = [rss for at, rss in samples if at >= min(60.0, elapsed / 5)] or [samples[-1][1]]
    return {
        "seconds": round(elapsed, 1),
        "requests": sum(counts.values()),
        "errors": sum(errors.values()),
        "by_kind": counts,
        "errors_by_kind": errors,
        "rss_mib": {
            "start": samples[0][1],
            "after_warmup": warm[0],
            "end": samples[-1][1],
            "max": max(r for _, r in samples),
        },
        "rss_drift_mib_after_warmup": round(samples[-1][1] - warm[0], 1),
    }


def main() -> None:
    seconds = knob("SOAK_SECONDS", 1800, 60)
    budget = knob("SOAK_MAX_REQUESTS", 2_000_000, 100_000)
    with sandbox(recording_bytes=1 << 20) as box, proxy(box, LOG_LEVEL="warning") as server:
        result = asyncio.run(_soak(server, box.seed, seconds, budget))
    print(
        markdown_table(
            [
                "seconds",
                "requests",
                "errors",
                "RSS start MiB",
                "RSS after warm-up",
                "RSS end",
                "RSS max",
                "drift after warm-up",
            ],
            [
                [
                    result["seconds"],
                    result["requests"],
                    result["errors"],
                    result["rss_mib"]["start"],
                    result["rss_mib"]["after_warmup"],
                    result["rss_mib"]["end"],
                    result["rss_mib"]["max"],
                    result["rss_drift_mib_after_warmup"],
                ]
            ],
        )
    )
    result["goals"] = [
        {
            "goal": "no unexpected answer during the soak",
            "value": result["errors"],
            "target": 0,
            "met": result["errors"] == 0,
        },
        {
            "goal": "RSS drift after warm-up (MiB)",
            "value": result["rss_drift_mib_after_warmup"],
            "target": "< 20",
            "met": result["rss_drift_mib_after_warmup"] < 20,
        },
    ]
    write_result("soak", result)
    if result["errors"]:
        raise SystemExit(f"{result['errors']} unexpected answers: {result['errors_by_kind']}")


if __name__ == "__main__":
    main()
